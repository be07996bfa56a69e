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
   (a firm can be a control in several cohorts), optionally with pair fixed
   effects (pyfixest). The result is one tidy table.

:class:`DidResult` draws the event-study plot; the white paper's Figure
II-2-4-1 (bars of starters' and matched non-starters' average growth, faded
where not significant at 5 %) is :func:`kaigai_lib.figures.plot_growth_bars`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

TIDY_COLUMNS = ["outcome", "group", "horizon", "estimate", "std_error", "p_value", "ci_low", "ci_high",
                "n_treated", "n_control"]


@dataclass
class EventChanges:
    """Changes from the base year, one row per matched unit × outcome × horizon.

    ``table`` columns: the unit's id, ``pair``, ``treated`` (0/1),
    ``cohort`` (start year ``t``), every ``keep`` column, ``outcome``,
    ``horizon``, ``change_log`` and ``change_pct``.
    ``missing``: rows that could not be computed because the firm is not
    observed in the base year or at ``t + h`` — by outcome, horizon and role.
    """

    table: pd.DataFrame
    missing: pd.DataFrame
    id: str
    horizons: list[int]

    def means(self, by: str | Sequence[str] | None = None, scale: str = "percent") -> pd.DataFrame:
        """Average change of starters and of matched non-starters by outcome, horizon (and ``by``)."""
        column = _scale_column(scale)
        keys = ["outcome", "horizon", *([by] if isinstance(by, str) else list(by or []))]
        table = self.table.dropna(subset=[column])
        out = table.groupby([*keys, "treated"])[column].mean().unstack("treated")
        return out.rename(columns={0: "matched non-starters", 1: "starters"}).reset_index()


def _scale_column(scale: str) -> str:
    if scale not in ("log", "percent"):
        raise ValueError(f"scale={scale!r}: choose 'log' (log points) or 'percent'.")
    return "change_log" if scale == "log" else "change_pct"


def event_changes(panel: pd.DataFrame, matched: pd.DataFrame, outcomes: Sequence[str], *, id: str = "firm_id",
                  time: str = "year", treated: str = "_treated", pair: str = "_pair",
                  horizons: Sequence[int] = (1, 2, 3, 4, 5), pre_horizons: Sequence[int] = (-3, -2),
                  log_outcomes: Sequence[str] = (), keep: Sequence[str] = ()) -> EventChanges:
    """Changes of each outcome from ``t − 1`` to ``t + h`` for every matched unit.

    Parameters
    ----------
    panel : the firm panel holding the outcomes, one row per (``id``, ``time``).
    matched : the matched sample at the base year ``t − 1`` (e.g.
        ``MatchResult.matched``): ``id``, ``time`` (the base year), ``treated``
        and ``pair``. A control's pseudo start is its row's base year + 1,
        which is its partner's start year when matching is within year.
    outcomes : outcome columns of ``panel``; those in ``log_outcomes`` are
        already in logs (e.g. log TFP), the others must be positive levels.
    horizons, pre_horizons : ``h`` for ``t + h``; negative values are the
        placebo years before the start (relative to ``t − 1`` as well).
    keep : columns of ``matched`` to carry along (group, industry, size class…).
    """
    for column in (id, time, treated, pair, *keep):
        if column not in matched.columns:
            raise KeyError(f"event_changes: column '{column}' is not in the matched sample.")
    missing_outcomes = [o for o in outcomes if o not in panel.columns]
    if missing_outcomes:
        raise KeyError(f"event_changes: outcome(s) {missing_outcomes} not in the panel.")
    if panel.duplicated([id, time]).any():
        raise ValueError(f"event_changes: the panel has duplicate ({id}, {time}) rows.")
    levels = [o for o in outcomes if o not in log_outcomes]
    for outcome in levels:
        bad = panel[outcome].notna() & (panel[outcome] <= 0)
        if bad.any():
            raise ValueError(f"event_changes: '{outcome}' has {int(bad.sum())} non-positive value(s) "
                             f"(e.g. index {list(panel.index[bad][:5])}); changes in logs and percent need "
                             "positive levels. Pass it in log_outcomes if it is already a log.")
    logs = panel.set_index([id, time])[list(outcomes)].astype(float)
    logs[levels] = np.log(logs[levels])

    units = matched[[id, time, treated, pair, *keep]].rename(columns={treated: "treated", pair: "pair"})
    units = units.assign(treated=units["treated"].astype(int), cohort=units[time] + 1).reset_index(drop=True)
    base_keys = pd.MultiIndex.from_arrays([units[id], units[time]])
    base = logs.reindex(base_keys).to_numpy()
    frames, missing = [], []
    all_horizons = sorted({*pre_horizons, *horizons})
    for h in all_horizons:
        target_keys = pd.MultiIndex.from_arrays([units[id], units["cohort"] + h])
        later = logs.reindex(target_keys).to_numpy()
        change = later - base
        for j, outcome in enumerate(outcomes):
            values = change[:, j]
            frame = units.drop(columns=[time]).assign(outcome=outcome, horizon=h, change_log=values,
                                                     change_pct=100 * np.expm1(values))
            frames.append(frame)
            absent = np.isnan(values)
            missing.append(pd.DataFrame({"outcome": outcome, "horizon": h, "treated": units["treated"],
                                         "missing": absent}).groupby(["outcome", "horizon", "treated"])
                           ["missing"].sum())
    table = pd.concat(frames, ignore_index=True)
    missing_table = (pd.concat(missing).rename("missing").reset_index()
                     .pivot_table(index=["outcome", "horizon"], columns="treated", values="missing")
                     .rename(columns={0: "missing_controls", 1: "missing_starters"}).reset_index())
    missing_table.columns.name = None
    return EventChanges(table=table.dropna(subset=["change_log"]).reset_index(drop=True),
                        missing=missing_table, id=id, horizons=all_horizons)


@dataclass
class DidResult:
    """Matched DiD estimates: ``table`` has one row per outcome × group × horizon (see TIDY_COLUMNS)."""

    table: pd.DataFrame
    scale: str
    controls: list[str]
    pair_effects: bool

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
        groups = list(groups or rows["group"].drop_duplicates())
        fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), sharey=True, squeeze=False)
        for ax, group in zip(axes[0], groups, strict=True):
            part = rows.loc[rows["group"] == group].sort_values("horizon")
            ax.axhline(0, color="black", linewidth=0.8)
            ax.axvline(-1, color="grey", linestyle=":", linewidth=1)
            ax.errorbar(part["horizon"], part["estimate"],
                        yerr=[part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]],
                        fmt="o", capsize=3, label="matched DiD")
            if truth is not None:
                true = truth.loc[truth["group"] == group].sort_values("horizon")
                ax.plot(true["horizon"], true["effect"], color="black", marker="x", linestyle="--", label="truth")
            ax.set_title(str(group))
            ax.set_xlabel("years since the start (base year: −1)")
        unit = "log points" if self.scale == "log" else "percentage points"
        axes[0][0].set_ylabel(f"effect on {outcome} ({unit})")
        axes[0][0].legend(fontsize="small")
        fig.tight_layout()
        return fig


def matched_did(changes: EventChanges, *, group: str | None = None, controls: Sequence[str] = ("cohort",),
                cluster: str | None = None, pair_effects: bool = False, scale: str = "percent",
                outcomes: Sequence[str] | None = None, horizons: Sequence[int] | None = None) -> DidResult:
    """One regression per outcome × horizon × group of the change on the starter dummy.

    ``change = α + τ·starter + FE(controls) [+ FE(pair)] + u``, with
    ``controls`` absorbed as fixed effects (the white paper controls for
    year, industry and — for exports — size class; pass e.g.
    ``["cohort", "industry", "size"]``), standard errors clustered by
    ``cluster`` (default: the firm id), estimated with pyfixest. ``τ`` is the
    DiD estimate of the ATT at that horizon (negative horizons: placebo).
    ``n_treated``/``n_control`` count the rows used.
    """
    import pyfixest as pf

    column = _scale_column(scale)
    cluster = cluster or changes.id
    data = changes.table
    for name in (*controls, cluster, *([group] if group else [])):
        if name not in data.columns:
            raise KeyError(f"matched_did: column '{name}' is not in the event changes; add it with keep=[...].")
    fixed = [*controls, *(["pair"] if pair_effects else [])]
    formula = f"{column} ~ treated" + (f" | {' + '.join(fixed)}" if fixed else "")
    rows = []
    selected = data
    if outcomes is not None:
        selected = selected.loc[selected["outcome"].isin(outcomes)]
    if horizons is not None:
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
            fit = pf.feols(formula, part, vcov={"CRV1": cluster})
        tidy = fit.tidy().loc["treated"]
        rows.append([key[0], label, key[1], tidy["Estimate"], tidy["Std. Error"], tidy["Pr(>|t|)"],
                     tidy["2.5%"], tidy["97.5%"], n_treated, n_control])
    table = pd.DataFrame(rows, columns=TIDY_COLUMNS)
    return DidResult(table=table, scale=scale, controls=list(controls), pair_effects=pair_effects)
