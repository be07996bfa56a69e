"""The synthetic firm world: one seeded generator for every data set in the book.

``generate(preset="book", seed=0, **params)`` returns a :class:`World` whose
tables mirror the Japanese surveys the white paper used:

* ``World.firms`` — a firm panel like 企業活動基本調査 (1995–2020);
* ``World.establishments`` — a plant panel like 工業統計調査 (2012–2019);
* ``World.foreign_demand`` — a yearly foreign-demand DI like the BoJ Tankan;
* ``World.deflators`` — the investment deflator used to turn tangible fixed
  assets into a real capital stock;
* ``World.latent`` — what no survey records: true productivity, the firm's
  unobserved level effect and every untreated potential outcome;
* ``World.truth`` — every true parameter and every true effect path.

How the world works (each piece is a parameter of :class:`WorldParams`):

1. **Production.** Log value added is ``va = β_l·l + β_k·k + ω + ε`` with
   industry-specific ``β``. Productivity ``ω`` is AR(1) (a first-order Markov
   process, as Levinsohn–Petrin assume). Capital accumulates from lagged
   investment, ``K[t+1] = (1−δ)·K[t] + I[t]``, so ``k`` is a state variable.
   Labour responds to ``ω`` (so OLS is biased upward: transmission bias) and
   to a labour shock that is neither ``ω`` nor ``k`` (the variation LP's first
   stage needs; ``labour_shock_sd=0`` switches it off and shows the
   Ackerberg–Caves–Frazer problem). Log intermediate inputs are an exact,
   increasing function of ``ω`` given ``k`` — the LP proxy is valid.
2. **Selection.** Each year a firm that has not yet started exporting (or
   FDI) starts with a logit hazard that rises with its lagged productivity,
   its lagged size and an unobserved firm level effect; yen-depreciation
   years raise the hazard for everyone.
3. **Effects.** Potential outcomes are explicit: for a starter,
   ``log y(1) = log y(0) + τ(outcome, group, h)`` for ``h = 0, 1, …`` years
   after the start (flat after 10). Export effects vary by size class at the
   base year ``t−1``; FDI effects by manufacturing / non-manufacturing.
4. **Spillovers.** Each domestic plant of a large manufacturing firm is a
   centre. Exporting establishments within ``spillover_radius_km`` of it
   share an export boost of ``spillover_opr_coefficient × OPR`` (the centre
   firm's overseas production ratio, in percent) plus
   ``spillover_di_coefficient × DI`` (foreign demand), split by their base
   shipments. When catchments overlap, an establishment receives the boosts
   of every centre in range (footnote 241's independence assumption holds
   in the data-generating process; the estimator's problem is double
   counting). As in 工業統計調査, an establishment's shipments include its
   exports, boost included (``shipments_include_exports``): area shipments
   respond to the centre's ratio, so the white paper's shipments control is
   a bad control. Establishments' own exports share a common yearly shock
   (``establishment_export_year_shock_sd``), so areas' errors are correlated
   within a year.
5. **Support programme** (中小企業の海外展開支援). From ``support_first_year``
   firms take up export support (absorbing): a logit hazard in lagged size
   (negative: an SME programme) and productivity, an unobserved motivation
   (time-invariant and correlated with the firm's sales margin by default;
   ``support_motivation_time_varying_sd`` adds an AR(1) part that also drives
   growth, which breaks matching + DiD) and ties to a support hub (distance,
   network membership: they shift take-up only). The effect on log exports
   and log sales, by size class at ``t−1``, is ``truth.support``. Its draws
   come from their own stream, so with zero effects every other table is
   byte-identical to a world without it; the firm panel gains ``exports``,
   ``hub_distance_km``, ``support_network``, ``supported`` and
   ``support_start_year``.

Same seed and parameters give byte-identical tables on any machine: every
random component has its own child stream of one ``numpy`` ``SeedSequence``
and every table is rounded to a fixed precision.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.neighbors import BallTree

from kaigai_lib.data.starts import EXPORT_GROUPS, FDI_GROUPS  # the groups are the data's convention, shared

EARTH_RADIUS_KM = 6371.0088

# Industry table: code, English, Japanese (日本標準産業分類 based), manufacturing,
# share of firms, true labour and capital coefficients, value added per employee
# (million yen) and intermediate inputs per unit of value added.
INDUSTRIES = pd.DataFrame(
    [
        ("food", "Food manufacturing", "食料品製造業", True, 0.07, 0.55, 0.30, 8.0, 2.2),
        ("chemicals", "Chemicals", "化学工業", True, 0.06, 0.45, 0.40, 14.0, 1.8),
        ("metals", "Iron, steel and metal products", "鉄鋼業・非鉄金属・金属製品製造業",
         True, 0.08, 0.55, 0.35, 10.0, 2.0),
        ("machinery", "General-purpose and production machinery", "はん用・生産用・業務用機械器具製造業",
         True, 0.09, 0.60, 0.30, 10.0, 1.6),
        ("electrical", "Electrical and electronic machinery", "電気機械・電子部品・情報通信機械器具製造業",
         True, 0.08, 0.60, 0.30, 10.0, 1.9),
        ("transport", "Transport equipment", "輸送用機械器具製造業", True, 0.06, 0.55, 0.35, 11.0, 2.5),
        ("wholesale", "Wholesale trade", "卸売業", False, 0.22, 0.65, 0.20, 10.0, 3.0),
        ("retail", "Retail trade", "小売業", False, 0.14, 0.70, 0.15, 5.0, 2.0),
        ("services", "Information, communications and services", "情報通信業・サービス業",
         False, 0.20, 0.70, 0.20, 7.0, 0.9),
    ],
    columns=[
        "industry", "name_en", "name_ja", "manufacturing", "share",
        "beta_labour", "beta_capital", "value_added_per_employee", "intermediates_per_value_added",
    ],
)

OUTCOMES = ("employees", "sales", "capital_stock", "tfp", "compensation_per_employee")
MAX_HORIZON = 10

# Industrial areas (approximate city centres), relative weight and spread in km.
INDUSTRIAL_AREAS = pd.DataFrame(
    [
        ("Tokyo–Kawasaki", 35.56, 139.70, 10.0, 18.0),
        ("Saitama", 35.90, 139.60, 5.0, 18.0),
        ("Yokohama", 35.45, 139.60, 5.0, 12.0),
        ("Chiba–Ichihara", 35.55, 140.10, 3.0, 15.0),
        ("Ota–Kiryu (Gunma)", 36.30, 139.35, 3.0, 15.0),
        ("Utsunomiya", 36.55, 139.88, 2.0, 15.0),
        ("Hitachi–Mito", 36.50, 140.55, 2.0, 15.0),
        ("Shizuoka", 34.98, 138.38, 2.5, 15.0),
        ("Hamamatsu", 34.71, 137.73, 3.0, 12.0),
        ("Nagoya", 35.17, 136.90, 8.0, 18.0),
        ("Toyota–Okazaki", 35.00, 137.15, 4.0, 12.0),
        ("Yokkaichi", 34.97, 136.62, 2.0, 12.0),
        ("Gifu", 35.42, 136.76, 2.0, 12.0),
        ("Osaka", 34.69, 135.50, 9.0, 15.0),
        ("Higashi-Osaka–Sakai", 34.60, 135.55, 4.0, 10.0),
        ("Kobe–Amagasaki", 34.71, 135.30, 4.0, 12.0),
        ("Kyoto", 35.01, 135.76, 3.0, 12.0),
        ("Himeji", 34.82, 134.69, 2.0, 12.0),
        ("Okayama–Kurashiki", 34.62, 133.85, 2.5, 15.0),
        ("Hiroshima", 34.40, 132.46, 3.0, 15.0),
        ("Kitakyushu", 33.88, 130.88, 2.5, 12.0),
        ("Fukuoka", 33.59, 130.40, 2.5, 12.0),
        ("Kumamoto", 32.80, 130.74, 1.5, 15.0),
        ("Oita", 33.24, 131.61, 1.0, 12.0),
        ("Niigata", 37.90, 139.02, 2.0, 15.0),
        ("Nagano–Matsumoto", 36.40, 138.10, 2.0, 20.0),
        ("Toyama–Takaoka", 36.70, 137.10, 2.0, 15.0),
        ("Kanazawa", 36.56, 136.65, 1.5, 12.0),
        ("Fukui", 36.06, 136.22, 1.0, 12.0),
        ("Sendai", 38.27, 140.87, 2.0, 15.0),
        ("Koriyama", 37.40, 140.38, 1.5, 15.0),
        ("Sapporo", 43.06, 141.35, 2.0, 15.0),
        ("Takamatsu", 34.34, 134.05, 1.0, 12.0),
        ("Matsuyama–Niihama", 33.90, 133.10, 1.0, 15.0),
        ("Shunan–Ube", 34.05, 131.60, 1.0, 15.0),
    ],
    columns=["area", "latitude", "longitude", "weight", "spread_km"],
)


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------

def _effects(employees: float, sales: float, capital: float, tfp: float, wage: float) -> dict[str, float]:
    return dict(zip(OUTCOMES, (employees, sales, capital, tfp, wage), strict=True))


def _default_export_effects() -> dict[str, dict[str, float]]:
    # Small exporters gain sales and TFP; larger ones little (white paper Fig. II-2-4-1).
    return {
        "under 50": _effects(employees=0.03, sales=0.15, capital=0.03, tfp=0.08, wage=0.01),
        "50-99": _effects(employees=0.03, sales=0.15, capital=0.03, tfp=0.08, wage=0.01),
        "100-299": _effects(employees=0.02, sales=0.05, capital=0.02, tfp=0.02, wage=0.0),
        "300+": _effects(employees=0.0, sales=0.02, capital=0.0, tfp=0.0, wage=0.0),
    }


def _default_fdi_effects() -> dict[str, dict[str, float]]:
    # Manufacturing FDI starters gain sales, jobs and capital; nobody gains TFP.
    return {
        "manufacturing": _effects(employees=0.08, sales=0.12, capital=0.10, tfp=0.0, wage=0.02),
        "non-manufacturing": _effects(employees=0.03, sales=0.05, capital=0.02, tfp=0.0, wage=0.0),
    }


SUPPORT_OUTCOMES = ("exports", "sales")


def _default_support_effects() -> dict[str, dict[str, float]]:
    # Support helps small firms most: exports (the intensive margin of firms already exporting) and sales.
    return {
        "under 50": {"exports": 0.25, "sales": 0.06},
        "50-99": {"exports": 0.20, "sales": 0.05},
        "100-299": {"exports": 0.10, "sales": 0.02},
        "300+": {"exports": 0.03, "sales": 0.0},
    }


def _doc(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING) -> Any:
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"doc": text})
    return field(default=default, metadata={"doc": text})


@dataclass(frozen=True)
class WorldParams:
    """Every parameter of the synthetic world, with its meaning and default.

    :func:`generate` builds one from a preset and keyword arguments and keeps it
    in ``world.truth.params``; :func:`describe_parameters` lists the fields as a
    table. Log-point effects are differences in natural logs (0.10 ≈ +10.5 %).
    The instance is frozen and checked on construction.

    {parameters}
    Raises
    ------
    ValueError
        If a value is out of its range (a probability outside [0, 1), a
        negative standard deviation, years out of order, an effect table with
        an unknown group or outcome); the message lists every bad field.

    See Also
    --------
    generate : Draw a world with these parameters.
    describe_parameters : The same fields as a table.

    Examples
    --------
    >>> from kaigai_lib import WorldParams, generate
    >>> WorldParams().n_firms, WorldParams(n_firms=500).n_firms
    (6000, 500)
    >>> world = generate("tiny", seed=0, selection_strength=0.0)
    >>> world.truth.params.selection_strength, world.truth.params.n_firms
    (0.0, 1500)
    >>> WorldParams(exit_rate=2.0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid world parameters:
      - exit_rate=2.0: a probability or share, must lie in [0, 1)
    """

    # Scale and time
    n_firms: int = _doc("Firms in the firm panel each year (entrants replace exits).", 6_000)
    n_establishments: int = _doc("Establishments in the plant panel each year.", 20_000)
    start_year: int = _doc("First year of the firm panel.", 1995)
    end_year: int = _doc("Last year of the firm panel.", 2020)
    establishment_start_year: int = _doc("First year of the establishment panel.", 2012)
    establishment_end_year: int = _doc("Last year of the establishment panel.", 2019)
    burn_in_years: int = _doc("Years simulated before start_year so the panel starts in steady state.", 12)
    exit_rate: float = _doc("Yearly probability that a firm leaves the survey (replaced by an entrant).", 0.03)
    missing_rate: float = _doc("Probability that an active firm-year is missing (non-response), at random.", 0.02)

    # Production
    productivity_persistence: float = _doc("AR(1) coefficient ρ of log productivity ω.", 0.9)
    productivity_shock_sd: float = _doc("Standard deviation of the innovation ξ of ω.", 0.10)
    output_noise_sd: float = _doc("Standard deviation of ε in log value added (not seen by the firm).", 0.05)
    labour_productivity_response: float = _doc("Response of log labour to ω (the source of transmission bias).", 0.35)
    labour_capital_elasticity: float = _doc("Response of log labour to log capital.", 0.5)
    labour_shock_sd: float = _doc(
        "S.d. of the labour shock (labour intensity, wage shocks, hiring frictions): labour variation that is "
        "neither ω nor k. 0 switches it off and LP cannot identify β_l (the ACF critique).", 0.25)
    labour_shock_permanent_share: float = _doc(
        "Share of the labour shock's variance that is a permanent firm component (labour intensity); the "
        "rest is a transitory AR(1). The mix keeps labour from being a Markov process like ω, which ACF "
        "needs for identification.", 0.9)
    labour_shock_persistence: float = _doc("AR(1) coefficient of the transitory labour shock.", 0.5)
    depreciation_rate: float = _doc("Yearly depreciation rate δ of capital.", 0.08)
    investment_productivity_response: float = _doc("Response of log investment to ω.", 1.5)
    capital_adjustment: float = _doc("Elasticity κ of investment to the gap between capital and its target.", 1.5)
    investment_shock_sd: float = _doc("Standard deviation of log investment shocks.", 0.30)
    capital_target_sd: float = _doc("Cross-firm s.d. of the log target capital stock (firm size dispersion).", 1.4)
    median_employees: float = _doc("Median firm size (employees) at the median capital stock.", 160.0)
    manufacturing_capital_trend: float = _doc(
        "Yearly log change of manufacturing firms' target capital (negative: untreated manufacturers shrink).", -0.02)
    non_manufacturing_capital_trend: float = _doc("Yearly log change of non-manufacturing firms' target capital.", 0.0)
    sales_noise_sd: float = _doc("Standard deviation of yearly log sales noise beyond value added and inputs.", 0.05)

    # Wages and ownership
    wage_productivity_response: float = _doc("Response of log compensation per employee to ω (rent sharing).", 0.3)
    wage_size_elasticity: float = _doc("Response of log compensation per employee to log employees.", 0.06)
    wage_trend: float = _doc("Yearly log change of compensation per employee.", 0.003)
    wage_noise_sd: float = _doc("Standard deviation of yearly log wage noise.", 0.05)
    foreign_owned_share: float = _doc("Share of firms whose foreign capital ratio exceeds 33.3 %.", 0.03)
    foreign_wage_premium: float = _doc("Log compensation premium of foreign-owned firms.", 0.25)
    foreign_tfp_premium: float = _doc("Log productivity premium (in ω's long-run mean) of foreign-owned firms.", 0.02)

    # Unobserved firm level effect
    firm_effect_wage: float = _doc(
        "Log compensation per employee per s.d. of the unobserved firm level effect (a level, never a trend).", 0.06)

    # Selection into exporting and FDI (log-odds per standard deviation)
    selection_strength: float = _doc("Multiplier on every selection slope below (0 = random starts).", 1.0)
    export_base_rate: float = _doc("Yearly start probability of a typical non-exporter (all slopes at zero).", 0.015)
    export_selection_tfp: float = _doc("Export hazard: log-odds per s.d. of lagged productivity.", 0.6)
    export_selection_size: float = _doc("Export hazard: log-odds per s.d. of lagged log employees.", 0.4)
    export_selection_firm_effect: float = _doc("Export hazard: log-odds per s.d. of the unobserved firm effect.", 0.5)
    export_manufacturing_shift: float = _doc("Export hazard: log-odds shift for manufacturers.", 0.6)
    fdi_base_rate: float = _doc("Yearly FDI start probability of a typical firm without affiliates abroad.", 0.007)
    fdi_selection_tfp: float = _doc("FDI hazard: log-odds per s.d. of lagged productivity.", 1.0)
    fdi_selection_size: float = _doc("FDI hazard: log-odds per s.d. of lagged log employees.", 0.7)
    fdi_selection_firm_effect: float = _doc("FDI hazard: log-odds per s.d. of the unobserved firm effect.", 0.5)
    fdi_manufacturing_shift: float = _doc("FDI hazard: log-odds shift for manufacturers.", 0.5)
    depreciation_years: tuple[int, ...] = _doc(
        "Yen-depreciation years that raise both hazards for every firm.", (1997, 1998, 2005, 2006, 2013, 2014, 2015))
    depreciation_hazard_shift: float = _doc("Log-odds added to both hazards in depreciation years.", 0.4)

    # Treatment effects
    export_effects: Mapping[str, Mapping[str, float]] = _doc(
        "Full (h ≥ effect_build_up_years) effect of starting to export, log points, by size class at t−1 "
        "and outcome; missing entries take the default.", factory=_default_export_effects)
    fdi_effects: Mapping[str, Mapping[str, float]] = _doc(
        "Full effect of starting FDI, log points, by sector and outcome; missing entries take the default.",
        factory=_default_fdi_effects)
    effect_build_up_years: int = _doc(
        "Years over which an effect builds up linearly: τ(h) = full·min(1, (h+1)/(build_up+1)).", 5)

    # Overseas production
    overseas_production_target_manufacturing: float = _doc(
        "Mean long-run overseas production ratio (%) of manufacturing FDI firms.", 25.0)
    overseas_production_target_non_manufacturing: float = _doc(
        "Mean long-run overseas production ratio (%) of non-manufacturing FDI firms.", 8.0)
    overseas_production_noise_sd: float = _doc("S.d. (percentage points) of a firm's yearly deviation.", 2.0)

    # Support programme (中小企業の海外展開支援: consultation, matching, subsidies from local support hubs)
    support_first_year: int = _doc(
        "First year firms can take up the export support programme (national/local support from 2010/11).", 2011)
    support_base_rate: float = _doc(
        "Yearly take-up probability of a typical firm (every take-up slope at zero).", 0.03)
    support_takeup_size: float = _doc(
        "Take-up: log-odds per s.d. of lagged log employees (negative: an SME programme).", -0.6)
    support_takeup_tfp: float = _doc("Take-up: log-odds per s.d. of lagged productivity (industry-demeaned).", 0.4)
    support_takeup_motivation: float = _doc(
        "Take-up: log-odds per unit of the unobserved motivation (time-invariant part has s.d. 1).", 1.2)
    support_takeup_hub_distance: float = _doc(
        "Take-up: log-odds per s.d. of log distance to the nearest support hub (negative: nearer firms "
        "take up more). Ties to a hub shift take-up only; they have no effect on outcomes.", -0.5)
    support_takeup_network: float = _doc(
        "Take-up: log-odds for members of a local support network (つながり: 交流会, 支援センター).", 0.8)
    support_hub_distance_median_km: float = _doc("Median distance (km) from a firm to its nearest support hub.", 15.0)
    support_network_share: float = _doc(
        "Share of firms in a local support network at the median distance (falls with distance).", 0.25)
    support_motivation_sales_correlation: float = _doc(
        "Correlation of the time-invariant motivation with the firm's unobserved sales margin (a level "
        "difference: DiD removes it).", 0.6)
    support_motivation_time_varying_sd: float = _doc(
        "Stationary s.d. of a time-varying motivation component (AR(1)); 0 (default) makes motivation "
        "time-invariant. When > 0 it enters take-up and the growth of sales and exports, so matching + DiD "
        "is biased.", 0.0)
    support_motivation_persistence: float = _doc("AR(1) coefficient of the time-varying motivation.", 0.8)
    support_motivation_growth: float = _doc(
        "Yearly log growth of sales and exports per unit of the time-varying motivation.", 0.08)
    support_effects: Mapping[str, Mapping[str, float]] = _doc(
        "Full effect of taking up support, log points, by size class at t−1 (under 50, 50-99, 100-299, 300+) "
        "and outcome (exports, sales); missing entries take the default.", factory=_default_support_effects)
    support_build_up_years: int = _doc("Years over which the support effect builds up linearly.", 2)

    # Spatial spillovers
    global_firm_capital: float = _doc(
        "Paid-in capital (million yen) from which a manufacturer's plants are centres.", 1_000.0)
    spillover_radius_km: float = _doc("Radius (km) within which a centre's export boost reaches establishments.", 5.0)
    spillover_opr_coefficient: float = _doc(
        "Area exports (million yen) per percentage point of the centre firm's overseas production ratio.", 40.0)
    spillover_di_coefficient: float = _doc("Area exports (million yen) per point of the foreign-demand DI.", 15.0)
    catchment_overlap: float = _doc(
        "Share (0–1) of centres placed inside another centre's catchment; 0 keeps catchments apart.", 0.1)
    supplier_share: float = _doc("Share of small establishments located as suppliers near a centre.", 0.3)
    establishment_exporter_share: float = _doc("Share of small establishments that export.", 0.25)
    shipments_include_exports: bool = _doc(
        "Establishments' shipments include their exports, spillover boost included, as in 工業統計調査's "
        "製造品出荷額等 (so area shipments are a bad control); False keeps the boost out of shipments.", True)
    establishment_export_year_shock_sd: float = _doc(
        "S.d. of a common yearly log shock to every establishment's own exports (foreign demand the DI misses): "
        "areas' errors are correlated within a year, so errors clustered by centre are too small.", 0.05)

    def __post_init__(self) -> None:
        _validate(self)


def _parameters_section() -> str:
    # the Parameters section of WorldParams' docstring, from each field's type, default and meaning (one source)
    lines = ["Parameters", "----------"]
    for f in dataclasses.fields(WorldParams):
        kind = {"int": "int", "float": "float", "bool": "bool", "tuple[int, ...]": "tuple of int"}.get(
            str(f.type), "mapping of str to mapping of str to float")
        default = "optional" if f.default is dataclasses.MISSING else f"default {f.default}"
        lines.append(f"{f.name} : {kind}, {default}")
        lines += ["    " + line for line in textwrap.wrap(f.metadata["doc"], 100)]
    return "\n    ".join(lines) + "\n\n"


WorldParams.__doc__ = (WorldParams.__doc__ or "").replace("{parameters}\n", _parameters_section())


def describe_parameters() -> pd.DataFrame:
    """Every world parameter with its default and meaning, for docs and widgets.

    Returns
    -------
    pandas.DataFrame
        One row per field of :class:`WorldParams`: ``parameter``, ``default``
        and ``meaning``.

    See Also
    --------
    WorldParams : The parameters themselves.

    Examples
    --------
    >>> from kaigai_lib import describe_parameters
    >>> table = describe_parameters()
    >>> table.shape
    (77, 3)
    >>> table.set_index("parameter").loc["selection_strength", "meaning"]
    'Multiplier on every selection slope below (0 = random starts).'
    """
    rows = []
    defaults = WorldParams()
    for f in dataclasses.fields(WorldParams):
        rows.append({"parameter": f.name, "default": getattr(defaults, f.name), "meaning": f.metadata["doc"]})
    return pd.DataFrame(rows)


PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"n_firms": 1_500, "n_establishments": 4_000},
    "book": {"n_firms": 6_000, "n_establishments": 20_000},
    "national": {"n_firms": 30_000, "n_establishments": 185_000},
}


def _validate(p: WorldParams) -> None:
    problems = [*_value_problems(p), *_year_problems(p), *_effect_problems(p), *_support_problems(p)]
    if problems:
        raise ValueError("Invalid world parameters:\n  - " + "\n  - ".join(problems))


def _value_problems(p: WorldParams) -> list[str]:
    """Counts, probabilities and shares, non-negative scales, flags and AR(1) coefficients."""
    problems: list[str] = []

    def positive_int(name: str, minimum: int = 1) -> None:
        value = getattr(p, name)
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
            problems.append(f"{name}={value!r}: must be a whole number ≥ {minimum}")

    def probability(name: str, upper_open: bool = False) -> None:
        value = getattr(p, name)
        if not (0.0 <= value <= 1.0) or (upper_open and value >= 1.0):
            bound = "[0, 1)" if upper_open else "[0, 1]"
            problems.append(f"{name}={value!r}: a probability or share, must lie in {bound}")

    def non_negative(name: str) -> None:
        if not getattr(p, name) >= 0:
            problems.append(f"{name}={getattr(p, name)!r}: must be ≥ 0")

    positive_int("n_firms", 50)
    positive_int("n_establishments", 100)
    positive_int("burn_in_years", 0)
    positive_int("effect_build_up_years", 0)
    for name in ("exit_rate", "missing_rate", "foreign_owned_share", "catchment_overlap",
                 "labour_shock_permanent_share", "supplier_share", "establishment_exporter_share"):
        probability(name, upper_open=name in ("exit_rate", "missing_rate"))
    for name in ("export_base_rate", "fdi_base_rate", "depreciation_rate"):
        value = getattr(p, name)
        if not (0.0 < value < 1.0):
            problems.append(f"{name}={value!r}: a probability, must lie strictly between 0 and 1")
    for name in ("productivity_shock_sd", "output_noise_sd", "labour_shock_sd", "investment_shock_sd",
                 "capital_target_sd", "sales_noise_sd", "wage_noise_sd", "overseas_production_noise_sd",
                 "selection_strength", "median_employees", "spillover_radius_km", "capital_adjustment",
                 "global_firm_capital", "establishment_export_year_shock_sd"):
        non_negative(name)
    if not isinstance(p.shipments_include_exports, (bool, np.bool_)):
        problems.append(f"shipments_include_exports={p.shipments_include_exports!r}: must be True or False")
    if p.median_employees <= 0 or p.spillover_radius_km <= 0:
        problems.append("median_employees and spillover_radius_km must be > 0")
    for name in ("productivity_persistence", "labour_shock_persistence"):
        if not (-1.0 < getattr(p, name) < 1.0):
            problems.append(f"{name}={getattr(p, name)!r}: an AR(1) coefficient, must lie in (−1, 1)")
    return problems


def _year_problems(p: WorldParams) -> list[str]:
    problems = []
    if p.end_year < p.start_year:
        problems.append(f"end_year={p.end_year} is before start_year={p.start_year}: swap them")
    if p.establishment_end_year < p.establishment_start_year:
        problems.append(f"establishment_end_year={p.establishment_end_year} is before "
                        f"establishment_start_year={p.establishment_start_year}: swap them")
    if not (p.start_year + 1 <= p.establishment_start_year and p.establishment_end_year <= p.end_year):
        problems.append(
            f"the establishment years {p.establishment_start_year}–{p.establishment_end_year} must lie within "
            f"the firm panel's years after the first ({p.start_year + 1}–{p.end_year})")
    return problems


def _effect_problems(p: WorldParams) -> list[str]:
    return [*_effect_table_problems("export_effects", p.export_effects, EXPORT_GROUPS, OUTCOMES),
            *_effect_table_problems("fdi_effects", p.fdi_effects, FDI_GROUPS, OUTCOMES)]


def _effect_table_problems(name: str, table: Mapping[str, Mapping[str, Any]], groups: tuple[str, ...],
                           outcomes: tuple[str, ...]) -> list[str]:
    """An effect table: known groups and outcomes, finite log-point effects of at most 2."""
    problems = []
    for group, effects in table.items():
        if group not in groups:
            problems.append(f"{name}: unknown group {group!r}; groups are {list(groups)}")
            continue
        for outcome, value in effects.items():
            if outcome not in outcomes:
                problems.append(f"{name}[{group!r}]: unknown outcome {outcome!r}; outcomes are {list(outcomes)}")
            elif not (isinstance(value, (int, float)) and math.isfinite(value) and abs(value) <= 2.0):
                problems.append(f"{name}[{group!r}][{outcome!r}]={value!r}: log-point effect must be finite, |τ| ≤ 2")
    return problems


def resolve_params(preset: str = "book", **params: Any) -> WorldParams:
    """The parameters ``generate`` would use: preset values, then ``params`` on top."""
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}: choose one of {sorted(PRESETS)}.")
    known = {f.name for f in dataclasses.fields(WorldParams)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"Unknown world parameter(s) {unknown}. See kaigai_lib.world.synthetic.describe_parameters() for the list.")
    merged: dict[str, Any] = {**PRESETS[preset], **params}
    for name, default_factory in (("export_effects", _default_export_effects), ("fdi_effects", _default_fdi_effects),
                                  ("support_effects", _default_support_effects)):
        if name in params:
            table = default_factory()
            for group, effects in params[name].items():
                table.setdefault(group, {}).update(effects)
            merged[name] = table
    if "depreciation_years" in merged:
        merged["depreciation_years"] = tuple(int(y) for y in merged["depreciation_years"])
    return WorldParams(**merged)


# --------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------

def effect_path(full_effect: float, build_up_years: int, max_horizon: int = MAX_HORIZON) -> np.ndarray:
    """τ(h) for h = 0..max_horizon: a linear build-up to ``full_effect``, then flat."""
    horizons = np.arange(max_horizon + 1)
    return full_effect * np.minimum(1.0, (horizons + 1) / (build_up_years + 1))


@dataclass(frozen=True)
class Truth:
    """Every true parameter and effect of a world, ready to compare estimates with.

    :func:`generate` attaches one to each world as ``world.truth``; you do not
    build it yourself.

    Parameters
    ----------
    params : WorldParams
        The parameters the world was drawn with.
    production : pandas.DataFrame
        One row per industry: true ``beta_labour``, ``beta_capital``, the
        AR(1) ``productivity_persistence`` and whether it is manufacturing.
    effects : pandas.DataFrame
        Tidy table ``analysis, group, outcome, horizon, effect`` with the true
        effect in log points for ``analysis`` in {"export", "fdi"}, horizons
        0–10 (the effect at horizon h is ``log y(1) − log y(0)`` h years after
        the start, for every starter of that group).
    spillover : dict of str to float
        True spillover coefficients (``opr_coefficient``: area exports in
        million yen per percentage point of the centre firm's overseas
        production ratio; ``di_coefficient``: per DI point), the true
        ``radius_km``, ``n_centres`` (plants of large manufacturers with
        production abroad in some establishment year) and
        ``share_in_several_catchments``: among the establishments inside at
        least one catchment, the share inside two or more;
        ``shipments_include_exports`` (1.0 or 0.0) and
        ``export_year_shock_<year>`` for every establishment year (the common
        log shock to establishments' own exports; 0 in the first year).
    support : pandas.DataFrame or None, optional
        Tidy table ``group, outcome, horizon, effect``: the true effect (log
        points) of taking up the support programme on ``exports`` and
        ``sales``, by size class at ``t−1``, horizons 0–10 (see
        ``support_truth``).

    See Also
    --------
    World.sample_att : The realised effect among the observed starters.

    Examples
    --------
    >>> from kaigai_lib import generate
    >>> truth = generate("tiny", seed=0).truth
    >>> truth.effects.query("analysis == 'export' and outcome == 'sales' and horizon == 5")
        analysis     group outcome  horizon  effect
    16    export  under 50   sales        5    0.15
    71    export     50-99   sales        5    0.15
    126   export   100-299   sales        5    0.05
    181   export      300+   sales        5    0.02
    >>> truth.effect("export", "sales", "300+", horizon=2), truth.spillover["radius_km"]
    (0.01, 5.0)
    >>> truth.production[["industry", "beta_labour", "beta_capital"]].head(2)
        industry  beta_labour  beta_capital
    0       food         0.55           0.3
    1  chemicals         0.45           0.4
    """

    params: WorldParams
    production: pd.DataFrame
    effects: pd.DataFrame
    spillover: dict[str, float]
    support: pd.DataFrame | None = None  # the support programme's effects: group, outcome, horizon, effect

    def effect(self, analysis: str, outcome: str, group: str, horizon: int) -> float:
        """The true effect (log points) for one analysis, outcome, group and horizon.

        Parameters
        ----------
        analysis : {"export", "fdi"}
            The kind of start.
        outcome : str
            One of employees, sales, capital_stock, tfp, compensation_per_employee.
        group : str
            The starter's group: a size class at ``t − 1`` for exports
            ("under 50", "50-99", "100-299", "300+"), the sector for FDI
            ("manufacturing", "non-manufacturing").
        horizon : int
            Years after the start; horizons beyond 10 take the effect at 10.

        Returns
        -------
        float
            The effect on the log outcome, ``log y(1) − log y(0)``.

        Raises
        ------
        KeyError
            If no effect matches the analysis, outcome and group; the message lists the valid ones.

        Examples
        --------
        >>> from kaigai_lib import generate
        >>> truth = generate("tiny", seed=0).truth
        >>> truth.effect("fdi", "employees", "manufacturing", horizon=12) == truth.effect(
        ...     "fdi", "employees", "manufacturing", horizon=10)
        True
        >>> truth.effect("export", "sales", "tiny firms", horizon=1)
        Traceback (most recent call last):
        ...
        KeyError: "No true effect for analysis='export', outcome='sales', group='tiny firms'. ..."
        """
        rows = self.effects.query("analysis == @analysis and outcome == @outcome and group == @group")
        if rows.empty:
            raise KeyError(
                f"No true effect for analysis={analysis!r}, outcome={outcome!r}, group={group!r}. "
                f"Analyses: export (groups {list(EXPORT_GROUPS)}), fdi (groups {list(FDI_GROUPS)}); "
                f"outcomes {list(OUTCOMES)}.")
        h = min(int(horizon), MAX_HORIZON)
        return float(rows.loc[rows["horizon"] == h, "effect"].iloc[0])


def _truth_tables(p: WorldParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    production = INDUSTRIES[["industry", "manufacturing", "beta_labour", "beta_capital"]].copy()
    production["productivity_persistence"] = p.productivity_persistence
    rows = []
    for analysis, groups, table in (("export", EXPORT_GROUPS, p.export_effects), ("fdi", FDI_GROUPS, p.fdi_effects)):
        for group in groups:
            for outcome in OUTCOMES:
                path = effect_path(table[group][outcome], p.effect_build_up_years)
                for h, value in enumerate(path):
                    rows.append((analysis, group, outcome, h, float(value)))
    effects = pd.DataFrame(rows, columns=["analysis", "group", "outcome", "horizon", "effect"])
    return production, effects


# --------------------------------------------------------------------------
# The support programme (支援策): take-up, effects, truth
# --------------------------------------------------------------------------

SUPPORT_STREAM = 7_001  # the programme's own random stream: [seed, SUPPORT_STREAM]
SUPPORT_SLOPES = ("support_takeup_size", "support_takeup_tfp", "support_takeup_motivation",
                  "support_takeup_hub_distance", "support_takeup_network", "support_motivation_growth")


def _support_problems(p: WorldParams) -> list[str]:
    problems = []
    for name in ("support_base_rate", "support_network_share"):
        if not 0.0 < getattr(p, name) < 1.0:
            problems.append(f"{name}={getattr(p, name)!r}: a probability or share, must lie strictly between 0 and 1")
    for name in SUPPORT_SLOPES:
        if not math.isfinite(getattr(p, name)):
            problems.append(f"{name}={getattr(p, name)!r}: must be a finite number")
    if not p.support_hub_distance_median_km > 0:
        problems.append(f"support_hub_distance_median_km={p.support_hub_distance_median_km!r}: must be > 0")
    if not p.support_motivation_time_varying_sd >= 0:
        problems.append(f"support_motivation_time_varying_sd={p.support_motivation_time_varying_sd!r}: must be ≥ 0")
    if not -1.0 < p.support_motivation_persistence < 1.0:
        problems.append(f"support_motivation_persistence={p.support_motivation_persistence!r}: an AR(1) "
                        "coefficient, must lie in (−1, 1)")
    if not -1.0 <= p.support_motivation_sales_correlation <= 1.0:
        problems.append(f"support_motivation_sales_correlation={p.support_motivation_sales_correlation!r}: a "
                        "correlation, must lie in [−1, 1]")
    for name in ("support_first_year", "support_build_up_years"):
        value = getattr(p, name)
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            problems.append(f"{name}={value!r}: must be a whole number ≥ 0")
    return problems + _effect_table_problems("support_effects", p.support_effects, EXPORT_GROUPS, SUPPORT_OUTCOMES)


def support_truth(p: WorldParams) -> pd.DataFrame:
    """The programme's true effect path: ``group, outcome, horizon, effect`` (log points, h = 0…10)."""
    rows = [(group, outcome, h, float(value))
            for group in EXPORT_GROUPS for outcome in SUPPORT_OUTCOMES
            for h, value in enumerate(effect_path(p.support_effects[group][outcome], p.support_build_up_years))]
    return pd.DataFrame(rows, columns=["group", "outcome", "horizon", "effect"])


def _simulate_support(p: WorldParams, r: np.random.Generator, s: dict[str, Any]) -> dict[str, Any]:
    """Take-up of export support and its effects, on top of the simulated firms (which it does not change).

    Take-up (absorbing) from ``support_first_year``: a logit hazard in lagged
    size and productivity, the unobserved motivation (a time-invariant part
    correlated with the firm's sales margin, plus an optional AR(1) part that
    also drives growth) and ties to a support hub (distance, network
    membership), which shift take-up only. Effects by size class at ``t−1``
    (of the untreated employees: the observed class except for the few
    export/FDI starters whose effect on employees moves them across a class
    boundary).
    """
    years, n, active = s["years"], s["n"], s["active"]
    n_years = len(years)
    # the untreated state, as for export and FDI starts: the programme does not move when their effects do
    labour, omega = s["state0"]["labour"], s["state0"]["omega"]
    # every draw is made whatever the parameters, so one parameter does not move another's draws
    log_distance = math.log(p.support_hub_distance_median_km) + 0.8 * r.standard_normal(n)
    z_distance = (log_distance - log_distance.mean()) / log_distance.std()
    network = r.random(n) < 1.0 / (1.0 + np.exp(-(_logit(p.support_network_share) - 1.0 * z_distance)))
    rho_m = p.support_motivation_sales_correlation
    margin_sd = s["sales_margin"].std()
    motivation_fixed = (rho_m * s["sales_margin"] / (margin_sd if margin_sd > 0 else 1.0)
                        + math.sqrt(1 - rho_m**2) * r.standard_normal(n))
    innovations = r.standard_normal((n, n_years))
    uniforms = r.random((n, n_years))
    export_share = r.beta(2.5, 12.0, n)

    sd, rho = p.support_motivation_time_varying_sd, p.support_motivation_persistence
    varying = np.zeros((n, n_years))
    if sd > 0:
        varying[:, 0] = sd * innovations[:, 0]
        for t in range(1, n_years):
            varying[:, t] = rho * varying[:, t - 1] + sd * math.sqrt(1 - rho**2) * innovations[:, t]
    motivation = motivation_fixed[:, None] + varying

    start = np.full(n, -1)
    tfp_gap = omega - s["mu_industry"][:, None]
    for t in range(max(1, int(np.searchsorted(years, p.support_first_year))), n_years):
        alive = active[:, t]
        index = (_logit(p.support_base_rate) + p.support_takeup_size * _zscore(labour[:, t - 1], alive)
                 + p.support_takeup_tfp * _zscore(tfp_gap[:, t - 1], alive)
                 + p.support_takeup_motivation * motivation[:, t]
                 + p.support_takeup_hub_distance * z_distance + p.support_takeup_network * network)
        new = alive & (start < 0) & (uniforms[:, t] < 1.0 / (1.0 + np.exp(-index)))
        start[new] = t

    rows = np.arange(n)
    base_employees = np.round(np.exp(labour[rows, np.clip(start - 1, 0, n_years - 1)]))
    group = np.digitize(base_employees, [50, 100, 300])
    h = np.arange(n_years)[None, :] - start[:, None]
    h = np.where(start[:, None] >= 0, h, -1)
    effects = {}
    for outcome in SUPPORT_OUTCOMES:
        paths = np.stack([effect_path(p.support_effects[g][outcome], p.support_build_up_years) for g in EXPORT_GROUPS])
        effects[outcome] = np.where(h >= 0, paths[group[:, None], np.clip(h, 0, MAX_HORIZON)], 0.0)
    growth = p.support_motivation_growth * np.cumsum(varying, axis=1)  # zero when motivation is time-invariant
    return {
        "start": start, "group": group, "hub_distance": np.exp(log_distance), "network": network,
        "motivation": motivation, "effects": effects, "sales_shift": effects["sales"] + growth,
        # log exports = log sales + log export share + (τ_exports − τ_sales): the effect on exports is τ_exports
        "log_export_share": np.log(export_share)[:, None] + effects["exports"] - effects["sales"],
    }


def _support_columns(s: dict[str, Any], support: dict[str, Any], firms: pd.DataFrame,
                     latent: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The programme's columns, appended to the firm panel (observed) and to ``latent`` (unobserved)."""
    first = s["first_obs"]
    fi, ti = np.nonzero(s["observed"][:, first:])  # the same rows, in the same order, as _firm_tables
    t_full = ti + first
    start = support["start"][fi]
    log_sales = (s["sales1"] + support["sales_shift"])[fi, t_full]
    log_exports = log_sales + support["log_export_share"][fi, t_full]
    exporter = firms["exporter"].to_numpy()
    firms = firms.assign(
        exports=np.where(exporter, np.round(np.exp(log_exports), 1), 0.0),
        hub_distance_km=np.round(support["hub_distance"][fi], 1),
        support_network=support["network"][fi],
        supported=(start >= 0) & (start <= t_full),
        support_start_year=_nullable_years(np.where(start >= 0, s["years"][np.maximum(start, 0)], -1)),
    )
    latent = latent.assign(
        support_start_year_true=firms["support_start_year"].to_numpy(),
        support_group=np.where(start >= 0, np.asarray(EXPORT_GROUPS, dtype=object)[support["group"][fi]], None),
        motivation=support["motivation"][fi, t_full],
        exports_observed=np.where(exporter, log_exports, np.nan),
        exports_support_effect=support["effects"]["exports"][fi, t_full],
        sales_support_effect=support["effects"]["sales"][fi, t_full],
    )
    return firms, latent


# --------------------------------------------------------------------------
# World
# --------------------------------------------------------------------------

@dataclass
class World:
    """A generated world: survey-like tables plus what the surveys cannot see.

    Made by :func:`generate`; the same preset, seed and parameters give the
    same tables.

    Parameters
    ----------
    firms : pandas.DataFrame
        The firm panel, one row per firm and year, with the schema's columns
        (like 企業活動基本調査): size, sales, value added, inputs, capital,
        compensation, ownership, export and FDI status and start years, the
        support programme's columns.
    establishments : pandas.DataFrame
        The plant panel (like 工業統計調査): ``establishment_id``, ``firm_id``,
        ``year``, ``latitude``, ``longitude``, ``employees``, ``shipments``,
        ``exports``.
    foreign_demand : pandas.DataFrame
        ``year``, ``foreign_demand_di`` (a Tankan-like diffusion index).
    deflators : pandas.DataFrame
        ``year``, ``investment_deflator`` (2015 = 100).
    latent : pandas.DataFrame
        What no survey records, per firm and year: true productivity
        ``tfp_true``, the unobserved ``firm_effect``, the true start years
        and groups, and for each outcome its observed log value and the
        effect of each start on it (``<outcome>_<analysis>_effect``), so
        ``y(0)`` is the observed value minus the effect.
    truth : Truth
        Every true parameter and effect.
    preset : str
        The preset the world was drawn from.
    seed : int
        The seed it was drawn with.

    See Also
    --------
    generate : Draw a world.

    Examples
    --------
    >>> from kaigai_lib import generate
    >>> world = generate("tiny", seed=0)
    >>> world.firms.shape, world.establishments.shape, (world.preset, world.seed)
    ((38179, 25), (32000, 8), ('tiny', 0))
    >>> world.firms[["firm_id", "year", "industry", "employees", "exporter"]].head(3)
       firm_id  year  industry  employees  exporter
    0        1  1995  services        107     False
    1        1  1996  services         99     False
    2        1  1997  services        103     False
    >>> world.foreign_demand.head(2)
       year  foreign_demand_di
    0  1995               -4.4
    1  1996                2.4
    """

    firms: pd.DataFrame
    establishments: pd.DataFrame
    foreign_demand: pd.DataFrame
    deflators: pd.DataFrame
    latent: pd.DataFrame
    truth: Truth
    preset: str
    seed: int

    def sample_att(self, analysis: str, outcome: str, group: str | None = None,
                   horizon: int = 5, scale: str = "log") -> float:
        """The realised ATT among observed starters, from the potential outcomes.

        Starters are firms whose start year lies in the panel and that are
        observed both at the base year (start − 1) and ``horizon`` years after
        the start.

        Parameters
        ----------
        analysis : {"export", "fdi"}
            The kind of start.
        outcome : str
            One of employees, sales, capital_stock, tfp, compensation_per_employee.
        group : str or None, optional
            Only the starters of this group (size class at ``t − 1`` or
            sector); None (default) takes every starter.
        horizon : int, default 5
            Years after the start.
        scale : {"log", "percent"}, default "log"
            "log" gives the mean of ``log y(1) − log y(0)`` (equal to the
            truth table's effect by construction); "percent" gives the mean
            difference of the percent changes from the base year,
            ``100·(y(1)[t+h] − y(0)[t+h]) / y[t−1]``, which is what a
            percent-change DiD estimates.

        Returns
        -------
        float
            The starters' mean effect.

        Raises
        ------
        ValueError
            If ``analysis``, ``outcome`` or ``scale`` is not one of the listed
            values, or no starter of the group is observed at ``t − 1`` and
            ``t + horizon``.

        Examples
        --------
        >>> from kaigai_lib import generate
        >>> world = generate("tiny", seed=0)
        >>> round(world.sample_att("export", "sales", "50-99", horizon=5), 6)
        0.15
        >>> round(world.sample_att("export", "sales", "50-99", horizon=5, scale="percent"), 2)
        16.46
        """
        if analysis not in ("export", "fdi"):
            raise ValueError(f"analysis={analysis!r}: choose 'export' or 'fdi'")
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome={outcome!r}: choose one of {list(OUTCOMES)}")
        if scale not in ("log", "percent"):
            raise ValueError(f"scale={scale!r}: choose 'log' or 'percent'")
        lat = self.latent
        start = lat[f"{analysis}_start_year_true"]
        group_col = f"{analysis}_group"
        starters = lat.loc[start.notna() & (start > self.truth.params.start_year)]
        if group is not None:
            starters = starters.loc[starters[group_col] == group]
        base = starters.loc[starters["year"] == starters[f"{analysis}_start_year_true"] - 1,
                            ["firm_id", f"{outcome}_observed"]]
        later = starters.loc[starters["year"] == starters[f"{analysis}_start_year_true"] + horizon,
                             ["firm_id", f"{outcome}_observed", f"{outcome}_{analysis}_effect"]]
        pairs = base.merge(later, on="firm_id", suffixes=("_base", ""))
        if pairs.empty:
            raise ValueError(f"No {analysis} starters of group {group!r} observed at t−1 and t+{horizon}.")
        log_y1 = pairs[f"{outcome}_observed"]
        log_y0 = log_y1 - pairs[f"{outcome}_{analysis}_effect"]
        if scale == "log":
            return float((log_y1 - log_y0).mean())
        base_log = pairs[f"{outcome}_observed_base"]
        return float((100 * (np.exp(log_y1 - base_log) - np.exp(log_y0 - base_log))).mean())


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _zscore(x: np.ndarray, active: np.ndarray) -> np.ndarray:
    mean = x[active].mean()
    sd = x[active].std()
    return (x - mean) / (sd if sd > 0 else 1.0)


STREAMS = ("firms", "productivity", "capital", "labour", "output", "wages", "entry", "missing",
           "selection", "overseas", "macro", "sites", "establishments")


def generate(preset: str = "book", seed: int = 0, **params: Any) -> World:
    """Draw a synthetic world.

    Parameters
    ----------
    preset : {"book", "tiny", "national"}, default "book"
        "tiny" (1,500 firms a year: tests, under a second), "book" (6,000
        firms: chapters, a few seconds) or "national" (the real surveys'
        scale: ~30,000 firms a year over 1995–2020 and ~185,000
        establishments a year over 2012–2019).
    seed : int, default 0
        Any non-negative integer; the same seed and parameters give
        byte-identical tables.
    **params : Any
        Any field of :class:`WorldParams` (see :func:`describe_parameters`),
        overriding the preset. An effect table (``export_effects``,
        ``fdi_effects``, ``support_effects``) may give only some entries; the
        others keep their defaults.

    Returns
    -------
    World
        The survey-like tables, the latent variables and the truth.

    Raises
    ------
    ValueError
        If the preset is unknown, the seed is not a non-negative whole number,
        a parameter name is unknown or a value is out of its range.

    See Also
    --------
    WorldParams : Every parameter, its meaning and default.

    Examples
    --------
    >>> from kaigai_lib import generate
    >>> world = generate("tiny", seed=0)
    >>> world.firms.groupby("year").size().head(3)
    year
    1995    1473
    1996    1467
    1997    1461
    dtype: int64
    >>> no_selection = generate("tiny", seed=0, selection_strength=0.0)
    >>> no_selection.truth.params.selection_strength
    0.0
    >>> generate("huge")
    Traceback (most recent call last):
    ...
    ValueError: Unknown preset 'huge': choose one of ['book', 'national', 'tiny'].
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r}: must be a non-negative whole number")
    p = resolve_params(preset, **params)
    streams = dict(zip(STREAMS, np.random.SeedSequence(int(seed)).spawn(len(STREAMS)), strict=True))
    rng = {name: np.random.default_rng(s) for name, s in streams.items()}

    macro = _macro_series(p, rng["macro"])
    panel = _simulate_firms(p, rng, macro)
    # the support programme draws from its own stream, so the other streams (and tables) stay as they were
    support = _simulate_support(p, np.random.default_rng([int(seed), SUPPORT_STREAM]), panel)
    firms, latent = _firm_tables(p, {**panel, "sales1": panel["sales1"] + support["sales_shift"]}, macro)
    firms, latent = _support_columns(panel, support, firms, latent)
    establishments, spill = _simulate_establishments(p, rng, panel, macro)
    production, effects = _truth_tables(p)
    truth = Truth(params=p, production=production, effects=effects, spillover=spill, support=support_truth(p))
    foreign_demand = macro.loc[macro["year"].between(p.start_year, p.end_year), ["year", "foreign_demand_di"]]
    deflators = macro.loc[macro["year"].between(p.start_year, p.end_year), ["year", "investment_deflator"]]
    return World(firms=firms, establishments=establishments,
                 foreign_demand=foreign_demand.reset_index(drop=True),
                 deflators=deflators.reset_index(drop=True),
                 latent=latent, truth=truth, preset=preset, seed=int(seed))


def _macro_series(p: WorldParams, rng: np.random.Generator) -> pd.DataFrame:
    years = np.arange(p.start_year - p.burn_in_years, p.end_year + 1)
    n = len(years)
    di = np.empty(n)
    level = -5.0
    for i in range(n):
        level = -5.0 + 0.6 * (level + 5.0) + rng.normal(0.0, 5.0)
        di[i] = level
    # Known downturns in foreign demand: Asian crisis, IT bust, global financial crisis, COVID-19.
    for year, drop in ((1998, -10.0), (2001, -8.0), (2009, -20.0), (2020, -15.0)):
        di[years == year] += drop
    # Investment deflator (2015 = 100): drifts down until the mid-2000s, then up.
    deflator = 100 + 0.012 * ((years - 2007) ** 2 - (2015 - 2007) ** 2)
    deflator = deflator * np.exp(rng.normal(0.0, 0.005, n))
    return pd.DataFrame({
        "year": years,
        "foreign_demand_di": np.round(di, 1),
        "investment_deflator": np.round(deflator, 2),
        "opr_common": np.cumsum(rng.normal(0.25, 0.8, n)),
    })


@dataclass
class _FirmPanel:
    """The firm panel while it is simulated: firms × years arrays, filled in step by step.

    Each step of :func:`_simulate_firms` reads what the earlier steps set and draws from its own random
    stream (``rng[...]``), so the steps can be read, and changed, one at a time without moving any draw.
    """

    p: WorldParams
    rng: dict[str, np.random.Generator]
    macro: pd.DataFrame
    years: np.ndarray = field(init=False)
    n_years: int = field(init=False)
    first_obs: int = field(init=False)  # index of start_year
    calendar: np.ndarray = field(init=False)  # years since start_year
    # survey membership
    n: int = field(init=False)
    year_idx: np.ndarray = field(init=False)
    entry_idx: np.ndarray = field(init=False)
    last_idx: np.ndarray = field(init=False)
    active: np.ndarray = field(init=False)
    observed: np.ndarray = field(init=False)
    # fixed attributes
    industry_idx: np.ndarray = field(init=False)
    manufacturing: np.ndarray = field(init=False)
    beta_l: np.ndarray = field(init=False)
    beta_k: np.ndarray = field(init=False)
    firm_effect: np.ndarray = field(init=False)
    foreign_owned: np.ndarray = field(init=False)
    foreign_ratio: np.ndarray = field(init=False)
    capital_target: np.ndarray = field(init=False)
    sales_margin: np.ndarray = field(init=False)
    paid_in_noise: np.ndarray = field(init=False)
    subsidiary_intercept: np.ndarray = field(init=False)
    # untreated paths
    mu_industry: np.ndarray = field(init=False)
    mu_firm: np.ndarray = field(init=False)
    omega: np.ndarray = field(init=False)
    k: np.ndarray = field(init=False)
    inv: np.ndarray = field(init=False)
    labour: np.ndarray = field(init=False)
    # production and pay: the LP proxy's coefficients and the shocks
    b_omega: np.ndarray = field(init=False)
    b_k: np.ndarray = field(init=False)
    m_intercept: np.ndarray = field(init=False)
    eps: np.ndarray = field(init=False)
    sales_noise: np.ndarray = field(init=False)
    wage_noise: np.ndarray = field(init=False)
    wage_base: np.ndarray = field(init=False)
    # treatment
    fdi_start: np.ndarray = field(init=False)
    exp_start: np.ndarray = field(init=False)
    h_fdi: np.ndarray = field(init=False)
    h_exp: np.ndarray = field(init=False)
    fdi_group: np.ndarray = field(init=False)
    export_group: np.ndarray = field(init=False)
    effect_shift: dict[str, dict[str, np.ndarray]] = field(init=False)
    shifts: dict[str, np.ndarray] = field(init=False)
    # outcomes without (0) and with (1) the treatments
    state0: dict[str, np.ndarray] = field(init=False)
    state1: dict[str, np.ndarray] = field(init=False)
    sales0: np.ndarray = field(init=False)
    sales1: np.ndarray = field(init=False)
    wage0: np.ndarray = field(init=False)
    wage1: np.ndarray = field(init=False)
    inv1: np.ndarray = field(init=False)
    opr: np.ndarray = field(init=False)
    paid_in_capital: np.ndarray = field(init=False)
    subsidiaries: np.ndarray = field(init=False)

    K_REF: ClassVar[float] = 7.2  # reference log capital stock (labour, intermediates and pay are centred on it)

    def __post_init__(self) -> None:
        self.years = self.macro["year"].to_numpy()
        self.n_years = len(self.years)
        self.first_obs = self.p.burn_in_years
        self.calendar = (self.years - self.p.start_year).astype(float)

    @property
    def l_ref(self) -> float:
        """Reference log labour: the median firm's employees."""
        return math.log(self.p.median_employees)


def _simulate_firms(p: WorldParams, rng: dict[str, np.random.Generator], macro: pd.DataFrame) -> dict[str, Any]:
    s = _FirmPanel(p, rng, macro)
    for step in (_survey_membership, _firm_attributes, _productivity, _capital, _labour, _production_shocks,
                 _select_starters, _treatment_effects, _treated_outcomes, _overseas_production, _size_and_response):
        step(s)
    return {
        "years": s.years, "n": s.n, "active": s.active, "observed": s.observed, "first_obs": s.first_obs,
        "industry_idx": s.industry_idx, "manufacturing": s.manufacturing, "firm_effect": s.firm_effect,
        "foreign_ratio": s.foreign_ratio, "paid_in_capital": s.paid_in_capital, "subsidiaries": s.subsidiaries,
        "state0": s.state0, "state1": s.state1, "sales0": s.sales0, "sales1": s.sales1, "wage0": s.wage0,
        "wage1": s.wage1, "inv1": s.inv1, "opr": s.opr, "effect_shift": s.effect_shift, "exp_start": s.exp_start,
        "fdi_start": s.fdi_start, "export_group": s.export_group, "fdi_group": s.fdi_group,
        "entry_idx": s.entry_idx, "last_idx": s.last_idx, "sales_margin": s.sales_margin,
        "mu_industry": s.mu_industry,
    }


def _survey_membership(s: _FirmPanel) -> None:
    """Who is in the survey when: a constant panel size, exits replaced by entrants."""
    p, r = s.p, s.rng["entry"]
    n_obs_years = p.end_year - p.start_year + 1

    def lifetimes(count: int) -> np.ndarray:
        if p.exit_rate == 0:
            return np.full(count, n_obs_years + 1, dtype=np.int64)
        return r.geometric(p.exit_rate, count).astype(np.int64)

    entry = [np.zeros(p.n_firms, dtype=np.int64)]
    last = [lifetimes(p.n_firms) - 1]
    for k in range(1, n_obs_years):
        n_new = int(sum((lst == k - 1).sum() for lst in last))  # replace last year's leavers
        if n_new:
            entry.append(np.full(n_new, k, dtype=np.int64))
            last.append(k + lifetimes(n_new) - 1)
    s.entry_idx = np.concatenate(entry) + s.first_obs
    s.last_idx = np.concatenate(last) + s.first_obs
    s.n = len(s.entry_idx)
    s.year_idx = np.arange(s.n_years)
    s.active = (s.year_idx[None, :] >= s.entry_idx[:, None]) & (s.year_idx[None, :] <= s.last_idx[:, None])


def _firm_attributes(s: _FirmPanel) -> None:
    """Industry, firm effect, foreign ownership and the firm's fixed targets and margins."""
    p, r, n, ind = s.p, s.rng["firms"], s.n, INDUSTRIES
    s.industry_idx = r.choice(len(ind), size=n, p=(ind["share"] / ind["share"].sum()).to_numpy())
    s.manufacturing = ind["manufacturing"].to_numpy()[s.industry_idx]
    s.beta_l = ind["beta_labour"].to_numpy()[s.industry_idx]
    s.beta_k = ind["beta_capital"].to_numpy()[s.industry_idx]
    s.firm_effect = r.standard_normal(n)
    foreign_draw = r.random(n)
    s.foreign_owned = foreign_draw < p.foreign_owned_share
    minority = (foreign_draw >= p.foreign_owned_share) & (foreign_draw < 2 * p.foreign_owned_share)
    s.foreign_ratio = np.where(s.foreign_owned, r.uniform(33.4, 100.0, n),
                               np.where(minority, r.uniform(1.0, 33.3, n), 0.0))
    s.capital_target = 7.2 + p.capital_target_sd * r.standard_normal(n)
    s.sales_margin = r.normal(0.0, 0.10, n)
    s.paid_in_noise = r.normal(0.0, 0.8, n)
    s.subsidiary_intercept = r.normal(-0.5, 0.6, n)


def _productivity(s: _FirmPanel) -> None:
    """Log productivity ω: an AR(1) around the industry mean (plus the foreign premium)."""
    p, r, n = s.p, s.rng["productivity"], s.n
    rho = p.productivity_persistence
    stationary_sd = p.productivity_shock_sd / math.sqrt(1 - rho**2)
    va_per_emp = INDUSTRIES["value_added_per_employee"].to_numpy()[s.industry_idx]
    s.mu_industry = np.log(va_per_emp) + s.l_ref - s.beta_l * s.l_ref - s.beta_k * s.K_REF
    s.mu_firm = s.mu_industry + p.foreign_tfp_premium * s.foreign_owned
    omega = np.empty((n, s.n_years))
    omega[:, 0] = s.mu_firm + stationary_sd * r.standard_normal(n)
    xi = p.productivity_shock_sd * r.standard_normal((n, s.n_years))
    for t in range(1, s.n_years):
        omega[:, t] = s.mu_firm + rho * (omega[:, t - 1] - s.mu_firm) + xi[:, t]
    s.omega = omega


def _capital(s: _FirmPanel) -> None:
    """Log capital from lagged investment, which responds to ω and to the gap from the firm's target."""
    p, r, n = s.p, s.rng["capital"], s.n
    trend = np.where(s.manufacturing, p.manufacturing_capital_trend, p.non_manufacturing_capital_trend)
    k = np.empty((n, s.n_years))
    inv = np.empty((n, s.n_years))
    k[:, 0] = s.capital_target + trend * s.calendar[0] + 0.2 * r.standard_normal(n)
    inv_shock = p.investment_shock_sd * r.standard_normal((n, s.n_years))
    # steady state: I/K = δ·exp(mean shock) keeps K constant when ω and k sit at their means
    log_delta = math.log(p.depreciation_rate) - 0.5 * p.investment_shock_sd**2
    for t in range(s.n_years):
        target = s.capital_target + trend * s.calendar[t]
        log_inv = (log_delta + k[:, t] + p.investment_productivity_response * (s.omega[:, t] - s.mu_firm)
                   - p.capital_adjustment * (k[:, t] - target) + inv_shock[:, t])
        inv[:, t] = np.exp(log_inv)
        if t + 1 < s.n_years:
            k[:, t + 1] = np.log((1 - p.depreciation_rate) * np.exp(k[:, t]) + inv[:, t])
    s.k, s.inv = k, inv


def _labour(s: _FirmPanel) -> None:
    """Log labour: responds to ω and k, plus a shock (a permanent labour intensity and an AR(1))."""
    p, r, n = s.p, s.rng["labour"], s.n
    nu = np.empty((n, s.n_years))
    rho_nu = p.labour_shock_persistence
    permanent_sd = p.labour_shock_sd * math.sqrt(p.labour_shock_permanent_share)
    transitory_sd = p.labour_shock_sd * math.sqrt(1 - p.labour_shock_permanent_share)
    labour_intensity = permanent_sd * r.standard_normal(n)
    nu[:, 0] = transitory_sd * r.standard_normal(n)
    for t in range(1, s.n_years):
        nu[:, t] = rho_nu * nu[:, t - 1] + transitory_sd * math.sqrt(1 - rho_nu**2) * r.standard_normal(n)
    nu += labour_intensity[:, None]
    s.labour = (s.l_ref + p.labour_productivity_response * (s.omega - s.mu_industry[:, None])
                + p.labour_capital_elasticity * (s.k - s.K_REF) + nu)


def _production_shocks(s: _FirmPanel) -> None:
    """The LP proxy's coefficients (intermediates: exact, increasing in ω given k) and output and pay shocks."""
    p, n, ind = s.p, s.n, INDUSTRIES
    s.b_omega = s.beta_l * p.labour_productivity_response + 1.0
    s.b_k = s.beta_l * p.labour_capital_elasticity + s.beta_k
    va_ref = s.mu_industry + s.beta_l * s.l_ref + s.beta_k * s.K_REF
    m_ratio = np.log(ind["intermediates_per_value_added"].to_numpy()[s.industry_idx])
    s.m_intercept = m_ratio + va_ref
    r = s.rng["output"]
    s.eps = p.output_noise_sd * r.standard_normal((n, s.n_years))
    s.sales_noise = p.sales_noise_sd * r.standard_normal((n, s.n_years))
    s.wage_noise = p.wage_noise_sd * s.rng["wages"].standard_normal((n, s.n_years))
    s.wage_base = np.where(s.manufacturing, math.log(5.0), math.log(4.3))


def _select_starters(s: _FirmPanel) -> None:
    """Selection into export and FDI (absorbing), on the untreated lagged state."""
    p, r, n = s.p, s.rng["selection"], s.n
    strength = p.selection_strength
    depreciation = np.isin(s.years, p.depreciation_years) * p.depreciation_hazard_shift
    s.fdi_start = np.full(n, -1)
    s.exp_start = np.full(n, -1)
    u_fdi = r.random((n, s.n_years))
    u_exp = r.random((n, s.n_years))
    for t in range(1, s.n_years):
        alive = np.ones(n, dtype=bool)
        z_tfp = _zscore(s.omega[:, t - 1] - s.mu_industry, alive)
        z_size = _zscore(s.labour[:, t - 1], alive)
        for start, base, b_tfp, b_size, b_fe, shift, u in (
            (s.fdi_start, p.fdi_base_rate, p.fdi_selection_tfp, p.fdi_selection_size,
             p.fdi_selection_firm_effect, p.fdi_manufacturing_shift, u_fdi),
            (s.exp_start, p.export_base_rate, p.export_selection_tfp, p.export_selection_size,
             p.export_selection_firm_effect, p.export_manufacturing_shift, u_exp),
        ):
            index = (_logit(base) + strength * (b_tfp * z_tfp + b_size * z_size + b_fe * s.firm_effect)
                     + shift * (s.manufacturing - 0.5) + depreciation[t])
            hazard = 1.0 / (1.0 + np.exp(-index))
            new = (start < 0) & (u[:, t] < hazard)
            start[new] = t


def _treatment_effects(s: _FirmPanel) -> None:
    """τ(group, outcome, h), added to the untreated logs: FDI by sector, exports by size class at t − 1."""
    p, n, n_years = s.p, s.n, s.n_years

    def horizon(start: np.ndarray) -> np.ndarray:
        h = s.year_idx[None, :] - start[:, None]
        return np.where(start[:, None] >= 0, h, -1)

    s.h_fdi = horizon(s.fdi_start)
    s.h_exp = horizon(s.exp_start)
    s.effect_shift = {a: {o: np.zeros((n, n_years)) for o in OUTCOMES} for a in ("export", "fdi")}

    def apply_paths(analysis: str, paths_by_group: dict[str, np.ndarray], group: np.ndarray, h: np.ndarray) -> None:
        hh = np.clip(h, 0, MAX_HORIZON)
        for o in OUTCOMES:
            paths = paths_by_group[o][group]  # (n, MAX_HORIZON + 1)
            s.effect_shift[analysis][o] = np.where(h >= 0, np.take_along_axis(paths, hh, axis=1), 0.0)

    def paths_for(table: Mapping[str, Mapping[str, float]], groups: tuple[str, ...]) -> dict[str, np.ndarray]:
        return {o: np.stack([effect_path(table[g][o], p.effect_build_up_years) for g in groups]) for o in OUTCOMES}

    s.fdi_group = np.where(s.manufacturing, 0, 1)
    apply_paths("fdi", paths_for(p.fdi_effects, FDI_GROUPS), s.fdi_group, s.h_fdi)
    # export groups: size class of observed employees at the base year t−1
    rows = np.arange(n)
    base_idx = np.clip(s.exp_start - 1, 0, n_years - 1)
    base_employees = np.round(np.exp(s.labour[rows, base_idx] + s.effect_shift["fdi"]["employees"][rows, base_idx]))
    s.export_group = np.digitize(base_employees, [50, 100, 300])
    apply_paths("export", paths_for(p.export_effects, EXPORT_GROUPS), s.export_group, s.h_exp)
    s.shifts = {o: s.effect_shift["export"][o] + s.effect_shift["fdi"][o] for o in OUTCOMES}


def _treated_outcomes(s: _FirmPanel) -> None:
    """Every outcome without (``*0``) and with (``*1``) the treatments, and the investment the latter implies."""
    p = s.p
    untreated = {"employees": s.labour, "capital_stock": s.k, "tfp": s.omega}

    def observed_state(tau: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        l_ = untreated["employees"] + tau["employees"]
        k_ = untreated["capital_stock"] + tau["capital_stock"]
        w_ = untreated["tfp"] + tau["tfp"]
        va_ = s.beta_l[:, None] * l_ + s.beta_k[:, None] * k_ + w_ + s.eps
        m_ = (s.m_intercept[:, None] + s.b_omega[:, None] * (w_ - s.mu_industry[:, None])
              + s.b_k[:, None] * (k_ - s.K_REF))
        return {"labour": l_, "capital": k_, "omega": w_, "va": va_, "m": m_}

    zero = {o: np.zeros((s.n, s.n_years)) for o in OUTCOMES}
    s.state0 = observed_state(zero)
    s.state1 = observed_state(s.shifts)
    s.sales0 = np.log(np.exp(s.state0["va"]) + np.exp(s.state0["m"])) + s.sales_margin[:, None] + s.sales_noise
    s.wage0 = (s.wage_base[:, None] + p.wage_trend * s.calendar[None, :]
               + p.wage_productivity_response * (s.omega - s.mu_industry[:, None])
               + p.wage_size_elasticity * (s.labour - s.l_ref)
               + p.firm_effect_wage * s.firm_effect[:, None]
               + p.foreign_wage_premium * s.foreign_owned[:, None] + s.wage_noise)
    s.sales1 = s.sales0 + s.shifts["sales"]
    s.wage1 = s.wage0 + s.shifts["compensation_per_employee"]

    # investment consistent with the treated capital path: I[t] = K[t+1] − (1−δ)K[t]
    cap1 = np.exp(s.state1["capital"])
    s.inv1 = s.inv.copy()
    s.inv1[:, :-1] = cap1[:, 1:] - (1 - p.depreciation_rate) * cap1[:, :-1]
    bad = s.inv1 <= 0
    if bad.any():
        raise ValueError(
            f"The capital-stock effect paths imply negative investment in {int(bad.sum())} firm-years: "
            "effects on capital_stock may not fall faster than capital depreciates. Use a smaller negative "
            "capital_stock effect or a longer effect_build_up_years.")


def _overseas_production(s: _FirmPanel) -> None:
    """The overseas production ratio (percent) of firms with FDI: ramps up to a firm's target after the start."""
    p, r, n = s.p, s.rng["overseas"], s.n
    target_mean = np.where(s.manufacturing, p.overseas_production_target_manufacturing,
                           p.overseas_production_target_non_manufacturing)
    concentration = 6.0
    opr_target = 100 * r.beta(concentration * target_mean / 100, concentration * (1 - target_mean / 100))
    opr_noise = p.overseas_production_noise_sd * r.standard_normal((n, s.n_years))
    common = s.macro["opr_common"].to_numpy()
    ramp = 1 - np.exp(-(s.h_fdi + 1) / 3.0)
    s.opr = np.where(s.h_fdi >= 0,
                     np.clip(opr_target[:, None] * ramp + 0.3 * opr_target[:, None] / 25 * common[None, :]
                             + opr_noise, 0.1, 95.0), 0.0)


def _size_and_response(s: _FirmPanel) -> None:
    """Paid-in capital, subsidiaries, and which firm-years the survey misses (non-response, at random)."""
    # paid-in capital (million yen): fixed, grows with the firm's target size; the survey
    # covers firms with at least 30 million yen
    s.paid_in_capital = 30.0 + np.exp(4.0 + 1.0 * (s.capital_target - 7.2) + s.paid_in_noise)
    s.subsidiaries = s.rng["firms"].poisson(np.exp(s.subsidiary_intercept[:, None] + 0.8 * (s.labour - s.l_ref)))
    missing = s.rng["missing"].random((s.n, s.n_years)) < s.p.missing_rate
    s.observed = s.active & ~missing


def _firm_tables(p: WorldParams, s: dict[str, Any], macro: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    years = s["years"]
    first = s["first_obs"]
    obs = s["observed"][:, first:]
    fi, ti = np.nonzero(obs)  # row-major: sorted by firm then year
    t_full = ti + first
    n = s["n"]
    firm_id = np.arange(1, n + 1)

    def at(a: np.ndarray) -> np.ndarray:
        return a[fi, t_full]

    st1 = s["state1"]
    employees = np.maximum(1, np.round(np.exp(at(st1["labour"])))).astype(np.int64)
    capital_stock = np.exp(at(st1["capital"]))
    deflator = macro["investment_deflator"].to_numpy()[t_full]
    value_added = np.exp(at(st1["va"]))
    intermediates = np.exp(at(st1["m"]))
    sales = np.exp(at(s["sales1"]))
    wage = np.exp(at(s["wage1"]))
    exp_start_idx = s["exp_start"][fi]
    fdi_start_idx = s["fdi_start"][fi]
    exporter = (exp_start_idx >= 0) & (exp_start_idx <= t_full)
    fdi = (fdi_start_idx >= 0) & (fdi_start_idx <= t_full)
    entry_firm = s["entry_idx"][fi]
    last_firm = s["last_idx"][fi]

    def start_year_column(start_idx: np.ndarray) -> pd.Series:
        known = (start_idx > entry_firm) & (start_idx <= last_firm)  # seen starting while in the survey
        return _nullable_years(np.where(known, years[np.maximum(start_idx, 0)], -1))

    industries = INDUSTRIES["industry"].to_numpy()[s["industry_idx"][fi]]
    firms = pd.DataFrame({
        "firm_id": firm_id[fi],
        "year": years[t_full],
        "industry": industries,
        "manufacturing": s["manufacturing"][fi],
        "employees": employees,
        "sales": np.round(sales, 1),
        "value_added": np.round(value_added, 1),
        "intermediate_inputs": np.round(intermediates, 1),
        "tangible_fixed_assets": np.round(capital_stock * deflator / 100, 1),
        "capital_stock": np.round(capital_stock, 1),
        "investment": np.round(at(s["inv1"]), 1),
        "compensation": np.round(wage * employees, 1),
        "paid_in_capital": np.round(s["paid_in_capital"][fi], 1),
        "foreign_capital_ratio": np.round(s["foreign_ratio"][fi], 1),
        "domestic_subsidiaries": at(s["subsidiaries"]).astype(np.int64),
        "exporter": exporter,
        "export_start_year": start_year_column(exp_start_idx),
        "fdi": fdi,
        "fdi_start_year": start_year_column(fdi_start_idx),
        "overseas_production_ratio": np.round(at(s["opr"]), 2),
    })
    firms["industry"] = firms["industry"].astype(str)

    def group_label(names: tuple[str, ...], idx: np.ndarray, start: np.ndarray) -> np.ndarray:
        return np.where(start >= 0, np.asarray(names, dtype=object)[idx], None)

    true_start = {a: _nullable_years(np.where(st >= 0, years[np.maximum(st, 0)], -1))
                  for a, st in (("export", exp_start_idx), ("fdi", fdi_start_idx))}
    latent = pd.DataFrame({
        "firm_id": firm_id[fi],
        "year": years[t_full],
        "tfp_true": at(st1["omega"]),
        "firm_effect": s["firm_effect"][fi],
        "export_start_year_true": true_start["export"],
        "export_group": group_label(EXPORT_GROUPS, s["export_group"][fi], exp_start_idx),
        "fdi_start_year_true": true_start["fdi"],
        "fdi_group": group_label(FDI_GROUPS, s["fdi_group"][fi], fdi_start_idx),
    })
    observed_logs = {
        "employees": np.log(employees),
        "sales": at(s["sales1"]),
        "capital_stock": at(st1["capital"]),
        "tfp": at(st1["omega"]),
        "compensation_per_employee": at(s["wage1"]),
    }
    for outcome, log_observed in observed_logs.items():
        latent[f"{outcome}_observed"] = log_observed
        for analysis in ("export", "fdi"):
            latent[f"{outcome}_{analysis}_effect"] = at(s["effect_shift"][analysis][outcome])
    return firms, latent


def _nullable_years(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Years as a nullable integer array, with -1 meaning missing."""
    return pd.array(values, dtype="Int64").__class__(values.astype(np.int64), values < 0)


def _haversine_tree(lat: np.ndarray, lon: np.ndarray) -> BallTree:
    return BallTree(np.radians(np.column_stack([lat, lon])), metric="haversine")


def _offset(lat: np.ndarray, lon: np.ndarray, north_km: np.ndarray,
            east_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlat = north_km / 111.2
    dlon = east_km / (111.2 * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


@dataclass
class _PlantMap:
    """The establishment panel while it is simulated: the plants, where they are, what they ship.

    The steps of :func:`_simulate_establishments` fill it in order; ``rng["establishments"]`` (sizes,
    shipments, exports) and ``rng["sites"]`` (locations) are each drawn in the same order as ever.
    """

    p: WorldParams
    firms: dict[str, Any]  # _simulate_firms' output
    r: np.random.Generator  # rng["establishments"]
    sites: np.random.Generator  # rng["sites"]
    est_years: np.ndarray = field(init=False)
    t_idx: np.ndarray = field(init=False)  # the establishment years' positions in the firm panel's years
    # plants of panel firms
    owners: np.ndarray = field(init=False)
    employees_firm: np.ndarray = field(init=False)
    n_plants: np.ndarray = field(init=False)
    plant_owner: np.ndarray = field(init=False)
    n_panel_plants: int = field(init=False)
    n_small: int = field(init=False)
    centre_idx: np.ndarray = field(init=False)
    lat: np.ndarray = field(init=False)
    lon: np.ndarray = field(init=False)
    # every establishment (panel plants first, then small ones)
    n_est: int = field(init=False)
    est_lat: np.ndarray = field(init=False)
    est_lon: np.ndarray = field(init=False)
    owner_id: np.ndarray = field(init=False)
    receiver: np.ndarray = field(init=False)
    plant_emp: np.ndarray = field(init=False)
    base_ship: np.ndarray = field(init=False)
    exporter: np.ndarray = field(init=False)
    activity: np.ndarray = field(init=False)
    planned_exports: np.ndarray = field(init=False)
    exports: np.ndarray = field(init=False)
    export_year_shock: np.ndarray = field(init=False)
    coverage: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.est_years = np.arange(self.p.establishment_start_year, self.p.establishment_end_year + 1)
        self.t_idx = np.searchsorted(self.firms["years"], self.est_years)

    def draw_from_areas(self, count: int, spread_factor: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Points around the industrial areas, chosen by weight."""
        areas = INDUSTRIAL_AREAS
        a = self.sites.choice(len(areas), size=count, p=(areas["weight"] / areas["weight"].sum()).to_numpy())
        spread = areas["spread_km"].to_numpy()[a] * spread_factor
        north = self.sites.standard_normal(count) * spread
        east = self.sites.standard_normal(count) * spread
        return _offset(areas["latitude"].to_numpy()[a], areas["longitude"].to_numpy()[a], north, east)


def _simulate_establishments(p: WorldParams, rng: dict[str, np.random.Generator], s: dict[str, Any],
                             macro: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    e = _PlantMap(p, s, rng["establishments"], rng["sites"])
    _panel_plants(e)
    _place_centres(e)
    _place_small_establishments(e)
    _plant_sizes_and_exports(e)
    _add_spillovers(e, macro)
    # 製造品出荷額等 include exports: domestic shipments plus every export, the spillover boost included.
    domestic = e.activity - e.planned_exports
    shipments = domestic + e.exports if p.shipments_include_exports else e.activity
    in_catchment = e.coverage > 0
    spill = {
        "opr_coefficient": p.spillover_opr_coefficient,
        "di_coefficient": p.spillover_di_coefficient,
        "radius_km": p.spillover_radius_km,
        "catchment_overlap_parameter": p.catchment_overlap,
        "n_centres": float(len(e.centre_idx)),
        "share_in_several_catchments": float((e.coverage > 1).sum() / max(in_catchment.sum(), 1)),
        "shipments_include_exports": float(p.shipments_include_exports),
        **{f"export_year_shock_{year}": float(v) for year, v in zip(e.est_years, e.export_year_shock, strict=True)},
    }
    n_years = len(e.est_years)
    establishments = pd.DataFrame({
        "establishment_id": np.repeat(np.arange(1, e.n_est + 1), n_years),
        "firm_id": np.repeat(e.owner_id, n_years),
        "year": np.tile(e.est_years, e.n_est),
        "latitude": np.repeat(np.round(e.est_lat, 5), n_years),
        "longitude": np.repeat(np.round(e.est_lon, 5), n_years),
        "employees": np.repeat(e.plant_emp.astype(np.int64), n_years),
        "shipments": np.round(shipments.ravel(), 1),
        "exports": np.round(e.exports.ravel(), 1),
    })
    return establishments, spill


def _panel_plants(e: _PlantMap) -> None:
    """Plants of manufacturing panel firms active in the first establishment year."""
    s, base_t = e.firms, e.t_idx[0]
    active0 = s["active"][:, base_t] & s["manufacturing"]
    e.owners = np.nonzero(active0)[0]
    e.employees_firm = np.exp(s["state1"]["labour"][e.owners, base_t])
    e.n_plants = np.minimum(1 + e.r.poisson(e.employees_firm / 400.0), 15)
    e.plant_owner = np.repeat(e.owners, e.n_plants)
    e.n_panel_plants = len(e.plant_owner)
    e.n_small = max(e.p.n_establishments - e.n_panel_plants, 0)


def _place_centres(e: _PlantMap) -> None:
    """Centres: plants of large manufacturers with production abroad in the establishment years (the white
    paper's global firms), kept apart unless chosen to overlap; the other panel plants where they were drawn."""
    p, sites, radius = e.p, e.sites, e.p.spillover_radius_km
    large_owner = e.firms["paid_in_capital"][e.plant_owner] >= p.global_firm_capital
    abroad = (e.firms["opr"][e.plant_owner][:, e.t_idx] > 0).any(axis=1)
    e.centre_idx = np.nonzero(large_owner & abroad)[0]
    e.lat = np.empty(e.n_panel_plants)
    e.lon = np.empty(e.n_panel_plants)
    plat, plon = e.draw_from_areas(e.n_panel_plants)
    e.lat[:], e.lon[:] = plat, plon
    placed_lat: list[float] = []
    placed_lon: list[float] = []
    overlap_draw = sites.random(len(e.centre_idx))
    for j, c in enumerate(e.centre_idx):
        if placed_lat and overlap_draw[j] < p.catchment_overlap:
            anchor = int(sites.integers(len(placed_lat)))
            dist = sites.uniform(0.2, 1.0) * radius
            angle = sites.uniform(0, 2 * math.pi)
            la, lo = _offset(np.array([placed_lat[anchor]]), np.array([placed_lon[anchor]]),
                             np.array([dist * math.cos(angle)]), np.array([dist * math.sin(angle)]))
            cand_lat, cand_lon = float(la[0]), float(lo[0])
        else:
            cand_lat, cand_lon = float(plat[c]), float(plon[c])
            if placed_lat:
                cand_lat, cand_lon = _away_from(e, cand_lat, cand_lon, placed_lat, placed_lon)
        e.lat[c], e.lon[c] = cand_lat, cand_lon
        placed_lat.append(cand_lat)
        placed_lon.append(cand_lon)


def _away_from(e: _PlantMap, lat: float, lon: float, placed_lat: list[float],
               placed_lon: list[float]) -> tuple[float, float]:
    """The first of (lat, lon) and 60 more candidates farther than 2.2 radii from every placed centre (else
    the farthest)."""
    tries_lat, tries_lon = e.draw_from_areas(60, spread_factor=1.8)
    tries_lat = np.concatenate([[lat], tries_lat])
    tries_lon = np.concatenate([[lon], tries_lon])
    pl = np.radians(np.array(placed_lat))
    po = np.radians(np.array(placed_lon))
    tl = np.radians(tries_lat)[:, None]
    to = np.radians(tries_lon)[:, None]
    a = np.sin((pl - tl) / 2) ** 2 + np.cos(tl) * np.cos(pl) * np.sin((po - to) / 2) ** 2
    nearest = (2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))).min(axis=1)
    ok = np.nonzero(nearest > 2.2 * e.p.spillover_radius_km)[0]
    pick = int(ok[0]) if len(ok) else int(np.argmax(nearest))
    return float(tries_lat[pick]), float(tries_lon[pick])


def _place_small_establishments(e: _PlantMap) -> None:
    """Small establishments: suppliers around centres, the rest across industrial areas."""
    p, sites, radius = e.p, e.sites, e.p.spillover_radius_km
    n_suppliers = round(p.supplier_share * e.n_small) if len(e.centre_idx) else 0
    slat, slon = e.draw_from_areas(e.n_small - n_suppliers)
    if n_suppliers:
        anchor = e.centre_idx[sites.integers(len(e.centre_idx), size=n_suppliers)]
        dist = np.abs(sites.normal(0.0, 0.6 * radius, n_suppliers))
        angle = sites.uniform(0, 2 * math.pi, n_suppliers)
        sup_lat, sup_lon = _offset(e.lat[anchor], e.lon[anchor], dist * np.cos(angle), dist * np.sin(angle))
        slat = np.concatenate([sup_lat, slat])
        slon = np.concatenate([sup_lon, slon])
    e.n_est = e.n_panel_plants + e.n_small
    e.est_lat = np.concatenate([e.lat, slat])
    e.est_lon = np.concatenate([e.lon, slon])
    e.owner_id = np.concatenate([e.plant_owner + 1, 10_000_001 + np.arange(e.n_small)])
    e.receiver = np.ones(e.n_est, dtype=bool)
    e.receiver[:e.n_panel_plants] = e.firms["paid_in_capital"][e.plant_owner] < p.global_firm_capital


def _plant_sizes_and_exports(e: _PlantMap) -> None:
    """Employees, shipments (activity) and exports of every establishment, before any spillover."""
    p, r, n_est, n_panel = e.p, e.r, e.n_est, e.n_panel_plants
    is_panel_plant = np.arange(n_est) < n_panel
    plant_emp = np.empty(n_est)
    split = r.gamma(2.0, 1.0, n_panel)
    owner_pos = np.repeat(np.arange(len(e.owners)), e.n_plants)
    owner_total = np.bincount(owner_pos, weights=split)
    plant_emp[:n_panel] = 0.7 * e.employees_firm[owner_pos] * split / owner_total[owner_pos]
    plant_emp[n_panel:] = np.exp(r.normal(math.log(18.0), 0.9, e.n_small))
    e.plant_emp = np.maximum(4, np.round(plant_emp))
    e.base_ship = e.plant_emp * 35.0 * np.exp(r.normal(0.0, 0.5, n_est))
    e.exporter = np.where(is_panel_plant, r.random(n_est) < 0.6,
                          r.random(n_est) < p.establishment_exporter_share * np.minimum(1.0, e.plant_emp / 30.0) * 1.6)
    export_share = r.beta(2.0, 6.0, n_est)

    n_years = len(e.est_years)
    year_shock = r.normal(0.0, 0.03, n_years).cumsum()
    ar = np.empty((n_est, n_years))
    ar[:, 0] = r.normal(0.0, 0.08, n_est)
    for t in range(1, n_years):
        ar[:, t] = 0.6 * ar[:, t - 1] + r.normal(0.0, 0.08, n_est)
    e.activity = e.base_ship[:, None] * np.exp(year_shock[None, :] + ar)
    export_noise = np.exp(r.normal(0.0, 0.10, (n_est, n_years)))
    e.planned_exports = np.where(e.exporter[:, None], export_share[:, None] * e.activity, 0.0)
    # Drawn last from this stream (a zero s.d. draws as many), so the shock's size changes nothing else.
    e.export_year_shock = np.concatenate([[0.0], r.normal(0.0, p.establishment_export_year_shock_sd, n_years - 1)])
    e.exports = e.planned_exports * export_noise * np.exp(e.export_year_shock[None, :])


def _add_spillovers(e: _PlantMap, macro: pd.DataFrame) -> None:
    """Spillover boosts: each centre's β·OPR + γ·(DI − min DI), split by base shipments among the receiving
    exporters within the radius; ``coverage`` counts the catchments each establishment lies in."""
    p, radius = e.p, e.p.spillover_radius_km
    tree = _haversine_tree(e.est_lat, e.est_lon)
    centre_rows = e.centre_idx
    neighbours = (tree.query_radius(np.radians(np.column_stack([e.est_lat[centre_rows], e.est_lon[centre_rows]])),
                                    r=radius / EARTH_RADIUS_KM) if len(centre_rows) else [])
    di = macro.set_index("year").loc[e.est_years, "foreign_demand_di"].to_numpy()
    di_shift = di - di.min()
    opr = e.firms["opr"][e.plant_owner[centre_rows]][:, e.t_idx]  # (centres, years)
    e.coverage = np.zeros(e.n_est, dtype=np.int64)
    boost = np.zeros((e.n_est, len(e.est_years)))
    for c, members in enumerate(neighbours):
        members = members[e.receiver[members]]
        e.coverage[members] += 1
        members = members[e.exporter[members]]
        if len(members) == 0:
            continue
        weights = e.base_ship[members] / e.base_ship[members].sum()
        stream = p.spillover_opr_coefficient * opr[c] + p.spillover_di_coefficient * di_shift
        boost[members] += weights[:, None] * stream[None, :]
    e.exports = e.exports + boost


# How each published column is generated (for the data dictionary).
COLUMN_GENERATION: dict[str, dict[str, str]] = {
    "firms": {
        "firm_id": "1, 2, … in order of entry; entrants replace firms that leave (exit_rate).",
        "year": "Years a firm is in the survey, less random non-response (missing_rate).",
        "industry": "Drawn once per firm from the industry shares in INDUSTRIES.",
        "manufacturing": "From the industry.",
        "employees": "exp(l) rounded, l = log median size + a_ω·(ω − μ) + a_k·(k − k̄) + labour shock (AR(1)), "
                     "plus the export/FDI effects on employees after a start.",
        "sales": "(value added + intermediate inputs) × a firm margin × yearly noise, plus the effects on sales.",
        "value_added": "exp(β_l·l + β_k·k + ω + ε) with the industry's true β (truth.production).",
        "intermediate_inputs": "exp of an exact increasing function of ω given k (the Levinsohn–Petrin proxy).",
        "tangible_fixed_assets": "capital_stock × investment deflator / 100 (book value at current prices).",
        "capital_stock": "K[t+1] = (1−δ)·K[t] + I[t], started at the firm's target, plus the effects on capital.",
        "investment": "log I = log δ + k + response·(ω − μ) − κ·(k − target) + shock; after a start, the "
                      "investment that delivers the treated capital path.",
        "compensation": "employees × compensation per employee; log compensation per employee rises with ω, "
                        "size, the unobserved firm effect and foreign ownership, plus the effects on it.",
        "paid_in_capital": "Fixed per firm: 30 (the survey's floor) + a log-normal amount rising with the "
                           "firm's target capital.",
        "foreign_capital_ratio": "Fixed per firm: > 33.3 for foreign_owned_share of firms, 1–33.3 for as many "
                                 "again, else 0.",
        "domestic_subsidiaries": "Poisson, mean rising with employees.",
        "exporter": "From the year the export hazard fires (absorbing).",
        "export_start_year": "That year, when the firm is in the survey then and was in it before; else missing.",
        "fdi": "From the year the FDI hazard fires (absorbing).",
        "fdi_start_year": "That year, when the firm is in the survey then and was in it before; else missing.",
        "overseas_production_ratio": "0 without FDI; after the start, a firm target (beta-distributed) "
                                     "approached over ~3 years, a common yearly component and noise.",
        "exports": "Exporters: sales × a firm export share (beta) ramping up after the start, plus the support "
                   "programme's export effect; 0 for non-exporters.",
        "hub_distance_km": "Fixed per firm: log-normal distance to the nearest support hub "
                           "(support_hub_distance_median_km).",
        "support_network": "Fixed per firm: member of a local support network, more likely near a hub.",
        "supported": "From the year the support take-up hazard fires (absorbing): size, TFP, unobserved "
                     "motivation, hub distance and network membership.",
        "support_start_year": "That year (programme records: known even for a firm's first survey year).",
    },
    "establishments": {
        "establishment_id": "1, 2, …: plants of manufacturing panel firms first, then small establishments.",
        "firm_id": "Owner: a panel firm's firm_id, or 10,000,001+ for small firms outside the panel.",
        "year": "Every year of the establishment panel (a balanced panel).",
        "latitude": "Around industrial areas (INDUSTRIAL_AREAS); centres placed by catchment_overlap; "
                    "supplier_share of small establishments near a centre.",
        "longitude": "As latitude.",
        "employees": "Panel plants: a share of the owner's employees; small establishments: log-normal.",
        "shipments": "Activity (employees × a plant productivity × a common yearly factor × AR(1) noise) less "
                     "the planned exports, plus the exports (spillover boost included) when "
                     "shipments_include_exports, as in 製造品出荷額等; else the activity.",
        "exports": "Exporters: an export share × activity × noise × a common yearly shock "
                   "(establishment_export_year_shock_sd); plus, within spillover_radius_km of each centre, a share "
                   "of spillover_opr_coefficient × OPR + spillover_di_coefficient × (DI − min DI).",
    },
    "foreign_demand": {
        "year": "Every year of the firm panel.",
        "foreign_demand_di": "AR(1) around −5 with drops in 1998, 2001, 2009 and 2020.",
    },
}
