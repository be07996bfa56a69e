"""Production functions and total factor productivity (全要素生産性).

Four estimators of a (log) value-added production function

    y_it = Σ_j β_j · x_jit + β_k · k_it + ω_it + ε_it,

where ``x`` are the free inputs (labour), ``k`` the state (capital), ``ω``
productivity that the firm knows when it chooses its inputs and ``ε`` noise
it does not:

* :func:`ols_production` — pooled OLS. Inputs respond to ω, so the labour
  coefficient is biased upward (transmission bias, 伝達バイアス).
* :func:`fixed_effects_production` — the within estimator
  (``linearmodels.PanelOLS``): removes the time-invariant part of ω only.
* :func:`levinsohn_petrin` — Levinsohn & Petrin (2003): intermediate inputs
  proxy for ω (control function, 代理変数), as in Stata's ``levpet`` and R's
  ``prodest`` (``prodestLP``). Firm-block bootstrap standard errors.
* :func:`ackerberg_caves_frazer` — Ackerberg, Caves & Frazer (2015): when
  labour is itself a function of (ω, k), LP's first stage cannot identify
  β_l; ACF identifies every coefficient in the second stage instead.

All take a DataFrame of *logged* columns (use :func:`log_columns` to take
logs with a clear error on non-positive values) and column names, so they
run on 企業活動基本調査 microdata, on the synthetic world and on textbook data
(the Chilean plant panel shipped with prodest) alike. ``by="industry"``
estimates each industry separately in one call.

No maintained Python implementation of LP/ACF exists; these are written from
the papers, following the steps of ``prodest`` (Rovigatti & Mollisi, 2018),
and the test suite checks that they reproduce its published estimates.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import optimize
from tqdm.auto import tqdm

from kaigai_lib.data.schema import (
    as_numbers,
    as_years,
    check_frame,
    is_number,
    key_problems,
    kinds_problem,
    label_form,
    listed,
    rows_text,
    variant_problem,
)
from kaigai_lib.data.schema import require_columns as _require_columns
from kaigai_lib.estimators.results import Z_95, add_truth, normal_inference, order_tidy, summary_block

MIN_FIRMS = 20  # fewer firms than this cannot support a semiparametric two-step estimate


class ProxyWarning(UserWarning):
    """The proxy does not behave as the control-function approach needs."""


class OptimizerWarning(UserWarning):
    """The second-stage optimiser stopped without converging: the estimate is not a minimum."""


def _warn_if_not_converged(outcome: Any, where: str) -> None:
    if not getattr(outcome, "success", True):
        warnings.warn(f"{where}: the second-stage optimiser did not converge ({getattr(outcome, 'message', '')!s}; "
                      f"{getattr(outcome, 'nfev', '?')} evaluations). The estimate is not a minimum of the "
                      "criterion: try another start value, or check identification (see the ACF discussion).",
                      OptimizerWarning, stacklevel=3)


# --------------------------------------------------------------------------- results

@dataclass
class ProductionResult:
    """An estimated production function.

    Attributes
    ----------
    method : str
        "OLS", "FE", "LP" or "ACF".
    coef, std_error : pd.Series
        Series indexed by input column name (``std_error`` is NaN where not computed).
    output : str
        the output column; ``inputs`` the input columns in ``coef`` order.
    n_obs : int
        rows used in the first stage (or the only stage);
    n_second_stage : int | None
        rows with a lag, used in the second stage (LP/ACF).
    n_firms : int
        firms in the estimation sample.
    bootstrap : int
        replications behind ``std_error`` (0 for analytic standard errors).
    details : dict[str, Any]
        fitted pieces (first-stage coefficients, optimiser outcome, the
        bootstrap draws) for readers who want to look inside.

    Examples
    --------
    The result of any of the production-function estimators:

    >>> from kaigai_lib import (ackerberg_caves_frazer, fixed_effects_production, generate, levinsohn_petrin,
    ...                         log_columns, ols_production)
    >>> world = generate("tiny", seed=0)
    >>> firms = log_columns(world.firms, ["value_added", "employees", "capital_stock", "intermediate_inputs"])
    >>> ols = ols_production(firms, "log_value_added", ["log_employees", "log_capital_stock"], "firm_id", "year")
    >>> ols.method, ols.output, ols.inputs, ols.n_firms
    ('OLS', 'log_value_added', ['log_employees', 'log_capital_stock'], 2647)
    >>> ols.coef.round(3)
    log_employees        0.912
    log_capital_stock    0.116
    dtype: float64
    >>> ols.tfp(firms).describe().round(2)[["count", "mean"]]
    count    38179.00
    mean         1.75
    Name: log_tfp, dtype: float64
    """

    method: str
    coef: pd.Series
    std_error: pd.Series
    output: str
    n_obs: int
    n_firms: int
    n_second_stage: int | None = None
    bootstrap: int = 0
    group: Any = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def inputs(self) -> list[str]:
        return list(self.coef.index)

    def tidy(self, truth: pd.Series | None = None) -> pd.DataFrame:
        """One row per input (``term``): estimate, std_error, p_value, 95 % interval, n_obs (and truth, bias)."""
        table = pd.DataFrame({"term": self.inputs, "estimate": self.coef.to_numpy(),
                              "std_error": self.std_error.to_numpy()})
        table = table.assign(**normal_inference(table["estimate"], table["std_error"]), n_obs=self.n_obs,
                             n_firms=self.n_firms, method=self.method)
        if truth is not None:
            table = add_truth(table, truth.reindex(self.inputs))
        return order_tidy(table)

    def summary(self) -> str:
        """The method, the sample and the coefficients, as text."""
        se_note = (f"firm-block bootstrap, {self.bootstrap} replications" if self.bootstrap
                   else "not computed" if self.std_error.isna().all() else "analytic, clustered by firm (CRV1, "
                   "G/(G−1)·(N−1)/(N−K)" + (", the firm effects nested in the firm clusters not counted in K, as "
                                           "Stata's xtreg, fe and reghdfe)" if self.method == "FE" else ")"))
        lines = [f"observations: {self.n_obs:,} ({self.n_firms:,} firms)"
                 + (f"; second stage: {self.n_second_stage:,}" if self.n_second_stage is not None else ""),
                 f"standard errors: {se_note}"]
        title = f"{self.method} production function for {self.output}" + (
            f" [{self.group}]" if self.group is not None else "")
        table = self.tidy().set_index("term")[["estimate", "std_error", "p_value", "ci_low", "ci_high"]]
        return summary_block(title, table, lines=lines)

    def __str__(self) -> str:
        return self.summary()

    def tfp(self, data: pd.DataFrame) -> pd.Series:
        """Log TFP per row: output minus the estimated contribution of every input."""
        _require_columns(data, [self.output, *self.inputs], "tfp()")
        # each column read exactly as the estimator read it (text numbers included), so the data that was
        # fitted can always be scored
        output = _column_numbers(data, self.output, "tfp()")
        inputs = np.column_stack([_column_numbers(data, column, "tfp()") for column in self.inputs])
        return pd.Series(output - inputs @ self.coef.to_numpy(), index=data.index, name="log_tfp")

    def plot(self, truth: pd.Series | None = None, ax: plt.Axes | None = None) -> plt.Axes:
        """Coefficients with 95 % intervals, and the true values where known."""
        ax = ax or plt.subplots(figsize=(5, 0.6 + 0.5 * len(self.coef)))[1]
        positions = np.arange(len(self.coef))
        error = Z_95 * self.std_error.fillna(0)
        ax.errorbar(self.coef, positions, xerr=error, fmt="o", capsize=3, label=self.method)
        if truth is not None:
            ax.scatter(truth.reindex(self.inputs), positions, marker="x", color="black", zorder=3, label="truth")
        ax.set_yticks(positions, self.inputs)
        ax.set_xlabel("coefficient")
        ax.legend(loc="best", fontsize="small")
        return ax


@dataclass
class GroupedProductionResult:
    """One :class:`ProductionResult` per group (e.g. industry), from one call with ``by=``.

    Examples
    --------
    One call with ``by=`` gives one result per group:

    >>> from kaigai_lib import (ackerberg_caves_frazer, fixed_effects_production, generate, levinsohn_petrin,
    ...                         log_columns, ols_production)
    >>> world = generate("tiny", seed=0)
    >>> firms = log_columns(world.firms, ["value_added", "employees", "capital_stock", "intermediate_inputs"])
    >>> grouped = ols_production(firms, "log_value_added", ["log_employees", "log_capital_stock"], "firm_id",
    ...                          "year", by="industry")
    >>> grouped.by, sorted(grouped.results)[:3]
    ('industry', ['chemicals', 'electrical', 'food'])
    >>> grouped.coef.round(3).head(3)
                log_employees  log_capital_stock
    industry
    chemicals           0.771              0.260
    electrical          0.933              0.148
    food                0.897              0.123
    """

    by: str
    results: dict[Any, ProductionResult]

    @property
    def coef(self) -> pd.DataFrame:
        return pd.DataFrame({g: r.coef for g, r in self.results.items()}).T.rename_axis(self.by)

    @property
    def std_error(self) -> pd.DataFrame:
        return pd.DataFrame({g: r.std_error for g, r in self.results.items()}).T.rename_axis(self.by)

    def tidy(self) -> pd.DataFrame:
        """Long table: each group's :meth:`ProductionResult.tidy` rows, ``group`` and the ``by`` column naming it."""
        frames = [result.tidy().assign(**{"group": group, self.by: group}) for group, result in self.results.items()]
        return order_tidy(pd.concat(frames, ignore_index=True))

    def summary(self) -> str:
        """Every group's summary, one after the other."""
        return "\n\n".join(result.summary() for result in self.results.values())

    def plot(self, ax: plt.Axes | None = None, truth: pd.DataFrame | None = None) -> plt.Axes:
        """Every group's coefficients in one panel (``truth``: a table indexed by group, columns the inputs)."""
        first = next(iter(self.results.values()))
        ax = ax or plt.subplots(figsize=(6, 0.6 + 0.4 * len(first.coef) * len(self.results)))[1]
        table = self.tidy()
        labels = [f"{g}: {t}" for g, t in zip(table["group"], table["term"], strict=True)]
        positions = np.arange(len(table))
        ax.errorbar(table["estimate"], positions, xerr=Z_95 * table["std_error"].fillna(0), fmt="o", capsize=3,
                    label=first.method)
        if truth is not None:
            true = [truth.loc[g, t] for g, t in zip(table["group"], table["term"], strict=True)]
            ax.scatter(true, positions, marker="x", color="black", zorder=3, label="truth")
        ax.set_yticks(positions, labels)
        ax.set_xlabel("coefficient")
        ax.legend(loc="best", fontsize="small")
        return ax

    def tfp(self, data: pd.DataFrame) -> pd.Series:
        """Log TFP per row, each row with its own group's coefficients (NaN, with a warning naming the rows, for
        groups not estimated; a label written another way than in the fit — 9 and "9", "food " — is refused)."""
        _require_columns(data, [self.by], "tfp()")
        values = data[self.by]
        unknown = values.notna().to_numpy() & ~values.isin(list(self.results)).to_numpy()
        if unknown.any():
            fitted = {_label_key(g): g.item() if isinstance(g, np.generic) else g for g in self.results}
            for label in pd.unique(values[unknown]):
                if _label_key(label) in fitted:  # the same group written another way: equality would miss it
                    rows = data.index[(values == label).to_numpy()]
                    raise ValueError(
                        f"tfp(): '{self.by}' holds {label!r} ({rows_text(rows)}) where the fit has "
                        f"{fitted[_label_key(label)]!r}: the same group written another way (type, spaces, "
                        f"full-width characters or leading zeros). Write '{self.by}' as in the data of the fit.")
            warnings.warn(f"tfp(): {int(unknown.sum())} row(s) of '{self.by}' groups that were not estimated "
                          f"({listed(pd.unique(values[unknown]))}; {rows_text(data.index[unknown])}) get NaN.",
                          stacklevel=2)
        out = pd.Series(np.nan, index=data.index, name="log_tfp")
        for group, result in self.results.items():
            rows = data[self.by] == group
            out[rows] = result.tfp(data.loc[rows])
        return out

    def __getitem__(self, group: Any) -> ProductionResult:
        return self.results[group]


# --------------------------------------------------------------------------- input checks

def log_columns(data: pd.DataFrame, columns: Sequence[str], prefix: str = "log_") -> pd.DataFrame:
    """Add ``prefix + column`` = log(column) for each column; refuse non-positive values.

    Nothing is dropped: a zero or negative value is an error naming the column,
    the rows and the fix, so the analyst decides (and reports) what to exclude.

    Examples
    --------
    >>> import pandas as pd
    >>> from kaigai_lib import log_columns
    >>> log_columns(pd.DataFrame({"sales": [1.0, 10.0]}), ["sales"]).round(3)
       sales  log_sales
    0    1.0      0.000
    1   10.0      2.303
    >>> log_columns(pd.DataFrame({"sales": [1.0, 0.0]}), ["sales"])
    Traceback (most recent call last):
        ...
    ValueError: Cannot take logs: 'sales' has 1 value(s) that are zero, negative or missing (rows 1). Exclude those
    rows explicitly (and report how many) or fix the units.
    """
    _require_columns(data, columns, "log_columns")
    problems = []
    for column in columns:
        values = pd.to_numeric(data[column], errors="coerce")
        bad = ~(values > 0)
        if bad.any():
            rows = ", ".join(map(str, data.index[bad][:5])) + (" …" if bad.sum() > 5 else "")
            problems.append(f"'{column}' has {int(bad.sum())} value(s) that are zero, negative or missing "
                            f"(rows {rows})")
    if problems:
        raise ValueError("Cannot take logs: " + "; ".join(problems)
                         + ". Exclude those rows explicitly (and report how many) or fix the units.")
    return data.assign(**{f"{prefix}{c}": np.log(data[c].astype(float)) for c in columns})


def _as_list(columns: str | Sequence[str]) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns)


def _prepare(data: pd.DataFrame, roles: dict[str, list[str]], unit: str, time: str, where: str) -> pd.DataFrame:
    """The estimation sample: the columns of every role as floats, ``time`` as whole years, sorted by firm and year.

    ``roles`` maps a role ("output", "free input", …) to its columns. Every column may play one role once (a
    repeated column is a coefficient that cannot be identified); every number column is read by
    :func:`_column_numbers` (as ``tfp()`` reads it) and the year by :func:`_read_years`, the same for every
    estimator; missing and infinite values are named, never dropped.
    """
    check_frame(data, where)
    _refuse_repeated_roles({**roles, "unit": [unit], "time": [time]}, where)
    columns = [column for role_columns in roles.values() for column in role_columns]
    _require_columns(data, [*columns, unit, time], where)
    frame = data[[unit, time, *columns]].copy()
    problems = []
    for column in columns:
        try:
            values = _column_numbers(frame, column, where)
        except ValueError as error:  # text that is not a number, true/false: listed with the other problems
            problems.append(str(error).removeprefix(f"{where}: ").rstrip("."))
            continue
        bad = ~np.isfinite(values)
        if bad.any():
            rows = ", ".join(map(str, frame.index[bad][:5]))
            problems.append(f"'{column}' has {int(bad.sum())} missing or infinite value(s) (rows {rows}); "
                            "infinite values usually come from log(0): see log_columns()")
        frame[column] = values
    try:
        frame[time] = _read_years(frame[time], time, where)
        problems += key_problems(frame, [unit, time])
    except ValueError as error:  # a year that is missing or not a year: named once, not again as a missing key
        problems.append(str(error).removeprefix(f"{where}: ").rstrip("."))
        problems += key_problems(frame, [unit], unique=False)
    if problems:
        raise ValueError(f"{where}: " + "; ".join(problems) + ".")
    # ids stored as text ("101") sort as the numbers they are, so the rows' order — and the sums' rounding —
    # is the same as with numeric ids
    return frame.sort_values([unit, time], key=_numeric_if_possible).reset_index(drop=True)


def _refuse_repeated_roles(roles: dict[str, list[str]], where: str) -> None:
    """One column in two roles (or twice in one) has no coefficient of its own: name it and its roles."""
    seen: dict[Any, list[str]] = {}
    for role, role_columns in roles.items():
        for column in role_columns:
            seen.setdefault(column, []).append(role)
    repeated = {column: listed for column, listed in seen.items() if len(listed) > 1}
    if repeated:
        shown = "; ".join(f"'{column}' as {' and as '.join(listed)}" for column, listed in repeated.items())
        raise ValueError(f"{where}: column(s) given more than once: {shown}. A column can play one role once (one "
                         "coefficient each, and the proxy must be another variable than the state): list each "
                         "column once, in the role it has.")


def _column_numbers(data: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """One input or output column as floats, as every estimator here and ``tfp()`` read it.

    Numbers of any dtype as they are (missing → NaN, infinite kept, for the caller to name); text that is a number
    in every row is read with a warning; other text, infinite text and true/false are refused naming the rows
    (:func:`~kaigai_lib.data.schema.as_numbers`).
    """
    values = data[column]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return as_numbers(values, column, where)


def _read_years(values: pd.Series, column: str, where: str) -> np.ndarray:
    """The year column as whole numbers (int64), one reading for every estimator.

    Whole numbers of any dtype, text digits and categories of either are read as years; dates (datetime64,
    Period, or date objects) as their calendar year, with a warning saying so; anything else (fractions, words,
    missing values) is refused naming the column and the rows.
    """
    dates = isinstance(values.dtype, pd.PeriodDtype) or pd.api.types.is_datetime64_any_dtype(values)
    if not dates and values.dtype == object:
        present = values.dropna()
        dates = len(present) > 0 and present.map(lambda v: isinstance(v, (dt.date, pd.Period))).all()
    if dates:
        years = (values.dt.year if values.dtype != object
                 else values.map(lambda v: v.year if isinstance(v, (dt.date, pd.Period)) else np.nan))
        warnings.warn(f"{where}: '{column}' holds dates; each row is read as its calendar year (e.g. "
                      f"{values.dropna().iloc[0]} → {int(years.dropna().iloc[0])}). If your years are fiscal years "
                      "that end in another month, convert the column to whole years yourself.", UserWarning,
                      stacklevel=4)
        values = years.astype("Float64")
    elif isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object:
        # categories and object columns of numbers are read as the numbers they hold (text digits as text)
        values = pd.Series(values.to_numpy(dtype=object), index=values.index).infer_objects()
    try:
        return as_years(values, column, where)
    except ValueError as error:
        raise ValueError(f"{str(error).rstrip('.')}. A year must be a whole number (text digits are read, dates "
                         "as their calendar year).") from None


def _numeric_if_possible(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return values
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers if numbers.notna().all() else values


def _lag_index(ids: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Position of each row's previous year (same firm, time − 1), or −1 (rows sorted by unit, time)."""
    previous = np.full(len(ids), -1)
    same_firm = np.r_[False, ids[1:] == ids[:-1]]
    consecutive = np.r_[False, times[1:] == times[:-1] + 1]
    has_lag = same_firm & consecutive
    previous[has_lag] = np.nonzero(has_lag)[0] - 1
    return previous


def _check_sample(frame: pd.DataFrame, unit: str, where: str, group: Any) -> None:
    n_firms = frame[unit].nunique()
    label = f" for {group!r}" if group is not None else ""
    if n_firms < MIN_FIRMS:
        raise ValueError(f"{where}: only {n_firms} firm(s){label}; at least {MIN_FIRMS} are needed. "
                         "Pool this industry with a similar one, or leave it out and report it.")


RANK_TOLERANCE = 1e-6  # relative: exact copies and constants sit near 1e-15; real inputs, even r = 0.9999, far above


def _refuse_unidentified(columns: dict[str, np.ndarray], where: str, group: Any, *,
                         remove: Any = None, removed: str = "the constant") -> None:
    """Refuse inputs whose coefficients the data cannot identify, naming them and the fix.

    ``columns``: each input's values; ``remove`` maps a matrix of inputs to what is left of it once the terms that
    the estimator also fits (``removed``: a constant, year or firm effects, the control function) are taken out
    (default: its deviations from the mean). An input constant in the sample, one that is nothing but those
    terms, or inputs that are a linear combination of one another (one variable under two names, shares that sum
    to one) have no coefficient of their own; the libraries would return zero, split the effect between them or
    fail deep inside, so the estimate is refused instead.
    """
    problems, fixes = _identification_problems(columns, remove, removed)
    if problems:
        if group is not None:
            fixes.append(f"estimate group {group!r} separately without it, or pool it with a similar group")
        label = f" in group {group!r}" if group is not None else ""
        raise ValueError(f"{where}: the coefficients cannot be identified{label}: " + "; ".join(problems)
                         + ". Fix: " + "; ".join(dict.fromkeys(fixes)) + ".")


def _identification_problems(columns: dict[str, np.ndarray], remove: Any = None,
                             removed: str = "the constant") -> tuple[list[str], list[str]]:
    """What :func:`_refuse_unidentified` refuses (the problems and their fixes; both empty if none)."""
    names = list(columns)
    matrix = np.column_stack([columns[name] for name in names])
    centred = matrix - matrix.mean(axis=0)
    left = remove(matrix) if remove is not None else centred
    spread, left_spread = np.linalg.norm(centred, axis=0), np.linalg.norm(left, axis=0)
    problems, fixes = [], []
    for j, name in enumerate(names):
        if np.ptp(matrix[:, j]) == 0:
            problems.append(f"'{name}' is constant ({matrix[0, j]:g} in every row)")
            fixes.append("leave the constant input out")
        elif left_spread[j] <= RANK_TOLERANCE * spread[j]:
            problems.append(f"'{name}' varies only with {removed}, which the estimator also fits")
            fixes.append(f"leave '{name}' out ({removed} already account for it)")
    free = [j for j in range(len(names)) if np.ptp(matrix[:, j]) > 0 and left_spread[j] > RANK_TOLERANCE * spread[j]]
    if len(free) > 1:
        scaled = left[:, free] / left_spread[free]
        _, singular, directions = np.linalg.svd(scaled, full_matrices=False)
        for value, direction in zip(singular, directions, strict=True):
            if value <= RANK_TOLERANCE * singular[0]:
                involved = [names[free[j]] for j in np.nonzero(np.abs(direction) > 1e-3)[0]]
                problems.append(f"{', '.join(map(repr, involved))} are collinear (one is a linear combination of "
                                f"the others{'' if remove is None else f' and {removed}'}, e.g. one variable "
                                "under two names)")
                fixes.append("list only one of the collinear inputs")
    return problems, fixes


def _partial_out(control: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """What is left of a matrix of inputs once ``control`` (the constant and the LP control function) is
    regressed out: the ``remove`` of :func:`_identification_problems` for LP's free inputs."""
    return lambda x: x - control @ np.linalg.lstsq(control, x, rcond=None)[0]


def _least_squares(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """OLS coefficients by the normal equations (fast; designs here are well conditioned), falling back to an
    SVD solve when the cross-product matrix is singular: then only the fitted values mean anything (LP's
    coefficients on the free inputs are checked apart, ``identified`` in :func:`_lp_estimate`)."""
    try:
        return np.linalg.solve(design.T @ design, design.T @ target)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(design, target, rcond=None)[0]


def _polynomial(columns: list[np.ndarray], order: int) -> np.ndarray:
    """All monomials of the given columns up to ``order`` (no constant)."""
    from itertools import combinations_with_replacement

    terms = []
    for degree in range(1, order + 1):
        for combo in combinations_with_replacement(range(len(columns)), degree):
            term = np.ones_like(columns[0])
            for c in combo:
                term = term * columns[c]
            terms.append(term)
    return np.column_stack(terms)


def _group_order(group: Any) -> tuple:
    """A sort key that cannot fail: numbers and codes of digits by value (JSIC "9" before "10"), then everything
    else by its text."""
    if is_number(group):
        return (0, float(group), "")
    text = str(group)
    return (0, float(text), text) if text.isdecimal() else (1, 0.0, text)


def _label_key(label: Any) -> str:
    """A label as text in the form its spelling variants share (9, 9.0, "9", "09", "９", "food " → one form)."""
    if is_number(label) and float(label).is_integer():
        label = int(label)
    return label_form(str(label), codes=True)


def _grouped(function, data: pd.DataFrame, by: str, **kwargs) -> GroupedProductionResult:
    check_frame(data, function.__name__)
    _require_columns(data, [by], function.__name__)
    unknown = data[by].isna().to_numpy()
    if unknown.any():  # they would belong to no group and be left out without a count
        raise ValueError(f"{function.__name__}: by='{by}' is missing in {int(unknown.sum())} row(s) (rows "
                         f"{', '.join(map(str, data.index[unknown][:5]))}); fill it (e.g. an 'unknown' industry, "
                         "pooled with a similar one) or drop those rows and report how many.")
    problem = kinds_problem(data[by], by, "labels") or variant_problem(data[by], by, codes=True)
    if problem:  # 9 and "9", or "food" and "food ", would be estimated as two industries
        raise ValueError(f"{function.__name__}: by={problem}.")
    results = {}
    groups = sorted(pd.unique(data[by]), key=_group_order)
    base_seed = kwargs.get("seed")
    for position, group in enumerate(groups):
        rows = data.loc[data[by] == group]
        if base_seed is not None:  # each group its own, reproducible bootstrap stream
            kwargs["seed"] = np.random.SeedSequence([int(base_seed), position])
        results[group] = function(rows, **kwargs, group=group)
    return GroupedProductionResult(by=by, results=results)


# --------------------------------------------------------------------------- OLS and FE

def ols_production(data: pd.DataFrame, output: str, inputs: str | Sequence[str], unit: str, time: str,
                   *, year_effects: bool = True, by: str | None = None,
                   group: Any = None) -> ProductionResult | GroupedProductionResult:
    """Pooled OLS of ``output`` on ``inputs`` (with year dummies), standard errors clustered by firm.

    Examples
    --------
    A Cobb–Douglas value-added production function of the tiny world, by pooled OLS:

    >>> from kaigai_lib import (ackerberg_caves_frazer, fixed_effects_production, generate, levinsohn_petrin,
    ...                         log_columns, ols_production)
    >>> world = generate("tiny", seed=0)
    >>> firms = log_columns(world.firms, ["value_added", "employees", "capital_stock", "intermediate_inputs"])
    >>> ols = ols_production(firms, "log_value_added", ["log_employees", "log_capital_stock"], "firm_id", "year")
    >>> ols.tidy()[["term", "estimate", "std_error", "n_obs"]].round(3)
                    term  estimate  std_error  n_obs
    0      log_employees     0.912      0.027  38179
    1  log_capital_stock     0.116      0.015  38179
    """
    import statsmodels.api as sm

    if by is not None:
        return _grouped(ols_production, data, by, output=output, inputs=inputs, unit=unit, time=time,
                        year_effects=year_effects)
    inputs = _as_list(inputs)
    frame = _prepare(data, {"output": [output], "input": inputs}, unit, time, "ols_production")
    _check_sample(frame, unit, "ols_production", group)
    years = frame[time].to_numpy()
    _refuse_unidentified({c: frame[c].to_numpy() for c in inputs}, "ols_production", group,
                         remove=(lambda x: x - pd.DataFrame(x).groupby(years).transform("mean").to_numpy())
                         if year_effects else None, removed="the year" if year_effects else "the constant")
    exog = frame[inputs].astype(float)
    if year_effects:
        exog = exog.join(pd.get_dummies(frame[time], prefix="year", drop_first=True, dtype=float))
    fit = sm.OLS(frame[output].astype(float), sm.add_constant(exog)).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(frame[unit])[0]})
    return ProductionResult("OLS", fit.params[inputs], fit.bse[inputs], output, n_obs=len(frame),
                            n_firms=frame[unit].nunique(), group=group, details={"fit": fit})


def fixed_effects_production(data: pd.DataFrame, output: str, inputs: str | Sequence[str], unit: str, time: str,
                             *, year_effects: bool = True, by: str | None = None,
                             group: Any = None) -> ProductionResult | GroupedProductionResult:
    """Within (firm fixed effects) estimator with ``linearmodels.PanelOLS``, SEs clustered by firm.

    Standard errors: CRV1 clustered by firm with the small-sample factor G/(G−1)·(N−1)/(N−K), where K counts the
    inputs and the year effects (with the constant) but not the firm effects, which are nested in the firm
    clusters — the convention of Stata's ``xtreg, fe vce(cluster id)`` and ``reghdfe`` (pyfixest's CRV1 with
    ``k_fixef="nonnested"``). No row is dropped (firms seen once are kept, as xtreg does). Inputs that do not vary
    within firms once the effects are removed, or are collinear, are refused naming them.

    Examples
    --------
    The within estimator, separately for each industry (``by=``):

    >>> from kaigai_lib import (ackerberg_caves_frazer, fixed_effects_production, generate, levinsohn_petrin,
    ...                         log_columns, ols_production)
    >>> world = generate("tiny", seed=0)
    >>> firms = log_columns(world.firms, ["value_added", "employees", "capital_stock", "intermediate_inputs"])
    >>> fe = fixed_effects_production(firms, "log_value_added", ["log_employees", "log_capital_stock"], "firm_id",
    ...                               "year", by="industry")
    >>> fe.tidy()[["industry", "term", "estimate", "std_error"]].head(4).round(3)
         industry               term  estimate  std_error
    0   chemicals      log_employees     1.352      0.053
    1   chemicals  log_capital_stock     0.122      0.075
    2  electrical      log_employees     1.615      0.046
    3  electrical  log_capital_stock     0.178      0.059
    """
    from linearmodels.panel import PanelOLS

    if by is not None:
        return _grouped(fixed_effects_production, data, by, output=output, inputs=inputs, unit=unit, time=time,
                        year_effects=year_effects)
    inputs = _as_list(inputs)
    frame = _prepare(data, {"output": [output], "input": inputs}, unit, time, "fixed_effects_production")
    _check_sample(frame, unit, "fixed_effects_production", group)
    effects = np.column_stack([pd.factorize(frame[unit])[0], pd.factorize(frame[time])[0]][:1 + year_effects])
    _refuse_unidentified({c: frame[c].to_numpy() for c in inputs}, "fixed_effects_production", group,
                         remove=lambda x: _within(x, effects),
                         removed="the firm and year effects" if year_effects else "the firm effects")
    panel = frame.set_index([unit, time])
    model = PanelOLS(panel[output].astype(float), panel[inputs].astype(float), entity_effects=True,
                     time_effects=year_effects, drop_absorbed=True)
    # the plain sandwich (no small-sample factor), scaled below by the convention of xtreg, fe and reghdfe
    fit = model.fit(cov_type="clustered", cluster_entity=True, auto_df=False, count_effects=False, debiased=False)
    n_obs, n_firms = len(frame), frame[unit].nunique()
    # K: the inputs and the year effects with the constant; the firm effects, nested in the firm clusters, are
    # not counted (counting them made the standard errors ~11 % larger on the Chilean panel)
    n_params = len(inputs) + (frame[time].nunique() if year_effects else 1)
    factor = n_firms / (n_firms - 1) * (n_obs - 1) / (n_obs - n_params)
    cov = fit.cov.loc[inputs, inputs] * factor
    return ProductionResult("FE", fit.params[inputs], np.sqrt(pd.Series(np.diag(cov), index=inputs)), output,
                            n_obs=n_obs, n_firms=n_firms, group=group,
                            details={"fit": fit, "cov": cov, "small_sample_factor": factor})


def _within(matrix: np.ndarray, effects: np.ndarray) -> np.ndarray:
    """``matrix`` less its firm (and year) effects: the variation the within estimator uses (pyfixest's demean)."""
    from pyfixest.estimation import demean

    within, _ = demean(np.ascontiguousarray(matrix, dtype=float), effects.astype(np.uint64),
                       np.ones(len(matrix)), tol=1e-12, maxiter=100_000)
    return within


# --------------------------------------------------------------------------- Levinsohn–Petrin

@dataclass
class _Panel:
    """Arrays of one estimation sample, sorted by firm and year, with lag positions."""

    y: np.ndarray
    free: np.ndarray  # (n, n_free)
    state: np.ndarray  # (n,)
    proxy: np.ndarray  # (n,)
    ids: np.ndarray
    times: np.ndarray
    lag: np.ndarray  # position of t−1 or −1

    @classmethod
    def build(cls, frame: pd.DataFrame, output: str, free: list[str], state: str, proxy: str, unit: str,
              time: str) -> _Panel:
        ids = pd.factorize(frame[unit])[0]
        times = frame[time].to_numpy(dtype=np.int64)
        return cls(frame[output].to_numpy(float), frame[free].to_numpy(float), frame[state].to_numpy(float),
                   frame[proxy].to_numpy(float), ids, times, _lag_index(ids, times))

    def resample(self, rng: np.random.Generator) -> _Panel:
        """Firm-block bootstrap: draw firms with replacement; each draw is a new firm."""
        n_firms = self.ids.max() + 1
        starts = np.searchsorted(self.ids, np.arange(n_firms))
        ends = np.searchsorted(self.ids, np.arange(n_firms), side="right")
        drawn = rng.integers(0, n_firms, n_firms)
        lengths = ends[drawn] - starts[drawn]
        new_ids = np.repeat(np.arange(n_firms), lengths)
        block_start = np.repeat(np.cumsum(lengths) - lengths, lengths)
        rows = np.repeat(starts[drawn], lengths) + np.arange(lengths.sum()) - block_start
        times = self.times[rows]
        return _Panel(self.y[rows], self.free[rows], self.state[rows], self.proxy[rows], new_ids, times,
                      _lag_index(new_ids, times))


def _lp_estimate(panel: _Panel, poly_order: int, law_of_motion_order: int) -> dict[str, Any]:
    """One LP estimate (the steps are in :func:`levinsohn_petrin`'s docstring)."""
    n_free = panel.free.shape[1]
    # Step 1: y on the free inputs and a polynomial in (state, proxy).
    poly = _polynomial([panel.state, panel.proxy], poly_order)
    design = np.column_stack([np.ones(len(panel.y)), panel.free, poly])
    first = _least_squares(design, panel.y)
    # in a bootstrap resample the inputs may be collinear with the control function (the sample itself was
    # checked by _refuse_unidentified): then β_free is not identified and the draw is left out
    problems, _ = _identification_problems({str(j): panel.free[:, j] for j in range(n_free)},
                                           remove=_partial_out(np.column_stack([np.ones(len(panel.y)), poly])))
    identified = not problems
    beta_free = first[1:1 + n_free]
    phi = design @ first - panel.free @ beta_free  # φ(k, m) = β_k·k + ω, up to a constant
    net_output = panel.y - panel.free @ beta_free
    # Step 2: rows with a lag; ω(θ) = φ − θ·k and its lag; g(·) by OLS on a polynomial of ω_{t−1}.
    has_lag = panel.lag >= 0
    if not has_lag.any():
        raise ValueError("no firm is observed in two consecutive years, so the law of motion of "
                         "productivity cannot be estimated: LP needs panel data with lags")
    prev = panel.lag[has_lag]
    k, k_lag = panel.state[has_lag], panel.state[prev]
    phi_now, phi_lag = phi[has_lag], phi[prev]
    resid_target = net_output[has_lag]

    def sum_of_squares(theta: np.ndarray) -> float:
        omega = phi_now - k * theta[0]
        omega_lag = phi_lag - k_lag * theta[0]
        basis = np.column_stack([omega_lag**p for p in range(law_of_motion_order + 1)])
        g = _least_squares(basis, omega)
        xi = resid_target - k * theta[0] - basis @ g
        return float(xi @ xi)

    # one-dimensional search (Brent) downhill from the first-stage coefficient on the state, as prodest
    # starts its BFGS there; a scalar search needs a fraction of BFGS's evaluations
    start = float(first[1 + n_free])
    outcome = optimize.minimize_scalar(lambda b: sum_of_squares(np.array([b])), bracket=(start, start + 0.05),
                                       method="brent", options={"xtol": 1e-10})
    return {"beta_free": beta_free, "beta_state": float(outcome.x), "first_stage": first, "identified": identified,
            "n_second_stage": int(has_lag.sum()), "optimizer": outcome,
            "proxy_derivative": _proxy_derivative(first[1 + n_free:], panel.state, panel.proxy, poly_order)}


def _proxy_derivative(coef: np.ndarray, state: np.ndarray, proxy: np.ndarray, order: int) -> np.ndarray:
    """∂φ/∂proxy at each row, from the first-stage polynomial's coefficients (numerically)."""
    step = 1e-4 * max(1.0, float(np.abs(proxy).mean()))
    up = _polynomial([state, proxy + step], order) @ coef
    down = _polynomial([state, proxy - step], order) @ coef
    return (up - down) / (2 * step)


def levinsohn_petrin(data: pd.DataFrame, output: str, free: str | Sequence[str], state: str, proxy: str,
                     unit: str, time: str, poly_order: int = 3, bootstrap: int = 0, seed: Any = 0, *,
                     law_of_motion_order: int = 3, by: str | None = None, progress: bool = True,
                     group: Any = None) -> ProductionResult | GroupedProductionResult:
    """Levinsohn–Petrin (2003) estimator of a value-added production function.

    Assumptions: productivity ω follows a first-order Markov process; the
    state ``k`` is chosen a period ahead; the proxy ``m`` (intermediate
    inputs) is strictly increasing in ω given ``k``, so ω = h(k, m); the free
    inputs do not determine the proxy.

    Steps (as in ``levpet`` / ``prodest``):

    1. **First stage.** Regress ``y`` on the free inputs and a full
       polynomial of order ``poly_order`` in (k, m) with a constant. The free
       inputs' coefficients are β_free; φ̂ = fitted − β_free·free estimates
       β_k·k + ω (+ a constant).
    2. **Second stage.** For a candidate β_k, ω_t = φ̂_t − β_k·k_t and
       ω_{t−1} = φ̂_{t−1} − β_k·k_{t−1} (rows whose firm is observed at t−1).
       The law of motion E[ω_t | ω_{t−1}] = g(ω_{t−1}) is estimated by OLS on
       a polynomial of order ``law_of_motion_order`` in ω_{t−1}, and
       ξ + ε = y − β_free·free − β_k·k − ĝ(ω_{t−1}).
    3. β_k minimises the sum of squares of ξ + ε (BFGS from the first-stage
       coefficient on k). Because k_t was chosen before ξ_t was known, this
       is the moment condition E[(ξ + ε)·k_t] = 0.
    4. **Standard errors**: ``bootstrap`` firm-block bootstrap replications
       (firms drawn with replacement, each keeping all its years), seeded by
       ``seed``; the standard deviation of the replicated estimates.

    Parameters
    ----------
    data : pd.DataFrame
        one row per firm and year, with the logged columns below.
    output : str
        log value added.
    free : str | Sequence[str]
        log free input(s) (labour).
    state : str
        log capital.
    proxy : str
        log intermediate inputs.
    unit, time : str
        firm identifier and (integer) year; lags are taken only
        between consecutive years of the same firm.
    poly_order : int, optional
        order of the first-stage polynomial (2 = prodest's default,
        3 = levpet's).
    by : str | None, optional
        estimate separately for every value of this column (e.g. industry).
    progress : bool, optional
        show a progress bar for the bootstrap.

    Returns
    -------
    ProductionResult or GroupedProductionResult
        a GroupedProductionResult with ``by``; ``.coef`` and ``.std_error`` are indexed by the input column
        names; ``.tfp(data)`` is y − β_free·free − β_k·k, the log TFP of every row.

    Examples
    --------
    Levinsohn–Petrin with intermediate inputs as the proxy (no bootstrap, so no standard errors):

    >>> from kaigai_lib import (ackerberg_caves_frazer, fixed_effects_production, generate, levinsohn_petrin,
    ...                         log_columns, ols_production)
    >>> world = generate("tiny", seed=0)
    >>> firms = log_columns(world.firms, ["value_added", "employees", "capital_stock", "intermediate_inputs"])
    >>> lp = levinsohn_petrin(firms, "log_value_added", "log_employees", "log_capital_stock",
    ...                       "log_intermediate_inputs", "firm_id", "year", progress=False)
    >>> lp.tidy()[["term", "estimate", "n_obs"]].round(3)
                    term  estimate  n_obs
    0      log_employees     0.744  38179
    1  log_capital_stock     0.246  38179
    >>> lp.n_obs, lp.n_second_stage, lp.n_firms
    (38179, 34832, 2647)
    """
    if by is not None:
        return _grouped(levinsohn_petrin, data, by, output=output, free=free, state=state, proxy=proxy, unit=unit,
                        time=time, poly_order=poly_order, bootstrap=bootstrap, seed=seed,
                        law_of_motion_order=law_of_motion_order, progress=progress)
    free = _as_list(free)
    if not isinstance(state, str) or not isinstance(proxy, str):
        raise TypeError("levinsohn_petrin takes one state column and one proxy column (strings).")
    if poly_order not in (2, 3) or law_of_motion_order < 1:
        raise ValueError(f"poly_order={poly_order!r} must be 2 or 3; law_of_motion_order must be ≥ 1.")
    where = "levinsohn_petrin" + (f" [{group}]" if group is not None else "")
    frame = _prepare(data, {"output": [output], "free input": free, "state": [state], "proxy": [proxy]},
                     unit, time, where)
    _check_sample(frame, unit, where, group)
    if frame[proxy].nunique() <= 1:
        raise ValueError(f"{where}: the proxy '{proxy}' is constant, so it carries no information on "
                         "productivity. Use a proxy that varies with productivity (intermediate inputs).")
    _refuse_unidentified({state: frame[state].to_numpy(), proxy: frame[proxy].to_numpy()}, where, group)
    control = np.column_stack([np.ones(len(frame)), _polynomial([frame[state].to_numpy(), frame[proxy].to_numpy()],
                                                                  poly_order)])
    _refuse_unidentified({c: frame[c].to_numpy() for c in free}, where, group,
                         remove=_partial_out(control),
                         removed=f"the control function of '{state}' and '{proxy}'")
    panel = _Panel.build(frame, output, free, state, proxy, unit, time)
    estimate = _lp_estimate(panel, poly_order, law_of_motion_order)
    _warn_if_not_monotone(estimate["proxy_derivative"], proxy, where)
    _warn_if_not_converged(estimate["optimizer"], where)

    coef = pd.Series([*estimate["beta_free"], estimate["beta_state"]], index=[*free, state])
    draws, left_out = _bootstrap(lambda p: _lp_estimate(p, poly_order, law_of_motion_order), panel, bootstrap,
                                 seed, progress, f"LP bootstrap{f' [{group}]' if group is not None else ''}")
    se = pd.Series(draws.std(axis=0, ddof=1) if len(draws) > 1 else np.nan, index=coef.index)
    return ProductionResult("LP", coef, se, output, n_obs=len(frame), n_firms=int(panel.ids.max() + 1),
                            n_second_stage=estimate["n_second_stage"], bootstrap=bootstrap, group=group,
                            details={**estimate, "bootstrap_draws": draws,
                                     "bootstrap_not_converged": left_out["not_converged"],
                                     "bootstrap_unidentified": left_out["unidentified"]})


def _warn_if_not_monotone(derivative: np.ndarray, proxy: str, where: str) -> None:
    negative = float(np.mean(derivative <= 0))
    if negative > 0.05:
        warnings.warn(
            f"{where}: the first stage implies that output falls as '{proxy}' rises (∂φ/∂{proxy} ≤ 0) for "
            f"{negative:.0%} of rows, so the proxy does not look monotone in productivity given the state. "
            "Check the proxy (units, zeros) and compare with a different proxy or polynomial order.",
            ProxyWarning, stacklevel=3)


def _bootstrap(estimator, panel: _Panel, replications: int, seed: Any, progress: bool,
               label: str) -> tuple[np.ndarray, dict[str, int]]:
    """Replicated estimates (one row per usable draw) and how many draws were left out: a resample whose first
    stage cannot identify the free inputs' coefficients (a minimum-norm solve would return an arbitrary split)
    or whose optimiser did not converge (not a minimum) says nothing about the estimator's spread; a warning
    names the counts, and the SE uses the other draws."""
    width = panel.free.shape[1] + 1
    left_out = {"unidentified": 0, "not_converged": 0}
    if replications <= 0:
        return np.empty((0, width)), left_out
    rng = np.random.default_rng(seed)
    draws = []
    for _ in tqdm(range(replications), desc=label, disable=not progress, leave=False):
        result = estimator(panel.resample(rng))
        if not result.get("identified", True):
            left_out["unidentified"] += 1
        elif not getattr(result["optimizer"], "success", True):
            left_out["not_converged"] += 1
        else:
            draws.append([*np.atleast_1d(result["beta_free"]), result["beta_state"]])
    if any(left_out.values()):
        reasons = [f"{n} {why}" for n, why in ((left_out["unidentified"], "whose first stage could not identify "
                                                "the free inputs' coefficients (collinear in the resample)"),
                                               (left_out["not_converged"], "whose optimiser did not converge"))
                   if n]
        warnings.warn(f"{label}: {sum(left_out.values())} of {replications} draws left out ({'; '.join(reasons)}); "
                      f"the standard errors use the other {len(draws)}. Check the group's size and inputs, or "
                      "pool it with a similar group.", OptimizerWarning, stacklevel=3)
    return np.asarray(draws).reshape(-1, width), left_out


# --------------------------------------------------------------------------- Ackerberg–Caves–Frazer

def _acf_estimate(panel: _Panel, poly_order: int, law_of_motion_order: int, start: np.ndarray) -> dict[str, Any]:
    n_free = panel.free.shape[1]
    # Step 1: y on a polynomial in (free, state, proxy): φ̂ = E[y | l, k, m]; no coefficient is identified here.
    poly = _polynomial([*panel.free.T, panel.state, panel.proxy], poly_order)
    design = np.column_stack([np.ones(len(panel.y)), poly])
    first = _least_squares(design, panel.y)
    phi = design @ first
    has_lag = panel.lag >= 0
    if not has_lag.any():
        raise ValueError("no firm is observed in two consecutive years: ACF needs lags")
    prev = panel.lag[has_lag]
    inputs_now = np.column_stack([panel.free[has_lag], panel.state[has_lag]])
    inputs_lag = np.column_stack([panel.free[prev], panel.state[prev]])
    # instruments: the state now (chosen at t−1) and the free inputs at t−1
    instruments = np.column_stack([panel.state[has_lag], panel.free[prev]])
    phi_now, phi_lag = phi[has_lag], phi[prev]

    def moments(theta: np.ndarray) -> np.ndarray:
        omega = phi_now - inputs_now @ theta
        omega_lag = phi_lag - inputs_lag @ theta
        basis = np.column_stack([omega_lag**p for p in range(law_of_motion_order + 1)])
        g = _least_squares(basis, omega)
        xi = omega - basis @ g
        return instruments.T @ xi / len(xi)

    def criterion(theta: np.ndarray) -> float:
        m = moments(theta)
        return float(m @ m) * 1e4

    outcome = optimize.minimize(criterion, start, method="Nelder-Mead",
                                options={"xatol": 1e-7, "fatol": 1e-12, "maxiter": 4000})
    return {"beta_free": outcome.x[:n_free], "beta_state": float(outcome.x[n_free]), "first_stage": first,
            "n_second_stage": int(has_lag.sum()), "optimizer": outcome}


def ackerberg_caves_frazer(data: pd.DataFrame, output: str, free: str | Sequence[str], state: str, proxy: str,
                           unit: str, time: str, poly_order: int = 2, bootstrap: int = 0, seed: Any = 0, *,
                           law_of_motion_order: int = 3, start: Sequence[float] | None = None,
                           by: str | None = None, progress: bool = True,
                           group: Any = None) -> ProductionResult | GroupedProductionResult:
    """Ackerberg, Caves & Frazer (2015) correction of the control-function estimator.

    If labour is chosen as a function of (ω, k) only, then l = f(h(k, m), k)
    is a function of (k, m) and LP's first stage cannot separate β_l from
    the polynomial. ACF estimate nothing in the first stage:

    1. Regress ``y`` on a polynomial of order ``poly_order`` in (free, state,
       proxy); φ̂ = fitted = β·inputs + ω.
    2. For candidate coefficients θ = (β_free, β_k): ω_t = φ̂_t − θ·inputs_t,
       ω_{t−1} likewise; ξ_t = ω_t − ĝ(ω_{t−1}) with ĝ an OLS polynomial.
    3. θ solves the moments E[ξ_t · k_t] = 0 and E[ξ_t · l_{t−1}] = 0
       (capital was chosen before ξ_t; last year's labour too), by GMM with
       an identity weight (Nelder–Mead from ``start``, default: OLS).
    4. Standard errors by firm-block bootstrap as in LP.

    The criterion can have several local minima; results can move with the
    start value (as reported for the Chilean data), so compare starts.

    Examples
    --------
    >>> from kaigai_lib import (ackerberg_caves_frazer, fixed_effects_production, generate, levinsohn_petrin,
    ...                         log_columns, ols_production)
    >>> world = generate("tiny", seed=0)
    >>> firms = log_columns(world.firms, ["value_added", "employees", "capital_stock", "intermediate_inputs"])
    >>> acf = ackerberg_caves_frazer(firms, "log_value_added", "log_employees", "log_capital_stock",
    ...                              "log_intermediate_inputs", "firm_id", "year", progress=False)
    >>> acf.method, acf.tidy()[["term", "estimate"]].round(3)
    ('ACF',                 term  estimate
    0      log_employees      1.08
    1  log_capital_stock      0.00)
    """
    if by is not None:
        return _grouped(ackerberg_caves_frazer, data, by, output=output, free=free, state=state, proxy=proxy,
                        unit=unit, time=time, poly_order=poly_order, bootstrap=bootstrap, seed=seed,
                        law_of_motion_order=law_of_motion_order, start=start, progress=progress)
    free = _as_list(free)
    where = "ackerberg_caves_frazer" + (f" [{group}]" if group is not None else "")
    frame = _prepare(data, {"output": [output], "free input": free, "state": [state], "proxy": [proxy]},
                     unit, time, where)
    _check_sample(frame, unit, where, group)
    _refuse_unidentified({c: frame[c].to_numpy() for c in [*free, state]}, where, group)
    panel = _Panel.build(frame, output, free, state, proxy, unit, time)
    if start is None:
        design = np.column_stack([np.ones(len(panel.y)), panel.free, panel.state])
        start = np.linalg.lstsq(design, panel.y, rcond=None)[0][1:]
    start = np.asarray(start, dtype=float)
    estimate = _acf_estimate(panel, poly_order, law_of_motion_order, start)
    _warn_if_not_converged(estimate["optimizer"], where)
    coef = pd.Series([*estimate["beta_free"], estimate["beta_state"]], index=[*free, state])
    draws, left_out = _bootstrap(lambda p: _acf_estimate(p, poly_order, law_of_motion_order, coef.to_numpy()),
                                 panel, bootstrap, seed, progress,
                                 f"ACF bootstrap{f' [{group}]' if group is not None else ''}")
    se = pd.Series(draws.std(axis=0, ddof=1) if len(draws) > 1 else np.nan, index=coef.index)
    return ProductionResult("ACF", coef, se, output, n_obs=len(frame), n_firms=int(panel.ids.max() + 1),
                            n_second_stage=estimate["n_second_stage"], bootstrap=bootstrap, group=group,
                            details={**estimate, "bootstrap_draws": draws,
                                     "bootstrap_not_converged": left_out["not_converged"],
                                     "bootstrap_unidentified": left_out["unidentified"],
                                     "start": start})
