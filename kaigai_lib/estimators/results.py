"""One interface for every estimator's result.

Every result class (matching, DiD, TFP, spillovers, the white paper's designs, the naive difference) has

- ``tidy()`` → a DataFrame, one row per estimate, with the columns of :data:`TIDY_COLUMNS` that apply
  (``term`` for a coefficient's name or ``outcome`` for an outcome's, ``group``, ``horizon``, ``estimate``,
  ``std_error``, ``p_value``, ``ci_low``, ``ci_high``, ``n_treated``, ``n_control``, ``n_obs``; ``truth`` and
  ``bias`` when the truth is attached) first, in that order, then any columns of its own;
- ``summary()`` → str, a readable text block (what was fitted, the counts, the estimates);
- ``plot(ax=None, ...)`` → a matplotlib ``Axes``. The rule for figures with several panels: ``plot`` returns
  the FIRST panel's Axes, and ``ax.figure`` is the whole figure (``ax.figure.axes`` lists every panel); ``ax``
  may be passed only to one-panel plots, which then draw into it;
- ``counts()`` → a DataFrame of counts where the result has some (rows in, matched, dropped, pairs lost);
- the fitted pieces as attributes; standard errors are always called ``std_error``.

This module holds the pieces they share, so that no result formats its table its own way.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

TIDY_COLUMNS = ("term", "outcome", "group", "horizon", "estimate", "std_error", "p_value", "ci_low", "ci_high",
                "n_treated", "n_control", "n_obs", "truth", "bias")
Z_95 = float(stats.norm.ppf(0.975))  # 1.959964…: the two-sided 95 % normal quantile


def order_tidy(table: pd.DataFrame) -> pd.DataFrame:
    """The tidy columns first, in :data:`TIDY_COLUMNS` order, then the result's own columns; a fresh index."""
    known = [c for c in TIDY_COLUMNS if c in table.columns]
    return table[known + [c for c in table.columns if c not in known]].reset_index(drop=True)


def normal_inference(estimate: pd.Series | float, std_error: pd.Series | float) -> dict[str, pd.Series | float]:
    """Two-sided p-value and 95 % interval of an asymptotically normal estimate (NaN where the s.e. is NaN)."""
    z = np.asarray(estimate, dtype=float) / np.asarray(std_error, dtype=float)
    with np.errstate(invalid="ignore"):
        p_value = 2 * stats.norm.sf(np.abs(z))
    if np.ndim(p_value) == 0:
        p_value = float(p_value)
    return {"p_value": p_value, "ci_low": estimate - Z_95 * std_error, "ci_high": estimate + Z_95 * std_error}


def add_truth(table: pd.DataFrame, truth: pd.Series | Iterable[float]) -> pd.DataFrame:
    """``truth`` and ``bias`` (estimate − truth) added to a tidy table."""
    return table.assign(truth=list(truth)).assign(bias=lambda t: t["estimate"] - t["truth"])


def summary_block(title: str, table: pd.DataFrame | None = None, notes: Iterable[str] = (),
                  lines: Iterable[str] = (), digits: int = 4) -> str:
    """A result's ``summary()``: a title, indented lines, the table (rounded) and notes."""
    parts = [title, *(f"  {line}" for line in lines)]
    if table is not None and not table.empty:
        parts.append(table.round(digits).to_string())
    parts += [f"  note: {note}" for note in notes]
    return "\n".join(parts)


def counts_frame(rows: Iterable[tuple[str, object]], name: str = "count") -> pd.DataFrame:
    """Counts as a two-column table (``name``, ``value``) indexed by what is counted."""
    return pd.DataFrame(list(rows), columns=[name, "value"]).set_index(name)


class Counts(dict):
    """Counts by name: ``counts["treated"]`` reads one number, ``counts()`` returns them all as a table.

    ``layout`` (a module-level function of the counts, so results stay picklable) shapes the table when a
    result has a better one than the default ``count``/``value`` pairs.
    """

    def __init__(self, values: object = (), *, layout: object = None) -> None:
        super().__init__(values)  # type: ignore[arg-type]
        self.layout = layout

    def __call__(self) -> pd.DataFrame:
        if callable(self.layout):
            return self.layout(self)
        return counts_frame(self.items())
