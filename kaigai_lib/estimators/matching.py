"""Propensity score matching (傾向スコアマッチング) for firm panels and cross-sections.

:func:`propensity_match` estimates each row's probability of treatment with a
logit (statsmodels), then pairs every treated row with the nearest untreated
row(s) on the logit of that score — within ``exact`` strata (the white paper
matches within year × industry), inside a caliper, with or without
replacement, 1:k — in the manner of R's MatchIt (``method = "nearest"``).
:class:`MatchResult` holds the matched sample and the diagnostics: balance
(standardised mean differences with the treated group's SD, variance ratios,
eCDF maxima), a Love plot, overlap plots, and the ATT of any outcome.

Nothing is dropped silently: rows with missing covariates are an error, and
treated rows that find no match (no control in their stratum, outside the
caliper, discarded off common support) are counted in ``summary()``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
from formulaic import model_matrix

from kaigai_lib.data.schema import as_binary, as_numbers, check_frame, is_number, number_text
from kaigai_lib.estimators.results import Counts, add_truth, normal_inference, order_tidy, summary_block

ORDERS = ("largest", "smallest", "random", "data")
CALIPER_SDS = ("all", "pooled")
# Text that reads as a number once formatted: thousands separators, a sign, spaces ("1,234", "-5 000.5")
NUMBER_LIKE = r"[+\-−]?[\d][\d,.\s']*"
DISCARDS = ("none", "treated", "control", "both")
# the columns propensity_match writes into MatchResult.data / .matched (a user's column of that name is replaced)
INTERNAL_COLUMNS = ("_treated", "_logit", "_score", "_pair", "_weight")


# --------------------------------------------------------------------------- results

@dataclass
class ATTResult:
    """An estimated average treatment effect on the treated (:meth:`MatchResult.att`).

    Attributes
    ----------
    outcome : str
        the outcome column.
    estimate, std_error, ci_low, ci_high : float
        the ATT, its standard error and 95 % interval.
    n_treated : int
        matched treated rows; ``n_control`` distinct controls.
    se_method : str
        how ``std_error`` was computed.
    truth : float | None
        the true ATT, when known (attach it with ``dataclasses.replace`` or pass it to :meth:`tidy`).

    Examples
    --------
    The ATT of a matched sample on an outcome of the same rows (here the base year's own sales, so a
    check of balance rather than an effect):

    >>> import numpy as np
    >>> from kaigai_lib import generate, propensity_match, risk_set
    >>> world = generate("tiny", seed=0)
    >>> at_risk = risk_set(world.firms, "exporter", first_start_year=2006, last_start_year=2006).rows
    >>> at_risk = at_risk.assign(log_employees=np.log(at_risk["employees"]), log_sales=np.log(at_risk["sales"]))
    >>> match = propensity_match(at_risk, "start", ["log_employees", "log_sales"], unit="firm_id")
    >>> att = match.att("log_sales")
    >>> round(att.estimate, 3), round(att.std_error, 3), att.n_treated, att.n_control
    (0.024, 0.06, 19, 19)
    >>> print(att.summary())
    ATT on log_sales
      standard error: regression on the matched sample, clustered by pair
               estimate  std_error  p_value  ci_low  ci_high  n_treated  n_control  n_obs
    outcome
    log_sales    0.0241     0.0599    0.688 -0.0934   0.1415         19         19     38
    """

    outcome: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    n_treated: int
    n_control: int
    se_method: str
    truth: float | None = None

    def __str__(self) -> str:
        return (f"ATT on {self.outcome}: {self.estimate:.4f} (s.e. {self.std_error:.4f}; 95% CI "
                f"[{self.ci_low:.4f}, {self.ci_high:.4f}]); {self.n_treated:,} treated, "
                f"{self.n_control:,} distinct controls; s.e.: {self.se_method}")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])

    def tidy(self, truth: float | None = None) -> pd.DataFrame:
        """One row: outcome, estimate, std_error, p_value, ci_low, ci_high, counts (and truth, bias if known)."""
        table = pd.DataFrame([{"outcome": self.outcome, "estimate": self.estimate, "std_error": self.std_error,
                               "p_value": normal_inference(self.estimate, self.std_error)["p_value"],
                               "ci_low": self.ci_low, "ci_high": self.ci_high, "n_treated": self.n_treated,
                               "n_control": self.n_control, "n_obs": self.n_treated + self.n_control}])
        truth = self.truth if truth is None else truth
        return order_tidy(table if truth is None else add_truth(table, [truth]))

    def summary(self) -> str:
        """The estimate, its interval and the counts, and how the standard error was computed."""
        table = self.tidy().set_index("outcome")
        return summary_block(f"ATT on {self.outcome}", table, lines=[f"standard error: {self.se_method}"])

    def plot(self, ax: plt.Axes | None = None, truth: float | None = None) -> plt.Axes:
        """The estimate with its 95 % interval, and the truth (a cross) when known."""
        ax = ax or plt.subplots(figsize=(5, 1.6))[1]
        ax.errorbar([self.estimate], [0], xerr=[[self.estimate - self.ci_low], [self.ci_high - self.estimate]],
                    fmt="o", capsize=3, label="ATT, 95 % CI")
        truth = self.truth if truth is None else truth
        if truth is not None:
            ax.scatter([truth], [0], marker="x", color="black", zorder=3, label="truth")
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_yticks([0], [self.outcome])
        ax.legend(loc="best", fontsize="small")
        return ax


def _match_counts_table(counts: dict[str, int]) -> pd.DataFrame:
    """Counts of treated rows: total, matched, discarded off support, unmatched; controls used."""
    rows = [
        ("treated", "all", counts["treated"]),
        ("treated", "matched", counts["matched_treated"]),
        ("treated", "discarded (off common support)", counts["discarded_treated"]),
        ("treated", "unmatched: no control in its stratum", counts["unmatched_no_controls"]),
        ("treated", "unmatched: no control left within the caliper", counts["unmatched_caliper"]),
        ("control", "all", counts["controls"]),
        ("control", "discarded (off common support)", counts["discarded_controls"]),
        ("control", "used as matches (distinct rows)", counts["matched_controls"]),
    ]
    return pd.DataFrame(rows, columns=["group", "status", "count"]).set_index(["group", "status"])


@dataclass
class MatchResult:
    """The outcome of :func:`propensity_match`.

    Attributes
    ----------
    data : pd.DataFrame
        the input rows with ``_treated`` (0/1), ``_score`` (propensity)
        and ``_logit`` (its logit) added, in the input's order and index.
    matched : pd.DataFrame
        the matched rows (treated and controls) with ``_pair`` (the
        treated row's pair id; a control used by several treated rows appears
        once per pair), ``_weight`` (1 for treated, 1/k for each of a treated
        row's k controls) and the columns of ``data``.
    pairs : pd.DataFrame
        one row per (treated, control) link: index labels, pair id,
        logit distance.
    model : Any
        the fitted statsmodels logit.
    covariates : list[str]
        names of the design columns used for balance.

    Examples
    --------
    What :func:`propensity_match` returns: the matched rows, the pairs, and the balance:

    >>> import numpy as np
    >>> from kaigai_lib import generate, propensity_match, risk_set
    >>> world = generate("tiny", seed=0)
    >>> at_risk = risk_set(world.firms, "exporter", first_start_year=2006, last_start_year=2006).rows
    >>> at_risk = at_risk.assign(log_employees=np.log(at_risk["employees"]), log_sales=np.log(at_risk["sales"]))
    >>> match = propensity_match(at_risk, "start", ["log_employees", "log_sales"], unit="firm_id")
    >>> len(match.matched), len(match.pairs), match.covariates
    (38, 19, ['log_employees', 'log_sales'])
    >>> match.balance()[["smd_before", "smd_after", "variance_ratio_after"]].round(3)
                   smd_before  smd_after  variance_ratio_after
    covariate
    log_employees       0.825     -0.055                 1.192
    log_sales           1.082      0.028                 0.894
    """

    data: pd.DataFrame
    matched: pd.DataFrame
    pairs: pd.DataFrame
    model: Any
    covariates: list[str]
    design: pd.DataFrame
    settings: dict[str, Any]
    counts: dict[str, int]
    strata_without_controls: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = Counts(self.counts, layout=_match_counts_table)

    # ------------------------------------------------------------ the common interface
    def tidy(self) -> pd.DataFrame:
        """No effect is estimated by matching alone: one row of counts (``n_treated`` matched, ``n_control``
        distinct controls used, ``n_obs`` matched rows); :meth:`att` estimates the effect."""
        return order_tidy(pd.DataFrame([{"term": "matched sample", "n_treated": self.counts["matched_treated"],
                                         "n_control": self.counts["matched_controls"],
                                         "n_obs": len(self.matched)}]))

    def summary(self) -> str:
        """The matching settings and the counts, as text."""
        return str(self)

    def plot(self, ax: plt.Axes | None = None, **options: Any) -> plt.Axes:
        """The balance plot (:meth:`plot_balance`): standardised differences before and after matching."""
        return self.plot_balance(ax=ax, **options)

    def __str__(self) -> str:
        s = self.settings
        head = (f"Propensity score matching: 1:{s['ratio']} nearest neighbour on the logit score, "
                f"{'with' if s['replace'] else 'without'} replacement, caliper "
                f"{s['caliper']} SD ({s.get('caliper_sd', 'all')}; {s['caliper_width']:.4f} in logit units)"
                if s["caliper"] is not None else
                f"Propensity score matching: 1:{s['ratio']} nearest neighbour on the logit score, "
                f"{'with' if s['replace'] else 'without'} replacement, no caliper")
        if s["exact"]:
            head += f", exact on {s['exact']}"
        notes = "".join(f"\nnote: {n}" for n in s.get("notes", []))
        return head + "\n" + self.counts().to_string() + notes

    # ------------------------------------------------------------ balance
    def balance(self, addl: Sequence[str] = ()) -> pd.DataFrame:
        """Balance of every covariate before and after matching, with cobalt's conventions (ATT).

        ``type``: "binary" (two values, e.g. a dummy of ``C(industry)``) or
        "contin." ; ``diff``: cobalt's ``Diff`` — the standardised mean
        difference for a continuous covariate, the raw difference in
        proportions for a binary one; ``smd``: (treated mean − control
        mean) / SD of the treated group before matching for every covariate
        (the same denominator before and after, so the change is the change
        in the means); ``variance_ratio``: treated / control variance,
        continuous covariates only (NaN for binary ones, whose variance is
        fixed by the mean); ``ecdf_mean`` and ``ecdf_max``: the mean and the
        largest absolute difference between the two empirical CDFs. After
        matching, controls are weighted by ``_weight``. ``addl``: further
        numeric columns of ``data`` that are not in the logit (an outcome's
        pre-period level, a variable the score should not use), appended
        below the covariates (as cobalt's ``addl=``).
        """
        addl = list(addl)
        missing = [c for c in addl if c not in self.data.columns]
        if missing:
            raise KeyError(f"balance(): addl column(s) {missing} not in the data.")
        bad = {c: int(self.data[c].isna().sum()) for c in addl if self.data[c].isna().any()}
        if bad:
            raise ValueError(f"balance(): addl column(s) have missing values (column: rows) {bad}.")
        addl = [c for c in addl if c not in self.covariates]  # already in the table
        treated = self.data["_treated"].to_numpy() == 1
        # text that is all numbers is read; other text and infinite values are refused, naming the rows
        extra = pd.DataFrame({c: as_numbers(_as_dummy_or_number(self.data[c]), c, "balance(): addl") for c in addl},
                             index=self.data.index)
        design = pd.concat([self.design, extra], axis=1) if addl else self.design
        rows = []
        matched_index = self.matched.index
        matched_treated = self.matched["_treated"].to_numpy() == 1
        weights = self.matched["_weight"].to_numpy()
        after = design.loc[matched_index]
        for column in [*self.covariates, *addl]:
            x = design[column].to_numpy(float)
            binary = len(np.unique(x)) <= 2
            sd_treated = x[treated].std(ddof=1) if treated.sum() > 1 else np.nan
            xa = after[column].to_numpy(float)
            before_stats = _balance_stats(x[treated], x[~treated], np.ones(treated.sum()),
                                          np.ones((~treated).sum()), sd_treated, binary)
            after_stats = _balance_stats(xa[matched_treated], xa[~matched_treated], weights[matched_treated],
                                         weights[~matched_treated], sd_treated, binary)
            rows.append({"covariate": column, "type": "binary" if binary else "contin.",
                         **{f"{k}_before": v for k, v in before_stats.items()},
                         **{f"{k}_after": v for k, v in after_stats.items()}})
        return pd.DataFrame(rows).set_index("covariate")

    def plot_balance(self, threshold: float = 0.1, ax: plt.Axes | None = None,
                     covariates: Sequence[str] | None = None) -> plt.Axes:
        """Love plot: cobalt's ``|diff|`` (SMD; raw for binary) of each covariate before and after matching.

        ``covariates``: the rows to draw (default: all), e.g. without the
        dummies of ``exact`` strata, which are balanced by construction.
        """
        table = self.balance()
        if covariates is not None:
            table = table.loc[list(covariates)]
        ax = ax or plt.subplots(figsize=(6, 0.8 + 0.32 * len(table)))[1]
        positions = np.arange(len(table))
        ax.scatter(table["diff_before"].abs(), positions, marker="o", facecolors="none", edgecolors="grey",
                   label="before matching")
        ax.scatter(table["diff_after"].abs(), positions, marker="o", color="tab:blue", label="after matching")
        ax.axvline(threshold, color="tab:red", linestyle="--", linewidth=1, label=f"|diff| = {threshold}")
        ax.set_yticks(positions, table.index)
        ax.invert_yaxis()
        ax.set_xlabel("absolute mean difference (standardised; raw for binary covariates)")
        ax.legend(loc="lower right", fontsize="small")
        return ax

    def plot_overlap(self, bins: int = 40) -> plt.Figure:
        """Distributions of the logit score, treated vs controls, before and after matching."""
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
        edges = np.histogram_bin_edges(self.data["_logit"], bins=bins)
        for ax, frame, title in ((axes[0], self.data, "before matching"), (axes[1], self.matched, "after matching")):
            t = frame["_treated"] == 1
            w = frame.get("_weight", None)
            ax.hist(frame.loc[~t, "_logit"], bins=edges, density=True, alpha=0.5, color="grey", label="controls",
                    weights=None if w is None else w[~t])
            ax.hist(frame.loc[t, "_logit"], bins=edges, density=True, alpha=0.5, color="tab:blue", label="treated")
            ax.set_title(title)
            ax.set_xlabel("logit of the propensity score")
        axes[0].set_ylabel("density")
        axes[0].legend(fontsize="small")
        fig.tight_layout()
        return fig

    # ------------------------------------------------------------ effects
    def att(self, outcome: str, level: float = 0.95, *, firm: str | None = None) -> ATTResult:
        """ATT of ``outcome``: mean over matched treated rows of (own outcome − mean of its controls).

        Standard errors: without replacement, a regression of the outcome on
        the treatment dummy in the matched sample (controls weighted 1/k),
        clustered by pair — the approach MatchIt's documentation recommends —
        or, given ``firm`` (a column of firm ids), two-way by firm and pair
        (Cameron–Gelbach–Miller; statsmodels' two-column ``groups``): in a
        panel a firm is a control in several start years (and may be a
        starter later), so its rows are not independent across pairs;
        with replacement, the Abadie–Imbens (2006) estimator for the
        population ATT, with the conditional variances from J = 2 same-group
        neighbours on the logit score. Neither accounts for the estimation
        of the propensity score (Abadie & Imbens 2016); both treat the
        matched sample as given.
        """
        if not (is_number(level) and 0 < level < 1):
            raise ValueError(f"att(): level={level!r} must be a probability strictly between 0 and 1, e.g. 0.95.")
        if outcome not in self.data.columns:
            raise KeyError(f"att(): outcome '{outcome}' is not a column of the data.")
        # numbers of any dtype; text that is all numbers is read (with a warning), anything else is refused
        y = pd.Series(as_numbers(self.data[outcome], outcome, "att()"), index=self.data.index)
        values = y.loc[self.matched.index]
        missing = values.isna()
        if missing.any():
            raise ValueError(f"att(): outcome '{outcome}' is missing for {int(missing.sum())} matched rows "
                             f"(index {list(self.matched.index[missing][:5])}); compute it for every matched "
                             "row or drop those rows before matching.")
        from scipy import stats

        pairs = self.pairs
        y_t = y.loc[pairs["treated"]].to_numpy(float)
        y_c = y.loc[pairs["control"]].to_numpy(float)
        per_pair = pd.DataFrame({"pair": pairs["pair"].to_numpy(), "y_t": y_t, "y_c": y_c})
        by_pair = per_pair.groupby("pair").agg(y_t=("y_t", "first"), y_c=("y_c", "mean"))
        estimate = float((by_pair["y_t"] - by_pair["y_c"]).mean())
        if self.settings["replace"]:
            se = _abadie_imbens_se(self, y, by_pair, estimate)
            method = "Abadie–Imbens (2006), population ATT, J = 2"
        else:
            matched = self.matched
            exog = sm.add_constant(matched["_treated"].astype(float))
            groups = matched["_pair"].to_numpy()
            if firm is not None:
                if firm not in matched.columns:
                    raise KeyError(f"att(): firm column '{firm}' is not in the data.")
                unknown = matched[firm].isna().to_numpy()
                if unknown.any():
                    raise ValueError(f"att(): firm column '{firm}' is missing for {int(unknown.sum())} matched rows "
                                     f"(index {list(matched.index[unknown][:5])}); every row needs its firm to "
                                     "cluster by it. Fill it before matching (or pass firm=None: pairs only).")
                if matched[firm].nunique() < 2:
                    raise ValueError(f"att(): firm column '{firm}' takes one value in every matched row, so it "
                                     "makes one cluster and no standard error; is it the firm id?")
                groups = np.column_stack([pd.factorize(matched[firm])[0], groups])
            fit = sm.WLS(values.to_numpy(), exog, weights=matched["_weight"]).fit(
                cov_type="cluster", cov_kwds={"groups": groups})
            se = float(fit.bse["_treated"])
            method = ("regression on the matched sample, clustered by pair"
                      + (f" and by firm ('{firm}', two-way)" if firm is not None else ""))
        z = stats.norm.ppf(0.5 + level / 2)
        return ATTResult(outcome, estimate, se, estimate - z * se, estimate + z * se,
                         n_treated=len(by_pair), n_control=int(pairs["control"].nunique()), se_method=method)


def _as_dummy_or_number(values: pd.Series) -> pd.Series:
    """True/false as 1/0 and a categorical of numbers as its numbers: balance reads both (a dummy's balance is
    the difference in proportions); anything else goes to ``as_numbers`` as it is."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("Float64")
    if isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.is_numeric_dtype(values.cat.categories):
        return values.astype(float)
    return values


def _weighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    if len(x) == 0 or w.sum() == 0:
        return np.nan, np.nan
    mean = float(np.average(x, weights=w))
    var = float(np.average((x - mean) ** 2, weights=w))
    return mean, var


def _weighted_ecdf_gaps(a: np.ndarray, wa: np.ndarray, b: np.ndarray, wb: np.ndarray) -> tuple[float, float]:
    """Mean and maximum absolute difference between two weighted eCDFs, over the pooled values (cobalt's)."""
    if len(a) == 0 or len(b) == 0:
        return np.nan, np.nan
    values = np.unique(np.concatenate([a, b]))
    order_a, order_b = np.argsort(a), np.argsort(b)
    cdf_a = np.cumsum(wa[order_a]) / wa.sum()
    cdf_b = np.cumsum(wb[order_b]) / wb.sum()
    at_a = np.searchsorted(a[order_a], values, side="right")
    at_b = np.searchsorted(b[order_b], values, side="right")
    fa = np.where(at_a > 0, cdf_a[np.maximum(at_a - 1, 0)], 0.0)
    fb = np.where(at_b > 0, cdf_b[np.maximum(at_b - 1, 0)], 0.0)
    gaps = np.abs(fa - fb)
    return float(np.mean(gaps)), float(np.max(gaps))


def _balance_stats(xt: np.ndarray, xc: np.ndarray, wt: np.ndarray, wc: np.ndarray,
                   sd_treated: float, binary: bool = False) -> dict[str, float]:
    mean_t, var_t = _weighted_mean_var(xt, wt)
    mean_c, var_c = _weighted_mean_var(xc, wc)
    smd = (mean_t - mean_c) / sd_treated if sd_treated and sd_treated > 0 else np.nan
    ecdf_mean, ecdf_max = _weighted_ecdf_gaps(xt, wt, xc, wc)
    return {"mean_treated": mean_t, "mean_control": mean_c, "diff": mean_t - mean_c if binary else smd,
            "smd": smd,
            "variance_ratio": var_t / var_c if not binary and var_c and var_c > 0 else np.nan,
            "ecdf_mean": ecdf_mean, "ecdf_max": ecdf_max}


def _abadie_imbens_se(result: MatchResult, y: pd.Series, by_pair: pd.DataFrame, estimate: float) -> float:
    """Abadie & Imbens (2006) variance of the matching estimator of the population ATT.

    V = (1/N1²) [ Σ_treated (Y_i − Ŷ_i(0) − τ̂)² + Σ_controls K_M(i)(K_M(i) − 1)/M² · σ̂²(X_i) ],
    where K_M(i) counts how often control i is used (weighted by 1/M per
    match) and σ̂²(X_i) = J/(J+1)·(Y_i − mean of its J nearest same-group
    neighbours)², J = 2, neighbours on the logit score within the stratum.
    """
    ratio = result.settings["ratio"]
    n1 = len(by_pair)
    treated_term = float(((by_pair["y_t"] - by_pair["y_c"] - estimate) ** 2).sum())
    uses = result.pairs.groupby("control").size()  # K_M(i)·... : times used (each use weighs 1/M)
    controls = uses.index
    sigma2 = _same_group_variance(result, y, controls)
    k = uses.to_numpy(float)
    control_term = float((k * (k - 1) / ratio**2 * sigma2).sum())
    return float(np.sqrt((treated_term + control_term) / n1**2))


def _same_group_variance(result: MatchResult, y: pd.Series, rows: pd.Index, neighbours: int = 2) -> np.ndarray:
    data = result.data
    controls = data.loc[data["_treated"] == 0]
    strata = _strata_codes(controls, result.settings["exact"])
    out = np.empty(len(rows))
    position = pd.Series(np.arange(len(controls)), index=controls.index)
    logit = controls["_logit"].to_numpy()
    ranks = _row_ranks(controls)  # equally near neighbours in the order of their content, not of the rows
    values = y.loc[controls.index].to_numpy(float)
    for i, label in enumerate(rows):
        p = position[label]
        same = np.nonzero(strata == strata[p])[0]
        same = same[same != p]
        if len(same) == 0:
            out[i] = 0.0
            continue
        nearest = same[np.lexsort((ranks[same], np.abs(logit[same] - logit[p])))[:neighbours]]
        j = len(nearest)
        out[i] = j / (j + 1) * (values[p] - values[nearest].mean()) ** 2
    return out


# --------------------------------------------------------------------------- checks

def _strata_codes(frame: pd.DataFrame, exact: list[str] | None) -> np.ndarray:
    if not exact:
        return np.zeros(len(frame), dtype=np.int64)
    return frame.groupby(exact, sort=True, dropna=False).ngroup().to_numpy()


def _treatment_indicator(data: pd.DataFrame, treatment: str) -> np.ndarray:
    if treatment not in data.columns:
        raise KeyError(f"treatment column '{treatment}' is not in the data; available: {list(data.columns)}")
    indicator = as_binary(data[treatment], treatment, "propensity_match: treatment").astype(int)
    if indicator.sum() == 0:
        raise ValueError(f"no treated units: '{treatment}' is 0 for every row.")
    if indicator.sum() == len(indicator):
        raise ValueError(f"no control units: '{treatment}' is 1 for every row.")
    return indicator


def _check_index(data: pd.DataFrame) -> None:
    """Rows are told apart by their index labels (pairs, balance): a repeated label would mix rows up."""
    if data.index.has_duplicates:
        repeated = data.index[data.index.duplicated(keep=False)]
        raise ValueError(
            f"propensity_match: the data's index has {int(data.index.duplicated().sum())} repeated label(s) "
            f"(e.g. {list(pd.unique(repeated))[:5]}), e.g. from pd.concat without ignore_index=True; pairs are "
            "recorded by index label, so the rows cannot be told apart. Pass data.reset_index(drop=True) (or "
            "pd.concat(..., ignore_index=True)).")


def _check_options(covariates: str | Sequence[str], *, caliper: Any, replace: Any, ratio: Any, order: Any,
                   discard: Any, caliper_sd: Any) -> None:
    """propensity_match's options, each of the type and in the range it takes: a wrong one is refused, not read
    (``replace="no"`` is true, a text caliper fails inside NumPy)."""
    if order not in ORDERS:
        raise ValueError(f"order={order!r}: choose one of {ORDERS}.")
    if discard not in DISCARDS:
        raise ValueError(f"discard={discard!r}: choose one of {DISCARDS}.")
    if not isinstance(ratio, (int, np.integer)) or ratio < 1:
        raise ValueError(f"ratio={ratio!r}: must be a whole number ≥ 1.")
    if not isinstance(replace, (bool, np.bool_)):
        raise ValueError(f"propensity_match: replace={replace!r} must be True or False (any non-empty text would "
                         "read as True).")
    if caliper is not None and not (is_number(caliper) and caliper > 0):
        raise ValueError(f"caliper={caliper!r}: must be a number > 0 (in SDs of the logit score), or None.")
    if not (covariates.strip() if isinstance(covariates, str) else list(covariates)):
        raise ValueError("propensity_match: no covariates: the propensity score needs at least one (column names, or "
                         "a formula such as 'age + educ').")
    if caliper_sd not in CALIPER_SDS:
        raise ValueError(f"caliper_sd={caliper_sd!r}: choose 'all' (SD of the logit over every row) or 'pooled'.")


def _check_internal_names(data: pd.DataFrame, used: Sequence[Any]) -> None:
    """A column named like one propensity_match writes (``INTERNAL_COLUMNS``) would be overwritten: refused if the
    match reads it (it would read the wrong values, or replace them), else replaced in the result with a warning."""
    clashes = [c for c in INTERNAL_COLUMNS if c in data.columns]
    read = [c for c in clashes if c in set(used)]
    if read:
        raise ValueError(f"propensity_match: column(s) {read} are used by the match but have the names of columns "
                         f"it writes ({list(INTERNAL_COLUMNS)}); rename them first, e.g. "
                         f"data.rename(columns={{{read[0]!r}: {read[0].lstrip('_')!r}}}).")
    if clashes:
        warnings.warn(f"propensity_match: the data's column(s) {clashes} have the names of columns it writes; in "
                      "MatchResult.data and .matched they hold the match's values, not yours (rename them to keep "
                      "them).", UserWarning, stacklevel=3)


def _formula_columns(data: pd.DataFrame, covariates: str | Sequence[str]) -> list[Any]:
    """The columns of ``data`` that the covariates name (column names, or words of a formula)."""
    if not isinstance(covariates, str):
        return [c for c in covariates if c in data.columns]
    return [c for c in data.columns if isinstance(c, str) and (
        f"`{c}`" in covariates or (c.isidentifier() and re.search(rf"(?<![\w.]){re.escape(c)}(?!\w)", covariates)))]


def _clean_covariate_types(data: pd.DataFrame, covariates: str | Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Drop unused categories and read numbers stored as text; say what was done (warning + notes).

    An unused category becomes an all-zero dummy that makes the logit's Hessian singular (a false "perfect
    separation"); a number stored as text becomes one dummy per distinct value. Text that is partly numbers
    (e.g. "1,234" with a thousands separator) is refused, naming the column and values.
    """
    notes, changed = [], {}
    for column in _formula_columns(data, covariates):
        values = data[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            unused = [c for c in values.cat.categories if c not in set(values.dropna().unique())]
            if unused:
                changed[column] = values.cat.remove_unused_categories()
                notes.append(f"'{column}': dropped {len(unused)} unused categor{'y' if len(unused) == 1 else 'ies'} "
                             f"{unused[:5]} (no row has them)")
        elif (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)) and not (
                isinstance(covariates, str) and re.search(rf"C\(\s*`?{re.escape(column)}\b", covariates)):
            # (text inside C(...) is meant as categories, whatever it looks like)
            present = values.dropna()
            text = number_text(present)  # full-width digits and signs (１２３, －５) are the same numbers
            numbers = pd.to_numeric(text, errors="coerce")
            if len(present) and numbers.notna().all():
                changed[column] = numbers.reindex(values.index).astype(float)
                notes.append(f"'{column}': numbers stored as text read as numbers")
            elif numbers.notna().any() or text.str.fullmatch(NUMBER_LIKE).any():
                bad = text[numbers.isna()]
                raise ValueError(
                    f"propensity_match: covariate '{column}' holds numbers stored as text, but "
                    f"{len(bad)} value(s) are not numbers (e.g. {list(pd.unique(bad))[:5]} at index "
                    f"{list(bad.index[:5])}), e.g. thousands separators or codes for missing values. Convert "
                    f"the column with pd.to_numeric after fixing those values (or wrap it in C() for a "
                    "categorical made of text).")
    if changed:
        data = data.assign(**changed)
        warnings.warn("propensity_match: " + "; ".join(notes) + ".", UserWarning, stacklevel=3)
    return data, notes


def _covariate_design(data: pd.DataFrame, covariates: str | Sequence[str]) -> pd.DataFrame:
    """The logit's design matrix (no intercept column) from column names or a formula right-hand side."""
    if isinstance(covariates, str):
        rhs = covariates
    else:
        covariates = list(covariates)
        missing = [c for c in covariates if c not in data.columns]
        if missing:
            raise KeyError(f"covariate column(s) {missing} not in the data; available: {list(data.columns)}")
        rhs = " + ".join(f"`{c}`" for c in covariates)
    if "Intercept" in _formula_columns(data, rhs):  # its dummy would be taken for the logit's own constant
        raise ValueError("propensity_match: a covariate is named 'Intercept', the name of the logit's constant "
                         "term, so it would be dropped without a word; rename it first, e.g. "
                         "data.rename(columns={'Intercept': 'intercept_value'}).")
    # Stata-style narrow types (int8, float32) overflow or lose precision in terms such as I(age**2)
    narrow = {c: ("float64" if pd.api.types.is_float_dtype(t) else "int64") for c, t in data.dtypes.items()
              if (pd.api.types.is_integer_dtype(t) or pd.api.types.is_float_dtype(t)) and t.itemsize < 8
              and not pd.api.types.is_bool_dtype(t)}
    if narrow:
        data = data.astype(narrow)
    try:
        design = model_matrix(rhs, data, na_action="raise", ensure_full_rank=True)
    except Exception as error:  # formulaic reports unknown names and missing values in its own words
        names = [c for c in data.columns if c in rhs]
        nan_counts = {c: int(data[c].isna().sum()) for c in names if data[c].isna().any()}
        if nan_counts:
            first_rows = data.index[data[list(nan_counts)].isna().any(axis=1)][:5]
            raise ValueError(
                f"covariates have missing values: {nan_counts} (rows with any missing: "
                f"{int(data[list(nan_counts)].isna().any(axis=1).sum())}, e.g. index {list(first_rows)}). "
                "Impute them or drop those rows explicitly (and report how many) before matching.") from error
        raise ValueError(f"cannot build the covariates from {rhs!r}: {error}") from error
    design = pd.DataFrame(design, index=data.index)
    design = design.drop(columns=[c for c in design.columns if c == "Intercept"])
    infinite = ~np.isfinite(design.to_numpy(float))
    if infinite.any():
        columns = [str(c) for c, bad in zip(design.columns, infinite.any(axis=0), strict=True) if bad]
        rows = design.index[infinite.any(axis=1)]
        raise ValueError(
            f"covariates have infinite values: {columns} in {len(rows)} row(s) (e.g. index {list(rows[:5])}), "
            "e.g. the log of a zero or a division by zero. Fix those values (or drop those rows explicitly, "
            "and report how many) before matching.")
    constant = [c for c in design.columns if design[c].nunique() <= 1]
    if constant and len(constant) < design.shape[1]:
        # the same column as the intercept: it leaves the score unchanged but stalls the optimiser's Hessian
        warnings.warn(f"propensity_match: covariate(s) {[str(c) for c in constant]} take one value in every "
                      "row; they cannot predict treatment and are left out of the logit.", UserWarning, stacklevel=3)
        design = design.drop(columns=constant)
    return design


LOGIT_NEWTON_STEPS = 200  # the propensity logit's iteration limit


def _fit_logit(treated: np.ndarray, design: pd.DataFrame) -> Any:
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

    exog = sm.add_constant(design.astype(float), has_constant="add")
    separating = [c for c in design.columns
                  if design.loc[treated == 1, c].min() > design.loc[treated == 0, c].max()
                  or design.loc[treated == 1, c].max() < design.loc[treated == 0, c].min()]
    message = ("perfect separation: the covariates predict treatment exactly, so the propensity score is "
               "0 or 1 and treated and control units have no overlap"
               + (f" (treated and controls do not overlap on {separating})" if separating else "")
               + (f"; with {int(min(treated.sum(), len(treated) - treated.sum()))} row(s) in the smaller group for "
                  f"{design.shape[1]} covariate column(s), too few to estimate a score (use fewer covariates or "
                  "pool more start years)"
                  if min(treated.sum(), len(treated) - treated.sum()) <= design.shape[1] else "")
               + ". Drop or coarsen the separating covariate(s), or restrict the sample to common support.")
    if separating:  # one covariate alone splits the groups: no need to watch the optimiser diverge
        raise ValueError(message)
    from threadpoolctl import threadpool_limits

    try:
        # One BLAS thread: the Hessian is a (n × k)ᵀ(n × k) product that threads gain nothing on at these
        # sizes, and on a loaded 2-core machine OpenBLAS's threads oversubscribe it (≈ 1 s per Newton step
        # instead of ≈ 10 ms for 55,000 rows × 33 columns).
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("error", PerfectSeparationWarning)
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow in exp() on the way to separation
            warnings.simplefilter("ignore", ConvergenceWarning)  # said below, in words, with what to check
            fit = sm.Logit(treated, exog).fit(disp=False, maxiter=LOGIT_NEWTON_STEPS, method="newton")
    except np.linalg.LinAlgError as error:
        redundant = _collinear_columns(exog)
        if redundant:
            raise ValueError(f"propensity_match: the covariates are collinear — {redundant} is a linear combination "
                             "of the covariates before it (a copy of one under another name, or a dummy set "
                             "with its sum); drop it.") from error
        raise ValueError(message) from error
    except (PerfectSeparationError, PerfectSeparationWarning) as error:
        raise ValueError(message) from error
    if not fit.mle_retvals.get("converged", True):
        warnings.warn(f"propensity_match: the propensity logit did not converge in {LOGIT_NEWTON_STEPS} Newton steps "
                      "(near-separation or nearly collinear covariates), so the scores and the matches may be off: "
                      "check match.balance() and match.plot_overlap(), and drop or coarsen covariates that "
                      "(almost) predict treatment.", UserWarning, stacklevel=4)
    fitted = fit.predict()
    if np.mean((fitted < 1e-10) | (fitted > 1 - 1e-10)) > 0.5:
        raise ValueError(message)
    return fit


def _collinear_columns(exog: pd.DataFrame) -> list[str]:
    """The columns of ``exog`` that add nothing to the rank of those before them (scaled to unit length first)."""
    values = exog.to_numpy(float)
    norms = np.linalg.norm(values, axis=0)
    values = values / np.where(norms > 0, norms, 1.0)
    kept: list[int] = []
    redundant = []
    for j, name in enumerate(exog.columns):
        if np.linalg.matrix_rank(values[:, [*kept, j]]) > len(kept):
            kept.append(j)
        else:
            redundant.append(str(name))
    return redundant


# --------------------------------------------------------------------------- matching

class _Available:
    """Controls sorted by (stratum, logit), with 'next unused to the left/right' pointers (path-compressed)."""

    def __init__(self, n: int):
        self.left = np.arange(n)
        self.right = np.arange(n)
        self.n = n

    def _find(self, parent: np.ndarray, i: int) -> int:
        root = i
        while 0 <= root < self.n and parent[root] != root:
            root = parent[root]
        while 0 <= i < self.n and parent[i] != i:
            parent[i], i = root, parent[i]
        return root

    def nearest_left(self, i: int) -> int:
        return -1 if i < 0 else self._find(self.left, i)

    def nearest_right(self, i: int) -> int:
        return self.n if i >= self.n else self._find(self.right, i)

    def remove(self, i: int) -> None:
        self.left[i] = i - 1
        self.right[i] = i + 1


def _nearest_links(frame: pd.DataFrame, linear: np.ndarray, strata: np.ndarray, control_rows: np.ndarray,
                   treated_rows: np.ndarray, exact_cols: list[str], replace: bool, caliper_width: float, ratio: int,
                   units: np.ndarray | None, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Each treated row's nearest controls on the logit within its exact stratum (and the caliper).

    Returns the (treated row, control row) links, a mask of treated rows whose stratum has no control, and
    those strata's labels.
    """
    # Controls sorted by (stratum, logit); a combined key keeps every search inside the stratum's block.
    spread = 2 * float(np.abs(linear).max()) + 1.0
    c_key = strata[control_rows] * spread + linear[control_rows]
    order_c = np.lexsort((ranks[control_rows], c_key))  # equal scores in _row_ranks order
    control_rows, c_key = control_rows[order_c], c_key[order_c]
    c_strata, c_logit = strata[control_rows], linear[control_rows]
    t_strata, x = strata[treated_rows], linear[treated_rows]
    starts = np.searchsorted(c_strata, t_strata, side="left")
    ends = np.searchsorted(c_strata, t_strata, side="right")
    positions = np.searchsorted(c_key, t_strata * spread + x)
    no_controls = starts == ends
    strata_without: list[Any] = []
    if exact_cols and no_controls.any():
        labels = frame.iloc[treated_rows[no_controls]][exact_cols].drop_duplicates()
        strata_without = [tuple(r) for r in labels.itertuples(index=False)]
    links = (_match_with_replacement if replace else _match_without_replacement)(
        treated_rows, positions, starts, ends, c_logit, x, control_rows, caliper_width, ratio,
        units=None if units is None else units[control_rows])
    if replace and len(links):
        links = _with_tied_controls(links, treated_rows, starts, ends, c_logit, x, control_rows)
    return links, no_controls, strata_without


def _with_tied_controls(links: np.ndarray, treated_rows: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                        c_logit: np.ndarray, x: np.ndarray, control_rows: np.ndarray) -> np.ndarray:
    """With replacement, every control as near as a treated row's farthest chosen one joins it (ties averaged,
    as ``ties = TRUE`` in R's Matching): picking one of several equally near controls by any rule would make
    the estimate depend on that rule (and a rule that reads the rows' values can pick by the outcome)."""
    position_of = {row: i for i, row in enumerate(treated_rows)}
    control_position = np.empty(int(control_rows.max()) + 1, dtype=np.int64)
    control_position[control_rows] = np.arange(len(control_rows))
    chosen = pd.DataFrame({"treated": links[:, 0], "control": control_position[links[:, 1]]})
    chosen["i"] = chosen["treated"].map(position_of).to_numpy()
    chosen["distance"] = np.abs(c_logit[chosen["control"].to_numpy()] - x[chosen["i"].to_numpy()])
    by_treated = chosen.groupby("i", sort=True)["distance"]
    farthest, n_chosen = by_treated.max(), by_treated.size()
    extra = []
    for i, radius in farthest.items():
        # the block is sorted by logit (up to rounding in the sort key): search with a margin, then test exactly
        block = c_logit[starts[i]:ends[i]]
        margin = 1e-9 * (1.0 + abs(x[i]) + radius)
        lo = starts[i] + int(np.searchsorted(block, x[i] - radius - margin, side="left"))
        hi = starts[i] + int(np.searchsorted(block, x[i] + radius + margin, side="right"))
        near = np.arange(lo, hi)
        within = near[np.abs(c_logit[near] - x[i]) <= radius]
        if len(within) > n_chosen[i]:
            extra.append(np.column_stack([np.full(len(within), treated_rows[i]), control_rows[within]]))
    if not extra:
        return links
    tied_rows = set(np.concatenate(extra)[:, 0].tolist())
    kept = links[~np.isin(links[:, 0], list(tied_rows))]
    return np.concatenate([kept, *extra]).astype(np.int64)


def _matched_rows(frame: pd.DataFrame, linear: np.ndarray, links: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The links as ``pairs`` (index labels, pair id, logit distance) and the matched rows with ``_pair`` and
    ``_weight`` (1 for treated, 1/k for each of a treated row's k controls)."""
    index = frame.index
    pairs = pd.DataFrame({"treated": index[links[:, 0]], "control": index[links[:, 1]],
                          "distance": np.abs(linear[links[:, 0]] - linear[links[:, 1]])})
    pairs.insert(0, "pair", pd.factorize(links[:, 0])[0])
    per_treated = pairs.groupby("pair")["control"].transform("size").to_numpy()
    first_link = pairs.drop_duplicates("pair")
    treated_part = frame.loc[first_link["treated"]].copy()
    treated_part["_pair"] = first_link["pair"].to_numpy()
    treated_part["_weight"] = 1.0
    control_part = frame.loc[pairs["control"]].copy()
    control_part["_pair"] = pairs["pair"].to_numpy()
    control_part["_weight"] = 1.0 / per_treated
    return pairs, pd.concat([treated_part, control_part]).sort_values("_pair", kind="stable")


def propensity_match(data: pd.DataFrame, treatment: str, covariates: str | Sequence[str], *,
                     exact: str | Sequence[str] | None = None, caliper: float | None = 0.2,
                     replace: bool = False, ratio: int = 1, order: str = "largest", discard: str = "none",
                     unit: str | None = None, random_state: int = 0, caliper_sd: str = "all") -> MatchResult:
    """Nearest-neighbour propensity score matching.

    Parameters
    ----------
    data : pd.DataFrame
        one row per unit (or unit-year) at risk of treatment.
    treatment : str
        a 0/1 (or boolean) column.
    covariates : str | Sequence[str]
        column names, or a formula right-hand side such as
        ``"age + I(age**2) + educ*black + C(industry)"`` (formulaic syntax).
    exact : str | Sequence[str] | None, optional
        column(s) that matched pairs must share (e.g. ``["year", "industry"]``).
    caliper : float | None, optional
        maximum distance in standard deviations of the logit score;
        ``None`` for no caliper. Matching is on the logit of the score
        (MatchIt's ``distance = "glm", link = "linear.logit"``).
    caliper_sd : str, optional
        the SD the caliper is measured in: "all" (default, as
        MatchIt: the SD of the logit over every row used in the logit) or
        "pooled" (Austin 2011: √((s²_treated + s²_control)/2)).
    replace : bool, optional
        whether a control may be matched to several treated rows. With
        replacement, controls exactly as near as a treated row's ``ratio``-th
        nearest are all kept, each weighted 1/k (R Matching's ``ties = TRUE``);
        without, equally near controls are taken in a fixed pseudo-random order
        of their content, unrelated to the size of any value (so neither the
        rows' order, nor their labels, nor an outcome decides the pick).
    ratio : int, optional
        controls per treated row (1:k).
    order : str, optional
        order in which treated rows pick their controls (matters
        without replacement): "largest" or "smallest" score first, "random"
        or "data" (row order).
    discard : str, optional
        drop rows off common support before matching (within each
        ``exact`` stratum): "none", "treated", "control" or "both".
    unit : str | None, optional
        a unit identifier (e.g. firm id): once a control row of a unit is
        used, no other row of that unit is used as a control (without
        replacement), so one firm cannot serve as a control in several years.
    random_state : int, optional
        seed for order="random".

    Examples
    --------
    Match the firms that start exporting in 2006 to firms at risk that do not, on size and sales in
    2005 (the base year):

    >>> import numpy as np
    >>> from kaigai_lib import generate, propensity_match, risk_set
    >>> world = generate("tiny", seed=0)
    >>> at_risk = risk_set(world.firms, "exporter", first_start_year=2006, last_start_year=2006).rows
    >>> at_risk = at_risk.assign(log_employees=np.log(at_risk["employees"]), log_sales=np.log(at_risk["sales"]))
    >>> match = propensity_match(at_risk, "start", ["log_employees", "log_sales"], unit="firm_id")
    >>> match.counts()
                                                           count
    group   status
    treated all                                               19
            matched                                           19
            discarded (off common support)                     0
            unmatched: no control in its stratum               0
            unmatched: no control left within the caliper      0
    control all                                              919
            discarded (off common support)                     0
            used as matches (distinct rows)                   19
    >>> match.att("log_sales").tidy()[["outcome", "estimate", "std_error", "n_treated", "n_control"]].round(3)
         outcome  estimate  std_error  n_treated  n_control
    0  log_sales     0.024       0.06         19         19
    """
    _check_options(covariates, caliper=caliper, replace=replace, ratio=ratio, order=order, discard=discard,
                   caliper_sd=caliper_sd)
    check_frame(data, "propensity_match")
    _check_index(data)
    data, notes = _clean_covariate_types(data, covariates)
    exact_cols = [exact] if isinstance(exact, str) else list(exact or [])
    needed = [*exact_cols, *([unit] if unit else [])]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise KeyError(f"column(s) {missing} (exact/unit) not in the data; available: {list(data.columns)}")
    for column in needed:
        if data[column].isna().any():
            raise ValueError(f"'{column}' is missing for {int(data[column].isna().sum())} rows; exact strata and "
                             "units must be known for every row.")
    _check_internal_names(data, [treatment, *needed, *_formula_columns(data, covariates)])

    treated = _treatment_indicator(data, treatment)
    design = _covariate_design(data, covariates)
    fit = _fit_logit(treated, design)
    # the logit of the score, to 12 decimals: the fit on a reordered copy of the rows differs in the last bits
    # (sums in another order), which must not reorder nearly equal scores
    linear = np.round(np.asarray(fit.fittedvalues, dtype=float), 12)
    frame = data.copy()
    frame["_treated"] = treated
    frame["_logit"] = linear
    frame["_score"] = 1 / (1 + np.exp(-linear))
    if caliper_sd == "pooled":
        sd = float(np.sqrt((np.var(linear[treated == 1], ddof=1) + np.var(linear[treated == 0], ddof=1)) / 2))
    else:
        sd = float(np.std(linear, ddof=1))
    caliper_width = caliper * sd if caliper is not None else np.inf

    strata = _strata_codes(frame, exact_cols)
    keep = _common_support(linear, treated, strata, discard)
    counts = {"treated": int(treated.sum()), "controls": int((1 - treated).sum()),
              "discarded_treated": int(((treated == 1) & ~keep).sum()),
              "discarded_controls": int(((treated == 0) & ~keep).sum())}

    ranks = _row_ranks(data)
    treated_rows = _treated_order(np.nonzero((treated == 1) & keep)[0], linear, order, random_state, ranks)
    links, no_controls, strata_without = _nearest_links(
        frame, linear, strata, np.nonzero((treated == 0) & keep)[0], treated_rows, exact_cols, replace,
        caliper_width, ratio, None if unit is None else frame[unit].to_numpy(), ranks)

    matched_treated = np.unique(links[:, 0]) if len(links) else np.array([], dtype=int)
    counts.update({
        "matched_treated": len(matched_treated),
        "unmatched_no_controls": int(no_controls.sum()),
        "unmatched_caliper": int(len(treated_rows) - no_controls.sum() - len(matched_treated)),
        "matched_controls": len(np.unique(links[:, 1])) if len(links) else 0,
    })
    if counts["matched_treated"] == 0:
        raise ValueError(
            "no overlap: no treated row found a control"
            + (f" within the caliper ({caliper} SD of the logit)" if caliper is not None else "")
            + (f" in its {exact_cols} stratum" if exact_cols else "")
            + ". Widen the caliper, coarsen the exact strata, or check the covariates.")

    pairs, matched = _matched_rows(frame, linear, links)
    settings = {"treatment": treatment, "exact": exact_cols, "caliper": caliper, "caliper_width": caliper_width,
                "replace": replace, "ratio": int(ratio), "order": order, "discard": discard, "unit": unit,
                "caliper_sd": caliper_sd, "notes": notes}
    return MatchResult(data=frame, matched=matched, pairs=pairs, model=fit, covariates=list(design.columns),
                       design=design, settings=settings, counts=counts, strata_without_controls=strata_without)


def _common_support(linear: np.ndarray, treated: np.ndarray, strata: np.ndarray, discard: str) -> np.ndarray:
    keep = np.ones(len(linear), dtype=bool)
    if discard == "none":
        return keep
    frame = pd.DataFrame({"x": linear, "t": treated, "s": strata})
    ranges = frame.groupby(["s", "t"])["x"].agg(["min", "max"]).unstack("t")
    for group, other, flag in ((1, 0, ("treated", "both")), (0, 1, ("control", "both"))):
        if discard not in flag:
            continue
        lo = frame["s"].map(ranges[("min", other)]).to_numpy()
        hi = frame["s"].map(ranges[("max", other)]).to_numpy()
        outside = (treated == group) & ~((linear >= lo) & (linear <= hi))  # NaN range: no other group → off
        keep &= ~outside
    return keep


def _treated_order(rows: np.ndarray, linear: np.ndarray, order: str, random_state: int,
                   ranks: np.ndarray) -> np.ndarray:
    # equal scores (rows with the same covariates) go in the order of _row_ranks, not of the rows
    if order == "largest":
        return rows[np.lexsort((ranks[rows], -linear[rows]))]
    if order == "smallest":
        return rows[np.lexsort((ranks[rows], linear[rows]))]
    if order == "random":
        return np.random.default_rng(random_state).permutation(rows[np.argsort(ranks[rows])])
    return rows


def _row_ranks(data: pd.DataFrame) -> np.ndarray:
    """Each row's rank in a fixed pseudo-random order of its content, which breaks ties on the logit (rows with
    the same covariates).

    Ties broken by row position would make the match depend on the order of the rows (a sorted and a shuffled
    copy of the same frame would give different pairs), and by index label on how the rows are labelled. Tied
    rows share their covariates, so only their other columns (ids, outcomes) tell them apart; ranking by those
    values would pick, among equally near controls, the one with the lowest outcome or id — a bias. So the rows
    are ranked by a hash of their values (numbers hashed as numbers whatever their dtype, anything else as
    text; constant and repeated columns left out; the columns' names and order not read), which is unrelated
    to any value's size, then by index label for rows equal in every column (interchangeable, so their order
    changes no estimate). The columns this module writes (``_treated``, ``_pair`` …) are not read.
    """
    # summed (wrapping) per column, so the key does not depend on the columns' names or order; a constant column,
    # or a copy of another, tells no rows apart: left out, so adding one changes no pick
    hashed = np.zeros(len(data), dtype=np.uint64)
    position_hash = pd.util.hash_array(np.arange(len(data), dtype=np.int64))
    seen: set[int] = set()
    for column in (c for c in data.columns if c not in INTERNAL_COLUMNS):
        values = data[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            content = values.to_numpy(dtype=float, na_value=np.nan)
        else:  # numbers stored as text (a CSV read with dtype=str) hash as the numbers they are
            numbers = pd.to_numeric(values.astype(object).where(values.notna()), errors="coerce")
            content = (numbers.to_numpy(dtype=float) if numbers.notna().sum() == values.notna().sum()
                       else values.astype(str).to_numpy(dtype=object))
        column_hash = pd.util.hash_array(content)
        signature = int((pd.util.hash_array(column_hash) * position_hash).sum())  # which value in which row
        if len(column_hash) and (column_hash != column_hash[0]).any() and signature not in seen:
            seen.add(signature)
            hashed += column_hash
    try:
        labels = np.asarray(data.index.argsort(), dtype=np.int64)
    except TypeError:  # labels of mixed types: any fixed order of them will do
        labels = np.argsort(np.array([repr(label) for label in data.index], dtype=object), kind="stable")
    label_rank = np.empty(len(data), dtype=np.int64)
    label_rank[labels] = np.arange(len(data))
    order = np.lexsort([label_rank, hashed])  # lexsort's last key is the primary one
    ranks = np.empty(len(data), dtype=np.int64)
    ranks[order] = np.arange(len(data))
    return ranks


def _match_with_replacement(treated_rows, positions, starts, ends, c_logit, x, control_rows, caliper_width,
                            ratio, units=None) -> np.ndarray:
    """Each treated row takes its ``ratio`` nearest controls of its stratum block (vectorised)."""
    del units  # a unit restriction only binds without replacement
    offsets = np.arange(-ratio, ratio)
    candidates = positions[:, None] + offsets[None, :]
    valid = (candidates >= starts[:, None]) & (candidates < ends[:, None])
    candidates = np.clip(candidates, 0, max(len(c_logit) - 1, 0))
    distance = np.where(valid, np.abs(c_logit[candidates] - x[:, None]), np.inf)
    distance[distance > caliper_width] = np.inf
    ranked = np.argsort(distance, axis=1, kind="stable")[:, :ratio]
    chosen_distance = np.take_along_axis(distance, ranked, axis=1)
    chosen = np.take_along_axis(candidates, ranked, axis=1)
    ok = np.isfinite(chosen_distance)
    t = np.repeat(treated_rows, ratio).reshape(-1, ratio)
    return np.column_stack([t[ok], control_rows[chosen[ok]]]).astype(np.int64)


def _match_without_replacement(treated_rows, positions, starts, ends, c_logit, x, control_rows, caliper_width,
                               ratio, units=None) -> np.ndarray:
    """Greedy nearest neighbour in the given order; ``ratio`` rounds of one control per treated row."""
    available = _Available(len(c_logit))
    unit_rows: dict[Any, list[int]] = {}
    if units is not None:
        for i, u in enumerate(units):
            unit_rows.setdefault(u, []).append(i)
    links = []
    for _ in range(ratio):
        for i, row in enumerate(treated_rows):
            lo, hi, p = starts[i], ends[i], positions[i]
            if lo == hi:
                continue
            left = available.nearest_left(p - 1)
            right = available.nearest_right(p)
            best, best_d = -1, np.inf
            if left >= lo:
                best, best_d = left, x[i] - c_logit[left]
            if right < hi and c_logit[right] - x[i] < best_d:
                best, best_d = right, c_logit[right] - x[i]
            if best < 0 or best_d > caliper_width:
                continue
            links.append((row, control_rows[best]))
            for j in unit_rows[units[best]] if units is not None else (best,):
                available.remove(j)
    return np.array(links, dtype=np.int64).reshape(-1, 2)
