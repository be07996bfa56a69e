"""Widgets for the spillover chapter.

:class:`RadiusExplorer` — a radius slider (1–20 km) over catchments built
once at the largest radius: each position keeps the establishments within
that radius of every centre, re-fits the white paper's panel model and
shows the estimated spillover coefficient (with its 95 % interval and the
truth, if known) and the share of establishments in more than one
catchment. Results are cached per radius, so going back is instant.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kaigai_lib.estimators.plots import new_figure
from kaigai_lib.estimators.spatial import OPR, Catchments, _truth_values, build_catchments, fit_spillover
from kaigai_lib.teaching.static_widgets import Control, StaticWidget, msg, number, png

WRONG_COLOUR = "#b3261e"


class RadiusExplorer(StaticWidget):
    """A radius slider; the spillover estimate and the overlap share update together.

    Works on the static site too: every radius of the slider is fitted when
    the widget is made. Made by :func:`radius_explorer`. ``results`` holds
    the numbers of every radius computed (a dict radius → dict),
    ``current`` those shown now, and ``set(radius_km=…)`` moves the slider.

    Parameters
    ----------
    catchments : Catchments
        Built with the *largest* radius the slider may reach (its
        ``radius_km`` is the slider's maximum).
    foreign_demand : pandas.DataFrame
        The yearly DI table for :func:`~kaigai_lib.estimators.spatial.fit_spillover`.
    truth : Truth or dict or None, optional
        ``world.truth`` (or its ``spillover`` dict): draws the true
        coefficient and the true radius.
    minimum : float, default 1.0
        The smallest radius (km).
    step : float, default 0.5
        The slider's step (km).
    value : float, default 5.0
        The starting radius (km).
    **fit_options : Any
        Passed to ``fit_spillover`` (e.g. ``design``, ``time_effects``).

    Raises
    ------
    ValueError
        If ``value`` is not within ``[minimum, catchments.radius_km]``.

    Examples
    --------
    >>> from kaigai_lib import build_catchments, generate
    >>> from kaigai_lib.teaching.spatial_widgets import RadiusExplorer
    >>> world = generate("tiny", seed=0)
    >>> catchments = build_catchments(world.establishments, world.firms, radius_km=6.0)
    >>> widget = RadiusExplorer(catchments, world.foreign_demand, minimum=4.0, step=1.0, value=5.0)
    >>> sorted(widget.results), round(widget.current["estimate"], 2)
    ([4.0, 5.0, 6.0], 44.02)
    """

    def __init__(self, catchments: Catchments, foreign_demand: pd.DataFrame, *, truth: Any = None,
                 minimum: float = 1.0, step: float = 0.5, value: float = 5.0, **fit_options: Any) -> None:
        maximum = catchments.radius_km
        if not 0 < minimum <= value <= maximum:
            raise ValueError(f"value={value} km must lie in [minimum={minimum}, {maximum:g}] (the catchments' "
                             "radius is the largest the slider can reach; build them with a larger one).")
        self.catchments, self.foreign_demand = catchments, foreign_demand
        self.truth = truth
        self.true_coefficient = _truth_values(truth).get(OPR)
        spill = getattr(truth, "spillover", truth) if truth is not None else {}
        self.true_radius = spill.get("radius_km") if isinstance(spill, dict) else None
        self.fit_options = fit_options
        self.minimum, self.maximum = minimum, maximum
        self.results: dict[float, dict[str, Any]] = {}
        count = int(np.floor((maximum - minimum) / step + 1e-9)) + 1
        radii = [round(minimum + i * step, 6) for i in range(count)]
        self.sweep(radii)  # every radius first: each picture shows them all
        labels = [f"{r:g}" for r in radii]
        start = labels[int(np.argmin([abs(r - value) for r in radii]))]
        intro = ("<p>Move the catchment radius (km). Each position counts the establishments within that "
                 "distance of every global firm's plant, re-estimates the white paper's panel model and shows "
                 "the coefficient of the overseas production ratio (million yen of the area's exports per "
                 "percentage point) with its 95 % interval, and the share of establishments that lie in more "
                 "than one catchment.</p>")
        super().__init__([Control("radius_km", "radius (km)", labels, start,
                                  mapping=dict(zip(labels, radii, strict=True)))], kind="explorer", intro=intro)

    def at(self, radius_km: float) -> dict[str, Any]:
        """The estimate and overlap at ``radius_km`` (computed once, then cached).

        Parameters
        ----------
        radius_km : float
            A radius up to the catchments' own.

        Returns
        -------
        dict
            ``radius_km``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
            ``overlap_share``, ``areas`` and ``receivers_in_catchments``.
        """
        key = round(float(radius_km), 6)
        if key not in self.results:
            c = self.catchments.with_radius(key)
            result = fit_spillover(c, self.foreign_demand, truth=self.truth, **self.fit_options)
            table = result.tidy().set_index("term").loc[OPR]
            self.results[key] = {
                "radius_km": key, "estimate": float(table["estimate"]), "se": float(table["std_error"]),
                "ci_low": float(table["ci_low"]), "ci_high": float(table["ci_high"]),
                "overlap_share": c.overlap_share, "areas": result.counts["observations"],
                "receivers_in_catchments": int((c.coverage() >= 1).sum()),
            }
        return self.results[key]

    @property
    def current(self) -> dict[str, Any]:
        """The numbers of the radius shown now (the dict of :meth:`at`)."""
        return self.at(self.setting["radius_km"])

    def sweep(self, radii: Any) -> pd.DataFrame:
        """:meth:`at` for every radius in ``radii``: one row each (also fills the cache).

        Parameters
        ----------
        radii : iterable of float
            Radii up to the catchments' own.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``radius_km``.
        """
        return pd.DataFrame([self.at(r) for r in radii]).set_index("radius_km")

    def table(self) -> pd.DataFrame:
        """Every radius computed so far, in order of radius.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``radius_km``, the columns of :meth:`at`.
        """
        return pd.DataFrame(self.results.values()).set_index("radius_km").sort_index()

    def _figure(self, c: dict[str, Any]) -> Figure:
        visited = self.table()
        fig, axes = new_figure(1, 2, figsize=(10, 3.6))
        left, right = axes[0]
        x = visited.index.to_numpy()
        left.errorbar(x, visited["estimate"], yerr=[visited["estimate"] - visited["ci_low"],
                                                     visited["ci_high"] - visited["estimate"]],
                      fmt="o", color="C0", ecolor="C0", capsize=3, alpha=0.45, label="every radius (各半径)")
        left.errorbar([c["radius_km"]], [c["estimate"]], yerr=[[c["estimate"] - c["ci_low"]],
                                                               [c["ci_high"] - c["estimate"]]],
                      fmt="o", color="C3", capsize=4, ms=8, label=f"now (現在): {c['radius_km']:g} km")
        if self.true_coefficient is not None:
            left.axhline(self.true_coefficient, color="black", linestyle="--", linewidth=1.2,
                         label="true coefficient (真の値)")
        for ax in (left, right):
            if self.true_radius is not None:
                ax.axvline(self.true_radius, color="0.5", linestyle=":", linewidth=1.2, label="true radius (真の半径)")
            ax.set_xlim(self.minimum - 0.5, self.maximum + 0.5)
            ax.set_xlabel("catchment radius, km (周辺地域の半径)")
        left.axhline(0, color="0.6", linewidth=0.8)
        # a picture cannot follow the page's language: its labels carry both, as the book's figures do
        left.set(ylabel="million yen per point (百万円／ポイント)",
                 title="Coefficient of the overseas production ratio (海外生産比率)")
        left.legend(loc="best", fontsize=7)
        right.plot(x, 100 * visited["overlap_share"], "o", color="C1", alpha=0.45)
        right.plot([c["radius_km"]], [100 * c["overlap_share"]], "o", color="C3", ms=8)
        right.set_ylim(0, 100)
        right.set(ylabel="% of establishments in catchments (事業所の割合)",
                  title="In two or more catchments (重複する周辺地域)")
        return fig

    def compute(self, setting: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        try:
            c = self.at(setting["radius_km"])
        except ValueError as error:  # e.g. no establishment within a tiny radius: say so in the widget
            return {"html": f'<p style="color: {WRONG_COLOUR}">{html.escape(str(error))}</p>', "numbers": {}}, None
        # texts with numbers are msg() templates: the page shows them in its own language
        truth = (msg("; true coefficient {value}", value=f"<b>{self.true_coefficient:g}</b>")
                 if self.true_coefficient is not None else "")
        summary = (
            "<p><b>" + msg("radius = {radius} km", radius=f"{c['radius_km']:g}") + "</b>"
            + msg(": {areas} area-years; {receivers} establishment-years in a catchment, {overlap} % of them in two "
                  "or more. Coefficient of the overseas production ratio {estimate} (s.e. {se}; 95 % CI "
                  "[{low}, {high}]){truth}.",
                  areas=number('areas', c['areas'], '{:,}'),
                  receivers=number('receivers', c['receivers_in_catchments'], '{:,}'),
                  overlap=number('overlap_pct', 100 * c['overlap_share'], '{:.1f}'),
                  estimate=number('estimate', c['estimate'], '{:+.2f}'), se=number('se', c['se'], '{:.2f}'),
                  low=f"{c['ci_low']:+.2f}", high=f"{c['ci_high']:+.2f}", truth=truth)
            + "</p>")
        numbers = {"areas": c["areas"], "receivers": c["receivers_in_catchments"],
                   "overlap_pct": 100 * c["overlap_share"], "estimate": c["estimate"], "se": c["se"]}
        return {"html": summary + png(self._figure(c)), "numbers": numbers}, None


def radius_explorer(establishments: pd.DataFrame, firms: pd.DataFrame, foreign_demand: pd.DataFrame, *,
                    maximum: float = 20.0, truth: Any = None, minimum: float = 1.0, step: float = 0.5,
                    value: float = 5.0, build_options: dict[str, Any] | None = None,
                    **fit_options: Any) -> RadiusExplorer:
    """Build catchments at ``maximum`` km once and return the spillover chapter's radius slider.

    Each position of the slider keeps the establishments within that radius
    of every centre, re-fits the white paper's panel model and shows the
    estimated spillover coefficient (with its 95 % interval and the truth,
    if known) and the share of establishments in more than one catchment.
    Every radius is fitted when the widget is made (static site, no kernel).

    Parameters
    ----------
    establishments : pandas.DataFrame
        The plant panel (``world.establishments``: ids, year, coordinates, shipments, exports).
    firms : pandas.DataFrame
        The firm panel (``world.firms``), to find the centres' firms.
    foreign_demand : pandas.DataFrame
        The yearly DI table (``world.foreign_demand``).
    maximum : float, default 20.0
        The largest radius (km): the catchments are built at it.
    truth : Truth or dict or None, optional
        ``world.truth`` (or its ``spillover`` dict): draws the true
        coefficient and the true radius.
    minimum : float, default 1.0
        The smallest radius (km).
    step : float, default 0.5
        The slider's step (km).
    value : float, default 5.0
        The starting radius (km).
    build_options : dict or None, optional
        Options of :func:`~kaigai_lib.estimators.spatial.build_catchments`.
    **fit_options : Any
        Options of :func:`~kaigai_lib.estimators.spatial.fit_spillover` (e.g. ``design``, ``time_effects``).

    Returns
    -------
    RadiusExplorer
        The widget (an ``anywidget.AnyWidget``); ``results`` holds the
        numbers of every radius, ``current`` those shown, ``set(radius_km=…)``
        moves the slider.

    Raises
    ------
    ValueError
        If ``value`` is not within ``[minimum, maximum]``.

    Examples
    --------
    >>> from kaigai_lib import generate, radius_explorer
    >>> world = generate("tiny", seed=0)
    >>> widget = radius_explorer(world.establishments, world.firms, world.foreign_demand, maximum=8.0,
    ...                          minimum=2.0, step=3.0, value=5.0, truth=world.truth)
    >>> sorted(widget.results), widget.true_coefficient
    ([2.0, 5.0, 8.0], 40.0)
    >>> {name: round(widget.current[name], 2) for name in ("radius_km", "estimate", "se", "overlap_share")}
    {'radius_km': 5.0, 'estimate': 44.02, 'se': 7.77, 'overlap_share': 0.1}
    """
    catchments = build_catchments(establishments, firms, radius_km=maximum, **(build_options or {}))
    return RadiusExplorer(catchments, foreign_demand, truth=truth, minimum=minimum, step=step, value=value,
                          **fit_options)


__all__ = ["RadiusExplorer", "radius_explorer"]
