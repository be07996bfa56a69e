"""Difference-in-differences on a matched sample (差の差分析), as in the white paper.

Two steps, each usable on any firm panel:

1. :func:`event_changes` — for every matched unit (a starter, or a matched
   non-starter that takes its partner's start year as a pseudo start), the
   change of each outcome from the base year ``t − 1`` to ``t + h``: in log
   points and in percent. Base year and horizon are read from the same
   firm's own rows; a missing year is reported (``EventChanges.missing``),
   never filled. Negative horizons (``t − 3``, ``t − 2``) give the pre-trend
   placebo, normalised the same way (relative to ``t − 1``).
2. :func:`matched_did` — for every outcome × horizon × group, a regression
   of the change on the starter dummy with year, industry (and, for
   exports, size-class) fixed effects, standard errors clustered by firm
   and pair (a firm can be a control in several cohorts; a pair shares its
   cell), optionally with pair fixed effects (pyfixest). The result is one tidy table.

:func:`white_paper_did` runs the white paper's whole design for one analysis
("export" or "fdi") from a :class:`~kaigai_lib.synthetic.World` or a firm
panel: the matching sample (:func:`kaigai_lib.samples.matching_sample`, LP
TFP), 1:1 matching within start year × industry, the event-time changes, the
regressions with the white paper's controls and groups and — given a world —
the true effect of the very starters in each regression.
:class:`WhitePaperDid` holds every step, compares estimates with the truth
(:meth:`WhitePaperDid.compare`), tabulates the bars of Figure II-2-4-1
(:meth:`WhitePaperDid.growth`, drawn by
:func:`kaigai_lib.figures.plot_growth_bars`) and draws the event study.
:func:`design_comparison` sets matching alone (levels), DiD alone (all
non-starters) and matching + DiD side by side; :func:`staggered_event_study`
runs pyfixest's staggered-adoption event-study estimators on the unmatched
firm panel for comparison.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

TIDY_COLUMNS = ["outcome", "group", "horizon", "estimate", "std_error", "p_value", "ci_low", "ci_high",
                "n_treated", "n_control", "scale"]
SCALES = {"log": "change_log", "percent": "change_pct", "level": "level_log"}
SCALE_UNITS = {"log": "log points", "percent": "percentage points", "level": "log points"}

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


# --------------------------------------------------------------------------- event-time changes

@dataclass
class EventChanges:
    """Changes from the base year, one row per matched unit × outcome × horizon.

    ``table`` columns: the unit's id, ``pair``, ``treated`` (0/1),
    ``cohort`` (start year ``t``), every ``keep`` column, ``outcome``,
    ``horizon``, ``change_log``, ``change_pct`` and ``level_log`` (the log
    outcome at ``t + h``).
    ``missing``: rows that could not be computed because the firm is not
    observed in the base year or at ``t + h`` — by outcome, horizon and role
    (``missing_starters``/``missing_controls``; of which
    ``base_missing_starters``/``base_missing_controls`` lack the base year).
    ``base_missing``: the units whose base year ``t − 1`` is missing for some
    outcome (id, base year, role, pair, outcomes), so they enter no horizon.
    ``matched``: False for an unmatched design (``pair=None``: every row its
    own unit, as in a DiD on all non-starters).
    """

    table: pd.DataFrame
    missing: pd.DataFrame
    id: str
    horizons: list[int]
    base_missing: pd.DataFrame = field(default_factory=pd.DataFrame)
    matched: bool = True

    def means(self, by: str | Sequence[str] | None = None, scale: str = "percent") -> pd.DataFrame:
        """Average change of starters and of matched non-starters by outcome, horizon (and ``by``)."""
        column = _scale_column(scale)
        keys = ["outcome", "horizon", *([by] if isinstance(by, str) else list(by or []))]
        table = self.table.dropna(subset=[column])
        out = table.groupby([*keys, "treated"], observed=True)[column].mean().unstack("treated")
        return out.rename(columns={0: "matched non-starters", 1: "starters"}).reset_index()


def _scale_column(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"scale={scale!r}: choose 'log' (log points), 'percent' (percent change) or "
                         "'level' (log level at t+h, no difference).")
    return SCALES[scale]


def _matched_frame(matched: Any, treated: str, pair: str | None) -> pd.DataFrame:
    """The matched rows from a DataFrame or a MatchResult, with a clear error for anything unmatched."""
    from kaigai_lib.matching import MatchResult
    from kaigai_lib.samples import MatchingSample
    from kaigai_lib.starts import RiskSet

    if isinstance(matched, MatchResult):
        matched = matched.matched
    elif isinstance(matched, (RiskSet, MatchingSample)):
        raise TypeError(f"event_changes: got a {type(matched).__name__}, i.e. the sample *before* matching. "
                        "Match it first (e.g. MatchingSample.match()) and pass the MatchResult or its "
                        "`.matched` rows; for a DiD on every firm at risk (no matching) pass the rows with "
                        "pair=None.")
    if not isinstance(matched, pd.DataFrame):
        raise TypeError(f"event_changes: matched must be a DataFrame or a MatchResult, got {type(matched).__name__}.")
    if matched.empty:
        raise ValueError("event_changes: the matched sample has no rows — no starter found a match. Check the "
                         "MatchResult's summary() (caliper, exact strata).")
    absent = [c for c in (treated, pair) if c is not None and c not in matched.columns]
    if absent:
        hint = (" This looks like an unmatched sample (a risk set, or MatchResult.data rather than "
                "MatchResult.matched): match first and pass MatchResult.matched, or pass pair=None (and a 0/1 "
                "treated column) for a DiD without matching."
                if {"_pair", "_treated"} & set(absent) or pair in absent else "")
        raise KeyError(f"event_changes: column(s) {absent} not in the matched sample.{hint}")
    return matched


def _check_pairs(units: pd.DataFrame) -> None:
    treated = units["treated"]
    if not treated.isin([0, 1]).all():
        raise ValueError("event_changes: the treated column must be 0/1 (or True/False) in every row.")
    if treated.sum() == 0 or (treated == 0).sum() == 0:
        who = "starters" if treated.sum() == 0 else "controls"
        raise ValueError(f"event_changes: the matched sample has no {who}; a DiD needs both.")
    per_pair = units.groupby("pair")["treated"].agg(["sum", "size"])
    bad_treated = per_pair.index[per_pair["sum"] != 1]
    lonely = per_pair.index[per_pair["size"] < 2]
    if len(bad_treated) or len(lonely):
        raise ValueError(
            f"event_changes: {len(bad_treated)} pair(s) do not have exactly one starter (e.g. "
            f"{list(bad_treated[:5])}) and {len(lonely)} pair(s) have no control (e.g. {list(lonely[:5])}). "
            "Pass MatchResult.matched unchanged (every pair: one starter and its control(s)), or pair=None for "
            "an unmatched design.")


def event_changes(panel: pd.DataFrame, matched: Any, outcomes: Sequence[str], *, id: str = "firm_id",
                  time: str = "year", treated: str = "_treated", pair: str | None = "_pair",
                  horizons: Sequence[int] = (1, 2, 3, 4, 5), pre_horizons: Sequence[int] = (-3, -2),
                  log_outcomes: Sequence[str] = (), keep: Sequence[str] = ()) -> EventChanges:
    """Changes of each outcome from ``t − 1`` to ``t + h`` for every matched unit.

    Parameters
    ----------
    panel : the firm panel holding the outcomes, one row per (``id``, ``time``).
    matched : the matched sample at the base year ``t − 1`` (a
        :class:`~kaigai_lib.matching.MatchResult` or its ``.matched``): ``id``,
        ``time`` (the base year), ``treated`` and ``pair``. A control's pseudo
        start is its row's base year + 1, which is its partner's start year
        when matching is within year. ``pair=None`` declares an unmatched
        design: every row is its own unit (e.g. all firms at risk).
    outcomes : outcome columns of ``panel``; those in ``log_outcomes`` are
        already in logs (e.g. log TFP), the others must be positive levels.
    horizons, pre_horizons : ``h`` for ``t + h``; negative values are the
        placebo years before the start (relative to ``t − 1`` as well).
    keep : columns of ``matched`` to carry along (group, industry, size class…).

    Errors: a start year (base year + 1) outside the panel's years, a
    horizon that no unit can reach within the panel, an unmatched sample
    passed as matched. A unit whose base year is missing in the panel enters
    no horizon: it is counted (``missing``, ``base_missing``) and a warning
    says how many.
    """
    matched = _matched_frame(matched, treated, pair)
    for column in (id, time, *keep):
        if column not in matched.columns:
            raise KeyError(f"event_changes: column '{column}' is not in the matched sample.")
    for column in (id, time):
        if column not in panel.columns:
            raise KeyError(f"event_changes: column '{column}' is not in the panel.")
    missing_outcomes = [o for o in outcomes if o not in panel.columns]
    if missing_outcomes:
        raise KeyError(f"event_changes: outcome(s) {missing_outcomes} not in the panel.")
    if panel.duplicated([id, time]).any():
        raise ValueError(f"event_changes: the panel has duplicate ({id}, {time}) rows.")
    horizons, pre_horizons = [int(h) for h in horizons], [int(h) for h in pre_horizons]
    if any(h < 0 for h in horizons) or any(h >= -1 for h in pre_horizons):
        raise ValueError(f"event_changes: horizons must be ≥ 0 (got {horizons}) and pre_horizons ≤ −2 "
                         f"(got {pre_horizons}); t − 1 is the base year.")
    levels = [o for o in outcomes if o not in log_outcomes]
    for outcome in levels:
        bad = panel[outcome].notna() & (panel[outcome] <= 0)
        if bad.any():
            raise ValueError(f"event_changes: '{outcome}' has {int(bad.sum())} non-positive value(s) "
                             f"(e.g. index {list(panel.index[bad][:5])}); changes in logs and percent need "
                             "positive levels. Pass it in log_outcomes if it is already a log.")

    units = matched[[id, time, treated, *([pair] if pair else []), *keep]].rename(columns={treated: "treated"})
    units = units.assign(pair=np.arange(len(units))) if pair is None else units.rename(columns={pair: "pair"})
    units = units.assign(treated=units["treated"].astype(int), cohort=units[time] + 1).reset_index(drop=True)
    if pair is not None:
        _check_pairs(units)

    # ---- the panel's years bound the start years and the horizons
    first_year, last_year = int(panel[time].min()), int(panel[time].max())
    outside = ~units[time].between(first_year, last_year - 1)
    if outside.any():
        examples = units.loc[outside, [id, "cohort"]].head(5).values.tolist()
        raise ValueError(f"event_changes: {int(outside.sum())} unit(s) have a start year t outside the panel "
                         f"({first_year}–{last_year}; t − 1 and t must both lie in it), e.g. (id, t) = "
                         f"{examples}. Is the matched sample from this panel?")
    earliest, latest = int(units["cohort"].min()), int(units["cohort"].max())
    too_far = [h for h in horizons if earliest + h > last_year]
    if too_far:
        raise ValueError(f"event_changes: horizon(s) {too_far} lie beyond the data: the earliest start year is "
                         f"{earliest} and the panel ends in {last_year}, so t + h ≤ {last_year} needs h ≤ "
                         f"{last_year - earliest}.")
    too_early = [h for h in pre_horizons if latest + h < first_year]
    if too_early:
        raise ValueError(f"event_changes: placebo horizon(s) {too_early} lie before the data: the latest start "
                         f"year is {latest} and the panel starts in {first_year}.")

    logs = panel.set_index([id, time])[list(outcomes)].astype(float)
    logs[levels] = np.log(logs[levels])
    base_keys = pd.MultiIndex.from_arrays([units[id], units[time]])
    base = logs.reindex(base_keys).to_numpy()
    base_absent = np.isnan(base)
    frames, missing = [], []
    all_horizons = sorted({*pre_horizons, *horizons})
    for h in all_horizons:
        target_keys = pd.MultiIndex.from_arrays([units[id], units["cohort"] + h])
        later = logs.reindex(target_keys).to_numpy()
        change = later - base
        for j, outcome in enumerate(outcomes):
            values = change[:, j]
            frame = units.drop(columns=[time]).assign(outcome=outcome, horizon=h, change_log=values,
                                                     change_pct=100 * np.expm1(values), level_log=later[:, j])
            frames.append(frame)
            counts = pd.DataFrame({"outcome": outcome, "horizon": h, "treated": units["treated"],
                                   "missing": np.isnan(values), "base_missing": base_absent[:, j]})
            missing.append(counts.groupby(["outcome", "horizon", "treated"])[["missing", "base_missing"]].sum())
    table = pd.concat(frames, ignore_index=True)
    missing_table = (pd.concat(missing).reset_index()
                     .pivot_table(index=["outcome", "horizon"], columns="treated",
                                  values=["missing", "base_missing"], aggfunc="sum", fill_value=0))
    role = {0: "controls", 1: "starters"}
    missing_table.columns = [f"{name}_{role[t]}" for name, t in missing_table.columns]
    for column in ("missing_starters", "missing_controls", "base_missing_starters", "base_missing_controls"):
        if column not in missing_table.columns:
            missing_table[column] = 0
    missing_table = missing_table[["missing_starters", "missing_controls", "base_missing_starters",
                                   "base_missing_controls"]].astype(int).reset_index()

    any_base_absent = base_absent.any(axis=1)
    base_missing = units.loc[any_base_absent, [id, time, "treated", "pair"]].assign(
        outcomes=[", ".join(o for o, a in zip(outcomes, row, strict=True) if a)
                  for row in base_absent[any_base_absent]])
    if len(base_missing):
        n_start = int(base_missing["treated"].sum())
        warnings.warn(f"event_changes: the base year t − 1 is missing in the panel for {len(base_missing)} "
                      f"unit(s) ({n_start} starter(s), {len(base_missing) - n_start} control(s)); they enter no "
                      "horizon for those outcomes. See EventChanges.base_missing.", UserWarning, stacklevel=2)
    return EventChanges(table=table.dropna(subset=["change_log"]).reset_index(drop=True),
                        missing=missing_table, id=id, horizons=all_horizons,
                        base_missing=base_missing.reset_index(drop=True), matched=pair is not None)


# --------------------------------------------------------------------------- the regressions

@dataclass
class DidResult:
    """Matched DiD estimates: ``table`` has one row per outcome × group × horizon (see TIDY_COLUMNS)."""

    table: pd.DataFrame
    scale: str
    controls: list[str]
    pair_effects: bool
    cluster: list[str] = field(default_factory=list)

    @property
    def units(self) -> str:
        """The unit of every estimate, e.g. "percentage points" (the ``scale`` column of ``table`` says the same)."""
        return SCALE_UNITS[self.scale]

    def estimate(self, outcome: str, group: str | None = None, horizon: int = 5) -> pd.Series:
        rows = self.table.query("outcome == @outcome and horizon == @horizon")
        if group is not None:
            rows = rows.loc[rows["group"] == group]
        if len(rows) != 1:
            raise KeyError(f"no single estimate for outcome={outcome!r}, group={group!r}, horizon={horizon}")
        return rows.iloc[0]

    def plot_event_study(self, outcome: str, truth: pd.DataFrame | None = None,
                         groups: Sequence[str] | None = None) -> plt.Figure:
        """Estimates with 95 % intervals by horizon (placebo years before the start), one panel per group.

        ``truth``: optional table with ``group``, ``horizon`` and ``effect`` (same scale) drawn as a line.
        """
        rows = self.table.loc[self.table["outcome"] == outcome]
        if rows.empty:
            raise KeyError(f"plot_event_study: no estimates for outcome {outcome!r}; outcomes are "
                           f"{sorted(self.table['outcome'].unique())}.")
        groups = list(groups or rows["group"].drop_duplicates())
        fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), sharey=True, squeeze=False)
        plt.close(fig)
        for ax, group in zip(axes[0], groups, strict=True):
            part = rows.loc[rows["group"] == group].sort_values("horizon")
            ax.axhline(0, color="black", linewidth=0.8)
            ax.axvline(-1, color="grey", linestyle=":", linewidth=1)
            ax.errorbar(part["horizon"], part["estimate"],
                        yerr=[part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]],
                        fmt="o", capsize=3, label="matched DiD, 95 % CI")
            if truth is not None:
                true = truth.loc[truth["group"] == group].sort_values("horizon")
                ax.plot(true["horizon"], true["effect"], color="black", marker="x", linestyle="--",
                        label="truth (真の効果)")
            ax.set_title(str(group))
            ax.set_xlabel("years since the start (base year: −1)")
        axes[0][0].set_ylabel(f"effect on {outcome} ({SCALE_UNITS[self.scale]})")
        axes[0][0].legend(fontsize="small")
        fig.tight_layout()
        return fig


def _cluster_columns(changes: EventChanges, cluster: str | Sequence[str] | None) -> list[str]:
    """Cluster variables: None → firm and pair (two-way) for a matched sample, firm for an unmatched one."""
    if cluster is None:
        cluster = "firm+pair" if changes.matched else "firm"
    names = cluster.split("+") if isinstance(cluster, str) else list(cluster)
    columns = [changes.id if name.strip() == "firm" else name.strip() for name in names]
    if len(columns) > 2 or not columns:
        raise ValueError(f"matched_did: cluster={cluster!r}: give one or two cluster variables, e.g. 'firm', "
                         "'pair' or 'firm+pair'.")
    if "pair" in columns and not changes.matched:
        raise ValueError("matched_did: cluster by pair needs a matched sample; these changes are unmatched "
                         "(pair=None).")
    return columns


def _small_sample(part: pd.DataFrame, clusters: list[str], fixed: Sequence[str]) -> dict[str, Any]:
    """pyfixest's small-sample correction: no (N − 1)/(N − k) for fixed effects constant within every pair.

    When the pair is a cluster and every fixed effect takes one value per
    pair (the white paper's start year, industry and size class: the match is
    exact on them), a pair's score is half its starter-minus-control
    difference whatever the fixed effects are, so CRV1 by pair is the paired
    difference's variance s²_d / n_pairs times G/(G − 1). pyfixest's default
    (``k_fixef="nonnested"``) counts those fixed effects in k all the same —
    they are not nested in the pairs, the pairs are nested in them — which
    inflates the variance by (N − 1)/(N − k): by half or more in a small cell
    with many start years (``benchmarks/did_coverage.py``, export 50–99). Any
    other case keeps pyfixest's default.
    """
    import pyfixest as pf

    constant = "pair" in clusters and all(part.groupby("pair", observed=True)[name].nunique().max() <= 1
                                          for name in fixed)
    return pf.ssc(k_fixef="none") if constant else pf.ssc()


def matched_did(changes: EventChanges, *, group: str | None = None, controls: Sequence[str] = ("cohort",),
                cluster: str | Sequence[str] | None = None, pair_effects: bool = False, scale: str = "percent",
                outcomes: Sequence[str] | None = None, horizons: Sequence[int] | None = None) -> DidResult:
    """One regression per outcome × horizon × group of the change on the starter dummy.

    ``change = α + τ·starter + FE(controls) [+ FE(pair)] + u``, with
    ``controls`` absorbed as fixed effects (the white paper controls for
    year, industry and — for exports — size class; pass e.g.
    ``["cohort", "industry", "size"]``), standard errors clustered by
    ``cluster`` (default below), estimated with pyfixest. ``τ`` is the
    DiD estimate of the ATT at that horizon (negative horizons: placebo).
    ``cluster``: "firm" (the id column), "pair", "firm+pair" (two-way,
    CRV1, as pyfixest's ``vcov={"CRV1": "firm_id+pair"}``) or one or two
    column names. Default: firm + pair for a matched sample — a starter
    and its control share their cohort's shocks, and a firm that is a
    control in several cohorts appears in several pairs, so neither
    one-way clustering covers both (the DiD chapter shows the difference) —
    and firm for an unmatched one. With the pair among the clusters and
    fixed effects that are constant within pairs, the small-sample
    correction is G/(G − 1) alone (:func:`_small_sample`): CRV1 by pair is
    then exactly the paired t-test.
    ``scale``: "percent" (the white paper's percent change from ``t − 1``),
    "log" (log points) or "level" (the log level at ``t + h``: no
    difference, i.e. matching alone). ``n_treated``/``n_control`` count the
    rows used; a cell with fewer than two of either gets NaN, not an error.
    """
    import pyfixest as pf

    column = _scale_column(scale)
    if not isinstance(changes, EventChanges):
        raise TypeError(f"matched_did: pass the EventChanges from event_changes(), not {type(changes).__name__}.")
    clusters = _cluster_columns(changes, cluster)
    data = changes.table
    for name in (*controls, *clusters, *([group] if group else [])):
        if name not in data.columns:
            raise KeyError(f"matched_did: column '{name}' is not in the event changes; add it with keep=[...].")
    if pair_effects and not changes.matched:
        raise ValueError("matched_did: pair_effects=True needs a matched sample; these changes are unmatched "
                         "(pair=None).")
    fixed = [*controls, *(["pair"] if pair_effects else [])]
    formula = f"{column} ~ treated" + (f" | {' + '.join(fixed)}" if fixed else "")
    rows = []
    selected = data.dropna(subset=[column])
    if outcomes is not None:
        selected = selected.loc[selected["outcome"].isin(outcomes)]
    if horizons is not None:
        unknown = sorted(set(horizons) - set(changes.horizons))
        if unknown:
            raise ValueError(f"matched_did: horizon(s) {unknown} were not computed; event_changes gave "
                             f"{changes.horizons}.")
        selected = selected.loc[selected["horizon"].isin(horizons)]
    keys = ["outcome", "horizon", *([group] if group else [])]
    for key, part in selected.groupby(keys, sort=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        n_treated = int(part["treated"].sum())
        n_control = int((1 - part["treated"]).sum())
        label = key[2] if group else "all"
        if n_treated < 2 or n_control < 2:
            rows.append([key[0], label, key[1], np.nan, np.nan, np.nan, np.nan, np.nan, n_treated, n_control])
            continue
        with warnings.catch_warnings():
            # pyfixest's own pandas deprecation notices and its note on singleton pairs are not the user's
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*inplace keyword.*")
            warnings.filterwarnings("ignore", message=".*singleton fixed effect.*")
            fit = pf.feols(formula, part, vcov={"CRV1": "+".join(clusters)}, ssc=_small_sample(part, clusters, fixed))
        tidy = fit.tidy().loc["treated"]
        rows.append([key[0], label, key[1], tidy["Estimate"], tidy["Std. Error"], tidy["Pr(>|t|)"],
                     tidy["2.5%"], tidy["97.5%"], n_treated, n_control])
    table = pd.DataFrame(rows, columns=TIDY_COLUMNS[:-1]).assign(scale=scale)
    return DidResult(table=table, scale=scale, controls=list(controls), pair_effects=pair_effects,
                     cluster=clusters)


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


def _own_true_effects(rows: pd.DataFrame, id: str, world: Any, analysis: str) -> pd.Series:
    """Each row's own true effect of ``analysis`` on its log outcome from ``t − 1`` to ``t + h`` (``world.latent``)."""
    from kaigai_lib.synthetic import OUTCOMES

    if analysis not in ("export", "fdi"):
        raise ValueError(f"analysis={analysis!r}: choose 'export' or 'fdi'.")
    unknown = sorted(set(rows["outcome"]) - set(OUTCOMES))
    if unknown:
        raise ValueError(f"true_effects: no true effect for outcome(s) {unknown}; the world has {list(OUTCOMES)}.")
    latent = world.latent.set_index(["firm_id", "year"])
    tau = pd.Series(np.nan, index=rows.index)
    for outcome, part in rows.groupby("outcome", sort=False):
        effect = latent[f"{outcome}_{analysis}_effect"]
        ids, cohort = part[id].to_numpy(), part["cohort"].to_numpy()
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
    sample : the :class:`~kaigai_lib.samples.MatchingSample` (firms at risk at ``t − 1``).
    match : the :class:`~kaigai_lib.matching.MatchResult` (1:1 within start year × industry).
    changes : the :class:`EventChanges` of the matched pairs in the kept groups;
        ``group`` is the starter's group (size class at ``t − 1`` or sector), which its control shares.
    result : the :class:`DidResult` (one regression per outcome × group × horizon).
    panel : the outcome panel (levels; TFP in logs) the changes were read from.
    groups : the groups kept.
    dropped : matched pairs left out because their starter's group is not kept (e.g. "under 50").
    lost : per outcome × group × horizon, the matched pairs (``pairs_matched``), those with every
        member observed at ``t − 1`` and ``t + h`` (``pairs_used``) and the difference (``pairs_lost``):
        late cohorts cannot reach long horizons, and firms leave the panel.
    design : the matching specification ("white_paper" or "robust").
    control_pool : who may be a control: "all" non-starters (the white paper's) or "clean" ones, which do not
        start within ``t + 1 … t + clean_window`` (:func:`~kaigai_lib.samples.matching_sample`).
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

    @property
    def table(self) -> pd.DataFrame:
        """The tidy estimates, with ``truth`` (same scale) and ``covered`` (truth inside the 95 % CI) given a world."""
        table = self.result.table
        if self.truth is None:
            return table.copy()
        column = "true_pct" if self.scale == "percent" else "true_log"
        truth = self.truth[["outcome", "group", "horizon", column]].rename(columns={column: "truth"})
        out = table.merge(truth, on=["outcome", "group", "horizon"], how="left", validate="one_to_one")
        out["error"] = out["estimate"] - out["truth"]
        out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
        return out

    def compare(self, horizon: int = 5, outcomes: Sequence[str] | None = None) -> pd.DataFrame:
        """Estimate next to the truth at one horizon, a row per outcome × group (needs a world)."""
        if self.truth is None:
            raise ValueError("compare(): no truth: run white_paper_did on a World (or pass world=…).")
        table = self.table.loc[lambda t: t["horizon"] == horizon]
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
        estimates = self.table.loc[self.table["horizon"] == horizon]
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
        """This analysis's panels of Figure II-2-4-1 (:func:`kaigai_lib.figures.plot_growth_bars`)."""
        from kaigai_lib.figures import plot_growth_bars

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

    def summary(self) -> pd.DataFrame:
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


def _subset(changes: EventChanges, table: pd.DataFrame) -> EventChanges:
    return EventChanges(table=table, missing=changes.missing, id=changes.id, horizons=changes.horizons,
                        base_missing=changes.base_missing, matched=changes.matched)


def outcome_panel(firms: pd.DataFrame, sample: Any, outcomes: Sequence[str], *, firm_col: str = "firm_id",
                  year_col: str = "year", employees_col: str = "employees", sales_col: str = "sales",
                  capital_col: str = "capital_stock", compensation_col: str = "compensation",
                  value_added_col: str = "value_added", intermediates_col: str = "intermediate_inputs",
                  tfp_col: str | None = None) -> pd.DataFrame:
    """The outcomes of every firm-year under the world's names: levels, and log TFP from the sample's LP fit."""
    from kaigai_lib import tfp as tfp_module

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

    Steps: :func:`~kaigai_lib.samples.matching_sample` (firms at risk at
    ``t − 1``, LP TFP by industry unless ``tfp_col`` is given), 1:1 matching
    within start year × industry (:meth:`MatchingSample.match`, options in
    ``match_options``), the changes from ``t − 1`` to ``t + h`` of each
    matched firm (:func:`event_changes`), and one regression per outcome ×
    group × horizon (:func:`matched_did`) with the white paper's controls —
    start year, industry and (exports) the size class at ``t − 1`` — and
    standard errors clustered by firm.

    Parameters
    ----------
    data : a :class:`~kaigai_lib.synthetic.World` (its truth is attached) or a firm panel.
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
    design : "white_paper" (the white paper's covariates at ``t − 1``) or
        "robust" (also the growth ``t − 2 → t − 1`` of employees and sales
        and TFP at ``t − 2``; :func:`~kaigai_lib.samples.matching_sample`).
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
    sample_options : column names etc. for ``matching_sample`` (``firm_col``, ``tfp_col``, …).
    """
    from kaigai_lib.samples import ANALYSES, matching_sample
    from kaigai_lib.synthetic import OUTCOMES, World

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
    if not horizons or min(horizons) < 1:
        raise ValueError(f"horizons={list(horizons)}: give years after the start, 1 or more.")
    firm_col = sample_options.get("firm_col", "firm_id")
    year_col = sample_options.get("year_col", "year")
    industry_col = sample_options.get("industry_col", "industry")
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
    matched = matched.loc[kept]
    keep = ["group", industry_col]
    if analysis == "export":
        matched["size"] = matched["size"].astype(str)
        keep.append("size")
    controls = [industry_col if c == "industry" else c for c in WHITE_PAPER_CONTROLS[analysis]]
    column_options = {k: v for k, v in sample_options.items()
                      if k in ("firm_col", "year_col", "employees_col", "sales_col", "capital_col",
                               "compensation_col", "value_added_col", "intermediates_col", "tfp_col")}
    panel = outcome_panel(firms, sample, outcomes, **column_options)
    # the adjustment needs every event year 0 … max(horizons) (the same whichever of them are reported)
    computed = sorted({*horizons, *range(max(horizons) + 1)}) if later_starts == "adjust" else horizons
    changes = event_changes(panel, matched, outcomes, id=firm_col, time=year_col, horizons=computed,
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
    unmatched = event_changes(wp.panel, at_risk, outcomes, id=wp.changes.id, time=wp.sample.settings["year_col"],
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
    from kaigai_lib.figures import OUTCOME_LABELS, _new_figure

    outcomes = list(outcomes or table["outcome"].unique())
    groups = list(groups or table["group"].unique())
    designs = list(dict.fromkeys(table["design"]))
    fig, axes = _new_figure(1, len(outcomes), figsize=(3.3 * len(outcomes), 1.4 + 0.55 * len(groups)), sharey=True)
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


# --------------------------------------------------------------------------- staggered adoption (pyfixest)

STAGGERED_ESTIMATORS = {
    "twfe": "TWFE, static (pyfixest event_study 'twfe')",
    "did2s": "Gardner two-stage, static (pyfixest 'did2s')",
    "twfe_dynamic": "TWFE event study (leads and lags)",
    "saturated": "Sun–Abraham (pyfixest 'saturated')",
}


@dataclass
class StaggeredEventStudy:
    """pyfixest's event-study estimators on the unmatched firm panel (staggered adoption).

    ``panel``: the firm-years used (``y`` the log outcome, ``g`` the start
    year, 0 for never-starters, ``rel`` = year − g); ``dropped``: firm-years
    left out and why; ``static``: one ATT per static estimator; ``dynamic``:
    estimates by horizon (relative to ``t − 1``); ``truth``: with a world,
    the true effect (log points) averaged over the starters' firm-years at
    each horizon, and ``static_truth`` over all their post-start firm-years.
    """

    analysis: str
    outcome: str
    panel: pd.DataFrame
    dropped: pd.Series
    static: pd.DataFrame
    dynamic: pd.DataFrame
    truth: pd.DataFrame | None = None

    def compare(self, horizons: Sequence[int] = (5,)) -> pd.DataFrame:
        """Dynamic estimates at the given horizons next to the truth (needs a world)."""
        table = self.dynamic.loc[self.dynamic["horizon"].isin(horizons)]
        if self.truth is not None:
            table = table.merge(self.truth, on="horizon", how="left")
            table["bias"] = table["estimate"] - table["truth"]
        return table.reset_index(drop=True)

    def plot(self, matched: pd.DataFrame | None = None, matched_truth: pd.DataFrame | None = None) -> plt.Figure:
        """Event-study estimates (95 % CI) of each dynamic estimator, the truth, and optionally the matched DiD.

        ``matched``: a table with ``horizon``, ``estimate``, ``ci_low``,
        ``ci_high`` (log points, e.g. ``matched_did(..., scale="log").table``
        pooled over groups); ``matched_truth``: ``horizon``, ``effect``.
        """
        from kaigai_lib.figures import OUTCOME_LABELS, _new_figure

        fig, axes = _new_figure(figsize=(8.5, 4.2))
        ax = axes[0, 0]
        series = [(STAGGERED_ESTIMATORS[e], part) for e, part in self.dynamic.groupby("estimator", sort=False)]
        if matched is not None:
            series.append(("matched DiD (white paper), all groups", matched))
        offsets = np.linspace(-0.2, 0.2, len(series))
        for k, (label, part) in enumerate(series):
            part = part.sort_values("horizon")
            ax.errorbar(part["horizon"] + offsets[k], part["estimate"],
                        yerr=[part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]],
                        fmt="os^D"[k % 4], ms=4, capsize=2, color=f"C{k}", label=label)
        if self.truth is not None:
            truth = pd.concat([self.truth, pd.DataFrame({"horizon": [-1], "truth": [0.0]})]).sort_values("horizon")
            ax.plot(truth["horizon"], truth["truth"], color="black", linestyle="--",
                    label="truth, all starters (真の効果)")
        if matched_truth is not None:
            mt = matched_truth.sort_values("horizon")
            ax.plot(mt["horizon"], mt["effect"], color="0.45", linestyle=":", label="truth, matched starters")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.axvline(-1, color="grey", linestyle=":", linewidth=1)
        ax.set(xlabel="years since the start (reference: t − 1)",
               ylabel=f"effect on log {self.outcome} (log points)",
               title=f"{OUTCOME_LABELS.get(self.outcome, self.outcome).replace(chr(10), ' ')}: "
                     f"{self.analysis} starters, staggered adoption")
        ax.legend(fontsize=7.5, loc="upper left")
        return fig


def staggered_event_study(data: Any, analysis: str = "export", outcome: str = "sales", *,
                          window: tuple[int, int] = (-5, 10),
                          estimators: Sequence[str] = ("twfe", "twfe_dynamic", "saturated"),
                          world: Any = None, firm_col: str = "firm_id", year_col: str = "year",
                          start_col: str | None = None, status_col: str | None = None,
                          outcome_col: str | None = None) -> StaggeredEventStudy:
    """Event studies with staggered adoption on the whole (unmatched) firm panel, with pyfixest.

    The sample is the firms that start ``analysis`` while observed
    (``start_col``, e.g. ``export_start_year``) and the firms never seen with
    it; firms already treated when they enter the panel (start unknown) are
    dropped and counted, as are firms with fewer than two untreated years
    (Gardner's two-stage estimator needs their fixed effect from untreated
    years). Estimators: ``twfe`` and ``did2s`` (static ATT,
    ``pyfixest.event_study``), ``twfe_dynamic`` (``feols`` with leads and
    lags ``i(rel, ref=-1)``; never-starters sit in the reference; leads and
    lags beyond ``window`` are binned at its ends) and ``saturated`` (the
    cohort × event-time interacted regression of Sun & Abraham, aggregated
    by event time with cohort-share weights; starters' firm-years more than
    one year outside ``window`` are trimmed, which keeps the regression to a
    few hundred coefficients). Standard errors are clustered by firm. The
    outcome is in logs. ``did2s`` is not in the default list: its GMM
    variance takes minutes on a panel of the book world's size.
    """
    import pyfixest as pf

    from kaigai_lib.synthetic import World

    if isinstance(data, World):
        world, firms = data, data.firms
    elif isinstance(data, pd.DataFrame):
        firms = data
    else:
        raise TypeError(f"staggered_event_study: data must be a World or a DataFrame, not {type(data).__name__}.")
    if analysis not in ("export", "fdi"):
        raise ValueError(f"analysis={analysis!r}: choose 'export' or 'fdi'.")
    unknown = [e for e in estimators if e not in STAGGERED_ESTIMATORS]
    if unknown:
        raise ValueError(f"estimators {unknown} unknown; choose from {list(STAGGERED_ESTIMATORS)}.")
    start_col = start_col or f"{analysis}_start_year"
    status_col = status_col or {"export": "exporter", "fdi": "fdi"}[analysis]
    outcome_col = outcome_col or outcome
    for column in (firm_col, year_col, start_col, status_col, outcome_col):
        if column not in firms.columns:
            raise KeyError(f"staggered_event_study: column '{column}' is not in the data.")
    values = firms[outcome_col].astype(float)
    if (values <= 0).any() or values.isna().any():
        raise ValueError(f"staggered_event_study: '{outcome_col}' must be positive and present (logs).")
    ever = firms.groupby(firm_col)[status_col].transform("max").astype(bool)
    start = firms[start_col].astype("Float64")
    panel = pd.DataFrame({"firm_id": firms[firm_col].to_numpy(), "year": firms[year_col].to_numpy(),
                          "y": np.log(values.to_numpy()), "g": start.fillna(0).astype(int).to_numpy()})
    censored = (ever & start.isna()).to_numpy()
    untreated = (panel["g"] == 0) | (panel["year"] < panel["g"])
    thin = (untreated.groupby(panel["firm_id"]).transform("sum") < 2).to_numpy() & ~censored
    dropped = pd.Series({"treated before entering the panel (start unknown)": int(censored.sum()),
                         "fewer than two untreated years": int(thin.sum())}, name="firm-years")
    keep = ~censored & ~thin
    if world is not None:
        # by key, never by position: the data may be sorted or filtered differently from world.latent
        latent = world.latent.set_index(["firm_id", "year"])[f"{outcome}_{analysis}_effect"]
        keys = pd.MultiIndex.from_arrays([panel["firm_id"], panel["year"]])
        panel["effect"] = latent.reindex(keys).to_numpy()
        unknown = panel["effect"].isna() & keep
        if unknown.any():
            examples = panel.loc[unknown, ["firm_id", "year"]].head(5).values.tolist()
            raise ValueError(f"staggered_event_study: {int(unknown.sum())} firm-year(s) of the data are not in "
                             f"world.latent (e.g. (firm, year) = {examples}): is the data from this world?")
    panel = panel.loc[keep].reset_index(drop=True)
    treated_firm = panel["g"] > 0
    panel["rel"] = np.where(treated_firm, panel["year"] - panel["g"], -1)
    lo, hi = window
    panel["rel_binned"] = panel["rel"].clip(lo - 1, hi + 1)

    static, dynamic = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for estimator in estimators:
            if estimator in ("twfe", "did2s"):
                fit = pf.event_study(panel, yname="y", idname="firm_id", tname="year", gname="g",
                                     estimator=estimator)
                row = fit.tidy().iloc[0]
                static.append({"estimator": estimator, "label": STAGGERED_ESTIMATORS[estimator],
                               "estimate": row["Estimate"], "std_error": row["Std. Error"],
                               "ci_low": row["2.5%"], "ci_high": row["97.5%"]})
            elif estimator == "twfe_dynamic":
                fit = pf.feols("y ~ i(rel_binned, ref=-1) | firm_id + year", panel, vcov={"CRV1": "firm_id"})
                tidy = fit.tidy()
                horizon = tidy.index.str.extract(r"::(-?\d+)")[0].astype(int).to_numpy()
                dynamic.append(pd.DataFrame({"estimator": estimator, "horizon": horizon,
                                             "estimate": tidy["Estimate"].to_numpy(),
                                             "std_error": tidy["Std. Error"].to_numpy(),
                                             "ci_low": tidy["2.5%"].to_numpy(), "ci_high": tidy["97.5%"].to_numpy()}))
            else:
                trimmed = panel.loc[(panel["g"] == 0) | panel["rel"].between(lo - 1, hi + 1)]
                fit = pf.event_study(trimmed, yname="y", idname="firm_id", tname="year", gname="g",
                                     estimator="saturated")
                agg = fit.aggregate().astype(float)
                dynamic.append(pd.DataFrame({"estimator": estimator, "horizon": agg.index.astype(int),
                                             "estimate": agg["Estimate"].to_numpy(),
                                             "std_error": agg["Std. Error"].to_numpy(),
                                             "ci_low": agg["2.5%"].to_numpy(), "ci_high": agg["97.5%"].to_numpy()}))
    dynamic_table = (pd.concat(dynamic, ignore_index=True) if dynamic
                     else pd.DataFrame(columns=["estimator", "horizon", "estimate", "std_error", "ci_low", "ci_high"]))
    dynamic_table = dynamic_table.loc[dynamic_table["horizon"].between(lo, hi)].reset_index(drop=True)
    static_table = pd.DataFrame(static)
    truth = None
    if world is not None:
        post = panel.loc[treated_firm & (panel["rel"] >= 0)]
        truth = (post.loc[post["rel"] <= hi].groupby("rel")["effect"].mean().rename("truth")
                 .rename_axis("horizon").reset_index())
        pre = pd.DataFrame({"horizon": [h for h in range(lo, -1)], "truth": 0.0})
        truth = pd.concat([pre, truth], ignore_index=True)
        if len(static_table):
            static_table["truth"] = float(post["effect"].mean())
            static_table["bias"] = static_table["estimate"] - static_table["truth"]
    panel = panel.drop(columns=[c for c in ("effect",) if c in panel.columns])
    return StaggeredEventStudy(analysis=analysis, outcome=outcome, panel=panel, dropped=dropped,
                               static=static_table, dynamic=dynamic_table, truth=truth)


# --------------------------------------------------------------------------- coverage of the intervals

def coverage_replication(seed: int, *, preset: str = "tiny", horizon: int = 5,
                         analyses: Sequence[str] = ("export", "fdi"), scale: str = "percent",
                         designs: Sequence[str] = ("white_paper",), cluster: str | Sequence[str] | None = None,
                         world_params: dict[str, Any] | None = None) -> pd.DataFrame:
    """One replication of the coverage study: a fresh world, the white paper's whole DiD, estimates vs truth.

    The whole pipeline runs — Levinsohn–Petrin TFP, matching, event-time
    changes, regressions — at one ``horizon``; the truth is the realised
    ATT of the starters in each cell (:func:`true_effects`). Returns one
    row per design × analysis × group × outcome with ``seed``, ``design``
    (each of ``designs``: "white_paper", "robust", or either with "+clean"
    for clean controls, e.g. "robust+clean": :func:`design_options`), the estimate, its
    interval, the truth and ``covered``; a cell with too few firms for a
    regression has NaN estimates and ``covered`` NaN (counted apart, never as a miss).
    """
    from kaigai_lib.synthetic import generate

    params = {"n_establishments": 100, **(world_params or {})}
    world = generate(preset=preset, seed=int(seed), **params)
    frames = []
    for design in designs:
        for analysis in analyses:
            wp = white_paper_did(world, analysis, horizons=[horizon], pre_horizons=[], scale=scale,
                                 cluster=cluster, **design_options(design))
            frames.append(wp.compare(horizon).assign(design=design))
    out = pd.concat(frames, ignore_index=True).assign(seed=int(seed))
    out["covered"] = out["covered"].where(out["estimate"].notna())
    return out


def design_options(label: str) -> dict[str, str]:
    """Options of ``white_paper_did`` for a design label: "robust", "robust+clean" (clean controls) or
    "robust+adjust" (controls' own later effects subtracted)."""
    from kaigai_lib.samples import MATCHING_DESIGNS

    design, *extras = label.split("+")
    options = {"design": design, "control_pool": "all", "later_starts": "keep"}
    for extra in extras:
        if extra == "clean":
            options["control_pool"] = "clean"
        elif extra == "adjust":
            options["later_starts"] = "adjust"
        else:
            design = ""
    if design not in MATCHING_DESIGNS:
        raise ValueError(f"design {label!r}: use a matching design {list(MATCHING_DESIGNS)}, optionally with "
                         "'+clean' (clean controls) or '+adjust' (later starts adjusted), e.g. 'robust+clean'.")
    return options


def coverage_study(seeds: Iterable[int], *, n_jobs: int = 1, **options: Any) -> pd.DataFrame:
    """:func:`coverage_replication` for every seed (in parallel with ``n_jobs`` > 1, via joblib)."""
    seeds = list(seeds)
    if n_jobs == 1:
        frames = [coverage_replication(s, **options) for s in seeds]
    else:
        from joblib import Parallel, delayed

        frames = Parallel(n_jobs=n_jobs)(delayed(coverage_replication)(s, **options) for s in seeds)
    return pd.concat(frames, ignore_index=True)


def coverage_summary(cells: pd.DataFrame, by: str | Sequence[str] = "outcome") -> pd.DataFrame:
    """Share of 95 % intervals containing the truth, with its binomial standard error and the mean z-score.

    ``z`` = (estimate − truth) / std_error: a mean far from 0 is bias, a
    standard deviation above 1 means the standard errors are too small.
    Cells without an estimate are counted in ``n_missing``.
    """
    data = cells.assign(z=(cells["estimate"] - cells["truth"]) / cells["std_error"])
    grouped = data.groupby(by, observed=True)
    out = grouped.agg(intervals=("covered", "count"), coverage=("covered", "mean"), mean_z=("z", "mean"),
                      sd_z=("z", "std"), n_missing=("estimate", lambda s: int(s.isna().sum())))
    out["coverage"] = out["coverage"].astype(float)
    out["binomial_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["intervals"])
    return out[["intervals", "coverage", "binomial_se", "mean_z", "sd_z", "n_missing"]]
