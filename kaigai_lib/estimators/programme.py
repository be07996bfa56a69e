"""Matched difference-in-differences for any binary treatment (a support programme, a subsidy…) in one call.

:func:`treatment_did` runs the steps the chapter "Evaluating a support
programme yourself" writes out one by one, on any firm panel:

1. the risk set (:func:`kaigai_lib.data.starts.risk_set`): firm-years at ``t − 1``
   not yet treated, flagged ``start`` if treated in ``t``; optionally
   restricted by a query (e.g. ``"exporter"``);
2. the propensity score (a statsmodels logit) and 1:1 nearest-neighbour
   matching within ``exact`` strata (:func:`kaigai_lib.estimators.matching.propensity_match`),
   a firm used as a control once;
3. the change of each outcome from ``t − 1`` to ``t + h``
   (:func:`kaigai_lib.estimators.did.event_changes`), placebo years included;
4. one regression per outcome × group × horizon of the change on the
   treatment dummy with the strata as fixed effects, standard errors
   clustered by firm (:func:`kaigai_lib.estimators.did.matched_did`, pyfixest).

It is the library's version of the white paper's design
(:func:`kaigai_lib.whitepaper.did_design.white_paper_did`) for a treatment the white paper did
not study; ``kaigai replicate`` uses it for a config's ``[treatment]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from kaigai_lib.data.schema import as_binary, as_years
from kaigai_lib.data.starts import RiskSet, risk_set, size_class, unit_start_years
from kaigai_lib.estimators.did import DidResult, EventChanges, as_horizons, as_outcomes, event_changes, matched_did
from kaigai_lib.estimators.matching import MatchResult, propensity_match
from kaigai_lib.estimators.results import order_tidy, summary_block

# The propensity score's covariates: with log value added, employees and capital in the logit, the score can
# reproduce TFP (log VA − β_l·l − β_k·k) without estimating it first.
DEFAULT_COVARIATES = "np.log(employees) + np.log(sales) + np.log(value_added) + np.log(capital_stock)"
DEFAULT_EXACT = ("year", "industry", "size")


@dataclass
class TreatmentDid:
    """Every step of :func:`treatment_did`: risk set, match, changes, regressions, and the truth if given.

    Examples
    --------
    Every step of :func:`treatment_did` is kept:

    >>> from kaigai_lib import generate, treatment_did
    >>> world = generate("tiny", seed=0)
    >>> design = treatment_did(world.firms, "supported", sample="exporter", outcomes=["exports"], horizons=[2],
    ...                        pre_horizons=[-2], groups=["100-299"])
    >>> design.counts().loc["treated"]
                                                   count
    status
    all                                              128
    matched                                          116
    discarded (off common support)                     0
    unmatched: no control in its stratum               0
    unmatched: no control left within the caliper     12
    >>> type(design.match).__name__, type(design.changes).__name__, type(design.result).__name__
    ('MatchResult', 'EventChanges', 'DidResult')
    """

    risk: RiskSet
    at_risk: pd.DataFrame
    match: MatchResult
    changes: EventChanges
    result: DidResult
    truth: pd.DataFrame | None
    settings: dict[str, Any] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        """One row per outcome × group × horizon: the estimate, its s.e. and CI, counts and (if known) the truth."""
        table = self.result.tidy()
        if self.truth is None:
            return table
        truth = self.truth.rename(columns={"effect": "truth"})[["outcome", "group", "horizon", "truth"]]
        table = table.merge(truth, on=["outcome", "group", "horizon"], how="left")
        table.loc[table["horizon"] < 0, "truth"] = 0.0  # nobody is treated before the start
        return order_tidy(table.assign(bias=table["estimate"] - table["truth"]))

    def summary(self) -> str:
        """The matching counts, then the regressions' estimates (with the truth when known), as text."""
        table = self.tidy().drop(columns=["scale"]).set_index(["outcome", "group", "horizon"])
        return summary_block(f"Support programme DiD, {self.result.units}", table,
                             lines=str(self.match).splitlines())

    def counts(self) -> pd.DataFrame:
        """The matching's counts (``MatchResult.counts()``)."""
        return self.match.counts()

    def plot(self, ax: plt.Axes | None = None, outcome: str | None = None, group: str | None = None) -> plt.Axes:
        """One outcome's event study for one group, with the truth when known (:meth:`DidResult.plot`)."""
        return self.result.plot(ax=ax, outcome=outcome, group=group, truth=self.truth)

    def compare(self, horizon: int = 5) -> pd.DataFrame:
        """Estimates at one horizon next to the truth."""
        return self.tidy().query("horizon == @horizon").reset_index(drop=True)


def _status_from_start(firms: pd.DataFrame, treatment: str | None, start_year: str, time: str,
                       unit: str) -> pd.Series:
    """The 0/1 status implied by a start-year column; checked against ``treatment`` when both are given."""
    # one start year per unit, whichever of its rows record it (text that is not a year refused, rows named)
    years = pd.Series(unit_start_years(firms[start_year], firms[unit].to_numpy(), start_year, "treatment_did"),
                      index=firms.index)
    # the years and the status as the rest of the design reads them (text years; 0/1 codings only, rows named)
    calendar = as_years(firms[time], time, "treatment_did")
    status = pd.Series((years.notna() & (calendar >= years)).astype(int), index=firms.index)
    if treatment is not None:
        differ = status != as_binary(firms[treatment], treatment, "treatment_did").astype(int)
        if differ.any():
            raise ValueError(f"treatment_did: '{treatment}' disagrees with '{start_year}' in {int(differ.sum())} "
                             f"row(s) (e.g. {unit} {list(firms.loc[differ, unit].head(5))}): '{treatment}' must be 1 "
                             f"exactly from '{start_year}' on. Fix one of them, or give only one.")
    return status


def _outcome_panel(data: pd.DataFrame, matched: pd.DataFrame, outcomes: Sequence[str], unit: str, time: str,
                   horizons: Sequence[int], pre_horizons: Sequence[int],
                   log_outcomes: Sequence[str]) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """The matched units' outcomes, non-positive levels set to missing (counted; a warning when they fall on a
    base year or t + h that a change reads)."""
    panel = data.loc[data[unit].isin(matched[unit]), [unit, time, *outcomes]].copy()

    def years_read(offsets: list[int]) -> np.ndarray:
        keys = pd.MultiIndex.from_arrays([np.repeat(matched[unit].to_numpy(), len(offsets)),
                                          (matched[time].to_numpy()[:, None] + np.array(offsets)).ravel()])
        return pd.MultiIndex.from_frame(panel[[unit, time]]).isin(keys)

    # the firm-years the changes read: the base year and t + h (main), t + h for the placebo years (pre)
    main, pre = years_read([0, *(1 + h for h in horizons)]), years_read([1 + h for h in pre_horizons])
    nonpositive: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        if outcome in log_outcomes:
            continue
        bad = panel[outcome].notna() & (panel[outcome] <= 0)
        nonpositive[outcome] = {"base and horizons": int((bad & main).sum()), "placebo years": int((bad & pre).sum())}
        panel.loc[bad, outcome] = np.nan
    in_main = {o: n["base and horizons"] for o, n in nonpositive.items() if n["base and horizons"]}
    if in_main:
        # placebo years before e.g. a firm's first export are expected; a missing base or t + h is not
        warnings.warn(f"treatment_did: non-positive outcome values at the base year or t + h of matched firms "
                      f"set to missing (rows per outcome: {in_main}); they enter no change. Restrict the sample "
                      "(e.g. sample='exporter') if that is not intended.", UserWarning, stacklevel=3)
    return panel, nonpositive


def treatment_did(firms: pd.DataFrame, treatment: str | None = None, *, start_year: str | None = None,
                  outcomes: Sequence[str] = ("exports", "sales"), covariates: str | Sequence[str] = DEFAULT_COVARIATES,
                  exact: Sequence[str] = DEFAULT_EXACT, group: str = "size", groups: Sequence[str] | None = None,
                  horizons: Sequence[int] = (1, 2, 3, 4, 5), pre_horizons: Sequence[int] = (-3, -2),
                  first_start_year: int | None = None, last_start_year: int | None = None,
                  sample: str | None = None, caliper: float | None = 0.2, scale: str = "log",
                  log_outcomes: Sequence[str] = (), unit: str = "firm_id", time: str = "year",
                  truth: pd.DataFrame | None = None) -> TreatmentDid:
    """Matched DiD for a binary, absorbing treatment of firms, in one call.

    Parameters
    ----------
    firms : pd.DataFrame
        firm panel, one row per (``unit``, ``time``).
    treatment : str | None, optional
        0/1 column, 1 from the year of take-up on; or give
        ``start_year`` (the year of take-up, missing for firms never
        treated) and the status is built from it. Both: they must agree.
    outcomes : Sequence[str], optional
        positive level columns (changes are taken in logs), or log
        columns listed in ``log_outcomes``. Non-positive values of matched
        firms are set to missing and counted in ``settings["nonpositive"]``.
    covariates : str | Sequence[str], optional
        the logit's right-hand side (names or a formula).
    exact : Sequence[str], optional
        strata within which a starter finds its control (``time`` is the
        base year ``t − 1``); the strata other than ``time`` and the start
        year (``cohort``) are the regressions' fixed effects.
    group : str, optional
        the column the estimates are reported by (default: the size
        class at ``t − 1``, added from ``employees`` if absent); ``groups``
        keeps only those groups.
    sample : str | None, optional
        a query on the base-year rows of the risk set (e.g.
        ``"exporter"``: firms already exporting at ``t − 1``); the rows it
        drops are counted in ``settings["dropped_by_sample"]``.
    truth : pd.DataFrame | None, optional
        optional table ``outcome, group, horizon, effect`` in log points
        (e.g. ``World.truth.support``), shown next to the estimates.

    Examples
    --------
    The support programme's effect on exports two years on, for firms already exporting, with the true
    effects attached:

    >>> from kaigai_lib import generate, treatment_did
    >>> world = generate("tiny", seed=0)
    >>> design = treatment_did(world.firms, "supported", sample="exporter", outcomes=["exports"], horizons=[2],
    ...                        pre_horizons=[-2], truth=world.truth.support)
    >>> design.tidy()[["outcome", "group", "horizon", "estimate", "std_error", "truth", "bias"]].round(3)
       outcome    group  horizon  estimate  std_error  truth   bias
    0  exports  100-299       -2     0.005      0.019   0.00  0.005
    1  exports     300+       -2    -0.007      0.034   0.00 -0.007
    2  exports    50-99       -2    -0.014      0.031   0.00 -0.014
    3  exports  100-299        2     0.071      0.034   0.10 -0.029
    4  exports     300+        2     0.072      0.058   0.03  0.042
    5  exports    50-99        2     0.244      0.062   0.20  0.044
    """
    if scale not in ("log", "percent"):
        raise ValueError(f"treatment_did: scale={scale!r}: choose 'log' or 'percent'.")
    horizons = as_horizons(horizons, "horizons", "treatment_did")
    pre_horizons = as_horizons(pre_horizons, "pre_horizons", "treatment_did")
    outcomes = as_outcomes(outcomes, "treatment_did")
    if treatment is None and start_year is None:
        raise ValueError("treatment_did: give the treatment column, its start-year column, or both.")
    needed = [c for c in (unit, time, treatment, start_year, *outcomes) if c is not None]
    needed += [c for c in exact if c not in ("size",)]
    absent = [c for c in dict.fromkeys(needed) if c not in firms.columns]
    if absent:
        raise KeyError(f"treatment_did: column(s) {absent} not in the firm panel; available: {list(firms.columns)}.")
    data = firms
    if "size" not in data.columns and ("size" in exact or group == "size"):
        if "employees" not in data.columns:
            raise KeyError("treatment_did: the size class needs an 'employees' column (or give your own 'size').")
        data = data.assign(size=size_class(data["employees"]).astype(str))
    status = "_status"
    if start_year is not None:
        data = data.assign(_status=_status_from_start(data, treatment, start_year, time, unit))
    else:
        status = treatment
    risk = risk_set(data, status, unit=unit, time=time, first_start_year=first_start_year,
                    last_start_year=last_start_year)
    at_risk = risk.rows
    dropped = 0
    if sample:
        kept = at_risk.query(sample)
        dropped = len(at_risk) - len(kept)
        at_risk = kept
    if groups is not None:
        at_risk = at_risk.loc[at_risk[group].astype(str).isin([str(g) for g in groups])]
    if at_risk["start"].sum() == 0:
        raise ValueError("treatment_did: no firm in the risk set takes up the treatment (check the years, the "
                         "sample query and the groups).")
    match = propensity_match(at_risk, "start", covariates, exact=list(exact), caliper=caliper, unit=unit)
    matched = match.matched.copy()
    # every pair is reported in its starter's group
    starter_group = matched.loc[matched["_treated"] == 1].set_index("_pair")[group]
    matched[group] = matched["_pair"].map(starter_group).astype(str)
    controls = ["cohort", *[c for c in exact if c != time]]
    keep = list(dict.fromkeys([c for c in exact if c != time] + [group]))
    matched[keep] = matched[keep].astype(str)

    panel, nonpositive = _outcome_panel(data, matched, outcomes, unit, time, horizons, pre_horizons, log_outcomes)
    changes = event_changes(panel, matched, list(outcomes), unit=unit, time=time, horizons=horizons,
                            pre_horizons=pre_horizons, log_outcomes=log_outcomes, keep=keep)
    result = matched_did(changes, group=group, controls=controls, cluster=unit, scale=scale)
    if truth is not None and scale != "log":
        raise ValueError("treatment_did: the truth table is in log points; use scale='log' to compare with it.")
    settings = {"treatment": treatment, "start_year": start_year, "sample": sample, "dropped_by_sample": dropped,
                "exact": list(exact), "covariates": covariates, "caliper": caliper, "scale": scale,
                "nonpositive": nonpositive, "controls": controls}
    return TreatmentDid(risk=risk, at_risk=at_risk, match=match, changes=changes, result=result, truth=truth,
                        settings=settings)
