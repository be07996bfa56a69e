"""Figures for the book, and the small tables behind them.

Every function takes plain DataFrames plus column names whose defaults are
the synthetic world's (``kaigai_lib.world.synthetic``), so the same calls run on
企業活動基本調査 / 海外事業活動基本調査 / 工業統計調査 microdata once their
columns are mapped. Plotting functions return a matplotlib ``Figure``; the
tables they draw are public functions of their own (``panel_overview``,
``starter_base_sample``, ``starter_comparison``, ``global_firm_plants``,
``ownership_groups``, ``ownership_comparison``) so
chapters and tests can print or check the numbers behind a figure.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import matplotlib_fontja  # noqa: F401  (importing it registers the IPAex font, so Japanese labels render)
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kaigai_lib.data.schema import as_binary
from kaigai_lib.data.schema import require_columns as _require_columns
from kaigai_lib.data.starts import ANALYSIS_COLUMNS, unit_start_years
from kaigai_lib.estimators import spatial
from kaigai_lib.estimators.plots import ANALYSIS_LABELS, OUTCOME_LABELS, new_figure

# Pre-start variables compared by ``starter_comparison``; "tfp" is already a log.
VARIABLE_LABELS = {
    "tfp": "log TFP",
    "log_employees": "log employees",
    "log_sales": "log sales",
}

LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "x")

# The white paper's export size classes (従業員規模) start at these employee counts.
SIZE_THRESHOLDS = (50, 100, 300)


# --------------------------------------------------------------------------
# The firm panel
# --------------------------------------------------------------------------

def panel_overview(firms: pd.DataFrame) -> pd.DataFrame:
    """Firms observed per year and the shares that export and that have FDI (overseas affiliates)."""
    firm_col, year_col, exporter_col, fdi_col = "firm_id", "year", "exporter", "fdi"  # the schema's names
    _require_columns(firms, [firm_col, year_col, exporter_col, fdi_col], "firms")
    return (firms.groupby(year_col)
            .agg(firms=(firm_col, "nunique"),
                 share_exporting=(exporter_col, "mean"),
                 share_fdi=(fdi_col, "mean"))
            .reset_index())


def plot_panel_overview(firms: pd.DataFrame) -> Figure:
    """Two panels over the survey years: firms observed, and shares exporting / with FDI."""
    year_col = "year"
    table = panel_overview(firms)
    fig, axes = new_figure(1, 2, figsize=(10, 3.6))
    left, right = axes[0]
    left.bar(table[year_col], table["firms"], color="0.6")
    left.set(title="Firms in the panel (調査対象企業数)", xlabel="year", ylabel="firms")
    right.plot(table[year_col], 100 * table["share_exporting"], marker="o", ms=3, label="exporting (輸出企業)")
    right.plot(table[year_col], 100 * table["share_fdi"], marker="s", ms=3, label="with FDI (海外直接投資企業)")
    right.set(title="Share of firms going abroad", xlabel="year", ylabel="% of firms", ylim=(0, None))
    right.legend(loc="upper left")
    return fig


def plot_size_distribution(firms: pd.DataFrame, *,
                           year: int | None = None, thresholds: Sequence[int] = SIZE_THRESHOLDS,
                           bins: int = 60) -> Figure:
    """Histogram of employees on a log axis, with the white paper's size-class boundaries.

    Each size class is labelled with its share of firm-years (of ``year`` only, if given).
    """
    employees_col, year_col = "employees", "year"  # the schema's names
    _require_columns(firms, [employees_col, year_col], "firms")
    data = firms if year is None else firms.loc[firms[year_col] == year]
    if data.empty:
        raise ValueError(f"No firm-years for year={year!r} in column {year_col!r}.")
    employees = data[employees_col].to_numpy(dtype=float)
    if (employees <= 0).any():
        raise ValueError(f"{int((employees <= 0).sum())} rows have {employees_col} ≤ 0; a log axis needs > 0.")
    edges = np.logspace(np.log10(employees.min()), np.log10(employees.max()), bins + 1)
    edges[[0, -1]] = employees.min(), employees.max()  # 10**log10(x) can miss x and drop the largest firm
    fig, axes = new_figure(figsize=(8, 3.8))
    ax = axes[0, 0]
    ax.hist(employees, bins=edges, color="0.65")
    ax.set_xscale("log")
    # Shares per class, labelled between the boundaries (classes: below the first, between, above the last).
    bounds = [employees.min(), *thresholds, employees.max()]
    classes = np.digitize(employees, thresholds)
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        share = (classes == i).mean()
        label = f"< {thresholds[0]}" if i == 0 else (f"{lo}+" if i == len(thresholds) else f"{lo}–{hi - 1}")
        ax.text(np.sqrt(lo * hi), 0.97, f"{label}\n{share:.1%}", transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=9)
    for t in thresholds:
        ax.axvline(t, color="C3", linestyle="--", linewidth=1)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.25)  # headroom for the class labels
    when, unit = ("all years", "firm-years") if year is None else (str(year), "firms")
    ax.set(title=f"Firm size (従業員数), {when}", xlabel="employees (log scale)", ylabel=unit)
    return fig


# --------------------------------------------------------------------------
# Selection: starters before they start
# --------------------------------------------------------------------------

def starter_base_sample(firms: pd.DataFrame, tfp: pd.DataFrame | None = None, *, analysis: str = "export",
                        tfp_col: str | None = "tfp_true") -> pd.DataFrame:
    """Firm-years at risk of starting, one year before a possible start, flagged ``starter``.

    A firm-year is at risk when the firm has not started yet (status false).
    It is a starter's base year ``t−1`` when the recorded start year is the
    next year. The last panel year is left out, as nobody can be seen to
    start after it. Returns the variables ``tfp`` (if ``tfp_col`` is given;
    taken from ``tfp`` merged on firm and year, or from ``firms``),
    ``log_employees`` and ``log_sales``, and each of them ``*_relative``: its
    distance from the mean of the non-starters of the same year and
    industry — the comparison the white paper's matching makes.
    """
    if analysis not in ANALYSIS_COLUMNS:
        raise ValueError(f"analysis={analysis!r}: choose one of {sorted(ANALYSIS_COLUMNS)}.")
    start_year_col, status_col = ANALYSIS_COLUMNS[analysis]
    # the schema's names (real data are renamed once: kaigai_lib.data.schema.validate(df, rename=…))
    firm_col, year_col, industry_col, employees_col, sales_col = "firm_id", "year", "industry", "employees", "sales"
    needed = [firm_col, year_col, industry_col, start_year_col, status_col, employees_col, sales_col]
    tfp_in_firms = tfp is None and tfp_col is not None and tfp_col in firms.columns
    _require_columns(firms, needed, "firms")
    panel = firms[[*needed, tfp_col]] if tfp_in_firms else firms[needed]
    if tfp_col is not None and not tfp_in_firms:
        if tfp is not None:
            _require_columns(tfp, [firm_col, year_col, tfp_col], "tfp")
            panel = panel.merge(tfp[[firm_col, year_col, tfp_col]], on=[firm_col, year_col], how="left",
                                validate="one_to_one")
        else:
            raise ValueError(
                f"No TFP column {tfp_col!r} in firms: pass tfp=<table with {firm_col}, {year_col}, {tfp_col}> "
                "(e.g. world.latent, or estimated TFP), or tfp_col=None to compare size only.")
    for col in (employees_col, sales_col):
        bad = panel[col] <= 0
        if bad.any():
            raise ValueError(f"{int(bad.sum())} firm-years have {col} ≤ 0 (e.g. rows {list(panel.index[bad][:5])}); "
                             "logs need positive values: drop or correct them first.")

    on = as_binary(panel[status_col], status_col, "starter_base_sample")
    # the start year as recorded anywhere among the firm's rows (often only from the start on)
    panel = panel.assign(**{start_year_col: unit_start_years(panel[start_year_col], panel[firm_col].to_numpy(),
                                                             start_year_col, "starter_base_sample")})
    at_risk = panel.loc[~on & (panel[year_col] < panel[year_col].max())]
    sample = pd.DataFrame({
        firm_col: at_risk[firm_col],
        year_col: at_risk[year_col],
        industry_col: at_risk[industry_col],
        "starter": (at_risk[start_year_col] == at_risk[year_col] + 1).fillna(False).astype(bool),
    })
    variables = []
    if tfp_col is not None:
        sample["tfp"] = at_risk[tfp_col]
        variables.append("tfp")
    sample["log_employees"] = np.log(at_risk[employees_col])
    sample["log_sales"] = np.log(at_risk[sales_col])
    variables += ["log_employees", "log_sales"]
    cell_means = (sample.loc[~sample["starter"]].groupby([year_col, industry_col])[variables].mean()
                  .add_suffix("_cell_mean"))
    sample = sample.join(cell_means, on=[year_col, industry_col])
    for v in variables:
        sample[f"{v}_relative"] = sample[v] - sample.pop(f"{v}_cell_mean")
    return sample.reset_index(drop=True)


def starter_comparison(firms: pd.DataFrame, tfp: pd.DataFrame | None = None, *, analysis: str = "export",
                       **column_names: str | None) -> pd.DataFrame:
    """How starters differ from non-starters one year before they start.

    One row per variable (log TFP, log employees, log sales): the mean among
    starters and among non-starters at ``t−1``, the raw gap, and the gap
    within the same year and industry (log points; 0.10 ≈ 10.5 % higher),
    with the counts behind them. ``column_names`` are passed to
    :func:`starter_base_sample`.
    """
    sample = starter_base_sample(firms, tfp, analysis=analysis, **column_names)
    starters = sample.loc[sample["starter"]]
    others = sample.loc[~sample["starter"]]
    if starters.empty:
        raise ValueError(f"No {analysis} starters with a base-year (t−1) observation: nothing to compare.")
    rows = []
    for v in (c for c in VARIABLE_LABELS if c in sample.columns):
        within = starters[f"{v}_relative"]
        rows.append({
            "variable": VARIABLE_LABELS[v],
            "starters": starters[v].mean(),
            "non_starters": others[v].mean(),
            "raw_gap": starters[v].mean() - others[v].mean(),
            "gap_within_year_industry": within.mean(),
            "n_starters": len(starters),
            "n_non_starters": len(others),
            # starters alone in their year × industry cell have no comparison: counted, not hidden
            "n_starters_without_comparison": int(within.isna().sum()),
        })
    return pd.DataFrame(rows).set_index("variable")


def plot_starters_vs_others(firms: pd.DataFrame, tfp: pd.DataFrame | None = None, *,
                            variables: Sequence[str] = ("tfp", "log_employees"),
                            analyses: Sequence[str] = ("export", "fdi"), bins: int = 50,
                            **column_names: str | None) -> Figure:
    """Distributions at ``t−1`` of starters vs non-starters, relative to the same year-and-industry mean.

    Rows are ``variables`` (``"tfp"``, ``"log_employees"``, ``"log_sales"``),
    columns are ``analyses``; each panel gives the within gap in its title.
    """
    unknown = [v for v in variables if v not in VARIABLE_LABELS]
    if unknown:
        raise ValueError(f"variables {unknown} unknown: choose from {list(VARIABLE_LABELS)}.")
    fig, axes = new_figure(len(variables), len(analyses), figsize=(5 * len(analyses), 3.2 * len(variables)),
                            sharex="row")
    for j, analysis in enumerate(analyses):
        sample = starter_base_sample(firms, tfp, analysis=analysis, **column_names)
        for i, v in enumerate(variables):
            ax = axes[i, j]
            values = sample[f"{v}_relative"]
            starter = sample["starter"]
            edges = np.histogram_bin_edges(values.dropna(), bins=bins)
            ax.hist(values[~starter].dropna(), bins=edges, density=True, color="0.6", alpha=0.7,
                    label="non-starters (非開始企業)")
            ax.hist(values[starter].dropna(), bins=edges, density=True, color="C0", alpha=0.6,
                    label="starters (開始企業)")
            gap = values[starter].mean()
            ax.axvline(0, color="0.3", linewidth=1)
            ax.axvline(gap, color="C0", linestyle="--", linewidth=1.5)
            ax.set_title(f"{ANALYSIS_LABELS[analysis]}\n{VARIABLE_LABELS[v]} at t−1: gap {gap:+.2f}", fontsize=10)
            ax.set(xlabel=f"{VARIABLE_LABELS[v]} minus non-starters' year×industry mean", ylabel="density")
    axes[0, 0].legend(loc="upper left", fontsize=8)
    return fig


# --------------------------------------------------------------------------
# True effects
# --------------------------------------------------------------------------

def plot_effect_paths(effects: pd.DataFrame, analysis: str, *, outcomes: Sequence[str] | None = None) -> Figure:
    """Effect paths τ(h) by group, one panel per outcome (``world.truth.effects``' columns, in log points)."""
    analysis_col, group_col, outcome_col, horizon_col, effect_col = "analysis", "group", "outcome", "horizon", "effect"
    _require_columns(effects, [analysis_col, group_col, outcome_col, horizon_col, effect_col], "effects")
    data = effects.loc[effects[analysis_col] == analysis]
    if data.empty:
        found = sorted(effects[analysis_col].unique())
        raise ValueError(f"No rows with {analysis_col} == {analysis!r}; found {found}.")
    outcomes = list(outcomes) if outcomes is not None else list(dict.fromkeys(data[outcome_col]))
    ncols = min(3, len(outcomes))
    nrows = -(-len(outcomes) // ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows), sharey=True)
    panels = axes.ravel()
    for ax, outcome in zip(panels, outcomes, strict=False):
        for k, (group, path) in enumerate(data.loc[data[outcome_col] == outcome].groupby(group_col, sort=False)):
            # groups may share a path: distinct line styles and markers keep every one visible
            ax.plot(path[horizon_col], path[effect_col], color=f"C{k}", label=group,
                    linestyle=LINE_STYLES[k % len(LINE_STYLES)], marker=MARKERS[k % len(MARKERS)], ms=4)
        ax.axhline(0, color="0.5", linewidth=0.8)
        ax.set_title(OUTCOME_LABELS.get(outcome, outcome), fontsize=10)
        ax.set_xlabel("years since start h")
    for row in axes:
        row[0].set_ylabel("effect τ(h), log points")
    handles, labels = panels[0].get_legend_handles_labels()
    spare = panels[len(outcomes):]
    for ax in spare:
        ax.set_axis_off()
    # the legend goes into an empty panel if the grid has one
    (spare[0] if len(spare) else panels[len(outcomes) - 1]).legend(handles, labels, title="group", loc="center")
    fig.suptitle(f"{ANALYSIS_LABELS.get(analysis, analysis)}: effect paths")
    return fig


# --------------------------------------------------------------------------
# Establishments and foreign demand
# --------------------------------------------------------------------------

def global_firm_plants(establishments: pd.DataFrame, firms: pd.DataFrame, year: int, *,
                       min_capital: float = 1_000.0) -> pd.DataFrame:
    """Domestic plants of the white paper's "global firms" in ``year``.

    A global firm has paid-in capital of at least ``min_capital`` (million
    yen; ¥1bn) and an overseas production ratio above zero in that year.
    Returns the establishments' rows of that year with the firm's two columns.
    The definition lives in :func:`kaigai_lib.estimators.spatial.global_firm_plants`.
    """
    return spatial.global_firm_plants(establishments, firms, year, min_capital=min_capital)


def plot_establishment_map(establishments: pd.DataFrame, centres: pd.DataFrame | None = None) -> Figure:
    """Establishments as points on longitude/latitude, centres (e.g. global firms' plants) on top.

    No base map is downloaded: the axes' aspect ratio is set to 1/cos(mean
    latitude), so distances look right in both directions.
    """
    id_col, lat_col, lon_col = "establishment_id", "latitude", "longitude"  # the schema's names
    _require_columns(establishments, [id_col, lat_col, lon_col], "establishments")
    points = establishments.drop_duplicates(id_col)  # locations are fixed; one point per establishment
    fig, axes = new_figure(figsize=(7, 7))
    ax = axes[0, 0]
    ax.scatter(points[lon_col], points[lat_col], s=1, color="0.45", alpha=0.4, linewidths=0,
               label=f"establishments (事業所), n = {len(points):,}")
    if centres is not None:
        _require_columns(centres, [lat_col, lon_col], "centres")
        ax.scatter(centres[lon_col], centres[lat_col], s=14, marker="^", color="C3",
                   label=f"centres (中心事業所), n = {len(centres):,}")
    ax.set_aspect(1 / np.cos(np.radians(points[lat_col].mean())))
    ax.set(title="Establishment locations (事業所の所在地)", xlabel="longitude (経度)", ylabel="latitude (緯度)")
    ax.legend(loc="upper left", markerscale=2)
    return fig


def plot_foreign_demand(foreign_demand: pd.DataFrame, *, highlight: tuple[int, int] | None = None,
                        highlight_label: str = "") -> Figure:
    """The foreign-demand DI over time, with an optional shaded span of years (e.g. the establishment panel's)."""
    year_col, di_col = "year", "foreign_demand_di"  # the schema's names
    _require_columns(foreign_demand, [year_col, di_col], "foreign_demand")
    fig, axes = new_figure(figsize=(8, 3.4))
    ax = axes[0, 0]
    if highlight is not None:
        ax.axvspan(highlight[0] - 0.5, highlight[1] + 0.5, color="C1", alpha=0.15, label=highlight_label or None)
    ax.plot(foreign_demand[year_col], foreign_demand[di_col], marker="o", ms=3, color="C0", label="DI")
    ax.axhline(0, color="0.4", linewidth=0.8)
    ax.set(title="Foreign demand DI (海外での製商品需給判断DI)", xlabel="year",
           ylabel="DI, % points")
    ax.legend(loc="lower left")
    return fig


# --------------------------------------------------------------------------
# Production functions: estimates against the truth
# --------------------------------------------------------------------------

def plot_coefficients_vs_truth(estimates: Mapping[str, pd.DataFrame], truth: pd.DataFrame, *,
                               labels: Mapping[str, str] | None = None) -> Figure:
    """Estimated coefficients of several methods next to the true values, one panel per input.

    ``estimates`` maps a method's name to a table with one row per group
    (e.g. industry) and one column per input (e.g. ``GroupedProductionResult.coef``);
    ``truth`` has the same rows and columns. ``labels`` names the inputs in the
    panel titles. Each method is a marker per group; the truth is a black ×.
    """
    if not estimates:
        raise ValueError("estimates is empty: pass {method name: coefficient table}.")
    inputs = list(truth.columns)
    groups = list(truth.index)
    for method, table in estimates.items():
        _require_columns(table, inputs, f"estimates[{method!r}]")
        missing = [g for g in groups if g not in table.index]
        if missing:
            raise ValueError(f"estimates[{method!r}] has no row for group(s) {missing}; "
                             f"it has {list(table.index)}.")
    labels = dict(labels or {})
    fig, axes = new_figure(1, len(inputs), figsize=(4.2 * len(inputs), 0.9 + 0.42 * len(groups)), sharey=True)
    positions = np.arange(len(groups))
    offsets = np.linspace(-0.25, 0.25, len(estimates)) if len(estimates) > 1 else np.zeros(1)
    for ax, column in zip(axes[0], inputs, strict=True):
        for k, (method, table) in enumerate(estimates.items()):
            ax.scatter(table.loc[groups, column], positions + offsets[k], marker=MARKERS[k % len(MARKERS)],
                       color=f"C{k}", s=24, label=method, zorder=2)
        ax.scatter(truth[column], positions, marker="x", color="black", s=50, linewidths=2, label="truth (真の値)",
                   zorder=3)
        ax.set_yticks(positions, groups)
        ax.grid(axis="y", color="0.9", zorder=0)
        ax.set(title=labels.get(column, column), xlabel="coefficient")
    axes[0, 0].invert_yaxis()
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    return fig


# --------------------------------------------------------------------------
# Ownership groups: Figures II-2-4-2 and II-2-4-3
# --------------------------------------------------------------------------

# The Basic Survey (and the white paper's footnote 236) counts a firm as foreign-owned when its foreign
# capital ratio exceeds 33.3 %.
FOREIGN_OWNED_THRESHOLD = 33.3
OWNERSHIP_GROUPS = ("Japanese, with FDI", "Japanese, without FDI", "Foreign-owned")
OWNERSHIP_LABELS = {
    "Japanese, with FDI": "Japanese firms with FDI (海外直接投資を行っている日本企業)",
    "Japanese, without FDI": "Japanese firms without FDI (海外直接投資を行っていない日本企業)",
    "Foreign-owned": "Foreign-owned firms (外資系企業)",
}


def ownership_groups(firms: pd.DataFrame, *, threshold: float = FOREIGN_OWNED_THRESHOLD) -> pd.Series:
    """The white paper's three groups, one label per row of ``firms`` (an ordered categorical).

    ``"Foreign-owned"``: foreign capital ratio (%) above ``threshold``,
    whether or not the firm has FDI; ``"Japanese, with FDI"``: the other firms
    that own an overseas affiliate; ``"Japanese, without FDI"``: the rest.
    Missing values are an error, not a silent fourth group.
    """
    fdi_col, foreign_ratio_col = "fdi", "foreign_capital_ratio"  # the schema's names
    _require_columns(firms, [fdi_col, foreign_ratio_col], "firms")
    problems = []
    for col in (fdi_col, foreign_ratio_col):
        missing = firms[col].isna()
        if missing.any():
            problems.append(f"{int(missing.sum())} rows have no {col} (e.g. rows {list(firms.index[missing][:5])})")
    if problems:
        raise ValueError("; ".join(problems) + ". The ownership group needs both: drop or fill those rows first, "
                         "and report how many.")
    foreign = firms[foreign_ratio_col].astype(float) > threshold
    fdi = as_binary(firms[fdi_col], fdi_col, "ownership_groups")
    labels = np.where(foreign, OWNERSHIP_GROUPS[2], np.where(fdi, OWNERSHIP_GROUPS[0], OWNERSHIP_GROUPS[1]))
    return pd.Series(pd.Categorical(labels, categories=OWNERSHIP_GROUPS, ordered=True), index=firms.index,
                     name="ownership")


def _ownership_sample(firms: pd.DataFrame, values: pd.Series, *, year: int | None,
                      manufacturing_only: bool) -> pd.DataFrame:
    year_col, manufacturing_col, fdi_col, foreign_ratio_col = "year", "manufacturing", "fdi", "foreign_capital_ratio"
    needed = [fdi_col, foreign_ratio_col] + ([year_col] if year is not None else []) + (
        [manufacturing_col] if manufacturing_only else [])
    _require_columns(firms, needed, "firms")
    keep = pd.Series(True, index=firms.index)
    if year is not None:
        keep &= firms[year_col] == year
    if manufacturing_only:
        keep &= as_binary(firms[manufacturing_col], manufacturing_col, "ownership_groups")
    if not keep.any():
        raise ValueError(f"No firms left for year={year!r}, manufacturing_only={manufacturing_only}.")
    data = firms.loc[keep]
    sample = pd.DataFrame({
        "ownership": ownership_groups(data),
        "value": values.reindex(data.index),
    })
    missing = sample["value"].isna()
    if missing.any():
        raise ValueError(f"{int(missing.sum())} of the selected firm-years have no value "
                         f"(e.g. rows {list(sample.index[missing][:5])}); compute it for every row first.")
    return sample


def ownership_comparison(firms: pd.DataFrame, value_col: str, *, year: int | None = None,
                         manufacturing_only: bool = True) -> pd.DataFrame:
    """Firm-years, mean, quartiles and median of ``value_col`` for each ownership group.

    The table behind :func:`plot_tfp_by_ownership` and
    :func:`plot_compensation_by_ownership`: ``year`` (None = all years) and
    ``manufacturing_only`` select the firm-years, as the white paper compares
    manufacturing firms.
    """
    _require_columns(firms, [value_col], "firms")
    sample = _ownership_sample(firms, firms[value_col], year=year, manufacturing_only=manufacturing_only)
    grouped = sample.groupby("ownership", observed=False)["value"]
    return pd.DataFrame({
        "n": grouped.size(),
        "mean": grouped.mean(),
        "p25": grouped.quantile(0.25),
        "median": grouped.median(),
        "p75": grouped.quantile(0.75),
    })


def _plot_by_ownership(sample: pd.DataFrame, *, title: str, xlabel: str, clip: tuple[float, float]) -> Figure:
    """Kernel densities (top) and box plots (bottom) of ``sample["value"]`` by ownership group."""
    from matplotlib.cbook import boxplot_stats
    from scipy.stats import gaussian_kde

    fig, axes = new_figure(2, 1, figsize=(8, 5.4), sharex=True, height_ratios=(3, 1.3))
    top, bottom = axes[:, 0]
    values = {g: sample.loc[sample["ownership"] == g, "value"].to_numpy(dtype=float) for g in OWNERSHIP_GROUPS}
    present = [g for g in OWNERSHIP_GROUPS if len(values[g])]
    stats = boxplot_stats([values[g] for g in present])
    # x-range: every group's clip quantiles and whiskers, so a small group far from the others is not cut off
    lo = min(min(np.quantile(values[g], clip[0]) for g in present), min(s["whislo"] for s in stats))
    hi = max(max(np.quantile(values[g], clip[1]) for g in present), max(s["whishi"] for s in stats))
    grid = np.linspace(lo, hi, 300)
    for k, group in enumerate(OWNERSHIP_GROUPS):
        group_values = values[group]
        if len(group_values) == 0:
            continue
        style = {"color": f"C{k}", "linestyle": LINE_STYLES[k % len(LINE_STYLES)]}
        label = f"{OWNERSHIP_LABELS[group]}, n = {len(group_values):,}"
        if len(group_values) > 1 and np.ptp(group_values) > 0:
            top.plot(grid, gaussian_kde(group_values)(grid), linewidth=2, label=label, **style)
        else:  # one value (or all equal): no density to draw, but the group is still shown and counted
            top.plot([], [], linewidth=2, label=label, **style)
        top.axvline(np.median(group_values), linewidth=1, alpha=0.8, **style)
    top.plot([], [], color="0.4", linewidth=1, label="vertical lines: medians (中央値)")
    top.set(title=title, ylabel="density (密度)")
    top.set_ylim(0, top.get_ylim()[1] * 1.45)  # headroom for the legend
    top.legend(loc="upper left", fontsize=8)
    parts = bottom.bxp(stats, orientation="horizontal", showfliers=False, widths=0.6, patch_artist=True,
                       medianprops={"color": "black"})
    for patch, group in zip(parts["boxes"], present, strict=True):
        patch.set(facecolor=f"C{OWNERSHIP_GROUPS.index(group)}", alpha=0.45)
    bottom.set_yticks(np.arange(1, len(present) + 1), present)
    bottom.invert_yaxis()
    bottom.set_xlabel(xlabel)
    bottom.set_xlim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
    return fig


def plot_tfp_by_ownership(firms: pd.DataFrame, tfp_col: str = "log_tfp_relative", *, year: int | None = None,
                          manufacturing_only: bool = True,
                          clip: tuple[float, float] = (0.005, 0.995)) -> Figure:
    """Figure II-2-4-2: the distribution of (log) TFP by ownership group.

    ``tfp_col`` should be comparable across industries, e.g. log TFP minus its
    industry-year mean. The x-axis spans the ``clip`` quantiles of every
    group (the densities and medians use every value); the box plots omit
    outliers. The white paper compares manufacturing firms
    (``manufacturing_only``); ``year=None`` pools all years.
    """
    _require_columns(firms, [tfp_col], "firms")
    sample = _ownership_sample(firms, firms[tfp_col], year=year, manufacturing_only=manufacturing_only)
    scope = ("manufacturing, " if manufacturing_only else "") + ("all years" if year is None else str(year))
    return _plot_by_ownership(sample, clip=clip, xlabel="log TFP relative to the industry-year mean",
                              title=f"Figure II-2-4-2 replica (第II-2-4-2図)\nTFP (全要素生産性の比較), {scope}")


def plot_compensation_by_ownership(firms: pd.DataFrame, *, year: int | None = None,
                                   manufacturing_only: bool = True,
                                   clip: tuple[float, float] = (0.005, 0.995)) -> Figure:
    """Figure II-2-4-3: the distribution of compensation per employee by ownership group.

    Compensation per employee is ``compensation / employees`` (in the
    synthetic world, million yen at 2015 prices per person).
    """
    compensation_col, employees_col = "compensation", "employees"  # the schema's names
    _require_columns(firms, [compensation_col, employees_col], "firms")
    employees = firms[employees_col].astype(float)
    bad = ~(employees > 0)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} rows have {employees_col} ≤ 0 or missing "
                         f"(e.g. rows {list(firms.index[bad][:5])}); compensation per employee needs > 0.")
    per_employee = firms[compensation_col].astype(float) / employees
    sample = _ownership_sample(firms, per_employee, year=year, manufacturing_only=manufacturing_only)
    scope = ("manufacturing, " if manufacturing_only else "") + ("all years" if year is None else str(year))
    return _plot_by_ownership(sample, clip=clip, xlabel="compensation per employee, million yen (百万円)",
                              title=f"Figure II-2-4-3 replica (第II-2-4-3図)\ncompensation per employee "
                                    f"(一人当たり雇用者報酬の比較), {scope}")
