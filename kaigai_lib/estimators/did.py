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

:func:`staggered_event_study` runs pyfixest's staggered-adoption event-study estimators on an unmatched
firm panel. The white paper's whole design (matching sample, groups, controls, the truth) is
:func:`kaigai_lib.whitepaper.did_design.white_paper_did`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import matplotlib_fontja  # noqa: F401  (registers the IPAex font: the plots' Japanese labels render)
import numpy as np
import pandas as pd

from kaigai_lib.data.schema import as_binary, as_numbers, as_years, check_frame, check_keys, is_number
from kaigai_lib.data.starts import unit_start_years
from kaigai_lib.estimators.results import normal_inference, order_tidy, summary_block

TIDY_COLUMNS = ["outcome", "group", "horizon", "estimate", "std_error", "p_value", "ci_low", "ci_high",
                "n_treated", "n_control", "scale"]
SCALES = {"log": "change_log", "percent": "change_pct", "level": "level_log"}
SCALE_UNITS = {"log": "log points", "percent": "percentage points", "level": "log points"}
SKIPPED_COLUMNS = ["outcome", "group", "horizon", "n_treated", "n_control", "reason"]

# --------------------------------------------------------------------------- event-time changes

def as_horizons(values: Any, name: str, where: str) -> list[int]:
    """Event years (``horizons``, ``pre_horizons``) as whole numbers, or an error naming the argument and the fix.

    ``int(h)`` read 2.7 as 2 and the text "12" as the years 1 and 2; a single number is not a list of years.

    Examples
    --------
    >>> from kaigai_lib.estimators.did import as_horizons
    >>> as_horizons((1, 3.0), "horizons", "my analysis")
    [1, 3]
    >>> as_horizons(5, "horizons", "my analysis")
    Traceback (most recent call last):
        ...
    ValueError: my analysis: horizons=5 must be a list of whole numbers of years, e.g. horizons=[5].
    """
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        example = f"[{values}]" if isinstance(values, (int, np.integer)) else "[1, 3, 5]"
        raise ValueError(f"{where}: {name}={values!r} must be a list of whole numbers of years, e.g. "
                         f"{name}={example}.")
    years = []
    for h in values:
        if not is_number(h) or not np.isfinite(h) or float(h) != int(h):
            raise ValueError(f"{where}: {name} holds {h!r}, which is not a whole number of years; give years "
                             f"after the start such as {name}=[1, 3, 5].")
        years.append(int(h))
    repeated = sorted({h for h in years if years.count(h) > 1})
    if repeated:
        raise ValueError(f"{where}: {name} lists {repeated} more than once; give each year once.")
    return years


def as_outcomes(values: Any, where: str) -> list[str]:
    """Outcome column names as a list, each once: text is one name, not a sequence of letters."""
    names = [values] if isinstance(values, str) else list(values)
    repeated = sorted({o for o in names if names.count(o) > 1}, key=str)
    if repeated:
        raise ValueError(f"{where}: outcomes lists {repeated} more than once; give each outcome once.")
    return names


@dataclass
class EventChanges:
    """Changes from the base year, one row per matched unit × outcome × horizon.

    ``table`` columns: the unit column (named by ``unit``), ``pair``, ``treated`` (0/1),
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

    Examples
    --------
    What :func:`event_changes` returns; ``unit`` names the unit column of ``table``:

    >>> import numpy as np
    >>> from kaigai_lib import event_changes, generate, matched_did, propensity_match, risk_set
    >>> world = generate("tiny", seed=0)
    >>> at_risk = risk_set(world.firms, "exporter", first_start_year=2006, last_start_year=2006).rows
    >>> at_risk = at_risk.assign(log_employees=np.log(at_risk["employees"]), log_sales=np.log(at_risk["sales"]))
    >>> match = propensity_match(at_risk, "start", ["log_employees", "log_sales"], unit="firm_id")
    >>> changes = event_changes(world.firms, match, ["sales"], horizons=[1, 3], pre_horizons=[-2])
    >>> changes.unit, changes.horizons, changes.matched
    ('firm_id', [-2, 1, 3], True)
    >>> changes.table[[changes.unit, "pair", "treated", "outcome", "horizon", "change_log"]].head(3).round(3)
       firm_id  pair  treated outcome  horizon  change_log
    0     1853     0        1   sales       -2      -0.080
    1     1808     0        0   sales       -2      -0.071
    2      103     1        1   sales       -2      -0.180
    """

    table: pd.DataFrame
    missing: pd.DataFrame
    unit: str  # the name of the unit column of ``table`` (e.g. "firm_id")
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
    from kaigai_lib.estimators.matching import MatchResult

    if isinstance(matched, MatchResult):
        matched = matched.matched
    elif not isinstance(matched, pd.DataFrame) and hasattr(matched, "rows"):  # a RiskSet or a MatchingSample
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


def event_changes(panel: pd.DataFrame, matched: Any, outcomes: Sequence[str], *, unit: str = "firm_id",
                  time: str = "year", treated: str = "_treated", pair: str | None = "_pair",
                  horizons: Sequence[int] = (1, 2, 3, 4, 5), pre_horizons: Sequence[int] = (-3, -2),
                  log_outcomes: Sequence[str] = (), keep: Sequence[str] = ()) -> EventChanges:
    """Changes of each outcome from ``t − 1`` to ``t + h`` for every matched unit.

    Parameters
    ----------
    panel : pd.DataFrame
        the firm panel holding the outcomes, one row per (``unit``, ``time``).
    matched : Any
        the matched sample at the base year ``t − 1`` (a
        :class:`~kaigai_lib.estimators.matching.MatchResult` or its ``.matched``): ``unit``,
        ``time`` (the base year), ``treated`` and ``pair``. A control's pseudo
        start is its row's base year + 1, which is its partner's start year
        when matching is within year. ``pair=None`` declares an unmatched
        design: every row is its own unit (e.g. all firms at risk).
    outcomes : Sequence[str]
        outcome columns of ``panel``; those in ``log_outcomes`` are
        already in logs (e.g. log TFP), the others must be positive levels.
    horizons, pre_horizons : Sequence[int], optional
        ``h`` for ``t + h``; negative values are the
        placebo years before the start (relative to ``t − 1`` as well).
    keep : Sequence[str], optional
        columns of ``matched`` to carry along (group, industry, size class…).

    Notes
    -----
    Errors: a start year (base year + 1) outside the panel's years, a
    horizon that no unit can reach within the panel, an unmatched sample
    passed as matched. A unit whose base year is missing in the panel enters
    no horizon: it is counted (``missing``, ``base_missing``) and a warning
    says how many.

    Examples
    --------
    Changes of sales from the base year 2005 to one and three years after the 2006 start (and a placebo
    two years before), for the matched starters and their controls:

    >>> import numpy as np
    >>> from kaigai_lib import event_changes, generate, matched_did, propensity_match, risk_set
    >>> world = generate("tiny", seed=0)
    >>> at_risk = risk_set(world.firms, "exporter", first_start_year=2006, last_start_year=2006).rows
    >>> at_risk = at_risk.assign(log_employees=np.log(at_risk["employees"]), log_sales=np.log(at_risk["sales"]))
    >>> match = propensity_match(at_risk, "start", ["log_employees", "log_sales"], unit="firm_id")
    >>> changes = event_changes(world.firms, match, ["sales"], horizons=[1, 3], pre_horizons=[-2])
    >>> changes.table.groupby(["horizon", "treated"]).size()
    horizon  treated
    -2       0          17
             1          18
     1       0          18
             1          19
     3       0          16
             1          18
    dtype: int64
    >>> changes.means(scale="log").round(3)
    treated outcome  horizon  matched non-starters  starters
    0         sales       -2                 0.008    -0.092
    1         sales        1                -0.038     0.015
    2         sales        3                -0.073    -0.024
    """
    matched = _matched_frame(matched, treated, pair)
    horizons = as_horizons(horizons, "horizons", "event_changes")
    pre_horizons = as_horizons(pre_horizons, "pre_horizons", "event_changes")
    outcomes = as_outcomes(outcomes, "event_changes")
    panel, matched, levels = _check_event_inputs(panel, matched, outcomes, (unit, time, treated, pair), keep, horizons,
                                                 pre_horizons, log_outcomes)
    units = matched[[unit, time, treated, *([pair] if pair else []), *keep]].rename(columns={treated: "treated"})
    units = units.assign(pair=np.arange(len(units))) if pair is None else units.rename(columns={pair: "pair"})
    units = units.assign(treated=as_binary(units["treated"], treated, "event_changes: the matched sample").astype(int),
                         cohort=units[time] + 1).reset_index(drop=True)
    if pair is not None:
        _check_pairs(units)
    _check_event_years(units, panel, unit, time, horizons, pre_horizons)

    logs = panel.set_index([unit, time])[list(outcomes)].astype(float)
    logs[levels] = np.log(logs[levels])
    base = logs.reindex(pd.MultiIndex.from_arrays([units[unit], units[time]])).to_numpy()
    base_absent = np.isnan(base)
    all_horizons = sorted({*pre_horizons, *horizons})
    table, missing_table = _changes_by_horizon(units, logs, base, outcomes, all_horizons, unit, time)

    any_base_absent = base_absent.any(axis=1)
    base_missing = units.loc[any_base_absent, [unit, time, "treated", "pair"]].assign(
        outcomes=[", ".join(o for o, a in zip(outcomes, row, strict=True) if a)
                  for row in base_absent[any_base_absent]])
    if len(base_missing):
        n_start = int(base_missing["treated"].sum())
        warnings.warn(f"event_changes: the base year t − 1 is missing in the panel for {len(base_missing)} "
                      f"unit(s) ({n_start} starter(s), {len(base_missing) - n_start} control(s)); they enter no "
                      "horizon for those outcomes. See EventChanges.base_missing.", UserWarning, stacklevel=2)
    return EventChanges(table=table.dropna(subset=["change_log"]).reset_index(drop=True),
                        missing=missing_table, unit=unit, horizons=all_horizons,
                        base_missing=base_missing.reset_index(drop=True), matched=pair is not None)


def _check_event_inputs(panel: pd.DataFrame, matched: pd.DataFrame, outcomes: Sequence[str],
                        keys: tuple[str, str, str, str | None], keep: Sequence[str], horizons: list[int],
                        pre_horizons: list[int],
                        log_outcomes: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Columns present, one panel row per unit and time, horizons on the right side of t − 1, positive levels.

    Returns the panel and the matched sample with their years and outcomes read as numbers (text that is a
    number read, anything else refused naming the rows), and the outcomes in levels (their logs are taken).
    """
    unit, time, treated, pair = keys
    check_frame(panel, "event_changes", "the panel")
    check_frame(matched, "event_changes", "the matched sample")
    for column in (unit, time, *keep):
        if column not in matched.columns:
            raise KeyError(f"event_changes: column '{column}' is not in the matched sample.")
    own = {"treated", "pair", "cohort", "outcome", "horizon", "change_log", "change_pct", "level_log"}
    clashing = [c for c in keep if c in own | {unit, time, treated, pair}]
    if clashing:  # a kept column of that name would be overwritten by (or duplicate) the table's own
        raise ValueError(f"event_changes: keep={list(keep)}: {clashing} name column(s) the changes table writes "
                         f"itself ({sorted(own)}, the unit and the base year); rename them in the matched sample "
                         f"first, e.g. matched.rename(columns={{'{clashing[0]}': "
                         f"'my_{str(clashing[0]).lstrip('_')}'}}).")
    for column in (unit, time):
        if column not in panel.columns:
            raise KeyError(f"event_changes: column '{column}' is not in the panel.")
    missing_outcomes = [o for o in outcomes if o not in panel.columns]
    if missing_outcomes:
        raise KeyError(f"event_changes: outcome(s) {missing_outcomes} not in the panel.")
    for column in (unit, pair):
        unknown = matched[column].isna().to_numpy() if column is not None else np.zeros(0, dtype=bool)
        if unknown.any():  # such a row would find no panel rows (or no partner) and vanish into a count
            raise ValueError(f"event_changes: '{column}' is missing in {int(unknown.sum())} row(s) of the matched "
                             f"sample (index {list(matched.index[unknown][:5])}); pass the matched rows as "
                             "propensity_match returned them, or fill the ids.")
    _check_unit_kinds(panel, matched, unit)
    panel = panel.assign(**{time: as_years(panel[time], time, "event_changes: the panel"),
                            **{o: as_numbers(panel[o], o, "event_changes") for o in outcomes}})
    matched = matched.assign(**{time: as_years(matched[time], time, "event_changes: the matched sample")})
    check_keys(panel, [unit, time], "event_changes", "the panel")
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
    return panel, matched, levels


def _check_unit_kinds(panel: pd.DataFrame, matched: pd.DataFrame, unit: str) -> None:
    """The unit ids are of one kind (numbers or text) in both tables: ids read as 101 in one table and "101" in
    the other match no row, which would look like every unit's data missing."""
    kinds = {table: pd.api.types.is_numeric_dtype(frame[unit]) for table, frame in
             (("panel", panel), ("matched sample", matched))}
    if len(set(kinds.values())) > 1:
        numbers, text = ("panel", "matched sample") if kinds["panel"] else ("matched sample", "panel")
        raise ValueError(f"event_changes: '{unit}' holds numbers in the {numbers} but text in the {text} "
                         f"({panel[unit].dtype} vs {matched[unit].dtype}), so no unit would find its rows. Read "
                         "both with the same type, e.g. .astype(str) on both or pd.to_numeric on the text one.")


def _check_event_years(units: pd.DataFrame, panel: pd.DataFrame, unit: str, time: str, horizons: list[int],
                       pre_horizons: list[int]) -> None:
    """The panel's years bound the start years and the horizons."""
    first_year, last_year = int(panel[time].min()), int(panel[time].max())
    outside = ~units[time].between(first_year, last_year - 1)
    if outside.any():
        examples = units.loc[outside, [unit, "cohort"]].head(5).values.tolist()
        raise ValueError(f"event_changes: {int(outside.sum())} unit(s) have a start year t outside the panel "
                         f"({first_year}–{last_year}; t − 1 and t must both lie in it), e.g. (unit, t) = "
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


def _pair_weights(part: pd.DataFrame, matched: bool) -> tuple[pd.DataFrame, str | None]:
    """With pairs of several sizes (1:k matching, a caliper or a missing change leaving fewer controls, ties kept
    with replacement), each control weighs 1/k of its pair, so every pair counts once, as in the matched ATT
    (``MatchResult.att``); unweighted, a starter with three controls would count three times as much as one
    with one. Returns the rows with ``_pair_weight`` and its name, or the rows and None when every pair has
    one control (the weights would all be 1)."""
    if not matched:
        return part, None
    controls = (1 - part["treated"]).groupby(part["pair"]).transform("sum").to_numpy(float)
    if (controls[part["treated"].to_numpy() == 0] == 1).all():
        return part, None
    weight = np.where(part["treated"].to_numpy() == 1, 1.0, 1.0 / np.maximum(controls, 1.0))
    return part.assign(_pair_weight=weight), "_pair_weight"


def _changes_by_horizon(units: pd.DataFrame, logs: pd.DataFrame, base: np.ndarray, outcomes: Sequence[str],
                        all_horizons: list[int], unit: str, time: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every unit's change from t − 1 at every horizon and outcome, and the counts of changes that are missing
    (no outcome at t + h, or none at t − 1) by outcome × horizon, for starters and controls."""
    base_absent = np.isnan(base)
    frames, missing = [], []
    for h in all_horizons:
        target_keys = pd.MultiIndex.from_arrays([units[unit], units["cohort"] + h])
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
    return table, missing_table


def _subset(changes: EventChanges, table: pd.DataFrame) -> EventChanges:
    # the same changes restricted to some rows (a cell, the complete pairs): what was missing stays reported
    return EventChanges(table=table, missing=changes.missing, unit=changes.unit, horizons=changes.horizons,
                        base_missing=changes.base_missing, matched=changes.matched)


# --------------------------------------------------------------------------- the regressions

@dataclass
class DidResult:
    """Matched DiD estimates: ``table`` has one row per outcome × group × horizon (see TIDY_COLUMNS).

    Examples
    --------
    What :func:`matched_did` returns:

    >>> import numpy as np
    >>> from kaigai_lib import event_changes, generate, matched_did, propensity_match, risk_set
    >>> world = generate("tiny", seed=0)
    >>> at_risk = risk_set(world.firms, "exporter", first_start_year=2006, last_start_year=2006).rows
    >>> at_risk = at_risk.assign(log_employees=np.log(at_risk["employees"]), log_sales=np.log(at_risk["sales"]))
    >>> match = propensity_match(at_risk, "start", ["log_employees", "log_sales"], unit="firm_id")
    >>> changes = event_changes(world.firms, match, ["sales"], horizons=[1, 3], pre_horizons=[-2])
    >>> result = matched_did(changes, scale="percent")
    >>> result.units, result.controls, result.cluster
    ('percentage points', ['cohort'], ['firm_id', 'pair'])
    >>> result.tidy()[["outcome", "horizon", "estimate", "std_error", "n_treated", "n_control"]].round(2)
      outcome  horizon  estimate  std_error  n_treated  n_control
    0   sales       -2     -9.91       4.97         18         17
    1   sales        1      5.01       6.66         19         18
    2   sales        3      4.78       9.94         18         16
    """

    table: pd.DataFrame
    scale: str
    controls: list[str]
    pair_effects: bool
    cluster: list[str] = field(default_factory=list)
    bootstrap_draws: int | None = None  # set when the errors after the start come from a pair bootstrap
    unbootstrapped: tuple[str, ...] = ()  # groups that kept the regression's errors (all pairs one cluster)
    # the cells left blank (NaN) and why: outcome, group, horizon, n_treated, n_control, reason
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SKIPPED_COLUMNS))

    @property
    def errors(self) -> str:
        """How the standard errors were computed, in words."""
        clustered = f"clustered by {' + '.join(self.cluster) or 'nothing'}"
        if self.bootstrap_draws:
            kept = (f" (group(s) {', '.join(self.unbootstrapped)}: {clustered}, their pairs all sharing firms, "
                    "one cluster)" if self.unbootstrapped else "")
            return (f"from a pair bootstrap of the later-start adjustment ({self.bootstrap_draws} draws; pairs "
                    f"sharing a firm drawn together) at t+1 and after{kept}; before the start, {clustered}")
        return clustered

    @property
    def units(self) -> str:
        """The unit of every estimate, e.g. "percentage points" (the ``scale`` column of ``table`` says the same)."""
        return SCALE_UNITS[self.scale]

    def tidy(self) -> pd.DataFrame:
        """``table`` in the common column order (outcome, group, horizon, estimate, std_error, …, n_obs, scale)."""
        return order_tidy(self.table.assign(n_obs=self.table["n_treated"] + self.table["n_control"]))

    def summary(self) -> str:
        """The specification and every estimate, as text."""
        lines = [f"fixed effects: {', '.join(self.controls) or 'none'}"
                 + ("; pair effects" if self.pair_effects else ""),
                 f"standard errors {self.errors}"]
        lines += [f"not estimated: {row.outcome} × {row.group} × h={row.horizon}: {row.reason}"
                  for row in self.skipped.itertuples()]
        table = self.tidy().drop(columns=["scale"]).set_index(["outcome", "group", "horizon"])
        return summary_block(f"Matched difference-in-differences ({self.units})", table, lines=lines)

    def plot(self, ax: plt.Axes | None = None, outcome: str | None = None, group: str | None = None,
             truth: pd.DataFrame | None = None) -> plt.Axes:
        """One event study (``outcome``, ``group``: default the first of each) in one panel.

        ``truth``: optional table with ``group``, ``horizon`` and ``effect``
        (same scale). :meth:`plot_event_study` draws every group side by side.
        """
        outcome = outcome if outcome is not None else str(self.table["outcome"].iloc[0])
        rows = self.table.loc[self.table["outcome"] == outcome]
        if rows.empty:
            raise KeyError(f"plot: no estimates for outcome {outcome!r}; outcomes are "
                           f"{sorted(self.table['outcome'].unique())}.")
        group = group if group is not None else str(rows["group"].iloc[0])
        ax = ax or plt.subplots(figsize=(4.2, 3.4))[1]
        _draw_event_study(ax, rows.loc[rows["group"] == group],
                          None if truth is None else truth.loc[truth["group"] == group])
        ax.set_title(str(group))
        ax.set_ylabel(f"effect on {outcome} ({SCALE_UNITS[self.scale]})")
        ax.legend(fontsize="small")
        return ax

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
            _draw_event_study(ax, rows.loc[rows["group"] == group],
                              None if truth is None else truth.loc[truth["group"] == group])
            ax.set_title(str(group))
        axes[0][0].set_ylabel(f"effect on {outcome} ({SCALE_UNITS[self.scale]})")
        axes[0][0].legend(fontsize="small")
        fig.tight_layout()
        return fig


def _draw_event_study(ax: plt.Axes, part: pd.DataFrame, true: pd.DataFrame | None) -> None:
    """One group's estimates by horizon with 95 % intervals, and the truth as a dashed line."""
    part = part.sort_values("horizon")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(-1, color="grey", linestyle=":", linewidth=1)
    ax.errorbar(part["horizon"], part["estimate"],
                yerr=[part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]],
                fmt="o", capsize=3, label="matched DiD, 95 % CI")
    if true is not None:
        true = true.sort_values("horizon")
        ax.plot(true["horizon"], true["effect"], color="black", marker="x", linestyle="--",
                label="truth (真の効果)")
    ax.set_xlabel("years since the start (base year: −1)")


def _cluster_columns(changes: EventChanges, cluster: str | Sequence[str] | None) -> list[str]:
    """Cluster variables: None → firm and pair (two-way) for a matched sample, firm for an unmatched one."""
    if cluster is None:
        cluster = "firm+pair" if changes.matched else "firm"
    names = cluster.split("+") if isinstance(cluster, str) else list(cluster)
    columns = [changes.unit if name.strip() == "firm" else name.strip() for name in names]
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
    Where pairs have several controls (1:k matching, controls lost to the
    caliper or the horizon, ties kept with replacement) each control weighs
    1/k of its pair (weighted least squares), so each pair counts once, as
    in ``MatchResult.att``.
    ``cluster``: "firm" (the id column), "pair", "firm+pair" (two-way,
    CRV1, as pyfixest's ``vcov={"CRV1": "firm_id+pair"}``) or one or two
    column names. Default: firm + pair for a matched sample — a starter
    and its control share their cohort's shocks, and a firm that is a
    control in several cohorts appears in several pairs, so neither
    one-way clustering covers both (the DiD chapter shows the difference) —
    and firm for an unmatched one. With the pair among the clusters and
    fixed effects that are constant within pairs, the small-sample
    correction is G/(G − 1) alone (``_small_sample``): CRV1 by pair is
    then exactly the paired t-test.
    ``scale``: "percent" (the white paper's percent change from ``t − 1``),
    "log" (log points) or "level" (the log level at ``t + h``: no
    difference, i.e. matching alone). ``n_treated``/``n_control`` count the
    rows used: a missing change is not used, nor is a row whose level of a
    fixed effect has no other row in the cell (a singleton, which pyfixest
    would drop: it says nothing about ``τ``). A cell that cannot be
    estimated gets NaN, not an error, and its reason in ``DidResult.skipped``:
    fewer than two starters or controls used, a single cluster, a change
    that does not vary, or a starter dummy absorbed by the fixed effects.
    No such cell reaches pyfixest (a cell of singletons only made its Rust
    demeaning abort the process). An infinite change (a log outcome holding
    log 0) is an error naming the cell and the units.

    Examples
    --------
    The DiD of the 2006 export starters' sales, in log points, next to a placebo year:

    >>> import numpy as np
    >>> from kaigai_lib import event_changes, generate, matched_did, propensity_match, risk_set
    >>> world = generate("tiny", seed=0)
    >>> at_risk = risk_set(world.firms, "exporter", first_start_year=2006, last_start_year=2006).rows
    >>> at_risk = at_risk.assign(log_employees=np.log(at_risk["employees"]), log_sales=np.log(at_risk["sales"]))
    >>> match = propensity_match(at_risk, "start", ["log_employees", "log_sales"], unit="firm_id")
    >>> changes = event_changes(world.firms, match, ["sales"], horizons=[1, 3], pre_horizons=[-2])
    >>> result = matched_did(changes, scale="log")
    >>> result.tidy()[["outcome", "horizon", "estimate", "std_error", "n_treated", "n_control"]].round(3)
      outcome  horizon  estimate  std_error  n_treated  n_control
    0   sales       -2    -0.100      0.049         18         17
    1   sales        1     0.053      0.071         19         18
    2   sales        3     0.049      0.101         18         16
    >>> print(result.summary().splitlines()[0])
    Matched difference-in-differences (log points)
    """

    column = _scale_column(scale)
    if not isinstance(changes, EventChanges):
        raise TypeError(f"matched_did: pass the EventChanges from event_changes(), not {type(changes).__name__}.")
    clusters = _cluster_columns(changes, cluster)
    data = changes.table
    for name in (*controls, *clusters, *([group] if group else [])):
        if name not in data.columns:
            raise KeyError(f"matched_did: column '{name}' is not in the event changes; add it with keep=[...].")
        missing = data[name].isna()
        if missing.any():  # pyfixest and groupby would leave these rows out without a word
            units = pd.unique(data.loc[missing, changes.unit]).tolist()
            raise ValueError(f"matched_did: '{name}' (a group, control or cluster) is missing for {len(units)} "
                             f"unit(s) (e.g. {changes.unit} {units[:5]}); their changes would be left out of every "
                             f"regression without a count. Fill it (e.g. with an 'unknown' label) in the matched "
                             "sample before event_changes, or drop those units there and report how many.")
    if pair_effects and not changes.matched:
        raise ValueError("matched_did: pair_effects=True needs a matched sample; these changes are unmatched "
                         "(pair=None).")
    fixed = [*controls, *(["pair"] if pair_effects else [])]
    # the formula and cluster strings name columns by safe aliases: a name with a space, a hyphen or a
    # non-ASCII letter (Japanese survey items) is not a formula term
    alias = {name: f"_term{i}" for i, name in enumerate(dict.fromkeys([*fixed, *clusters]))}
    fixed_terms = [alias[name] for name in fixed]
    formula = f"{column} ~ treated" + (f" | {' + '.join(fixed_terms)}" if fixed else "")
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
    skipped = []
    for key, part in selected.groupby(keys, sort=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        label = key[2] if group else "all"
        _refuse_infinite(part, column, changes.unit, f"{key[0]} × {label} × h={key[1]}")
        part = regression_rows(part, fixed)
        n_treated = int(part["treated"].sum())
        n_control = int((1 - part["treated"]).sum())
        tidy, reason = None, _unusable_cell(part, column, clusters, n_treated, n_control)
        if reason is None:
            tidy, reason = _fit_cell(part, formula, alias, clusters, fixed, changes.matched)
        if tidy is None:
            skipped.append([key[0], label, key[1], n_treated, n_control, reason])
            rows.append([key[0], label, key[1], np.nan, np.nan, np.nan, np.nan, np.nan, n_treated, n_control])
            continue
        rows.append([key[0], label, key[1], tidy["Estimate"], tidy["Std. Error"], tidy["Pr(>|t|)"],
                     tidy["2.5%"], tidy["97.5%"], n_treated, n_control])
    table = pd.DataFrame(rows, columns=TIDY_COLUMNS[:-1]).assign(scale=scale)
    return DidResult(table=table, scale=scale, controls=list(controls), pair_effects=pair_effects,
                     cluster=clusters, skipped=pd.DataFrame(skipped, columns=SKIPPED_COLUMNS))


def _fit_cell(part: pd.DataFrame, formula: str, alias: dict[str, str], clusters: list[str], fixed: list[str],
              matched: bool) -> tuple[pd.Series | None, str | None]:
    """One cell's regression with pyfixest: the starter dummy's row of its tidy table, or None and the reason
    it has no estimate (collinear with the fixed effects, or no residual degrees of freedom)."""
    import pyfixest as pf

    with warnings.catch_warnings():
        # pyfixest's own pandas deprecation notices are not the user's
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*inplace keyword.*")
        # no residual degrees of freedom divides by zero: such a cell is reported by its reason below
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        part, weights = _pair_weights(part, matched)
        part = part.assign(**{safe: part[name] for name, safe in alias.items()})
        try:
            fit = pf.feols(formula, part, vcov={"CRV1": "+".join(alias[name] for name in clusters)},
                           ssc=_small_sample(part, clusters, fixed), weights=weights)
        except ValueError as error:  # pyfixest's "All variables are collinear"
            if "collinear" not in str(error):
                raise
            return None, "the starter dummy is absorbed by the fixed effects (collinear)"
        tidy = fit.tidy().loc["treated"]
    if not (np.isfinite(tidy["Estimate"]) and np.isfinite(tidy["Std. Error"]) and tidy["Std. Error"] > 0):
        return None, "no residual degrees of freedom: the fixed effects fit the rows exactly (no standard error)"
    return tidy, None


def _refuse_infinite(part: pd.DataFrame, column: str, unit: str, cell: str) -> None:
    """An infinite change comes from a log outcome holding log 0 (or an infinite level): pyfixest would drop
    the row with a warning only, so it is an error naming the cell and the units."""
    infinite = np.isinf(part[column].to_numpy(float))
    if infinite.any():
        units = pd.unique(part.loc[infinite, unit]).tolist()
        raise ValueError(f"matched_did: cell {cell}: '{column}' is infinite for {int(infinite.sum())} row(s) "
                         f"(e.g. {unit} {units[:5]}): a log outcome holds log 0 (−inf) or a level is infinite. "
                         "Set those values to missing (they are then counted as missing), or fix them in the "
                         "data.")


def regression_rows(part: pd.DataFrame, fixed: Sequence[str]) -> pd.DataFrame:
    """The rows of one cell that a regression with the fixed effects ``fixed`` uses: those left once every row
    alone in its level of a fixed effect is dropped, repeatedly (what pyfixest's ``fixef_rm="singleton"`` does).
    Such a row is fitted exactly by its own effect and says nothing about τ. Dropped here, they are not counted
    among the rows used (nor by the disclosure check of the cell), and pyfixest never receives a cell of
    singletons only (its demeaning aborts the process on an empty sample)."""
    while fixed and len(part):
        alone = np.zeros(len(part), dtype=bool)
        for name in fixed:
            alone |= (part.groupby(name, observed=True)[name].transform("size") == 1).to_numpy()
        if not alone.any():
            break
        part = part.loc[~alone]
    return part


def _unusable_cell(part: pd.DataFrame, column: str, clusters: Sequence[str], n_treated: int,
                   n_control: int) -> str | None:
    """Why a cell's regression cannot be run (None: it can): each of these reaches pyfixest as a failure
    (an empty sample after its singleton removal aborts the process; one cluster divides by zero)."""
    if n_treated < 2 or n_control < 2:
        return (f"fewer than 2 starters or controls with a usable change ({n_treated} starter(s), {n_control} "
                "control(s); rows alone in their level of a fixed effect are not usable)")
    one = [name for name in clusters if part[name].nunique() < 2]
    if one:
        return f"a single cluster of {' and '.join(one)}: no clustered standard error"
    if np.ptp(part[column].to_numpy(float)) == 0:
        return "the change is the same for every row: nothing to estimate"
    return None


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

    Examples
    --------
    The pieces of :func:`staggered_event_study`: the panel used, what was dropped, the estimates:

    >>> from kaigai_lib import generate, staggered_event_study
    >>> world = generate("tiny", seed=0)
    >>> study = staggered_event_study(world, "export", "sales", estimators=("twfe_dynamic",), window=(-2, 2))
    >>> study.dropped
    treated before entering the panel (start unknown)    8995
    fewer than two untreated years                        754
    Name: firm-years, dtype: int64
    >>> study.compare(horizons=[0, 2]).round(3)
          estimator  horizon  estimate  std_error  ci_low  ci_high  truth   bias
    0  twfe_dynamic        0     0.004      0.008  -0.012    0.019  0.010 -0.006
    1  twfe_dynamic        2    -0.011      0.013  -0.038    0.015  0.029 -0.041
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

    def tidy(self) -> pd.DataFrame:
        """Static ATTs (no ``horizon``) then dynamic estimates by horizon; ``term`` is the estimator, ``n_obs``
        the firm-years of the panel; ``truth`` and ``bias`` with a world."""
        static = self.static.drop(columns=["label"], errors="ignore").rename(columns={"estimator": "term"})
        dynamic = self.dynamic.rename(columns={"estimator": "term"})
        if self.truth is not None and len(dynamic):
            dynamic = dynamic.merge(self.truth, on="horizon", how="left")
            dynamic["bias"] = dynamic["estimate"] - dynamic["truth"]
        # infer_objects: with no dynamic estimator the concatenation with an empty table leaves object columns
        table = pd.concat([static.assign(horizon=np.nan), dynamic], ignore_index=True).infer_objects()
        table = table.assign(outcome=self.outcome, n_obs=len(self.panel),
                             p_value=normal_inference(table["estimate"], table["std_error"])["p_value"])
        return order_tidy(table)

    def summary(self) -> str:
        """The sample and the static ATTs, as text (:meth:`tidy` has the dynamic estimates)."""
        treated = int(self.panel.loc[self.panel["g"] > 0, "firm_id"].nunique()) if len(self.panel) else 0
        lines = [f"{len(self.panel):,} firm-years of {self.panel['firm_id'].nunique():,} firms "
                 f"({treated:,} starters); dropped: " + ", ".join(f"{k} {int(v):,}" for k, v in self.dropped.items())]
        static = self.tidy().loc[lambda t: t["horizon"].isna()].set_index("term")
        static = static[[c for c in ("estimate", "std_error", "ci_low", "ci_high", "truth", "bias") if c in static]]
        return summary_block(f"Staggered event study of log {self.outcome}, {self.analysis} starters "
                             "(static ATTs)", static, lines=lines)

    def plot(self, ax: plt.Axes | None = None, matched: pd.DataFrame | None = None,
             matched_truth: pd.DataFrame | None = None) -> plt.Axes:
        """Event-study estimates (95 % CI) of each dynamic estimator, the truth, and optionally the matched DiD.

        ``matched``: a table with ``horizon``, ``estimate``, ``ci_low``,
        ``ci_high`` (log points, e.g. ``matched_did(..., scale="log").table``
        pooled over groups); ``matched_truth``: ``horizon``, ``effect``.
        """
        from kaigai_lib.estimators.plots import OUTCOME_LABELS, new_figure

        if ax is None:
            ax = new_figure(figsize=(8.5, 4.2))[1][0, 0]
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
        return ax


def _fit_staggered(panel: pd.DataFrame, estimators: Sequence[str],
                   window: tuple[int, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each estimator on the event-time panel: static ATTs (twfe, did2s) and dynamic estimates by horizon."""
    import pyfixest as pf

    lo, hi = window
    static, dynamic = [], []
    if {"twfe_dynamic", "saturated"} & set(estimators):
        starters = panel.loc[panel["g"] > 0]
        lacking = sorted(set(starters["g"]) - set(starters.loc[starters["rel"] == -1, "g"]))
        if lacking:  # formulaic's raw "not among the provided levels", or a reference year that is not t − 1
            gaps = sorted({int(gap) for gap in np.diff(np.sort(panel["year"].unique()))})
            raise ValueError(f"staggered_event_study: the dynamic estimators measure every horizon against the "
                             f"year before the start, and no unit of start cohort(s) {lacking[:6]}"
                             f"{' …' if len(lacking) > 6 else ''} ({len(lacking)} in all) is observed in it (the "
                             f"panel's years are {gaps} apart{'; a survey every other year?' if gaps != [1] else ''}). "
                             "Estimate the static effect only (estimators=('twfe',)), or use a panel with "
                             "every year.")
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
    return pd.DataFrame(static), dynamic_table


def _staggered_truth(panel: pd.DataFrame, static_table: pd.DataFrame, window: tuple[int, int]) -> pd.DataFrame:
    """The true effect averaged over the starters' firm-years at each horizon (0 before the start); the static
    estimates get the average over all their post-start firm-years as ``truth`` (and ``bias``), in place."""
    lo, hi = window
    post = panel.loc[(panel["g"] > 0) & (panel["rel"] >= 0)]
    truth = (post.loc[post["rel"] <= hi].groupby("rel")["effect"].mean().rename("truth")
             .rename_axis("horizon").reset_index())
    pre = pd.DataFrame({"horizon": [h for h in range(lo, -1)], "truth": 0.0})
    if len(static_table):
        static_table["truth"] = float(post["effect"].mean())
        static_table["bias"] = static_table["estimate"] - static_table["truth"]
    return pd.concat([pre, truth], ignore_index=True)


def _staggered_inputs(firms: pd.DataFrame, unit: str, time: str, start_year: str, status: str,
                      outcome: str) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """The event-time panel's columns read from the data (each column's dtype checked and its bad rows named),
    whether each firm is ever treated, and its start year (NaN: none seen)."""
    where = "staggered_event_study"
    values = as_numbers(firms[outcome], outcome, where)
    bad = ~(values > 0)
    if bad.any():
        raise ValueError(f"{where}: '{outcome}' is missing or ≤ 0 in {int(bad.sum())} row(s) (e.g. index "
                         f"{list(firms.index[bad][:5])}); its log is the outcome, so drop or fix those firm-years "
                         "first (and report how many).")
    years = as_years(firms[time], time, where)
    check_keys(firms, [unit, time], where, "firms")
    ever = pd.Series(as_binary(firms[status], status, where, missing=False)).groupby(
        firms[unit].to_numpy()).transform("max").to_numpy()
    start = pd.Series(unit_start_years(firms[start_year], firms[unit].to_numpy(), start_year, where))
    panel = pd.DataFrame({"firm_id": firms[unit].to_numpy(), "year": years,
                          "y": np.log(values), "g": start.fillna(0).astype(int).to_numpy()})
    return panel, ever, start


def staggered_event_study(data: Any, analysis: str = "export", outcome: str = "sales", *,
                          window: tuple[int, int] = (-5, 10),
                          estimators: Sequence[str] = ("twfe", "twfe_dynamic", "saturated"),
                          world: Any = None, unit: str = "firm_id", time: str = "year",
                          start_year: str | None = None, status: str | None = None) -> StaggeredEventStudy:
    """Event studies with staggered adoption on the whole (unmatched) firm panel, with pyfixest.

    The sample is the firms that start ``analysis`` while observed (the
    column ``start_year``, default e.g. ``export_start_year``; the 0/1 status
    ``status``, e.g. ``exporter``) and the firms never seen with it; firms
    already treated when they enter the panel (start unknown) are dropped
    and counted, as are firms with fewer than two untreated years (Gardner's
    two-stage estimator needs their fixed effect from untreated years).
    Estimators: ``twfe`` and ``did2s`` (static ATT,
    ``pyfixest.event_study``), ``twfe_dynamic`` (``feols`` with leads and
    lags ``i(rel, ref=-1)``; never-starters sit in the reference; leads and
    lags beyond ``window`` are binned at its ends) and ``saturated`` (the
    cohort × event-time interacted regression of Sun & Abraham, aggregated
    by event time with cohort-share weights; starters' firm-years more than
    one year outside ``window`` are trimmed, which keeps the regression to a
    few hundred coefficients). Standard errors are clustered by firm. The
    outcome is in logs. ``did2s`` is not in the default list: its GMM
    variance takes minutes on a panel of the book world's size.

    Examples
    --------
    Two-way fixed effects on the whole panel of the tiny world, next to the true effect on the
    starters:

    >>> from kaigai_lib import generate, staggered_event_study
    >>> world = generate("tiny", seed=0)
    >>> study = staggered_event_study(world, "export", "sales", estimators=("twfe",))
    >>> study.tidy()[["term", "estimate", "std_error", "n_obs", "truth"]].round(3)
       term  estimate  std_error  n_obs  truth
    0  twfe     0.048      0.017  28430  0.044
    """

    if hasattr(data, "firms") and hasattr(data, "latent"):  # a synthetic World (not imported: estimators stay below it)
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
    start_year = start_year or f"{analysis}_start_year"
    status = status or {"export": "exporter", "fdi": "fdi"}[analysis]
    where = "staggered_event_study"
    check_frame(firms, where)
    for column in (unit, time, start_year, status, outcome):
        if column not in firms.columns:
            raise KeyError(f"staggered_event_study: column '{column}' is not in the data.")
    panel, ever, start = _staggered_inputs(firms, unit, time, start_year, status, outcome)
    censored = ever & start.isna().to_numpy()
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
            if pd.api.types.is_numeric_dtype(firms[unit]) != pd.api.types.is_numeric_dtype(world.latent["firm_id"]):
                raise ValueError(f"{where}: '{unit}' is {firms[unit].dtype} in the data but "
                                 f"{world.latent['firm_id'].dtype} in world.latent, so no firm finds its truth; "
                                 f"read the ids as the world writes them (e.g. pd.to_numeric(data['{unit}'])).")
            raise ValueError(f"staggered_event_study: {int(unknown.sum())} firm-year(s) of the data are not in "
                             f"world.latent (e.g. (firm, year) = {examples}): is the data from this world?")
    panel = panel.loc[keep].reset_index(drop=True)
    treated_firm = panel["g"] > 0
    panel["rel"] = np.where(treated_firm, panel["year"] - panel["g"], -1)
    lo, hi = window
    panel["rel_binned"] = panel["rel"].clip(lo - 1, hi + 1)

    static_table, dynamic_table = _fit_staggered(panel, estimators, window)
    truth = _staggered_truth(panel, static_table, window) if world is not None else None
    panel = panel.drop(columns=[c for c in ("effect",) if c in panel.columns])
    return StaggeredEventStudy(analysis=analysis, outcome=outcome, panel=panel, dropped=dropped,
                               static=static_table, dynamic=dynamic_table, truth=truth)
