"""Decode the tables of the two source texts into the tidy CSV files of this folder.

The source texts were extracted from PDFs (``../shared/seeds/``):

* ``000_a889d14cf2ba3c4b.txt`` — METI, 通商白書2023, Part II, Ch. 2, Sec. 4
  (the white paper); its Figures II-2-4-6, II-2-4-7 and II-2-4-9 show
  JETRO's FY2022 survey of Japanese firms.
* ``002_0d819cf9f4079e7c.txt`` — slides of a 2014 talk on supporting SMEs'
  overseas expansion (APIR–GRIPS joint research).

Every number shipped in a CSV is decoded here from a ``RAW_*`` string that is
a verbatim line of the extracted text (the tests check that each one still is),
and every Japanese text cell is a verbatim piece of a source (the tests check
that too, ignoring line breaks). The decoding rules (D…, S, L…, P…, E…) are
written next to the code that applies them and in ``README.md``.

Run ``python -m kaigai_lib.data.survey_data.decode`` to rewrite the CSV files and
print the decoding report; ``build_tables()`` returns the same tables.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).resolve().parent
WHITE_PAPER_SEED = "000_a889d14cf2ba3c4b.txt"
TALK_SEED = "002_0d819cf9f4079e7c.txt"

CIRCLED = "①②③④⑤⑥⑦⑧⑨"


class DecodingError(ValueError):
    """A raw string cannot be decoded, or decodes in more than one way."""


# ==========================================================================
# Sources (one row per table; README.md gives the full citations)
# ==========================================================================

WHITE_PAPER_JA = "経済産業省『通商白書2023』第II部第2章第4節「企業の海外展開と我が国経済への裨益」"
WHITE_PAPER_EN = ("METI (2023), White Paper on International Economy and Trade 2023, Part II, Chapter 2, "
                  "Section 4 (Firms' overseas expansion and its benefits to the Japanese economy)")
JETRO_JA = "JETRO「2022年度ジェトロ海外ビジネス調査日本企業の海外事業展開に関するアンケート調査」"
TALK_JA = ("大野泉（2014）「中小企業の海外新展開―「つながり力」を高める支援策とは？」"
           "APIR・GRIPS共催セミナー、2014年7月8日")
TALK_EN = ("Ohno, Izumi (2014), slides of a talk at the APIR–GRIPS seminar on SMEs' overseas expansion, "
           "8 July 2014 (APIR–GRIPS joint research 「中小企業の東南アジア進出に関する実践的研究」, FY2012–13)")

SOURCES: list[dict[str, str]] = [
    {"source_id": "wp2023_fig_II-2-4-6", "document": "white paper",
     "location": "2.(2)「企業の海外展開をめぐる課題」, 第II-2-4-6図「企業の輸出方針に関するアンケート結果」",
     "citation_ja": f"{WHITE_PAPER_JA}, 第II-2-4-6図. 資料: {JETRO_JA}",
     "citation_en": f"{WHITE_PAPER_EN}, Figure II-2-4-6 (export plans); data: JETRO FY2022 survey",
     "seed_file": WHITE_PAPER_SEED},
    {"source_id": "wp2023_fig_II-2-4-7", "document": "white paper",
     "location": "2.(2), 第II-2-4-7図「企業が輸出を行う際の課題」, panel「最重要国・地域へ輸出を行う際の課題"
                 "（上位5か国・地域別）」",
     "citation_ja": f"{WHITE_PAPER_JA}, 第II-2-4-7図. 資料: {JETRO_JA}",
     "citation_en": f"{WHITE_PAPER_EN}, Figure II-2-4-7 (export challenges, top 5 destinations); "
                    "data: JETRO FY2022 survey",
     "seed_file": WHITE_PAPER_SEED},
    {"source_id": "wp2023_fig_II-2-4-9", "document": "white paper",
     "location": "2.(2), 第II-2-4-9図「企業の海外事業の拡大先の選択理由」, panel「事業拡大先の選択理由"
                 "（上位5か国・地域別）」",
     "citation_ja": f"{WHITE_PAPER_JA}, 第II-2-4-9図. 資料: {JETRO_JA}",
     "citation_en": f"{WHITE_PAPER_EN}, Figure II-2-4-9 (reasons for choosing where to expand, top 5 "
                    "destinations); data: JETRO FY2022 survey",
     "seed_file": WHITE_PAPER_SEED},
    {"source_id": "wp2023_fig_II-2-4-11", "document": "white paper",
     "location": "2.(3)「企業の海外展開に向けた方向性」, "
                 "第II-2-4-11図「我が国企業の海外展開を促進するための三つの視点」",
     "citation_ja": f"{WHITE_PAPER_JA}, 第II-2-4-11図. 資料: 経済産業省 産業構造審議会 経済産業政策新機軸部会"
                    "（2023年4月開催）資料から抜粋",
     "citation_en": f"{WHITE_PAPER_EN}, Figure II-2-4-11 (three viewpoints)",
     "seed_file": WHITE_PAPER_SEED},
    {"source_id": "wp2023_fig_II-2-4-12", "document": "white paper",
     "location": "2.(3), 第II-2-4-12図「海外展開促進策の方向性」",
     "citation_ja": f"{WHITE_PAPER_JA}, 第II-2-4-12図. 資料: 経済産業省 産業構造審議会 経済産業政策新機軸部会"
                    "（2023年4月開催）資料から抜粋",
     "citation_en": f"{WHITE_PAPER_EN}, Figure II-2-4-12 (directions and policy tools)",
     "seed_file": WHITE_PAPER_SEED},
    {"source_id": "talk_tv_indicators", "document": "talk",
     "location": "slide「タイとベトナムの比較」, table「タイ・ベトナム基礎経済指標」",
     "citation_ja": f"{TALK_JA}. 表の出所: *1–*4 世界銀行 World Development Indicators（2012年データ）; "
                    "*5, *8 JETRO「在アジア・オセアニア日系企業活動実態調査」（2013年度調査）; *6 帝国データバンクの"
                    "実態調査（タイは2014年1月時点、ベトナムは2012年1月末時点）; *7 外務省データ（2012年10月1日時点）",
     "citation_en": f"{TALK_EN}, table of basic indicators of Thailand and Vietnam, with the sources it cites",
     "seed_file": TALK_SEED},
    {"source_id": "talk_investment_environment", "document": "talk",
     "location": "slides「タイとベトナムの投資環境の比較」and「日系中小企業の進出への現地反応、海外展開支援への示唆」",
     "citation_ja": f"{TALK_JA}. 投資環境の表の出所: 大野健一（2013）APIR研究会報告資料「東アジアの工業化戦略と"
                    "日系中小企業の進出――ベトナムとタイの比較」2013年12月をベースに作成",
     "citation_en": f"{TALK_EN}; the investment-environment table is based on Ohno, Kenichi (2013), APIR "
                    "study-group report, December 2013",
     "seed_file": TALK_SEED},
    {"source_id": "talk_support_network", "document": "talk",
     "location": "slides「「つながり力」を高める支援策、アプローチ」,「「つながり」をつくるリーダーの存在」,"
                 "「「つながり力」を高める取組の事例」(and 続)",
     "citation_ja": TALK_JA, "citation_en": TALK_EN, "seed_file": TALK_SEED},
    {"source_id": "talk_national_council", "document": "talk",
     "location": "slide「中小企業の海外展開支援会議の体制（全国レベル）」",
     "citation_ja": f"{TALK_JA}. 出所: 近畿経済産業局通商部国際事業化「中小企業の海外展開支援の取組」平成26年2月",
     "citation_en": f"{TALK_EN}; slide based on the Kinki Bureau of Economy, Trade and Industry (February 2014)",
     "seed_file": TALK_SEED},
    {"source_id": "talk_national_programmes", "document": "talk",
     "location": "slides「ハンズオン支援体制の拡充・強化」and「海外現地プラットフォームの整備」",
     "citation_ja": f"{TALK_JA}. 出所: JETROホームページ; 経済産業省ホームページ; 経済産業省中小企業庁（2013）"
                    "「中小企業の海外展開支援について」平成25年8月",
     "citation_en": f"{TALK_EN}; slides based on JETRO's and METI's web pages and METI/SME Agency (2013)",
     "seed_file": TALK_SEED},
    {"source_id": "talk_oda", "document": "talk",
     "location": "slide「ODAを活用した民間連携支援（外務省、JICA）」",
     "citation_ja": f"{TALK_JA}. 出所: 外務省とJICAのホームページ情報をもとに筆者作成"
                    "（全てを網羅しているわけではない）",
     "citation_en": f"{TALK_EN}; compiled by the author from MOFA's and JICA's web pages (not exhaustive)",
     "seed_file": TALK_SEED},
]

# An independent report of JETRO's FY2022 release, used only as a check (rules E1, E2), never as data.
JETRO_RELEASE_CHECK = {
    "source": "News report of 7 March 2023 on JETRO's release of the FY2022 survey (February 2023), read at "
              "https://prod-news.global.ssl.fastly.net/article/20230307-2610112 (same article: "
              "https://www.mapion.co.jp/news/column/cobs2569171-1/)",
    "quote": "輸出を行っている企業に今後3年間の輸出方針を尋ねると、「さらに拡大」は72.5%で"
             "前年度と比べ12.2ポイント減少。"
             "輸出を行っていない企業でも、「新たに取り組みたい」は20.0%にとどまり、前年度より13.5ポイント減少した。",
    "exporters": {"category": "expand", "fy2022": 72.5, "fall": 12.2},
    "non_exporters": {"category": "start", "fy2022": 20.0, "fall": 13.5},
}


# ==========================================================================
# D1: values printed twice and run together ("84.784.7" is 84.7)
# ==========================================================================

NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _doubled_parses(text: str) -> list[list[str]]:
    """Every way of reading ``text`` as numbers each printed twice in a row."""
    if not text:
        return [[]]
    parses = []
    for length in range(1, len(text) // 2 + 1):
        head = text[:length]
        if NUMBER.fullmatch(head) and text[length:2 * length] == head:
            parses += [[head, *rest] for rest in _doubled_parses(text[2 * length:])]
    return parses


def split_doubled(chunk: str) -> list[str]:
    """Rule D1: split a run of doubled numbers, ``"42.542.537.537.52020"`` → ``["42.5", "37.5", "20"]``.

    Raises :class:`DecodingError` unless there is exactly one reading.
    """
    parses = _doubled_parses(chunk)
    if len(parses) != 1:
        raise DecodingError(f"{chunk!r} reads as doubled numbers in {len(parses)} ways: {parses}")
    return parses[0]


YEAR_LABEL = re.compile(r"^(\d{4}\s?年度)\s+(.*)$")


@dataclass(frozen=True)
class Token:
    """One printed value: its line (0, 1, …) and position on the line, the raw chunk and the number."""

    line: int
    position: int
    raw: str
    text: str
    line_label: str | None

    @property
    def value(self) -> float:
        return float(self.text)


def decode_value_lines(lines: Sequence[str]) -> list[Token]:
    """Rule D1 applied to each line; a leading year label ("2021年度") is kept with the line's tokens."""
    tokens = []
    for i, line in enumerate(lines):
        match = YEAR_LABEL.match(line)
        label, rest = (match.group(1).replace(" ", ""), match.group(2)) if match else (None, line)
        position = 0
        for chunk in rest.split():
            for text in split_doubled(chunk):
                tokens.append(Token(i, position, text + text, text, label))
                position += 1
    return tokens


# ==========================================================================
# Figure II-2-4-6: export plans, stacked bars FY2021 / FY2022
# ==========================================================================

@dataclass(frozen=True)
class StackedPanel:
    """One panel of Figure II-2-4-6, as extracted: legend line and the two value lines."""

    group: str
    group_ja: str
    group_en: str
    categories: tuple[str, ...]          # in legend order as extracted
    labels_raw: tuple[str, ...]          # legend labels as printed (concatenated they give legend_raw)
    labels_en: tuple[str, ...]
    legend_raw: str
    lines_raw: tuple[str, str]
    growth: str                          # the "expand / start" category the prose says fell
    residual: str                        # the catch-all category
    prose_labels_ja: dict[str, str] = field(default_factory=dict)

    def label_ja(self, category: str) -> str:
        return self.labels_raw[self.categories.index(category)].replace(" ", "")


# Verbatim lines 372–392 of the white-paper seed (the axis line "（％） 20 40 60 80 100" and the
# year labels "2022 年度" (own line) and "2021年度" (at the start of the first value line) are not values).
EXPORT_PANELS = (
    StackedPanel(
        group="exporters", group_ja="輸出を行っている企業", group_en="Firms that export",
        categories=("reduce_withdraw_or_no_answer", "maintain", "expand"),
        labels_raw=("縮小／撤退を検討、無回答", "現状維持", "さらに拡大"),
        labels_en=("Consider reducing or withdrawing; no answer", "Maintain the status quo", "Expand further"),
        legend_raw="縮小／撤退を検討、無回答現状維持さらに拡大",
        lines_raw=("2021年度 84.784.7 13.713.7", "23.123.172.572.5"),
        growth="expand", residual="reduce_withdraw_or_no_answer",
        prose_labels_ja={"expand": "新たに取組みたい"},
    ),
    StackedPanel(
        group="non_exporters", group_ja="輸出を行っていない企業", group_en="Firms that do not export",
        categories=("no_answer_or_not_applicable", "no_plans", "start"),
        labels_raw=("無回答 /非該当", "今後も予定なし", "新たに取組む"),
        labels_en=("No answer / not applicable", "No plans to export", "Start exporting"),
        legend_raw="無回答 /非該当今後も予定なし新たに取組む",
        lines_raw=("2021年度 16.316.333.533.5 50.250.2", "42.542.537.537.52020"),
        growth="start", residual="no_answer_or_not_applicable",
        prose_labels_ja={"start": "新たに取組みたい", "no_plans": "今後とも行う予定はない"},
    ),
)

YEARS = (2021, 2022)
ROUNDING = 0.15  # three values rounded to 0.1 can miss 100 by up to 0.15

Table = dict[tuple[int, str], float | None]


@dataclass(frozen=True)
class Rule:
    """A constraint on how the printed values of one panel are assigned to (fiscal year, category)."""

    rule_id: str
    kind: str            # "bars", "layout", "prose", "external"
    text: str
    check: Callable[[StackedPanel, dict[Token, tuple[int, str]], Table], bool]


def _table(panel: StackedPanel, placement: dict[Token, tuple[int, str]]) -> Table:
    table: Table = {(y, c): None for y in YEARS for c in panel.categories}
    for token, slot in placement.items():
        table[slot] = token.value
    return table


def _bars_add_up(panel: StackedPanel, placement: dict, table: Table) -> bool:
    for year in YEARS:
        printed = [v for (y, _), v in table.items() if y == year and v is not None]
        if not printed:
            return False
        total = sum(printed)
        if len(printed) == len(panel.categories):
            if abs(total - 100) > ROUNDING:
                return False
        elif total > 100 + ROUNDING:
            return False
    return True


def _year_label(panel: StackedPanel, placement: dict, table: Table) -> bool:
    return all(year == (2021 if token.line_label == "2021年度" else 2022) for token, (year, _) in placement.items())


def _growth_fell(panel: StackedPanel, placement: dict, table: Table) -> bool:
    before, after = table[(2021, panel.growth)], table[(2022, panel.growth)]
    return before is not None and after is not None and after < before


def _no_plans_rose(panel: StackedPanel, placement: dict, table: Table) -> bool:
    if "no_plans" not in panel.categories:
        return True
    before, after = table[(2021, "no_plans")], table[(2022, "no_plans")]
    return before is not None and after is not None and after > before


def _release_figures(panel: StackedPanel, placement: dict, table: Table) -> bool:
    check = JETRO_RELEASE_CHECK[panel.group]
    before, after = table[(2021, check["category"])], table[(2022, check["category"])]
    return (before is not None and after is not None and math_close(after, check["fy2022"])
            and math_close(before - after, check["fall"]))


def _fy2022_line_in_legend_order(panel: StackedPanel, placement: dict, table: Table) -> bool:
    line = sorted((t for t in placement if t.line_label is None), key=lambda t: t.position)
    order = [panel.categories.index(placement[t][1]) for t in line]
    return order == sorted(order)


def _unprinted_is_residual(panel: StackedPanel, placement: dict, table: Table) -> bool:
    return all(c == panel.residual for (_, c), v in table.items() if v is None)


def math_close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6


EXPORT_RULES: tuple[Rule, ...] = (
    Rule("S", "bars", "Each fiscal year is one stacked bar: its printed shares add up to 100 (±0.15 for rounding) "
                      "when all three are printed, and to less than 100 otherwise.", _bars_add_up),
    Rule("L1", "layout", "The values on the line that starts with the label '2021年度' are the FY2021 bar; the "
                         "other value line is the FY2022 bar ('2022 年度' is printed on a line of its own).",
         _year_label),
    Rule("P1", "prose", "「いずれの企業においても前年度調査から「新たに取組みたい」との回答が減少している」: the "
                        "growth answer (exporters: さらに拡大; non-exporters: 新たに取組む) fell from FY2021 to "
                        "FY2022.",
         _growth_fell),
    Rule("P2", "prose", "「輸出を行っていない企業については「今後とも行う予定はない」との回答が増加している」: "
                        "non-exporters' 今後も予定なし rose from FY2021 to FY2022.", _no_plans_rose),
    Rule("E", "external", "JETRO's release as reported in the press: exporters' さらに拡大 72.5% in FY2022, 12.2 "
                          "points below FY2021; non-exporters' 新たに取り組みたい 20.0%, 13.5 points below FY2021.",
         _release_figures),
    Rule("L2", "layout", "Tie-break: the values of the FY2022 line appear in the legend's order as extracted (right "
                         "to left along the bar). Checked on the values pinned by the rules above.",
         _fy2022_line_in_legend_order),
    Rule("L3", "layout", "Tie-break: a segment without a printed value is the residual catch-all category (縮小／"
                         "撤退を検討、無回答): its share (100 − printed) is too small to hold a label.",
         _unprinted_is_residual),
)
PINNING_RULES = ("S", "L1", "P1", "P2", "E")   # an assignment fixed by these is certain
TIE_BREAK_RULES = ("L2", "L3")               # needed only where the pinning rules leave a choice


def _assignments(panel: StackedPanel, tokens: Sequence[Token]) -> list[dict[Token, tuple[int, str]]]:
    slots = [(y, c) for y in YEARS for c in panel.categories]
    return [dict(zip(tokens, perm, strict=True)) for perm in itertools.permutations(slots, len(tokens))]


def _survivors(panel: StackedPanel, candidates: list[dict], rule_ids: Sequence[str]) -> list[dict]:
    rules = [r for r in EXPORT_RULES if r.rule_id in rule_ids]
    return [p for p in candidates if all(r.check(panel, p, _table(panel, p)) for r in rules)]


def decode_export_panel(panel: StackedPanel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decode one panel: (tidy rows, report of how many assignments survive each set of rules)."""
    if "".join(panel.labels_raw) != panel.legend_raw:
        raise DecodingError(f"{panel.group}: legend labels {panel.labels_raw} do not spell {panel.legend_raw!r}")
    tokens = decode_value_lines(panel.lines_raw)
    candidates = _assignments(panel, tokens)
    stages = {
        "all assignments": (),
        "S (bars add up)": ("S",),
        "S + prose (P1, P2)": ("S", "P1", "P2"),
        "S + L1 + prose": ("S", "L1", "P1", "P2"),
        "S + prose + release (E)": ("S", "P1", "P2", "E"),
        "S + L1 + prose + E (pinning rules)": PINNING_RULES,
        "… + tie-breaks L2, L3": PINNING_RULES + TIE_BREAK_RULES,
    }
    survivors = {name: _survivors(panel, candidates, ids) for name, ids in stages.items()}
    report = pd.DataFrame({"group": panel.group, "rules": list(stages),
                           "assignments_left": [len(s) for s in survivors.values()]})
    final = survivors["… + tie-breaks L2, L3"]
    if len(final) != 1:
        raise DecodingError(f"{panel.group}: {len(final)} assignments satisfy every rule; expected exactly one.")
    (chosen,) = final
    pinned = survivors["S + L1 + prose + E (pinning rules)"]
    tie_breaks = {ids: _survivors(panel, pinned, ids) for ids in (("L2",), ("L3",), TIE_BREAK_RULES)}
    slot_of = {slot: token for token, slot in chosen.items()}
    table = _table(panel, chosen)
    rows = []
    for year in YEARS:
        printed_total = sum(v for (y, _), v in table.items() if y == year and v is not None)
        for category in reversed(panel.categories):  # stack order: the growth answer first
            token = slot_of.get((year, category))

            def unique(assignments: list[dict], year: int = year, category: str = category) -> bool:
                return len({_table(panel, p)[(year, category)] for p in assignments}) == 1

            certain = unique(pinned)
            needed = "" if certain else next("+".join(ids) for ids, left in tie_breaks.items() if unique(left))
            if token is not None:
                basis = "D1, " + ", ".join(PINNING_RULES) + (f"; tie broken by {needed}" if needed else "")
            else:
                basis = (f"not printed (too thin for a label; 100 − printed = {100 - printed_total:.1f}); "
                         f"category by {needed or 'the pinning rules'}")
            rows.append({
                "table": "export_plans", "figure": "II-2-4-6", "group": panel.group,
                "group_ja": panel.group_ja, "group_en": panel.group_en, "fiscal_year": year,
                "response": category, "response_ja": panel.label_ja(category),
                "response_en": panel.labels_en[panel.categories.index(category)],
                "value": token.value if token else np.nan, "unit": "% of firms in group",
                "answer_type": "single", "printed": token is not None, "raw": token.raw if token else "",
                "certain": bool(certain), "basis": basis, "source_id": "wp2023_fig_II-2-4-6",
            })
    return pd.DataFrame(rows), report


def export_plans_table() -> tuple[pd.DataFrame, pd.DataFrame]:
    parts = [decode_export_panel(panel) for panel in EXPORT_PANELS]
    return (pd.concat([p[0] for p in parts], ignore_index=True),
            pd.concat([p[1] for p in parts], ignore_index=True))


# ==========================================================================
# Figures II-2-4-7 and II-2-4-9: the top-5 destination tables (multiple answers)
# ==========================================================================

DESTINATIONS = {  # as printed → (key, English)
    "中国": ("china", "China"),
    "米国": ("us", "United States"),
    "EU": ("eu", "EU"),
    "ベトナム": ("vietnam", "Vietnam"),
    "タイ": ("thailand", "Thailand"),
}

# Verbatim lines 395–403 of the white-paper seed.
RAW_CHALLENGES = {
    "header": "（%） 中国 米国 EU ベトナム タイ",
    "rows": (
        "① 62.1 64.3 63.7 65.3 60.6",
        "② 66.5 56.4 58.4 60.3 58.7",
        "③ 37.9 46.6 41.1 26.4 34.6",
        "④ 39.1 33.9 37.4 36.4 28.8",
        "⑤ 24.2 26.4 17.4 19.0 21.2",
        "⑥ 18.1 15.2 13.2 24.0 24.0",
        "⑦ 5.9 5.5 6.8 5.8 2.9",
    ),
}
# Verbatim lines 421–430 of the white-paper seed (note the different column order).
RAW_REASONS = {
    "header": "（%） 米国 ベトナム 中国 EU タイ",
    "rows": (
        "① 91.5 89.3 90.5 86.7 86.5",
        "② 44.8 39.3 42.8 44.3 50.5",
        "③ 32.1 33.4 40.3 25.9 45.0",
        "④ 31.6 35.3 25.2 29.4 31.5",
        "⑤ 26.9 22.4 24.6 25.9 31.1",
        "⑥ 29.1 22.7 22.2 25.1 23.4",
        "⑦ 11.8 38.0 17.2 5.5 23.9",
        "⑧ 15.4 23.6 22.5 11.8 25.7",
    ),
}

# Item labels. "label_source": where the Japanese label is printed in the white-paper seed.
# Challenges ①–⑥ are named in the prose; ⑦ is named nowhere in the extracted text.
CHALLENGE_ITEMS = (
    (1, "現地における販売・流通網の発掘・拡充", "Finding and expanding sales and distribution channels in the market",
     "prose and figure"),
    (2, "市場動向や関連規制などに関する情報収集", "Gathering information on market trends and related regulations",
     "prose"),
    (3, "輸出向けの新製品開発、既存製品の現地向け仕様変更",
     "Developing new products for export; adapting existing products to local specifications", "prose"),
    (4, "販売に関わる法規制への対応", "Complying with laws and regulations on sales", "prose"),
    (5, "需要に見合う供給量の確保", "Securing enough supply to meet demand", "prose"),
    (6, "販売単価の削減（FTA の活用を含む）", "Cutting unit sales prices (including by using FTAs)", "prose"),
    (7, None, None, "not in the source text"),
)
# Reasons ②–⑨ are printed as the figure's item labels; ① is named in the prose. ⑨ has no values in
# the top-5 table (it appears only in the all-destinations panel, whose values were not extracted).
REASON_ITEMS = (
    (1, "市場規模・成長性", "Market size and growth", "prose"),
    (2, "顧客（納入先）企業の集積", "Concentration of customer (buyer) firms", "prose and figure"),
    (3, "すでに自社の拠点がある", "The firm already has a base there", "prose and figure"),
    (4, "安定した政治・社会情勢", "Stable political and social conditions", "prose and figure"),
    (5, "自社の海外拠点戦略に基づく（拠点統合など）", "The firm's strategy for its overseas bases (e.g. consolidation)",
     "figure"),
    (6, "言語・コミュニケーション上の障害の少なさ", "Few language and communication barriers", "figure"),
    (7, "人件費の安さ、豊富な労働力", "Low labour costs, abundant labour", "prose and figure"),
    (8, "関連産業の集積（現地調達が容易）", "Concentration of related industries (easy local procurement)", "figure"),
    (9, "インフラ（電力、運輸、通信等）の充実", "Good infrastructure (power, transport, telecommunications)",
     "figure"),
)


def decode_destination_table(raw: dict, *, table: str, figure: str, source_id: str) -> pd.DataFrame:
    """Rule D3: the header names the destination of each column; each row is '<circled item> v1 … v5'."""
    header = raw["header"].split()
    if header[0] != "（%）":
        raise DecodingError(f"{table}: header {raw['header']!r} does not start with the unit '（%）'")
    columns = header[1:]
    if sorted(columns) != sorted(DESTINATIONS):
        raise DecodingError(f"{table}: header destinations {columns} are not {list(DESTINATIONS)}")
    rows = []
    for line in raw["rows"]:
        symbol, *values = line.split()
        if len(values) != len(columns):
            raise DecodingError(f"{table}: {line!r} has {len(values)} values for {len(columns)} columns")
        for position, (destination_ja, text) in enumerate(zip(columns, values, strict=True)):
            if not re.fullmatch(r"\d{1,2}\.\d", text) or not 0 <= float(text) <= 100:
                raise DecodingError(f"{table}: {text!r} in {line!r} is not a share with one decimal")
            key, english = DESTINATIONS[destination_ja]
            rows.append({"table": table, "figure": figure, "item": CIRCLED.index(symbol) + 1, "symbol": symbol,
                         "destination": key, "destination_ja": destination_ja, "destination_en": english,
                         "column": position + 1, "value": float(text),
                         "unit": "% of firms choosing the destination (multiple answers)",
                         "answer_type": "multiple", "raw": text, "source_id": source_id})
    return pd.DataFrame(rows)


def items_table() -> pd.DataFrame:
    rows = []
    for table, figure, items, in_table in (("export_challenges", "II-2-4-7", CHALLENGE_ITEMS, range(1, 8)),
                                           ("expansion_reasons", "II-2-4-9", REASON_ITEMS, range(1, 9))):
        for item, label_ja, label_en, where in items:
            rows.append({"table": table, "figure": figure, "item": item, "symbol": CIRCLED[item - 1],
                         "label_ja": label_ja, "label_en": label_en, "label_source": where,
                         "in_top5_table": item in in_table})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ProseCheck:
    """A statement of the white paper's prose about a figure, and its test on the decoded table."""

    check_id: str
    table: str
    quote: str
    claim: str
    test: Callable[[pd.DataFrame], bool]  # on the wide table: items × destinations (keys)


def _top_two_everywhere(items: set[int]) -> Callable[[pd.DataFrame], bool]:
    return lambda wide: all(set(wide[d].nlargest(2).index) == items for d in wide.columns)


def _highest(item: int, destinations: set[str]) -> Callable[[pd.DataFrame], bool]:
    # every listed destination ties for the highest share of ``item`` among the five
    return lambda wide: all(wide.loc[item, d] == wide.loc[item].max() for d in destinations)


PROSE_CHECKS: tuple[ProseCheck, ...] = (
    ProseCheck("C1", "export_challenges",
               "国・地域別の回答結果をみても、これら2点の理由についてはそれぞれ上位に挙げられている",
               "① and ② are the two most cited challenges for every destination", _top_two_everywhere({1, 2})),
    ProseCheck("C2", "export_challenges", "中国については「④販売に関わる法規制への対応」…が他国と比べて回答割合が多い",
               "China has the highest share for ④", _highest(4, {"china"})),
    ProseCheck("C3", "export_challenges", "米国については「③輸出向けの新製品開発、既存製品の現地向け仕様変更」、"
                                          "「⑤需要に見合う供給量の確保」が他国と比べて回答割合が多い",
               "the US has the highest shares for ③ and ⑤",
               lambda w: _highest(3, {"us"})(w) and _highest(5, {"us"})(w)),
    ProseCheck("C4", "export_challenges", "ベトナムについては「①現地における販売・流通網の発掘・拡充」の回答が他の国・"
                                          "地域と比べて最も割合が大きく", "Vietnam has the highest share for ①",
               _highest(1, {"vietnam"})),
    ProseCheck("C5", "export_challenges", "ベトナムやタイでは「⑥販売単価の削減（FTAの活用を含む）」の回答割合が高く",
               "Vietnam and Thailand have the highest shares for ⑥", _highest(6, {"vietnam", "thailand"})),
    ProseCheck("R1", "expansion_reasons", "上位5か国・地域別の結果をみると、上位二つの理由については共通している",
               "① and ② are the two most cited reasons for every destination", _top_two_everywhere({1, 2})),
    ProseCheck("R2", "expansion_reasons", "ベトナムについては「⑦人件費の安さ、豊富な労働力」の割合が特に高く",
               "Vietnam has the highest share for ⑦", _highest(7, {"vietnam"})),
    ProseCheck("R3", "expansion_reasons", "EUについては、「③すでに自社の拠点がある」との回答の割合は高くないものの",
               "the EU has the lowest share for ③", lambda w: w.loc[3, "eu"] == w.loc[3].min()),
    ProseCheck("R4", "expansion_reasons", "「④安定した政治・社会情勢」を理由に新たに進出を進める拠点とされている",
               "for the EU, ④ is cited more often than ③", lambda w: w.loc[4, "eu"] > w.loc[3, "eu"]),
)


def run_prose_checks(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each prose check with its result (``passed``) on the decoded top-5 tables."""
    rows = []
    for check in PROSE_CHECKS:
        wide = tables[check.table].pivot(index="item", columns="destination", values="value")
        rows.append({"check_id": check.check_id, "table": check.table, "claim": check.claim,
                     "quote": check.quote, "passed": bool(check.test(wide))})
    return pd.DataFrame(rows)


# ==========================================================================
# The talk: Thailand–Vietnam basic indicators
# ==========================================================================

# Verbatim lines 250–267 of the talk seed.
RAW_TV_INDICATORS = {
    "header": "タイ ベトナム",
    "rows": (
        "人口 *1 6,678万人 8,877万人",
        "実質GDP成長率 *2 6.5% 5.2%",
        "一人当たりGDP（名目） *3 5,480米ドル 1,755米ドル",
        "失業率 *4 0.7% 1.8%",
        "製造業作業員の月額賃金 *5 366米ドル 162米ドル",
        "日系企業進出数 *6 3,924社 1,542社",
        "在留邦人数 *7 55,634人 11,194人",
        "日系企業の現地調達率 *8 52.7% 32.2%",
    ),
    "notes": (
        "1.*1,2,3,4は、世界銀行のWorld Development Indicators（2012年データ）。",
        "2.*5,8は、JETRO「在アジア・オセアニア日系企業活動実態調査」（2013年度調査）",
        "3.*6は、帝国データバンクの実態調査（タイは2014年1月時点、ベトナムは2012年1月末時点）",
        "4.*7は、外務省データ（2012年10月1日時点）",
    ),
}
TV_INDICATORS = {  # label as printed → (key, English, unit in English)
    "人口": ("population", "Population", "10,000 persons"),
    "実質GDP成長率": ("real_gdp_growth", "Real GDP growth", "%"),
    "一人当たりGDP（名目）": ("gdp_per_capita", "GDP per capita (nominal)", "US dollars"),
    "失業率": ("unemployment_rate", "Unemployment rate", "%"),
    "製造業作業員の月額賃金": ("manufacturing_worker_wage", "Monthly wage of a manufacturing worker", "US dollars"),
    "日系企業進出数": ("japanese_firms", "Japanese firms in the country", "firms"),
    "在留邦人数": ("japanese_residents", "Japanese residents", "persons"),
    "日系企業の現地調達率": ("local_procurement_rate", "Local procurement rate of Japanese firms", "%"),
}
# The note lines, decoded by hand into (source, reference date) per note marker and country.
TV_NOTE_SOURCES = {
    1: ("世界銀行のWorld Development Indicators", "World Bank, World Development Indicators", "2012年データ",
        "2012年データ"),
    5: ("JETRO「在アジア・オセアニア日系企業活動実態調査」", "JETRO survey of Japanese affiliates in Asia and Oceania",
        "2013年度調査", "2013年度調査"),
    6: ("帝国データバンクの実態調査", "Teikoku Databank survey", "2014年1月時点", "2012年1月末時点"),
    7: ("外務省データ", "Ministry of Foreign Affairs data", "2012年10月1日時点", "2012年10月1日時点"),
}
TV_NOTE_GROUP = {1: 1, 2: 1, 3: 1, 4: 1, 5: 5, 8: 5, 6: 6, 7: 7}  # note marker → entry of TV_NOTE_SOURCES
TV_ROW = re.compile(r"^(?P<label>\S+) \*(?P<note>\d) (?P<th>[\d,.]+)(?P<unit>\D+) (?P<vn>[\d,.]+)(?P<unit2>\D+)$")


def thailand_vietnam_table() -> pd.DataFrame:
    """Rule D4: '<label> *<note> <Thailand value><unit> <Vietnam value><unit>'; commas are thousands separators."""
    countries = RAW_TV_INDICATORS["header"].split()
    if countries != ["タイ", "ベトナム"]:
        raise DecodingError(f"unexpected header {RAW_TV_INDICATORS['header']!r}")
    rows = []
    for line in RAW_TV_INDICATORS["rows"]:
        match = TV_ROW.match(line)
        if not match or match["unit"] != match["unit2"]:
            raise DecodingError(f"cannot decode {line!r}")
        key, english, unit_en = TV_INDICATORS[match["label"]]
        note = int(match["note"])
        source_ja, source_en, date_th, date_vn = TV_NOTE_SOURCES[TV_NOTE_GROUP[note]]
        for country_ja, country, country_en, text, date in (("タイ", "thailand", "Thailand", match["th"], date_th),
                                                             ("ベトナム", "vietnam", "Vietnam", match["vn"], date_vn)):
            rows.append({"table": "thailand_vietnam_indicators", "indicator": key,
                         "indicator_ja": match["label"], "indicator_en": english, "country": country,
                         "country_ja": country_ja, "country_en": country_en,
                         "value": float(text.replace(",", "")), "unit_ja": match["unit"], "unit": unit_en,
                         "raw": f"{text}{match['unit']}", "note": f"*{note}", "data_source_ja": source_ja,
                         "data_source_en": source_en, "reference_ja": date, "source_id": "talk_tv_indicators"})
    return pd.DataFrame(rows)


def consistent_column_orders(raw: dict, table: str) -> int:
    """How many of the 120 orders of the five destination columns pass the prose checks of ``table``.

    1 means the prose alone pins every column; more means the printed header is needed too.
    """
    base = decode_destination_table(raw, table=table, figure="", source_id="")
    header = raw["header"].split()[1:]
    checks = [c for c in PROSE_CHECKS if c.table == table]
    count = 0
    for order in itertools.permutations(header):
        relabel = {DESTINATIONS[a][0]: DESTINATIONS[b][0] for a, b in zip(header, order, strict=True)}
        wide = base.assign(destination=base["destination"].map(relabel)).pivot(
            index="item", columns="destination", values="value")
        count += all(c.test(wide) for c in checks)
    return count


# ==========================================================================
# Text tables, transcribed. Every *_ja cell is a verbatim piece of a seed (line breaks and
# spaces aside; several bullets are separated by "\n"); *_en cells are our translations.
# ==========================================================================

INVESTMENT_ASPECTS = {  # aspect as printed → (key, English)
    "政策の質全般": ("policy_quality", "Quality of policy overall"),
    "政治安定": ("political_stability", "Political stability"),
    "民間ダイナミズム": ("private_dynamism", "Private-sector dynamism"),
    "開発計画": ("development_planning", "Development planning"),
    "外資誘致政策": ("fdi_promotion", "FDI promotion policy"),
    "中小企業政策": ("sme_policy", "SME policy"),
    "人材育成": ("human_resources", "Human resource development"),
    "インフラ": ("infrastructure", "Infrastructure"),
    "工業団地": ("industrial_parks", "Industrial parks"),
    "現地反応": ("local_response", "Local response to new Japanese SMEs"),
    "海外展開支援への示唆": ("implications", "Implications for support"),
}
INVESTMENT_ENVIRONMENT = (  # (aspect, Thailand ja, Thailand en, Vietnam ja, Vietnam en)
    ("政策の質全般",
     "政策能力・調整は全般に弱いが、一部に優れた部署がある。工業本省は弱いが、個別分野で幾つかの成果が見られる。",
     "Policy capacity and coordination are weak overall, but some departments are excellent. The Ministry of "
     "Industry is weak, but there are results in some fields.",
     "政策の意欲・能力が低く、20年来、改善が遅い。指導者、実務者、省庁、諸課題を問わず、当事者意識が弱い。",
     "Low policy will and capacity; slow improvement for 20 years. Weak ownership among leaders, officials and "
     "ministries, whatever the issue."),
    ("政治安定",
     "政権交代やデモは多いが、今までは外資に深刻・長期的な影響は及ぼさなかった。2013年に深刻化した政治的混迷については"
     "注視する必要あり。親日的。",
     "Frequent changes of government and demonstrations, but so far no serious or lasting effect on foreign "
     "investors. The political turmoil that deepened in 2013 needs watching. Friendly to Japan.",
     "共産党一党支配は当面は揺るがない模様。親日的。",
     "One-party rule by the Communist Party looks secure for now. Friendly to Japan."),
    ("民間ダイナミズム",
     "外資中心の自動車・電子、その裾野産業、中華系財閥等は活力がある。長年の工業化努力で地場産業の発展がみられる。"
     "人手不足と賃金上昇が深刻。",
     "Foreign-led automobiles and electronics, their supporting industries and ethnic-Chinese business groups "
     "are dynamic; local industry has developed over long industrialisation efforts. Labour shortages and "
     "rising wages are serious.",
     "弱い。品質要求への理解が不足。外資への売り込みも消極的。国有企業・軍ビジネスの存在。中華系資本は少ない。"
     "賃金はタイの2分の1以下。",
     "Weak. Little understanding of quality requirements; passive in selling to foreign firms. State-owned and "
     "military businesses. Little ethnic-Chinese capital. Wages less than half of Thailand's."),
    ("開発計画",
     "指示的5ヵ年計画あり。NESDBは有能。現政権の「国家戦略」は実効性不明。",
     "Indicative five-year plans; the NESDB is capable. The effectiveness of the current government's "
     "'national strategy' is unclear.",
     "5ヵ年計画、10ヵ年戦略は総花的・一般的で実効性がない。",
     "Five-year plans and ten-year strategies are all-embracing, generic and ineffective."),
    ("外資誘致政策",
     "BOIは有能。2015年1月より、ゾーン制から選択的産業支援に移行する方向で検討中。",
     "The BOI is capable; from January 2015 it plans to move from zone-based incentives to selective support "
     "for industries.",
     "弱い。権限が地方・省庁に分散されており、一貫性・透明性が低い。",
     "Weak. Authority is split among provinces and ministries; little consistency or transparency."),
    ("中小企業政策",
     "裾野産業以外の中小企業への一般支援は弱い。中小企業庁の能力、金融連携も弱い。",
     "General support for SMEs outside supporting industries is weak; so are the SME agency's capacity and "
     "links with finance.",
     "弱い。中小企業・裾野産業の政策が分離。日本が支援するも政府施策となっていない。",
     "Weak. SME policy and supporting-industry policy are separate; Japan supports them, but they have not "
     "become government policy."),
    ("人材育成",
     "官民・外資・援助により一定の人材が育っている。科学技術振興は今後の課題。",
     "Public and private sectors, foreign firms and aid have trained a certain pool of people; promoting "
     "science and technology is a task ahead.",
     "教育の質が問題。初級訓練は多いが、援助以外に一貫した産業人材育成がはない。",
     "The quality of education is a problem. Much basic training, but apart from aid no consistent training "
     "of industrial human resources. (The source reads 「育成がはない」 [sic].)"),
    ("インフラ",
     "全般によいが、バンコクの渋滞は深刻。",
     "Good overall, but congestion in Bangkok is serious.",
     "不十分だが、日本の支援等で建設中。",
     "Insufficient, but being built with Japanese and other support."),
    ("工業団地",
     "日系企業の投資増・洪水回避により優良団地への需要は底堅い。",
     "Demand for good industrial parks stays firm, with rising Japanese investment and flood avoidance.",
     "数は多いが良質な団地・貸し工場は限られる。日系企業の投資増により不足気味。",
     "Many parks, but few of good quality or with rental factories; rising Japanese investment makes them "
     "scarce."),
    ("現地反応",
     "日系中小企業の新規進出を「選択的歓迎」、地場産業と競合しない高付加価値技術やハイテク分野への貢献を要望。"
     "（BOIは外資優遇政策をシフト予定）",
     "'Selective welcome' for new Japanese SMEs: contributions wanted in high-value technology and high-tech "
     "fields that do not compete with local industry (the BOI plans to shift its incentives for foreign "
     "investors).",
     "日系中小企業の新規進出を「全面歓迎」、裾野産業育成における日系中小企業の役割に高い期待。",
     "'Full welcome' for new Japanese SMEs, with high expectations of their role in developing supporting "
     "industries."),
    ("海外展開支援への示唆",
     "長年の経済協力・人材交流を基盤に、ものづくり技術や文化を理解する組織・人材層が厚い。日本式の製造技術や生産管理"
     "システムを習得した人材や教育・普及組織が育つ。\n"
     "これら現地リソースを活用して、現地のニーズに合致した形で中小企業の進出支援をすることが望ましい。（TPA、TNI、"
     "中小企業診断士、サシン日本センターの取組、等）",
     "Long economic cooperation and exchanges have built a deep layer of organisations and people who "
     "understand Japanese manufacturing; support should use these local resources to fit local needs (TPA, "
     "TNI, SME consultants, the Sasin Japan Center, etc.).",
     "事業環境や政策面の障害除去のために、日本側から政策的働きかけや能力強化が有用。（日越官民による政策協議、ODA・"
     "経済協力を活用した産業人材育成、裾野産業育成支援、等）\n"
     "外資受入れに積極的な現地自治体との連携・交渉は重要。",
     "Policy dialogue and capacity building from the Japanese side help remove obstacles in the business and "
     "policy environment (Japan–Vietnam public–private policy talks, industrial human resource development "
     "through ODA and economic cooperation, support for supporting industries); working with local "
     "governments keen on foreign investment matters."),
)


def investment_environment_table() -> pd.DataFrame:
    rows = []
    for aspect_ja, th_ja, th_en, vn_ja, vn_en in INVESTMENT_ENVIRONMENT:
        key, aspect_en = INVESTMENT_ASPECTS[aspect_ja]
        source = "talk_investment_environment"
        for country, country_ja, country_en, text_ja, text_en in (("thailand", "タイ", "Thailand", th_ja, th_en),
                                                                  ("vietnam", "ベトナム", "Vietnam", vn_ja, vn_en)):
            rows.append({"table": "investment_environment", "aspect": key, "aspect_ja": aspect_ja,
                         "aspect_en": aspect_en, "country": country, "country_ja": country_ja,
                         "country_en": country_en, "assessment_ja": text_ja, "assessment_en": text_en,
                         "source_id": source})
    return pd.DataFrame(rows)


# --- The white paper's three viewpoints (Figure II-2-4-11) ----------------------------------------

VIEWPOINTS = (  # (number, viewpoint ja, viewpoint en, approach ja, approach en, measures ja (\n-separated), en)
    (1, "海外投資・進出を起点とした製品・サービス貿易促進の好循環",
     "A virtuous circle of goods and services trade that starts from overseas investment", "輸出促進",
     "Export promotion",
     "海外生産拠点と国内拠点との間で、製品・材料供給等の輸出を拡大\n海外拠点を通じたサービス提供と合わせ、関連機器の輸出を促進",
     "More exports of products and materials between overseas production bases and domestic bases; exports "
     "of related equipment together with services provided through overseas bases"),
    (1, "海外投資・進出を起点とした製品・サービス貿易促進の好循環",
     "A virtuous circle of goods and services trade that starts from overseas investment", "海外投資・進出",
     "Overseas investment and expansion",
     "海外法人での利益を配当などを通じた国内還流を促進\nスタートアップを含む海外進出企業による利益拡大、イノベーション創出",
     "Bring profits of overseas affiliates home as dividends; higher profits and innovation by firms abroad, "
     "start-ups included"),
    (1, "海外投資・進出を起点とした製品・サービス貿易促進の好循環",
     "A virtuous circle of goods and services trade that starts from overseas investment", "サービス貿易促進",
     "Services trade promotion",
     "海外サービス拠点を通じた日本からのサービス提供（デジタル技術の活用）\n日本の魅力ある商品・サービスの展開での認知度向上によるインバウンド需要増\n"
     "ライセンス利用による知財収入の獲得",
     "Services from Japan through overseas service bases (using digital technology); more inbound demand as "
     "Japanese products become known; licence income from intellectual property"),
    (2, "イノベーション創出、生産性・競争力向上", "Innovation, productivity and competitiveness",
     "新商品・サービスの開発", "Developing new products and services",
     "現地の社会課題等に基づくニーズに応える商品・サービス開発\n現地のクリエーター等との協業",
     "Products and services that meet needs arising from local social issues; collaboration with local "
     "creators"),
    (2, "イノベーション創出、生産性・競争力向上", "Innovation, productivity and competitiveness", "最適立地の追求",
     "Pursuing the best location", "コスト面でも最適な立地で製造・供給することで競争力向上",
     "Competitiveness from producing and supplying where it is best, costs included"),
    (2, "イノベーション創出、生産性・競争力向上", "Innovation, productivity and competitiveness", "スケールの追求",
     "Pursuing scale", "海外市場を想定し、事業スケールの確保による付加価値増大・生産性向上",
     "Higher value added and productivity from the scale that overseas markets allow"),
    (3, "国際関係の強化への貢献", "Contributing to stronger international relations", "有志国との関係強化",
     "Stronger ties with like-minded countries", "同志国間の信頼に足るサプライチェーン構築による連携強化",
     "Closer cooperation through trustworthy supply chains among like-minded countries"),
    (3, "国際関係の強化への貢献", "Contributing to stronger international relations", "グローバルサウスとの連携",
     "Partnership with the Global South", "グローバルサウスが直面する社会課題解決へ日本企業が貢献",
     "Japanese firms help solve the social issues the Global South faces"),
)


def viewpoints_table() -> pd.DataFrame:
    rows = [{"table": "wp_viewpoints", "figure": "II-2-4-11", "viewpoint": n, "viewpoint_ja": v_ja,
             "viewpoint_en": v_en, "approach_ja": a_ja, "approach_en": a_en, "measures_ja": m_ja,
             "measures_en": m_en, "source_id": "wp2023_fig_II-2-4-11"}
            for n, v_ja, v_en, a_ja, a_en, m_ja, m_en in VIEWPOINTS]
    return pd.DataFrame(rows)


# --- Directions and policy tools (Figure II-2-4-12) -----------------------------------------------

POLICY_DIRECTIONS = {
    "輸出促進": ("exports", "Export promotion",
             "輸出手続に係るコスト削減を通じて、競争力を強化。海外工場との連動による全体規模の拡大を目指す。",
             "Stronger competitiveness through lower costs of export procedures; larger overall scale by linking "
             "with overseas plants."),
    "海外投資・進出": ("investment", "Overseas investment and expansion",
                "最適立地への進出による生産性の向上。社会課題ニーズを捉えたイノベーション創出を目指す。",
                "Higher productivity by locating where it is best; innovation that meets needs arising from "
                "social issues."),
    "サービス貿易促進": ("services", "Services trade promotion",
                 "競争力確保には、迅速なスケール化が不可欠。サービスと一体となった製品・技術の輸出との連動を目指す。",
                 "Fast scaling is essential for competitiveness; link services with exports of products and "
                 "technology."),
}
POLICY_TOOLS = (  # (direction, tool ja, tool en, measures ja (\n-separated), measures en)
    ("輸出促進", "貿易手続きのDXを推進", "Digitalise trade procedures (trade DX)",
     "貿易プラットフォームの活用インセンティブ付与、国際標準の改正・導入に向けたガイドラインを策定。ASEAN等との提携も深化。\n"
     "これにより、約5割のコスト削減。",
     "Incentives to use trade platforms; guidelines for revising and adopting international standards; "
     "deeper ties with ASEAN and others. Cuts costs by about half."),
    ("輸出促進", "資金調達支援の強化", "Stronger support for financing",
     "ＮＥＸＩの融資保険を通じた輸出環境改善",
     "Better export conditions through NEXI's loan insurance (the 'SEED scheme' in the prose)"),
    ("海外投資・進出", "新規事業探索支援を強化", "Stronger support for finding new business",
     "スタートアップを含む先端企業の支援、現地企業とマッチング機会の創出\nグローバルサウス等地域戦略の策定\n"
     "グリーン・デジタル分野等におけるルールの調和と案件形成支援（補助・ファイナンス等）を一体で促進。",
     "Support for advanced firms including start-ups and matching with local firms; regional strategies for "
     "the Global South and others; harmonised rules and project formation (grants, finance) in green and "
     "digital fields"),
    ("海外投資・進出", "インパクト投資の拡大支援", "Support for more impact investment",
     "投資ファンドの拡大・ファンドとの連携", "Larger investment funds and cooperation with funds"),
    ("海外投資・進出", "資金調達支援の強化", "Stronger support for financing",
     "ＮＥＸＩの融資保険等を通じた、サプライチェーン強靭化、ＧＸ、スタートアップの海外展開支援。",
     "Through NEXI's loan insurance and other tools: resilient supply chains, green transformation (GX), "
     "start-ups going abroad"),
    ("サービス貿易促進", "スケール化を支援強化", "Stronger support for scaling up",
     "ヘルスケアやスマート農業等で、機器とサービスのセットでの普及\nサプライチェーン管理等を目的としたサイバーフィジカル領域の"
     "プラットフォーム・サービス\n実証事業の支援に加え、グローバルベンチマークへのスケール化に向けた補助金・ファイナンス支援",
     "Equipment sold together with services in healthcare, smart agriculture and other fields; "
     "cyber-physical platform services, e.g. for supply-chain management; besides demonstration projects, "
     "grants and finance for scaling up to global benchmarks"),
    ("サービス貿易促進", "インバウンド需要を創成", "Create inbound demand",
     "クリエイターや地域の魅力を核にしたインバウンドの種の創成",
     "Seeds of inbound demand built on creators and the attractions of regions"),
)


def policy_tools_table() -> pd.DataFrame:
    rows = []
    for direction_ja, tool_ja, tool_en, measures_ja, measures_en in POLICY_TOOLS:
        key, direction_en, aim_ja, aim_en = POLICY_DIRECTIONS[direction_ja]
        rows.append({"table": "wp_policy_tools", "figure": "II-2-4-12", "direction": key,
                     "direction_ja": direction_ja, "direction_en": direction_en, "aim_ja": aim_ja, "aim_en": aim_en,
                     "tool_ja": tool_ja, "tool_en": tool_en, "measures_ja": measures_ja, "measures_en": measures_en,
                     "source_id": "wp2023_fig_II-2-4-12"})
    return pd.DataFrame(rows)


# --- The talk: who supports SMEs abroad --------------------------------------------------------------

# Members of the national council 中小企業海外展開支援会議, by the groups printed on the slide.
NATIONAL_COUNCIL = (
    ("関係省庁", "Ministries", (("経済産業省", "Ministry of Economy, Trade and Industry (METI)"),
                              ("金融庁", "Financial Services Agency"),
                              ("外務省", "Ministry of Foreign Affairs (MOFA)"),
                              ("農水省", "Ministry of Agriculture, Forestry and Fisheries"))),
    ("政府系機関", "Government-affiliated agencies", (("ジェトロ", "JETRO (Japan External Trade Organization)"),
                                                  ("中小機構", "SMRJ (Organization for Small & Medium Enterprises "
                                                           "and Regional Innovation)"),
                                                  ("日本貿易保険", "NEXI (Nippon Export and Investment Insurance)"),
                                                  ("JICA", "JICA (Japan International Cooperation Agency)"))),
    ("中小企業団体", "SME associations", (("日本商工会議所", "Japan Chamber of Commerce and Industry"),
                                     ("全国商工会連合会", "Central Federation of Societies of Commerce and Industry"),
                                     ("全国中小企業団体中央会", "National Federation of Small Business Associations"))),
    ("金融機関", "Financial institutions", (("全国銀行協会", "Japanese Bankers Association"),
                                       ("全国地方銀行協会", "Regional Banks Association of Japan"),
                                       ("第二地方銀行協会", "Second Association of Regional Banks"),
                                       ("全国信用金庫協会", "National Association of Shinkin Banks"),
                                       ("全国信用組合中央協会", "National Central Society of Credit Cooperatives"),
                                       ("全国信用保証協会連合", "National federation of credit guarantee corporations"),
                                       ("日本政策金融公庫", "Japan Finance Corporation"),
                                       ("商工組合中央金庫", "Shoko Chukin Bank"))),
    ("その他", "Others", (("日本弁護士連合会", "Japan Federation of Bar Associations"),
                        ("海外産業人材育成協会", "HIDA (overseas industrial human resource development; "
                                           "AOTS in the white paper)"))),
)
COUNCIL_LEVEL = {"関係省庁": "national", "政府系機関": "national", "中小企業団体": "national",
                 "金融機関": "financial institution", "その他": "national"}

# The four approaches of the slide「「つながり力」を高める支援策、アプローチ」, plus the two other groups of
# the case slides, as printed.
APPROACHES = {
    1: ("国内のものづくり支援の拠点で、海外展開に関する情報ネットワークとつながる",
        "Domestic manufacturing-support hubs connect to information networks on going abroad"),
    2: ("海外展開支援の拠点で「寄り添い型支援」を実施、企業とつながる",
        "Hubs for overseas expansion give close, walk-alongside support (寄り添い型支援) to firms"),
    3: ("海外展開支援の拠点をつないで、ネットワーク化とワンストップ化を進める",
        "Hubs are linked into networks and one-stop services"),
    4: ("ビジネス手法で進出先の課題解決に貢献することで、互恵的に相手国とつながる",
        "Connect with the partner country for mutual benefit by solving its problems through business"),
    5: ("特定国への進出支援をターゲットし、官民一体となった協力を重層的に展開",
        "Public–private cooperation in layers, targeted at expansion into one country"),
    6: ("企業をつなぐリーダー（中小企業相互の連携）", "Leaders that connect firms (cooperation among SMEs)"),
}
LOCAL_BODIES = (  # (name ja, name en, level, leader type ja, approach, activities ja (\n-separated), activities en)
    ("関西ベトナム経済交流会議（事務局：近畿経済産業局）", "Kansai–Vietnam Economic Exchange Council (secretariat: "
     "Kinki Bureau of Economy, Trade and Industry)", "regional", "地域経済産業局", 5,
     "近畿地域支援会議の特別部会、関西中小企業のベトナム展開の支援プラットフォーム\n"
     "ベトナム商工省、南部ドンナイ省及びホーチミン市人民委員会と協力文書を締結、政策レベルで協議・交渉する体制を構築\n"
     "ベトナム計画投資省に「関西ビジネスデスク」を設置、関西企業の現地での要望・問い合わせに対応。ドンナイ省に「ドンナイ省関西"
     "デスク」を設置、ワンストップサービス体制を強化\n"
     "中小企業の共同進出を支援する「関西裾野産業集積支援モデル事業」を実施",
     "Platform for Kansai SMEs going to Vietnam; agreements with Vietnam's Ministry of Industry and Trade, "
     "Dong Nai province and Ho Chi Minh City; 'Kansai business desks' in Vietnam's Ministry of Planning and "
     "Investment and in Dong Nai (one-stop service); a model project for SMEs' joint expansion"),
    ("MOBIO／ものづくりビジネスセンター大阪（大阪府）", "MOBIO, Manufacturing Business Center Osaka (Osaka "
     "Prefecture)", "prefectural", "自治体（都道府県・市）", 1,
     "ものづくり支援総合拠点であるMOBIO、MOBIO-Café海外研究会を開催\n国内外のキーパーソンが登録する海外展開支援サポートネットワーク構築",
     "Osaka's one-stop hub for manufacturers runs overseas study groups and a support network of key people "
     "in Japan and abroad"),
    ("スワモ／諏訪圏ものづくり推進機構（NPO）", "SUWAMO, Suwa-area manufacturing promotion organisation (NPO)",
     "NPO", "企業OBを核としたNPO", 1,
     "諏訪地域（広域6市町村）のものづくり支援団体。大手企業OBが担い手\n"
     "諏訪圏工業メッセの開催（年1回）により、地域内外及び海外の企業マッチングを実施\n"
     "他機関と連携して、スワモを窓口に、諏訪地域の中小企業海外展開支援ネットワークを構築中",
     "Manufacturing-support body of the Suwa area (six municipalities), run by retired engineers of large "
     "firms; an annual industrial fair for matching; building a support network for Suwa's SMEs"),
    ("尼崎国際ビジネス交流会（事務局：尼崎信用金庫）", "Amagasaki International Business Exchange (secretariat: "
     "Amagasaki Shinkin Bank)", "financial institution", "金融機関", 1,
     "オール尼崎で企業への海外展開に関する情報共有、定期的な会合と交流会（尼崎市、尼崎地域産業活性化機構、商工会議所、尼崎経営者"
     "協会、尼崎工業会、尼崎信用金庫）",
     "A local credit bank coordinates the city, the chamber of commerce and business associations to share "
     "information on going abroad, with regular meetings"),
    ("神戸市アジア進出支援センター（神戸市）", "Kobe City Asia Business Support Center (Kobe City)", "city",
     "自治体（都道府県・市）", 2,
     "中小企業に対する「寄り添い型支援」（登録アドバイザーとセンター職員）、地域経済活性化という目標に照らして「海外進出の"
     "チェック項目」を念頭において相談・助言\n海外進出に関する情報発信、海外ミッション等\nJETRO神戸と同じフロア、内部専用通用口でつながる",
     "Close support for SMEs by registered advisers and staff, with a checklist tied to the local economy; "
     "information and missions abroad; on the same floor as JETRO Kobe"),
    ("あいち国際ビジネス支援センター（愛知県＋あいち産業振興機構）", "Aichi International Business Support Center "
     "(Aichi Prefecture and the Aichi Industry Promotion Organization)", "prefectural", "自治体（都道府県・市）", 2,
     "ナビゲーション相談会（海外展開支援機関が一堂に会するワンストップ大相談会、2011～13年度）\n"
     "海外ビジネス・ハンズオン支援（国際ビジネス＋経営指導アドバイザーが同席）\n"
     "ベトナム計画投資省に「愛知サポートデスク」を設置、県内企業の要望・問い合わせに対応\nJETRO名古屋と同じフロア",
     "One-stop consultation fairs of all support bodies (FY2011–13); hands-on support with international "
     "business and management advisers together; an 'Aichi support desk' in Vietnam's Ministry of Planning and "
     "Investment; on the same floor as JETRO Nagoya"),
    ("KTI／北九州貿易・投資ワンストップサービスセンター（北九州市）", "KTI, Kitakyushu Trade and Investment One-Stop "
     "Service Center (Kitakyushu City)", "city", "自治体（都道府県・市）", 3,
     "市の国際ビジネス振興課、JETRO北九州、北九州貿易協会の連携によるシームレスな国際ビジネス支援拠点（同じフロア）\n"
     "アジアの姉妹都市提携を積極活用して、ビジネス交流を推進",
     "The city's international business section, JETRO Kitakyushu and the Kitakyushu trade association on one "
     "floor; business exchange through sister cities in Asia"),
    ("アジア低炭素化センター（北九州市）", "Asian Center for Low Carbon Society (Kitakyushu City)", "city",
     "自治体（都道府県・市）", 4,
     "市の環境局直轄でKITA、IGESと一体化して運営\n「北九州モデル」の構築・発信\n技術輸出、及び環境配慮型の都市輸出\n"
     "補助金事業に応募する企業への支援、センター自身の個別事業への参加等",
     "Run by the city's environment bureau with KITA and IGES; the 'Kitakyushu model'; exports of technology "
     "and of environmentally friendly city systems; help for firms applying for grants"),
    ("KITA／北九州国際技術協力協会", "KITA, Kitakyushu International Techno-cooperative Association", "NPO",
     "企業OBを核としたNPO", 4,
     "国際協力を通じて環境・産業技術の海外展開を推進、JICA北九州と連携（研修員受入、専門家派遣や協力事業）\n"
     "最近は、JETROとも連携（RIT事業等）、現地企業とのビジネスマッチング支援も実施\n大手企業OBが担い手",
     "Spreads environmental and industrial technology abroad through international cooperation with JICA "
     "Kitakyushu (trainees, experts); business matching with JETRO; run by retired engineers of large firms"),
    ("横浜市／Y-PORT事業、横浜ウォーター（株）、等", "Yokohama City: Y-PORT project, Yokohama Water Co., etc.",
     "city", "自治体（都道府県・市）", 4,
     "市の政策局が公民連携のハブとなり、「Y-PORT事業」を推進。新興国・途上国の持続可能な都市づくり＋市内企業のビジネス展開を支援\n"
     "市とJICA、ADBとの連携協定/覚書の締結\n"
     "水ビジネス展開のための体制づくり（水道局が100％出資する横浜ウォーター（株）、横浜水ビジネス協議会、環境創造局との連携、等）",
     "The city's policy bureau is a public–private hub for sustainable cities in emerging countries and for "
     "local firms' business; agreements with JICA and ADB; a water business set-up (Yokohama Water, wholly "
     "owned by the waterworks bureau)"),
    ("DTF／デスクトップファクトリー研究会（長野県テクノ財団）", "DTF, Desktop Factory study group (Nagano Techno "
     "Foundation)", "prefectural", "企業OBを核としたNPO", 4,
     "先端精密機械の中核企業と支援機関による共同研究・事業化\n国際交流事業（JETROのRIT事業、国際フォーラムや展示会出展等）\n"
     "長野県テクノ財団（事務局）による公的資金の獲得支援",
     "Joint research and commercialisation by precision-machinery firms and support bodies; international "
     "exchange (JETRO's RIT project, fairs); help in winning public funds"),
    ("ザ・サポート（大阪府）", "The Support (Osaka)", "SME", "中小企業", 6,
     "中小企業のベトナム共同進出支援（関西裾野産業集積支援モデル事業の旗振り役）\n"
     "インキュベーション・ファクトリー運営、コンサルティング、人材育成支援等",
     "Leads SMEs' joint expansion into Vietnam; runs an incubation factory, consulting and training"),
    ("V.I.T.（愛知県）", "V.I.T. (Aichi)", "SME", "中小企業", 6,
     "タイに協業進出、自らの製造拠点を共同出資企業のタイ進出支援拠点としても活用、カスタマイズした支援を提供（人材確保、生産"
     "スペース提供、場所貸し、共同マーケティング等）",
     "Went to Thailand jointly with partners and uses its own plant as a base for co-investors (staff, "
     "production space, joint marketing)"),
)


def organisations_table() -> pd.DataFrame:
    rows = []
    for group_ja, group_en, members in NATIONAL_COUNCIL:
        for name_ja, name_en in members:
            rows.append({"table": "sme_support_organisations", "network": "national_council", "name_ja": name_ja,
                         "name_en": name_en, "level": COUNCIL_LEVEL[group_ja], "group_ja": group_ja,
                         "group_en": group_en, "leader_type_ja": None, "approach": None, "approach_ja": None,
                         "approach_en": None, "activities_ja": None, "activities_en": None,
                         "source_id": "talk_national_council"})
    for name_ja, name_en, level, leader_ja, approach, act_ja, act_en in LOCAL_BODIES:
        approach_ja, approach_en = APPROACHES[approach]
        rows.append({"table": "sme_support_organisations", "network": "local", "name_ja": name_ja,
                     "name_en": name_en, "level": level, "group_ja": None, "group_en": None,
                     "leader_type_ja": leader_ja, "approach": approach, "approach_ja": approach_ja,
                     "approach_en": approach_en, "activities_ja": act_ja, "activities_en": act_en,
                     "source_id": "talk_support_network"})
    return pd.DataFrame(rows)


# --- The talk: national programmes and ODA tools ------------------------------------------------------

PROGRAMMES = (  # (name ja, name en, provider ja, category ja, category en, target ja, since ja, description ja,
    #              description en, terms ja, source_id)
    ("中小企業海外展開支援大綱", "Outline for supporting SMEs' overseas expansion", "中小企業海外展開支援会議",
     "中小企業の海外展開支援会議の体制（全国レベル）", "National framework", None, "平成23年6月",
     "１．情報収集・提供\n２．マーケティング\n３．人材の育成・確保\n４．資金調達\n５．貿易投資環境の改善",
     "Five priority pillars: information, marketing, human resources, financing, trade and investment "
     "environment; every support body and region draws up an action plan", "24年3月改定", "talk_national_council"),
    ("事業化可能性調査", "Feasibility studies (F/S)", "中小機構", "ハンズオン支援体制の拡充・強化",
     "Hands-on support", "中小企業", None, "経営支援の観点",
     "Grants for feasibility studies (two thirds of the cost), from the management-support angle",
     "補助率2/3\n上限120万円", "talk_national_programmes"),
    ("事業化可能性調査", "Feasibility studies (F/S): additional local survey", "JETRO",
     "ハンズオン支援体制の拡充・強化",
     "Hands-on support", "中小企業", None, "現地追加調査", "Additional survey on site, in cooperation with SMRJ",
     "上限50万円", "talk_national_programmes"),
    ("専門家による新興国進出個別支援サービス", "Individual expert support for entering emerging markets", "JETRO",
     "ハンズオン支援体制の拡充・強化", "Hands-on support", "中小企業", None, "新興国市場開拓支援サービス",
     "Experts accompany firms entering emerging markets (also a market-development service)", None,
     "talk_national_programmes"),
    ("中小企業海外展開現地支援プラットフォーム", "Local support platforms for SMEs abroad", "JETRO",
     "海外現地プラットフォームの整備", "Local platforms abroad", "中小企業", None, None,
     "Support on the ground in the destination country", None, "talk_national_programmes"),
    ("海外の教育訓練機関との連携による現地の高度人材育成確保への支援", "Support for training and hiring skilled "
     "local staff with education and training institutions abroad", "HIDA", "海外現地プラットフォームの整備",
     "Local platforms abroad", None, None, None, "Skilled local staff through partner training institutions",
     None, "talk_national_programmes"),
    ("海外展開一貫支援ファストパス制度", "Fast-pass system for seamless support of overseas expansion",
     "外務省（在外公館）・JETRO・JBIC・DBJなど", "国内から現地まで一貫した円滑な支援の提供",
     "Seamless support from Japan to the destination", "中堅・中小企業", None,
     "支援機関は、経営支援・融資等の実績のある中堅・中小企業等から海外展開について相談をうけた場合等、当該企業を他の支援機関に"
     "対して紹介する。\n外務省（在外公館）・JETRO・JBIC・DBJなど、海外展開支援に実績のある支援機関が、当該企業の訪問を受ける"
     "場合、紹介元の支援機関に照会し、支援担当者同士の情報共有を行い、効果的な支援を行う。",
     "A support body that knows a firm refers it to other bodies; the receiving body (embassies, JETRO, JBIC, "
     "DBJ …) contacts the referring one so that staff share information", None, "talk_national_programmes"),
    # ODA tools (MOFA, JICA). The target groups are read from the slide's layout: its three row labels
    # (中小企業のみ対象, 地方自治体を対象, 民間企業全般（中小企業も対象）) are extracted after the table.
    ("ニーズ調査", "Needs survey", "外務省", "情報収集・調査", "Information and surveys", "中小企業のみ対象",
     "2012年度～", "自社製品・技術のニーズを検証", "Checks the needs for the firm's products and technology",
     "外務省委託事業", "talk_oda"),
    ("案件化調査", "Project formulation survey", "外務省", "情報収集・調査", "Information and surveys",
     "中小企業のみ対象", "同上、2014年度よりJICA移管", "自社製品・技術のニーズを検証",
     "Checks the needs for the firm's products and technology (run by JICA from FY2014)", None, "talk_oda"),
    ("中小企業連携促進基礎調査", "Basic survey for SME partnership", "JICA", "情報収集・調査",
     "Information and surveys", "中小企業のみ対象", "2012年度～", "現地進出にむけた基礎情報収集や事業計画の作成を支援",
     "Basic information and a business plan for entering the market", None, "talk_oda"),
    ("普及・実証事業", "Dissemination and verification project", "JICA", "普及活動", "Dissemination",
     "中小企業のみ対象", "2012年度～", "自社製品・技術の有効性の実証・普及を支援",
     "Demonstrates and spreads the firm's products and technology", None, "talk_oda"),
    ("外務省ノンプロジェクト型無償資金協力", "Non-project grant aid (MOFA)", "外務省",
     "中小企業を対象とした無償資金協力",
     "Grant aid using SMEs' products", "中小企業のみ対象", "2012年度～",
     "国内中小企業の製品の中から、途上国の要望をふまえ、被援助国の経済社会開発に資する品目を供与",
     "Supplies Japanese SMEs' products that the recipient country asks for and that serve its development",
     None, "talk_oda"),
    ("地域（経済）活性化特別枠", "Special quota for regional (economic) revitalisation", "JICA", "草の根技術協力",
     "Grassroots technical cooperation", "地方自治体を対象", "2012年度補正予算～",
     "地方自治体の発意による国際協力を通じた我が国の地域の活性化を図る。途上国のニーズを日本各地のリソースと積極的に結びつける"
     "（技術・経験の活用、人的交流）。",
     "International cooperation initiated by local governments, to revitalise Japan's regions by linking "
     "developing countries' needs with local resources", None, "talk_oda"),
    ("PPPインフラ事業協力準備調査", "Preparatory survey for PPP infrastructure projects", "JICA", "情報収集・調査",
     "Information and surveys", "民間企業全般（中小企業も対象）", "2009年度～",
     "円借款や海外投融資の支援を想定したPPPインフラ事業の形成を支援",
     "Forms PPP infrastructure projects meant for yen loans or private-sector investment finance", None,
     "talk_oda"),
    ("BOPビジネス連携促進協力準備調査", "Preparatory survey for BOP business", "JICA", "情報収集・調査",
     "Information and surveys", "民間企業全般（中小企業も対象）", "2010年度～", "貧困層ビジネスの開発・展開を支援",
     "Develops business with the poor (base of the pyramid)", None, "talk_oda"),
    ("開発途上国の社会・経済開発のための民間技術普及促進事業", "Promotion of private technologies for developing "
     "countries' development", "JICA", "普及活動", "Dissemination", "民間企業全般（中小企業も対象）", "2013年度～",
     "自社製品・技術・システムの導入、普及を支援", "Introduces and spreads the firm's products, technology and "
     "systems", None, "talk_oda"),
    ("海外投融資", "Private-sector investment finance", "JICA", "資金協力", "Finance", "民間企業全般（中小企業も対象）",
     "2012年度に本格再開、2010年度からパイロットアプローチ",
     "途上国の開発に資する民間企業等が行う事業に対して、実現可能性を高めるための融資・出資",
     "Loans and equity for private projects that serve development", None, "talk_oda"),
    ("民間連携ボランティア", "Private-sector partnership volunteers", "JICA", "人材育成", "Human resources",
     "民間企業全般（中小企業も対象）", "2012年度～", "民間企業の人材をボランティアとして派遣、グローバル人材育成を支援",
     "Sends firms' staff abroad as volunteers, to train global talent", "中小企業対象には人件費補填制度あり",
     "talk_oda"),
    ("JICA日本センター", "JICA Japan Centers", "JICA", "人材育成", "Human resources",
     "民間企業全般（中小企業も対象）", None, "現地ビジネス人材の育成", "Trains local business people",
     "海外6カ国に所在",
     "talk_oda"),
)
SINCE_YEAR = re.compile(r"(\d{4})年度")


def programmes_table() -> pd.DataFrame:
    """Rule D5: ``since_year`` is the earliest year in ``since_ja`` (平成 n 年 = 1988 + n; 同上 = the row above)."""
    rows = []
    since_fy = None
    for (name_ja, name_en, provider_ja, category_ja, category_en, target_ja, since_ja, desc_ja, desc_en, terms_ja,
         source_id) in PROGRAMMES:
        years = [int(y) for y in SINCE_YEAR.findall(since_ja or "")]
        heisei = re.search(r"平成(\d+)年", since_ja or "")
        if (since_ja or "").startswith("同上"):
            pass  # same start as the programme above (案件化調査: 外務省委託事業、2012年度～, like ニーズ調査)
        elif years:
            since_fy = min(years)
        else:
            since_fy = 1988 + int(heisei.group(1)) if heisei else None
        rows.append({"table": "sme_support_programmes", "programme_ja": name_ja, "programme_en": name_en,
                     "provider_ja": provider_ja, "category_ja": category_ja, "category_en": category_en,
                     "oda": source_id == "talk_oda", "target_ja": target_ja, "since_ja": since_ja,
                     "since_year": since_fy, "description_ja": desc_ja, "description_en": desc_en,
                     "terms_ja": terms_ja, "source_id": source_id})
    return pd.DataFrame(rows).astype({"since_year": "Int64"})


# ==========================================================================
# All tables, the CSV files, and the report
# ==========================================================================

CSV_FILES = {
    "export_plans": "jetro_export_plans.csv",
    "export_challenges": "jetro_export_challenges.csv",
    "expansion_reasons": "jetro_expansion_reasons.csv",
    "items": "jetro_items.csv",
    "thailand_vietnam_indicators": "thailand_vietnam_indicators.csv",
    "investment_environment": "investment_environment.csv",
    "sme_support_organisations": "sme_support_organisations.csv",
    "sme_support_programmes": "sme_support_programmes.csv",
    "wp_viewpoints": "wp_viewpoints.csv",
    "wp_policy_tools": "wp_policy_tools.csv",
    "sources": "sources.csv",
}


def build_tables() -> dict[str, pd.DataFrame]:
    """Every shipped table, decoded afresh; raises :class:`DecodingError` if any check fails."""
    plans, _ = export_plans_table()
    tables = {
        "export_plans": plans,
        "export_challenges": decode_destination_table(RAW_CHALLENGES, table="export_challenges",
                                                      figure="II-2-4-7", source_id="wp2023_fig_II-2-4-7"),
        "expansion_reasons": decode_destination_table(RAW_REASONS, table="expansion_reasons",
                                                      figure="II-2-4-9", source_id="wp2023_fig_II-2-4-9"),
        "items": items_table(),
        "thailand_vietnam_indicators": thailand_vietnam_table(),
        "investment_environment": investment_environment_table(),
        "sme_support_organisations": organisations_table(),
        "sme_support_programmes": programmes_table(),
        "wp_viewpoints": viewpoints_table(),
        "wp_policy_tools": policy_tools_table(),
        "sources": pd.DataFrame(SOURCES),
    }
    failed = run_prose_checks(tables).query("not passed")
    if not failed.empty:
        raise DecodingError(f"prose checks fail: {failed['check_id'].tolist()}")
    return tables


def decoding_report() -> dict[str, pd.DataFrame]:
    """How far each rule narrows the readings: stacked bars (II-2-4-6), column orders (II-2-4-7/9), prose checks."""
    _, stages = export_plans_table()
    columns = pd.DataFrame({
        "table": ["export_challenges", "expansion_reasons"],
        "column_orders_passing_prose": [consistent_column_orders(RAW_CHALLENGES, "export_challenges"),
                                        consistent_column_orders(RAW_REASONS, "expansion_reasons")],
        "column_orders": [120, 120]})
    tables = build_tables()
    return {"export_plan_stages": stages, "column_orders": columns, "prose_checks": run_prose_checks(tables),
            "rules": pd.DataFrame([{"rule_id": r.rule_id, "kind": r.kind, "text": r.text} for r in EXPORT_RULES])}


def write_csvs(directory: Path = DATA_DIR) -> list[Path]:
    """Write every table as UTF-8 CSV (the shipped package data)."""
    paths = []
    for name, table in build_tables().items():
        path = directory / CSV_FILES[name]
        table.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        paths.append(path)
    return paths


def main() -> None:
    for path in write_csvs():
        print(f"wrote {path.relative_to(DATA_DIR.parents[1])}")
    with pd.option_context("display.width", 160, "display.max_colwidth", 80):
        for name, table in decoding_report().items():
            print(f"\n== {name}\n{table.to_string(index=False)}")


if __name__ == "__main__":
    main()
