"""Naive comparisons of starters with non-starters, and what they are made of.

The analyses the white paper revisits (中小企業白書 2010 and 2012, 通商白書 2012)
took the firms that started exporting (or FDI) in one year, took the firms
that did not, and compared the two groups' averages a few years later.

* :func:`naive_difference` makes that comparison on any firm panel — a
  DataFrame plus column names — for one start year (cohort) or pooled over
  all cohorts.
* :func:`kaigai_lib.whitepaper.selection.decompose` adds what only the synthetic world knows (the
  untreated outcome of every starter) and splits the naive difference into ATT + selection bias.

Definitions (cohort ``S`` = start year, horizon ``h``, base year ``S − 1``):

* a **starter** of cohort ``S`` has recorded start year ``S``, is observed
  and not yet treated at ``S − 1``, and is observed at ``S + h``;
* a **non-starter** of cohort ``S`` is observed at ``S − 1`` and ``S + h``,
  is untreated in both years, and has no recorded start in ``S … S + h``;
* ``measure="growth"`` compares ``y[S+h] − y[S−1]`` (log points, or
  ``100·(Y[S+h]/Y[S−1] − 1)`` with ``scale="percent"``), the white paper's
  change from ``t − 1``; ``measure="level"`` compares ``log Y[S+h]``;
* a ``group`` (the white paper's size class for exports, sector for FDI) is
  read at ``S − 1`` for starters and non-starters alike;
* pooled over cohorts, the differences within each cohort are averaged with
  the starters' weights ``n_S / n`` — every starter counts once, and is
  compared with non-starters of its own year.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from kaigai_lib.data.schema import as_binary, as_numbers, as_years, check_frame, check_keys, is_number
from kaigai_lib.data.schema import require_columns as _require_columns
from kaigai_lib.data.starts import (
    ANALYSIS_COLUMNS,
    EXPORT_GROUPS,
    FDI_GROUPS,
    sector,
    size_class,
    unit_start_years,
)
from kaigai_lib.estimators.plots import ANALYSIS_LABELS, OUTCOME_LABELS, new_figure
from kaigai_lib.estimators.results import normal_inference, order_tidy, summary_block

MEASURES = ("growth", "level")
SCALES = ("log", "percent")


# --------------------------------------------------------------------------
# The naive comparison
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class NaiveDifference:
    """Mean outcome of starters minus that of non-starters (see the module docstring for the definitions).

    Attributes
    ----------
    difference : float
        the naive difference, starters' mean minus non-starters' mean.
    starters_mean, non_starters_mean : float
        the two means (the non-starters'
        weighted to the starters' cohorts when several cohorts are pooled).
    std_error : float
        standard error of ``difference`` (Welch within a cohort; pooled, it
        treats the cohorts' non-starter samples as independent although a
        firm can be a non-starter in several cohorts).
    n_starters, n_non_starters : int
        firms (firm-cohort pairs) behind the means.
    n_starters_unobserved : int
        starters of the cohorts (of any group, as the
        group is read at ``S − 1``) left out because they are not observed at
        ``S − 1`` or ``S + h``, or had already been treated at ``S − 1``.
    n_starters_without_comparison : int
        starters left out because their cohort
        has no non-starter to compare with.
    by_cohort : pd.DataFrame
        one row per cohort: counts, means, difference, its SE, weight.
    sample : pd.DataFrame
        one row per firm and cohort: ``starter``, ``group``, ``base``
        and ``end`` (log outcome at ``S − 1`` and ``S + h``) and ``value``.

    Examples
    --------
    The result of :func:`naive_difference`, with the two means behind the difference:

    >>> from kaigai_lib import generate, naive_difference
    >>> world = generate("tiny", seed=0)
    >>> naive = naive_difference(world.firms, outcome="sales", horizon=3)
    >>> round(naive.starters_mean, 3), round(naive.non_starters_mean, 3), round(naive.difference, 3)
    (-0.017, 0.0, -0.018)
    >>> naive.n_starters, naive.n_non_starters
    (337, 17111)
    >>> print(naive.describe())
    3-year growth of sales from t−1: export starters minus non-starters, cohorts 1996–2017 pooled, in log points;
    log of 'sales' taken (outcome_is_log=False)
    """

    outcome: str
    analysis: str
    group: str | None
    horizon: int
    measure: str
    scale: str
    cohorts: tuple[int, ...]
    difference: float
    starters_mean: float
    non_starters_mean: float
    std_error: float
    n_starters: int
    n_non_starters: int
    n_starters_unobserved: int
    n_starters_without_comparison: int
    by_cohort: pd.DataFrame = field(repr=False)
    sample: pd.DataFrame = field(repr=False)
    outcome_is_log: bool = False

    @property
    def unit(self) -> str:
        return "log points" if self.scale == "log" else "%"

    @property
    def transform(self) -> str:
        """What was done to the outcome column before comparing: its log taken, or used as a log already."""
        return (f"'{self.outcome}' taken as a log already (outcome_is_log=True)" if self.outcome_is_log
                else f"log of '{self.outcome}' taken (outcome_is_log=False)")

    def describe(self) -> str:
        """What was compared, in words."""
        what = (f"{self.horizon}-year growth of {self.outcome} from t−1" if self.measure == "growth"
                else f"log {self.outcome} at t+{self.horizon}")
        who = f"{self.analysis} starters" + (f" ({self.group})" if self.group else "")
        years = (f"cohort {self.cohorts[0]}" if len(self.cohorts) == 1
                 else f"cohorts {self.cohorts[0]}–{self.cohorts[-1]} pooled")
        return f"{what}: {who} minus non-starters, {years}, in {self.unit}; {self.transform}"

    def tidy(self) -> pd.DataFrame:
        """One row: the naive difference as ``estimate``, its s.e., p, 95 % interval and counts (``n_treated``
        starters, ``n_control`` non-starters), then the two means, the starters left out, the scale and
        ``comparison`` (:meth:`describe`)."""
        ci = {"ci_low": self.difference - 1.96 * self.std_error, "ci_high": self.difference + 1.96 * self.std_error}
        return order_tidy(pd.DataFrame([{
            "outcome": self.outcome, "group": self.group, "horizon": self.horizon,
            "estimate": self.difference, "std_error": self.std_error,
            "p_value": normal_inference(self.difference, self.std_error)["p_value"], **ci,
            "n_treated": self.n_starters, "n_control": self.n_non_starters,
            "n_obs": self.n_starters + self.n_non_starters,
            "starters": self.starters_mean, "non_starters": self.non_starters_mean,
            "n_starters_unobserved": self.n_starters_unobserved,
            "n_starters_without_comparison": self.n_starters_without_comparison,
            "scale": self.unit, "outcome_transform": self.transform, "comparison": self.describe(),
        }]))

    def summary(self) -> str:
        """What was compared, the two means, the difference with its interval, and who was left out."""
        lines = [f"starters: {self.starters_mean:.4f} ({self.n_starters:,}); non-starters: "
                 f"{self.non_starters_mean:.4f} ({self.n_non_starters:,})",
                 f"naive difference: {self.difference:+.4f} (s.e. {self.std_error:.4f}; 95 % CI "
                 f"[{self.difference - 1.96 * self.std_error:+.4f}, {self.difference + 1.96 * self.std_error:+.4f}])",
                 f"starters left out: {self.n_starters_unobserved:,} not observed at S − 1 or S + h, "
                 f"{self.n_starters_without_comparison:,} without a non-starter in their cohort"]
        return summary_block(f"Naive difference — {self.describe()}", lines=lines)

    def plot(self, ax: Axes | None = None, truth: float | pd.Series | None = None, *,
             truth_label: str = "truth") -> Axes:
        """The naive difference of each cohort with its 95 % interval, the pooled value, and optionally the truth.

        ``truth`` is one number (a constant true effect) or a Series indexed
        by cohort (e.g. ``Decomposition.by_cohort["att"]``).
        """
        table = self.by_cohort
        ax = ax if ax is not None else new_figure(figsize=(9, 3.8))[1][0, 0]
        ax.errorbar(table.index, table["difference"], yerr=1.96 * table["se"], fmt="o", ms=4, color="C0",
                    ecolor="0.6", capsize=2, label="naive difference, one cohort (±95 %)")
        ax.axhline(self.difference, color="C0", linestyle="--", linewidth=1.2,
                   label=f"naive difference, pooled: {self.difference:+.3f}")
        if truth is not None:
            if isinstance(truth, pd.Series):
                ax.plot(truth.index, truth.to_numpy(), color="C3", marker="_", ms=12, linestyle="none",
                        label=truth_label)
            else:
                ax.axhline(float(truth), color="C3", linewidth=2, label=f"{truth_label}: {float(truth):+.3f}")
        ax.axhline(0, color="0.4", linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        who = ANALYSIS_LABELS.get(self.analysis, self.analysis) + (f", {self.group}" if self.group else "")
        what = "growth from t−1" if self.measure == "growth" else "level"
        ax.set(title=f"{who}: {OUTCOME_LABELS.get(self.outcome, self.outcome).replace(chr(10), ' ')}, "
                     f"{what} at t+{self.horizon}",
               xlabel="start year (cohort)", ylabel=f"starters − non-starters ({self.unit})")
        ax.legend(loc="best", fontsize=8)
        return ax


def _cohorts(start_year: int | Iterable[int] | None, years: np.ndarray, horizon: int) -> list[int]:
    first, last = int(years.min()), int(years.max())
    possible = list(range(first + 1, last - horizon + 1))
    if start_year is None:
        if not possible:
            raise ValueError(f"The panel covers {first}–{last}: too short for a {horizon}-year horizon.")
        return possible
    wanted = [start_year] if is_number(start_year) else start_year
    if isinstance(wanted, (str, bytes)) or not hasattr(wanted, "__iter__"):
        raise ValueError(f"naive_difference: start_year={start_year!r} must be a year or a list of years, e.g. "
                         f"start_year={possible[len(possible) // 2] if possible else 2006}.")
    wanted = list(wanted)
    not_years = [s for s in wanted if not is_number(s) or not np.isfinite(s) or float(s) != int(s)]
    if not_years:
        raise ValueError(f"naive_difference: start_year holds {not_years[:5]}, which are not whole years; give "
                         "years as numbers, e.g. start_year=[2005, 2006].")
    wanted = [int(s) for s in wanted]
    bad = [s for s in wanted if s not in possible]
    if bad:
        raise ValueError(
            f"start_year {bad}: a cohort S needs data at S−1 and S+{horizon}; the panel covers {first}–{last}, "
            f"so S must lie in {first + 1}–{last - horizon}.")
    return sorted(int(s) for s in wanted)


def _group_labels(firms: pd.DataFrame, analysis: str, group_col: str | None, employees_col: str,
                  manufacturing_col: str) -> tuple[np.ndarray, tuple[str, ...] | None]:
    if group_col is not None:
        _require_columns(firms, [group_col], "firms")
        return firms[group_col].to_numpy(dtype=object), None
    if analysis == "export":
        _require_columns(firms, [employees_col], "firms")
        return size_class(firms[employees_col]), EXPORT_GROUPS
    _require_columns(firms, [manufacturing_col], "firms")
    return sector(firms[manufacturing_col]), FDI_GROUPS


def _starters_and_non_starters(panel: pd.DataFrame, cohorts: list[int], horizon: int,
                               group: str | None) -> tuple[pd.DataFrame, int]:
    """Every firm-cohort observed at S − 1 and S + h that is a starter or a non-starter (module docstring), with
    ``starter``; and the number of the cohorts' starters not seen in both years."""
    base = panel.loc[panel["year"].isin([s - 1 for s in cohorts])]
    end = panel.loc[panel["year"].isin([s + horizon for s in cohorts]), ["firm", "year", "treated", "y"]]
    end = end.assign(year=end["year"] - horizon - 1)
    pairs = base.merge(end, on=["firm", "year"], suffixes=("", "_end"), validate="one_to_one")
    pairs["cohort"] = pairs["year"] + 1
    starter = (pairs["start"] == pairs["cohort"]) & ~pairs["treated"]
    started_in_window = (pairs["start"] >= pairs["cohort"]) & (pairs["start"] <= pairs["cohort"] + horizon)
    non_starter = ~pairs["treated"] & ~pairs["treated_end"] & ~started_in_window
    in_group = pd.Series(True, index=pairs.index) if group is None else pairs["group"] == group
    chosen = pairs.loc[(starter | non_starter) & in_group].copy()
    chosen["starter"] = starter.loc[chosen.index]
    # starters of these cohorts (any group: the group is read at t−1) not seen both at t−1 and t+h
    all_starters = panel.loc[panel["start"].isin(cohorts), ["firm", "start"]].drop_duplicates()
    return chosen, len(all_starters) - int(starter.sum())


def _compared_values(chosen: pd.DataFrame, outcome: str, horizon: int, measure: str, scale: str,
                     outcome_is_log: bool) -> pd.Series:
    """What is compared, per firm-cohort: the log level at S + h, or the change from S − 1 (log or percent).

    Adds ``base`` and ``end`` (the log outcome at S − 1 and S + h) to ``chosen``.
    """
    if not outcome_is_log:
        bad = (chosen["y"] <= 0) | (chosen["y_end"] <= 0)
        if bad.any():
            rows = chosen.loc[bad, ["firm", "cohort"]].head(5).values.tolist()
            raise ValueError(
                f"{int(bad.sum())} firm-cohorts have {outcome} ≤ 0 at t−1 or t+{horizon} (firm, cohort: {rows}); "
                "logs need positive values: drop or correct them first, or pass outcome_is_log=True for a "
                "column that is already in logs.")
        chosen["base"] = np.log(chosen["y"])
        chosen["end"] = np.log(chosen["y_end"])
    else:
        chosen["base"] = chosen["y"]
        chosen["end"] = chosen["y_end"]
    missing = chosen["base"].isna() | chosen["end"].isna()
    if missing.any():
        rows = chosen.loc[missing, ["firm", "cohort"]].head(5).values.tolist()
        raise ValueError(f"{int(missing.sum())} firm-cohorts have no {outcome} at t−1 or t+{horizon} "
                         f"(firm, cohort: {rows}): fill or drop those firm-years first.")
    if measure == "level":
        return chosen["end"]
    if scale == "log":
        return chosen["end"] - chosen["base"]
    return 100 * np.expm1(chosen["end"] - chosen["base"])


def _by_cohort(chosen: pd.DataFrame, analysis: str, group: str | None, horizon: int,
               cohorts: list[int]) -> tuple[pd.DataFrame, int, pd.Series]:
    """Counts, means, difference, its Welch s.e. and the starters' weight per cohort with both groups; the
    starters without a comparison; the non-starters' variance per cohort."""
    stats = chosen.groupby(["cohort", "starter"])["value"].agg(["count", "mean", "var"]).unstack("starter")
    stats = stats.reindex(columns=pd.MultiIndex.from_product([["count", "mean", "var"], [True, False]]))
    n_s = stats[("count", True)].fillna(0).astype(int)
    n_ns = stats[("count", False)].fillna(0).astype(int)
    no_comparison = (n_s > 0) & (n_ns == 0)
    n_without = int(n_s[no_comparison].sum())
    keep = (n_s > 0) & (n_ns > 0)
    if not keep.any():
        who = f" of group {group!r}" if group is not None else ""
        raise ValueError(
            f"No {analysis} starters{who} with a comparison: none is observed at t−1 and t+{horizon} together with "
            f"non-starters of the same cohort (cohorts {cohorts[0]}–{cohorts[-1]}).")
    by_cohort = pd.DataFrame({
        "n_starters": n_s[keep],
        "n_non_starters": n_ns[keep],
        "starters": stats[("mean", True)][keep],
        "non_starters": stats[("mean", False)][keep],
    })
    by_cohort["difference"] = by_cohort["starters"] - by_cohort["non_starters"]
    var_s = stats[("var", True)][keep].fillna(0.0)
    var_ns = stats[("var", False)][keep].fillna(0.0)
    by_cohort["se"] = np.sqrt(var_s / by_cohort["n_starters"] + var_ns / by_cohort["n_non_starters"])
    by_cohort.loc[by_cohort["n_starters"] < 2, "se"] = np.nan  # one starter: no spread to estimate
    by_cohort["weight"] = by_cohort["n_starters"] / by_cohort["n_starters"].sum()
    by_cohort.index.name = "cohort"
    return by_cohort, n_without, var_ns


def naive_difference(firms: pd.DataFrame, *, outcome: str, analysis: str = "export", horizon: int = 5,
                     start_year: int | Iterable[int] | None = None, measure: str = "growth", scale: str = "log",
                     group: str | None = None, outcome_is_log: bool = False,
                     group_by: str | None = None) -> NaiveDifference:
    """The earlier analyses' comparison: starters' mean outcome minus non-starters', by group averages.

    Parameters
    ----------
    firms : pd.DataFrame
        a firm panel, one row per firm and year, with the schema's
        column names (real data are renamed to them once, with
        ``kaigai_lib.data.schema.validate(df, "firms", rename={...})``).
    outcome : str
        the outcome column (positive; its log is taken unless
        ``outcome_is_log``).
    analysis : str, optional
        "export" or "fdi": sets the default start-year and status
        columns (``export_start_year``/``exporter``, ``fdi_start_year``/``fdi``).
    horizon : int, optional
        years after the start, ``h`` (the comparison is at ``S + h``).
    start_year : int | Iterable[int] | None, optional
        one cohort (the earlier analyses' "one arbitrary year"), a
        list of cohorts, or None for every cohort the panel allows, pooled.
    measure : str, optional
        "growth" (change from ``S − 1``) or "level" (at ``S + h``).
    scale : str, optional
        "log" (log points) or "percent" (growth only).
    group : str | None, optional
        compare only firms of this group at ``S − 1``: by default a size
        class of ``employees`` for exports ("under 50", "50-99",
        "100-299", "300+") and the sector from ``manufacturing`` for FDI;
        with ``group_by``, the values of that column.

    Examples
    --------
    The naive comparison the earlier analyses made: growth of sales three years after the start of
    exporting, starters of the 50–99 size class against non-starters of the same class:

    >>> from kaigai_lib import generate, naive_difference
    >>> world = generate("tiny", seed=0)
    >>> naive = naive_difference(world.firms, outcome="sales", group="50-99", horizon=3)
    >>> naive.tidy()[["outcome", "group", "horizon", "estimate", "std_error", "n_treated", "n_control"]].round(3)
      outcome  group  horizon  estimate  std_error  n_treated  n_control
    0   sales  50-99        3     0.074      0.033         54       3575
    """
    if analysis not in ANALYSIS_COLUMNS:
        raise ValueError(f"analysis={analysis!r}: choose one of {sorted(ANALYSIS_COLUMNS)}.")
    if measure not in MEASURES:
        raise ValueError(f"measure={measure!r}: choose one of {list(MEASURES)}.")
    if scale not in SCALES:
        raise ValueError(f"scale={scale!r}: choose one of {list(SCALES)}.")
    if measure == "level" and scale == "percent":
        raise ValueError("scale='percent' needs measure='growth' (a percent change from t−1); levels are in logs.")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 0:
        raise ValueError(f"horizon={horizon!r}: must be a whole number of years ≥ 0.")
    start_year_col, status_col = ANALYSIS_COLUMNS[analysis]
    firm_col, year_col, employees_col, manufacturing_col = "firm_id", "year", "employees", "manufacturing"
    group_col = group_by
    check_frame(firms, "naive_difference", "firms")
    _require_columns(firms, [firm_col, year_col, start_year_col, status_col, outcome], "firms")
    check_keys(firms, [firm_col, year_col], "naive_difference", "firms")
    horizon = int(horizon)
    years = as_years(firms[year_col], year_col, "naive_difference")
    cohorts = _cohorts(start_year, years, horizon)

    labels, known_groups = _group_labels(firms, analysis, group_col, employees_col, manufacturing_col)
    if group is not None and known_groups is not None and group not in known_groups:
        raise ValueError(f"group={group!r}: the {analysis} groups are {list(known_groups)}.")

    panel = pd.DataFrame({
        "firm": firms[firm_col].to_numpy(),
        "year": years.astype(np.int64),
        "start": unit_start_years(firms[start_year_col], firms[firm_col].to_numpy(), start_year_col,
                                  "naive_difference"),
        "treated": as_binary(firms[status_col], status_col, "naive_difference"),
        "y": as_numbers(firms[outcome], outcome, "naive_difference"),
        "group": labels,
    })
    chosen, n_unobserved = _starters_and_non_starters(panel, cohorts, horizon, group)
    chosen["value"] = _compared_values(chosen, outcome, horizon, measure, scale, outcome_is_log)
    by_cohort, n_without, var_ns = _by_cohort(chosen, analysis, group, horizon, cohorts)

    sample = chosen.loc[chosen["cohort"].isin(by_cohort.index),
                        ["firm", "cohort", "starter", "group", "base", "end", "value"]]
    sample = sample.rename(columns={"firm": firm_col}).reset_index(drop=True)
    starters_values = sample.loc[sample["starter"]]
    w = by_cohort["weight"]
    starters_mean = float(starters_values["value"].mean())
    non_starters_mean = float((w * by_cohort["non_starters"]).sum())
    # SE: starters as one sample of their deviations from their cohort's non-starter mean, plus each
    # cohort's non-starter mean with weight w_S.
    deviation = starters_values["value"] - starters_values["cohort"].map(by_cohort["non_starters"])
    n_total = len(starters_values)
    var_starters = float(deviation.var()) / n_total if n_total > 1 else np.nan
    se = float(np.sqrt(var_starters + (w**2 * var_ns / by_cohort["n_non_starters"]).sum()))
    return NaiveDifference(
        outcome=outcome, analysis=analysis, group=group, horizon=horizon, measure=measure, scale=scale,
        cohorts=tuple(int(c) for c in by_cohort.index), difference=starters_mean - non_starters_mean,
        starters_mean=starters_mean, non_starters_mean=non_starters_mean, std_error=se,
        n_starters=n_total, n_non_starters=int(by_cohort["n_non_starters"].sum()),
        n_starters_unobserved=n_unobserved, n_starters_without_comparison=n_without,
        by_cohort=by_cohort, sample=sample, outcome_is_log=bool(outcome_is_log))
