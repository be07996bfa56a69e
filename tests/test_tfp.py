"""Production-function estimators: the published Chilean results, the synthetic truth, and bad inputs.

Tolerances: on the synthetic ``book`` world (seed 0) each industry has
~1,000–3,000 firm-years per year of data; LP's bootstrap standard errors are
~0.005–0.01, so "within sampling error" is checked as |estimate − truth| ≤ 3 SE
(plus 0.005 for the tiny specification error from rounded published values).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.reference_data import PRODEST_PUBLISHED, PRODEST_SPEC
from kaigai_lib.estimators import tfp
from kaigai_lib.world.synthetic import World, generate

LOGGED = ["value_added", "employees", "capital_stock", "intermediate_inputs"]
SPEC = {"output": "log_value_added", "free": "log_employees", "state": "log_capital_stock",
        "proxy": "log_intermediate_inputs", "unit": "firm_id", "time": "year"}


@pytest.fixture(scope="module")
def book_logged(book_world: World) -> pd.DataFrame:
    return tfp.log_columns(book_world.firms, LOGGED)


@pytest.fixture(scope="module")
def book_lp(book_logged: pd.DataFrame) -> tfp.GroupedProductionResult:
    return tfp.levinsohn_petrin(book_logged, **SPEC, by="industry", bootstrap=30, seed=1, progress=False)


# --------------------------------------------------------------------------- external check

@pytest.mark.parametrize("poly_order", [2, 3])
def test_lp_reproduces_the_published_prodest_estimates(chilean: pd.DataFrame, poly_order: int) -> None:
    result = tfp.levinsohn_petrin(chilean, **PRODEST_SPEC, poly_order=poly_order)
    published = PRODEST_PUBLISHED.query("method == 'LP' and poly_order == @poly_order").iloc[0]
    for column in ("log_lab1", "log_lab2", "log_k"):
        assert result.coef[column] == pytest.approx(published[column], abs=0.005), column
    assert result.n_obs == 2544 and result.n_second_stage == 1944


def test_lp_bootstrap_standard_errors_are_of_the_published_size(chilean: pd.DataFrame) -> None:
    result = tfp.levinsohn_petrin(chilean, **PRODEST_SPEC, poly_order=2, bootstrap=40, seed=0, progress=False)
    published = PRODEST_PUBLISHED.query("method == 'LP' and poly_order == 2").iloc[0]
    for column in ("log_lab1", "log_lab2", "log_k"):
        # a bootstrap SE from 40 draws has a relative sampling error of about 1/sqrt(2·40) ≈ 11 %
        assert 0.6 * published[f"se_{column}"] < result.std_error[column] < 1.6 * published[f"se_{column}"], column
    again = tfp.levinsohn_petrin(chilean, **PRODEST_SPEC, poly_order=2, bootstrap=40, seed=0, progress=False)
    pd.testing.assert_series_equal(result.std_error, again.std_error)


# --------------------------------------------------------------------------- synthetic truth

def test_lp_recovers_the_true_coefficients_within_sampling_error(book_world: World,
                                                                 book_lp: tfp.GroupedProductionResult) -> None:
    truth = book_world.truth.production.set_index("industry")
    for industry, result in book_lp.results.items():
        for column, true_column in (("log_employees", "beta_labour"), ("log_capital_stock", "beta_capital")):
            error = abs(result.coef[column] - truth.loc[industry, true_column])
            assert error <= 3 * result.std_error[column] + 0.005, (industry, column, result.coef[column])


def test_ols_overstates_labour_where_lp_does_not(book_world: World, book_logged: pd.DataFrame,
                                                 book_lp: tfp.GroupedProductionResult) -> None:
    ols = tfp.ols_production(book_logged, "log_value_added", ["log_employees", "log_capital_stock"],
                             "firm_id", "year", by="industry")
    truth = book_world.truth.production.set_index("industry")["beta_labour"]
    ols_bias = ols.coef["log_employees"] - truth
    lp_bias = book_lp.coef["log_employees"] - truth
    assert (ols_bias > 3 * ols.std_error["log_employees"]).all()
    assert (ols_bias.abs() > 5 * lp_bias.abs()).all()


def test_estimated_tfp_tracks_true_productivity(book_world: World, book_logged: pd.DataFrame,
                                                book_lp: tfp.GroupedProductionResult) -> None:
    estimated = book_lp.tfp(book_logged)
    assert estimated.notna().all()
    true = book_world.latent["tfp_true"]
    assert np.corrcoef(estimated, true)[0, 1] > 0.9
    # within industries too, where LP has to do the work
    within = lambda s: s - s.groupby(book_logged["industry"]).transform("mean")  # noqa: E731
    assert np.corrcoef(within(estimated), within(true))[0, 1] > 0.9


def test_without_labour_shocks_lp_loses_the_labour_coefficient(book_lp: tfp.GroupedProductionResult) -> None:
    """ACF critique: labour = f(ω, k) makes β_l (near) unidentified in LP's first stage."""
    world = generate(preset="book", seed=0, labour_shock_sd=0.0)
    data = tfp.log_columns(world.firms.query("industry == 'machinery'"), LOGGED)
    result = tfp.levinsohn_petrin(data, **SPEC, bootstrap=30, seed=1, progress=False)
    assert result.std_error["log_employees"] > 4 * book_lp["machinery"].std_error["log_employees"]


def test_acf_lands_near_the_truth_in_the_default_world(book_world: World, book_logged: pd.DataFrame) -> None:
    data = book_logged.query("industry == 'machinery'")
    result = tfp.ackerberg_caves_frazer(data, **SPEC)
    truth = book_world.truth.production.set_index("industry").loc["machinery"]
    # ACF is exactly identified with two moments and far less precise than LP here: a wide band
    assert abs(result.coef["log_employees"] - truth["beta_labour"]) < 0.15
    assert abs(result.coef["log_capital_stock"] - truth["beta_capital"]) < 0.1
    assert result.details["optimizer"].fun < 1e-8


def test_fixed_effects_and_grouped_tables(book_logged: pd.DataFrame) -> None:
    fe = tfp.fixed_effects_production(book_logged.query("industry == 'food'"), "log_value_added",
                                      ["log_employees", "log_capital_stock"], "firm_id", "year")
    assert set(fe.tidy().columns) >= {"estimate", "std_error", "ci_low", "ci_high"}
    assert (fe.std_error > 0).all()


def test_grouped_results_summary_and_tfp(book_lp: tfp.GroupedProductionResult, book_logged: pd.DataFrame) -> None:
    table = book_lp.tidy()
    assert set(table["industry"]) == set(book_logged["industry"])
    assert len(table) == 2 * book_logged["industry"].nunique()
    one = book_lp["food"]
    rows = book_logged["industry"] == "food"
    manual = book_logged.loc[rows, "log_value_added"] - book_logged.loc[rows, one.inputs] @ one.coef
    pd.testing.assert_series_equal(book_lp.tfp(book_logged)[rows], manual.rename("log_tfp"))
    assert "firm-block bootstrap, 30 replications" in str(one)


# --------------------------------------------------------------------------- bad inputs

def test_non_positive_values_before_logs_are_refused(tiny_world: World) -> None:
    firms = tiny_world.firms.copy()
    firms.loc[[3, 9], "intermediate_inputs"] = 0.0
    with pytest.raises(ValueError, match=r"'intermediate_inputs' has 2 value\(s\).*rows 3, 9"):
        tfp.log_columns(firms, LOGGED)


def test_infinite_and_missing_values_are_named(tiny_world: World) -> None:
    data = tfp.log_columns(tiny_world.firms, LOGGED)
    data.loc[5, "log_intermediate_inputs"] = -np.inf
    with pytest.raises(ValueError, match=r"log_intermediate_inputs.*infinite.*log_columns"):
        tfp.levinsohn_petrin(data, **SPEC)


def test_constant_proxy_is_an_error(tiny_world: World) -> None:
    data = tfp.log_columns(tiny_world.firms, LOGGED).assign(log_intermediate_inputs=1.0)
    with pytest.raises(ValueError, match="proxy 'log_intermediate_inputs' is constant"):
        tfp.levinsohn_petrin(data, **SPEC)


def test_a_proxy_not_monotone_in_productivity_warns_with_a_diagnostic(tiny_world: World) -> None:
    data = tfp.log_columns(tiny_world.firms, LOGGED)
    # a proxy falling in productivity: the mirror image of the true one
    data["log_intermediate_inputs"] = -data["log_intermediate_inputs"]
    with pytest.warns(tfp.ProxyWarning, match=r"∂φ/∂log_intermediate_inputs ≤ 0.*for \d+% of rows"):
        tfp.levinsohn_petrin(data, **SPEC)


def test_a_valid_proxy_gives_no_warning(tiny_world: World) -> None:
    data = tfp.log_columns(tiny_world.firms, LOGGED)
    with warnings.catch_warnings():
        warnings.simplefilter("error", tfp.ProxyWarning)
        tfp.levinsohn_petrin(data, **SPEC)


def test_too_few_firms_in_an_industry_names_it(tiny_world: World) -> None:
    data = tfp.log_columns(tiny_world.firms, LOGGED)
    few = data["firm_id"].isin(data.loc[data["industry"] == "chemicals", "firm_id"].unique()[:5])
    data = data.loc[(data["industry"] != "chemicals") | few]
    with pytest.raises(ValueError, match=r"only 5 firm\(s\) for 'chemicals'"):
        tfp.levinsohn_petrin(data, **SPEC, by="industry")


def test_no_lagged_observations_is_an_error(tiny_world: World) -> None:
    data = tfp.log_columns(tiny_world.firms, LOGGED)
    one_year = data.groupby("firm_id").head(1)
    with pytest.raises(ValueError, match="consecutive years"):
        tfp.levinsohn_petrin(one_year, **SPEC)


def test_duplicate_keys_and_missing_columns(tiny_world: World) -> None:
    data = tfp.log_columns(tiny_world.firms, LOGGED)
    with pytest.raises(ValueError, match=r"share a \(firm_id, year\) key"):
        tfp.levinsohn_petrin(pd.concat([data, data.head(3)]), **SPEC)
    with pytest.raises(KeyError, match="log_sales"):
        tfp.levinsohn_petrin(data, **{**SPEC, "output": "log_sales"})


def test_an_optimiser_that_did_not_converge_is_reported() -> None:
    class Stopped:
        success = False
        message = "Maximum number of iterations has been exceeded."
        nfev = 4000

    with pytest.warns(tfp.OptimizerWarning, match="did not converge.*4000 evaluations"):
        tfp._warn_if_not_converged(Stopped(), "ackerberg_caves_frazer [food]")
