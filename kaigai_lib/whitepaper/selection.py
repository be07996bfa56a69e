"""What the naive comparison of starters with non-starters is made of, in the synthetic world.

:func:`kaigai_lib.estimators.naive.naive_difference` makes the earlier analyses' comparison on any firm panel;
:func:`decompose` adds what only the synthetic world knows, the untreated
potential outcome ``y(0)`` of every starter, and splits the naive
difference exactly into

    naive difference = ATT + selection bias,

with ATT the average effect on the starters in the comparison and the
selection bias the difference the two groups would have shown without any
start, ``E[y(0) | starter] − E[y(0) | non-starter]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from kaigai_lib.data.starts import ANALYSIS_COLUMNS
from kaigai_lib.estimators.naive import NaiveDifference, naive_difference
from kaigai_lib.estimators.plots import ANALYSIS_LABELS, OUTCOME_LABELS, new_figure
from kaigai_lib.estimators.results import normal_inference, order_tidy, summary_block
from kaigai_lib.world.synthetic import EXPORT_GROUPS, FDI_GROUPS, OUTCOMES, World

# --------------------------------------------------------------------------
# Decomposition with the truth
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Decomposition:
    """``naive = att + selection_bias``, every term computed from the world's potential outcomes.

    Returned by :func:`decompose`.

    Parameters
    ----------
    analysis : str
        "export" or "fdi".
    outcome : str
        The outcome compared.
    group : str or None
        The starters' group at ``t − 1`` (None: every starter).
    horizon : int
        Years after the start.
    measure : str
        "growth" (change from ``S − 1``) or "level" (at ``S + h``).
    scale : str
        "log" (log points) or "percent".
    naive : float
        The naive difference (:class:`~kaigai_lib.estimators.naive.NaiveDifference`
        ``naive_result``; identical to ``naive_difference`` on ``world.firms``).
    att : float
        The starters' mean of (outcome with the start − outcome without it),
        on the same measure and scale, over the same starters.
    selection_bias : float
        ``E[y(0) | starter] − E[y(0) | non-starter]``: what the comparison
        would show if nobody's start had any effect.
    true_effect : float or None
        ``world.truth.effect`` for the group and horizon (log points; None
        when no group is given or the scale is percent). On the log scale
        every starter of a group has this effect, so ``att`` equals it.
    naive_result : NaiveDifference
        The naive comparison on the observed outcomes, with its sample.
    by_cohort : pandas.DataFrame
        Naive difference, ATT and selection bias of each cohort, with counts
        and the naive difference's standard error ``se``.

    See Also
    --------
    decompose : Make one.

    Examples
    --------
    >>> from kaigai_lib import decompose, generate
    >>> d = decompose(generate("tiny", seed=0), "export", "sales", "50-99", horizon=3)
    >>> round(d.naive, 3), round(d.att, 3), round(d.selection_bias, 3)
    (0.074, 0.1, -0.026)
    >>> d.n_starters, d.n_non_starters
    (54, 3575)
    >>> d.by_cohort[["n_starters", "naive", "att", "selection_bias"]].head(2).round(3)
            n_starters  naive  att  selection_bias
    cohort
    1996             3 -0.212  0.1          -0.312
    1997             3  0.184  0.1           0.084
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
        """Starters in the comparison."""
        return self.naive_result.n_starters

    @property
    def n_non_starters(self) -> int:
        """Non-starters in the comparison."""
        return self.naive_result.n_non_starters

    @property
    def std_error(self) -> float:
        """Standard error of the naive difference (and of the selection bias: the ATT is known exactly)."""
        return self.naive_result.std_error

    @property
    def unit(self) -> str:
        """The unit of the three terms (log points or percentage points)."""
        return self.naive_result.unit

    def tidy(self) -> pd.DataFrame:
        """The three terms, one row each (``term``), in the comparison's unit.

        Returns
        -------
        pandas.DataFrame
            ``term``, ``estimate``, ``std_error`` (the naive difference's;
            none for the ATT, known exactly), ``p_value``, the 95 % interval,
            ``outcome``, ``group``, ``horizon``, the counts and ``comparison``.

        Examples
        --------
        >>> from kaigai_lib import decompose, generate
        >>> d = decompose(generate("tiny", seed=0), "export", "sales", "50-99", horizon=3)
        >>> d.tidy()[["term", "estimate", "std_error"]].round(3)
                       term  estimate  std_error
        0  naive difference     0.074      0.033
        1        ATT (true)     0.100        NaN
        2    selection bias    -0.026      0.033
        """
        terms = {"naive difference": self.std_error, "ATT (true)": np.nan, "selection bias": self.std_error}
        values = [self.naive, self.att, self.selection_bias]
        table = pd.DataFrame({"term": list(terms), "estimate": values, "std_error": list(terms.values())})
        table = table.assign(**normal_inference(table["estimate"], table["std_error"]), outcome=self.outcome,
                             group=self.group, horizon=self.horizon, n_treated=self.n_starters,
                             n_control=self.n_non_starters, comparison=self.naive_result.describe())
        return order_tidy(table)

    def summary(self) -> str:
        """The comparison and its three terms, as text.

        Returns
        -------
        str
            A title naming the comparison, the counts and the three terms
            with their standard errors.
        """
        table = self.tidy().set_index("term")[["estimate", "std_error"]]
        return summary_block(f"naive = ATT + selection bias — {self.naive_result.describe()}", table,
                             lines=[f"{self.n_starters:,} starters, {self.n_non_starters:,} non-starters"])

    def plot(self, ax: Axes | None = None) -> Axes:
        """Three bars: the naive difference, and the ATT and selection bias that add up to it.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, optional
            The axes to draw on; None (default) makes a new figure.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
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

    Parameters
    ----------
    world : World
        A synthetic world (its latent effects give ``y(0)``).
    analysis : {"export", "fdi"}
        The kind of start.
    outcome : str
        One of employees, sales, capital_stock, tfp, compensation_per_employee.
    group : str or None, optional
        Compare only starters of this group at ``S − 1`` (size class for
        exports, sector for FDI) with non-starters of the same group; None
        (default) compares everyone.
    horizon : int, default 5
        Years after the start, ``h``.
    start_year : int or iterable of int or None, optional
        One cohort, a list of cohorts, or None (default) for every cohort the
        panel allows, pooled.
    measure : {"growth", "level"}, default "growth"
        Change from ``S − 1``, or level at ``S + h``.
    scale : {"log", "percent"}, default "log"
        Log points, or percent (growth only).

    Returns
    -------
    Decomposition
        The three terms, the naive comparison and the terms by cohort.

    Raises
    ------
    ValueError
        If ``analysis``, ``outcome`` or ``group`` is not one of the world's.

    See Also
    --------
    kaigai_lib.estimators.naive.naive_difference : The naive comparison on any firm panel.

    Examples
    --------
    >>> from kaigai_lib import decompose, generate
    >>> world = generate("tiny", seed=0)
    >>> d = decompose(world, "export", "sales", "50-99", horizon=3)
    >>> d.tidy()[["term", "estimate"]].round(3)
                   term  estimate
    0  naive difference     0.074
    1        ATT (true)     0.100
    2    selection bias    -0.026
    >>> round(d.naive - d.att - d.selection_bias, 12), round(d.true_effect, 6)
    (0.0, 0.1)
    >>> decompose(world, "export", "sales", "tiny")
    Traceback (most recent call last):
    ...
    ValueError: group='tiny': the export groups are ['under 50', '50-99', '100-299', '300+'].
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
