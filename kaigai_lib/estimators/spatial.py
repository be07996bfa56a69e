"""Spatial spillovers: catchments around global firms' plants and the white paper's panel model.

The white paper (通商白書2023, 第II-2-4-4図 and 付注6) asks whether the
establishments near a domestic plant of a *global firm* (グローバル企業:
paid-in capital of ¥1bn or more and an overseas production ratio above 0)
export more when that firm produces more abroad. Its recipe, rebuilt here:

1. :func:`build_catchments` — every domestic plant of a global firm is a
   *centre* (中心事業所) in each year its firm is global; its *catchment*
   (周辺地域) holds the establishments within ``radius_km`` (5 km,
   great-circle distance; candidates found with a scikit-learn ball tree of
   locations on the unit sphere, kept by the haversine formula), except the
   establishments of large firms themselves (footnote 242). Establishments
   are summed per centre and year: exports, shipments, employees, count.
2. :func:`fit_spillover` — a panel fixed-effects model (linearmodels
   ``PanelOLS``, centre effects, optional year effects, standard errors
   clustered by centre) of the area's exports on the centre firm's overseas
   production ratio (海外生産比率), the foreign-demand DI (外需DI) and the
   area's shipments. In 工業統計調査 shipments include exports, so that
   control moves with the spillover (a bad control); ``control=`` offers
   shipments less exports, never-exporters' shipments and last year's
   shipments instead. ``cluster=`` offers errors clustered by the centre's
   firm (its plants share its ratio), by year, and Driscoll–Kraay errors:
   the DI is one value per year, so its coefficient rests on as many values
   as there are years.
3. :meth:`SpilloverResult.decomposition` — the mean change of each
   regressor between the first and last year times its coefficient: the
   contributions behind Figure II-2-4-4 (:meth:`SpilloverResult.plot_decomposition`).

Footnote 241: where catchments overlap, an establishment counts in the area
of every centre within reach, and the white paper assumes the centres'
effects are independent. :meth:`Catchments.overlap` measures the overlap;
two further designs handle it:

* ``design="nearest"`` — each establishment is counted only in the area of
  its nearest centre (areas no longer overlap; a centre's effect on
  establishments nearer to another centre is lost);
* ``design="exposure"`` — each area's regressors sum over *every* centre
  that reaches into the area, weighted by the share of that centre's
  neighbourhood (exporting establishments, by shipments) that lies inside
  it; it assumes a centre's effect is shared in proportion to shipments.

:func:`overlap_bias` computes the omitted-variable bias of the white paper's
design from the neighbours' terms it leaves out.

Every function takes DataFrames and column names whose defaults are the
schema's (``kaigai_lib.data.schema``), so the same calls run on 工業統計調査 /
企業活動基本調査 / 海外事業活動基本調査 microdata. Nothing is dropped
silently: ``Catchments.drops`` counts every establishment-year and centre
left out, and why.
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from linearmodels import PanelOLS
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import BallTree

from kaigai_lib.data.schema import (
    ESTABLISHMENTS,
    check_frame,
    is_number,
    key_problems,
    listed,
    require_columns,
    rows_text,
)
from kaigai_lib.estimators.plots import new_figure
from kaigai_lib.estimators.results import add_truth, order_tidy

EARTH_RADIUS_KM = 6371.0088
DEFAULT_RADIUS_KM = 5.0
GLOBAL_FIRM_CAPITAL = 1_000.0  # million yen: ¥1bn (footnote 239)
KM_PER_DEGREE_LATITUDE = 111.2
# Japan's extent in the schema (degrees, WGS84): anything outside is a data error.
LATITUDE_RANGE = (float(ESTABLISHMENTS.column("latitude").minimum), float(ESTABLISHMENTS.column("latitude").maximum))
LONGITUDE_RANGE = (float(ESTABLISHMENTS.column("longitude").minimum),
                   float(ESTABLISHMENTS.column("longitude").maximum))

DESIGNS = ("white_paper", "nearest", "exposure")
DESIGN_LABELS = {
    "white_paper": "white paper (all establishments within r)",
    "nearest": "nearest centre only",
    "exposure": "exposure to every centre in range",
}
OPR = "overseas_production_ratio"
DI = "foreign_demand_di"
SHIPMENTS = "shipments"
# The columns the catchments read, under the schema's names (kaigai_lib.data.schema). One way to name columns:
# real data are renamed to these once (schema.validate(df, table, rename={"your name": "schema name"})), and no
# function takes column-name arguments.
SCHEMA_NAMES = {"id": "establishment_id", "firm": "firm_id", "year": "year", "latitude": "latitude",
                "longitude": "longitude", "exports": "exports", "shipments": SHIPMENTS, "employees": "employees",
                "capital": "paid_in_capital", "overseas_ratio": OPR}
DOMESTIC_SHIPMENTS = "domestic_shipments"
NON_EXPORTER_SHIPMENTS = "non_exporter_shipments"
LAGGED_SHIPMENTS = "lagged_shipments"
# The area-shipments controls fit_spillover offers: the white paper's (a bad control when shipments include
# exports, as 製造品出荷額等 do) and three that the spillover does not move.
CONTROLS = (SHIPMENTS, DOMESTIC_SHIPMENTS, NON_EXPORTER_SHIPMENTS, LAGGED_SHIPMENTS, "none")
CONTROL_LABELS = {
    SHIPMENTS: "area shipments (white paper; include exports)",
    DOMESTIC_SHIPMENTS: "area shipments less exports",
    NON_EXPORTER_SHIPMENTS: "shipments of never-exporting establishments",
    LAGGED_SHIPMENTS: "area shipments of the year before",
    "none": "no shipments control",
}
# Standard errors fit_spillover offers; the DI varies by year only, so only the last two allow for a common
# yearly shock to every area.
CLUSTERS = ("entity", "component", "firm", "year", "driscoll_kraay", "none")
CLUSTER_LABELS = {
    "entity": "clustered by centre", "component": "clustered by overlap component",
    "firm": "clustered by centre firm", "year": "clustered by year (year blocks)",
    "driscoll_kraay": "Driscoll–Kraay (Bartlett kernel over years)", "none": "heteroskedasticity-robust",
}
TERM_LABELS = {
    OPR: "Overseas production ratio (海外生産比率)",
    DI: "Foreign demand DI (外需DI)",
    SHIPMENTS: "Area shipments (地域の出荷額)",
    DOMESTIC_SHIPMENTS: "Area shipments less exports (輸出を除く出荷額)",
    NON_EXPORTER_SHIPMENTS: "Non-exporters' shipments (非輸出事業所の出荷額)",
    LAGGED_SHIPMENTS: "Area shipments, year before (前年の出荷額)",
    "year_effects": "Year effects (年効果)",
    "other": "Other (その他: residual)",
    "total": "Average change in exports (輸出額の平均変化)",
}


class SpatialInputError(ValueError):
    """Bad input to the spatial analysis: the message names the column, the counts and the fix."""


class SpatialInputWarning(UserWarning):
    """Input the spatial analysis repaired or could not check (numbers stored as text, reused firm ids, …)."""


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _numeric_column(values: pd.Series, column: str, table: str, index: pd.Index) -> pd.Series:
    """``values`` as floats; text is read as numbers with a warning naming the column and rows, or refused.

    Numbers stored as text (as ``read_csv`` leaves "1,234") are read, thousands
    separators and full-width digits included, with a ``SpatialInputWarning``; text that is not
    a number raises, and so do infinite values (they would end as NaN or a NumPy error in the area sums and
    the regression). Missing values stay missing (the caller decides).
    """
    numbers = _parse_numbers(values, column, table, index)
    infinite = np.isinf(numbers.to_numpy())
    if infinite.any():
        raise SpatialInputError(f"{table}: column '{column}' is infinite in {int(infinite.sum())} row(s) ("
                                f"{rows_text(index[infinite])}), e.g. a ratio with a zero denominator; fix or blank "
                                "them first.")
    return numbers


def _parse_numbers(values: pd.Series, column: str, table: str, index: pd.Index) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        raise SpatialInputError(f"{table}: column '{column}' is true/false; it must hold numbers.")
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    if values.dtype == object and not values.map(lambda v: isinstance(v, str)).any():
        try:  # numbers in an object column (e.g. Decimal, or ints mixed with None): not text
            return pd.to_numeric(values).astype(float)
        except (TypeError, ValueError):
            pass
    # full-width digits (１，２３４) are the same numbers: NFKC gives their ASCII forms
    text = values.astype("string").map(lambda v: unicodedata.normalize("NFKC", v), na_action="ignore").str.strip()
    text = text.mask(text == "")
    separated = text.str.fullmatch(_THOUSANDS.pattern).fillna(False).to_numpy(dtype=bool)
    parsed = pd.to_numeric(text.str.replace(",", "", regex=False).where(separated, text), errors="coerce")
    bad = (parsed.isna() & text.notna()).to_numpy()
    if bad.any():
        examples = ", ".join(repr(v) for v in text[bad].unique()[:3])
        raise SpatialInputError(
            f"{table}: column '{column}' holds {int(bad.sum())} value(s) that are not numbers ("
            f"{rows_text(index[bad])}, e.g. {examples}); fix or blank them before building catchments.")
    as_text = text.notna().to_numpy()
    if as_text.any():
        detail = (f", {int(separated.sum())} of them with thousands separators (e.g. {text[separated].iloc[0]!r})"
                  if separated.any() else "")
        warnings.warn(
            f"{table}: column '{column}' holds numbers stored as text in {int(as_text.sum())} row(s) ("
            f"{rows_text(index[as_text])}){detail}; read as numbers. Load it as numbers to silence this (e.g. "
            "pd.read_csv(..., thousands=',')).", SpatialInputWarning, stacklevel=3)
    return parsed.astype(float)


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r}: choose one of {list(choices)}.")


def haversine_km(lat1: np.ndarray | float, lon1: np.ndarray | float, lat2: np.ndarray | float,
                 lon2: np.ndarray | float) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasts like numpy).

    Examples
    --------
    Tokyo station to Osaka station, and to two points at once:

    >>> import numpy as np
    >>> from kaigai_lib import haversine_km
    >>> round(float(haversine_km(35.681, 139.767, 34.702, 135.496)), 1)
    403.1
    >>> haversine_km(35.681, 139.767, np.array([35.681, 34.702]), np.array([139.767, 135.496])).round(1)
    array([  0. , 403.1])
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


# --------------------------------------------------------------------------
# Global firms' plants
# --------------------------------------------------------------------------

def global_firm_plants(establishments: pd.DataFrame, firms: pd.DataFrame, year: int | None = None, *,
                       min_capital: float = GLOBAL_FIRM_CAPITAL, min_overseas_ratio: float = 0.0) -> pd.DataFrame:
    """Domestic plants of the white paper's global firms: one row per plant and year the firm is global.

    A firm is global in a year when its paid-in capital is at least
    ``min_capital`` (million yen; ¥1bn) and its overseas production ratio is
    above ``min_overseas_ratio`` (percent; 0) in that year (footnote 239).
    Returns the establishments' rows (of ``year`` only, if given) with the
    firm's two columns added. Columns have the schema's names (``SCHEMA_NAMES``).

    Examples
    --------
    >>> from kaigai_lib import generate, global_firm_plants
    >>> world = generate("tiny", seed=0)
    >>> plants = global_firm_plants(world.establishments, world.firms, year=2015)
    >>> len(plants), plants["year"].unique().tolist()
    (39, [2015])
    >>> bool((plants["paid_in_capital"] >= 1000).all() and (plants["overseas_production_ratio"] > 0).all())
    True
    """
    firm_col, year_col, capital_col, overseas_ratio_col = (SCHEMA_NAMES[k] for k in (
        "firm", "year", "capital", "overseas_ratio"))
    require_columns(establishments, [firm_col, year_col], "establishments")
    require_columns(firms, [firm_col, year_col, capital_col, overseas_ratio_col], "firms")
    if year is not None and not (is_number(year) and float(year).is_integer()):
        raise SpatialInputError(f"global_firm_plants: year={year!r} must be a whole number such as 2015 (or None "
                                "for every year).")
    # years, amounts and ids read as build_catchments reads them: text numbers with a warning, bad rows named
    firm_year = firms[[firm_col, year_col, capital_col, overseas_ratio_col]].copy()
    for column in (capital_col, overseas_ratio_col):
        firm_year[column] = _numeric_column(firm_year[column], column, "firms", firms.index)
    firm_year[year_col] = _years(firm_year[year_col], year_col, "firms", firms.index)
    plant_years = _years(establishments[year_col], year_col, "establishments", establishments.index)
    _check_keys(firm_year, [firm_col, year_col], "firms", firms.index)
    _check_keys(establishments, [firm_col], "establishments", establishments.index, unique=False)
    plant_ids, firm_year[firm_col] = _common_ids(establishments[firm_col], firm_year[firm_col], firm_col,
                                                 establishments.index, firms.index)
    plants = establishments.assign(**{year_col: plant_years, firm_col: plant_ids})
    if year is not None:
        firm_year = firm_year.loc[firm_year[year_col] == year]
        plants = plants.loc[plants[year_col] == year]
    # a plant's firm-year without either amount cannot be classified: refused, not dropped as "not global"
    linked = firm_year.merge(plants[[firm_col, year_col]].drop_duplicates(), on=[firm_col, year_col])
    unknown = linked[[capital_col, overseas_ratio_col]].isna().any(axis=1)
    if unknown.any():
        examples = linked.loc[unknown, [firm_col, year_col]].head(3).to_dict("records")
        raise SpatialInputError(f"firms: {int(unknown.sum())} firm-year(s) with plants have no '{capital_col}' or "
                                f"'{overseas_ratio_col}' (e.g. {examples}), so whether the firm is global is unknown; "
                                "fill them in, or drop those firms' plants first (and report how many).")
    global_firms = firm_year.loc[(firm_year[capital_col] >= min_capital)
                                 & (firm_year[overseas_ratio_col] > min_overseas_ratio)]
    return plants.merge(global_firms, on=[firm_col, year_col], how="inner", validate="many_to_one")


# --------------------------------------------------------------------------
# Catchments
# --------------------------------------------------------------------------

@dataclass
class Catchments:
    """Centres, the establishments within their radius, and every count of what was left out.

    Built by :func:`build_catchments`; read it through its properties.

    Attributes
    ----------
    sources : pd.DataFrame
        one row per plant-year of every plant whose firm is global in
        at least one year (``centre_id``, ``firm_id``, ``year``, ``latitude``,
        ``longitude``, ``overseas_production_ratio`` — missing when the firm
        is not in the firm table that year —, ``paid_in_capital`` and
        ``is_centre``: the firm is global that year, so the plant-year is one
        of the white paper's centres). The exposure design needs the years a
        plant is not a centre too: its neighbours are still near it.
    receivers : pd.DataFrame
        one row per establishment-year that can receive a spillover
        (not owned by a large firm), with location, exports, shipments, employees.
    pairs : pd.DataFrame
        ``src`` (row of ``sources``), ``rec`` (row of ``receivers``) and
        ``distance_km`` for every receiver within ``radius_km`` of a source
        in the same year.
    radius_km : float
        the radius the pairs were found with.
    drops : pd.DataFrame
        what was left out or filled in, and why (``kind`` is "dropped" or "note").
    settings : dict[str, Any]
        thresholds and options used.
    columns : dict[str, str]
        the column names of the input tables.

    Examples
    --------
    What :func:`build_catchments` found, read through its properties:

    >>> from kaigai_lib import build_catchments, generate
    >>> world = generate("tiny", seed=0)
    >>> catchments = build_catchments(world.establishments, world.firms, radius_km=5.0)
    >>> catchments.radius_km, len(catchments.members)
    (5.0, 8290)
    >>> round(catchments.overlap_share, 3)
    0.102
    >>> len(catchments.with_radius(2.0).areas) <= len(catchments.areas)
    True
    """

    sources: pd.DataFrame
    receivers: pd.DataFrame
    pairs: pd.DataFrame
    radius_km: float
    drops: pd.DataFrame
    settings: dict[str, Any]
    columns: dict[str, str]
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ---- basic views -----------------------------------------------------------------------------

    @property
    def centres(self) -> pd.DataFrame:
        """The white paper's centres: plant-years of global firms (capital ≥ threshold, OPR > 0 that year)."""
        return self.sources.loc[self.sources["is_centre"]].reset_index(drop=True)

    def _centre_pairs(self) -> pd.DataFrame:
        if "centre_pairs" not in self._cache:
            is_centre = self.sources["is_centre"].to_numpy()
            self._cache["centre_pairs"] = self.pairs.loc[is_centre[self.pairs["src"].to_numpy()]]
        return self._cache["centre_pairs"]

    @property
    def members(self) -> pd.DataFrame:
        """One row per (centre, year, receiving establishment) within the radius, with the distance in km."""
        p = self._centre_pairs()
        src, rec = p["src"].to_numpy(), p["rec"].to_numpy()
        return pd.DataFrame({
            "centre_id": self.sources["centre_id"].to_numpy()[src],
            "year": self.sources["year"].to_numpy()[src],
            "establishment_id": self.receivers["establishment_id"].to_numpy()[rec],
            "distance_km": p["distance_km"].to_numpy(),
        })

    def _aggregate(self, src: np.ndarray, rec: np.ndarray) -> pd.DataFrame:
        """Sum receivers' exports, shipments, employees and count them per source row (areas with ≥ 1 member).

        Besides the white paper's sums: ``domestic_shipments`` (shipments less
        exports) and ``non_exporter_shipments`` (shipments of establishments
        with no exports in any year), controls the spillover does not move.
        """
        n = len(self.sources)
        r = self.receivers
        counts = np.bincount(src, minlength=n)
        exporting = (r["exports"].to_numpy() > 0)[rec]
        amounts = self._control_amounts(rec)
        table = pd.DataFrame({
            "exports": np.bincount(src, weights=r["exports"].to_numpy()[rec], minlength=n),
            # the white paper's shipments and the controls the spillover cannot move: shipments less exports,
            # and never-exporters' shipments
            **{control: np.bincount(src, weights=amounts[control], minlength=n)
               for control in (SHIPMENTS, DOMESTIC_SHIPMENTS, NON_EXPORTER_SHIPMENTS)},
            "employees": np.bincount(src, weights=r["employees"].to_numpy()[rec], minlength=n),
            "n_establishments": counts,
            "n_exporting": np.bincount(src, weights=exporting, minlength=n).astype(np.int64),
        })
        table = pd.concat([self.sources[["centre_id", "firm_id", "year", "latitude", "longitude", OPR]], table],
                          axis=1)
        keep = self.sources["is_centre"].to_numpy() & (counts > 0)
        return table.loc[keep].reset_index(drop=True)

    def control_contributions(self, control: str) -> pd.DataFrame:
        """What each receiving establishment adds to its area's shipments control (``fit_spillover``'s ``control``).

        One row per row of :attr:`members` with the establishment's ``firm_id`` and ``amount``: its shipments
        ("shipments", and "lagged_shipments", the same sums a year later), shipments less exports
        ("domestic_shipments"), or shipments if it never exports and 0 otherwise ("non_exporter_shipments").
        The secure room's disclosure checks read who stands behind the control term from it.
        """
        _check_choice("control", control, CONTROLS)
        rec = self._centre_pairs()["rec"].to_numpy()
        if control == "none":
            amount = np.zeros(len(rec))
        else:  # last year's shipments are the same sums a year later
            amount = self._control_amounts(rec)[SHIPMENTS if control == LAGGED_SHIPMENTS else control]
        return self.members.assign(firm_id=self.receivers["firm_id"].to_numpy()[rec], amount=amount)

    def _control_amounts(self, rec: np.ndarray) -> dict[str, np.ndarray]:
        """What each receiver row in ``rec`` adds to an area's shipments, shipments less exports and
        never-exporters' shipments: one definition for the areas' sums and for the disclosure checks."""
        r = self.receivers
        shipments = r[SHIPMENTS].to_numpy(float)[rec]
        return {SHIPMENTS: shipments, DOMESTIC_SHIPMENTS: shipments - r["exports"].to_numpy(float)[rec],
                NON_EXPORTER_SHIPMENTS: shipments * self._never_exports()[rec]}

    def _never_exports(self) -> np.ndarray:
        """For each receiver row: the establishment has no exports in any year of the table."""
        if "never_exports" not in self._cache:
            r = self.receivers
            ever = r.groupby("establishment_id")["exports"].transform("max").to_numpy() > 0
            self._cache["never_exports"] = ~ever
        return self._cache["never_exports"]

    @property
    def areas(self) -> pd.DataFrame:
        """The white paper's areas: one row per centre-year with at least one receiver, sums over the catchment."""
        if "areas" not in self._cache:
            p = self._centre_pairs()
            self._cache["areas"] = self._aggregate(p["src"].to_numpy(), p["rec"].to_numpy())
        return self._cache["areas"]

    def nearest_areas(self) -> pd.DataFrame:
        """Areas when each receiver counts only for its nearest centre of the year (ties: the first centre)."""
        if "nearest" not in self._cache:
            p = self._centre_pairs()
            order = np.lexsort((p["distance_km"].to_numpy(), p["rec"].to_numpy()))
            rec_sorted = p["rec"].to_numpy()[order]
            first = np.ones(len(order), dtype=bool)
            first[1:] = rec_sorted[1:] != rec_sorted[:-1]
            chosen = order[first]
            self._cache["nearest"] = self._aggregate(p["src"].to_numpy()[chosen], p["rec"].to_numpy()[chosen])
        return self._cache["nearest"]

    # ---- overlap ---------------------------------------------------------------------------------

    def coverage(self) -> np.ndarray:
        """For each receiver row: the number of centres (of its year) whose catchment contains it."""
        if "coverage" not in self._cache:
            self._cache["coverage"] = np.bincount(self._centre_pairs()["rec"].to_numpy(),
                                                  minlength=len(self.receivers))
        return self._cache["coverage"]

    @property
    def overlap_share(self) -> float:
        """Share of the establishment-years inside at least one catchment that are inside two or more."""
        cov = self.coverage()
        inside = int((cov >= 1).sum())
        return float((cov >= 2).sum() / inside) if inside else 0.0

    def overlap(self) -> pd.DataFrame:
        """Overlap diagnostics by year and overall (footnote 241).

        Columns: centres; receivers inside at least one catchment; inside two
        or more; their share (``share_in_several``); the mean number of
        catchments per covered receiver; and the share of centres whose
        catchment shares at least one establishment with another centre's.
        """
        cov = self.coverage()
        r_year = self.receivers["year"].to_numpy()
        p = self._centre_pairs()
        shared = cov[p["rec"].to_numpy()] >= 2
        src_shared = np.zeros(len(self.sources), dtype=bool)
        src_shared[p["src"].to_numpy()[shared]] = True
        centres = self.sources.loc[self.sources["is_centre"]]
        rows = []
        for year in [*sorted(centres["year"].unique()), "all"]:
            in_year = np.ones(len(cov), dtype=bool) if year == "all" else r_year == year
            c = centres if year == "all" else centres.loc[centres["year"] == year]
            covered = (cov >= 1) & in_year
            several = (cov >= 2) & in_year
            rows.append({
                "year": year,
                "centres": len(c),
                "receivers_in_catchments": int(covered.sum()),
                "in_several_catchments": int(several.sum()),
                "share_in_several": float(several.sum() / covered.sum()) if covered.any() else 0.0,
                "mean_catchments_per_receiver": float(cov[covered].mean()) if covered.any() else 0.0,
                "share_of_centres_overlapping": float(src_shared[c.index.to_numpy()].mean()) if len(c) else 0.0,
            })
        return pd.DataFrame(rows).set_index("year")

    def components(self) -> pd.Series:
        """Overlap clusters: centres linked when their catchments share an establishment in some year.

        Returns the cluster number of each centre (indexed by ``centre_id``);
        a centre that never overlaps is a cluster of its own. Used to cluster
        standard errors when areas share establishments.
        """
        if "components" not in self._cache:
            p = self._centre_pairs()
            centre_ids = self.sources["centre_id"].to_numpy()
            ids, node = np.unique(centre_ids[self.sources["is_centre"].to_numpy()], return_inverse=True)
            node_of_src = np.full(len(self.sources), -1)
            node_of_src[self.sources["is_centre"].to_numpy()] = node
            src_node = node_of_src[p["src"].to_numpy()]
            rec = p["rec"].to_numpy()
            # incidence centre × receiver-year; centres sharing a receiver-year are linked
            incidence = sparse.csr_matrix((np.ones(len(rec)), (src_node, rec)), shape=(len(ids), len(self.receivers)))
            adjacency = incidence @ incidence.T
            _, labels = connected_components(adjacency, directed=False)
            self._cache["components"] = pd.Series(labels, index=pd.Index(ids, name="centre_id"), name="component")
        return self._cache["components"]

    # ---- exposure ---------------------------------------------------------------------------------

    def exposure_areas(self, unknown_sources: str = "carry") -> tuple[pd.DataFrame, dict[str, int]]:
        """The white paper's areas with each centre's reach into them (the exposure design).

        For centre ``c``'s area in year ``t`` and every source ``s`` (a plant of
        a firm that is global in some year) whose catchment reaches into it,
        ``φ[c, s]`` is the share of ``s``'s neighbourhood inside ``c``'s area:
        the shipments of the exporting receivers within ``radius_km`` of
        ``s`` that are also within ``radius_km`` of ``c``, over those of all
        exporting receivers within reach of ``s`` (an establishment's weight
        is its mean shipments over the years; exporting = exports > 0 in some
        year). ``φ[c, c] = 1`` when ``c`` has exporting neighbours. Adds

        * ``opr_exposure`` = Σ_s φ[c, s]·OPR[s, t], own centre included;
        * ``reach`` = Σ_s φ[c, s] (the DI exposure is ``reach × DI[t]``);
        * ``opr_neighbours`` = ``opr_exposure − OPR[c, t]``, the part the white
          paper's design leaves out, and ``reach_neighbours`` = ``reach − 1``.

        A source whose firm is not in the firm table that year has no known
        ratio: ``unknown_sources="carry"`` takes its firm's ratio of the
        nearest year with one; ``"drop"`` drops every area-year such a
        source reaches into. Returns the table and the counts.
        """
        _check_choice("unknown_sources", unknown_sources, ("carry", "drop"))
        key = f"exposure_{unknown_sources}"
        if key in self._cache:
            return self._cache[key]
        src_tab, rec_tab, pairs = self.sources, self.receivers, self.pairs
        # receivers' time-invariant weights: mean shipments of establishments that export in some year
        by_id = rec_tab.groupby("establishment_id").agg(mean_shipments=(SHIPMENTS, "mean"),
                                                        max_exports=("exports", "max"))
        weight_by_id = by_id["mean_shipments"].where(by_id["max_exports"] > 0, 0.0)
        weight = rec_tab["establishment_id"].map(weight_by_id).to_numpy(dtype=float)
        src, rec = pairs["src"].to_numpy(), pairs["rec"].to_numpy()
        w = weight[rec]
        total = np.bincount(src, weights=w, minlength=len(src_tab))
        share = np.divide(w, total[src], out=np.zeros_like(w), where=total[src] > 0)

        opr = src_tab[OPR].to_numpy(dtype=float).copy()
        unknown = np.isnan(opr)
        if unknown_sources == "carry" and unknown.any():
            filled = (src_tab.assign(_opr=opr).sort_values(["centre_id", "year"])
                      .groupby("centre_id")["_opr"].transform(lambda s: s.ffill().bfill()))
            opr = filled.reindex(src_tab.index).to_numpy()

        # φ = A · Sᵀ: A = area membership (centre rows × receivers), S = shares (source rows × receivers)
        n_src, n_rec = len(src_tab), len(rec_tab)
        share_matrix = sparse.csr_matrix((share, (src, rec)), shape=(n_src, n_rec))
        centre_pairs = self._centre_pairs()
        a_src, a_rec = centre_pairs["src"].to_numpy(), centre_pairs["rec"].to_numpy()
        membership = sparse.csr_matrix((np.ones(len(a_src)), (a_src, a_rec)), shape=(n_src, n_rec))
        phi = (membership @ share_matrix.T).tocoo()  # only within a year: receivers are establishment-years
        reach = np.bincount(phi.row, weights=phi.data, minlength=n_src)
        contributes = phi.data > 1e-12
        opr_exposure = np.bincount(phi.row[contributes], weights=phi.data[contributes] * np.nan_to_num(
            opr[phi.col[contributes]]), minlength=n_src)
        reached_by_unknown = np.zeros(n_src, dtype=bool)
        reached_by_unknown[phi.row[contributes & unknown[phi.col]]] = True

        areas = self.areas
        src_rows = self._area_source_rows()
        table = areas.copy()
        table["opr_exposure"] = opr_exposure[src_rows]
        table["reach"] = reach[src_rows]
        table["opr_neighbours"] = table["opr_exposure"] - table[OPR]
        table["reach_neighbours"] = table["reach"] - 1.0
        counts = {
            "source_years_unknown_ratio": int(unknown.sum()),
            "source_years_filled": int((unknown & ~np.isnan(opr)).sum()) if unknown_sources == "carry" else 0,
            ("areas_reached_by_filled_source" if unknown_sources == "carry" else "areas_dropped_unknown_source"):
                int(reached_by_unknown[src_rows].sum()),
        }
        if unknown_sources == "drop":
            keep = ~reached_by_unknown[src_rows]
            table = table.loc[keep].reset_index(drop=True)
        self._cache[key] = (table, counts)
        return table, counts

    def _area_source_rows(self) -> np.ndarray:
        """Row numbers in ``sources`` of the areas' centre-years (same order as ``areas``)."""
        counts = np.bincount(self._centre_pairs()["src"].to_numpy(), minlength=len(self.sources))
        return np.nonzero(self.sources["is_centre"].to_numpy() & (counts > 0))[0]

    # ---- other radii -------------------------------------------------------------------------------

    def with_radius(self, radius_km: float) -> Catchments:
        """The same centres with a smaller (or equal) radius, without searching again."""
        if not 0 < radius_km <= self.radius_km + 1e-9:
            raise ValueError(f"radius_km={radius_km}: must be > 0 and at most the {self.radius_km:g} km these "
                             "catchments were built with; build them with the largest radius you need.")
        pairs = self.pairs.loc[self.pairs["distance_km"].to_numpy() <= radius_km].reset_index(drop=True)
        new = replace(self, pairs=pairs, radius_km=float(radius_km), _cache={})
        new.drops = _with_area_drops(new, self.drops)
        new.settings = {**self.settings, "radius_km": float(radius_km)}
        return new

    # ---- reporting ---------------------------------------------------------------------------------

    def summary(self) -> str:
        """Counts in a few lines: centres, areas, receivers, overlap and everything left out."""
        centres = self.centres
        lines = [
            f"Catchments of {self.radius_km:g} km around global firms' plants "
            f"(capital ≥ {self.settings['min_capital']:g}, overseas production ratio > "
            f"{self.settings['min_overseas_ratio']:g}):",
            f"  centre-years: {len(centres):,} ({centres['centre_id'].nunique():,} plants of "
            f"{centres['firm_id'].nunique():,} firms, {centres['year'].min()}–{centres['year'].max()})",
            f"  areas with at least one receiver: {len(self.areas):,}",
            f"  receiving establishment-years: {len(self.receivers):,}; inside a catchment: "
            f"{int((self.coverage() >= 1).sum()):,}; in two or more: {int((self.coverage() >= 2).sum()):,} "
            f"(overlap share {self.overlap_share:.1%})",
            "  left out or filled in:",
        ]
        for row in self.drops.itertuples(index=False):
            lines.append(f"    [{row.kind}] {row.step}: {row.count:,} {row.unit}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def counts(self) -> pd.DataFrame:
        """What was left out or filled in (``drops``), one row per step, after the counts of what was kept."""
        centres = self.centres
        kept = pd.DataFrame([{"kind": "kept", "step": "centre-years", "count": len(centres), "unit": "centre-years"},
                             {"kind": "kept", "step": "areas with at least one receiver", "count": len(self.areas),
                              "unit": "areas"},
                             {"kind": "kept", "step": "receiving establishment-years", "count": len(self.receivers),
                              "unit": "establishment-years"}])
        return pd.concat([kept, self.drops], ignore_index=True)

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """The map (:meth:`plot_map`; several panels: the first Axes is returned, ``ax`` must be None)."""
        if ax is not None:
            raise ValueError("Catchments.plot: the map draws its own panels; call it without ax= (the returned "
                             "Axes' .figure is the whole map).")
        return self.plot_map(**options).axes[0]

    def plot_map(self, **options: Any) -> Figure:
        """``plot_catchment_map`` (the teaching figures) of these catchments."""
        return plot_catchment_map(self, **options)


def _with_area_drops(c: Catchments, drops: pd.DataFrame) -> pd.DataFrame:
    """``drops`` with the "centre-years without receivers" row recomputed for ``c``'s radius."""
    counts = np.bincount(c._centre_pairs()["src"].to_numpy(), minlength=len(c.sources))
    empty = int((c.sources["is_centre"].to_numpy() & (counts == 0)).sum())
    step = "centre-years with no receiving establishment within the radius (no area)"
    drops = drops.loc[drops["step"] != step]
    row = pd.DataFrame([{"kind": "dropped", "step": step, "count": empty, "unit": "centre-years"}])
    return pd.concat([drops, row], ignore_index=True)


def build_catchments(establishments: pd.DataFrame, firms: pd.DataFrame, *, radius_km: float = DEFAULT_RADIUS_KM,
                     min_capital: float = GLOBAL_FIRM_CAPITAL, min_overseas_ratio: float = 0.0,
                     large_firm_capital: float | None = None, missing_coordinates: str = "raise",
                     missing_overseas_ratio: str = "raise", check_industries: bool = True) -> Catchments:
    """Find, for every centre and year, the establishments within ``radius_km``.

    Parameters
    ----------
    establishments : pd.DataFrame
        plant panel (工業統計調査), one row per establishment and year.
    firms : pd.DataFrame
        firm panel (企業活動基本調査 with 海外事業活動基本調査's ratio),
        one row per firm and year: paid-in capital and overseas production ratio.
    radius_km : float, optional
        catchment radius (great-circle distance; the white paper's 5 km).
    min_capital, min_overseas_ratio : float, optional
        a firm is global in a year when its
        paid-in capital (million yen) is at least ``min_capital`` and its
        overseas production ratio (percent) is above ``min_overseas_ratio``;
        its plants are that year's centres.
    large_firm_capital : float | None, optional
        establishments of firms with paid-in capital at
        least this are not counted in any area (footnote 242); default
        ``min_capital``. For a year in which such a firm is missing from the
        firm table, its capital in the nearest year it is there is used
        (counted in ``drops``). Owners never in the firm table are small firms.
    missing_coordinates : str, optional
        "raise" (default) or "drop" establishment-years
        without latitude or longitude (counted in ``drops``). Coordinates
        outside Japan's range always raise.
    missing_overseas_ratio : str, optional
        "raise" (default) or "drop" when a firm-year with
        capital ≥ ``min_capital`` has no overseas production ratio, so that
        whether its plants are centres is unknown; "drop" keeps them out of
        the centres (and, as large firms' plants, out of every area), counted.

    check_industries : bool, optional
        if the firm table has an ``industry`` column, a firm
        id that stands for firms of different industries in one year raises,
        and one whose industry changes between years warns (an id reused
        across industries links plants to the wrong firm); False skips the check.

    Notes
    -----
    The tables' columns have the schema's names (``SCHEMA_NAMES``, the
    defaults of :mod:`kaigai_lib.data.schema`); real data are renamed to them
    once, with ``kaigai_lib.data.schema.validate(df, table, rename={...})``. Raises ``SpatialInputError``
    (a ``ValueError``) with counts for bad coordinates, duplicate keys,
    missing, negative or non-numeric values, exports that are 0 everywhere,
    firm ids of different types in the two tables, ratios missing for large
    firms, or when no centre is found. Warns (``SpatialInputWarning``)
    when numbers stored as text are read, when exports exceed shipments
    (in 工業統計調査 shipments include exports) and when a firm id changes industry.

    Examples
    --------
    The establishments within 5 km of the plants of global firms, in the tiny world:

    >>> from kaigai_lib import build_catchments, generate
    >>> world = generate("tiny", seed=0)
    >>> catchments = build_catchments(world.establishments, world.firms, radius_km=5.0)
    >>> catchments.counts().head(4)
          kind                                               step  count                 unit
    0     kept                                       centre-years    288         centre-years
    1     kept                   areas with at least one receiver    288                areas
    2     kept                      receiving establishment-years  31528  establishment-years
    3  dropped  establishment-years of large firms (capital ≥ ...    472  establishment-years
    >>> len(catchments.centres), len(catchments.areas)
    (288, 288)
    """
    _check_choice("missing_coordinates", missing_coordinates, ("raise", "drop"))
    _check_choice("missing_overseas_ratio", missing_overseas_ratio, ("raise", "drop"))
    if not (isinstance(radius_km, (int, float)) and math.isfinite(radius_km) and radius_km > 0):
        raise ValueError(f"radius_km={radius_km!r}: must be a positive number of kilometres.")
    large_firm_capital = min_capital if large_firm_capital is None else large_firm_capital
    drops: list[dict[str, Any]] = []
    # one step each: read and check the plants, place them, link them to their firms, find the centres,
    # split sources from receivers, count what was left out, then find the pairs within the radius
    check_frame(establishments, "build_catchments", "the establishments table")
    check_frame(firms, "build_catchments", "the firms table")
    est = _read_establishments(establishments)
    est, origin = _place(est, establishments.index, missing_coordinates, drops)
    firm_year = _read_firms(firms, check_industries)
    est["firm_id"], firm_year["firm_id"] = _common_ids(est["firm_id"], firm_year["firm_id"], SCHEMA_NAMES["firm"],
                                                       origin, firms.index)
    est, fill = _link_firms(est, firm_year)
    large = est["capital_filled"].to_numpy() >= large_firm_capital  # NaN (never in the firm table): a small firm
    is_centre = _centres(est, firm_year, min_capital, min_overseas_ratio, missing_overseas_ratio, drops)
    sources, receivers, ever = _sources_and_receivers(est, is_centre, large, origin)
    _count_left_out(drops, est, sources, large, ever, fill, large_firm_capital)
    catchments = Catchments(
        sources=sources, receivers=receivers, pairs=_find_pairs(sources, receivers, radius_km),
        radius_km=float(radius_km), drops=pd.DataFrame(drops, columns=["kind", "step", "count", "unit"]),
        settings={"radius_km": float(radius_km), "min_capital": min_capital, "min_overseas_ratio": min_overseas_ratio,
                  "large_firm_capital": large_firm_capital},
        columns=dict(SCHEMA_NAMES))
    catchments.drops = _with_area_drops(catchments, catchments.drops)
    outside = int((catchments.coverage() == 0).sum())
    catchments.drops = pd.concat([catchments.drops, pd.DataFrame([{
        "kind": "note", "step": "receiving establishment-years outside every catchment", "count": outside,
        "unit": "establishment-years"}])], ignore_index=True)
    return catchments


def _read_establishments(establishments: pd.DataFrame) -> pd.DataFrame:
    """The plant table's columns, numeric and checked: whole years, unique keys, amounts present and ≥ 0."""
    names = SCHEMA_NAMES
    est_cols = [names[k] for k in ("id", "firm", "year", "latitude", "longitude", "exports", "shipments",
                                   "employees")]
    require_columns(establishments, est_cols, "establishments")
    est = establishments[est_cols].reset_index(drop=True)
    est.columns = ["establishment_id", "firm_id", "year", "latitude", "longitude", "exports", SHIPMENTS, "employees"]
    where = establishments.index
    for name in ("latitude", "longitude"):
        est[name] = _numeric_column(est[name], name, "establishments", where)
    est["year"] = _years(est["year"], "year", "establishments", where)
    _check_keys(est, ["establishment_id", "year"], "establishments", where)
    _check_keys(est, ["firm_id"], "establishments", where, unique=False)  # a plant without its firm
    for name in ("exports", SHIPMENTS, "employees"):
        values = _numeric_column(est[name], name, "establishments", where)
        bad = values.isna()
        if bad.any():
            raise SpatialInputError(
                f"establishments: column '{name}' has {int(bad.sum())} missing or non-numeric value(s) "
                f"({rows_text(where[bad.to_numpy()])}); the area sums need every value: fill them "
                f"(0 for establishments that do not export) or drop those rows first and report how many.")
        negative = (values < 0).to_numpy()
        if negative.any():
            raise SpatialInputError(
                f"establishments: column '{name}' is negative in {int(negative.sum())} row(s) ("
                f"{rows_text(where[negative])}); amounts and counts cannot be below 0: fix them (a code for "
                "'missing' read as a number?) or drop those rows first and report how many.")
        est[name] = values
    _check_exports(est, "exports", SHIPMENTS, where)
    return est


def _place(est: pd.DataFrame, where: pd.Index, missing_coordinates: str,
           drops: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.Index]:
    """Coordinates in Japan's range (a hint when swapped); rows without them raise or are dropped (counted).

    Returns the rows kept and the caller's row labels of them, for messages.
    """
    lat = est["latitude"].to_numpy(dtype=float)
    lon = est["longitude"].to_numpy(dtype=float)
    missing = np.isnan(lat) | np.isnan(lon)
    outside = ~missing & ((lat < LATITUDE_RANGE[0]) | (lat > LATITUDE_RANGE[1])
                          | (lon < LONGITUDE_RANGE[0]) | (lon > LONGITUDE_RANGE[1]))
    if outside.any():
        swapped = outside & (lon >= LATITUDE_RANGE[0]) & (lon <= LATITUDE_RANGE[1]) \
            & (lat >= LONGITUDE_RANGE[0]) & (lat <= LONGITUDE_RANGE[1])
        hint = (f" {int(swapped.sum())} of them would be in range with latitude and longitude swapped: check the "
                "order of 'latitude' and 'longitude'." if swapped.any() else
                " Coordinates must be WGS84 degrees (not projected metres, not degrees-minutes-seconds).")
        n_est = est.loc[outside, "establishment_id"].nunique()
        raise SpatialInputError(
            f"establishments: {int(outside.sum())} row(s) ({n_est} establishment(s)) have 'latitude'/'longitude' "
            f"outside Japan's range (latitude {LATITUDE_RANGE[0]:g}–{LATITUDE_RANGE[1]:g}, longitude "
            f"{LONGITUDE_RANGE[0]:g}–{LONGITUDE_RANGE[1]:g}), {rows_text(where[outside])}.{hint}")
    est["latitude"], est["longitude"] = lat, lon
    if not missing.any():
        return est, where
    n_est = est.loc[missing, "establishment_id"].nunique()
    what = (f"{int(missing.sum())} establishment-year(s) ({n_est} establishment(s)) have no 'latitude' or "
            "'longitude'")
    if missing_coordinates == "raise":
        raise SpatialInputError(
            f"establishments: {what} ({rows_text(where[missing])}). Geocode them from the "
            "address, or pass missing_coordinates='drop' to leave them out (they are counted in drops).")
    drops.append({"kind": "dropped", "step": "establishment-years without coordinates", "count":
                  int(missing.sum()), "unit": f"establishment-years ({n_est} establishments)"})
    return est.loc[~missing].reset_index(drop=True), where[~missing]


def _read_firms(firms: pd.DataFrame, check_industries: bool) -> pd.DataFrame:
    """The firm table's key, paid-in capital and overseas production ratio (``capital``, ``opr``), checked."""
    names = SCHEMA_NAMES
    columns = [names["firm"], names["year"], names["capital"], names["overseas_ratio"]]
    require_columns(firms, columns, "firms")
    f = firms[columns].reset_index(drop=True)
    f.columns = ["firm_id", "year", "capital", "opr"]
    f["year"] = _years(f["year"], "year", "firms", firms.index)
    if check_industries and "industry" in firms.columns:
        _check_industries(firms, "firm_id", "year", "industry")
    _check_keys(f, ["firm_id", "year"], "firms", firms.index)
    f["capital"] = _numeric_column(f["capital"], names["capital"], "firms", firms.index)
    f["opr"] = _numeric_column(f["opr"], names["overseas_ratio"], "firms", firms.index)
    return f


def _link_firms(est: pd.DataFrame, f: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Each plant-year with its firm's ``capital`` and ``opr`` that year, ``in_firm_table`` and
    ``capital_filled``: a firm in the table but not that year has the capital of its nearest year (``fill``)."""
    est = est.merge(f, on=["firm_id", "year"], how="left", validate="many_to_one")
    est["in_firm_table"] = est["firm_id"].isin(f["firm_id"]).to_numpy()
    capital = est["capital"].to_numpy(dtype=float, copy=True)
    fill = est["in_firm_table"].to_numpy() & np.isnan(capital)
    if fill.any():
        # the firm is in the firm table, but not this year: use its capital of the nearest year it is there
        known = f.dropna(subset=["capital"]).sort_values("year")
        want = est.loc[fill, ["firm_id", "year"]].reset_index().sort_values("year")
        nearest = pd.merge_asof(want, known[["firm_id", "year", "capital"]], on="year", by="firm_id",
                                direction="nearest")
        capital[nearest["index"].to_numpy()] = nearest["capital"].to_numpy()
    est["capital_filled"] = capital
    return est, fill


def _centres(est: pd.DataFrame, f: pd.DataFrame, min_capital: float, min_overseas_ratio: float,
             missing_overseas_ratio: str, drops: list[dict[str, Any]]) -> np.ndarray:
    """The plant-years of global firms (capital ≥ ``min_capital`` and ratio > ``min_overseas_ratio`` that year)."""
    capital_col, overseas_ratio_col = SCHEMA_NAMES["capital"], SCHEMA_NAMES["overseas_ratio"]
    opr = est["opr"].to_numpy(dtype=float)
    big = est["capital"].to_numpy(dtype=float) >= min_capital
    no_ratio = big & np.isnan(opr)
    if no_ratio.any():
        bad_firms = est.loc[no_ratio, ["firm_id", "year"]].drop_duplicates()
        n_plants = est.loc[no_ratio, "establishment_id"].nunique()
        what = (f"{len(bad_firms)} firm-year(s) of {bad_firms['firm_id'].nunique()} firm(s) with '{capital_col}' ≥ "
                f"{min_capital:g} and plants in the establishment table have no '{overseas_ratio_col}' (firm ids "
                f"{listed(bad_firms['firm_id'].unique())}); their {int(no_ratio.sum())} plant-year(s) ({n_plants} "
                "plant(s)) may or may not be centres")
        if missing_overseas_ratio == "raise":
            raise SpatialInputError(
                f"firms: {what}. Fill the ratio from 海外事業活動基本調査 (0 for firms without production abroad), "
                "or pass missing_overseas_ratio='drop' to keep those plant-years out of the centres (counted).")
        drops.append({"kind": "dropped", "step": "plant-years of large firms without an overseas production "
                      "ratio (not centres; not receivers either)", "count": int(no_ratio.sum()),
                      "unit": "plant-years"})
    is_centre = big & (opr > min_overseas_ratio)  # NaN compares False
    if not is_centre.any():
        n_big = int((f["capital"] >= min_capital).sum())
        n_abroad = int(((f["capital"] >= min_capital) & (f["opr"] > min_overseas_ratio)).sum())
        linked = int(est["in_firm_table"].sum())
        raise SpatialInputError(
            f"No centres found: of {len(f):,} firm-years, {n_big:,} have '{capital_col}' ≥ {min_capital:g} and "
            f"{n_abroad:,} of those an '{overseas_ratio_col}' > {min_overseas_ratio:g}; {linked:,} of "
            f"{len(est):,} establishment-years link to a firm through 'firm_id', and none to a global firm in "
            "its year. Check that the firm ids match between the tables, that paid-in capital is in million yen "
            "(¥1bn = 1,000) and the ratio in percent.")
    return is_centre


def _sources_and_receivers(est: pd.DataFrame, is_centre: np.ndarray, large: np.ndarray,
                           origin: pd.Index) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Sources: every year of plants whose firm is global in some year; receivers: the other plants of small
    firms. Returns both and the mask of source rows."""
    ever = np.zeros(len(est), dtype=bool)
    ever_ids = np.unique(est.loc[is_centre, "establishment_id"].to_numpy())
    ever[est["establishment_id"].isin(ever_ids).to_numpy() & (large | is_centre)] = True
    sources = pd.DataFrame({
        "centre_id": est["establishment_id"].to_numpy()[ever],
        "firm_id": est["firm_id"].to_numpy()[ever],
        "year": est["year"].to_numpy()[ever],
        "latitude": est["latitude"].to_numpy(dtype=float)[ever],
        "longitude": est["longitude"].to_numpy(dtype=float)[ever],
        OPR: est["opr"].to_numpy(dtype=float)[ever],
        "paid_in_capital": est["capital"].to_numpy(dtype=float)[ever],
        "is_centre": is_centre[ever],
    })
    receiver = ~large & ~ever  # a centre never receives (it matters if large_firm_capital > min_capital)
    receivers = est.loc[receiver, ["establishment_id", "firm_id", "year", "latitude", "longitude", "exports",
                                   SHIPMENTS, "employees"]].reset_index(drop=True)
    if len(receivers) and not (receivers["exports"] > 0).any():
        raise SpatialInputError(
            f"establishments: column 'exports' is 0 in every one of the {len(receivers):,} establishment-years "
            f"that can receive a spillover ({rows_text(origin[receiver])}): there is no export to explain, and the "
            "model would report 0 ± 0. Check that the column holds "
            "direct exports (直接輸出額) and was not lost on loading.")
    return sources, receivers, ever


def _count_left_out(drops: list[dict[str, Any]], est: pd.DataFrame, sources: pd.DataFrame, large: np.ndarray,
                    ever: np.ndarray, fill: np.ndarray, large_firm_capital: float) -> None:
    """What the catchments leave out or fill in, appended to ``drops``."""
    drops.append({"kind": "dropped", "step": f"establishment-years of large firms (capital ≥ {large_firm_capital:g}): "
                  "not counted in any area (footnote 242)", "count": int(large.sum()), "unit": "establishment-years"})
    if (ever & ~large).any():
        drops.append({"kind": "dropped", "step": "plant-years of centres' plants below the large-firm capital: not "
                      "counted in any area", "count": int((ever & ~large).sum()), "unit": "plant-years"})
    if fill.any():
        drops.append({"kind": "note", "step": "establishment-years whose owner is missing from the firm table that "
                      "year: capital taken from the owner's nearest year", "count": int(fill.sum()),
                      "unit": "establishment-years"})
    drops.append({"kind": "note", "step": "establishment-years of firms never in the firm table: small firms, "
                  "receivers", "count": int((~est["in_firm_table"].to_numpy()).sum()), "unit": "establishment-years"})
    unknown_src = int(np.isnan(sources[OPR].to_numpy()).sum())
    if unknown_src:
        drops.append({"kind": "note", "step": "plant-years of sometime-global firms with no ratio that year (firm "
                      "not in the firm table): not centres; the exposure design fills or drops them",
                      "count": unknown_src, "unit": "plant-years"})


def _years(values: pd.Series, column: str, table: str, index: pd.Index) -> pd.Series:
    """A year column as int64, read as every table's years are: numbers (text with a warning, see
    :func:`_numeric_column`), each a whole year; a missing or fractional year is an error naming the rows."""
    years = _numeric_column(values, column, table, index)
    bad = (years.isna() | (years != years.round())).to_numpy()
    if bad.any():
        raise SpatialInputError(f"{table}: column '{column}' is missing or not a whole year in {int(bad.sum())} "
                                f"row(s) ({rows_text(index[bad])}); fix or drop them first.")
    return years.astype(np.int64)


def _id_numbers(ids: pd.Series) -> pd.Series | None:
    """Numeric ids by value (int64 when whole, as int64, Int64, uint32, pyarrow ints and whole-number floats all
    are; float64 otherwise), or None for text ids."""
    if pd.api.types.is_bool_dtype(ids):
        return None
    if not pd.api.types.is_numeric_dtype(ids):
        if ids.dtype != object or not ids.map(is_number).all():
            return None
        ids = pd.to_numeric(ids)
    if pd.api.types.is_integer_dtype(ids):
        return ids.astype("int64")
    values = ids.astype("float64")
    return values.astype("int64") if bool((values % 1 == 0).all()) else values


def _common_ids(est_ids: pd.Series, firm_ids: pd.Series, column: str, est_index: pd.Index,
                firm_index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """The two tables' firm ids in one dtype, compared by value (5, 5.0, Int64 5 and pyarrow 5 are one firm;
    pandas' merges refuse or mismatch keys of different dtypes). Numbers never equal text: refused, naming
    the rows, since no plant would link to its firm. Ids are present (checked before)."""
    est_numbers, firm_numbers = _id_numbers(est_ids), _id_numbers(firm_ids)
    if est_numbers is not None and firm_numbers is not None:
        if est_numbers.dtype != firm_numbers.dtype:  # one table has ids with decimals: compare as floats
            return est_numbers.astype("float64"), firm_numbers.astype("float64")
        return est_numbers, firm_numbers
    if est_numbers is None and firm_numbers is None:
        return est_ids.astype(str), firm_ids.astype(str)
    text, table, index = (est_ids, "establishments", est_index) if est_numbers is None else \
        (firm_ids, "firms", firm_index)
    raise SpatialInputError(
        f"'{column}' is {est_ids.dtype} in establishments but {firm_ids.dtype} in firms: text in {table} (e.g. "
        f"{text.iloc[0]!r}; {rows_text(index)}), numbers in the other, so no plant would link to its firm. Convert "
        f"both to the same kind, e.g. df['{column}'] = pd.to_numeric(df['{column}']) in {table} (or .astype(str) "
        "in both tables).")


def _check_industries(firms: pd.DataFrame, firm_col: str, year_col: str, industry_col: str) -> None:
    """A firm id used by firms of several industries: an error within a year, a warning across years."""
    codes = firms[[firm_col, year_col, industry_col]].dropna(subset=[industry_col])
    per_year = codes.groupby([firm_col, year_col])[industry_col].nunique()
    clash = per_year[per_year > 1]
    if len(clash):
        ids = clash.index.get_level_values(0).unique()
        rows = firms.index[(firms[firm_col].isin(ids)
                            & firms.set_index([firm_col, year_col]).index.isin(clash.index)).to_numpy()]
        raise SpatialInputError(
            f"firms: {len(ids)} '{firm_col}' value(s) stand for firms of different '{industry_col}' in the same "
            f"year (ids {listed(ids)}; {rows_text(rows)}): ids reused across industries. Make them unique "
            "(e.g. combine the industry code and the id) in both tables.")
    per_firm = codes.groupby(firm_col)[industry_col].nunique()
    moved = per_firm.index[per_firm > 1]
    if len(moved):
        rows = firms.index[firms[firm_col].isin(moved).to_numpy()]
        warnings.warn(
            f"firms: {len(moved)} '{firm_col}' value(s) change '{industry_col}' between years (ids {listed(moved)}; "
            f"{rows_text(rows)}). If ids are numbered within industries, one id is several firms and their "
            "plants get the wrong capital and overseas production ratio: make the ids unique; if the firms "
            "changed industry, ignore this.", SpatialInputWarning, stacklevel=3)


def _check_exports(est: pd.DataFrame, exports_col: str, shipments_col: str, index: pd.Index) -> None:
    """Exports above shipments: in 工業統計調査 shipments include exports, so a column is wrong or in other units."""
    above = (est["exports"] > est[SHIPMENTS] * (1 + 1e-9) + 0.05).to_numpy()  # 0.05: rounding to 0.1
    if above.any():
        warnings.warn(
            f"establishments: '{exports_col}' exceeds '{shipments_col}' in {int(above.sum())} row(s) ("
            f"{rows_text(index[above])}). In 工業統計調査 shipments (製造品出荷額等) include direct exports; check the "
            f"units, or — if your shipments exclude exports — do not use control='{DOMESTIC_SHIPMENTS}'.",
            SpatialInputWarning, stacklevel=3)


def _check_keys(table: pd.DataFrame, key: list[str], name: str, index: pd.Index, *, unique: bool = True) -> None:
    """Rows without a key value or sharing one (:func:`~kaigai_lib.data.schema.key_problems`), named by the
    caller's row labels ``index``."""
    problems = key_problems(table.set_axis(index), key, unique=unique)
    if problems:
        raise SpatialInputError(f"{name}: " + "; ".join(problems) + ".")


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: chord length there is a monotone function of great-circle distance."""
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def _locations(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number each distinct (latitude, longitude); return the codes and the row of each location's first use."""
    codes = pd.DataFrame({"lat": lat, "lon": lon}).groupby(["lat", "lon"], sort=False).ngroup().to_numpy()
    first = np.full(codes.max() + 1 if len(codes) else 0, -1)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return codes, first


def _expand(codes: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position ``k`` of ``wanted``, every row ``i`` with ``codes[i] == wanted[k]``: returns (k, i) arrays."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    w_order = np.argsort(wanted, kind="stable")  # sorted queries search much faster
    sorted_wanted = wanted[w_order]
    lo = np.searchsorted(sorted_codes, sorted_wanted, side="left")
    counts = np.searchsorted(sorted_codes, sorted_wanted, side="right") - lo
    k = np.repeat(w_order, counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return k, order[np.repeat(lo, counts) + offset]


def _find_pairs(sources: pd.DataFrame, receivers: pd.DataFrame, radius_km: float) -> pd.DataFrame:
    """Every (source row, receiver row, great-circle distance) within ``radius_km`` in the same year.

    Plants rarely move, so the search runs once over distinct locations: a
    ball tree of the receivers' locations on the unit sphere (where the
    straight-line chord is ``2·sin(d / 2R)`` for a great-circle distance
    ``d``) is queried with the sources' locations; the location pairs are
    then matched to the establishment-years of the same year, and the
    great-circle (haversine) distance decides membership exactly.
    """
    empty = pd.DataFrame({"src": np.zeros(0, np.int64), "rec": np.zeros(0, np.int64), "distance_km": np.zeros(0)})
    if len(sources) == 0 or len(receivers) == 0:
        return empty
    s_lat, s_lon = sources["latitude"].to_numpy(dtype=float), sources["longitude"].to_numpy(dtype=float)
    r_lat, r_lon = receivers["latitude"].to_numpy(dtype=float), receivers["longitude"].to_numpy(dtype=float)
    s_code, s_first = _locations(s_lat, s_lon)
    r_code, r_first = _locations(r_lat, r_lon)
    tree = BallTree(_unit_vectors(r_lat[r_first], r_lon[r_first]))
    chord = 2 * math.sin(radius_km / (2 * EARTH_RADIUS_KM)) * (1 + 1e-9)  # a hair wider; haversine decides below
    found = tree.query_radius(_unit_vectors(s_lat[s_first], s_lon[s_first]), r=chord)
    sizes = np.fromiter((len(x) for x in found), dtype=np.int64, count=len(found))
    if sizes.sum() == 0:
        return empty
    pair_s_loc = np.repeat(np.arange(len(s_first)), sizes)
    pair_r_loc = np.concatenate(found)
    # location pairs → (source row, location of the receiver) → receiver rows of the same year
    pair_index, src = _expand(s_code, pair_s_loc)
    s_year = sources["year"].to_numpy(dtype=np.int64)
    r_year = receivers["year"].to_numpy(dtype=np.int64)
    first_year = min(s_year.min(), r_year.min())
    s_year, r_year = s_year - first_year, r_year - first_year
    n_years = int(max(s_year.max(), r_year.max())) + 1
    wanted = pair_r_loc[pair_index].astype(np.int64) * n_years + s_year[src]
    which, rec = _expand(r_code.astype(np.int64) * n_years + r_year, wanted)
    src = src[which]
    distance = haversine_km(s_lat[src], s_lon[src], r_lat[rec], r_lon[rec])
    keep = distance <= radius_km
    order = np.lexsort((rec[keep], src[keep]))
    return pd.DataFrame({"src": src[keep][order], "rec": rec[keep][order], "distance_km": distance[keep][order]})


# --------------------------------------------------------------------------
# The panel model
# --------------------------------------------------------------------------

def _truth_values(truth: Any) -> dict[str, float]:
    """True coefficients by regressor from a ``Truth``, its ``spillover`` dict, or ``{regressor: value}``."""
    if truth is None:
        return {}
    spill = getattr(truth, "spillover", truth)
    if not isinstance(spill, Mapping):
        raise TypeError("truth: pass world.truth, world.truth.spillover or a {regressor: true value} mapping.")
    if "opr_coefficient" in spill:
        return {OPR: float(spill["opr_coefficient"]), DI: float(spill["di_coefficient"])}
    return {str(k): float(v) for k, v in spill.items()}


def _foreign_demand_by_year(foreign_demand: pd.DataFrame, years: np.ndarray, di_col: str, year_col: str) -> pd.Series:
    check_frame(foreign_demand, "foreign_demand")
    require_columns(foreign_demand, [year_col, di_col], "foreign_demand")
    index = foreign_demand.index
    # years and DI read as the plant tables are (text numbers read with a warning, infinite values refused)
    years_read = _years(foreign_demand[year_col], year_col, "foreign_demand", index)
    fd = pd.DataFrame({year_col: years_read.to_numpy(),
                       di_col: _numeric_column(foreign_demand[di_col], di_col, "foreign_demand", index).to_numpy()})
    dup = fd[year_col].duplicated(keep=False)
    if dup.any():
        raise SpatialInputError(f"foreign_demand: years {sorted(fd.loc[dup, year_col].unique().tolist())} appear "
                                "more than once; keep one DI value per year.")
    series = fd.set_index(year_col)[di_col].astype(float)
    missing = sorted(set(years.tolist()) - set(series.dropna().index.tolist()))
    if missing:
        raise SpatialInputError(f"foreign_demand: no '{di_col}' for year(s) {missing} of the areas; add them.")
    return series


@dataclass
class SpilloverResult:
    """A fitted spillover panel: estimates, the data behind them, counts, truth (if known) and the decomposition.

    Attributes
    ----------
    design, time_effects, cluster, control : str or bool
        how it was fitted.
    data : pd.DataFrame
        the regression panel (index ``centre_id``, ``year``): ``exports``
        and the regressors (for ``design="exposure"`` the regressors are the
        exposures, under the same names).
    regressors : list[str]
        the regressors' names, in order.
    fitted : Any
        the linearmodels ``PanelEffectsResults``.
    truth : dict[str, float]
        true coefficients by regressor (empty if unknown).
    counts : dict[str, int]
        observations, centres, clusters and what the design dropped or filled.
    notes : list[str]
        sentences to read with the estimate (e.g. what the year effects absorb).

    Examples
    --------
    What :func:`fit_spillover` returns:

    >>> from kaigai_lib import build_catchments, generate
    >>> world = generate("tiny", seed=0)
    >>> catchments = build_catchments(world.establishments, world.firms, radius_km=5.0)
    >>> from kaigai_lib import fit_spillover
    >>> result = fit_spillover(catchments, world.foreign_demand, control="domestic_shipments")
    >>> result.design, result.control, result.regressors
    ('white_paper', 'domestic_shipments', ['overseas_production_ratio', 'foreign_demand_di', 'domestic_shipments'])
    >>> result.counts["observations"] == len(result.data)
    True
    """

    design: str
    time_effects: bool
    cluster: str
    data: pd.DataFrame
    regressors: list[str]
    fitted: Any
    truth: dict[str, float]
    counts: dict[str, int]
    notes: list[str]
    radius_km: float
    control: str = SHIPMENTS

    @property
    def params(self) -> pd.Series:
        return self.fitted.params

    @property
    def std_errors(self) -> pd.Series:
        return self.fitted.std_errors

    def coef(self, name: str = OPR) -> float:
        return float(self.params[name])

    def std_error(self, name: str = OPR) -> float:
        return float(self.std_errors[name])

    def tidy(self) -> pd.DataFrame:
        """One row per regressor (``term``): estimate, standard error, p, 95 % interval, ``n_obs`` (area-years),
        ``t`` and — when known — the truth, the bias and the bias in standard errors (``bias_in_se``)."""
        ci = self.fitted.conf_int()
        out = pd.DataFrame({
            "term": list(self.params.index), "estimate": self.params.to_numpy(),
            "std_error": self.std_errors.to_numpy(), "p_value": self.fitted.pvalues.to_numpy(),
            "ci_low": ci["lower"].to_numpy(), "ci_high": ci["upper"].to_numpy(),
            "n_obs": self.counts["observations"], "t": self.fitted.tstats.to_numpy(),
        })
        if self.truth:
            out = add_truth(out, [self.truth.get(name, np.nan) for name in out["term"]])
            out["bias_in_se"] = out["bias"] / out["std_error"]
        return order_tidy(out)

    def _summary_table(self) -> pd.DataFrame:
        """The printed table: indexed by regressor, ``t`` beside the standard error, no counts column."""
        table = self.tidy().rename(columns={"term": "regressor"}).set_index("regressor").drop(columns=["n_obs"])
        return table[["estimate", "std_error", "t", *[c for c in table.columns if c not in (
            "estimate", "std_error", "t")]]]

    def summary(self) -> str:
        effects = "centre and year effects" if self.time_effects else "centre effects"
        lines = [f"Spillover panel, design '{self.design}' ({DESIGN_LABELS[self.design]}), radius "
                 f"{self.radius_km:g} km, {effects}, control: {CONTROL_LABELS[self.control]}, standard errors "
                 f"{CLUSTER_LABELS[self.cluster]}",
                 f"  {self.counts['observations']:,} area-years of {self.counts['centres']:,} centres "
                 f"({self.counts['clusters']:,} clusters), {self.counts['years']} years",
                 self._summary_table().round(4).to_string()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def decomposition(self, start: int | None = None, end: int | None = None) -> pd.DataFrame:
        """Figure II-2-4-4's arithmetic: mean change of each regressor from ``start`` to ``end`` × its coefficient.

        Uses the areas observed in both years. Rows: every regressor, then
        (with year effects) their change, "other" (the rest: the change of
        the residual, which the fixed effect does not touch) and "total",
        the mean change of the areas' exports; contributions add up to it.
        ``true_contribution`` is the true coefficient times the same mean change.
        """
        years = sorted(self.data.index.get_level_values("year").unique())
        start = years[0] if start is None else start
        end = years[-1] if end is None else end
        if start not in years or end not in years or start >= end:
            raise ValueError(f"start={start}, end={end}: pick two years of the panel {years[0]}–{years[-1]}, "
                             "start before end.")
        data = self.data.copy()
        data["_fitted_effects"] = self.fitted.estimated_effects.reindex(data.index).iloc[:, 0]
        first = data.xs(start, level="year")
        last = data.xs(end, level="year")
        both = first.index.intersection(last.index)
        if len(both) == 0:
            raise ValueError(f"No area is observed in both {start} and {end}.")
        change = last.loc[both] - first.loc[both]
        rows = []
        for name in self.regressors:
            mean_change = float(change[name].mean())
            coefficient = self.coef(name)
            rows.append({"term": name, "mean_change": mean_change, "coefficient": coefficient,
                         "contribution": mean_change * coefficient,
                         "true_contribution": mean_change * self.truth[name] if name in self.truth else np.nan})
        if self.time_effects:
            rows.append({"term": "year_effects", "mean_change": np.nan, "coefficient": np.nan,
                         "contribution": float(change["_fitted_effects"].mean()), "true_contribution": np.nan})
        total = float(change["exports"].mean())
        rows.append({"term": "other", "mean_change": np.nan, "coefficient": np.nan,
                     "contribution": total - sum(r["contribution"] for r in rows), "true_contribution": np.nan})
        rows.append({"term": "total", "mean_change": total, "coefficient": np.nan, "contribution": total,
                     "true_contribution": np.nan})
        table = pd.DataFrame(rows).set_index("term")
        table.attrs.update({"start": start, "end": end, "n_areas": len(both), "design": self.design})
        return table

    def plot_decomposition(self, start: int | None = None, end: int | None = None, *,
                           ax: Axes | None = None) -> Figure:
        """Figure II-2-4-4 replica: :func:`plot_decomposition` of :meth:`decomposition`."""
        return plot_decomposition(self.decomposition(start, end), ax=ax)

    def plot(self, ax: Axes | None = None, start: int | None = None, end: int | None = None) -> Axes:
        """The decomposition's bars (:meth:`plot_decomposition`), as an Axes."""
        figure = self.plot_decomposition(start, end, ax=ax)
        return ax if ax is not None else figure.axes[0]


def _design_panel(catchments: Catchments, design: str, unknown_sources: str) -> tuple[pd.DataFrame, dict[str, int]]:
    if design == "white_paper":
        return catchments.areas, {}
    if design == "nearest":
        nearest = catchments.nearest_areas()
        # a centre whose every receiver is nearer to another centre has no area left: counted
        return nearest, {"centre_years_without_nearest_receivers": len(catchments.areas) - len(nearest)}
    return catchments.exposure_areas(unknown_sources)


def fit_spillover(catchments: Catchments, foreign_demand: pd.DataFrame, *, design: str = "white_paper",
                  time_effects: bool = False, cluster: str = "entity", control: str = SHIPMENTS,
                  unknown_sources: str = "carry", truth: Any = None) -> SpilloverResult:
    """The white paper's panel fixed-effects model of the areas' exports (or an overlap-aware variant).

    ``exports[c, t] = b_opr·OPR[c, t] + b_di·DI[t] + b_ship·control[c, t] + α_c (+ λ_t) + ε[c, t]``,
    fitted with linearmodels ``PanelOLS`` (centre effects ``α_c``; year
    effects ``λ_t`` if ``time_effects``, which absorb the DI: it is then left
    out and a note says so).

    Parameters
    ----------
    catchments : Catchments
        the centres and their areas, from :func:`build_catchments`.
    foreign_demand : pd.DataFrame
        the foreign-demand index by year (``year``, ``foreign_demand_di``).
    design : str, optional
        "white_paper" (all receivers within the radius), "nearest"
        (each receiver only in its nearest centre's area) or "exposure" (the
        white paper's areas, with ``OPR`` and ``DI`` replaced by their sums over
        every centre reaching into the area, ``Σ_s φ[c, s]·OPR[s, t]`` and
        ``Σ_s φ[c, s]·DI[t]``; see :meth:`Catchments.exposure_areas`).
    time_effects : bool, optional
        year effects ``λ_t`` (they absorb the DI, which is then left out).
    control : str, optional
        the area's shipments term. "shipments" is the white paper's
        area shipments; in 工業統計調査 they include exports, so they move
        with the very spillover being estimated — a *bad control* that takes
        part of the effect away. The alternatives the spillover does not move:
        "domestic_shipments" (shipments less exports), "non_exporter_shipments"
        (shipments of establishments with no exports in any year) and
        "lagged_shipments" (the area's shipments of the year before: the
        first year of each centre is lost, counted; it still carries last
        year's spillover, so it helps only when the ratio moves from year to
        year); "none" leaves the term out.
    cluster : str, optional
        "entity" (by centre, as the white paper), "component" (by
        overlap cluster, :meth:`Catchments.components`: areas that share
        establishments share their errors), "firm" (by the centre's firm:
        every centre of a firm has the same ratio each year), "year" (year
        blocks: any correlation within a year), "driscoll_kraay"
        (linearmodels' kernel covariance: correlation across areas within a
        year and over a few years) or "none" (heteroskedasticity-robust). The
        last three before "none" allow for a common yearly shock; with 8 years
        they rest on 8 yearly sums and are themselves noisy.
    unknown_sources : str, optional
        for ``design="exposure"``: "carry" or "drop" (see
        :meth:`Catchments.exposure_areas`).
    truth : Any, optional
        ``world.truth`` (or a mapping) to set the true coefficients beside the estimates.

    Examples
    --------
    The white paper's panel model of the areas' exports, next to the true coefficients:

    >>> from kaigai_lib import build_catchments, generate
    >>> world = generate("tiny", seed=0)
    >>> catchments = build_catchments(world.establishments, world.firms, radius_km=5.0)
    >>> from kaigai_lib import fit_spillover
    >>> result = fit_spillover(catchments, world.foreign_demand, truth=world.truth)
    >>> result.tidy()[["term", "estimate", "std_error", "truth"]].round(3)
                            term  estimate  std_error  truth
    0  overseas_production_ratio    44.020      7.769   40.0
    1          foreign_demand_di    21.711      3.859   15.0
    2                  shipments     0.196      0.036    NaN
    """
    _check_choice("design", design, DESIGNS)
    _check_choice("cluster", cluster, CLUSTERS)
    _check_choice("control", control, CONTROLS)
    panel, design_counts = _design_panel(catchments, design, unknown_sources)
    if panel.empty:
        raise SpatialInputError(f"No area has a receiving establishment within {catchments.radius_km:g} km: "
                                "nothing to estimate; use a larger radius or check the coordinates.")
    di = _foreign_demand_by_year(foreign_demand, panel["year"].unique(), DI, "year")
    data = pd.DataFrame({
        "centre_id": panel["centre_id"].to_numpy(), "year": panel["year"].to_numpy(),
        "firm_id": panel["firm_id"].to_numpy(), "exports": panel["exports"].to_numpy(),
    })
    if design == "exposure":
        data[OPR] = panel["opr_exposure"].to_numpy()
        data[DI] = panel["reach"].to_numpy() * panel["year"].map(di).to_numpy()
    else:
        data[OPR] = panel[OPR].to_numpy()
        data[DI] = panel["year"].map(di).to_numpy()
    data = data.set_index(["centre_id", "year"]).sort_index()
    notes = []
    if control != "none":
        data[control] = _control_column(panel, control).reindex(data.index)
    if control == LAGGED_SHIPMENTS:
        lagged = data[LAGGED_SHIPMENTS]
        design_counts = {**design_counts, "area_years_without_previous_year": int(lagged.isna().sum())}
        data = data.loc[lagged.notna()]
        notes.append(f"{design_counts['area_years_without_previous_year']:,} area-years without the area's "
                     "shipments of the year before (each centre's first year) are left out.")
    elif control == SHIPMENTS:
        notes.append("The shipments control includes exports (as 製造品出荷額等 do), so it moves with the spillover: "
                     "a bad control that takes part of the effect away. Compare control='domestic_shipments' or "
                     "'non_exporter_shipments'.")
    regressors = [OPR, DI] + ([] if control == "none" else [control])
    if time_effects:
        if design == "exposure":
            notes.append("With year effects, the DI exposure (reach × DI) keeps only the variation across areas "
                         "in reach; the common DI is absorbed.")
        else:
            regressors.remove(DI)
            notes.append("Year effects absorb the foreign-demand DI (the same for every area in a year): its "
                         "coefficient is not identified and it is left out.")
    if design == "exposure":
        notes.append("Regressors are exposures: the ratio and DI summed over every centre reaching into the area, "
                     "weighted by the share of its neighbourhood inside the area (assumes a centre's effect is "
                     "shared by shipments).")
    n_years = data.index.get_level_values("year").nunique()
    singles = data.groupby(level="centre_id").size()
    if n_years < 2:
        raise SpatialInputError("The areas cover a single year: fixed effects need at least two years.")
    if not (data["exports"].groupby(level="centre_id").nunique() > 1).any():
        raise SpatialInputError(
            "The areas' exports never change within an area (e.g. 0 in every year): after the centre effects "
            "there is nothing to explain; check the exports column.")
    if DI in regressors and design != "exposure":
        notes.append(f"The DI is one number per year: its coefficient rests on {n_years} yearly values, whatever "
                     "the number of areas; only errors that allow for a common yearly shock (cluster='year' or "
                     "'driscoll_kraay') reflect that.")
    model = PanelOLS(data["exports"], data[regressors], entity_effects=True, time_effects=time_effects)
    fitted, n_clusters = _fit_with_errors(model, data, cluster, catchments)
    if cluster not in ("none", "year", "driscoll_kraay") and n_clusters < 30:
        notes.append(f"Only {n_clusters} clusters: clustered standard errors are unreliable with so few.")
    if cluster in ("year", "driscoll_kraay"):
        notes.append(f"{CLUSTER_LABELS[cluster]} errors rest on {n_years} years: they are noisy themselves.")
    counts = {"observations": len(data), "centres": int(singles.size), "years": int(n_years),
              "clusters": n_clusters, "centres_with_one_year": int((singles == 1).sum()), **design_counts}
    return SpilloverResult(design=design, time_effects=time_effects, cluster=cluster, data=data.drop(columns="firm_id"),
                           regressors=regressors, fitted=fitted, truth=_truth_values(truth), counts=counts,
                           notes=notes, radius_km=catchments.radius_km, control=control)


def _control_column(panel: pd.DataFrame, control: str) -> pd.Series:
    """The area's shipments control, indexed by (centre_id, year); lagged: the same centre's area a year before."""
    column = SHIPMENTS if control == LAGGED_SHIPMENTS else control
    current = panel.set_index(["centre_id", "year"])[column].rename(control)
    if control != LAGGED_SHIPMENTS:
        return current
    before = current.copy()
    before.index = pd.MultiIndex.from_arrays([before.index.get_level_values(0),
                                              before.index.get_level_values(1) + 1], names=["centre_id", "year"])
    return before.reindex(current.index)  # missing when that area-year is not in the panel


def _fit_with_errors(model: PanelOLS, data: pd.DataFrame, cluster: str, catchments: Catchments) -> tuple[Any, int]:
    """Fit with the requested standard errors; returns the result and the number of clusters (or years)."""
    if cluster == "entity":
        return (model.fit(cov_type="clustered", cluster_entity=True),
                int(data.index.get_level_values("centre_id").nunique()))
    if cluster in ("component", "firm"):
        if cluster == "component":
            labels = catchments.components().reindex(data.index.get_level_values("centre_id")).to_numpy()
        else:
            labels = pd.factorize(data["firm_id"])[0]
        groups = pd.DataFrame({cluster: labels}, index=data.index)
        return model.fit(cov_type="clustered", clusters=groups), int(groups[cluster].nunique())
    n_years = int(data.index.get_level_values("year").nunique())
    if cluster == "year":
        return model.fit(cov_type="clustered", cluster_time=True), n_years
    if cluster == "driscoll_kraay":
        return model.fit(cov_type="kernel", kernel="bartlett"), n_years
    return model.fit(cov_type="robust"), len(data)


def compare_designs(catchments: Catchments, foreign_demand: pd.DataFrame, *, designs: Sequence[str] = DESIGNS,
                    time_effects: Sequence[bool] = (False, True), truth: Any = None,
                    cluster: str = "entity", **options: Any) -> pd.DataFrame:
    """Every design with and without year effects: the two coefficients, SEs, truth and counts, one row each."""
    truth_values = _truth_values(truth)
    rows = []
    for design in designs:
        for te in time_effects:
            result = fit_spillover(catchments, foreign_demand, design=design, time_effects=te, cluster=cluster,
                                   truth=truth, **options)
            row: dict[str, Any] = {"design": design, "year_effects": te}
            for name, short in ((OPR, "opr"), (DI, "di")):
                has = name in result.regressors
                row[short] = result.coef(name) if has else np.nan
                row[f"{short}_se"] = result.std_error(name) if has else np.nan
                row[f"{short}_truth"] = truth_values.get(name, np.nan)
            row["observations"] = result.counts["observations"]
            row["centres"] = result.counts["centres"]
            rows.append(row)
    return pd.DataFrame(rows).set_index(["design", "year_effects"])


def overlap_bias(catchments: Catchments, foreign_demand: pd.DataFrame, truth: Any, *, time_effects: bool = False,
                 control: str = SHIPMENTS, unknown_sources: str = "carry") -> pd.DataFrame:
    """The omitted-variable bias of the white paper's design, from the neighbours' terms it leaves out.

    If a centre's effect is shared as the exposure design assumes, an area's
    exports are ``β·(OPR_c + N_opr) + γ·(DI + N_di) + …`` with the
    neighbours' terms ``N_opr = Σ_{s≠c} φ[c,s]·OPR_s`` and ``N_di`` =
    (reach − 1)·DI. The white paper's regression leaves them out, so each of
    its coefficients is off by ``Γ·(β, γ)``, where ``Γ`` holds the
    coefficients of a regression of ``N_opr`` and ``N_di`` on the included
    regressors (``control`` as in :func:`fit_spillover`) with the same
    fixed effects. Returns, per included regressor, ``Γ`` and the expected
    bias. It is the overlap's bias only: a bad control adds its own.
    """
    values = _truth_values(truth)
    if OPR not in values or DI not in values:
        raise ValueError("overlap_bias needs the true coefficients of both the ratio and the DI (truth=world.truth).")
    _check_choice("control", control, CONTROLS)
    panel, _ = catchments.exposure_areas(unknown_sources)
    di = _foreign_demand_by_year(foreign_demand, panel["year"].unique(), DI, "year")
    data = pd.DataFrame({"centre_id": panel["centre_id"], "year": panel["year"], OPR: panel[OPR],
                         DI: panel["year"].map(di), "N_opr": panel["opr_neighbours"],
                         "N_di": panel["reach_neighbours"] * panel["year"].map(di)}).set_index(["centre_id", "year"])
    controls = []
    if control != "none":
        data[control] = _control_column(panel, control).reindex(data.index)
        data = data.loc[data[control].notna()]
        controls = [control]
    included = [OPR] + ([] if time_effects else [DI]) + controls
    gamma = {}
    for omitted in ("N_opr", "N_di"):
        fit = PanelOLS(data[omitted], data[included], entity_effects=True, time_effects=time_effects).fit()
        gamma[omitted] = fit.params
    table = pd.DataFrame({"delta_neighbours_opr": gamma["N_opr"], "delta_neighbours_di": gamma["N_di"]})
    table["expected_bias"] = table["delta_neighbours_opr"] * values[OPR] + table["delta_neighbours_di"] * values[DI]
    table["truth"] = [values.get(name, np.nan) for name in table.index]
    table["expected_estimate"] = table["truth"] + table["expected_bias"]
    table.index.name = "regressor"
    table.attrs["mean_reach_neighbours"] = float(panel["reach_neighbours"].mean())
    return table


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------

def plot_decomposition(table: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Figure II-2-4-4 replica: contributions to the average change of the areas' exports (million yen).

    ``table`` is :meth:`SpilloverResult.decomposition`. Bars: each term's
    contribution (mean change × coefficient) and the total; where the truth
    is known, a black marker gives the true contribution of the ratio and the DI.
    """
    required = ["contribution", "true_contribution"]
    require_columns(table, required, "decomposition table")
    if ax is None:
        fig, axes = new_figure(figsize=(8.6, 4.4))
        ax = axes[0, 0]
    else:
        fig = ax.figure
    terms = list(table.index)
    colours = {OPR: "C3", DI: "C0", SHIPMENTS: "0.6", DOMESTIC_SHIPMENTS: "0.6", NON_EXPORTER_SHIPMENTS: "0.6",
               LAGGED_SHIPMENTS: "0.6", "year_effects": "C2", "other": "0.85", "total": "0.25"}
    y = np.arange(len(terms))
    values = table["contribution"].to_numpy(dtype=float)
    bars = ax.barh(y, values, color=[colours.get(t, "C4") for t in terms], edgecolor="0.3", linewidth=0.6)
    ax.bar_label(bars, labels=[f"{v:+,.0f}" for v in values], padding=3, fontsize=8)
    truth = table["true_contribution"].to_numpy(dtype=float)
    known = ~np.isnan(truth)
    if known.any():
        ax.scatter(truth[known], y[known], marker="D", color="black", zorder=3, s=28,
                   label="true contribution (真の寄与)")
        ax.legend(loc="upper right", fontsize=8)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, [TERM_LABELS.get(t, t) for t in terms], fontsize=9)
    ax.invert_yaxis()
    everything = np.concatenate([values, truth[known]])
    low, high = min(0.0, float(np.nanmin(everything))), max(0.0, float(np.nanmax(everything)))
    span = max(high - low, 1.0)
    ax.set_xlim(low - (0.12 * span if low < 0 else 0.02 * span), high + 0.15 * span)
    start, end, n = table.attrs.get("start"), table.attrs.get("end"), table.attrs.get("n_areas")
    period = f"{start}→{end}" if start is not None else "first→last year"
    areas = f", {n:,} areas" if n is not None else ""
    ax.set(xlabel="mean change × coefficient (変化分の平均 × 係数), million yen per area (百万円)",
           title="Figure II-2-4-4 replica (第II-2-4-4図)\nContributions to the change in an area's exports\n"
                 f"(周辺地域の輸出額の変化の寄与), {period}{areas}")
    return fig


DESIGN_SHORT = {"white_paper": "white paper (白書)", "nearest": "nearest centre (最近接)",
                "exposure": "exposure (重複考慮)"}


def plot_design_comparison(table: pd.DataFrame, *, terms: Sequence[str] = ("opr", "di")) -> Figure:
    """Estimates ± 95 % intervals from :func:`compare_designs`, one panel per coefficient, truth as a dashed line.

    Filled markers: centre effects only; open squares: with year effects
    (which absorb the DI in the white paper's and the nearest design).
    """
    for term in terms:
        _check_choice("term", term, ("opr", "di"))
    require_columns(table.reset_index(), ["design", "year_effects"] + [f"{t}{x}" for t in terms
                                                                        for x in ("", "_se", "_truth")],
                    "design comparison table")
    fig, axes = new_figure(1, len(terms), figsize=(4.6 * len(terms) + 1.6, 0.9 + 0.42 * len(table)),
                            sharey=True)
    y = np.arange(len(table))
    labels = [f"{DESIGN_SHORT[d]}{' + year effects' if te else ''}" for d, te in table.index]
    for ax, term in zip(axes[0], terms, strict=True):
        est = table[term].to_numpy(dtype=float)
        half = 1.96 * table[f"{term}_se"].to_numpy(dtype=float)
        for k, (design, te) in enumerate(table.index):
            if np.isnan(est[k]):
                ax.text(0.02, y[k], "absorbed by year effects", transform=ax.get_yaxis_transform(),
                        va="center", fontsize=7, color="0.45")
                continue
            colour = f"C{DESIGNS.index(design)}"
            ax.errorbar(est[k], y[k], xerr=half[k], fmt="s" if te else "o", color=colour, capsize=3,
                        markerfacecolor="white" if te else colour)
        truth = table[f"{term}_truth"].dropna()
        if len(truth):
            ax.axvline(float(truth.iloc[0]), color="black", linestyle="--", linewidth=1.2, label="truth (真の値)")
            ax.legend(loc="lower right", fontsize=8)
        ax.set_title(TERM_LABELS[OPR if term == "opr" else DI], fontsize=10)
        ax.set_xlabel("coefficient ± 95 % interval")
    axes[0, 0].set_yticks(y, labels, fontsize=8)
    axes[0, 0].invert_yaxis()
    return fig


def _circle(lat: float, lon: float, radius_km: float, n: int = 72) -> tuple[np.ndarray, np.ndarray]:
    angle = np.linspace(0, 2 * np.pi, n)
    dlat = radius_km * np.sin(angle) / KM_PER_DEGREE_LATITUDE
    dlon = radius_km * np.cos(angle) / (KM_PER_DEGREE_LATITUDE * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


def _busiest_centre(catchments: Catchments, cov: np.ndarray, year: int) -> tuple[float, float]:
    """The map's default zoom: the centre of ``year`` with most receivers in two or more catchments (else most)."""
    p = catchments._centre_pairs()
    src = p["src"].to_numpy()
    rec_rows = p["rec"].to_numpy()
    yr = catchments.sources["year"].to_numpy()[src] == year
    shared = np.bincount(src[yr], weights=(cov[rec_rows[yr]] >= 2), minlength=len(catchments.sources))
    size = np.bincount(src[yr], minlength=len(catchments.sources))
    best = int(np.argmax(shared)) if shared.max() > 0 else int(np.argmax(size))
    return float(catchments.sources["latitude"].iloc[best]), float(catchments.sources["longitude"].iloc[best])


def plot_catchment_map(catchments: Catchments, *, year: int | None = None,
                       window: tuple[float, float] | None = None, window_km: float = 25.0,
                       labels: pd.DataFrame | None = None, label_cols: tuple[str, str, str] = (
                           "area", "latitude", "longitude")) -> Figure:
    """Centres, catchments and receivers in one year: all of Japan (left) and a zoom window (right).

    The map is drawn from the coordinates alone (no base map is downloaded);
    axes keep distances true in both directions (aspect 1/cos(latitude)).
    Right: a ``2·window_km`` square around ``window`` (latitude, longitude) —
    by default around the centre whose catchment shares the most
    establishments with others (or the largest one) — with every centre's
    circle of ``radius_km`` and the receivers coloured by how many
    catchments contain them. ``labels`` (e.g. ``synthetic.INDUSTRIAL_AREAS``)
    names places on the left panel.
    """
    years = sorted(catchments.centres["year"].unique())
    year = years[0] if year is None else year
    if year not in years:
        raise ValueError(f"year={year}: the catchments have centres in {years[0]}–{years[-1]}.")
    rec = catchments.receivers
    in_year = (rec["year"] == year).to_numpy()
    cov = catchments.coverage()
    r = rec.loc[in_year]
    c_year = cov[in_year]
    centres = catchments.centres.loc[catchments.centres["year"] == year]
    radius = catchments.radius_km
    if window is None:
        window = _busiest_centre(catchments, cov, year)

    fig, axes = new_figure(1, 2, figsize=(12, 6.2), width_ratios=[1, 1])
    left, right = axes[0]
    aspect = 1 / np.cos(np.radians(r["latitude"].mean()))
    left.scatter(r["longitude"], r["latitude"], s=1, color="0.55", alpha=0.35, linewidths=0,
                 label=f"establishments of smaller firms (事業所), n = {len(r):,}")
    left.scatter(centres["longitude"], centres["latitude"], s=10, marker="^", color="C3",
                 label=f"centres (中心事業所), n = {len(centres):,}")
    half_lat = window_km / KM_PER_DEGREE_LATITUDE
    half_lon = window_km / (KM_PER_DEGREE_LATITUDE * np.cos(np.radians(window[0])))
    left.add_patch(Rectangle((window[1] - half_lon, window[0] - half_lat), 2 * half_lon, 2 * half_lat, fill=False,
                             edgecolor="black", linewidth=1.0))
    if labels is not None:
        require_columns(labels, list(label_cols), "labels")
        name_c, lat_c, lon_c = label_cols
        for row in labels.itertuples(index=False):
            left.annotate(getattr(row, name_c), (getattr(row, lon_c), getattr(row, lat_c)), fontsize=6,
                          color="0.2", xytext=(3, 3), textcoords="offset points")
    left.set_aspect(aspect)
    left.set(title=f"Centres and establishments, {year} (中心事業所と事業所)", xlabel="longitude (経度)",
             ylabel="latitude (緯度)")
    left.legend(loc="upper left", markerscale=3, fontsize=8)

    lat0, lon0 = window
    box = ((r["latitude"] - lat0).abs() <= half_lat) & ((r["longitude"] - lon0).abs() <= half_lon)
    rb, cb = r.loc[box], c_year[box.to_numpy()]
    groups = ((cb == 0, "0.75", f"outside every catchment (周辺地域外), n = {int((cb == 0).sum()):,}"),
              (cb == 1, "C0", f"in one catchment (一つの周辺地域), n = {int((cb == 1).sum()):,}"),
              (cb >= 2, "C1", f"in two or more (重複する周辺地域), n = {int((cb >= 2).sum()):,}"))
    for mask, colour, label in groups:
        right.scatter(rb.loc[mask, "longitude"], rb.loc[mask, "latitude"], s=6, color=colour, linewidths=0,
                      label=label)
    margin = radius / KM_PER_DEGREE_LATITUDE
    near = centres.loc[((centres["latitude"] - lat0).abs() <= half_lat + margin)
                       & ((centres["longitude"] - lon0).abs() <= half_lon + margin * aspect)]
    for row in near.itertuples(index=False):
        clat, clon = _circle(row.latitude, row.longitude, radius)
        right.plot(clon, clat, color="C3", linewidth=0.9)
    right.scatter(near["longitude"], near["latitude"], s=40, marker="^", color="C3", edgecolors="black",
                  linewidths=0.5, zorder=3, label=f"centres with {radius:g} km circles (中心事業所と半径{radius:g}km)")
    right.set_xlim(lon0 - half_lon, lon0 + half_lon)
    right.set_ylim(lat0 - half_lat, lat0 + half_lat)
    right.set_aspect(aspect)
    right.set(title=f"Zoom: {2 * window_km:g} km × {2 * window_km:g} km around ({lat0:.2f}, {lon0:.2f})",
              xlabel="longitude (経度)", ylabel="latitude (緯度)")
    right.legend(loc="upper left", fontsize=7, markerscale=1.5, framealpha=0.9)
    return fig

