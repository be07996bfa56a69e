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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from kaigai_lib.estimators.did import (
    SCALE_UNITS,
    SCALES,
    DidResult,
    EventChanges,
    _subset,
    event_changes,
    matched_did,
)
from kaigai_lib.estimators.results import order_tidy, summary_block

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
    their latent effect columns. Returns one row per outcome × group ×
    horizon: ``true_log``, ``true_pct``, ``n_starters``.
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
    tau = _own_true_effects(starters, changes.id, world, analysis).to_numpy()
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

    Returns ``selection``, its ``selection_se`` (over pairs) and
    ``selection_z``, ``controls_pull`` and ``pairs``, in percentage points,
    plus ``selection_log`` (log points ×100).
    """
    table = changes.table
    tau = _own_true_effects(table, changes.id, world, analysis)
    rows = table.assign(untreated_pct=100 * np.expm1(table["change_log"] - tau),
                        untreated_log=100 * (table["change_log"] - tau),
                        own_pct=100 * (np.expm1(table["change_log"]) - np.expm1(table["change_log"] - tau)))
    keys = ["outcome", "group", "horizon"]
    by_pair = rows.groupby([*keys, "pair", "treated"], observed=True)[["untreated_pct", "untreated_log", "own_pct"]]
    wide = by_pair.mean().unstack("treated").dropna()
    pairs = pd.DataFrame({"selection": wide[("untreated_pct", 1)] - wide[("untreated_pct", 0)],
                          "selection_log": wide[("untreated_log", 1)] - wide[("untreated_log", 0)],
                          "controls_pull": wide[("own_pct", 0)]})
    out = pairs.groupby(level=keys, observed=True).agg(
        pairs=("selection", "size"), selection=("selection", "mean"), selection_se=("selection", "sem"),
        selection_log=("selection_log", "mean"), controls_pull=("controls_pull", "mean"))
    return out.assign(selection_z=out["selection"] / out["selection_se"]).reset_index()


# --------------------------------------------------------------------------- the white paper's design

FIGURE_OUTCOMES = ("sales", "employees", "capital_stock", "tfp")  # Figure II-2-4-1's order


@dataclass
class WhitePaperDid:
    """The white paper's matched DiD for one analysis, every step kept.

    Attributes
    ----------
    analysis : "export" or "fdi".
    sample : the :class:`~kaigai_lib.whitepaper.samples.MatchingSample` (firms at risk at ``t − 1``).
    match : the :class:`~kaigai_lib.estimators.matching.MatchResult` (1:1 within start year × industry).
    changes : the :class:`EventChanges` of the matched pairs in the kept groups;
        ``group`` is the starter's group (size class at ``t − 1`` or sector), which its control shares.
    result : the :class:`DidResult` (one regression per outcome × group × horizon).
    panel : the outcome panel (levels; TFP in logs) the changes were read from.
    groups : the groups kept.
    dropped : matched pairs left out because their starter's group is not kept (e.g. "under 50").
    lost : per outcome × group × horizon, the matched pairs (``pairs_matched``), those with every
        member observed at ``t − 1`` and ``t + h`` (``pairs_used``) and the difference (``pairs_lost``):
        late cohorts cannot reach long horizons, and firms leave the panel.
    design : the matching specification (a key of ``samples.MATCHING_DESIGNS``: "white_paper", "robust",
        "robust_no_investment" or "robust_no_intermediates").
    control_pool : who may be a control: "all" non-starters (the white paper's) or "clean" ones, which do not
        start within ``t + 1 … t + clean_window`` (:func:`~kaigai_lib.whitepaper.samples.matching_sample`).
    clean_window : the event window of clean controls (None with the "all" pool).
    later_starts : "keep" or "adjust" (controls' own later effects subtracted; :func:`white_paper_did`).
    truth : with a world, the true effects of the starters in each cell (:func:`true_effects`).
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

    @property
    def scale(self) -> str:
        return self.result.scale

    def tidy(self) -> pd.DataFrame:
        """The estimates (:meth:`DidResult.tidy`), with ``truth`` (same scale), ``bias`` and ``covered`` (truth
        inside the 95 % CI) given a world."""
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
        """Estimate next to the truth at one horizon, a row per outcome × group (needs a world)."""
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
        with a world, ``effect_<outcome>`` is the average true effect (log
        points) the controls carry at ``t + h`` — the size of that pull.
        """
        firm = self.changes.id
        rows = self.sample.rows
        starts = rows.loc[rows["start"] == 1, [self.sample.firm_col, "start_year"]].rename(
            columns={self.sample.firm_col: firm})
        table = self.changes.table
        controls = table.loc[(table["treated"] == 0) & (table["horizon"] == horizon)]
        units = controls.drop_duplicates("pair")[[firm, "pair", "cohort", "group"]]
        later = units.merge(starts, on=firm, how="left")
        later["later"] = later["start_year"].gt(later["cohort"]) & later["start_year"].le(later["cohort"] + horizon)
        flag = later.groupby("pair")["later"].any()
        units = units.assign(later=units["pair"].map(flag).to_numpy())
        out = units.groupby("group", observed=True).agg(controls=("pair", "size"), later_starters=("later", "sum"))
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
        """This analysis's panels of Figure II-2-4-1 (:func:`kaigai_lib.estimators.plots.plot_growth_bars`)."""
        from kaigai_lib.estimators.plots import plot_growth_bars

        return plot_growth_bars(self.growth(horizon), **options)

    def event_study_truth(self, outcome: str) -> pd.DataFrame:
        """The truth by group and horizon (0 before the start), on the result's scale, for the event-study plot."""
        if self.truth is None:
            raise ValueError("event_study_truth(): no truth: run white_paper_did on a World.")
        column = "true_pct" if self.scale == "percent" else "true_log"
        rows = self.truth.loc[self.truth["outcome"] == outcome, ["group", "horizon", column]]
        base = pd.DataFrame({"group": list(self.groups), "horizon": -1, column: 0.0})
        return pd.concat([rows, base]).rename(columns={column: "effect"}).sort_values(["group", "horizon"])

    def plot_event_study(self, outcome: str, groups: Sequence[str] | None = None) -> plt.Figure:
        """Estimates by horizon with 95 % intervals (placebo years before the start), the truth as a dashed line."""
        truth = self.event_study_truth(outcome) if self.truth is not None else None
        return self.result.plot_event_study(outcome, truth=truth, groups=groups or list(self.groups))

    def plot(self, ax: plt.Axes | None = None, outcome: str = "sales", group: str | None = None) -> plt.Axes:
        """One group's event study of ``outcome`` with the truth (:meth:`plot_event_study` draws every group)."""
        truth = self.event_study_truth(outcome) if self.truth is not None else None
        return self.result.plot(ax=ax, outcome=outcome, group=group or self.groups[0], truth=truth)

    def summary(self) -> str:
        """The counts and the design (:meth:`counts`), then every estimate, as text."""
        counts = self.counts()
        lines = [f"{name}: {value}" for name, value in counts["value"].items()]
        columns = [c for c in ("estimate", "std_error", "p_value", "ci_low", "ci_high", "n_treated", "n_control",
                               "truth", "bias") if c in self.tidy().columns]
        table = self.tidy().set_index(["outcome", "group", "horizon"])[columns]
        return summary_block(f"The white paper's matched DiD, {self.analysis} ({SCALE_UNITS[self.scale]})", table,
                             lines=lines)

    def counts(self) -> pd.DataFrame:
        """Counts behind the estimates, pairs lost per horizon, and the design, scale and clustering used."""
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
        rows += [("matching design", self.design), ("controls", pool),
                 ("controls that start later", LATER_STARTS[self.later_starts]),
                 ("scale", f"{self.scale} ({SCALE_UNITS[self.scale]})"),
                 ("standard errors clustered by", " + ".join(self.result.cluster))]
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
    """The bars of Figure II-2-4-1 for several analyses (e.g. exports and FDI), one table."""
    return pd.concat([r.growth(horizon, outcomes) for r in results], ignore_index=True)


def white_paper_did(data: Any, analysis: str = "export", *, outcomes: Sequence[str] | None = None,
                    horizons: Sequence[int] | None = None, pre_horizons: Sequence[int] = PLACEBO_HORIZONS,
                    groups: Sequence[str] | str | None = None, scale: str = "percent", pair_effects: bool = False,
                    first_start_year: int | None = None, last_start_year: int | None = None,
                    match_options: dict[str, Any] | None = None, exact_size: bool = True, world: Any = None,
                    design: str = "white_paper", cluster: str | Sequence[str] | None = None,
                    control_pool: str = "all", clean_window: int | None = None, later_starts: str = "keep",
                    **sample_options: Any) -> WhitePaperDid:
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
    data : a :class:`~kaigai_lib.world.synthetic.World` (its truth is attached) or a firm panel.
    analysis : "export" or "fdi".
    outcomes : default: employees, sales, capital stock, TFP, compensation per employee.
    horizons : default 1–5 (exports), 1–10 (FDI); ``pre_horizons`` the placebo years (default −3, −2).
    groups : the starters' groups to estimate: default the white paper's
        (exports: 50–99, 100–299, 300+ employees at ``t − 1`` — its survey has
        no smaller firms, so the world's "under 50" starters and their
        partners are dropped and counted in ``dropped``; FDI: manufacturing,
        non-manufacturing); "all" keeps every group.
    scale : "percent" (the white paper's percent change) or "log".
    exact_size : exports only: match within start year × industry × size
        class at ``t − 1`` (default), so that each pair belongs to one size
        class. The white paper matches within year × industry with the size
        class in the logit and reports by size class; matched only on the
        score, a 300+ starter is often paired with a 100–299 firm of higher
        TFP, and the comparison within a size class is then no longer
        balanced. ``False`` gives that looser reading.
    first_start_year, last_start_year : start years ``t`` (defaults: the
        white paper's first year — 1998 for exports — and the panel's last
        year but one); outside the panel is an error. The matched sample
        does not depend on ``horizons``: every start year is matched once,
        and each horizon uses the pairs whose members are all observed at
        ``t − 1`` and ``t + h``; the pairs lost per horizon are in ``lost``.
    design : "white_paper" (the white paper's covariates at ``t − 1``),
        "robust" (also the growth ``t − 2 → t − 1`` of employees and sales,
        TFP and the log investment rate at ``t − 2``: investment is Olley and
        Pakes' proxy for productivity; the panel needs ``investment``; and
        log intermediate inputs at ``t − 1`` with industry-specific slopes on
        them and on log capital: the Levinsohn–Petrin proxy inverted),
        "robust_no_investment" (the same without the investment rate) or
        "robust_no_intermediates" (the same without the LP proxy);
        :func:`~kaigai_lib.whitepaper.samples.matching_sample`.
    cluster : standard errors' clusters (:func:`matched_did`; default firm + pair).
    control_pool : "all" (the white paper's: any non-starter at risk in
        ``t``, also one that starts a year or more later and so carries its
        own effect into the control group's change) or "clean" (stacked-DiD
        style, Cengiz et al. 2019: no control starts within
        ``t + 1 … t + clean_window``). ``clean_window`` defaults to the
        longest horizon of the analysis's design (exports 5, FDI 10), never
        to ``horizons``, so the matched sample does not depend on them.
        Excluding firms because of a start that is still to come selects on
        the future: in the synthetic world, where the start follows rising
        productivity, clean controls bias the DiD upward (see the chapter).
    later_starts : "keep" (the white paper's: a control that starts later
        keeps its own effect in its change) or "adjust": that effect is
        estimated and subtracted (:func:`_adjust_later_starts`, Cellini,
        Ferreira and Rothstein 2010), so the estimate is the effect of
        starting against never starting within the horizon; the standard
        errors treat the subtracted effects as known.
    sample_options : further options of ``matching_sample`` (``tfp_col``). The firm panel has the schema's
        column names (real data are renamed once: ``kaigai_lib.data.schema.validate(df, rename=…)``).

    Examples
    --------
    >>> from kaigai_lib.whitepaper.did_design import white_paper_did
    >>> from kaigai_lib.world.synthetic import generate
    >>> world = generate(preset="tiny", seed=0)
    >>> wp = white_paper_did(world, "export", horizons=[2], pre_horizons=[-2])
    >>> {"truth", "bias", "covered"} <= set(wp.tidy().columns)
    True
    >>> int(wp.counts().loc["matched pairs", "value"]) > 0
    True
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
    outcomes = tuple(outcomes or OUTCOMES)
    horizons = tuple(int(h) for h in (horizons if horizons is not None else WHITE_PAPER_HORIZONS[analysis]))
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
    fit_options = {"group": "group", "controls": controls, "pair_effects": pair_effects, "cluster": cluster}
    if later_starts == "adjust":
        changes = _adjust_later_starts(changes, sample)
        reported = [*pre_horizons, *horizons]
        changes = _subset(changes, changes.table.loc[changes.table["horizon"].isin(reported)])
        changes.horizons = sorted(set(reported))
        lost = lost.loc[lost["horizon"].isin(reported)].reset_index(drop=True)
    result = matched_did(changes, scale=scale, **fit_options)
    truth = true_effects(changes, world, analysis) if world is not None else None
    return WhitePaperDid(analysis=analysis, sample=sample, match=match, changes=changes, result=result,
                         panel=panel, groups=groups, dropped=dropped, controls=controls, truth=truth, world=world,
                         lost=lost, design=design, control_pool=control_pool,
                         clean_window=sample.settings["clean_window"], later_starts=later_starts)


def _mean_pair_differences(table: pd.DataFrame) -> dict[tuple[str, str, int], float]:
    """Mean over pairs of the starter's log change minus its controls' mean, per outcome × group × horizon.

    With every pair complete and sharing its cohort, industry and size class,
    the starter dummy is balanced within every fixed effect, so this is the
    regression's estimate (:func:`matched_did`, log scale) at a fraction of its cost.
    """
    keys = ["outcome", "group", "horizon", "pair"]
    by_role = table.groupby([*keys, "treated"], observed=True)["change_log"].mean().unstack("treated")
    if not {0, 1} <= set(by_role.columns):
        return {}
    differences = (by_role[1] - by_role[0]).dropna().groupby(level=["outcome", "group", "horizon"]).mean()
    return {(str(o), str(g), int(h)): float(e) for (o, g, h), e in differences.items()}


def _adjust_later_starts(changes: EventChanges, sample: Any) -> EventChanges:
    """Subtract from each control that starts at ``t + j`` (1 ≤ j ≤ h) the estimated effect ``τ̂(h − j)``.

    Cellini, Ferreira and Rothstein's (2010) recursion: at event year 0
    no control has started, so ``τ̂(0)`` is the plain DiD; at each later
    year ``h`` the controls' changes are first cleared of the effect of
    their own start, ``τ̂(h − j)`` of the same outcome and group, in log
    points, estimated at the earlier years. Nothing about the future enters
    who is a control, so selection on the later start cannot bias it.
    """
    firm = changes.id
    starts = sample.rows.loc[sample.rows["start"] == 1, [sample.firm_col, "start_year"]]
    table = changes.table.copy()
    controls = table.loc[table["treated"] == 0, [firm, "cohort"]].drop_duplicates()
    own = controls.merge(starts.rename(columns={sample.firm_col: firm, "start_year": "own_start"}), on=firm)
    own = own.loc[own["own_start"] > own["cohort"]].groupby([firm, "cohort"], as_index=False)["own_start"].min()
    table = table.merge(own, on=[firm, "cohort"], how="left")
    table["_since_own"] = table["horizon"] - (table["own_start"] - table["cohort"])  # years since own start
    effects: dict[tuple[str, str, int], float] = {}
    for h in sorted(h for h in changes.horizons if h >= 0):
        at_h = table["horizon"] == h
        since = table["_since_own"].where(at_h & (table["treated"] == 0))
        hit = since.ge(0) & since.lt(h)
        if hit.any():
            keys = zip(table.loc[hit, "outcome"], table.loc[hit, "group"], since[hit], strict=True)
            tau = np.array([effects.get((o, g, int(k)), 0.0) for o, g, k in keys])
            table.loc[hit, "change_log"] -= tau
            table.loc[hit, "change_pct"] = 100 * np.expm1(table.loc[hit, "change_log"])
        effects |= _mean_pair_differences(table.loc[at_h])
    table["adjusted_for_own_start"] = table["_since_own"].ge(0) & table["treated"].eq(0) & \
        table["horizon"].ge(0)
    return _subset(changes, table.drop(columns=["own_start", "_since_own"]))


def _start_years(firms: pd.DataFrame, analysis: str, horizons: tuple[int, ...], year_col: str,
                 first_start_year: int | None, last_start_year: int | None) -> int:
    """Check the horizons and start years against the panel; return the last start year to match."""
    if not horizons or min(horizons) < 1:
        raise ValueError(f"horizons={list(horizons)}: give years after the start, 1 or more.")
    if year_col not in firms.columns:
        raise KeyError(f"white_paper_did: column '{year_col}' is not in the data.")
    first_year, last_year = int(firms[year_col].min()), int(firms[year_col].max())
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
    unmatched = event_changes(wp.panel, at_risk, outcomes, unit=wp.changes.id, time=wp.sample.settings["year_col"],
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
