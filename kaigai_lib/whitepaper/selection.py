"""Naive comparisons of starters with non-starters, and what they are made of.

The analyses the white paper revisits (中小企業白書 2010 and 2012, 通商白書 2012)
took the firms that started exporting (or FDI) in one year, took the firms
that did not, and compared the two groups' averages a few years later.

* :func:`naive_difference` makes that comparison on any firm panel — a
  DataFrame plus column names — for one start year (cohort) or pooled over
  all cohorts.
* :func:`decompose` adds what only the synthetic world knows, the untreated
  potential outcome ``y(0)`` of every starter, and splits the naive
  difference exactly into

      naive difference = ATT + selection bias,

  with ATT the average effect on the starters in the comparison and the
  selection bias the difference the two groups would have shown without any
  start, ``E[y(0) | starter] − E[y(0) | non-starter]``.

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

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from kaigai_lib.data.schema import require_columns as _require_columns
from kaigai_lib.data.starts import ANALYSIS_COLUMNS, sector, size_class
from kaigai_lib.estimators.plots import ANALYSIS_LABELS, OUTCOME_LABELS, new_figure
from kaigai_lib.estimators.results import normal_inference, order_tidy, summary_block
from kaigai_lib.world.synthetic import EXPORT_GROUPS, FDI_GROUPS, OUTCOMES, World

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
    difference : the naive difference, starters' mean minus non-starters' mean.
    starters_mean, non_starters_mean : the two means (the non-starters'
        weighted to the starters' cohorts when several cohorts are pooled).
    std_error : standard error of ``difference`` (Welch within a cohort; pooled, it
        treats the cohorts' non-starter samples as independent although a
        firm can be a non-starter in several cohorts).
    n_starters, n_non_starters : firms (firm-cohort pairs) behind the means.
    n_starters_unobserved : starters of the cohorts (of any group, as the
        group is read at ``S − 1``) left out because they are not observed at
        ``S − 1`` or ``S + h``, or had already been treated at ``S − 1``.
    n_starters_without_comparison : starters left out because their cohort
        has no non-starter to compare with.
    by_cohort : one row per cohort: counts, means, difference, its SE, weight.
    sample : one row per firm and cohort: ``starter``, ``group``, ``base``
        and ``end`` (log outcome at ``S − 1`` and ``S + h``) and ``value``.
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
    wanted = [start_year] if isinstance(start_year, (int, np.integer)) else list(start_year)
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


def naive_difference(firms: pd.DataFrame, *, outcome: str, analysis: str = "export", horizon: int = 5,
                     start_year: int | Iterable[int] | None = None, measure: str = "growth", scale: str = "log",
                     group: str | None = None, outcome_is_log: bool = False,
                     group_by: str | None = None) -> NaiveDifference:
    """The earlier analyses' comparison: starters' mean outcome minus non-starters', by group averages.

    Parameters
    ----------
    firms : a firm panel, one row per firm and year, with the schema's
        column names (real data are renamed to them once, with
        ``kaigai_lib.data.schema.validate(df, "firms", rename={...})``).
    outcome : the outcome column (positive; its log is taken unless
        ``outcome_is_log``).
    analysis : "export" or "fdi": sets the default start-year and status
        columns (``export_start_year``/``exporter``, ``fdi_start_year``/``fdi``).
    horizon : years after the start, ``h`` (the comparison is at ``S + h``).
    start_year : one cohort (the earlier analyses' "one arbitrary year"), a
        list of cohorts, or None for every cohort the panel allows, pooled.
    measure : "growth" (change from ``S − 1``) or "level" (at ``S + h``).
    scale : "log" (log points) or "percent" (growth only).
    group : compare only firms of this group at ``S − 1``: by default a size
        class of ``employees`` for exports ("under 50", "50-99",
        "100-299", "300+") and the sector from ``manufacturing`` for FDI;
        with ``group_by``, the values of that column.
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
    _require_columns(firms, [firm_col, year_col, start_year_col, status_col, outcome], "firms")
    if firms.duplicated([firm_col, year_col]).any():
        dup = firms.loc[firms.duplicated([firm_col, year_col], keep=False), [firm_col, year_col]]
        raise ValueError(f"firms has duplicate ({firm_col}, {year_col}) keys, e.g. {dup.head(3).values.tolist()}: "
                         "keep one row per firm and year.")
    horizon = int(horizon)
    years = firms[year_col].to_numpy()
    cohorts = _cohorts(start_year, years, horizon)

    labels, known_groups = _group_labels(firms, analysis, group_col, employees_col, manufacturing_col)
    if group is not None and known_groups is not None and group not in known_groups:
        raise ValueError(f"group={group!r}: the {analysis} groups are {list(known_groups)}.")

    panel = pd.DataFrame({
        "firm": firms[firm_col].to_numpy(),
        "year": years.astype(np.int64),
        "start": pd.to_numeric(firms[start_year_col], errors="coerce").astype("Float64").to_numpy(
            dtype=float, na_value=np.nan),
        "treated": firms[status_col].fillna(False).astype(bool).to_numpy(),
        "y": firms[outcome].to_numpy(dtype=float),
        "group": labels,
    })
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
    n_unobserved = len(all_starters) - int(starter.sum())

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
        chosen["value"] = chosen["end"]
    elif scale == "log":
        chosen["value"] = chosen["end"] - chosen["base"]
    else:
        chosen["value"] = 100 * np.expm1(chosen["end"] - chosen["base"])

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


# --------------------------------------------------------------------------
# Decomposition with the truth
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Decomposition:
    """``naive = att + selection_bias``, every term computed from the world's potential outcomes.

    Attributes
    ----------
    naive : the naive difference (:class:`NaiveDifference` ``naive_result``;
        identical to ``naive_difference`` on ``world.firms``).
    att : the starters' mean of (outcome with the start − outcome without it),
        on the same measure and scale, over the same starters.
    selection_bias : ``E[y(0) | starter] − E[y(0) | non-starter]``: what the
        comparison would show if nobody's start had any effect.
    true_effect : ``world.truth.effect`` for the group and horizon (log
        points; None when no group is given or the scale is percent). On the
        log scale every starter of a group has this effect, so ``att`` equals it.
    by_cohort : naive, ATT and selection bias of each cohort, with counts.
    """

    analysis: str
    outcome: str
    group: str | None
    horizon: int
    measure: str
    scale: str
    naive: float
    att: float
    selection_bias: float
    true_effect: float | None
    naive_result: NaiveDifference = field(repr=False)
    by_cohort: pd.DataFrame = field(repr=False)

    @property
    def n_starters(self) -> int:
        return self.naive_result.n_starters

    @property
    def n_non_starters(self) -> int:
        return self.naive_result.n_non_starters

    @property
    def std_error(self) -> float:
        """Standard error of the naive difference (and of the selection bias: the ATT is known exactly)."""
        return self.naive_result.std_error

    @property
    def unit(self) -> str:
        return self.naive_result.unit

    def tidy(self) -> pd.DataFrame:
        """The three terms, one row each (``term``), in the comparison's unit: ``estimate``, ``std_error``
        (the naive difference's; none for the ATT, known exactly), the counts and ``comparison``."""
        terms = {"naive difference": self.std_error, "ATT (true)": np.nan, "selection bias": self.std_error}
        values = [self.naive, self.att, self.selection_bias]
        table = pd.DataFrame({"term": list(terms), "estimate": values, "std_error": list(terms.values())})
        table = table.assign(**normal_inference(table["estimate"], table["std_error"]), outcome=self.outcome,
                             group=self.group, horizon=self.horizon, n_treated=self.n_starters,
                             n_control=self.n_non_starters, comparison=self.naive_result.describe())
        return order_tidy(table)

    def summary(self) -> str:
        """The comparison and its three terms, as text."""
        table = self.tidy().set_index("term")[["estimate", "std_error"]]
        return summary_block(f"naive = ATT + selection bias — {self.naive_result.describe()}", table,
                             lines=[f"{self.n_starters:,} starters, {self.n_non_starters:,} non-starters"])

    def plot(self, ax: Axes | None = None) -> Axes:
        """Three bars: the naive difference, and the ATT and selection bias that add up to it."""
        ax = ax if ax is not None else new_figure(figsize=(6, 3.6))[1][0, 0]
        values = [self.naive, self.att, self.selection_bias]
        labels = ["naive difference\n(単純比較)", "ATT\n(処置効果)", "selection bias\n(セレクションバイアス)"]
        colours = ["C0", "C2", "C3"]
        bars = ax.bar(labels, values, color=colours, width=0.6)
        ax.bar_label(bars, fmt="%+.3f", padding=2)
        # the naive difference's 95 % interval, beside its bar so that it does not hide the label
        ax.errorbar([0.38], [self.naive], yerr=[1.96 * self.std_error], color="0.2", capsize=3, linewidth=1)
        ax.axhline(0, color="0.4", linewidth=0.8)
        low = min(0.0, *values, self.naive - 1.96 * self.std_error)
        high = max(0.0, *values, self.naive + 1.96 * self.std_error)
        pad = 0.15 * (high - low or 1.0)
        ax.set_ylim(low - pad, high + pad)
        ax.set(ylabel=self.unit, title=f"naive = ATT + selection bias (n = {self.n_starters:,} starters)")
        return ax


def observed_log_outcome(world: World, outcome: str) -> pd.Series:
    """The log outcome an analyst computes from ``world.firms`` (TFP: the true ω from ``world.latent``)."""
    firms = world.firms
    if outcome == "tfp":
        return world.latent["tfp_true"].astype(float)
    if outcome == "compensation_per_employee":
        return np.log(firms["compensation"] / firms["employees"])
    return np.log(firms[outcome].astype(float))


def _check_world_args(analysis: str, outcome: str, group: str | None) -> None:
    if analysis not in ANALYSIS_COLUMNS:
        raise ValueError(f"analysis={analysis!r}: choose one of {sorted(ANALYSIS_COLUMNS)}.")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome={outcome!r}: choose one of {list(OUTCOMES)}.")
    groups = EXPORT_GROUPS if analysis == "export" else FDI_GROUPS
    if group is not None and group not in groups:
        raise ValueError(f"group={group!r}: the {analysis} groups are {list(groups)}.")


def _world_panel(world: World, analysis: str, outcome: str) -> pd.DataFrame:
    firms, latent = world.firms, world.latent
    # latent has the same rows as firms, in the same order
    if not (firms["firm_id"].to_numpy() == latent["firm_id"].to_numpy()).all():
        raise RuntimeError("world.latent and world.firms are not aligned row by row.")
    log_y = observed_log_outcome(world, outcome).to_numpy()
    effect = latent[f"{outcome}_{analysis}_effect"].to_numpy()
    start_col, status_col = ANALYSIS_COLUMNS[analysis]
    return pd.DataFrame({
        "firm_id": firms["firm_id"], "year": firms["year"],
        start_col: firms[start_col], status_col: firms[status_col],
        "employees": firms["employees"], "manufacturing": firms["manufacturing"],
        "log_y": log_y, "log_y0": log_y - effect, "effect": effect,
    })


def decompose(world: World, analysis: str, outcome: str, group: str | None = None, horizon: int = 5,
              start_year: int | Iterable[int] | None = None, *, measure: str = "growth",
              scale: str = "log") -> Decomposition:
    """Split the naive starter/non-starter difference into ATT + selection bias, from the potential outcomes.

    The same comparison as ``naive_difference(world.firms, outcome=…,
    analysis=…, group=…, horizon=…, start_year=…)`` (for TFP: the true ω
    from ``world.latent``), computed twice: on the observed outcomes (the
    naive difference) and on the untreated potential outcomes ``y(0) =
    observed − effect`` (the selection bias). Non-starters have not started
    by ``S + h``, so their observed outcome is their ``y(0)``.
    """
    _check_world_args(analysis, outcome, group)
    panel = _world_panel(world, analysis, outcome)
    common = dict(analysis=analysis, horizon=horizon, start_year=start_year, measure=measure, scale=scale,
                  group=group, outcome_is_log=True)
    # the panel's columns are named log_y / log_y0; the results are about ``outcome``
    naive = dataclasses.replace(naive_difference(panel, outcome="log_y", **common), outcome=outcome)
    untreated = dataclasses.replace(naive_difference(panel, outcome="log_y0", **common), outcome=outcome)
    same_rows = (naive.sample[["firm_id", "cohort", "starter"]]
                 .equals(untreated.sample[["firm_id", "cohort", "starter"]]))
    non_starters = naive.sample.loc[~naive.sample["starter"]]
    if not same_rows or not np.array_equal(non_starters["value"], untreated.sample.loc[~untreated.sample["starter"],
                                                                                       "value"]):
        raise RuntimeError("Internal error: non-starters' observed and untreated outcomes differ.")
    effect_on_starters = (naive.sample.loc[naive.sample["starter"], "value"].to_numpy()
                          - untreated.sample.loc[untreated.sample["starter"], "value"].to_numpy())
    att = float(effect_on_starters.mean())
    naive_value = naive.difference
    bias = untreated.difference

    by_cohort = pd.DataFrame({
        "n_starters": naive.by_cohort["n_starters"],
        "n_non_starters": naive.by_cohort["n_non_starters"],
        "naive": naive.by_cohort["difference"],
        "att": naive.by_cohort["starters"] - untreated.by_cohort["starters"],
        "selection_bias": untreated.by_cohort["difference"],
        "se": naive.by_cohort["se"],
    })
    true_effect = None
    if group is not None and scale == "log":
        true_effect = world.truth.effect(analysis, outcome, group, horizon)
    return Decomposition(analysis=analysis, outcome=outcome, group=group, horizon=int(horizon), measure=measure,
                         scale=scale, naive=naive_value, att=att, selection_bias=bias, true_effect=true_effect,
                         naive_result=naive, by_cohort=by_cohort)


def decomposition_table(world: World, analysis: str, outcomes: Iterable[str] = OUTCOMES, group: str | None = None,
                        horizon: int = 5, start_year: int | Iterable[int] | None = None, *,
                        measure: str = "growth", scale: str = "log") -> pd.DataFrame:
    """:func:`decompose` for several outcomes: one row each with naive, ATT, selection bias, SE and counts."""
    rows = {}
    for outcome in outcomes:
        d = decompose(world, analysis, outcome, group, horizon, start_year, measure=measure, scale=scale)
        rows[outcome] = {"naive": d.naive, "att": d.att, "selection_bias": d.selection_bias, "se": d.std_error,
                         "n_starters": d.n_starters, "n_non_starters": d.n_non_starters}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "outcome"
    return table


# --------------------------------------------------------------------------
# Group averages over event time
# --------------------------------------------------------------------------

def group_average_paths(world: World, analysis: str, outcome: str, start_year: int, group: str | None = None,
                        horizon: int = 5, pre_years: int = 3) -> pd.DataFrame:
    """Mean log outcome by event time for one cohort: starters, the same starters without the start, non-starters.

    The firms are those of the naive comparison of ``start_year`` (observed
    at ``S − 1`` and ``S + horizon``); each event time averages the firms
    observed in that year. ``starters_without_start`` is the mean of ``y(0)``
    — what the earlier analyses could not see.
    """
    _check_world_args(analysis, outcome, group)
    d = decompose(world, analysis, outcome, group, horizon, start_year=start_year)
    firms_in = d.naive_result.sample[["firm_id", "starter"]]
    panel = _world_panel(world, analysis, outcome)
    years = range(start_year - 1 - pre_years, start_year + horizon + 1)
    panel = panel.loc[panel["year"].isin(years)].merge(firms_in, on="firm_id", validate="many_to_one")
    panel["event_time"] = panel["year"] - start_year
    starters = panel.loc[panel["starter"]].groupby("event_time")
    others = panel.loc[~panel["starter"]].groupby("event_time")
    table = pd.DataFrame({
        "year": starters["year"].first(),
        "starters": starters["log_y"].mean(),
        "starters_without_start": starters["log_y0"].mean(),
        "non_starters": others["log_y"].mean(),
        "n_starters": starters["log_y"].count(),
        "n_non_starters": others["log_y"].count(),
    })
    table.attrs.update(analysis=analysis, outcome=outcome, group=group, start_year=start_year)
    return table


def plot_group_average_paths(*tables: pd.DataFrame) -> Figure:
    """One panel per table from :func:`group_average_paths`: the three mean paths over event time."""
    fig, axes = new_figure(1, len(tables), figsize=(5.2 * len(tables), 3.8))
    for ax, table in zip(axes[0], tables, strict=True):
        t = table.index
        ax.plot(t, table["starters"], marker="o", ms=4, color="C0", label="starters (開始企業)")
        ax.plot(t, table["starters_without_start"], marker="o", ms=4, color="C0", linestyle=":", mfc="white",
                label="starters without the start, y(0) (unseen)")
        ax.plot(t, table["non_starters"], marker="s", ms=4, color="0.45", label="non-starters (非開始企業)")
        ax.axvline(-0.5, color="0.6", linewidth=0.8)
        a = table.attrs
        who = ANALYSIS_LABELS.get(a.get("analysis"), "") + (f", {a['group']}" if a.get("group") else "")
        ax.set_title(f"{who}, cohort {a.get('start_year')}", fontsize=10)
        outcome_label = OUTCOME_LABELS.get(a.get("outcome"), a.get("outcome", "")).replace("\n", " ")
        ax.set(xlabel="years since start (t = 0: start year)", ylabel=f"mean log {outcome_label}")
    axes[0, 0].legend(loc="best", fontsize=8)
    return fig
