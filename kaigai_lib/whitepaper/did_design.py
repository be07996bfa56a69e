"""The white paper's matched difference-in-differences (通商白書2023 II-2-4), every step kept.

:func:`white_paper_did` runs the white paper's whole design for one analysis
("export" or "fdi") from a :class:`~kaigai_lib.world.synthetic.World` or a firm
panel: the matching sample (:func:`kaigai_lib.whitepaper.samples.matching_sample`, LP
TFP), 1:1 matching within start year × industry, the event-time changes
(:func:`kaigai_lib.estimators.did.event_changes`), the regressions
(:func:`kaigai_lib.estimators.did.matched_did`) with the white paper's controls and groups and — given a
world — the true effect of the very starters in each regression.
:class:`WhitePaperDid` holds every step, compares estimates with the truth
(:meth:`WhitePaperDid.compare`), tabulates the bars of Figure II-2-4-1
(:meth:`WhitePaperDid.growth`, drawn by
:func:`kaigai_lib.estimators.plots.plot_growth_bars`) and draws the event study.
:func:`design_comparison` sets matching alone (levels), DiD alone (all
non-starters) and matching + DiD side by side.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from kaigai_lib.data.schema import as_binary, as_years, check_frame
from kaigai_lib.estimators.did import (
    SCALE_UNITS,
    SCALES,
    DidResult,
    EventChanges,
    _subset,
    as_horizons,
    as_outcomes,
    event_changes,
    matched_did,
)
from kaigai_lib.estimators.results import normal_inference, order_tidy, summary_block

# The white paper's groups: exports by size class at t − 1 (its survey covers firms with 50+ employees, so the
# synthetic world's "under 50" class is left out by default), FDI by sector.
WHITE_PAPER_GROUPS = {"export": ("50-99", "100-299", "300+"), "fdi": ("manufacturing", "non-manufacturing")}
# Horizons: t+1 … t+5 for exports, t+1 … t+10 for FDI; placebo years t−3, t−2 (relative to t−1).
WHITE_PAPER_HORIZONS = {"export": tuple(range(1, 6)), "fdi": tuple(range(1, 11))}
PLACEBO_HORIZONS = (-3, -2)
# Controls (absorbed fixed effects): start year (cohort), industry and — for exports — the size class at t−1.
# What a control that starts itself within the horizon contributes (white_paper_did's later_starts).
LATER_STARTS = {"keep": "keep their own effect (the white paper's)",
                "adjust": "their own estimated effect subtracted (Cellini et al. 2010)"}
WHITE_PAPER_CONTROLS = {"export": ("cohort", "industry", "size"), "fdi": ("cohort", "industry")}



# --------------------------------------------------------------------------- the truth

def true_effects(changes: EventChanges, world: Any, analysis: str, *, group: str | None = "group") -> pd.DataFrame:
    """Each starter's true effect in ``changes``, and their mean per outcome × group × horizon.

    For a starter of ``analysis`` observed at ``t − 1`` and ``t + h``,
    ``world.latent`` gives the effect on its log outcome, ``τ_i`` (the
    effect at ``t + h`` minus that at ``t − 1``, which is zero for a
    starter). On the white paper's percent scale the true effect of that
    firm is the change it had minus the change it would have had without the
    start: ``100·(e^{Δ_i} − 1) − 100·(e^{Δ_i − τ_i} − 1)``, with ``Δ_i`` the
    observed log change (``change_log``). Averaged over the starters in a
    regression cell, that is the realised ATT the percent-change DiD
    estimates; ``true_log`` (the mean of ``τ_i``) is the log-point ATT.
    Outcomes other than the world's five (e.g. a renamed TFP column) need
    their latent effect columns.

    Parameters
    ----------
    changes : EventChanges
        Event-time changes of starters (and controls) from the world's firms,
        e.g. ``white_paper_did(...).changes``.
    world : World
        The world the changes come from.
    analysis : {"export", "fdi"}
        Which start's effect.
    group : str or None, default "group"
        The column to average within; None (or a column not in the changes)
        averages over every starter, reported as group "all".

    Returns
    -------
    pandas.DataFrame
        One row per outcome × group × horizon: ``true_log``, ``true_pct``, ``n_starters``.

    Raises
    ------
    ValueError
        If ``analysis`` is not "export" or "fdi", an outcome has no latent
        effect, or a row's firm and years are not in the world.

    See Also
    --------
    bias_decomposition : Why the estimate differs from this truth.

    Examples
    --------
    >>> from kaigai_lib import generate, true_effects, white_paper_did
    >>> world = generate("tiny", seed=0)
    >>> wp = white_paper_did(world, "export", outcomes=["sales"], horizons=[2], pre_horizons=[-2])
    >>> true_effects(wp.changes, world, "export").round(3)
      outcome    group  horizon  true_log  true_pct  n_starters
    0   sales  100-299       -2     0.000     0.000         158
    1   sales  100-299        2     0.025     2.556         146
    2   sales     300+       -2     0.000     0.000          67
    3   sales     300+        2     0.010     0.964          58
    4   sales    50-99       -2     0.000     0.000          44
    5   sales    50-99        2     0.075     8.074          40
    """
    rows = starter_truth(changes, world, analysis)
    keys = ["outcome", *([group] if group in rows.columns else []), "horizon"]
    out = rows.groupby(keys, observed=True).agg(true_log=("true_log", "mean"), true_pct=("true_pct", "mean"),
                                                n_starters=("true_log", "size")).reset_index()
    if group not in out.columns:
        out.insert(1, "group", "all")
    return out.rename(columns={group: "group"})


def _own_true_effects(rows: pd.DataFrame, unit: str, world: Any, analysis: str) -> pd.Series:
    """Each row's own true effect of ``analysis`` on its log outcome from ``t − 1`` to ``t + h`` (``world.latent``)."""
    from kaigai_lib.world.synthetic import OUTCOMES

    if analysis not in ("export", "fdi"):
        raise ValueError(f"analysis={analysis!r}: choose 'export' or 'fdi'.")
    unknown = sorted(set(rows["outcome"]) - set(OUTCOMES))
    if unknown:
        raise ValueError(f"true_effects: no true effect for outcome(s) {unknown}; the world has {list(OUTCOMES)}.")
    latent = world.latent.set_index(["firm_id", "year"])
    tau = pd.Series(np.nan, index=rows.index)
    for outcome, part in rows.groupby("outcome", sort=False):
        effect = latent[f"{outcome}_{analysis}_effect"]
        ids, cohort = part[unit].to_numpy(), part["cohort"].to_numpy()
        at_h = effect.reindex(pd.MultiIndex.from_arrays([ids, cohort + part["horizon"].to_numpy()]))
        at_base = effect.reindex(pd.MultiIndex.from_arrays([ids, cohort - 1]))
        tau[part.index] = at_h.to_numpy() - at_base.to_numpy()
    if tau.isna().any():
        raise ValueError(f"true_effects: {int(tau.isna().sum())} rows have no latent effect: are these changes "
                         "from this world (firm ids and years)?")
    return tau


def starter_truth(changes: EventChanges, world: Any, analysis: str) -> pd.DataFrame:
    """The starter rows of ``changes`` with their true effects ``true_log`` and ``true_pct`` (:func:`true_effects`)."""
    starters = changes.table.loc[changes.table["treated"] == 1]
    tau = _own_true_effects(starters, changes.unit, world, analysis).to_numpy()
    change = starters["change_log"].to_numpy()
    return starters.assign(true_log=tau, true_pct=100 * (np.expm1(change) - np.expm1(change - tau)))


def bias_decomposition(changes: EventChanges, world: Any, analysis: str) -> pd.DataFrame:
    """Split the matched DiD's error into selection and the controls' own effects, per outcome × group × horizon.

    Clear every unit's change of its own true effect of ``analysis``
    (``world.latent``; starters and controls alike): what is left is the
    change it would have had without starting. On the percent scale, for
    complete 1:1 pairs within cohort (the regression's estimate is then the
    mean pair difference), the estimate minus :func:`true_effects`' truth is
    exactly ``selection − controls_pull``:

    * ``selection``: the starters' minus their controls' mean untreated
      change — who starts differs in ways matching did not balance (the
      truth is not at fault: it drops out);
    * ``controls_pull``: the controls' mean own effect (later starters).

    Part of the selection may come from the *other* start (FDI in an export
    analysis, exporting in an FDI one) after ``t``: the firm effect that
    makes a firm start one also makes it start the other, and the truth is
    the effect of ``analysis`` alone. ``other_start`` is that part: the
    starters' minus their controls' mean effect of the other start on the
    change (percentage points; ``selection − other_start`` is the selection
    on the changes cleared of both effects). ``white_paper_did(other_start=…)``
    subtracts an estimate of it (:func:`clear_other_start`).

    Parameters
    ----------
    changes : EventChanges
        The matched pairs' changes, e.g. ``white_paper_did(...).changes``.
    world : World
        The world the changes come from.
    analysis : {"export", "fdi"}
        Which start's effect is cleared.

    Returns
    -------
    pandas.DataFrame
        One row per outcome × group × horizon: ``pairs``, ``selection``,
        its ``selection_se`` (over pairs) and ``selection_z``,
        ``controls_pull``, ``other_start``, in percentage points, and
        ``selection_log`` (log points ×100).

    Raises
    ------
    ValueError
        As :func:`true_effects`.

    Examples
    --------
    The error of each estimate (``bias``) is the selection minus the controls' pull:

    >>> from kaigai_lib import bias_decomposition, generate, white_paper_did
    >>> world = generate("tiny", seed=0)
    >>> wp = white_paper_did(world, "export", outcomes=["sales"], horizons=[2], pre_horizons=[])
    >>> parts = bias_decomposition(wp.changes, world, "export")
    >>> parts[["group", "pairs", "selection", "selection_se", "controls_pull"]].round(2)
         group  pairs  selection  selection_se  controls_pull
    0  100-299    146       0.76          2.62           0.05
    1     300+     58      -2.18          4.22           0.05
    2    50-99     40      -2.38          5.84           0.00
    >>> wp.tidy()[["group", "estimate", "truth", "bias"]].round(2)
         group  estimate  truth  bias
    0  100-299      3.27   2.56  0.71
    1     300+     -1.27   0.96 -2.23
    2    50-99      5.69   8.07 -2.38
    """
    table = changes.table
    tau = _own_true_effects(table, changes.unit, world, analysis)
    other = _own_true_effects(table, changes.unit, world, "fdi" if analysis == "export" else "export")
    untreated = table["change_log"] - tau
    rows = table.assign(untreated_pct=100 * np.expm1(untreated), untreated_log=100 * untreated,
                        own_pct=100 * (np.expm1(table["change_log"]) - np.expm1(untreated)),
                        other_pct=100 * (np.expm1(untreated) - np.expm1(untreated - other)))
    keys = ["outcome", "group", "horizon"]
    columns = ["untreated_pct", "untreated_log", "own_pct", "other_pct"]
    wide = rows.groupby([*keys, "pair", "treated"], observed=True)[columns].mean().unstack("treated").dropna()
    pairs = pd.DataFrame({"selection": wide[("untreated_pct", 1)] - wide[("untreated_pct", 0)],
                          "selection_log": wide[("untreated_log", 1)] - wide[("untreated_log", 0)],
                          "controls_pull": wide[("own_pct", 0)],
                          "other_start": wide[("other_pct", 1)] - wide[("other_pct", 0)]})
    out = pairs.groupby(level=keys, observed=True).agg(
        pairs=("selection", "size"), selection=("selection", "mean"), selection_se=("selection", "sem"),
        selection_log=("selection_log", "mean"), controls_pull=("controls_pull", "mean"),
        other_start=("other_start", "mean"))
    return out.assign(selection_z=out["selection"] / out["selection_se"]).reset_index()


# --------------------------------------------------------------------------- the white paper's design

FIGURE_OUTCOMES = ("sales", "employees", "capital_stock", "tfp")  # Figure II-2-4-1's order


@dataclass
class WhitePaperDid:
    """The white paper's matched DiD for one analysis, every step kept.

    Returned by :func:`white_paper_did`.

    Parameters
    ----------
    analysis : str
        "export" or "fdi".
    sample : MatchingSample
        Firms at risk at ``t − 1`` (:func:`~kaigai_lib.whitepaper.samples.matching_sample`).
    match : MatchResult
        The match (1:1 within start year × industry).
    changes : EventChanges
        The changes of the matched pairs in the kept groups; ``group`` is the
        starter's group (size class at ``t − 1`` or sector), which its control shares.
    result : DidResult
        One regression per outcome × group × horizon.
    panel : pandas.DataFrame
        The outcome panel (levels; TFP in logs) the changes were read from.
    groups : tuple of str
        The groups kept.
    dropped : pandas.DataFrame
        Matched pairs left out because their starter's group is not kept (e.g. "under 50").
    controls : list of str
        The regressions' absorbed controls (start year, industry and, for exports, size class).
    truth : pandas.DataFrame or None, optional
        With a world, the true effects of the starters in each cell (:func:`true_effects`).
    world : World or None, optional
        The world the estimates can be checked against.
    lost : pandas.DataFrame, optional
        Per outcome × group × horizon, the matched pairs (``pairs_matched``),
        those with every member observed at ``t − 1`` and ``t + h``
        (``pairs_used``) and the difference (``pairs_lost``): late cohorts
        cannot reach long horizons, and firms leave the panel.
    design : str, default "white_paper"
        The matching specification (a key of ``samples.MATCHING_DESIGNS``: "white_paper", "robust",
        "robust_no_investment" or "robust_no_intermediates").
    control_pool : str, default "all"
        Who may be a control: "all" non-starters (the white paper's) or
        "clean" ones, which do not start within ``t + 1 … t + clean_window``.
    clean_window : int or None, optional
        The event window of clean controls (None with the "all" pool).
    later_starts : str, default "keep"
        "keep" or "adjust" (controls' own later effects subtracted; :func:`white_paper_did`).
    effect_path : pandas.DataFrame or None, optional
        With ``later_starts="adjust"``: the recursion's estimated effects at
        every event year ``0 … H`` (``outcome, group, event_year,
        effect_log, pairs``; log points), what ``other_start`` subtracts.
    other_start : str or None, optional
        The analysis whose effects were cleared from the changes (``other_start`` of :func:`white_paper_did`).
    panel_fingerprint : dict of str to int
        A hash of each firm-panel column the analysis read (keys, statuses, groups, outcomes), rows in key
        order: an ``other_start`` estimated on a panel whose hashes differ is refused.

    See Also
    --------
    white_paper_did : Make one.

    Examples
    --------
    >>> from kaigai_lib import generate, white_paper_did
    >>> wp = white_paper_did(generate("tiny", seed=0), "export", outcomes=["sales"], horizons=[2],
    ...                      pre_horizons=[-2])
    >>> wp.groups, wp.controls, wp.scale
    (('50-99', '100-299', '300+'), ['cohort', 'industry', 'size'], 'percent')
    >>> wp.counts().loc[["starters at risk", "matched pairs", "pairs dropped (group not kept)"]]
                                   value
    count
    starters at risk                 342
    matched pairs                    302
    pairs dropped (group not kept)     5
    >>> wp.dropped
          group  pairs
    0  under 50      5
    """

    analysis: str
    sample: Any
    match: Any
    changes: EventChanges
    result: DidResult
    panel: pd.DataFrame
    groups: tuple[str, ...]
    dropped: pd.DataFrame
    controls: list[str]
    truth: pd.DataFrame | None = None
    world: Any = None
    lost: pd.DataFrame = field(default_factory=pd.DataFrame)
    design: str = "white_paper"
    control_pool: str = "all"
    clean_window: int | None = None
    later_starts: str = "keep"
    effect_path: pd.DataFrame | None = None
    other_start: str | None = None
    panel_fingerprint: dict[str, int] = field(default_factory=dict)

    @property
    def scale(self) -> str:
        """The estimates' scale: "percent" or "log"."""
        return self.result.scale

    def tidy(self) -> pd.DataFrame:
        """The estimates (:meth:`DidResult.tidy`), with ``truth`` (same scale), ``bias`` and ``covered`` given a world.

        Returns
        -------
        pandas.DataFrame
            One row per outcome × group × horizon (placebo horizons
            included): ``estimate``, ``std_error``, ``p_value``, the 95 %
            interval, the counts and, given a world, ``truth``, ``bias`` and
            ``covered`` (the truth inside the interval).

        Examples
        --------
        >>> from kaigai_lib import generate, white_paper_did
        >>> wp = white_paper_did(generate("tiny", seed=0), "export", outcomes=["sales"], horizons=[2],
        ...                      pre_horizons=[-2])
        >>> wp.tidy()[["outcome", "group", "horizon", "estimate", "std_error", "truth", "covered"]].round(2)
          outcome    group  horizon  estimate  std_error  truth  covered
        0   sales  100-299       -2      0.16       1.54   0.00     True
        1   sales     300+       -2      2.33       2.69   0.00     True
        2   sales    50-99       -2      0.64       3.14   0.00     True
        3   sales  100-299        2      3.27       2.63   2.56     True
        4   sales     300+        2     -1.27       4.23   0.96     True
        5   sales    50-99        2      5.69       6.00   8.07     True
        """
        table = self.result.tidy()
        if self.truth is None:
            return table
        column = "true_pct" if self.scale == "percent" else "true_log"
        truth = self.truth[["outcome", "group", "horizon", column]].rename(columns={column: "truth"})
        out = table.merge(truth, on=["outcome", "group", "horizon"], how="left", validate="one_to_one")
        out["bias"] = out["estimate"] - out["truth"]
        out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
        return order_tidy(out)

    def compare(self, horizon: int = 5, outcomes: Sequence[str] | None = None) -> pd.DataFrame:
        """Estimate next to the truth at one horizon, a row per outcome × group (needs a world).

        Parameters
        ----------
        horizon : int, default 5
            One of the horizons estimated.
        outcomes : sequence of str or None, optional
            Only these outcomes; None (default) keeps every one.

        Returns
        -------
        pandas.DataFrame
            The rows of :meth:`tidy` at ``horizon``, with ``analysis``.

        Raises
        ------
        ValueError
            If there is no truth (not run on a World) or ``horizon`` was not estimated.
        """
        if self.truth is None:
            raise ValueError("compare(): no truth: run white_paper_did on a World (or pass world=…).")
        table = self.tidy().loc[lambda t: t["horizon"] == horizon]
        if table.empty:
            raise ValueError(f"compare(): horizon {horizon} was not estimated; horizons are "
                             f"{sorted(self.result.table['horizon'].unique())}.")
        if outcomes is not None:
            table = table.loc[table["outcome"].isin(outcomes)]
        return table.assign(analysis=self.analysis).reset_index(drop=True)

    def growth(self, horizon: int = 5, outcomes: Sequence[str] = FIGURE_OUTCOMES) -> pd.DataFrame:
        """The bars of Figure II-2-4-1: average growth of starters and of matched non-starters, per group × outcome.

        Columns: ``analysis``, ``group``, ``outcome``, ``starters``,
        ``non_starters`` (means of the change from ``t − 1`` to ``t + h``, on
        the result's scale), ``estimate``, ``p_value``, ``significant``
        (p < 0.05) and, given a world, ``truth`` and ``counterfactual``: the
        starters' average growth without the start (their mean minus the true
        effect), which the non-starters' bar should reach.

        Parameters
        ----------
        horizon : int, default 5
            One of the horizons estimated.
        outcomes : sequence of str
            The outcomes, in the figure's order (default sales, employees, capital stock, TFP).

        Returns
        -------
        pandas.DataFrame
            One row per group × outcome.

        Raises
        ------
        ValueError
            If there are no changes at ``horizon`` for these outcomes.
        """
        means = self.changes.means(by="group", scale=self.scale)
        means = means.loc[(means["horizon"] == horizon) & means["outcome"].isin(outcomes)]
        if means.empty:
            raise ValueError(f"growth(): no changes at horizon {horizon} for outcomes {list(outcomes)}.")
        estimates = self.tidy().loc[lambda t: t["horizon"] == horizon]
        out = means.rename(columns={"matched non-starters": "non_starters"}).merge(
            estimates, on=["outcome", "group", "horizon"], how="left", validate="one_to_one")
        out["significant"] = out["p_value"] < 0.05
        if "truth" in out.columns:
            starters = self.changes.table.loc[(self.changes.table["treated"] == 1)
                                              & (self.changes.table["horizon"] == horizon)]
            rows = starter_truth(_subset(self.changes, starters), self.world, self.analysis)
            value = "true_pct" if self.scale == "percent" else "true_log"
            column = SCALES[self.scale]
            counterfactual = (rows.assign(cf=rows[column] - rows[value])
                              .groupby(["outcome", "group"], observed=True)["cf"].mean().rename("counterfactual"))
            out = out.merge(counterfactual.reset_index(), on=["outcome", "group"], how="left")
        order = {o: k for k, o in enumerate(outcomes)}
        group_order = {g: k for k, g in enumerate(self.groups)}
        out = out.sort_values(["group", "outcome"], key=lambda s: s.map(group_order if s.name == "group" else order))
        columns = ["group", "outcome", "starters", "non_starters", "estimate", "std_error", "p_value", "significant",
                   *[c for c in ("truth", "counterfactual", "covered") if c in out.columns], "n_treated", "n_control"]
        return out[columns].assign(analysis=self.analysis, horizon=horizon).reset_index(drop=True)

    def later_starters(self, horizon: int = 5) -> pd.DataFrame:
        """Matched non-starters that start themselves within ``t + 1 … t + h``, by group.

        They stay controls, as in a match made in year ``t``, so their own
        effect enters the control group's change and pulls the DiD towards
        zero, unless ``later_starts="adjust"`` subtracts it (clean controls
        leave them out). ``share`` is their share of the controls at ``t + h``;
        ``in_another_group`` counts those whose own start falls in another
        group than their pair's (another size class or sector by then: the
        adjustment subtracts that group's effect); with a world, ``effect_<outcome>`` is the average true effect (log
        points) the controls carry at ``t + h`` — the size of that pull.

        Parameters
        ----------
        horizon : int, default 5
            ``h``.

        Returns
        -------
        pandas.DataFrame
            Indexed by group: ``controls``, ``later_starters``,
            ``in_another_group``, ``share`` and, with a world,
            ``effect_<outcome>``.
        """
        firm = self.changes.unit
        table = self.changes.table
        controls = table.loc[(table["treated"] == 0) & (table["horizon"] == horizon)]
        units = controls.drop_duplicates([firm, "pair"])
        own = _own_starts(units, firm, self.sample)
        flags = pd.DataFrame({"pair": units["pair"].to_numpy(), "group": units["group"].to_numpy(),
                              "later": own["offset"].between(1, horizon).to_numpy()})
        flags["in_another_group"] = flags["later"] & (own["own_group"].to_numpy() !=
                                                      units["group"].astype(str).to_numpy())
        per_pair = flags.groupby("pair").agg(group=("group", "first"), later=("later", "any"),
                                             in_another_group=("in_another_group", "any"))
        out = per_pair.groupby("group", observed=True).agg(
            controls=("later", "size"), later_starters=("later", "sum"), in_another_group=("in_another_group", "sum"))
        out["share"] = out["later_starters"] / out["controls"]
        if self.world is not None:
            latent = self.world.latent.set_index(["firm_id", "year"])
            for outcome in controls["outcome"].unique():
                part = controls.loc[controls["outcome"] == outcome]
                keys = pd.MultiIndex.from_arrays([part[firm].to_numpy(), (part["cohort"] + horizon).to_numpy()])
                effect = latent[f"{outcome}_{self.analysis}_effect"].reindex(keys).to_numpy()
                out[f"effect_{outcome}"] = pd.Series(effect, index=part.index).groupby(part["group"]).mean()
        return out.reindex(list(self.groups))

    def plot_growth_bars(self, horizon: int = 5, **options: Any) -> plt.Figure:
        """Draw this analysis's panels of Figure II-2-4-1 (:func:`kaigai_lib.estimators.plots.plot_growth_bars`).

        Parameters
        ----------
        horizon : int, default 5
            One of the horizons estimated.
        **options : Any
            Options of ``plot_growth_bars``.

        Returns
        -------
        matplotlib.figure.Figure
            The bars.
        """
        from kaigai_lib.estimators.plots import plot_growth_bars

        return plot_growth_bars(self.growth(horizon), **options)

    def event_study_truth(self, outcome: str) -> pd.DataFrame:
        """The truth by group and horizon (0 before the start), on the result's scale, for the event-study plot.

        Parameters
        ----------
        outcome : str
            One of the outcomes estimated.

        Returns
        -------
        pandas.DataFrame
            ``group``, ``horizon``, ``effect``; horizon −1 (the base year) is 0.

        Raises
        ------
        ValueError
            If there is no truth (not run on a World).
        """
        if self.truth is None:
            raise ValueError("event_study_truth(): no truth: run white_paper_did on a World.")
        column = "true_pct" if self.scale == "percent" else "true_log"
        rows = self.truth.loc[self.truth["outcome"] == outcome, ["group", "horizon", column]]
        base = pd.DataFrame({"group": list(self.groups), "horizon": -1, column: 0.0})
        return pd.concat([rows, base]).rename(columns={column: "effect"}).sort_values(["group", "horizon"])

    def plot_event_study(self, outcome: str, groups: Sequence[str] | None = None) -> plt.Figure:
        """Plot the estimates by horizon with 95 % intervals (placebo years before the start), the truth dashed.

        Parameters
        ----------
        outcome : str
            One of the outcomes estimated.
        groups : sequence of str or None, optional
            The groups, one panel each; None (default) draws every group kept.

        Returns
        -------
        matplotlib.figure.Figure
            One panel per group.
        """
        truth = self.event_study_truth(outcome) if self.truth is not None else None
        return self.result.plot_event_study(outcome, truth=truth, groups=groups or list(self.groups))

    def plot(self, ax: plt.Axes | None = None, outcome: str = "sales", group: str | None = None) -> plt.Axes:
        """One group's event study of ``outcome`` with the truth (:meth:`plot_event_study` draws every group).

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, optional
            The axes to draw on; None (default) makes a new figure.
        outcome : str, default "sales"
            One of the outcomes estimated.
        group : str or None, optional
            The group; None (default) takes the first group kept.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
        truth = self.event_study_truth(outcome) if self.truth is not None else None
        return self.result.plot(ax=ax, outcome=outcome, group=group or self.groups[0], truth=truth)

    def summary(self) -> str:
        """The counts and the design (:meth:`counts`), then every estimate, as text.

        Returns
        -------
        str
            A title, the counts and the design, and a table of the estimates.
        """
        counts = self.counts()
        lines = [f"{name}: {value}" for name, value in counts["value"].items()]
        columns = [c for c in ("estimate", "std_error", "p_value", "ci_low", "ci_high", "n_treated", "n_control",
                               "truth", "bias") if c in self.tidy().columns]
        table = self.tidy().set_index(["outcome", "group", "horizon"])[columns]
        return summary_block(f"The white paper's matched DiD, {self.analysis} ({SCALE_UNITS[self.scale]})", table,
                             lines=lines)

    def other_cleared_firms(self) -> int:
        """The matched firms whose changes were cleared of the other start's effect (:func:`clear_other_start`)."""
        table = self.changes.table
        return int(table.loc[table["other_start_cleared"].ne(0), self.changes.unit].nunique())

    def counts(self) -> pd.DataFrame:
        """Count what is behind the estimates: pairs, pairs lost per horizon, and the design, scale and clustering used.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``count`` (what is counted or set), one column ``value``.
        """
        counts = self.match.counts
        kept = int(self.lost.groupby("group")["pairs_matched"].max().sum()) if len(self.lost) else 0
        rows = [("starters at risk", counts["treated"]), ("matched pairs", counts["matched_treated"]),
                ("pairs in the groups kept", kept),
                ("pairs dropped (group not kept)", int(self.dropped["pairs"].sum()) if len(self.dropped) else 0),
                ("distinct control firms", int(self.match.matched.loc[lambda m: m["_treated"] == 0,
                                                                      self.sample.firm_col].nunique()))]
        if len(self.lost):
            by_horizon = self.lost.groupby(["horizon", "outcome"])["pairs_lost"].sum().groupby("horizon").max()
            rows += [(f"pairs not observed at t{h:+d} (largest over outcomes)", int(n))
                     for h, n in by_horizon.items()]
        pool = (f"clean: no start within t+1…t+{self.clean_window}" if self.control_pool == "clean"
                else "all non-starters (also later starters)")
        from kaigai_lib.whitepaper.samples import _extra_reason

        extra = self.sample.settings.get("extra_covariates", ())
        design = f"{self.design} + extra covariates {list(extra)} at t−1" if extra else self.design
        excluded = self.sample.excluded["all"]
        rows += [(f"rows without {name} at t−1 (left out)", int(excluded.loc[_extra_reason(name)])) for name in extra]
        rows += [("matching design", design), ("controls", pool),
                 ("controls that start later", LATER_STARTS[self.later_starts]),
                 ("the other start's effects", "kept (the white paper's)" if self.other_start is None else
                  f"subtracted ({self.other_start} effects estimated by group, {self.other_cleared_firms()} "
                  "matched firms cleared)"),
                 ("scale", f"{self.scale} ({SCALE_UNITS[self.scale]})"),
                 ("standard errors clustered by", " + ".join(self.result.cluster))]
        if self.result.bootstrap_draws:
            rows.append(("standard errors at t+1 and after", self.result.errors))
        return pd.DataFrame(rows, columns=["count", "value"]).set_index("count")


def outcome_panel(firms: pd.DataFrame, sample: Any, outcomes: Sequence[str], *,
                  tfp_col: str | None = None) -> pd.DataFrame:
    """The outcomes of every firm-year (the schema's names): levels, and log TFP from ``tfp_col`` or the sample's
    LP fit."""
    from kaigai_lib.estimators import tfp as tfp_module
    from kaigai_lib.whitepaper.samples import PANEL_COLUMNS

    firm_col, year_col, employees_col, sales_col, capital_col, compensation_col, value_added_col, \
        intermediates_col = (PANEL_COLUMNS[k] for k in ("firm", "year", "employees", "sales", "capital",
                                                         "compensation", "value_added", "intermediates"))

    columns = {"employees": employees_col, "sales": sales_col, "capital_stock": capital_col}
    panel = firms[[firm_col, year_col]].copy()
    for outcome in outcomes:
        if outcome in columns:
            panel[outcome] = firms[columns[outcome]].to_numpy(float)
        elif outcome == "compensation_per_employee":
            panel[outcome] = (firms[compensation_col] / firms[employees_col]).to_numpy(float)
        elif outcome == "tfp":
            if tfp_col is not None:
                panel["tfp"] = firms[tfp_col].to_numpy(float)
            else:
                model = sample.tfp_model
                if model is None:
                    raise ValueError("outcome_panel: the sample has no LP model; pass tfp_col.")
                logged = tfp_module.log_columns(firms, [value_added_col, employees_col, capital_col,
                                                        intermediates_col], prefix="_log_")
                panel["tfp"] = model.tfp(logged).to_numpy(float)
        else:
            raise ValueError(f"outcome_panel: unknown outcome {outcome!r}.")
    return panel


def growth_table(results: Iterable[WhitePaperDid], horizon: int = 5,
                 outcomes: Sequence[str] = FIGURE_OUTCOMES) -> pd.DataFrame:
    """The bars of Figure II-2-4-1 for several analyses (e.g. exports and FDI), one table.

    Parameters
    ----------
    results : iterable of WhitePaperDid
        The analyses, e.g. the export and the FDI results.
    horizon : int, default 5
        One of the horizons every result estimated.
    outcomes : sequence of str
        The outcomes, in the figure's order (default sales, employees, capital stock, TFP).

    Returns
    -------
    pandas.DataFrame
        The rows of each result's :meth:`WhitePaperDid.growth`, one after the other.

    See Also
    --------
    kaigai_lib.estimators.plots.plot_growth_bars : Draw the table.

    Examples
    --------
    >>> from kaigai_lib import generate, growth_table, white_paper_did
    >>> world = generate("tiny", seed=0)
    >>> options = {"outcomes": ["sales"], "horizons": [2], "pre_horizons": []}
    >>> both = [white_paper_did(world, "export", **options), white_paper_did(world, "fdi", **options)]
    >>> table = growth_table(both, horizon=2, outcomes=["sales"])
    >>> table[["analysis", "group", "starters", "non_starters", "estimate", "truth"]].round(2)
      analysis              group  starters  non_starters  estimate  truth
    0   export              50-99     11.74          6.05      5.69   8.07
    1   export            100-299      3.51          0.24      3.27   2.56
    2   export               300+     -3.15         -1.89     -1.27   0.96
    3      fdi      manufacturing      3.86         -2.04      5.90   6.05
    4      fdi  non-manufacturing     -0.36         -3.57      3.21   2.46
    """
    return pd.concat([r.growth(horizon, outcomes) for r in results], ignore_index=True)


def _panel_fingerprint(firms: pd.DataFrame, outcomes: Sequence[str]) -> dict[str, int]:
    """A hash per column of what the analyses read from the firm panel (keys, both statuses, the groups' columns,
    the outcomes present as columns), rows in key order: equal for the same panel however its rows or other
    columns are arranged."""
    from kaigai_lib.whitepaper.samples import STATUS_COLUMNS

    columns = ["firm_id", "year", *STATUS_COLUMNS.values(), "employees", "manufacturing", "industry", *outcomes]
    present = [c for c in dict.fromkeys(columns) if c in firms.columns]
    keys = [c for c in ("firm_id", "year") if c in firms.columns]
    ordered = firms.sort_values(keys, kind="stable") if keys else firms
    out = {}
    for column in present:
        try:
            out[column] = int(pd.util.hash_pandas_object(ordered[column], index=False).sum())
        except TypeError:  # unhashable cells (lists): the column's own check reports them
            continue
    return out


def _fingerprint_checked(firms: pd.DataFrame, outcomes: Sequence[str], other: Any, analysis: str) -> dict[str, int]:
    """The panel's fingerprint (:func:`_panel_fingerprint`), after checking ``other`` (an ``other_start``) on it."""
    fingerprint = _panel_fingerprint(firms, outcomes)
    if other is not None:
        _check_other_start(other, analysis, outcomes, fingerprint)
    return fingerprint


def _check_other_start(other: Any, analysis: str, outcomes: Sequence[str] | None,
                       fingerprint: dict[str, int] | None = None) -> None:
    """Refuse an ``other_start`` that cannot be subtracted: not a result, the same analysis, no effect path,
    outcomes it lacks, or effects estimated on another firm panel (``fingerprint``: :func:`_panel_fingerprint`)."""
    from kaigai_lib.world.synthetic import OUTCOMES

    if not isinstance(other, WhitePaperDid):
        raise TypeError(f"other_start must be the other analysis's white_paper_did(...) result, not "
                        f"{type(other).__name__}.")
    if other.analysis == analysis:
        raise ValueError(f"other_start is a {other.analysis!r} analysis: it must be the other one "
                         f"({'fdi' if analysis == 'export' else 'export'!r}).")
    if other.effect_path is None:
        raise ValueError(f"other_start: estimate the {other.analysis!r} analysis with later_starts='adjust', "
                         "which keeps its effects at every event year (effect_path).")
    missing = sorted(set(outcomes or OUTCOMES) - set(other.effect_path["outcome"]))
    if missing:
        raise ValueError(f"other_start has no effects for outcome(s) {missing}: estimate the {other.analysis!r} "
                         f"analysis with these outcomes too.")
    shared = set(fingerprint or {}) & set(other.panel_fingerprint)
    differ = [c for c in (fingerprint or {}) if c in shared and fingerprint[c] != other.panel_fingerprint[c]]
    if differ or (fingerprint and other.panel_fingerprint and not {"firm_id", "year"} <= shared):
        raise ValueError(f"other_start: the {other.analysis!r} analysis was estimated on another firm panel "
                         f"(column(s) {differ or ['firm_id', 'year']} differ from this one's): its effects would be "
                         "subtracted from firms they were not estimated on. Estimate both analyses on the same "
                         "panel (white_paper_did_both does).")


def other_starts(firms: pd.DataFrame, analysis: str) -> pd.DataFrame:
    """Each firm's first observed start of ``analysis`` and its group just before it.

    The start is the first year the status (``exporter`` or ``fdi``) is seen
    on after a year it was seen off; across a gap in the panel (the firm not
    observed in between) that is the first year seen on, the survey's own
    reading. A firm already on when first observed has no known start and is
    not listed. The group is the size class (exports) or the sector (FDI) in
    the last year seen off, ``t − 1`` without a gap: the analysis's own groups.

    Parameters
    ----------
    firms : pandas.DataFrame
        The firm panel (``firm_id``, ``year``, the status column, ``employees`` or ``manufacturing``).
    analysis : {"export", "fdi"}
        Whose starts.

    Returns
    -------
    pandas.DataFrame
        ``firm_id``, ``other_start`` (the year ``t``) and ``other_group``.

    Raises
    ------
    ValueError
        If a column is missing or the status is not 0/1 or true/false (its values named).

    Examples
    --------
    >>> from kaigai_lib import generate, other_starts
    >>> world = generate("tiny", seed=0)
    >>> other_starts(world.firms, "fdi").head(3)
       firm_id  other_start        other_group
    0       10         2003  non-manufacturing
    1       13         2009  non-manufacturing
    2       15         2008      manufacturing
    """
    from kaigai_lib.data.starts import sector, size_class
    from kaigai_lib.whitepaper.samples import STATUS_COLUMNS

    status = STATUS_COLUMNS[analysis]
    needed = ["firm_id", "year", status, "employees" if analysis == "export" else "manufacturing"]
    missing = [c for c in needed if c not in firms.columns]
    if missing:
        raise ValueError(f"other_start: the firm panel has no column(s) {missing}, needed to find the {analysis} "
                         "starts whose effects are subtracted.")
    panel = firms.loc[firms[status].notna(), needed]
    on = as_binary(panel[status], status, "other_start")  # codings such as "yes"/"no" refused with the fix
    panel = panel.assign(_on=on.astype(int)).sort_values(["firm_id", "year"], kind="stable")
    ever_off = panel["_on"].eq(0).groupby(panel["firm_id"], sort=False).cummax()
    on_after_off = panel.loc[panel["_on"].eq(1) & ever_off].drop_duplicates("firm_id")
    before = panel.loc[panel["_on"].eq(0)].merge(on_after_off[["firm_id", "year"]].rename(columns={"year": "_s"}),
                                                 on="firm_id")
    last_off = before.loc[before["year"] < before["_s"]].drop_duplicates("firm_id", keep="last")
    group = size_class(last_off["employees"]) if analysis == "export" else sector(last_off["manufacturing"])
    return pd.DataFrame({"firm_id": last_off["firm_id"].to_numpy(), "other_start": last_off["_s"].to_numpy(),
                         "other_group": np.asarray(group, dtype=object)}).reset_index(drop=True)


def _effect_lookup(path: pd.DataFrame) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]:
    """The effect path as arrays over event years ``0 … K``, per (outcome, group) and pooled per outcome.

    A year without pairs takes the year before's effect (the effects build up and then stay); the pooled path
    (pairs-weighted mean over groups) serves a firm whose group the other analysis did not estimate."""
    years = np.arange(int(path["event_year"].max()) + 1)
    wide = path.pivot_table(index=["outcome", "group"], columns="event_year", values="effect_log")
    wide = wide.reindex(columns=years).ffill(axis=1).fillna(0.0)
    by_group = {(str(o), str(g)): row.to_numpy(float) for (o, g), row in wide.iterrows()}
    weighted = path.assign(_w=path["effect_log"] * path["pairs"]).groupby(["outcome", "event_year"])
    pooled = (weighted["_w"].sum() / weighted["pairs"].sum()).unstack("event_year")
    pooled = pooled.reindex(columns=years).ffill(axis=1).fillna(0.0)
    return by_group, {str(o): row.to_numpy(float) for o, row in pooled.iterrows()}


def clear_other_start(changes: EventChanges, firms: pd.DataFrame, other: WhitePaperDid) -> EventChanges:
    """Subtract from every unit's log change ``t − 1 → t + h`` the other start's estimated effect over it.

    A unit whose first start of the other treatment is in year ``s``
    (:func:`other_starts`) carries ``τ̂(t + h − s) − τ̂(t − 1 − s)`` of it,
    with ``τ̂`` the other analysis's effect path (``other.effect_path``) of
    its group and outcome, 0 before the start and held at its last year
    ``K`` after it (the effects build up, then stay). Starts before
    ``t − 1`` count as long as their effect still builds up; the placebo
    years are cleared the same way. The amount subtracted is kept in
    ``other_start_cleared`` (log points); ``change_pct`` is recomputed.

    Parameters
    ----------
    changes : EventChanges
        The matched pairs' changes (``white_paper_did``'s, before any regression).
    firms : pandas.DataFrame
        The firm panel (status columns ``exporter``, ``fdi``; ``employees``, ``manufacturing``).
    other : WhitePaperDid
        The other analysis, estimated with ``later_starts="adjust"``.

    Returns
    -------
    EventChanges
        The same rows, cleared. A truth on the percent scale
        (:func:`true_effects`) is then read on the cleared changes: the
        starter's percent gain from ``analysis`` without the other start.

    Examples
    --------
    An export starter of 1998 that started FDI in 1999 carries FDI's
    estimated effect one year after its start at ``t + 2``:

    >>> from kaigai_lib import clear_other_start, generate, white_paper_did
    >>> world = generate("tiny", seed=0)
    >>> fdi = white_paper_did(world, "fdi", outcomes=["sales"], horizons=[2], pre_horizons=[],
    ...                       later_starts="adjust")
    >>> export = white_paper_did(world, "export", outcomes=["sales"], horizons=[2], pre_horizons=[])
    >>> table = clear_other_start(export.changes, world.firms, fdi).table
    >>> table.loc[table["firm_id"] == 526, ["treated", "cohort", "horizon", "other_start_cleared"]].round(2)
       treated  cohort  horizon  other_start_cleared
    6        1    1998        2                 0.04
    >>> int((table["other_start_cleared"] != 0).sum())
    32
    """
    by_group, pooled = _effect_lookup(other.effect_path)
    table = changes.table.copy()
    keyed = table[[changes.unit]].merge(other_starts(firms, other.analysis), left_on=changes.unit,
                                        right_on="firm_id", how="left", validate="many_to_one")
    since_end = (table["cohort"] + table["horizon"] - keyed["other_start"].to_numpy()).to_numpy(float)
    since_base = (table["cohort"] - 1 - keyed["other_start"].to_numpy()).to_numpy(float)
    cleared = np.zeros(len(table))
    started = ~np.isnan(since_end)
    for (outcome, group), rows in pd.DataFrame({"outcome": table["outcome"].astype(str).to_numpy(),
                                                "group": keyed["other_group"].to_numpy()})[started].groupby(
                                                    ["outcome", "group"], sort=False):
        tau = by_group.get((outcome, group), pooled[outcome])
        at = rows.index.to_numpy()

        def effect(k: np.ndarray, tau: np.ndarray = tau) -> np.ndarray:
            return np.where(k < 0, 0.0, tau[np.clip(k, 0, len(tau) - 1).astype(int)])

        cleared[at] = effect(since_end[at]) - effect(since_base[at])
    table["other_start_cleared"] = cleared
    table["change_log"] = table["change_log"] - cleared
    table["change_pct"] = 100 * np.expm1(table["change_log"])
    return _subset(changes, table)


def white_paper_did(data: Any, analysis: str = "export", *, outcomes: Sequence[str] | None = None,
                    horizons: Sequence[int] | None = None, pre_horizons: Sequence[int] = PLACEBO_HORIZONS,
                    groups: Sequence[str] | str | None = None, scale: str = "percent", pair_effects: bool = False,
                    first_start_year: int | None = None, last_start_year: int | None = None,
                    match_options: dict[str, Any] | None = None, exact_size: bool = True, world: Any = None,
                    design: str = "white_paper", cluster: str | Sequence[str] | None = None,
                    control_pool: str = "all", clean_window: int | None = None, later_starts: str = "keep",
                    other_start: WhitePaperDid | None = None, **sample_options: Any) -> WhitePaperDid:
    """The white paper's matched difference-in-differences for exports or FDI, from a World or a firm panel.

    Steps: :func:`~kaigai_lib.whitepaper.samples.matching_sample` (firms at risk at
    ``t − 1``, LP TFP by industry unless ``tfp_col`` is given), 1:1 matching
    within start year × industry (:meth:`MatchingSample.match`, options in
    ``match_options``), the changes from ``t − 1`` to ``t + h`` of each
    matched firm (:func:`event_changes`), and one regression per outcome ×
    group × horizon (:func:`matched_did`) with the white paper's controls —
    start year, industry and (exports) the size class at ``t − 1`` — and
    standard errors clustered by firm.

    Parameters
    ----------
    data : World or pandas.DataFrame
        A :class:`~kaigai_lib.world.synthetic.World` (its truth is attached)
        or a firm panel with the schema's column names (real data are renamed
        once: ``kaigai_lib.data.schema.validate(df, rename=…)``).
    analysis : {"export", "fdi"}, default "export"
        The kind of start.
    outcomes : sequence of str or None, optional
        Default: employees, sales, capital stock, TFP, compensation per employee.
    horizons : sequence of int or None, optional
        Years after the start; default 1–5 (exports), 1–10 (FDI).
    pre_horizons : sequence of int, default (-3, -2)
        The placebo years before the start (relative to the start year ``t``).
    groups : sequence of str or str or None, optional
        The starters' groups to estimate: default the white paper's
        (exports: 50–99, 100–299, 300+ employees at ``t − 1`` — its survey has
        no smaller firms, so the world's "under 50" starters and their
        partners are dropped and counted in ``dropped``; FDI: manufacturing,
        non-manufacturing); "all" keeps every group.
    scale : {"percent", "log"}, default "percent"
        "percent" (the white paper's percent change) or "log".
    pair_effects : bool, default False
        Add a fixed effect per matched pair to each regression.
    first_start_year : int or None, optional
        The first start year ``t`` (default: the white paper's first year,
        1998 for exports); see ``last_start_year``.
    last_start_year : int or None, optional
        The last start year (default: the panel's last year but one); outside
        the panel is an error. The matched sample does not depend on
        ``horizons``: every start year is matched once, and each horizon uses
        the pairs whose members are all observed at ``t − 1`` and ``t + h``;
        the pairs lost per horizon are in ``lost``.
    match_options : dict or None, optional
        Options of the matching (:meth:`MatchingSample.match`: ``caliper``, ``replace``, …).
    exact_size : bool, default True
        Exports only: match within start year × industry × size
        class at ``t − 1`` (default), so that each pair belongs to one size
        class. The white paper matches within year × industry with the size
        class in the logit and reports by size class; matched only on the
        score, a 300+ starter is often paired with a 100–299 firm of higher
        TFP, and the comparison within a size class is then no longer
        balanced. ``False`` gives that looser reading.
    world : World or None, optional
        The World a firm panel comes from, to attach the truth (implied when ``data`` is a World).
    design : {"white_paper", "robust", "robust_no_investment", "robust_no_intermediates"}, default "white_paper"
        "white_paper" (the white paper's covariates at ``t − 1``),
        "robust" (also the growth ``t − 2 → t − 1`` of employees and sales,
        TFP and the log investment rate at ``t − 2``: investment is Olley and
        Pakes' proxy for productivity; the panel needs ``investment``; and
        log intermediate inputs at ``t − 1`` with industry-specific slopes on
        them and on log capital: the Levinsohn–Petrin proxy inverted),
        "robust_no_investment" (the same without the investment rate) or
        "robust_no_intermediates" (the same without the LP proxy);
        :func:`~kaigai_lib.whitepaper.samples.matching_sample`.
    cluster : str or sequence of str or None, optional
        The standard errors' clusters (:func:`~kaigai_lib.estimators.did.matched_did`; default firm + pair).
    control_pool : {"all", "clean"}, default "all"
        "all" (the white paper's: any non-starter at risk in
        ``t``, also one that starts a year or more later and so carries its
        own effect into the control group's change) or "clean" (stacked-DiD
        style, Cengiz et al. 2019: no control starts within
        ``t + 1 … t + clean_window``). ``clean_window`` defaults to the
        longest horizon of the analysis's design (exports 5, FDI 10), never
        to ``horizons``, so the matched sample does not depend on them.
        Excluding firms because of a start that is still to come selects on
        the future: in the synthetic world, where the start follows rising
        productivity, clean controls bias the DiD upward (see the chapter).
    clean_window : int or None, optional
        The event window of clean controls, in years after ``t`` (see ``control_pool``).
    later_starts : {"keep", "adjust"}, default "keep"
        "keep" (the white paper's: a control that starts later keeps its own
        effect in its change) or "adjust": that effect is estimated and
        subtracted (Cellini, Ferreira and Rothstein 2010), so the estimate is
        the effect of starting against never starting within the horizon.
        The effect subtracted is that of the group the control's own start
        falls in (its size class or sector then; its pair's group if that
        group has no pairs here).
        The subtracted effects are estimated from the same starters, so at
        ``t + 1`` and after the standard errors come from a bootstrap of the
        whole recursion over the matched pairs, pairs that share a firm drawn
        together (399 draws, seeded: the same every run; a group whose
        pairs all share firms is one cluster and keeps the regression's); the
        regression's errors, which treat those effects as known, are 3–11 %
        smaller at ``t + 5 … t + 10`` in a ``national`` world
        (``benchmarks/did_adjust_errors.py``).
    other_start : WhitePaperDid or None, optional
        The other analysis (FDI for an export one, exports for an FDI one),
        estimated with ``later_starts="adjust"`` on the same panel: its
        estimated effects (``effect_path``) are subtracted from the change of
        every matched firm, starter or control, that starts the other
        treatment, by the years since that start (:func:`clear_other_start`).
        The hidden firm effect that makes a firm start one makes it start
        the other, so starters start the other more often than their
        controls, while the truth is the effect of ``analysis`` alone. The
        subtracted effects are treated as known: redrawn from the other
        analysis's bootstrap, they move the estimates by at most 3 % of a
        standard error in a ``national`` world (``benchmarks/did_other_start.py``).
        :func:`white_paper_did_both` estimates both analyses this way.
    **sample_options : Any
        Further options of ``matching_sample`` (``tfp_col``: a log TFP column already in the panel;
        ``extra_covariates``: further columns of the panel at ``t − 1`` in the score).

    Returns
    -------
    WhitePaperDid
        Every step (sample, match, changes, regressions) and, with a world, the truth.

    Raises
    ------
    ValueError
        If ``analysis``, ``scale``, ``later_starts``, ``design`` or
        ``control_pool`` is not one of its values, or the start years fall
        outside the panel.
    TypeError
        If ``data`` is neither a World nor a DataFrame.

    See Also
    --------
    matching_sample : The first step alone.
    design_comparison : The same world under four designs.

    Examples
    --------
    >>> from kaigai_lib import generate, white_paper_did
    >>> world = generate("tiny", seed=0)
    >>> wp = white_paper_did(world, "export", outcomes=["sales"], horizons=[2], pre_horizons=[])
    >>> wp.tidy()[["outcome", "group", "horizon", "estimate", "truth", "covered"]].round(2)
      outcome    group  horizon  estimate  truth  covered
    0   sales  100-299        2      3.27   2.56     True
    1   sales     300+        2     -1.27   0.96     True
    2   sales    50-99        2      5.69   8.07     True
    >>> wp.counts().loc["matched pairs", "value"]
    302
    >>> white_paper_did(world, "export", scale="ratio")
    Traceback (most recent call last):
    ...
    ValueError: scale='ratio': choose 'percent' (the white paper's) or 'log'.
    """
    from kaigai_lib.whitepaper.samples import ANALYSES, matching_sample
    from kaigai_lib.world.synthetic import OUTCOMES, World

    if analysis not in ANALYSES:
        raise ValueError(f"analysis={analysis!r}: choose 'export' or 'fdi'.")
    if later_starts not in LATER_STARTS:
        raise ValueError(f"later_starts={later_starts!r}: choose one of {list(LATER_STARTS)}.")
    if scale not in ("percent", "log"):
        raise ValueError(f"scale={scale!r}: choose 'percent' (the white paper's) or 'log'.")
    if isinstance(data, World):
        world, firms = data, data.firms
    elif isinstance(data, pd.DataFrame):
        firms = data
    else:
        raise TypeError(f"white_paper_did: data must be a World or a firm panel (DataFrame), not "
                        f"{type(data).__name__}.")
    outcomes = tuple(as_outcomes(outcomes or OUTCOMES, "white_paper_did"))
    fingerprint = _fingerprint_checked(firms, outcomes, other_start, analysis)
    horizons = tuple(as_horizons(horizons if horizons is not None else WHITE_PAPER_HORIZONS[analysis], "horizons",
                                 "white_paper_did"))
    pre_horizons = tuple(as_horizons(pre_horizons, "pre_horizons", "white_paper_did"))
    firm_col, year_col, industry_col = "firm_id", "year", "industry"  # the schema's names
    last_start_year = _start_years(firms, analysis, horizons, year_col, first_start_year, last_start_year)

    sample = matching_sample(firms, analysis, horizon=0, outcomes=outcomes, first_start_year=first_start_year,
                             last_start_year=last_start_year, world=world, design=design,
                             control_pool=control_pool, clean_window=clean_window, **sample_options)
    match_options = dict(match_options or {})
    if analysis == "export" and exact_size:
        match_options.setdefault("exact", [*sample.exact, "size"])
    match = sample.match(**match_options)
    matched = match.matched.copy()
    starter_group = matched.loc[matched["_treated"] == 1].set_index("_pair")["group"]
    matched["own_group"] = matched["group"].astype(str)
    matched["group"] = matched["_pair"].map(starter_group).astype(str)
    groups, dropped, matched = _kept_groups(matched, analysis, groups)
    keep = ["group", industry_col]
    if analysis == "export":
        matched["size"] = matched["size"].astype(str)
        keep.append("size")
    controls = [industry_col if c == "industry" else c for c in WHITE_PAPER_CONTROLS[analysis]]
    panel = outcome_panel(firms, sample, outcomes, tfp_col=sample_options.get("tfp_col"))
    # the adjustment needs every event year 0 … max(horizons) (the same whichever of them are reported)
    computed = sorted({*horizons, *range(max(horizons) + 1)}) if later_starts == "adjust" else horizons
    changes = event_changes(panel, matched, outcomes, unit=firm_col, time=year_col, horizons=computed,
                            pre_horizons=pre_horizons, log_outcomes=["tfp"], keep=keep)
    changes, lost = _complete_pairs(changes, matched)
    if other_start is not None:
        changes = clear_other_start(changes, firms, other_start)
    fit_options = {"group": "group", "controls": controls, "pair_effects": pair_effects, "cluster": cluster}
    path = None
    if later_starts == "adjust":
        changes, lost, result, path = _adjusted_fit(changes, lost, sample, matched, [*pre_horizons, *horizons],
                                                    scale, fit_options)
    else:
        result = matched_did(changes, scale=scale, **fit_options)
    truth = true_effects(changes, world, analysis) if world is not None else None
    return WhitePaperDid(analysis=analysis, sample=sample, match=match, changes=changes, result=result,
                         panel=panel, groups=groups, dropped=dropped, controls=controls, truth=truth, world=world,
                         lost=lost, design=design, control_pool=control_pool,
                         clean_window=sample.settings["clean_window"], later_starts=later_starts,
                         effect_path=path, other_start=None if other_start is None else other_start.analysis,
                         panel_fingerprint=fingerprint)


def white_paper_did_both(data: Any, analyses: Sequence[str] = ("export", "fdi"), *,
                         by_analysis: dict[str, dict[str, Any]] | None = None,
                         **options: Any) -> dict[str, WhitePaperDid]:
    """Both analyses, each cleared of the other start's estimated effects (``white_paper_did``'s ``other_start``).

    Each needs the other's effects: FDI is estimated first without them,
    exports are cleared of that FDI's effects, and FDI is estimated again,
    cleared of those exports' effects (three runs). ``later_starts`` is
    "adjust" (the effects at every event year come from its recursion).

    Parameters
    ----------
    data : World or pandas.DataFrame
        As :func:`white_paper_did`.
    analyses : sequence of str, default ("export", "fdi")
        The results returned (both are estimated either way).
    by_analysis : dict or None, optional
        Options of one analysis only, e.g. ``{"fdi": {"horizons": range(1, 11)}}``.
    **options : Any
        Options of :func:`white_paper_did` for both analyses (not ``other_start``).

    Returns
    -------
    dict of str to WhitePaperDid
        Keyed by analysis.

    Examples
    --------
    >>> from kaigai_lib import generate, white_paper_did_both
    >>> world = generate("tiny", seed=0)
    >>> both = white_paper_did_both(world, outcomes=["sales"], horizons=[2], pre_horizons=[])
    >>> both["export"].counts().loc["the other start's effects", "value"]
    'subtracted (fdi effects estimated by group, 31 matched firms cleared)'
    >>> both["export"].tidy()[["group", "estimate", "truth"]].round(2)
         group  estimate  truth
    0  100-299      3.28   2.55
    1     300+     -1.37   0.96
    2    50-99      5.69   8.07
    """
    by_analysis = by_analysis or {}
    every = [options, *by_analysis.values()]
    if any(o.get("later_starts", "adjust") != "adjust" or "other_start" in o for o in every):
        raise ValueError("white_paper_did_both: later_starts is 'adjust' and other_start is set here; pass neither.")
    unknown = sorted(set(by_analysis) - {"export", "fdi"})
    if unknown:
        raise ValueError(f"white_paper_did_both: by_analysis keys {unknown}: use 'export' and 'fdi'.")

    def run(analysis: str, other: WhitePaperDid | None) -> WhitePaperDid:
        merged = {**options, **by_analysis.get(analysis, {}), "later_starts": "adjust"}
        return white_paper_did(data, analysis, other_start=other, **merged)

    export = run("export", run("fdi", None))
    results = {"export": export, "fdi": run("fdi", export)}
    return {analysis: results[analysis] for analysis in analyses}


def _pair_differences(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over pairs of the starter's log change minus its controls' mean (``effect_log``) and the pairs behind
    it (``pairs``), per outcome × group × horizon.

    With every pair complete and sharing its cohort, industry and size class,
    the starter dummy is balanced within every fixed effect, so this is the
    regression's estimate (:func:`matched_did`, log scale) at a fraction of its cost.
    """
    keys = ["outcome", "group", "horizon"]
    by_role = table.groupby([*keys, "pair", "treated"], observed=True)["change_log"].mean().unstack("treated")
    if not {0, 1} <= set(by_role.columns):
        return pd.DataFrame(columns=[*keys, "effect_log", "pairs"])
    differences = (by_role[1] - by_role[0]).dropna().groupby(level=keys, observed=True)
    return pd.DataFrame({"effect_log": differences.mean(), "pairs": differences.size()}).reset_index()


def _own_starts(table: pd.DataFrame, unit: str, sample: Any) -> pd.DataFrame:
    """For each control row: ``offset``, the years from its cohort's start year to its own first later start (NaN
    if none), and ``own_group``, the group that start falls in (its size class, or sector, at its own start).

    Read from the risk set (``sample.rows``), so only starts seen while the
    firm was at risk count: the same whatever the horizons reported. A start
    whose group has no pairs in ``table`` after the start keeps the control's
    pair group (its effect is not estimated here), as do rows without a later
    start.
    """
    starts = sample.rows.loc[sample.rows["start"] == 1, [sample.firm_col, "start_year", "group"]]
    starts = starts.rename(columns={sample.firm_col: unit, "start_year": "own_start", "group": "own_group"})
    controls = table.loc[table["treated"] == 0, [unit, "cohort"]].drop_duplicates()
    own = controls.merge(starts.astype({"own_group": str}), on=unit)
    own = own.loc[own["own_start"] > own["cohort"]].sort_values([unit, "cohort", "own_start"], kind="stable")
    own = own.drop_duplicates([unit, "cohort"])  # the first later start
    keyed = table[[unit, "cohort"]].merge(own, on=[unit, "cohort"], how="left")
    is_control = table["treated"].to_numpy() == 0
    pair_group = table["group"].astype(str).to_numpy()
    own_group = keyed["own_group"].to_numpy(dtype=object)
    estimated = pd.Series(own_group).isin(set(pair_group[table["horizon"].to_numpy() >= 0])).to_numpy()
    return pd.DataFrame({"offset": (keyed["own_start"] - keyed["cohort"]).where(is_control).to_numpy(),
                         "own_group": np.where(is_control & estimated, own_group, pair_group)}, index=table.index)


def _adjust_later_starts(changes: EventChanges, sample: Any) -> tuple[EventChanges, pd.DataFrame]:
    """Subtract from each control that starts at ``t + j`` (1 ≤ j ≤ h) the estimated effect ``τ̂(h − j)``.

    Cellini, Ferreira and Rothstein's (2010) recursion: at event year 0
    no control has started, so ``τ̂(0)`` is the plain DiD; at each later
    year ``h`` the controls' changes are first cleared of the effect of
    their own start, ``τ̂(h − j)`` of the same outcome, in log points,
    estimated at the earlier years for the group of *that* start (a control
    of a 100–299 pair that starts with 300 employees is cleared of the 300+
    effect; :func:`_own_starts`). Every group's effects at the earlier years
    are estimated before any group's at ``h``. Nothing about the future
    enters who is a control, so selection on the later start cannot bias it.
    Returns the adjusted changes and the recursion's effects ``τ̂(0) … τ̂(H)``
    (``outcome, group, event_year, effect_log, pairs``; log points).
    """
    table = changes.table.copy()
    path = []
    own = _own_starts(table, changes.unit, sample)
    table["_since_own"] = table["horizon"] - own["offset"]  # years since own start
    effects: dict[tuple[str, str, int], float] = {}
    for h in sorted(h for h in changes.horizons if h >= 0):
        at_h = table["horizon"] == h
        since = table["_since_own"].where(at_h & (table["treated"] == 0))
        hit = since.ge(0) & since.lt(h)
        if hit.any():
            keys = zip(table.loc[hit, "outcome"], own.loc[hit, "own_group"], since[hit], strict=True)
            tau = np.array([effects.get((o, g, int(k)), 0.0) for o, g, k in keys])
            table.loc[hit, "change_log"] -= tau
            table.loc[hit, "change_pct"] = 100 * np.expm1(table.loc[hit, "change_log"])
        differences = _pair_differences(table.loc[at_h])
        effects |= {(str(o), str(g), int(h_)): float(e) for o, g, h_, e in
                    differences[["outcome", "group", "horizon", "effect_log"]].itertuples(index=False)}
        path.append(differences)
    table["adjusted_for_own_start"] = table["_since_own"].ge(0) & table["treated"].eq(0) & \
        table["horizon"].ge(0)
    path_table = pd.concat(path, ignore_index=True).rename(columns={"horizon": "event_year"})
    path_table = path_table.astype({"outcome": str, "group": str, "event_year": int, "pairs": int})
    return _subset(changes, table.drop(columns=["_since_own"])), path_table


ADJUSTED_BOOTSTRAP_DRAWS = 399


def _pair_clusters(matched: pd.DataFrame, firm_col: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each group: its pairs (sorted) and each pair's cluster, the connected component of the graph that joins
    two pairs when they share a firm (a control in several cohorts, a starter that was a control before its own
    start). Components are numbered in the order of their first pair, so pairs sharing no firm are their own
    clusters, numbered as the pairs."""
    group_of_pair = matched.loc[matched["_treated"] == 1].set_index("_pair")["group"].astype(str)
    rows = matched.assign(_group=matched["_pair"].map(group_of_pair))
    out = {}
    for group, part in rows.groupby("_group", sort=True):
        pairs, pair_index = np.unique(part["_pair"].to_numpy(), return_inverse=True)
        firm_index = pd.factorize(part[firm_col])[0]
        n_pairs = len(pairs)
        graph = coo_matrix((np.ones(len(part)), (pair_index, n_pairs + firm_index)),
                           shape=(n_pairs + firm_index.max() + 1,) * 2)
        labels = connected_components(graph, directed=False)[1][:n_pairs]
        out[str(group)] = (pairs, pd.factorize(labels)[0])  # factorize numbers them by first appearance
    return out


def _pair_draws(clusters: dict[str, tuple[np.ndarray, np.ndarray]], draws: int = ADJUSTED_BOOTSTRAP_DRAWS,
                seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each group: its pairs (sorted) and a ``(draws + 1) × pairs`` array of weights, the number of times each
    pair is drawn; row 0 is the full sample (every weight 1). Clusters of pairs (:func:`_pair_clusters`) are
    drawn with replacement and a pair takes its cluster's count, so a firm's pairs are resampled together. One
    set per group, shared by its outcomes and seeded by the group's name, so the errors do not depend on which
    outcomes or horizons are reported."""
    out = {}
    for group, (members, cluster) in clusters.items():
        rng = np.random.default_rng([seed, zlib.crc32(str(group).encode())])
        n_clusters = int(cluster.max()) + 1
        counts = rng.multinomial(n_clusters, np.full(n_clusters, 1 / n_clusters), draws)
        out[str(group)] = (np.asarray(members), np.vstack([np.ones(len(members)), counts[:, cluster]]))
    return out


@dataclass
class _CellArrays:
    """One outcome × group of the adjusted bootstrap as per-pair arrays (pairs × event years [× own year × group])."""

    weights: np.ndarray  # draws × pairs: how often each draw picks each pair
    present: np.ndarray  # the pair has its starter and a control at the event year
    starter_log: np.ndarray
    starter_pct: np.ndarray
    control_log: np.ndarray  # the controls' mean log change, before any subtraction
    control_exp: np.ndarray  # the controls' mean e^change among those with nothing to subtract
    hit_share: np.ndarray  # pairs × event year × own event year k × own group: weight of controls cleared of τ̂(k)
    hit_exp: np.ndarray  # … and that weight × e^change


def _cell_arrays(cell: pd.DataFrame, members: np.ndarray, weights: np.ndarray, n_h: int,
                 group_index: dict[str, int]) -> _CellArrays:
    """Per-pair arrays of one outcome × group for :func:`_adjusted_bootstrap`."""
    n_pairs = len(members)
    p = np.searchsorted(members, cell["pair"].to_numpy())
    h = cell["horizon"].to_numpy().astype(int)
    treated = cell["treated"].to_numpy() == 1
    # the controls of a pair at h share its weight 1/n; k = event year of a control's own effect (−1: none)
    n_controls = np.zeros((n_pairs, n_h))
    np.add.at(n_controls, (p[~treated], h[~treated]), 1.0)
    share = np.where(treated, 0.0, 1.0 / np.maximum(n_controls[p, h], 1.0))
    k = h - cell["_offset"].to_numpy()
    k = np.where(~treated & (k >= 0) & (k < h), k, -1).astype(int)
    own = cell["_own_group"].map(group_index).to_numpy()
    log_change = cell["change_log"].to_numpy()
    present = np.zeros((n_pairs, n_h), dtype=bool)
    present[p[treated], h[treated]] = True
    present &= n_controls > 0
    starter_log, starter_pct = np.zeros((n_pairs, n_h)), np.zeros((n_pairs, n_h))
    starter_log[p[treated], h[treated]] = log_change[treated]
    starter_pct[p[treated], h[treated]] = 100 * np.expm1(log_change[treated])
    control_log, control_exp = np.zeros((n_pairs, n_h)), np.zeros((n_pairs, n_h))
    unadjusted = ~treated & (k < 0)
    np.add.at(control_log, (p[~treated], h[~treated]), share[~treated] * log_change[~treated])
    np.add.at(control_exp, (p[unadjusted], h[unadjusted]), share[unadjusted] * np.exp(log_change[unadjusted]))
    shape = (n_pairs, n_h, n_h, len(group_index))
    hit_share, hit_exp = np.zeros(shape), np.zeros(shape)
    hit = ~treated & (k >= 0)
    np.add.at(hit_share, (p[hit], h[hit], k[hit], own[hit]), share[hit])
    np.add.at(hit_exp, (p[hit], h[hit], k[hit], own[hit]), share[hit] * np.exp(log_change[hit]))
    return _CellArrays(weights, present, starter_log, starter_pct, control_log, control_exp, hit_share, hit_exp)


def _adjusted_bootstrap(raw: EventChanges, sample: Any, scale: str,
                        draws: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """The adjusted estimates on every draw of the pairs (:func:`_pair_draws`): a bootstrap of the recursion over pairs.

    The adjusted estimate at ``h`` subtracts effects estimated at earlier
    event years from the same starters, so it is correlated with them; the
    regression's standard errors treat them as known. Here every
    ``τ̂(0) … τ̂(h)`` is re-estimated on each draw. With complete pairs the
    regression's estimate is the mean pair difference (:func:`_pair_differences`),
    so a draw is a weighted mean: the recursion runs on per-pair arrays
    (log scale: linear in ``τ̂``; percent scale: linear in ``e^{−τ̂}``), all
    draws at once. A control is cleared of the effect of its own start's
    group (:func:`_own_starts`), so the groups run together, event year by
    event year, draw ``b`` of each group beside draw ``b`` of the others.
    Returns ``outcome, group, horizon, draw, estimate`` for
    every horizon ≥ 0; draw 0 (the full sample) equals the regression's
    estimate. The resampled units are clusters of pairs that share a firm
    (:func:`_pair_clusters`), so a firm that is a control in several cohorts,
    or a control before its own start, is tied across its pairs, as the
    regression's firm clusters tie it.
    """
    table = raw.table.loc[raw.table["horizon"] >= 0].copy()
    own = _own_starts(table, raw.unit, sample)
    table["_offset"], table["_own_group"] = own["offset"], own["own_group"]
    horizons = sorted(table["horizon"].unique())
    n_h = max(horizons) + 1
    group_index = {g: i for i, g in enumerate(sorted(table["group"].astype(str).unique()))}
    out = []
    for outcome, rows in table.groupby("outcome", sort=True, observed=True):
        cells = {str(group): _cell_arrays(cell, *draws[str(group)], n_h, group_index)
                 for group, cell in rows.groupby("group", sort=True, observed=True)}
        n_draws = len(next(iter(cells.values())).weights)
        tau = np.zeros((len(group_index), n_draws, n_h))  # a group without pairs subtracts nothing
        estimate = {group: np.full((n_draws, n_h), np.nan) for group in cells}
        with np.errstate(invalid="ignore", divide="ignore"):
            for e in horizons:
                tau_e = {}
                for group, a in cells.items():
                    w = a.weights * a.present[:, e]  # draws × pairs: the pairs complete at e
                    total = w.sum(axis=1)
                    subtracted = np.einsum("bp,pkg,gbk->b", w, a.hit_share[:, e, :e], tau[:, :, :e])
                    tau_e[group] = (w @ (a.starter_log[:, e] - a.control_log[:, e]) + subtracted) / total
                    if scale == "log":
                        estimate[group][:, e] = tau_e[group]
                    else:
                        controls = w @ a.control_exp[:, e] + np.einsum("bp,pkg,gbk->b", w, a.hit_exp[:, e, :e],
                                                                        np.exp(-tau[:, :, :e]))
                        estimate[group][:, e] = (w @ a.starter_pct[:, e] - 100 * controls) / total + 100
                for group, value in tau_e.items():  # a year without pairs subtracts nothing, as the recursion
                    tau[group_index[group], :, e] = np.nan_to_num(value)
        for group in cells:
            for e in horizons:
                out.append(pd.DataFrame({"outcome": outcome, "group": group, "horizon": e,
                                         "draw": np.arange(n_draws), "estimate": estimate[group][:, e]}))
    return pd.concat(out, ignore_index=True)


def _adjusted_fit(complete: EventChanges, lost: pd.DataFrame, sample: Any, matched: pd.DataFrame,
                  reported: list[int], scale: str,
                  fit_options: dict[str, Any]) -> tuple[EventChanges, pd.DataFrame, DidResult, pd.DataFrame]:
    """The later-start adjustment on the complete pairs' changes, the regressions at the reported horizons, and
    their standard errors after the start from the bootstrap of the recursion over pairs (pairs that share a firm
    drawn together); last, the recursion's effects at every event year (:func:`_adjust_later_starts`)."""
    changes, path = _adjust_later_starts(complete, sample)
    changes = _subset(changes, changes.table.loc[changes.table["horizon"].isin(reported)])
    changes.horizons = sorted(set(reported))
    lost = lost.loc[lost["horizon"].isin(reported)].reset_index(drop=True)
    result = matched_did(changes, scale=scale, **fit_options)
    draws = _adjusted_bootstrap(complete, sample, scale, _pair_draws(_pair_clusters(matched, sample.firm_col)))
    same_size = complete.table.groupby(["outcome", "horizon", "pair"]).size().nunique() == 1
    return changes, lost, _with_bootstrap_errors(result, draws, same_size_pairs=same_size), path


def _with_bootstrap_errors(result: DidResult, draws: pd.DataFrame, *, same_size_pairs: bool) -> DidResult:
    """The regressions' table with the bootstrap's standard errors (normal intervals) at every horizon ≥ 1.

    With pairs of one size (1:1, or ``ratio`` controls everywhere) the regression's estimate is the mean pair
    difference, so the bootstrap's full-sample draw must reproduce it. With pairs of several sizes the regression
    weighs controls one by one and the recursion pair by pair: the bootstrap's spread is then that of the
    pair-mean estimator, taken as the regression's standard error (the two differ little: same pairs, same
    scale)."""
    keys = ["outcome", "group", "horizon"]
    full = draws.loc[draws["draw"] == 0].set_index(keys)["estimate"]
    spread = draws.loc[draws["draw"] > 0].groupby(keys, observed=True)["estimate"].std(ddof=1)
    # a group whose pairs all share firms is one cluster: every draw is the sample, and a spread of 0 is no
    # standard error; those cells keep the regression's
    spread = spread.where(spread > 0)
    boot = pd.DataFrame({"estimate": full, "std_error": spread}).reset_index()
    table = result.table.merge(boot.rename(columns={"estimate": "_recursion", "std_error": "_boot_se"}),
                               on=keys, how="left")
    after = table["horizon"].ge(1) & table["_boot_se"].notna() & table["estimate"].notna()
    gap = (table.loc[after, "estimate"] - table.loc[after, "_recursion"]).abs()
    if same_size_pairs and len(gap) and gap.max() > 1e-6 * max(1.0, float(table.loc[after, "estimate"].abs().max())):
        raise RuntimeError("white_paper_did: the bootstrap's recursion does not reproduce the adjusted estimates "
                           f"(largest gap {gap.max():.3g}); please report this.")
    unbootstrapped = table.loc[table["horizon"].ge(1) & table["_boot_se"].isna() & table["estimate"].notna(), "group"]
    table.loc[after, "std_error"] = table.loc[after, "_boot_se"]
    inference = normal_inference(table.loc[after, "estimate"], table.loc[after, "std_error"])
    for column in ("p_value", "ci_low", "ci_high"):
        table.loc[after, column] = inference[column]
    # replace(): every other field of the regression's result (e.g. the cells it skipped, with their reasons) is kept
    return dataclasses.replace(result, table=table.drop(columns=["_recursion", "_boot_se"]),
                               bootstrap_draws=ADJUSTED_BOOTSTRAP_DRAWS,
                               unbootstrapped=tuple(sorted(map(str, unbootstrapped.unique()))))


def _start_years(firms: pd.DataFrame, analysis: str, horizons: tuple[int, ...], year_col: str,
                 first_start_year: int | None, last_start_year: int | None) -> int:
    """Check the horizons and start years against the panel; return the last start year to match."""
    if not horizons or min(horizons) < 1:
        raise ValueError(f"horizons={list(horizons)}: give years after the start, 1 or more.")
    check_frame(firms, "white_paper_did")
    if year_col not in firms.columns:
        raise KeyError(f"white_paper_did: column '{year_col}' is not in the data.")
    years = as_years(firms[year_col], year_col, "white_paper_did")
    first_year, last_year = int(years.min()), int(years.max())
    for name, value in (("first_start_year", first_start_year), ("last_start_year", last_start_year)):
        if value is not None and not first_year + 1 <= value <= last_year:
            raise ValueError(f"white_paper_did: {name}={value} is outside the panel: a start year t needs t − 1 "
                             f"and t in {first_year}–{last_year}, so {first_year + 1}–{last_year}.")
    if last_start_year is None:
        # The design (risk set, score, matches) must not depend on which horizons are reported: every start
        # year with a year after it is matched, and each horizon keeps the pairs observed at t + h.
        last_start_year = last_year - 1
    earliest = first_start_year or {"export": 1998, "fdi": first_year + 1}[analysis]
    if earliest + max(horizons) > last_year:
        raise ValueError(f"white_paper_did: horizon {max(horizons)} lies beyond the data: the earliest start year "
                         f"is {earliest} and the panel ends in {last_year}; use horizons up to "
                         f"{last_year - earliest}.")
    return last_start_year


def _kept_groups(matched: pd.DataFrame, analysis: str,
                 groups: Sequence[str] | str | None) -> tuple[tuple[str, ...], pd.DataFrame, pd.DataFrame]:
    """The starters' groups to estimate (default: the white paper's), the pairs left out, and the rows kept."""
    available = [g for g in dict.fromkeys(matched["group"])]
    if groups is None:
        groups = WHITE_PAPER_GROUPS[analysis]
    elif isinstance(groups, str):
        groups = sorted(available) if groups == "all" else (groups,)
    groups = tuple(str(g) for g in groups)
    unknown = [g for g in groups if g not in available]
    if unknown:
        raise ValueError(f"white_paper_did: no matched starters in group(s) {unknown}; groups found: "
                         f"{sorted(available)}.")
    kept = matched["group"].isin(groups)
    dropped = (matched.loc[~kept & (matched["_treated"] == 1)].groupby("group").size().rename("pairs")
               .reset_index())
    return groups, dropped, matched.loc[kept]


def _complete_pairs(changes: EventChanges, matched: pd.DataFrame) -> tuple[EventChanges, pd.DataFrame]:
    """Keep, at each outcome × horizon, the pairs whose starter and control(s) are all observed; count the rest."""
    table = changes.table
    per_pair = matched.groupby("_pair").size().rename("members")
    observed = table.groupby(["outcome", "horizon", "pair"]).size().rename("observed").reset_index()
    observed["complete"] = observed["observed"].to_numpy() == observed["pair"].map(per_pair).to_numpy()
    complete = observed.loc[observed["complete"], ["outcome", "horizon", "pair"]]
    kept = table.merge(complete, on=["outcome", "horizon", "pair"], how="inner")
    pairs = matched.loc[matched["_treated"] == 1, ["_pair", "group"]].rename(columns={"_pair": "pair"})
    grid = (pd.MultiIndex.from_product([table["outcome"].unique(), changes.horizons, pairs["pair"]],
                                       names=["outcome", "horizon", "pair"]).to_frame(index=False)
            .merge(pairs, on="pair").merge(complete.assign(kept=True), on=["outcome", "horizon", "pair"],
                                           how="left"))
    grid["kept"] = grid["kept"].fillna(False).astype(bool)
    lost = (grid.groupby(["outcome", "group", "horizon"], observed=True)
            .agg(pairs_matched=("pair", "size"), pairs_used=("kept", "sum")).reset_index())
    lost["pairs_lost"] = lost["pairs_matched"] - lost["pairs_used"]
    return _subset(changes, kept), lost


# --------------------------------------------------------------------------- PSM alone, DiD alone, both

DESIGNS = {
    "naive": "levels, all non-starters (単純比較)",
    "psm_levels": "PSM alone: levels at t+h, matched",
    "did_unmatched": "DiD alone: changes, all non-starters",
    "psm_did": "PSM + DiD: changes, matched (white paper)",
}


def design_comparison(wp: WhitePaperDid, horizon: int = 5, outcomes: Sequence[str] | None = None) -> pd.DataFrame:
    """Four designs on the same world, in log points, each next to the truth of its own starters.

    * ``naive``: log level at ``t + h``, starters vs every non-starter at risk;
    * ``psm_levels``: log level at ``t + h``, matched pairs (matching alone);
    * ``did_unmatched``: change ``t − 1 → t + h``, starters vs every non-starter (DiD alone);
    * ``psm_did``: change, matched pairs (the white paper's design).

    Every design uses the white paper's controls (start year, industry,
    size class) and clusters by firm. ``truth`` is the mean true effect (log
    points) of the starters in each regression; ``bias`` = estimate − truth.

    Parameters
    ----------
    wp : WhitePaperDid
        The white paper's DiD on a World (its sample and pairs are reused).
    horizon : int, default 5
        One of the horizons ``wp`` estimated.
    outcomes : sequence of str or None, optional
        Only these outcomes; None (default) takes every outcome of ``wp``.

    Returns
    -------
    pandas.DataFrame
        One row per design × outcome × group: ``design``, ``label``,
        ``outcome``, ``group``, ``estimate``, ``std_error``, ``ci_low``,
        ``ci_high``, ``truth``, ``bias``, ``covered``, ``n_treated``, ``n_control``.

    Raises
    ------
    ValueError
        If ``wp`` was not run on a World (there is no truth).

    Examples
    --------
    >>> from kaigai_lib import design_comparison, generate, white_paper_did
    >>> wp = white_paper_did(generate("tiny", seed=0), "export", outcomes=["sales"], horizons=[2],
    ...                      pre_horizons=[])
    >>> table = design_comparison(wp, horizon=2)
    >>> table.query("group == '50-99'")[["design", "estimate", "truth", "bias"]].round(3)
               design  estimate  truth   bias
    2           naive     0.134  0.075  0.059
    5      psm_levels    -0.043  0.075 -0.118
    8   did_unmatched     0.066  0.075 -0.009
    11        psm_did     0.064  0.075 -0.011
    """
    if wp.world is None:
        raise ValueError("design_comparison needs the truth: run white_paper_did on a World.")
    outcomes = list(outcomes or wp.changes.table["outcome"].unique())
    rows = wp.sample.rows
    at_risk = rows.loc[rows["group"].astype(str).isin(wp.groups)].copy()
    at_risk["group"] = at_risk["group"].astype(str)
    keep = ["group", wp.sample.settings["industry_col"]]
    if wp.analysis == "export":
        at_risk["size"] = at_risk["size"].astype(str)
        keep.append("size")
    unmatched = event_changes(wp.panel, at_risk, outcomes, unit=wp.changes.unit, time=wp.sample.settings["year_col"],
                              treated="start", pair=None, horizons=[horizon], pre_horizons=[],
                              log_outcomes=["tfp"], keep=keep)
    matched = _subset(wp.changes, wp.changes.table.loc[(wp.changes.table["horizon"] == horizon)
                                                       & wp.changes.table["outcome"].isin(outcomes)])
    frames = []
    for design, changes, scale in (("naive", unmatched, "level"), ("psm_levels", matched, "level"),
                                   ("did_unmatched", unmatched, "log"), ("psm_did", matched, "log")):
        fit = matched_did(changes, group="group", controls=wp.controls, scale=scale, horizons=[horizon])
        truth = true_effects(changes, wp.world, wp.analysis)[["outcome", "group", "horizon", "true_log"]]
        table = fit.table.merge(truth, on=["outcome", "group", "horizon"], how="left")
        frames.append(table.rename(columns={"true_log": "truth"}).assign(design=design,
                                                                         label=DESIGNS[design]))
    out = pd.concat(frames, ignore_index=True)
    out["bias"] = out["estimate"] - out["truth"]
    out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    columns = ["design", "label", "outcome", "group", "estimate", "std_error", "ci_low", "ci_high", "truth", "bias",
               "covered", "n_treated", "n_control"]
    return out[columns]


def plot_design_comparison(table: pd.DataFrame, outcomes: Sequence[str] | None = None,
                           groups: Sequence[str] | None = None) -> plt.Figure:
    """Bias (estimate − truth, log points, 95 % CI) of each design, one panel per outcome, a row per group."""
    from kaigai_lib.estimators.plots import OUTCOME_LABELS, new_figure

    outcomes = list(outcomes or table["outcome"].unique())
    groups = list(groups or table["group"].unique())
    designs = list(dict.fromkeys(table["design"]))
    fig, axes = new_figure(1, len(outcomes), figsize=(3.3 * len(outcomes), 1.4 + 0.55 * len(groups)), sharey=True)
    positions = np.arange(len(groups))
    offsets = np.linspace(-0.27, 0.27, len(designs))
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        for k, design in enumerate(designs):
            part = table.loc[(table["design"] == design) & (table["outcome"] == outcome)].set_index("group")
            part = part.reindex(groups)
            ax.errorbar(part["bias"], positions + offsets[k], xerr=1.96 * part["std_error"], fmt="os^D"[k % 4],
                        ms=4, capsize=2, color=f"C{k}", label=table.loc[table["design"] == design, "label"].iloc[0])
        ax.axvline(0, color="black", linewidth=0.9)
        ax.set_title(OUTCOME_LABELS.get(outcome, outcome).replace("\n", " "), fontsize=9)
        ax.set_xlabel("estimate − truth (log points)")
        ax.set_yticks(positions, groups)
    axes[0, 0].invert_yaxis()
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig
