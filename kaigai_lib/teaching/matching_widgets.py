"""Widgets for the matching chapter.

:class:`CaliperExplorer` — a caliper slider over a
:class:`~kaigai_lib.whitepaper.samples.MatchingSample`: each position re-matches with that
caliper and shows, together, how many starters found a match, the balance of
the covariates (a Love plot) and the estimated ATT next to the truth for the
matched starters. Results are cached, so going back to a caliper is instant.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kaigai_lib.estimators.matching import MatchResult
from kaigai_lib.estimators.plots import new_figure
from kaigai_lib.teaching.static_widgets import Control, StaticWidget, msg, number, png
from kaigai_lib.whitepaper.samples import DEFAULT_CALIPERS, MatchingSample, caliper_label

WRONG_COLOUR = "#b3261e"


def _exact_terms(result: MatchResult, names: Sequence[str]) -> list[str]:
    """The design columns that come from the exact-matching columns (balanced by construction)."""
    exact = result.settings["exact"]
    return [c for c in names if any(c.startswith(f"C({e})") or c.startswith(f"C(`{e}`)") or c == e for e in exact)]


class CaliperExplorer(StaticWidget):
    """A caliper slider; matched starters, balance and the estimate update together.

    Works on the static site too: every caliper is matched when the widget is
    made. Made by :func:`caliper_explorer`. The widget's ``calipers`` map a
    label ("none", "0.2", …) to the caliper in SD of the logit (None: no
    caliper), ``results`` holds the
    :class:`~kaigai_lib.estimators.matching.MatchResult` of every caliper
    computed, ``current`` the numbers shown (caliper, matched, treated,
    max_abs_smd, n_above_threshold, estimate, se, ci_low, ci_high,
    truth_matched) and ``set(caliper=0.05)`` moves the slider.

    Parameters
    ----------
    sample : MatchingSample
        The firms at risk (made from a World, the truth is shown).
    outcome : str, default "sales"
        One of the sample's outcomes.
    measure : str, default "change"
        "change", "level" or "base".
    calipers : sequence of float or None
        The slider's positions, in SD of the logit (None: no caliper).
    value : float or None, default 0.2
        The starting caliper, one of ``calipers``.
    threshold : float, default 0.1
        The absolute SMD counted as imbalanced.
    **match_options : Any
        Options of the matching (not ``caliper``).

    Raises
    ------
    ValueError
        If ``value`` is not one of ``calipers``.
    TypeError
        If ``caliper=`` is given.

    Examples
    --------
    >>> from kaigai_lib import caliper_explorer, generate, matching_sample
    >>> sample = matching_sample(generate("tiny", seed=0), "export", horizon=2)
    >>> widget = caliper_explorer(sample, "sales", calipers=[None, 0.2])
    >>> type(widget).__name__, widget.current["matched"], widget.current["treated"]
    ('CaliperExplorer', 290, 306)
    """

    def __init__(self, sample: MatchingSample, outcome: str = "sales", measure: str = "change", *,
                 calipers: Sequence[float | None] = DEFAULT_CALIPERS, value: float | None = 0.2,
                 threshold: float = 0.1, **match_options: Any) -> None:
        if value not in calipers:
            raise ValueError(f"value={value!r} is not one of the calipers {list(calipers)}.")
        if "caliper" in match_options:
            raise TypeError("CaliperExplorer: set the calipers with calipers=[…] and the start with value=.")
        self.sample, self.outcome, self.measure = sample, outcome, measure
        self.column = sample.column(outcome, measure)
        self.threshold = threshold
        self.match_options = match_options
        self.results: dict[float | None, MatchResult] = {}
        intro = (
            f"<p>Move the caliper (the largest distance allowed within a pair, in standard deviations of the "
            f"logit of the propensity score; <i>none</i> = no limit) and watch three things move together: how "
            f"many {html.escape(sample.analysis)} starters find a match, how well the covariates are balanced, "
            f"and the estimated ATT on the {html.escape(measure)} of log {html.escape(outcome)} "
            f"(t−1 → t+{sample.horizon}).</p>")
        self.calipers = {caliper_label(c): c for c in calipers}
        super().__init__([Control("caliper", "caliper (SD)", list(self.calipers), caliper_label(value),
                                  mapping=dict(self.calipers))], kind="explorer", intro=intro)

    def result(self, caliper: float | None) -> MatchResult:
        """The match at ``caliper`` (computed once, then cached).

        Parameters
        ----------
        caliper : float or None
            In SD of the logit; None: no caliper.

        Returns
        -------
        kaigai_lib.estimators.matching.MatchResult
            The match.
        """
        if caliper not in self.results:
            self.results[caliper] = self.sample.match(caliper=caliper, **self.match_options)
        return self.results[caliper]

    def _figure(self, result: MatchResult, balance: pd.DataFrame, c: dict[str, Any]) -> Figure:
        fig, axes = new_figure(1, 2, figsize=(9.5, 0.9 + 0.3 * len(balance)), width_ratios=[3, 2])
        love, estimate = axes[0]
        y = np.arange(len(balance))
        love.scatter(balance["smd_before"].abs(), y, facecolors="none", edgecolors="grey",
                     label="before matching (マッチング前)")
        love.scatter(balance["smd_after"].abs(), y, color="C0", label="after matching (マッチング後)")
        love.axvline(self.threshold, color="C3", linestyle="--", linewidth=1, label=f"|SMD| = {self.threshold}")
        love.set_yticks(y, balance.index, fontsize=8)
        love.invert_yaxis()
        love.set_xlim(0, max(0.6, float(balance["smd_before"].abs().max()) * 1.1))
        # a picture cannot follow the page's language: its labels carry both, as the book's figures do
        love.set(xlabel="|standardised mean difference| (標準化平均差)",
                 title="balance (共変量バランス; year × industry exact: 0)")
        love.legend(loc="lower right", fontsize=7)
        estimate.errorbar([0], [c["estimate"]], yerr=[[c["estimate"] - c["ci_low"]], [c["ci_high"] - c["estimate"]]],
                          fmt="o", color="C0", capsize=3, label="matched ATT, 95 % CI (マッチング後のATT)")
        if c.get("truth_matched") is not None:
            estimate.plot([-0.3, 0.3], [c["truth_matched"]] * 2, color="C3", linewidth=2.5,
                          label="truth, matched starters (真の値)")
        estimate.axhline(0, color="0.4", linewidth=0.8)
        estimate.set_xlim(-1, 1)
        estimate.set_xticks([])
        estimate.set_ylim(min(-0.02, c["ci_low"] - 0.02), max(0.15, c["ci_high"] + 0.02))
        matched, treated = result.counts["matched_treated"], result.counts["treated"]
        estimate.set(ylabel="log points (対数ポイント)",
                     title=f"{matched:,} of {treated:,} starters matched\n({treated:,}社中{matched:,}社)")
        estimate.legend(loc="upper left", fontsize=7)
        return fig

    def compute(self, setting: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        caliper = setting["caliper"]
        try:
            result = self.result(caliper)
        except ValueError as error:  # e.g. no overlap at all within a tiny caliper: say so in the widget
            return {"html": f'<p style="color: {WRONG_COLOUR}">{html.escape(str(error))}</p>', "numbers": {}}, None
        att = result.att(self.column)
        full = result.balance()
        smd = full["smd_after"].abs()
        balance = full.drop(index=_exact_terms(result, list(full.index)))
        truth = self.sample.true_att(result, self.outcome) if self.sample.has_truth else None
        counts = result.counts
        c = {"caliper": caliper, "matched": counts["matched_treated"], "treated": counts["treated"],
             "max_abs_smd": float(smd.max()), "n_above_threshold": int((smd > self.threshold).sum()),
             "estimate": att.estimate, "se": att.std_error, "ci_low": att.ci_low, "ci_high": att.ci_high,
             "truth_matched": truth}
        unmatched = counts["treated"] - counts["matched_treated"]
        # texts with numbers are msg() templates: the page shows them in its own language
        truth_text = (msg("; truth for these matched starters {truth}", truth=number('truth_matched', truth))
                      if truth is not None else "")
        summary = (
            "<p><b>" + msg("caliper = {caliper}", caliper=msg(caliper_label(caliper)) if caliper is None
                           else caliper_label(caliper)) + "</b>"
            + (msg(" ({width} in logit units)", width=f"{result.settings['caliper_width']:.4f}")
               if caliper is not None else "")
            + msg(": {matched} of {treated} starters matched ({share}; {unmatched} unmatched). Largest |SMD| after "
                  "matching {smd} ({above} covariate(s) above {threshold}). ATT {estimate} (s.e. {se}; 95 % CI "
                  "[{low}, {high}]){truth}.",
                  matched=number('matched', counts['matched_treated'], '{:,}'), treated=f"{counts['treated']:,}",
                  share=f"{counts['matched_treated'] / counts['treated']:.1%}", unmatched=f"{unmatched:,}",
                  smd=number('max_abs_smd', smd.max(), '{:.3f}'), above=int((smd > self.threshold).sum()),
                  threshold=self.threshold, estimate=number('estimate', att.estimate), se=f"{att.std_error:.4f}",
                  low=f"{att.ci_low:+.4f}", high=f"{att.ci_high:+.4f}", truth=truth_text)
            + "</p>")
        return {"html": summary + png(self._figure(result, balance, c)), "numbers": c}, None


def caliper_explorer(sample: MatchingSample, outcome: str = "sales", **options: Any) -> CaliperExplorer:
    """The matching chapter's caliper slider over a matching sample.

    Each position of the slider re-matches the sample with that caliper and
    shows, together, how many starters found a match, the balance of the
    covariates (a Love plot) and the estimated ATT next to the truth for the
    matched starters. Every caliper is matched when the widget is made, so
    the slider works on the static site (no kernel).

    Parameters
    ----------
    sample : MatchingSample
        The firms at risk (:func:`~kaigai_lib.whitepaper.samples.matching_sample`);
        made from a World, the widget shows the truth.
    outcome : str, default "sales"
        One of the sample's outcomes.
    **options : Any
        ``measure`` ("change", "level" or "base"), ``calipers`` (the slider's
        positions, SD of the logit; None: no caliper), ``value`` (the start,
        one of ``calipers``; default 0.2), ``threshold`` (the absolute SMD
        counted as imbalanced, 0.1) and options of the matching.

    Returns
    -------
    CaliperExplorer
        The widget (an ``anywidget.AnyWidget``); ``current`` holds the numbers
        shown, ``set(caliper=…)`` moves the slider.

    Raises
    ------
    ValueError
        If ``value`` is not one of ``calipers``.
    TypeError
        If a single ``caliper=`` is given (use ``calipers=`` and ``value=``).

    See Also
    --------
    kaigai_lib.whitepaper.samples.caliper_sweep : The same numbers as a table.

    Examples
    --------
    >>> from kaigai_lib import caliper_explorer, generate, matching_sample
    >>> sample = matching_sample(generate("tiny", seed=0), "export", horizon=2)
    >>> widget = caliper_explorer(sample, "sales", calipers=[None, 0.2, 0.05])
    >>> widget.setup["kind"], list(widget.calipers), len(widget.views)
    ('explorer', ['none', '0.2', '0.05'], 3)
    >>> widget.set(caliper=0.05)
    >>> {name: widget.current[name] for name in ("treated", "matched", "n_above_threshold")}
    {'treated': 306, 'matched': 251, 'n_above_threshold': 1}
    >>> round(widget.current["estimate"], 3), round(widget.current["truth_matched"], 3)
    (0.059, 0.031)
    """
    return CaliperExplorer(sample, outcome, **options)
