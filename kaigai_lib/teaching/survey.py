"""The real tables of the source texts: JETRO's FY2022 survey, the policy framing, SME support.

The data are shipped with the package (``kaigai_lib/data/survey_data/*.csv``,
described column by column, with every source and decoding rule, in
``kaigai_lib/data/survey_data/README.md``). They come from the two source texts
of the book:

* the white paper (METI, 通商白書2023), Part II, Ch. 2, Sec. 4, whose
  Figures II-2-4-6, II-2-4-7 and II-2-4-9 show JETRO's FY2022 survey of
  Japanese firms, and whose Figures II-2-4-11/12 give the three viewpoints and
  the policy tools;
* the slides of a 2014 talk on supporting SMEs' overseas expansion (APIR–GRIPS
  joint research): the Thailand–Vietnam comparison, the support organisations
  and the ODA tools.

Loaders (each returns a fresh tidy DataFrame; ``COLUMNS`` lists the columns):

* :func:`export_plans` — Fig. II-2-4-6, export plans of exporters and
  non-exporters, FY2021 and FY2022 (single answer: shares add up to 100);
* :func:`export_challenges` — Fig. II-2-4-7, challenges when exporting to
  the most important destination, items ①–⑦ × 5 destinations (multiple
  answers);
* :func:`expansion_reasons` — Fig. II-2-4-9, reasons for choosing where to
  expand, items ①–⑧ × 5 destinations (multiple answers);
* :func:`survey_items` — the item labels of both, in Japanese and English;
* :func:`thailand_vietnam_indicators`, :func:`investment_environment`,
  :func:`support_organisations`, :func:`support_programmes` — the talk;
* :func:`policy_viewpoints`, :func:`policy_tools` — Figs. II-2-4-11/12;
* :func:`sources` — the citation of every table.

Figures (matplotlib ``Figure``; Japanese labels with English, drawn once with
every glyph checked, see :func:`check_glyphs`): :func:`plot_export_plans`,
:func:`plot_export_challenges`, :func:`plot_expansion_reasons`,
:func:`plot_destination_profile`, :func:`plot_thailand_vietnam`; and the
widget :func:`destination_explorer`.
"""

from __future__ import annotations

import functools
import html
import io
import re
import warnings
from pathlib import Path
from typing import Any, ClassVar

import matplotlib_fontja  # noqa: F401  (registers the IPAex font: Japanese labels render)
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from kaigai_lib.data.survey_data.decode import CSV_FILES, DATA_DIR
from kaigai_lib.estimators.plots import new_figure
from kaigai_lib.teaching.static_widgets import Control, StaticWidget, msg, number, png

FILES = CSV_FILES  # one list of the shipped tables, shared with the decoder that writes them

# The columns each loader returns (documented in survey_data/README.md).
_DESTINATION_COLUMNS = ["table", "figure", "item", "symbol", "label_ja", "label_en", "label_source",
                        "destination", "destination_ja", "destination_en", "column", "value", "unit",
                        "answer_type", "raw", "source_id"]
COLUMNS: dict[str, list[str]] = {
    "export_plans": ["table", "figure", "group", "group_ja", "group_en", "fiscal_year", "response",
                     "response_ja", "response_en", "value", "unit", "answer_type", "printed", "raw", "certain",
                     "basis", "source_id"],
    "export_challenges": _DESTINATION_COLUMNS,
    "expansion_reasons": _DESTINATION_COLUMNS,
    "items": ["table", "figure", "item", "symbol", "label_ja", "label_en", "label_source", "in_top5_table"],
    "thailand_vietnam_indicators": ["table", "indicator", "indicator_ja", "indicator_en", "country", "country_ja",
                                    "country_en", "value", "unit_ja", "unit", "raw", "note", "data_source_ja",
                                    "data_source_en", "reference_ja", "source_id"],
    "investment_environment": ["table", "aspect", "aspect_ja", "aspect_en", "country", "country_ja", "country_en",
                               "assessment_ja", "assessment_en", "source_id"],
    "sme_support_organisations": ["table", "network", "name_ja", "name_en", "level", "group_ja", "group_en",
                                  "leader_type_ja", "approach", "approach_ja", "approach_en", "activities_ja",
                                  "activities_en", "source_id"],
    "sme_support_programmes": ["table", "programme_ja", "programme_en", "provider_ja", "category_ja",
                               "category_en", "oda", "target_ja", "since_ja", "since_year", "description_ja",
                               "description_en", "terms_ja", "source_id"],
    "wp_viewpoints": ["table", "figure", "viewpoint", "viewpoint_ja", "viewpoint_en", "approach_ja", "approach_en",
                      "measures_ja", "measures_en", "source_id"],
    "wp_policy_tools": ["table", "figure", "direction", "direction_ja", "direction_en", "aim_ja", "aim_en",
                        "tool_ja", "tool_en", "measures_ja", "measures_en", "source_id"],
    "sources": ["source_id", "document", "location", "citation_ja", "citation_en", "seed_file"],
}

DESTINATION_TABLES = ("export_challenges", "expansion_reasons")


class MissingGlyphError(RuntimeError):
    """A figure uses characters that its font cannot draw (they would show as empty boxes)."""


# --------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------

@functools.cache
def _read(name: str) -> pd.DataFrame:
    path = DATA_DIR / FILES[name]
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: reinstall kaigai_lib, or rebuild the survey data with "
                                "`python -m kaigai_lib.data.survey_data.decode`.")
    table = pd.read_csv(path, encoding="utf-8", keep_default_na=False, na_values=[""])
    merged_in = {"label_ja", "label_en", "label_source"} if name in DESTINATION_TABLES else set()  # from items
    missing = [c for c in COLUMNS[name] if c not in table.columns and c not in merged_in]
    if missing:
        raise ValueError(f"{path.name} lacks the documented columns {missing}.")
    return table


def _load(name: str) -> pd.DataFrame:
    return _read(name).copy()


def data_dir() -> Path:
    """The folder with the CSV files and their data dictionary (README.md)."""
    return DATA_DIR


def export_plans(*, fill_unprinted: bool = False) -> pd.DataFrame:
    """Fig. II-2-4-6: export plans for the next three years, FY2021 and FY2022 surveys (single answer, %).

    One row per group (``exporters``, ``non_exporters``) × fiscal year × response. The exporters' bars
    print only two of their three segments: the third (縮小／撤退を検討、無回答) is too thin to carry a label,
    so its ``value`` is missing and ``printed`` is false. With ``fill_unprinted=True`` it is filled with
    100 − the printed shares (a derived number, not one printed in the source). ``certain`` is false where a
    value's category was settled only by a layout rule (see the data dictionary).
    """
    plans = _load("export_plans")
    if fill_unprinted:
        printed_total = plans.groupby(["group", "fiscal_year"])["value"].transform("sum")
        plans["value"] = plans["value"].fillna((100 - printed_total).round(1))
    return plans


def survey_items(table: str | None = None) -> pd.DataFrame:
    """Item labels (Japanese, English) of Figs. II-2-4-7 and II-2-4-9; ``label_source`` says where each is printed."""
    items = _load("items")
    if table is not None:
        _check_table(table)
        items = items.loc[items["table"] == table].reset_index(drop=True)
    return items


def _check_table(table: str) -> None:
    if table not in DESTINATION_TABLES:
        raise ValueError(f"table={table!r}: choose one of {DESTINATION_TABLES}.")


def _destination_table(name: str, wide: bool) -> pd.DataFrame:
    labels = survey_items(name)[["item", "label_ja", "label_en", "label_source"]]
    long = _load(name).merge(labels, on="item", how="left", validate="many_to_one")[COLUMNS[name]]
    if not wide:
        return long
    table = long.pivot(index="item", columns="destination", values="value")
    printed_order = long.sort_values("column")["destination"].drop_duplicates()
    return table[printed_order.tolist()].rename_axis(columns="destination")


def export_challenges(*, wide: bool = False) -> pd.DataFrame:
    """Fig. II-2-4-7: challenges when exporting to the most important destination (multiple answers, %).

    Tidy (one row per item × destination), or ``wide=True``: items ①–⑦ as rows, destinations as columns
    (in the printed order).
    Shares of a destination do not add up to 100: firms could name several challenges. Item ⑦'s label is not
    in the source text (``label_ja`` is missing).
    """
    return _destination_table("export_challenges", wide)


def expansion_reasons(*, wide: bool = False) -> pd.DataFrame:
    """Fig. II-2-4-9: reasons for choosing where to expand business (multiple answers, %); items ①–⑧."""
    return _destination_table("expansion_reasons", wide)


def thailand_vietnam_indicators(*, wide: bool = False) -> pd.DataFrame:
    """The talk's table of basic indicators, Thailand and Vietnam, with the source and date of each value.

    Values are as printed, in ``unit`` (population in 10,000 persons, 万人). ``wide=True``: one row per
    indicator with the two countries as columns.
    """
    table = _load("thailand_vietnam_indicators")
    if not wide:
        return table
    order = list(dict.fromkeys(table["indicator"]))
    return (table.pivot(index=["indicator", "indicator_en", "unit"], columns="country", values="value")
            .reindex(order, level="indicator")[["thailand", "vietnam"]])


def investment_environment() -> pd.DataFrame:
    """The talk's comparison of Thailand's and Vietnam's investment environment (text, Japanese and English)."""
    return _load("investment_environment")


def support_organisations(network: str | None = None) -> pd.DataFrame:
    """Organisations that support SMEs abroad: the national council's members and local hubs and leaders.

    ``network``: ``"national_council"`` or ``"local"`` (default: both).
    """
    table = _load("sme_support_organisations")
    if network is not None:
        if network not in {"national_council", "local"}:
            raise ValueError(f"network={network!r}: choose 'national_council' or 'local'.")
        table = table.loc[table["network"] == network].reset_index(drop=True)
    return table


def support_programmes(*, oda: bool | None = None) -> pd.DataFrame:
    """National support programmes and ODA tools for SMEs listed in the talk (``oda=True``: ODA tools only)."""
    table = _load("sme_support_programmes")
    table["since_year"] = table["since_year"].astype("Int64")
    if oda is not None:
        table = table.loc[table["oda"] == oda].reset_index(drop=True)
    return table


def policy_viewpoints() -> pd.DataFrame:
    """Fig. II-2-4-11: the three viewpoints for promoting overseas expansion, with their approaches."""
    return _load("wp_viewpoints")


def policy_tools() -> pd.DataFrame:
    """Fig. II-2-4-12: the direction and the policy tools for exports, overseas investment and services trade."""
    return _load("wp_policy_tools")


def sources() -> pd.DataFrame:
    """One row per source: where in which document each table comes from, with the full citation."""
    return _load("sources")


# --------------------------------------------------------------------------
# Small computations the chapter and the exercises use
# --------------------------------------------------------------------------

def plan_changes() -> pd.DataFrame:
    """FY2021 → FY2022 change of each printed export-plan share, in percentage points."""
    plans = export_plans()
    keys = ["group", "response", "response_ja", "response_en"]
    wide = plans.pivot(index=keys, columns="fiscal_year", values="value")
    wide = wide.reindex(pd.MultiIndex.from_frame(plans[keys].drop_duplicates()))  # the source's order
    wide["change"] = (wide[2022] - wide[2021]).round(1)
    return wide.reset_index().rename_axis(columns=None)


def destination_contrast(destination: str, table: str = "export_challenges") -> pd.DataFrame:
    """For one destination: each item's share, the other four destinations' mean and range, and its rank.

    ``difference`` = share − mean of the others (percentage points); ``rank`` 1 = the highest share among
    the five destinations; ``highest`` marks items where it ties for the highest.
    """
    _check_table(table)
    wide = _destination_table(table, wide=True)
    if destination not in wide.columns:
        raise ValueError(f"destination={destination!r}: choose one of {list(wide.columns)}.")
    others = wide.drop(columns=destination)
    labels = survey_items(table).set_index("item")
    out = pd.DataFrame({
        "symbol": labels.loc[wide.index, "symbol"],
        "label_ja": labels.loc[wide.index, "label_ja"],
        "label_en": labels.loc[wide.index, "label_en"],
        "value": wide[destination],
        "others_mean": others.mean(axis=1).round(2),
        "others_min": others.min(axis=1),
        "others_max": others.max(axis=1),
    })
    out["difference"] = (out["value"] - out["others_mean"]).round(2)
    out["rank"] = wide.rank(axis=1, ascending=False, method="min")[destination].astype(int)
    out["highest"] = out["rank"] == 1
    return out.reset_index()


def destination_names(table: str = "export_challenges") -> dict[str, str]:
    """Destination key → "日本語 (English)" label, in the order of the table's printed columns."""
    _check_table(table)
    names = _load(table).sort_values("column").drop_duplicates("destination").set_index("destination")
    return {d: f"{names.loc[d, 'destination_ja']} ({names.loc[d, 'destination_en']})" for d in names.index}


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------

_GLYPH_WARNING = re.compile(r"Glyph \d+ .*missing from font")


def check_glyphs(fig: Figure) -> Figure:
    """Draw ``fig`` once; raise :class:`MissingGlyphError` if any character has no glyph in its font.

    matplotlib only warns (and draws an empty box) when a font lacks a character; this turns that warning
    into an error, so a chapter cell — and a book build — fails instead of showing tofu.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # savefig, not canvas.draw: figures from new_figure are closed, and a closed figure's canvas draws nothing
        fig.savefig(io.BytesIO(), format="png", dpi=50)
    missing = sorted({str(w.message) for w in caught if _GLYPH_WARNING.search(str(w.message))})
    if missing:
        raise MissingGlyphError("; ".join(missing))
    return fig


def _ja_en(ja: str | float | None, en: str | float | None) -> str:
    ja = "" if ja is None or (isinstance(ja, float) and np.isnan(ja)) else str(ja)
    en = "" if en is None or (isinstance(en, float) and np.isnan(en)) else str(en)
    return f"{ja}\n{en}" if ja and en else (ja or en)


def plot_export_plans(plans: pd.DataFrame | None = None) -> Figure:
    """Replica of Fig. II-2-4-6: stacked bars of export plans, FY2022 above FY2021, for both groups.

    Segments whose value is not printed in the source are hatched (their width is 100 − the printed
    shares); values whose category rests on a layout rule only (``certain`` false) carry an asterisk.
    """
    plans = export_plans() if plans is None else plans
    printed_total = plans.groupby(["group", "fiscal_year"])["value"].transform("sum")
    widths = plans["value"].fillna(100 - printed_total)
    plans = plans.assign(width=widths)
    groups = list(dict.fromkeys(plans["group"]))
    fig, axes = new_figure(len(groups), 1, figsize=(9.5, 2.3 * len(groups) + 0.8))
    colours = ("#1f5fa8", "#8fb3de", "0.85")
    for ax, group in zip(axes[:, 0], groups, strict=True):
        data = plans.loc[plans["group"] == group]
        responses = list(dict.fromkeys(data["response"]))
        years = sorted(data["fiscal_year"].unique(), reverse=True)  # FY2022 on top, as in the white paper
        for y, year in enumerate(years):
            left = 0.0
            for response, colour in zip(responses, colours, strict=True):
                row = data.loc[(data["fiscal_year"] == year) & (data["response"] == response)].iloc[0]
                label = _ja_en(row["response_ja"], row["response_en"]) if y == 0 else None
                ax.barh(-y, row["width"], left=left, color=colour, edgecolor="white",
                        hatch=None if row["printed"] else "///", label=label, height=0.6)
                if row["printed"]:
                    mark = "" if row["certain"] else "*"
                    ax.text(left + row["width"] / 2, -y, f"{row['value']:.1f}{mark}", ha="center", va="center",
                            fontsize=10, color="white" if colour == colours[0] else "black")
                left += row["width"]
        ax.set_yticks([-y for y in range(len(years))], [f"{year}年度\nFY{year}" for year in years])
        ax.set_xlim(0, 100)
        ax.set_xlabel("%")
        first = data.iloc[0]
        ax.set_title(_ja_en(first["group_ja"], first["group_en"]).replace("\n", " — "), loc="left", fontsize=11)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.suptitle("企業の輸出方針 Export plans for the next three years (Fig. II-2-4-6)", fontsize=12)
    notes = ["Hatched: value not printed (100 − printed shares)."]
    if not plans.loc[plans["printed"], "certain"].all():
        notes.append("* category assigned by a layout rule (see the data dictionary).")
    fig.supxlabel("   ".join(notes) + "  Source: JETRO FY2022 survey, via the white paper.", fontsize=8)
    return check_glyphs(fig)


def _plot_destination_heatmap(table: str, title: str) -> Figure:
    long = _destination_table(table, wide=False)
    wide = _destination_table(table, wide=True)
    names = destination_names(table)
    labels = survey_items(table).set_index("item")
    fig, axes = new_figure(figsize=(10, 0.62 * len(wide) + 1.6))
    ax = axes[0, 0]
    ax.imshow(wide.to_numpy(), cmap="Blues", vmin=0, vmax=100, aspect="auto")
    for i, item in enumerate(wide.index):
        row_max = wide.loc[item].max()
        for j, destination in enumerate(wide.columns):
            value = wide.loc[item, destination]
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=10,
                    color="white" if value > 55 else "black")
            if value == row_max:  # frame the highest share of the row (a bold weight is not in the font)
                ax.add_patch(Rectangle((j - 0.46, i - 0.42), 0.92, 0.84, fill=False, edgecolor="C3", linewidth=1.6))
    ax.set_xticks(range(len(wide.columns)), [names[d].replace(" (", "\n(") for d in wide.columns])
    ax.xaxis.tick_top()
    item_labels = []
    for item in wide.index:
        ja, en = labels.loc[item, "label_ja"], labels.loc[item, "label_en"]
        if pd.isna(ja):
            ja, en = "（項目名は原文になし）", "(label not in the source text)"
        item_labels.append(f"{labels.loc[item, 'symbol']} {ja}\n{en}")
    ax.set_yticks(range(len(wide.index)), item_labels, fontsize=8.5)
    ax.tick_params(length=0)
    fig.suptitle(title, fontsize=11)
    unit = long["unit"].iloc[0]
    fig.supxlabel(f"{unit}; framed: highest of the five destinations. Source: JETRO FY2022 survey, via the white "
                  "paper.", fontsize=8)
    return check_glyphs(fig)


def plot_export_challenges() -> Figure:
    """Replica of Fig. II-2-4-7's table: challenges when exporting, by most important destination (%)."""
    return _plot_destination_heatmap(
        "export_challenges", "最重要国・地域へ輸出を行う際の課題（上位5か国・地域別）\n"
                             "Challenges when exporting to the most important destination (Fig. II-2-4-7)")


def plot_expansion_reasons() -> Figure:
    """Replica of Fig. II-2-4-9's table: reasons for choosing where to expand, by destination (%)."""
    return _plot_destination_heatmap(
        "expansion_reasons", "事業拡大先の選択理由（上位5か国・地域別）\n"
                             "Reasons for choosing where to expand business (Fig. II-2-4-9)")


def plot_destination_profile(destination: str, table: str = "export_challenges") -> Figure:
    """One destination's shares next to the mean and range of the other four, item by item."""
    contrast = destination_contrast(destination, table)
    names = destination_names(table)
    fig, axes = new_figure(figsize=(9, 0.5 * len(contrast) + 1.5))
    ax = axes[0, 0]
    y = -np.arange(len(contrast))
    ax.barh(y, contrast["value"], height=0.55, color="#1f5fa8", label=names[destination])
    ax.errorbar(contrast["others_mean"], y, xerr=[contrast["others_mean"] - contrast["others_min"],
                                                  contrast["others_max"] - contrast["others_mean"]],
                fmt="o", color="C3", capsize=3, label="other four: mean and range (他の4か国・地域)")
    for yi, value, top in zip(y, contrast["value"], contrast["highest"], strict=True):
        ax.text(value + 1, yi + 0.22, f"{value:.1f}" + ("  (highest 最高)" if top else ""), fontsize=8, va="center")
    short = [f"{s} {ja if isinstance(ja, str) else '（項目名なし）'}" for s, ja in
             zip(contrast["symbol"], contrast["label_ja"], strict=True)]
    ax.set_yticks(y, short, fontsize=9)
    ax.set_xlim(0, 105)
    ax.set_xlabel("% of firms (multiple answers, 複数回答)")
    kind = ("Export challenges (輸出の課題)" if table == "export_challenges"
            else "Reasons for expansion (拡大先の選択理由)")
    ax.set_title(f"{kind}: {names[destination]}", loc="left", fontsize=11)
    ax.legend(loc="lower right", fontsize=8)
    return check_glyphs(fig)


def plot_thailand_vietnam() -> Figure:
    """Vietnam's value of each basic indicator as a percentage of Thailand's (the talk's table)."""
    wide = thailand_vietnam_indicators(wide=True).reset_index()
    table = thailand_vietnam_indicators().drop_duplicates("indicator").set_index("indicator")
    ratio = 100 * wide["vietnam"] / wide["thailand"]
    fig, axes = new_figure(figsize=(9, 4.2))
    ax = axes[0, 0]
    y = -np.arange(len(wide))
    ax.barh(y, ratio, color=["#1f5fa8" if r >= 100 else "#8fb3de" for r in ratio], height=0.6)
    ax.axvline(100, color="0.3", linestyle="--", linewidth=1)
    for yi, r, th, vn, unit in zip(y, ratio, wide["thailand"], wide["vietnam"], wide["unit"], strict=True):
        ax.text(max(r, 100) + 2, yi, f"{r:.0f}%   (Thailand {th:,g}, Vietnam {vn:,g}; {unit})", va="center",
                fontsize=8)
    ax.set_yticks(y, [_ja_en(table.loc[k, "indicator_ja"], table.loc[k, "indicator_en"]) for k in wide["indicator"]],
                  fontsize=8)
    ax.set_xlim(0, max(ratio) * 2.1)
    ax.set_xlabel("Vietnam as % of Thailand (ベトナム／タイ, %)")
    ax.set_title("タイ・ベトナム基礎経済指標 Basic indicators: Vietnam relative to Thailand", loc="left", fontsize=11)
    fig.supxlabel("Dates differ by indicator and even by country (see reference_ja). Source: the 2014 talk's table.",
                  fontsize=8)
    return check_glyphs(fig)


# --------------------------------------------------------------------------
# Widget
# --------------------------------------------------------------------------

class DestinationExplorer(StaticWidget):
    """Pick a destination (and the table): its shares against the other four, and where it stands out.

    Both drop-downs run over every choice on the static site. ``set(table=…,
    destination=…)`` moves them; ``current`` holds the numbers shown and
    ``contrast`` the table shown now. Made by :func:`destination_explorer`.

    Parameters
    ----------
    destination : str, default "vietnam"
        "china", "us", "eu", "vietnam" or "thailand".
    table : str, default "export_challenges"
        "export_challenges" or "expansion_reasons".

    Raises
    ------
    ValueError
        If the table or the destination is unknown.

    Examples
    --------
    >>> from kaigai_lib import destination_explorer
    >>> widget = destination_explorer("china", table="expansion_reasons")
    >>> type(widget).__name__, widget.values
    ('DestinationExplorer', {'table': 'expansion_reasons', 'destination': 'china'})
    """

    TABLES: ClassVar[dict[str, str]] = {"export_challenges": "輸出の課題 Export challenges (Fig. II-2-4-7)",
              "expansion_reasons": "拡大先の選択理由 Reasons for expansion (Fig. II-2-4-9)"}

    def __init__(self, destination: str = "vietnam", table: str = "export_challenges") -> None:
        _check_table(table)
        names = destination_names(table)
        if destination not in names:
            raise ValueError(f"destination={destination!r}: choose one of {list(names)}.")
        every = {key: label for t in self.TABLES for key, label in destination_names(t).items()}
        super().__init__([
            Control("table", "Table:", list(self.TABLES), table, kind="select", mapping={t: t for t in self.TABLES},
                    option_labels=list(self.TABLES.values())),
            Control("destination", "Destination:", list(every), destination, kind="select",
                    mapping={k: k for k in every}, option_labels=list(every.values())),
        ], kind="explorer")

    @property
    def contrast(self) -> pd.DataFrame:
        """The current destination's shares against the other four (the table shown now)."""
        return destination_contrast(self.setting["destination"], self.setting["table"])

    def compute(self, setting: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        table, destination = setting["table"], setting["destination"]
        if destination not in destination_names(table):
            return {"html": "<p>" + msg("{destination} is not in this table: choose another destination.",
                                        destination=html.escape(destination)) + "</p>", "numbers": {}}, None
        contrast = destination_contrast(destination, table)
        highest = contrast.loc[contrast["highest"], "symbol"].tolist()
        lowest = contrast.loc[contrast["rank"] == 5, "symbol"].tolist()
        top = contrast.loc[contrast["difference"].idxmax()]
        name = destination_names(table)[destination]
        # a msg() template: the page shows it in its own language, the numbers kept
        summary = "<p>" + msg(
            "{name}: highest of the five for {highest}; lowest for {lowest}. Largest gap above the others' mean: "
            "{symbol} ({value}% vs {mean}%, {difference} points).", name=f"<b>{html.escape(name)}</b>",
            highest=", ".join(highest) or msg("no item"), lowest=", ".join(lowest) or msg("no item"),
            symbol=top["symbol"], value=number('top_value', top['value'], '{:.1f}'),
            mean=f"{top['others_mean']:.1f}", difference=number('top_difference', top['difference'], '{:+.1f}'),
        ) + "</p>"
        numbers = {"top_value": float(top["value"]), "top_difference": float(top["difference"])}
        return {"html": summary + png(plot_destination_profile(destination, table)), "numbers": numbers}, None


def destination_explorer(destination: str = "vietnam", table: str = "export_challenges") -> DestinationExplorer:
    """A widget to choose a destination and compare its survey shares with the other four.

    Two drop-downs (the table, the destination) run over every choice on the
    static site; the view shows the destination's shares against the other
    four destinations' range and where it stands out.

    Parameters
    ----------
    destination : str, default "vietnam"
        The destination shown first: "china", "us", "eu", "vietnam" or "thailand".
    table : str, default "export_challenges"
        "export_challenges" (Fig. II-2-4-7) or "expansion_reasons" (Fig. II-2-4-9).

    Returns
    -------
    DestinationExplorer
        The widget (an ``anywidget.AnyWidget``); ``current`` holds the
        numbers shown, ``contrast`` the table shown, ``set(destination=…)``
        moves the drop-down.

    Raises
    ------
    ValueError
        If the table or the destination is unknown.

    Examples
    --------
    >>> from kaigai_lib import destination_explorer
    >>> widget = destination_explorer("vietnam")
    >>> [control["name"] for control in widget.setup["controls"]], len(widget.views)
    (['table', 'destination'], 10)
    >>> widget.contrast[["item", "value", "others_mean", "difference", "rank"]].head(3).round(2)
       item  value  others_mean  difference  rank
    0     1   65.3        62.68        2.62     1
    1     2   60.3        60.00        0.30     2
    2     3   26.4        40.05      -13.65     5
    >>> destination_explorer("mars")
    Traceback (most recent call last):
    ...
    ValueError: destination='mars': choose one of ['china', 'us', 'eu', 'vietnam', 'thailand'].
    """
    return DestinationExplorer(destination, table)
