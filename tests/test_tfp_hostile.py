"""The production-function estimators on data a hostile tester built: coefficients the data cannot identify,
columns given twice, years stored as text, categories or dates, and the FE estimator's clustered standard errors
against pyfixest's CRV1 (the convention of Stata's xtreg, fe and reghdfe)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.estimators import tfp

FREE = ["log_lab1", "log_lab2"]
INPUTS = [*FREE, "log_k"]
LP = {"state": "log_k", "proxy": "log_materials", "unit": "id", "time": "year", "poly_order": 2, "progress": False}


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


# --------------------------------------------------------------------------- coefficients without identification

def test_an_input_constant_in_one_group_is_refused_naming_the_group(chilean: pd.DataFrame) -> None:
    # sector B reports no unskilled labour: LP said β = 0.0000 without a word, OLS 0.0000 with a library warning
    data = chilean.assign(sector=np.where(chilean["id"] % 2 == 0, "A", "B"))
    data.loc[data["sector"] == "B", "log_lab2"] = 0.0
    expected = r"the coefficients cannot be identified in group 'B': 'log_lab2' is constant \(0 in every row\)"
    with pytest.raises(ValueError, match=expected + r".*estimate group 'B' separately without it"):
        tfp.levinsohn_petrin(data, "log_y", FREE, **LP, by="sector")
    with pytest.raises(ValueError, match=expected):
        tfp.ols_production(data, "log_y", INPUTS, "id", "year", by="sector")
    with pytest.raises(ValueError, match=expected):
        tfp.fixed_effects_production(data, "log_y", INPUTS, "id", "year", by="sector")


@pytest.mark.parametrize("estimator", ["ols_production", "fixed_effects_production", "levinsohn_petrin",
                                       "ackerberg_caves_frazer"])
def test_one_input_under_two_names_is_refused_naming_both(chilean: pd.DataFrame, estimator: str) -> None:
    # LP and OLS split the coefficient in two equal halves (0.0388 + 0.0388 for 0.0775); FE failed in linearmodels
    data = chilean.assign(log_lab1_copy=chilean["log_lab1"])
    run = {"ols_production": lambda: tfp.ols_production(data, "log_y", [*INPUTS, "log_lab1_copy"], "id", "year"),
           "fixed_effects_production": lambda: tfp.fixed_effects_production(data, "log_y", [*INPUTS, "log_lab1_copy"],
                                                                            "id", "year"),
           "levinsohn_petrin": lambda: tfp.levinsohn_petrin(data, "log_y", [*FREE, "log_lab1_copy"], **LP),
           "ackerberg_caves_frazer": lambda: tfp.ackerberg_caves_frazer(data, "log_y", [*FREE, "log_lab1_copy"],
                                                                        **LP)}[estimator]
    with pytest.raises(ValueError, match=rf"^{estimator}: the coefficients cannot be identified: 'log_lab1', "
                                         r"'log_lab1_copy' are collinear.*list only one of the collinear inputs"):
        run()


def test_inputs_absorbed_by_what_the_estimator_also_fits_are_refused(chilean: pd.DataFrame) -> None:
    data = chilean.assign(firm_mean_k=chilean.groupby("id")["log_k"].transform("mean"),
                          year_trend=chilean["year"] * 0.1, lab_total=chilean["log_lab1"] + chilean["log_lab2"])
    with pytest.raises(ValueError, match="'firm_mean_k' varies only with the firm and year effects"):
        tfp.fixed_effects_production(data, "log_y", ["log_lab1", "firm_mean_k"], "id", "year")
    with pytest.raises(ValueError, match="'year_trend' varies only with the year"):
        tfp.ols_production(data, "log_y", ["log_lab1", "year_trend"], "id", "year")
    # three inputs, none a copy of another, that add up: all three named
    with pytest.raises(ValueError, match="'log_lab1', 'log_lab2', 'lab_total' are collinear"):
        tfp.ols_production(data, "log_y", [*FREE, "lab_total"], "id", "year")
    # a free input that is the state under another name: LP's first stage cannot tell it from the control function
    with pytest.raises(ValueError, match="'k_copy' varies only with the control function of 'log_k' and "
                                         "'log_materials'"):
        tfp.levinsohn_petrin(data.assign(k_copy=data["log_k"]), "log_y", ["log_lab1", "k_copy"], **LP)
    with pytest.raises(ValueError, match="'log_k', 'materials_copy' are collinear"):
        tfp.levinsohn_petrin(data.assign(materials_copy=2 * data["log_k"]), "log_y", FREE,
                             **{**LP, "proxy": "materials_copy"})


def test_identified_inputs_still_give_the_reference_estimates(chilean: pd.DataFrame) -> None:
    import statsmodels.formula.api as smf

    # the check must not refuse what is identified: OLS as statsmodels fits it, with year dummies
    reference = smf.ols("log_y ~ log_lab1 + log_lab2 + log_k + C(year)", chilean.astype({"year": "int64"})).fit()
    ours = tfp.ols_production(chilean, "log_y", INPUTS, "id", "year")
    np.testing.assert_allclose(ours.coef[INPUTS], reference.params[INPUTS], rtol=1e-10)


# --------------------------------------------------------------------------- one column, one role

@pytest.mark.parametrize(("free", "state", "proxy", "expected"), [
    (["log_lab1", "log_lab1"], "log_k", "log_materials", "'log_lab1' as free input and as free input"),
    (["log_lab1"], "log_k", "log_k", "'log_k' as state and as proxy"),
    (["log_lab1", "log_k"], "log_k", "log_materials", "'log_k' as free input and as state"),
    (["log_y"], "log_k", "log_materials", "'log_y' as output and as free input"),
    (["year"], "log_k", "log_materials", "'year' as free input and as time"),
])
def test_a_column_given_twice_is_refused_naming_its_roles(chilean: pd.DataFrame, free: list[str], state: str,
                                                          proxy: str, expected: str) -> None:
    for estimator in (tfp.levinsohn_petrin, tfp.ackerberg_caves_frazer):
        with pytest.raises(ValueError, match=rf"{estimator.__name__}: column\(s\) given more than once: "
                                             rf"{expected}\. .*list each column once"):
            estimator(chilean, "log_y", free, **{**LP, "state": state, "proxy": proxy})
    with pytest.raises(ValueError, match=r"ols_production: column\(s\) given more than once: 'log_lab1' as input "
                                         "and as input"):
        tfp.ols_production(chilean, "log_y", ["log_lab1", "log_lab1"], "id", "year")


def test_tfp_reads_text_numbers_as_the_fit_did(chilean: pd.DataFrame) -> None:
    text = chilean.astype({column: str for column in ["log_y", *INPUTS]})
    with pytest.warns(UserWarning, match="numbers stored as text"):
        fitted = tfp.ols_production(text, "log_y", INPUTS, "id", "year")
    with pytest.warns(UserWarning, match="numbers stored as text"):
        scores = fitted.tfp(text)  # was a TypeError inside ProductionResult.tfp
    numbers = tfp.ols_production(chilean, "log_y", INPUTS, "id", "year")
    pd.testing.assert_series_equal(fitted.coef, numbers.coef, rtol=1e-12)
    expected = chilean["log_y"] - chilean[INPUTS].to_numpy() @ numbers.coef.to_numpy()
    np.testing.assert_allclose(scores.to_numpy(), expected.to_numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- one reading of the year

@pytest.mark.parametrize("kind", ["text", "category", "datetime", "period"])
def test_years_as_text_categories_or_dates_give_the_integer_years_estimates(chilean: pd.DataFrame,
                                                                            kind: str) -> None:
    years = {"text": chilean["year"].astype(str), "category": chilean["year"].astype("category"),
             "datetime": pd.to_datetime(chilean["year"].astype(str) + "-06-30"),
             "period": pd.PeriodIndex(chilean["year"].astype(str), freq="Y").to_series(index=chilean.index)}[kind]
    other = chilean.assign(year=years)
    runs = [(tfp.ols_production, ("log_y", INPUTS, "id", "year"), {}),
            (tfp.fixed_effects_production, ("log_y", INPUTS, "id", "year"), {}),
            (tfp.levinsohn_petrin, ("log_y", FREE), LP)]
    for estimator, args, kwargs in runs:
        reference = estimator(chilean, *args, **kwargs).coef
        if kind in ("datetime", "period"):
            with pytest.warns(UserWarning, match=r"'year' holds dates; each row is read as its calendar year"):
                coef = estimator(other, *args, **kwargs).coef
        else:
            coef = _quiet(estimator, other, *args, **kwargs).coef
        pd.testing.assert_series_equal(coef, reference, rtol=1e-10)


def test_years_that_are_not_whole_years_are_refused_naming_the_rows(chilean: pd.DataFrame) -> None:
    half = chilean.assign(year=chilean["year"].astype(float))
    half.loc[[3, 8], "year"] += 0.5
    for estimator in (tfp.ols_production, tfp.fixed_effects_production):
        with pytest.raises(ValueError, match=rf"{estimator.__name__}: 'year' is missing or not a whole year in 2 "
                                             r"row\(s\) \(rows 3, 8\).*A year must be a whole number"):
            estimator(half, "log_y", INPUTS, "id", "year")
    # two dates in one calendar year are one firm-year twice, not two years
    dates = pd.to_datetime(chilean["year"].astype(str) + "-01-01")
    dates[dates.index[1]] = dates[dates.index[0]] + pd.Timedelta(days=100)
    with pytest.raises(ValueError, match=r"share a \(id, year\) key"):
        _quiet(tfp.levinsohn_petrin, chilean.assign(year=dates), "log_y", FREE, **LP)


# --------------------------------------------------------------------------- FE clustered standard errors

@pytest.mark.parametrize("year_effects", [True, False])
def test_fe_clustered_standard_errors_follow_xtreg_fe_and_reghdfe(chilean: pd.DataFrame, year_effects: bool) -> None:
    import pyfixest as pf

    # a subsample too, so that N, G and K all change: the factor is computed, not matched to one data set
    for data in (chilean, chilean.loc[chilean["id"] % 3 != 0]):
        fe = tfp.fixed_effects_production(data, "log_y", INPUTS, "id", "year", year_effects=year_effects)
        effects = "id + year" if year_effects else "id"
        # same sample (singletons kept, no row dropped), firm effects nested in the firm clusters not counted
        reference = pf.feols(f"log_y ~ {' + '.join(INPUTS)} | {effects}", data.astype({"year": "int64"}),
                             vcov={"CRV1": "id"}, ssc=pf.ssc(k_fixef="nonnested"), fixef_rm="none")
        np.testing.assert_allclose(fe.coef[INPUTS], reference.coef()[INPUTS], rtol=1e-8)
        np.testing.assert_allclose(fe.std_error[INPUTS], reference.se()[INPUTS], rtol=1e-6)
    assert "not counted in K, as Stata's xtreg, fe and reghdfe" in fe.summary()


FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def test_grouped_tfp_finds_each_rows_group_or_says_why_not() -> None:
    """`GroupedProductionResult.tfp` compared the labels with ==: scored on codes written another way (text "9"
    for a fit on 9, "food " for "food"), every row silently got NaN; groups not estimated got NaN unannounced."""
    from kaigai_lib import generate, log_columns

    firms = log_columns(generate("tiny", seed=3).firms, ["value_added", "employees", "capital_stock"])
    codes = {name: code for code, name in enumerate(sorted(firms["industry"].unique()), start=8)}
    firms = firms.assign(code=firms["industry"].map(codes).astype("int64"))
    fit = tfp.ols_production(firms, "log_value_added", ["log_employees", "log_capital_stock"], "firm_id", "year",
                             by="code")
    reference = fit.tfp(firms)
    assert reference.notna().all()
    as_float = firms.assign(code=firms["code"].astype("float64"))  # the same numbers: scored alike
    pd.testing.assert_series_equal(fit.tfp(as_float), reference)
    for written in (str, lambda c: f"0{c}", lambda c: f"{c} ", lambda c: str(c).translate(FULL_WIDTH_DIGITS)):
        other = firms.assign(code=firms["code"].map(written).astype(object))
        with pytest.raises(ValueError, match=r"tfp\(\): 'code' holds .* \(rows .*\) where the fit has \d+: the "
                                             r"same group written another way"):
            fit.tfp(other)
    unseen = firms.assign(code=firms["code"].where(firms["code"] != 8, 99))
    with pytest.warns(UserWarning, match=rf"tfp\(\): {int((firms['code'] == 8).sum())} row\(s\) of 'code' groups "
                                         r"that were not estimated \(99; rows .*\) get NaN"):
        scored = fit.tfp(unseen)
    assert scored[firms["code"] == 8].isna().all()
    pd.testing.assert_series_equal(scored[firms["code"] != 8], reference[firms["code"] != 8])


# --------------------------------------------------------------------------- bootstrap draws without identification

def test_bootstrap_draws_whose_first_stage_is_unidentified_are_left_out_and_named() -> None:
    # a second free input that varies in one firm only: the sample identifies its coefficient, but a firm-block
    # resample without that firm (≈ e⁻¹ of the draws) does not; lstsq's minimum-norm answer went into the SE
    from kaigai_lib import generate

    logged = tfp.log_columns(generate("tiny", seed=0).firms,
                             ["value_added", "employees", "capital_stock", "intermediate_inputs"], prefix="l_")
    part = logged.loc[logged["industry"] == logged["industry"].value_counts().index[0]].copy()
    only = part["firm_id"].iloc[0]
    noise = np.random.default_rng(1).normal(0.0, 1.0, len(part))
    part["l_second"] = np.where(part["firm_id"] == only, noise, 0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = tfp.levinsohn_petrin(part, "l_value_added", ["l_employees", "l_second"], "l_capital_stock",
                                      "l_intermediate_inputs", "firm_id", "year", bootstrap=20, seed=0,
                                      progress=False)
    left_out = result.details["bootstrap_unidentified"]
    draws = result.details["bootstrap_draws"]
    assert 3 <= left_out <= 12  # Binomial(20, 0.37): 7 with this seed
    assert draws.shape == (20 - left_out, 3) and np.isfinite(draws).all()
    messages = [str(w.message) for w in caught if issubclass(w.category, tfp.OptimizerWarning)]
    assert any(f"{left_out} of 20 draws left out ({left_out} whose first stage could not identify" in m
               and f"use the other {20 - left_out}" in m for m in messages), messages
    # the SE is the kept draws' spread
    np.testing.assert_allclose(result.std_error.to_numpy(), draws.std(axis=0, ddof=1))
    # a sample every resample identifies warns of nothing and keeps every draw
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        full = tfp.levinsohn_petrin(part, "l_value_added", ["l_employees"], "l_capital_stock",
                                    "l_intermediate_inputs", "firm_id", "year", bootstrap=5, seed=0, progress=False)
    assert full.details["bootstrap_unidentified"] == 0 and full.details["bootstrap_draws"].shape == (5, 2)
    assert not [w for w in caught if "draws left out" in str(w.message)]
