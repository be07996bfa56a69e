"""Plot helpers shared by the results' plots and the book's figures: one way to open a figure, the labels of
the outcomes and analyses, and Figure II-2-4-1's growth bars (drawn from a table, so any layer may call it).

Kept here, under the estimators, because a result's ``plot`` needs them and estimators import nothing above
:mod:`kaigai_lib.data`; :mod:`kaigai_lib.teaching.figures` builds the chapters' figures on top.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib_fontja  # noqa: F401  (importing it registers the IPAex font, so Japanese labels render)
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kaigai_lib.data.schema import require_columns as _require_columns

ANALYSIS_LABELS = {"export": "Export starters (輸出開始企業)", "fdi": "FDI starters (海外直接投資開始企業)"}

OUTCOME_LABELS = {
    "employees": "Employees (雇用者数)",
    "sales": "Sales (売上高)",
    "capital_stock": "Capital stock (資本ストック)",
    "tfp": "TFP (全要素生産性)",
    "compensation_per_employee": "Compensation per employee\n(一人当たり雇用者報酬)",
}


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float],
                **subplot_kwargs: str | bool) -> tuple[Figure, np.ndarray]:
    """A figure with a grid of axes (always 2-D), constrained layout, already closed in pyplot.

    Examples
    --------
    >>> from kaigai_lib import new_figure
    >>> fig, axes = new_figure(1, 2, figsize=(6, 3))
    >>> axes.shape, fig.get_layout_engine().__class__.__name__
    ((1, 2), 'ConstrainedLayoutEngine')
    """
    # pyplot (not a bare Figure) so a notebook's inline backend knows how to show it; closed at once so it
    # is shown once — when returned by a cell — and figures do not pile up in pyplot's registry.
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=figsize, layout="constrained", **subplot_kwargs)
    plt.close(fig)
    return fig, axes


# --------------------------------------------------------------------------
# Figure II-2-4-1: growth of starters and matched non-starters (difference-in-differences)
# --------------------------------------------------------------------------

GROWTH_OUTCOME_LABELS = {"sales": "Sales\n売上高", "employees": "Employees\n雇用者数",
                         "capital_stock": "Capital\n資本ストック", "tfp": "TFP\n全要素生産性",
                         "compensation_per_employee": "Pay per\nemployee\n一人当たり報酬"}
GROUP_LABELS = {
    ("export", "under 50"): "Export starters, < 50 employees\n輸出開始企業（従業員50人未満）",
    ("export", "50-99"): "Export starters, 50–99 employees\n輸出開始企業（従業員50～99人）",
    ("export", "100-299"): "Export starters, 100–299 employees\n輸出開始企業（従業員100～299人）",
    ("export", "300+"): "Export starters, 300+ employees\n輸出開始企業（従業員300人以上）",
    ("fdi", "manufacturing"): "FDI starters, manufacturing\n海外直接投資開始企業（製造業）",
    ("fdi", "non-manufacturing"): "FDI starters, non-manufacturing\n海外直接投資開始企業（非製造業）",
}


def plot_growth_bars(growth: pd.DataFrame, *, faded_alpha: float = 0.35, level: float = 0.05,
                     show_truth: bool = True, ncols: int = 3, unit: str = "%") -> Figure:
    """Figure II-2-4-1 replica: average growth of starters and matched non-starters, one panel per group.

    ``growth`` has one row per analysis × group × outcome with ``analysis``
    ("export"/"fdi"), ``group``, ``outcome``, ``starters`` and
    ``non_starters`` (average change from t−1 to t+h), ``p_value`` of the
    difference-in-differences and, optionally, ``counterfactual`` (the
    starters' true growth without the start) and ``horizon`` — e.g.
    ``WhitePaperDid.growth()`` of kaigai_lib.estimators.did, concatenated over analyses.
    As in the white paper, an outcome whose difference is not significant at
    ``level`` is drawn faded (``faded_alpha``). With ``show_truth``, a black
    tick on the non-starters' bar marks the counterfactual.

    Examples
    --------
    Two groups, one outcome each (the numbers are made up for the picture):

    >>> import pandas as pd
    >>> from kaigai_lib import plot_growth_bars
    >>> growth = pd.DataFrame({"analysis": ["export", "export"], "group": ["50-99", "300+"],
    ...                        "outcome": ["sales", "sales"], "starters": [8.0, 5.0],
    ...                        "non_starters": [3.0, 4.5], "p_value": [0.01, 0.6]})
    >>> fig = plot_growth_bars(growth, show_truth=False)
    >>> [ax.get_title().split("\\n")[0] for ax in fig.axes if ax.has_data()]
    ['Export starters, 50–99 employees', 'Export starters, 300+ employees']
    """
    _require_columns(growth, ["analysis", "group", "outcome", "starters", "non_starters", "p_value"], "growth")
    panels = list(dict.fromkeys(zip(growth["analysis"], growth["group"], strict=True)))
    if not panels:
        raise ValueError("growth is empty: nothing to draw.")
    ncols = min(ncols, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(3.9 * ncols, 3.3 * nrows), sharey=True)
    truth = show_truth and "counterfactual" in growth.columns
    colours = {"export": ("C0", "0.6"), "fdi": ("C3", "0.6")}
    for ax, (analysis, group) in zip(axes.ravel(), panels, strict=False):
        part = growth.loc[(growth["analysis"] == analysis) & (growth["group"] == group)]
        x = np.arange(len(part))
        faded = ~(part["p_value"].to_numpy() < level)  # NaN (too few firms) counts as not significant
        alphas = np.where(faded, faded_alpha, 1.0)
        starter_colour, other_colour = colours.get(analysis, ("C0", "0.6"))
        for k, (xi, a) in enumerate(zip(x, alphas, strict=True)):
            row = part.iloc[k]
            ax.bar(xi - 0.2, row["starters"], width=0.4, color=starter_colour, alpha=a)
            ax.bar(xi + 0.2, row["non_starters"], width=0.4, color=other_colour, alpha=a)
            if truth and np.isfinite(row["counterfactual"]):
                ax.plot([xi + 0.02, xi + 0.38], [row["counterfactual"]] * 2, color="black", linewidth=2.2)
        ax.axhline(0, color="0.3", linewidth=0.8)
        ax.set_xticks(x, [GROWTH_OUTCOME_LABELS.get(o, o) for o in part["outcome"]], fontsize=8)
        ax.set_title(GROUP_LABELS.get((analysis, group), f"{analysis}: {group}"), fontsize=9)
    for ax in axes.ravel()[len(panels):]:
        ax.set_axis_off()
    horizon = int(growth["horizon"].iloc[0]) if "horizon" in growth.columns else 5
    for row in axes:
        row[0].set_ylabel(f"growth t−1 → t+{horizon} ({unit})\n{horizon}年後の成長率")
    handles = [plt.Rectangle((0, 0), 1, 1, color="C0"), plt.Rectangle((0, 0), 1, 1, color="C3"),
               plt.Rectangle((0, 0), 1, 1, color="0.6"),
               plt.Rectangle((0, 0), 1, 1, color="0.6", alpha=faded_alpha)]
    labels = ["export starters (輸出開始企業)", "FDI starters (海外直接投資開始企業)",
              "matched non-starters (非開始企業)", f"faded: not significant at {level:.0%} (有意でない)"]
    if truth:
        handles.append(plt.Line2D([], [], color="black", linewidth=2.2))
        labels.append("truth: starters' growth without the start (真の反実仮想)")
    present = {"export": 0, "fdi": 1}
    keep = [i for i in range(len(handles)) if i >= 2 or any(a == name for a, _ in panels
                                                           for name, j in present.items() if j == i)]
    fig.legend([handles[i] for i in keep], [labels[i] for i in keep], loc="outside lower center", ncols=3,
               fontsize=8, frameon=False)
    return fig
