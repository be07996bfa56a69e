"""The white paper's matching sample, and the diagnostics a matching chapter needs around it.

The white paper (通商白書2023, II-2-4) matches, for every year ``t``, firms
that start exporting (or FDI) in ``t`` with firms that could have started but
did not, **within the same year and industry**, on a logit of the start on
employees, sales, capital stock, TFP (Levinsohn–Petrin), the number of
domestic subsidiaries (FDI only), year, industry and size class (exports
only), all measured in the base year ``t − 1``; outcomes are the changes from
``t − 1`` to ``t + h``.

* :func:`matching_sample` builds that sample from any firm panel — a
  DataFrame plus column names, so it runs on 企業活動基本調査 microdata as on
  the synthetic world — and returns a :class:`MatchingSample`: one row per
  firm at risk in its base year, with the logit's covariates, the outcome
  levels at ``t + h`` and their changes from ``t − 1``. Given a
  :class:`~kaigai_lib.world.synthetic.World`, it also attaches each starter's true
  effect, the unobserved firm effect and true productivity (``true_*`` and
  ``latent_*`` columns: never covariates). Every row left out is counted in ``excluded``.
* :meth:`MatchingSample.match` runs :func:`kaigai_lib.estimators.matching.propensity_match`
  with the white paper's specification (or, with ``design="robust"``, also on the pre-period —
  growth t−2 → t−1, TFP and the investment rate at t−2 — and on the LP proxy, log intermediate inputs at
  t−1, with industry-specific slopes on it and on log capital); :meth:`MatchingSample.effects`
  sets the naive difference, the matched ATT and the truth side by side.
* :func:`caliper_sweep` re-matches at a range of calipers and tabulates what
  moves together: matched starters, the worst remaining imbalance, the
  estimate, its standard error (and the truth for the matched starters).
* :func:`balance_of` measures balance on columns that are *not* in the
  logit (an outcome's pre-period level, an unobserved variable), with the
  same definitions as :meth:`~kaigai_lib.estimators.matching.MatchResult.balance`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kaigai_lib.data.schema import FIRMS, MissingColumnsError, as_binary, as_numbers, as_years, check_frame, check_keys
from kaigai_lib.data.schema import require_columns as _require
from kaigai_lib.data.starts import RiskSet, risk_set, sector, size_class
from kaigai_lib.estimators import matching, tfp
from kaigai_lib.estimators.plots import OUTCOME_LABELS, new_figure
from kaigai_lib.world.synthetic import MAX_HORIZON, OUTCOMES, World

ANALYSES = ("export", "fdi")
MEASURES = ("change", "level")
# Default status column and first start year of each analysis (white paper: export starts from fiscal
# 1998, FDI starts over its whole 1995–2020 window, i.e. from the panel's second year).
STATUS_COLUMNS = {"export": "exporter", "fdi": "fdi"}
FIRST_START_YEARS = {"export": 1998, "fdi": None}
# The matching specifications: the white paper's (covariates at t − 1) and a robust one that also matches on
# the pre-period trend, a second, earlier reading of TFP, the investment rate (Olley and Pakes' proxy for
# productivity) and — Levinsohn and Petrin's proxy — log intermediate inputs at t − 1 with the industry's own
# slopes on them and on log capital: intermediates are an increasing function of productivity given capital, so
# within an industry (m, k) pin productivity down without the output noise of one year's LP TFP.
# "robust_no_investment" is the robust one for a panel without investment; "robust_no_intermediates" the robust
# one without the LP proxy (for a panel with TFP given and no intermediate inputs; the previous robust design).
MATCHING_DESIGNS = {
    "white_paper": "white paper: employees, sales, capital, TFP at t−1 (+ size / subsidiaries)",
    "robust": "robust: + growth t−2→t−1 of employees and sales, TFP at t−2, log investment rate I/K at t−2, "
              "log intermediate inputs at t−1 and industry-specific slopes on them and on log capital",
    "robust_no_investment": "robust without investment: + growth t−2→t−1 of employees and sales, TFP at t−2, "
                            "log intermediate inputs at t−1 and industry-specific slopes on them and on log capital",
    "robust_no_intermediates": "robust without intermediates: + growth t−2→t−1 of employees and sales, TFP at "
                               "t−2, log investment rate I/K at t−2",
}
PRE_PERIOD_COVARIATES = ("log_employees_growth_pre", "log_sales_growth_pre", "tfp_lag")
INVESTMENT_COVARIATE = "log_investment_rate_lag"  # log(investment / capital stock) at t − 2
PROXY_COVARIATE = "log_intermediate_inputs"  # log intermediate inputs at t − 1 (the LP proxy)
# The covariates (columns) each design adds to the white paper's
DESIGN_COVARIATES = {"white_paper": (), "robust": (*PRE_PERIOD_COVARIATES, INVESTMENT_COVARIATE, PROXY_COVARIATE),
                     "robust_no_investment": (*PRE_PERIOD_COVARIATES, PROXY_COVARIATE),
                     "robust_no_intermediates": (*PRE_PERIOD_COVARIATES, INVESTMENT_COVARIATE)}
# With the proxy, the logit also has its and log capital's slope by industry: the LP inversion ω = h(k, m) has
# industry-specific coefficients (the white paper's LP is estimated by industry).
PROXY_TERMS = (f"{PROXY_COVARIATE}:C(industry)", "log_capital_stock:C(industry)")


# The panel column each added covariate is read from (a key of PANEL_COLUMNS), what the design does with it, and
# the design that does without it: the one source of the "column missing" messages (here and in replicate).
DESIGN_INPUTS = {
    INVESTMENT_COVARIATE: ("investment", "matches on the investment rate at t−2", "robust_no_investment",
                           "the robust design without the investment rate"),
    PROXY_COVARIATE: ("intermediates", "matches on log intermediate inputs at t−1 (the Levinsohn–Petrin proxy)",
                      "robust_no_intermediates", "the robust design without the proxy"),
}


def missing_design_inputs(design: str, columns: Iterable[str]) -> list[tuple[str, str, str, str]]:
    """For each panel column ``design`` reads that is not among ``columns``: the column, what the design does
    with it, and the design that does without it (and what that is). Empty for the white paper's design."""
    present = set(columns)
    return [(PANEL_COLUMNS[key], does, fallback, fallback_is)
            for covariate, (key, does, fallback, fallback_is) in DESIGN_INPUTS.items()
            if covariate in DESIGN_COVARIATES.get(design, ()) and PANEL_COLUMNS[key] not in present]


def design_terms(design: str) -> tuple[str, ...]:
    """The formula terms ``design`` adds to the white paper's logit: its covariates, and with the LP proxy the
    industry-specific slopes on it and on log capital (``PROXY_TERMS``)."""
    covariates = DESIGN_COVARIATES[design]
    return (*covariates, *PROXY_TERMS) if PROXY_COVARIATE in covariates else covariates


# Who may be a control for start year t: every firm at risk that does not start in t (the white paper's), or
# only "clean" ones, which do not start within t + 1 … t + window either (stacked DiD, Cengiz et al. 2019).
CONTROL_POOLS = {
    "all": "every non-starter at risk, also those that start later (the white paper's)",
    "clean": "clean controls: non-starters that do not start within the event window t … t+window",
}
# The firm panel's columns matching_sample reads, under the schema's names (kaigai_lib.data.schema)
PANEL_COLUMNS = {"firm": "firm_id", "year": "year", "industry": "industry", "employees": "employees",
                 "sales": "sales", "capital": "capital_stock", "subsidiaries": "domestic_subsidiaries",
                 "compensation": "compensation", "manufacturing": "manufacturing", "value_added": "value_added",
                 "intermediates": "intermediate_inputs", "investment": "investment"}
# The event window of clean controls: the longest horizon of each analysis's design (the white paper's t+5 for
# exports, t+10 for FDI; did_design.WHITE_PAPER_HORIZONS). A design constant: never the horizons a table reports.
CLEAN_WINDOWS = {"export": 5, "fdi": 10}
DEFAULT_CALIPERS: tuple[float | None, ...] = (None, 1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005)


# --------------------------------------------------------------------------- the sample

@dataclass
class MatchingSample:
    """Firms at risk of starting, in their base year ``t − 1``, ready for matching.

    Made by :func:`matching_sample`.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per firm and base year. Columns: the panel's columns at
        ``t − 1``; ``start`` (1 if the firm starts in ``t``) and
        ``start_year`` (``t``); the logit's covariates ``log_employees``,
        ``log_sales``, ``log_capital_stock``, the TFP column,
        ``domestic_subsidiaries`` (FDI) or ``size`` (exports); ``group`` (size
        class for exports, sector for FDI, at ``t − 1``); for every outcome
        ``o``: ``o + "_base"`` (log at ``t − 1``), ``o + "_level"`` (log at
        ``t + h``) and ``o + "_change"`` (the difference); with a world, also
        ``"true_" + o`` (the starter's true effect at ``t + h``, NaN for
        non-starters), ``latent_firm_effect`` (the unobserved firm level
        effect) and ``latent_tfp`` (true log productivity ω at ``t − 1``).
    analysis : str
        "export" or "fdi".
    horizon : int
        ``h``, years after the start.
    outcomes : tuple of str
        The outcomes (names as in ``kaigai_lib.world.synthetic.OUTCOMES``).
    covariates : list of str
        The logit's right-hand side, as a list of formula terms.
    exact : list of str
        The columns pairs must share (start year and industry).
    excluded : pandas.DataFrame
        Firm-years left out and why, for starters and non-starters.
    tfp_model : object, optional
        The Levinsohn–Petrin fit behind the TFP column (None if TFP was given).
    firm_col : str, default "firm_id"
        The firm identifier, so that a firm serves as a control once.
    settings : dict, optional
        The options the sample was made with (start years, design, control pool, clean window).

    See Also
    --------
    matching_sample : Make one.
    kaigai_lib.whitepaper.did_design.white_paper_did : The DiD on the matched sample.

    Examples
    --------
    >>> from kaigai_lib import generate, matching_sample
    >>> sample = matching_sample(generate("tiny", seed=0), "export", horizon=2)
    >>> sample.formula
    'log_employees + log_sales + log_capital_stock + tfp + C(size) + C(start_year) + C(industry)'
    >>> sample.counts().head(3)
                non-starters  starters
    start_year
    1998                 960        30
    1999                 928        15
    2000                 927        13
    >>> sample.rows[["firm_id", "start_year", "start", "group", "sales_change"]].head(3).round(3)
       firm_id  start_year  start    group  sales_change
    0        1        1998      0  100-299        -0.015
    1        1        1999      0  100-299        -0.325
    2        1        2000      0  100-299        -0.165
    >>> result = sample.match()
    >>> sample.effects(result, outcomes=["sales"])[["naive", "matched", "truth_matched"]].round(3)
                     naive  matched  truth_matched
    outcome measure
    sales   change  -0.008    0.053          0.031
    """

    rows: pd.DataFrame
    analysis: str
    horizon: int
    outcomes: tuple[str, ...]
    covariates: list[str]
    exact: list[str]
    excluded: pd.DataFrame
    tfp_model: Any = None
    firm_col: str = "firm_id"
    settings: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ specification
    @property
    def formula(self) -> str:
        """The logit's right-hand side (formulaic syntax), e.g. ``log_employees + … + C(industry)``."""
        return " + ".join(self.covariates)

    @property
    def has_truth(self) -> bool:
        """True when every outcome has its true effects (the sample was made from a World)."""
        return all(f"true_{o}" in self.rows.columns for o in self.outcomes)

    def column(self, outcome: str, measure: str = "change") -> str:
        """The column of ``outcome`` for a measure: "change" (t−1 → t+h), "level" (log at t+h) or "base" (t−1).

        Parameters
        ----------
        outcome : str
            One of the sample's outcomes.
        measure : {"change", "level", "base"}, default "change"
            Which reading of the outcome.

        Returns
        -------
        str
            The column's name in ``rows``.

        Raises
        ------
        KeyError
            If ``outcome`` is not in this sample.
        ValueError
            If ``measure`` is not one of the three.
        """
        if outcome not in self.outcomes:
            raise KeyError(f"outcome {outcome!r} is not in this sample; it has {list(self.outcomes)}.")
        if measure not in (*MEASURES, "base"):
            raise ValueError(f"measure={measure!r}: choose 'change', 'level' or 'base'.")
        return f"{outcome}_{measure}"

    def counts(self) -> pd.DataFrame:
        """Count the starters and non-starters by start year (the rows' ``start_year``).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``start_year``, with columns ``non-starters`` and ``starters``.
        """
        table = self.rows.groupby(["start_year", "start"]).size().unstack("start", fill_value=0)
        return table.rename(columns={0: "non-starters", 1: "starters"}).rename_axis(columns=None)

    # ------------------------------------------------------------ matching
    def match(self, **options: Any) -> matching.MatchResult:
        """Propensity score matching with the white paper's specification.

        1:1 nearest neighbour on the logit of the score, exact within start
        year × industry; ``options`` go to
        :func:`~kaigai_lib.estimators.matching.propensity_match` (``caliper`` — 0.2 SD
        of the logit unless given —, ``replace``, ``ratio``, ``order``,
        ``discard``, ``unit``, and ``covariates`` or ``exact`` to change the
        specification).

        Parameters
        ----------
        **options : Any
            Options of :func:`~kaigai_lib.estimators.matching.propensity_match`.

        Returns
        -------
        kaigai_lib.estimators.matching.MatchResult
            The pairs, the logit and the balance.
        """
        covariates = options.pop("covariates", self.formula)
        exact = options.pop("exact", self.exact)
        return matching.propensity_match(self.rows, "start", covariates, exact=exact, **options)

    def true_att(self, result: matching.MatchResult | None, outcome: str) -> float:
        """The true effect averaged over the matched starters of ``result`` (over all starters if None).

        Effects are on log ``outcome`` at ``t + h``; before the start they are
        zero, so the truth is the same for the level and the change.

        Parameters
        ----------
        result : kaigai_lib.estimators.matching.MatchResult or None
            A match of this sample; None averages over every starter.
        outcome : str
            One of the sample's outcomes.

        Returns
        -------
        float
            The mean true effect, in log points.

        Raises
        ------
        ValueError
            If the sample has no true effects (it was not made from a World).
        """
        column = f"true_{outcome}"
        if column not in self.rows.columns:
            raise ValueError("this sample has no true effects: build it from a World "
                             "(matching_sample(world, …)) to compare with the truth.")
        if result is None:
            return float(self.rows.loc[self.rows["start"] == 1, column].mean())
        treated = result.pairs.drop_duplicates("pair")["treated"]
        return float(self.rows.loc[treated, column].mean())

    def naive(self, outcome: str, measure: str = "change") -> tuple[float, float]:
        """Starters' mean minus non-starters' mean in this sample, and its (Welch) standard error.

        Parameters
        ----------
        outcome : str
            One of the sample's outcomes.
        measure : {"change", "level", "base"}, default "change"
            Which reading of the outcome.

        Returns
        -------
        tuple of float
            The difference and its standard error.
        """
        y = self.rows[self.column(outcome, measure)]
        groups = y.groupby(self.rows["start"])
        means, variances, sizes = groups.mean(), groups.var(), groups.size()
        return float(means[1] - means[0]), float(np.sqrt((variances / sizes).sum()))

    def effects(self, result: matching.MatchResult, outcomes: Sequence[str] | None = None,
                measures: Sequence[str] = ("change",)) -> pd.DataFrame:
        """Naive difference, matched ATT (SE, 95 % CI) and, with a world, the truth: a row per outcome × measure.

        ``truth_matched`` averages the true effect over the starters that
        found a match — the ATT that the matched estimate targets;
        ``truth_all`` over every starter in the sample.

        Parameters
        ----------
        result : kaigai_lib.estimators.matching.MatchResult
            A match of this sample (:meth:`match`).
        outcomes : sequence of str or None, optional
            The outcomes; None (default) takes every outcome of the sample.
        measures : sequence of str, default ("change",)
            Any of "change", "level", "base".

        Returns
        -------
        pandas.DataFrame
            Indexed by ``outcome`` and ``measure``: ``naive``, ``naive_se``,
            ``matched``, ``matched_se``, ``ci_low``, ``ci_high``,
            ``n_matched`` and, with a world, ``truth_matched`` and ``truth_all``.
        """
        rows = []
        for outcome in outcomes or self.outcomes:
            for measure in measures:
                column = self.column(outcome, measure)
                naive, naive_se = self.naive(outcome, measure)
                att = result.att(column, firm=self.firm_col)  # a firm can be a control in several years
                row = {"outcome": outcome, "measure": measure, "naive": naive, "naive_se": naive_se,
                       "matched": att.estimate, "matched_se": att.std_error, "ci_low": att.ci_low,
                       "ci_high": att.ci_high, "n_matched": att.n_treated}
                if self.has_truth:
                    row["truth_matched"] = self.true_att(result, outcome)
                    row["truth_all"] = self.true_att(None, outcome)
                rows.append(row)
        table = pd.DataFrame(rows).set_index(["outcome", "measure"])
        table.attrs["horizon"] = self.horizon
        return table

    def caliper_sweep(self, outcome: str, measure: str = "change",
                      calipers: Sequence[float | None] = DEFAULT_CALIPERS, **options: Any) -> pd.DataFrame:
        """:func:`caliper_sweep` on this sample with the white paper's specification (and the truth, if known).

        Parameters
        ----------
        outcome : str
            One of the sample's outcomes.
        measure : {"change", "level", "base"}, default "change"
            Which reading of the outcome.
        calipers : sequence of float or None
            The calipers, in SD of the logit (None: no caliper).
        **options : Any
            Further options of :func:`caliper_sweep` and of the matching.

        Returns
        -------
        pandas.DataFrame
            One row per caliper (see :func:`caliper_sweep`).
        """
        covariates = options.pop("covariates", self.formula)
        exact = options.pop("exact", self.exact)
        truth = f"true_{outcome}" if self.has_truth else None
        return caliper_sweep(self.rows, "start", covariates, self.column(outcome, measure), calipers=calipers,
                             truth=truth, exact=exact, **options)


def matching_sample(data: pd.DataFrame | World, analysis: str = "export", *, horizon: int = 5,
                    outcomes: Sequence[str] = OUTCOMES, first_start_year: int | None = None,
                    last_start_year: int | None = None, tfp_col: str | None = None,
                    world: World | None = None, design: str = "white_paper",
                    control_pool: str = "all", clean_window: int | None = None,
                    extra_covariates: Sequence[str] = ()) -> MatchingSample:
    """The white paper's matching sample: firms at risk of starting, at ``t − 1``, with outcomes at ``t + h``.

    Parameters
    ----------
    data : pandas.DataFrame or World
        A firm panel (one row per firm and year) with the schema's column
        names (``PANEL_COLUMNS``; real data are renamed to them once, with
        ``kaigai_lib.data.schema.validate(df, "firms", rename={...})``), or a
        ``World`` (its ``firms`` are used and its truth attached).
    analysis : {"export", "fdi"}, default "export"
        "export" (covariates include the size class) or "fdi" (covariates
        include the number of domestic subsidiaries).
    horizon : int, default 5
        ``h``: outcomes are compared at ``t + h``.
    outcomes : sequence of str
        Any of "employees", "sales", "capital_stock", "tfp",
        "compensation_per_employee" (total compensation / employees); default all five.
    first_start_year : int or None, optional
        The first start year ``t`` kept. Default: 1998 for exports (the white
        paper's first export year), the panel's second year for FDI.
    last_start_year : int or None, optional
        The last start year kept. Default: the last year whose ``t + h`` is in the panel.
    tfp_col : str or None, optional
        A column of log TFP already in ``data``. If None, log TFP is
        estimated by Levinsohn–Petrin by industry (value added on employees
        and capital stock, intermediate inputs as the proxy), as the white
        paper does, and kept in ``tfp_model``.
    world : World or None, optional
        The World ``data`` comes from, to attach true effects (implied when
        ``data`` is a World).
    design : {"white_paper", "robust", "robust_no_investment", "robust_no_intermediates"}, default "white_paper"
        "white_paper" (the white paper's covariates, all at ``t − 1``) or
        "robust": also the pre-period growth of log employees and log sales
        (``t − 2 → t − 1``), log TFP at ``t − 2`` (``*_growth_pre``,
        ``tfp_lag``) and the log investment rate ``log(investment / capital
        stock)`` at ``t − 2`` (``log_investment_rate_lag``). One year of LP
        TFP is a noisy reading of productivity; matched on it alone, starters
        keep an edge in true productivity, and productive firms invest more,
        so the starters' capital, sales and TFP grow faster even without a
        start (see the DiD chapter). Investment responds to productivity —
        Olley and Pakes' (1996) proxy for it — so a firm's investment rate is
        a further reading of its productivity. It is read at ``t − 2``, not
        ``t − 1``: the year before a start, investment may already build the
        capital the start needs (it does in the synthetic world). Neither
        reading removes the edge: they are noisy too. The robust design
        therefore also inverts the Levinsohn–Petrin proxy: intermediate
        inputs increase with productivity given capital, ``m = h(ω, k)``
        with industry-specific coefficients, so log intermediate inputs at
        ``t − 1`` (``log_intermediate_inputs``) with industry-specific
        slopes on it and on log capital (``PROXY_TERMS``) pin
        productivity down within an industry without one year's output noise
        — what the LP first stage does. Firms not observed at ``t − 2``, or
        without a positive investment there or positive intermediate inputs
        at ``t − 1``, are left out of the robust design and counted in
        ``excluded``; the panel needs ``investment`` (設備投資額) and
        ``intermediate_inputs`` (中間投入額) columns.
        "robust_no_investment" is the robust design without the investment
        rate, for a panel that has no investment; "robust_no_intermediates"
        the robust design without the LP proxy (a panel with TFP given and
        no intermediate inputs).
    control_pool : {"all", "clean"}, default "all"
        "all" (the white paper's: every non-starter at risk in ``t`` may be a
        control, also one that starts in ``t + 1`` or later) or "clean": a
        non-starter whose status is on in any observed year of
        ``t + 1 … t + clean_window`` is left out (counted in ``excluded``),
        so that no control carries an effect of its own start.
    clean_window : int or None, optional
        The event window of clean controls, in years after ``t``; default
        ``CLEAN_WINDOWS[analysis]`` (5 for exports, 10 for FDI: the longest
        horizon of the white paper's design). Keep it fixed across the
        horizons you report: the matched sample must not depend on them.
    extra_covariates : sequence of str, default ()
        Further columns of the panel, read at ``t − 1`` as numbers and added
        to the logit as they are (take logs before if you want them), after
        the design's covariates: a reading of your own data that you believe
        bears on both the start and the untreated trend. Rows without a value
        are left out and counted in ``excluded``. A key, the status, a start
        year (``START_YEAR_COLUMNS``: it tells the future), a column the score
        already reads, a name kaigai gives a column of its own in the sample
        (``sales_change``, ``true_sales``, …), a column with one value in
        every row at risk and a column whose scale the logit cannot weigh (SD
        below ``EXTRA_SD_MIN``, values beyond ``EXTRA_ABS_MAX``: change its
        unit) are refused, naming it.
        Beware of a variable that
        moves from year to year and differs between starters and controls for
        a lasting reason (pay, say): matching on its level at ``t − 1`` pairs
        starters with controls that are there by a passing shock, whose value
        then falls back — regression to the mean biases the DiD of that
        variable (Daw and Hatfield 2018; the DiD chapter).

    Returns
    -------
    MatchingSample
        The rows at risk, the logit's specification and what was left out.

    Raises
    ------
    ValueError
        If an option is not one of its values, ``horizon`` or
        ``clean_window`` is not a whole number in range, an outcome is
        unknown, no start year is left, or no starter is observed at
        ``t − 1``, ``t`` and ``t + h``.
    MissingColumnsError
        If the panel lacks a column the design needs.

    See Also
    --------
    kaigai_lib.whitepaper.did_design.white_paper_did : The whole design, matching and DiD.

    Notes
    -----
    Firms not observed in ``t`` (their start cannot be read) or at ``t + h``
    (no outcome) are left out and counted in ``excluded``. With the "all"
    pool a non-starter may start later, within ``t + 1 … t + h``; it stays a
    control, as in a match made in year ``t`` (``rows["starts_within_horizon"]``
    marks it).

    Examples
    --------
    >>> from kaigai_lib import generate, matching_sample
    >>> world = generate("tiny", seed=0)
    >>> sample = matching_sample(world, "export", horizon=2)
    >>> sample.rows.shape, sample.has_truth
    ((17233, 57), True)
    >>> sample.excluded
                                       starters  non-starters   all
    reason
    not observed in t (start unknown)      <NA>          <NA>  1030
    not observed at t+2                      21          1499  1520
    >>> matching_sample(world, "imports")
    Traceback (most recent call last):
    ...
    ValueError: analysis='imports': choose 'export' or 'fdi'.
    """
    if isinstance(data, World):
        world, firms = data, data.firms
    else:
        firms = data
    if analysis not in ANALYSES:
        raise ValueError(f"analysis={analysis!r}: choose 'export' or 'fdi'.")
    if design not in MATCHING_DESIGNS:
        raise ValueError(f"design={design!r}: choose one of {list(MATCHING_DESIGNS)}.")
    if control_pool not in CONTROL_POOLS:
        raise ValueError(f"control_pool={control_pool!r}: choose one of {list(CONTROL_POOLS)}.")
    clean_window = CLEAN_WINDOWS[analysis] if clean_window is None else clean_window
    if isinstance(clean_window, bool) or not isinstance(clean_window, (int, np.integer)) or clean_window < 1:
        raise ValueError(f"clean_window={clean_window!r}: must be a whole number of years ≥ 1.")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 0:
        raise ValueError(f"horizon={horizon!r}: must be a whole number of years ≥ 0.")
    unknown = [o for o in outcomes if o not in OUTCOMES]
    if unknown:
        raise ValueError(f"outcomes {unknown} unknown; choose from {list(OUTCOMES)}.")
    outcomes = tuple(outcomes)
    # the schema's names: one way to name columns (real data are renamed once, see ``data``)
    cols = {**PANEL_COLUMNS, "status": STATUS_COLUMNS[analysis], "tfp": tfp_col}
    firm_col, year_col, industry_col, status_col = cols["firm"], cols["year"], cols["industry"], cols["status"]
    extra = _extra_covariates(extra_covariates, design, analysis, cols)
    firms = _check_panel(firms, analysis, outcomes, cols, design, extra)
    panel, tfp_model, log_names = _logged_panel(firms, outcomes, cols)

    # ---- who is at risk in t, and who starts
    years = panel[year_col]
    first = first_start_year or FIRST_START_YEARS[analysis] or int(years.min()) + 1
    last = last_start_year or int(years.max()) - horizon
    if first > last:
        raise ValueError(f"no start years: first_start_year={first} is after last_start_year={last} "
                         f"(the panel covers {int(years.min())}–{int(years.max())}, horizon {horizon}).")
    window = panel.loc[years.between(first - 1, last)]
    at_risk = risk_set(window, status_col, unit=firm_col, time=year_col, first_start_year=first,
                       last_start_year=last)
    rows, excluded = _outcomes_at_horizon(at_risk, panel, outcomes, log_names, horizon, design, cols,
                                          control_pool, clean_window)
    rows = _sample_columns(rows, analysis, outcomes, log_names, cols)
    starters_at_risk = int(rows["start"].sum())
    rows = _without_missing_extra(rows, extra, excluded)
    if starters_at_risk and rows["start"].sum() == 0:
        raise ValueError(f"matching_sample: none of the {starters_at_risk} {analysis} starters at risk has a value "
                         f"of every extra covariate at t−1 ({', '.join(extra)}); fill them in, or leave them out "
                         "of extra_covariates.")
    if rows["start"].sum() == 0:
        raise ValueError(f"matching_sample: no {analysis} starters in {first}–{last} observed at t−1, t and "
                         f"t+{horizon}.")

    covariates = ["log_employees", "log_sales", "log_capital_stock", _term(log_names["tfp"])]
    covariates += [_term(cols["subsidiaries"])] if analysis == "fdi" else ["C(size)"]
    covariates += list(design_terms(design))
    covariates += [_term(name) for name in extra]
    covariates += ["C(start_year)", f"C({_term(industry_col)})"]
    if world is not None:
        rows = _attach_truth(rows, world, analysis, horizon, outcomes, firm_col, year_col)
    return MatchingSample(rows=rows, analysis=analysis, horizon=int(horizon), outcomes=outcomes,
                          covariates=covariates, exact=["start_year", industry_col], excluded=excluded,
                          tfp_model=tfp_model, firm_col=firm_col,
                          settings={"first_start_year": first, "last_start_year": last, "status_col": status_col,
                                    "year_col": year_col, "industry_col": industry_col, "design": design,
                                    "control_pool": control_pool,
                                    "clean_window": clean_window if control_pool == "clean" else None,
                                    "extra_covariates": extra})


# Columns the score reads already or that kaigai writes into the rows (it would overwrite the analyst's column
# of that name without a word), and the formula's own names: not extra covariates
_WRITTEN_COLUMNS = frozenset({
    "log_employees", "log_sales", "log_capital_stock", "log_compensation_per_employee", "tfp", "size", "group",
    "start", "start_year", "starts_within_horizon", "latent_firm_effect", "latent_tfp",
    *(f"{outcome}_{part}" for outcome in OUTCOMES for part in ("base", "level", "change")),
    *(f"true_{outcome}" for outcome in OUTCOMES),
    *(name for covariates in DESIGN_COVARIATES.values() for name in covariates),
    "C", "Intercept",
})
# The schema's start years (exporting, FDI, support): a firm's row at t−1 holds the year it starts later
START_YEAR_COLUMNS = frozenset({"export_start_year", "fdi_start_year", "support_start_year"})
# An extra covariate enters the logit as it is: beyond these scales the fit fails or ignores it without a word
EXTRA_SD_MIN, EXTRA_ABS_MAX = 1e-4, 1e100


def _extra_covariates(extra: Any, design: str, analysis: str, cols: dict[str, Any]) -> tuple[str, ...]:
    """``extra_covariates`` checked: names (one name may be given alone), none repeated, none a key, the status, a
    column the score reads already or a name kaigai writes into the sample."""
    # a set has no order (nor a stable one across runs), so the score's terms would move: refused with the rest
    ordered = (list, tuple, pd.Index, pd.Series, np.ndarray)
    names = (extra,) if isinstance(extra, str) else tuple(extra) if isinstance(extra, ordered) else extra
    if not isinstance(names, tuple) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError(f"extra_covariates={extra!r}: give a list of column names of the panel, e.g. "
                         "extra_covariates=['log_paid_in_capital'].")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"extra_covariates: {repeated} given more than once; give each column once.")
    reserved = {cols["firm"], cols["year"], cols["industry"], cols["status"], cols["tfp"], cols["employees"],
                cols["sales"], cols["capital"]}
    if analysis == "fdi":  # the FDI score reads the subsidiaries; the sector is the FDI groups
        reserved |= {cols["subsidiaries"], cols["manufacturing"]}
    private = [n for n in names if n.startswith("_") or "`" in n]
    if private:
        raise ValueError(f"extra_covariates: {private}: names starting with '_' are kaigai's own working columns, "
                         "and a backtick cannot be quoted in the score's formula; rename the column in the panel.")
    taken = [n for n in names if n in reserved]
    if taken:
        raise ValueError(f"extra_covariates: {taken} is a key, the status or a column the score reads already "
                         f"(design={design!r}); give other columns of the panel.")
    timing = [n for n in names if n in START_YEAR_COLUMNS]
    if timing:
        raise ValueError(f"extra_covariates: {timing} holds the year a firm starts, known only once it has started "
                         "(at t−1 it tells the future); give readings of the firm at t−1.")
    written = [n for n in names if n in _WRITTEN_COLUMNS]
    if written:
        raise ValueError(f"extra_covariates: {written} is a name kaigai gives a column of its own in the sample "
                         "(an outcome's change, a log, the truth, a formula name) and would overwrite yours; "
                         "rename the column in the panel.")
    return tuple(names)


def extra_covariates_problem(names: Sequence[str], design: str, analysis: str, *,
                             tfp_col: str | None = None) -> str | None:
    """Why :func:`matching_sample` would refuse ``extra_covariates=names`` by their names alone (a key, the status,
    a column the score reads already, a name kaigai writes into the sample), or None: for a caller that checks
    its settings before any data are read (``kaigai replicate``)."""
    cols = {**PANEL_COLUMNS, "status": STATUS_COLUMNS[analysis], "tfp": tfp_col}
    try:
        _extra_covariates(names, design, analysis, cols)
    except ValueError as error:
        return str(error)
    return None


def extra_scale_problem(name: str, values: np.ndarray, rows: str) -> str | None:
    """Why extra covariate ``name`` (its non-missing ``values``, read in ``rows``) cannot enter the logit as it is:
    one value everywhere, or a scale beyond ``EXTRA_SD_MIN`` … ``EXTRA_ABS_MAX``; None if it can."""
    with np.errstate(over="ignore"):  # values near 1e300 overflow the variance: refused all the same
        spread, largest = float(np.std(values)), float(np.max(np.abs(values)))
    if spread == 0:
        return (f"extra covariate '{name}' takes one value ({values[0]:g}) in {rows}, so it cannot tell starters "
                "from controls; leave it out of extra_covariates")
    if largest > EXTRA_ABS_MAX or spread < EXTRA_SD_MIN:
        return (f"extra covariate '{name}' enters the logit as it is, and its scale (SD {spread:.3g}, largest "
                f"absolute value {largest:.3g}) is beyond what the fit can weigh (SD at least {EXTRA_SD_MIN:g}, "
                f"values at most {EXTRA_ABS_MAX:g}): change its unit or take its log")
    return None


def _extra_reason(name: str) -> str:
    """The line of ``MatchingSample.excluded`` that counts the rows without extra covariate ``name``."""
    return f"no {name} at t−1 (extra covariate)"


def _count_left_out(excluded: pd.DataFrame, reason: str, rows: pd.DataFrame, lost: pd.Series) -> None:
    """Add the line ``reason`` to ``excluded``: the starters, non-starters and all rows of ``rows`` where ``lost``."""
    n_start = int(rows.loc[lost, "start"].sum())
    excluded.loc[reason] = [n_start, int(lost.sum()) - n_start, int(lost.sum())]


def _without_missing_extra(rows: pd.DataFrame, extra: tuple[str, ...], excluded: pd.DataFrame) -> pd.DataFrame:
    """The rows with every extra covariate at ``t − 1``; those without one are left out and counted in ``excluded``
    (one line per column, a row counted under the first it lacks)."""
    lost_any = pd.Series(False, index=rows.index)
    for name in extra:
        if rows[name].isna().all():
            raise ValueError(f"matching_sample: extra covariate '{name}' has no value at t−1 in any of the "
                             f"{len(rows)} rows at risk; fill it in, or leave it out of extra_covariates.")
        lost = rows[name].isna() & ~lost_any
        _count_left_out(excluded, _extra_reason(name), rows, lost)
        lost_any |= lost
    kept = rows.loc[~lost_any].reset_index(drop=True) if extra else rows
    for name in extra if len(kept) else ():  # no row left: the caller says there is no starter
        problem = extra_scale_problem(name, kept[name].to_numpy(float), f"every one of the {len(kept)} rows at risk")
        if problem is not None:
            raise ValueError(f"matching_sample: {problem}.")
    return kept


def _check_panel(firms: pd.DataFrame, analysis: str, outcomes: tuple[str, ...], cols: dict[str, Any],
                 design: str, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every column the design needs is there, and there is one row per firm and year; returns the panel with
    its years, status and numeric columns read (numbers stored as text read; text that is not a number,
    infinite values and a status coded other than 0/1 refused, each naming the column and rows)."""
    check_frame(firms, "matching_sample", "the panel")
    firm_col, year_col = cols["firm"], cols["year"]
    missing = missing_design_inputs(design, firms.columns)
    if missing:
        column, does, fallback, fallback_is = missing[0]
        raise MissingColumnsError(
            f"matching_sample: design={design!r} {does}, but the panel has no column '{column}' "
            f"({FIRMS.column(column).survey_item}). Add it under that name "
            f"(kaigai_lib.data.schema.validate(df, 'firms', rename={{...}})), or use design='{fallback}' "
            f"({fallback_is}).")
    needed = [firm_col, year_col, cols["industry"], cols["status"], cols["employees"], cols["sales"],
              cols["capital"]]
    if analysis == "fdi":
        needed += [cols["subsidiaries"], cols["manufacturing"]]
    if "compensation_per_employee" in outcomes:
        needed.append(cols["compensation"])
    if cols["tfp"] is None:
        needed += [cols["value_added"], cols["intermediates"]]
    else:
        needed.append(cols["tfp"])
    needed += [name for name in extra if name not in needed]
    _require(firms, needed, "matching_sample")
    check_keys(firms, [firm_col, year_col], "matching_sample", "firms")
    where = "matching_sample"
    numeric = [c for c in needed if c not in (firm_col, year_col, cols["industry"], cols["status"],
                                              cols.get("manufacturing"))]
    numeric += [c for c in extra if c not in numeric]  # an extra covariate is a number, whatever its name
    read = {year_col: as_years(firms[year_col], year_col, where),
            cols["status"]: as_binary(firms[cols["status"]], cols["status"], where),
            **{c: as_numbers(firms[c], c, where) for c in numeric}}
    if analysis == "fdi":  # the FDI groups: astype(bool) would read any text, and NaN, as manufacturing
        read[cols["manufacturing"]] = as_binary(firms[cols["manufacturing"]], cols["manufacturing"], where)
    return firms.assign(**read)


def _logged_panel(firms: pd.DataFrame, outcomes: tuple[str, ...],
                  cols: dict[str, Any]) -> tuple[pd.DataFrame, Any, dict[str, str]]:
    """The panel with log outcomes (an error names any non-positive value) and TFP: given, or LP by industry.

    Returns the panel, the LP model (None when TFP is given) and each outcome's log column.
    """
    employees_col, capital_col = cols["employees"], cols["capital"]
    value_added_col, intermediates_col = cols["value_added"], cols["intermediates"]
    to_log = {employees_col: "log_employees", cols["sales"]: "log_sales", capital_col: "log_capital_stock"}
    panel = firms.copy()
    if "compensation_per_employee" in outcomes:
        panel["_compensation_per_employee"] = panel[cols["compensation"]] / panel[employees_col]
        to_log["_compensation_per_employee"] = "log_compensation_per_employee"
    tfp_model = None
    if cols["tfp"] is None:
        logged = tfp.log_columns(panel, [value_added_col, intermediates_col, *to_log], prefix="_log_")
        inputs = {c: f"_log_{c}" for c in (value_added_col, employees_col, capital_col, intermediates_col)}
        tfp_model = tfp.levinsohn_petrin(logged, inputs[value_added_col], inputs[employees_col],
                                         inputs[capital_col], inputs[intermediates_col], cols["firm"], cols["year"],
                                         by=cols["industry"], progress=False)
        panel["tfp"] = tfp_model.tfp(logged).to_numpy()
        tfp_name = "tfp"
    else:
        logged = tfp.log_columns(panel, list(to_log), prefix="_log_")
        tfp_name = cols["tfp"]
    for column, name in to_log.items():
        panel[name] = logged[f"_log_{column}"].to_numpy()
    panel = panel.drop(columns=["_compensation_per_employee"], errors="ignore")
    log_names = {"employees": "log_employees", "sales": "log_sales", "capital_stock": "log_capital_stock",
                 "tfp": tfp_name, "compensation_per_employee": "log_compensation_per_employee"}
    if panel[tfp_name].isna().any():
        bad = panel[tfp_name].isna()
        raise ValueError(f"TFP ('{tfp_name}') is missing for {int(bad.sum())} firm-years (e.g. index "
                         f"{list(panel.index[bad][:5])}), e.g. an industry too small to estimate; drop or fill them.")
    return panel, tfp_model, log_names


def _outcomes_at_horizon(at_risk: RiskSet, panel: pd.DataFrame, outcomes: tuple[str, ...],
                         log_names: dict[str, str], horizon: int, design: str, cols: dict[str, Any],
                         control_pool: str, clean_window: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The at-risk rows with their outcomes at t + h (= base year + 1 + h) and later starts among non-starters
    (left out with clean controls); the rows left out (and why) in a table."""
    firm_col, year_col, status_col = cols["firm"], cols["year"], cols["status"]
    rows = at_risk.rows
    later = panel[[firm_col, year_col, status_col, *(log_names[o] for o in outcomes)]]
    later = later.assign(**{year_col: later[year_col] - (horizon + 1)})
    later = later.rename(columns={log_names[o]: f"_{o}_end" for o in outcomes} | {status_col: "_status_end"})
    rows = rows.merge(later, on=[firm_col, year_col], how="left", validate="one_to_one").set_axis(rows.index)
    unobserved = rows["_status_end"].isna()
    n_start_lost = int(rows.loc[unobserved, "start"].sum())
    excluded = pd.DataFrame(
        [[pd.NA, pd.NA, int(at_risk.excluded.sum())],
         [n_start_lost, int(unobserved.sum()) - n_start_lost, int(unobserved.sum())]],
        index=pd.Index(["not observed in t (start unknown)", f"not observed at t+{horizon}"], name="reason"),
        columns=["starters", "non-starters", "all"], dtype="Int64")
    rows = rows.loc[~unobserved].copy()
    if DESIGN_COVARIATES[design]:
        with_investment = INVESTMENT_COVARIATE in DESIGN_COVARIATES[design]
        rows, unobserved, no_investment = _pre_period(rows, panel, firm_col, year_col, log_names["tfp"],
                                                      cols["investment"] if with_investment else None)
        reasons = {"not observed at t−2 (robust design)": unobserved}
        if with_investment:
            reasons["no positive investment at t−2 (robust design)"] = no_investment
        lost_any = unobserved | no_investment
        if PROXY_COVARIATE in DESIGN_COVARIATES[design]:
            # the row's own intermediate inputs at t − 1; one without a positive value has no log: counted
            rows[PROXY_COVARIATE] = _log_of_positive(rows, cols["intermediates"])
            no_proxy = ~lost_any & rows[PROXY_COVARIATE].isna()
            reasons["no positive intermediate inputs at t−1 (robust design)"] = no_proxy
            lost_any = lost_any | no_proxy
        for reason, lost in reasons.items():
            _count_left_out(excluded, reason, rows, lost)
        rows = rows.loc[~lost_any].copy()
    if control_pool == "clean":
        later = _starts_later(rows, panel, firm_col, year_col, status_col, clean_window)
        excluded.loc[f"starts within t+1…t+{clean_window} (clean controls)"] = [0, int(later.sum()),
                                                                               int(later.sum())]
        rows = rows.loc[~later].copy()
    rows["starts_within_horizon"] = (rows["start"] == 0) & rows.pop("_status_end").astype(bool)
    return rows, excluded


def _sample_columns(rows: pd.DataFrame, analysis: str, outcomes: tuple[str, ...], log_names: dict[str, str],
                    cols: dict[str, Any]) -> pd.DataFrame:
    """Each outcome at the base year, at t + h and its change; the group (size class or sector)."""
    for outcome in outcomes:
        end = rows.pop(f"_{outcome}_end")
        rows[f"{outcome}_base"] = rows[log_names[outcome]]
        rows[f"{outcome}_level"] = end
        rows[f"{outcome}_change"] = end - rows[log_names[outcome]]
    if analysis == "export":
        rows["size"] = size_class(rows[cols["employees"]])
        rows["group"] = rows["size"].astype(str)
    else:
        rows["group"] = sector(rows[cols["manufacturing"]])
    return rows.reset_index(drop=True)


def _pre_period(rows: pd.DataFrame, panel: pd.DataFrame, firm_col: str, year_col: str, tfp_name: str,
                investment_col: str | None) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The robust design's covariates read from the firm's own row at t − 2; masks of the rows not observed
    there and (with ``investment_col``) of those observed without a positive investment (no log rate)."""
    earlier = panel[[firm_col, year_col, "log_employees", "log_sales", tfp_name]].assign(_observed=True)
    if investment_col is not None:
        # a zero, negative (net disposals) or missing investment has no log rate: left out and counted
        earlier[INVESTMENT_COVARIATE] = (_log_of_positive(panel, investment_col)
                                         - panel["log_capital_stock"].to_numpy(float))
    earlier = earlier.assign(**{year_col: earlier[year_col] + 1}).rename(
        columns={"log_employees": "_employees_lag", "log_sales": "_sales_lag", tfp_name: "tfp_lag"})
    out = rows.merge(earlier, on=[firm_col, year_col], how="left", validate="one_to_one").set_axis(rows.index)
    out["log_employees_growth_pre"] = out["log_employees"] - out.pop("_employees_lag")
    out["log_sales_growth_pre"] = out["log_sales"] - out.pop("_sales_lag")
    unobserved = out.pop("_observed").isna() | out[list(PRE_PERIOD_COVARIATES)].isna().any(axis=1)
    no_investment = pd.Series(False, index=out.index)
    if investment_col is not None:
        no_investment = ~unobserved & out[INVESTMENT_COVARIATE].isna()
    return out, unobserved, no_investment


def _log_of_positive(data: pd.DataFrame, column: str) -> np.ndarray:
    """log of a column of numbers (any numeric dtype); NaN where it is zero, negative or missing; numbers stored
    as text are refused, naming the column and the rows."""
    numbers = pd.to_numeric(data[column], errors="coerce")
    text = numbers.isna() & data[column].notna()
    if text.any():
        raise ValueError(f"matching_sample: column '{column}' has {int(text.sum())} value(s) that are not numbers "
                         f"(index {list(data.index[text][:5])}, e.g. {data.loc[text, column].iloc[0]!r}); convert "
                         "them to numbers first.")
    values = numbers.to_numpy(float, na_value=np.nan)
    out = np.full(len(values), np.nan)
    positive = values > 0
    out[positive] = np.log(values[positive])
    return out


def _starts_later(rows: pd.DataFrame, panel: pd.DataFrame, firm_col: str, year_col: str, status_col: str,
                  window: int) -> pd.Series:
    """Non-starter rows (base year t − 1) whose firm's status is on in an observed year of t + 1 … t + window."""
    on = panel.loc[panel[status_col].astype(bool), [firm_col, year_col]].rename(columns={year_col: "_on"})
    # the first year with the status on after t (merge_asof: the next such year, strictly after t)
    keys = rows[[firm_col]].assign(_t=(rows[year_col] + 1).to_numpy(), _row=np.arange(len(rows)))
    nxt = pd.merge_asof(keys.sort_values("_t"), on.sort_values("_on").astype({"_on": keys["_t"].dtype}),
                        left_on="_t", right_on="_on", by=firm_col, direction="forward", allow_exact_matches=False)
    first_on = nxt.set_index("_row")["_on"].reindex(np.arange(len(rows))).to_numpy(float)
    later = (rows["start"].to_numpy() == 0) & (first_on <= rows[year_col].to_numpy() + 1 + window)
    return pd.Series(later, index=rows.index)


def _term(name: str) -> str:
    """A column name as a formula term (quoted when it is not a Python identifier, e.g. Japanese with spaces)."""
    return name if name.isidentifier() else f"`{name}`"


def _attach_truth(rows: pd.DataFrame, world: World, analysis: str, horizon: int, outcomes: tuple[str, ...],
                  firm_col: str, year_col: str) -> pd.DataFrame:
    """Each starter's true effect at t + h (by its group in world.latent), the firm effect and true TFP at t − 1."""
    latent = world.latent.rename(columns={"firm_id": firm_col, "year": year_col})
    at_start = latent[[firm_col, year_col, f"{analysis}_group"]].rename(
        columns={year_col: "start_year", f"{analysis}_group": "_true_group"})
    out = rows.merge(at_start, on=[firm_col, "start_year"], how="left", validate="many_to_one")
    table = world.truth.effects
    # effects are flat after MAX_HORIZON
    effects = table.loc[(table["analysis"] == analysis) & (table["horizon"] == min(horizon, MAX_HORIZON))]
    effects = effects.pivot(index="group", columns="outcome", values="effect")
    starters = out["start"] == 1
    if out.loc[starters, "_true_group"].isna().any():
        raise ValueError("some starters have no true group in world.latent: is this sample from that world?")
    for outcome in outcomes:
        out[f"true_{outcome}"] = np.where(starters, out["_true_group"].map(effects[outcome]), np.nan)
    firm_effect = latent.drop_duplicates(firm_col).set_index(firm_col)["firm_effect"]
    out["latent_firm_effect"] = out[firm_col].map(firm_effect).to_numpy()
    productivity = latent[[firm_col, year_col, "tfp_true"]].rename(columns={"tfp_true": "latent_tfp"})
    out = out.merge(productivity, on=[firm_col, year_col], how="left", validate="many_to_one")
    return out.drop(columns="_true_group").set_axis(rows.index)


# --------------------------------------------------------------------------- diagnostics

def balance_of(result: matching.MatchResult, columns: Sequence[str]) -> pd.DataFrame:
    """Balance before and after matching of columns of ``result.data`` that need not be in the logit.

    Same statistics and definitions as
    :meth:`~kaigai_lib.estimators.matching.MatchResult.balance` (SMD with the
    treated group's SD before matching, variance ratio, eCDF maximum;
    controls weighted by ``_weight``): use it for an outcome's pre-period
    level, or — in the synthetic world — for a variable nobody observes.

    Parameters
    ----------
    result : kaigai_lib.estimators.matching.MatchResult
        A match.
    columns : sequence of str
        Columns of ``result.data``, in the logit or not.

    Returns
    -------
    pandas.DataFrame
        One row per column, in the order given: means, differences, SMD,
        variance ratio and eCDF statistics before and after matching.

    Raises
    ------
    MissingColumnsError
        If a column is not in ``result.data``.

    Examples
    --------
    Matching on observables balances true productivity, but not the firm
    effect nobody observes:

    >>> from kaigai_lib import balance_of, generate, matching_sample
    >>> result = matching_sample(generate("tiny", seed=0), "export", horizon=2).match()
    >>> balance_of(result, ["latent_tfp", "latent_firm_effect"])[["smd_before", "smd_after"]].round(2)
                        smd_before  smd_after
    covariate
    latent_tfp                0.39       0.06
    latent_firm_effect        0.39       0.51
    """
    _require(result.data, columns, "balance_of")
    columns = list(columns)
    extra = [c for c in columns if c not in result.covariates]
    return result.balance(addl=extra).loc[columns]


def caliper_sweep(data: pd.DataFrame, treatment: str, covariates: str | Sequence[str], outcome: str, *,
                  calipers: Sequence[float | None] = DEFAULT_CALIPERS, truth: str | None = None,
                  threshold: float = 0.1, **options: Any) -> pd.DataFrame:
    """Match once per caliper and tabulate the trade-off: who is matched, how well, and the estimate.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (or unit-year) at risk of treatment, as for
        :func:`~kaigai_lib.estimators.matching.propensity_match`.
    treatment : str
        A 0/1 (or boolean) column.
    covariates : str or sequence of str
        Column names, or a formula right-hand side.
    outcome : str
        The column whose ATT is estimated.
    calipers : sequence of float or None
        The calipers, in SD of the logit (None: no caliper); default from none down to 0.005.
    truth : str or None, optional
        A column of true unit effects (NaN for controls), if known: its
        mean over the matched treated rows is the ATT the estimate targets.
    threshold : float, default 0.1
        The absolute SMD counted as imbalanced (0.1 by convention).
    **options : Any
        Further options of ``propensity_match`` (e.g. ``exact``,
        ``replace``); the caliper is taken from ``calipers``.

    Returns
    -------
    pandas.DataFrame
        One row per caliper: ``caliper`` (SD of the logit; NaN = none),
        ``caliper_width`` (logit units), ``treated``, ``matched``,
        ``share_matched``, ``mean_distance`` (mean distance within pairs, in
        SD of the logit), ``max_abs_smd`` and ``mean_abs_smd`` after
        matching, ``n_above_threshold`` (covariates with absolute SMD above
        ``threshold``), ``estimate``, ``se``, ``ci_low``, ``ci_high`` and,
        with ``truth``, ``truth_matched``.

    Raises
    ------
    TypeError
        If a single ``caliper=`` is given instead of ``calipers=``.
    MissingColumnsError
        If the ``truth`` column is not in ``data``.

    See Also
    --------
    MatchingSample.caliper_sweep : The same on a matching sample, with its specification.

    Examples
    --------
    >>> from kaigai_lib import caliper_sweep, generate, matching_sample
    >>> sample = matching_sample(generate("tiny", seed=0), "export", horizon=2)
    >>> sweep = caliper_sweep(sample.rows, "start", sample.formula, "sales_change", calipers=[None, 0.1],
    ...                       exact=sample.exact, truth="true_sales")
    >>> sweep[["caliper", "treated", "matched", "n_above_threshold", "estimate", "truth_matched"]].round(3)
       caliper  treated  matched  n_above_threshold  estimate  truth_matched
    0      NaN      306      306                  0     0.055          0.030
    1      0.1      306      275                  0     0.051          0.031
    >>> caliper_sweep(sample.rows, "start", sample.formula, "sales_change", caliper=0.1)
    Traceback (most recent call last):
    ...
    TypeError: caliper_sweep: give the calipers as calipers=[…], not caliper=.
    """
    if "caliper" in options:
        raise TypeError("caliper_sweep: give the calipers as calipers=[…], not caliper=.")
    if truth is not None:
        _require(data, [truth], "caliper_sweep")
    rows = []
    for caliper in calipers:
        result = matching.propensity_match(data, treatment, covariates, caliper=caliper, **options)
        att = result.att(outcome)
        smd = result.balance()["smd_after"].abs()
        logit_sd = float(np.std(result.data["_logit"], ddof=1))
        row = {"caliper": np.nan if caliper is None else float(caliper),
               "caliper_width": result.settings["caliper_width"], "treated": result.counts["treated"],
               "matched": result.counts["matched_treated"],
               "share_matched": result.counts["matched_treated"] / result.counts["treated"],
               "mean_distance": float(result.pairs["distance"].mean()) / logit_sd,
               "max_abs_smd": float(smd.max()), "mean_abs_smd": float(smd.mean()),
               "n_above_threshold": int((smd > threshold).sum()), "estimate": att.estimate, "se": att.std_error,
               "ci_low": att.ci_low, "ci_high": att.ci_high}
        if truth is not None:
            treated_rows = result.pairs.drop_duplicates("pair")["treated"]
            row["truth_matched"] = float(data.loc[treated_rows, truth].mean())
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- figures

MEASURE_LABELS = {"change": "change t−1 → t+{h}", "level": "level at t+{h}", "base": "level at t−1"}


def caliper_label(caliper: float | None) -> str:
    """How a caliper is written on axes and sliders: "none" or its value in SD of the logit."""
    return "none" if caliper is None or (isinstance(caliper, float) and np.isnan(caliper)) else f"{caliper:g}"


def plot_effects(effects: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Naive difference and matched ATT (95 % intervals) against the truth, one row per outcome × measure.

    ``effects`` is a table from :meth:`MatchingSample.effects`; the truth
    (``truth_matched``, the true ATT of the matched starters) is drawn when
    present.
    """
    table = effects.iloc[::-1]
    fig, axes = new_figure(figsize=(7.5, 1.2 + 0.5 * len(table)))
    ax = axes[0, 0]
    y = np.arange(len(table))
    ax.errorbar(table["naive"], y + 0.15, xerr=1.96 * table["naive_se"], fmt="s", ms=4, color="0.55", capsize=2,
                label="naive difference (単純比較)")
    ax.errorbar(table["matched"], y - 0.15, xerr=1.96 * table["matched_se"], fmt="o", ms=5, color="C0", capsize=2,
                label="matched ATT (マッチング推定)")
    if "truth_matched" in table.columns:
        ax.scatter(table["truth_matched"], y, marker="|", s=260, linewidths=2.5, color="C3", zorder=3,
                   label="truth, matched starters (真の効果)")
    h = effects.attrs.get("horizon", "h")
    labels = [f"{OUTCOME_LABELS.get(o, o).replace(chr(10), ' ')}\n{MEASURE_LABELS.get(m, m).format(h=h)}"
              for o, m in table.index]
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(0, color="0.4", linewidth=0.8)
    ax.set_xlabel("starters − non-starters (log points)")
    if title:
        ax.set_title(title, fontsize=10)
    fig.legend(loc="outside lower center", ncols=3, fontsize=7.5, frameon=False)
    return fig


def plot_caliper_sweep(sweep: pd.DataFrame, *, threshold: float = 0.1) -> Figure:
    """The caliper trade-off from :func:`caliper_sweep`: matched starters, balance and the estimate, side by side."""
    fig, axes = new_figure(1, 3, figsize=(11, 3.4))
    labels = [caliper_label(c) for c in sweep["caliper"]]
    x = np.arange(len(sweep))
    count_ax, balance_ax, estimate_ax = axes[0]
    bars = count_ax.bar(x, sweep["matched"], color="C0", alpha=0.8)
    count_ax.bar_label(bars, labels=[f"{s:.0%}" for s in sweep["share_matched"]], fontsize=7, padding=1)
    count_ax.axhline(sweep["treated"].iloc[0], color="0.4", linestyle=":", linewidth=1, label="all starters")
    count_ax.set(title="matched starters (マッチした開始企業)", ylabel="starters",
                 ylim=(0, 1.12 * sweep["treated"].iloc[0]))
    count_ax.legend(loc="lower left", fontsize=7)
    balance_ax.plot(x, sweep["max_abs_smd"], "o-", color="C3", label="max |SMD|")
    balance_ax.plot(x, sweep["mean_abs_smd"], "s--", color="C1", label="mean |SMD|")
    balance_ax.plot(x, sweep["mean_distance"], "^:", color="C2", label="mean pair distance (SD)")
    balance_ax.axhline(threshold, color="C3", linestyle="--", linewidth=0.8)
    top = max(threshold * 1.5, float(sweep[["max_abs_smd", "mean_distance"]].max().max()) * 1.15)
    balance_ax.set(title="balance after matching (バランス)", ylim=(0, top))
    balance_ax.legend(loc="upper left", fontsize=7)
    estimate_ax.errorbar(x, sweep["estimate"], yerr=[sweep["estimate"] - sweep["ci_low"],
                                                      sweep["ci_high"] - sweep["estimate"]],
                         fmt="o", color="C0", capsize=2, label="matched ATT, 95 % CI")
    if "truth_matched" in sweep.columns:
        estimate_ax.plot(x, sweep["truth_matched"], "_", ms=14, mew=2.5, color="C3", label="truth, matched starters")
    estimate_ax.set(title="estimate (推定値)", ylabel="log points")
    estimate_ax.legend(loc="upper left", fontsize=7)
    for ax in axes[0]:
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_xlabel("caliper (SD of the logit)")
    return fig
