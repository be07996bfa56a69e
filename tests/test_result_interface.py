"""Issue 15: every estimator's result has the same interface — tidy() → DataFrame with the common column names,
summary() → str, plot() → a matplotlib Axes, counts() where it counts, std_error (never se).

Each result is built on the tiny world (and matching also on a data set not from generate(): NSW/CPS via causaldata)
and checked generically, so a new result class only needs a line in RESULTS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

from kaigai_lib.estimators import did, matching, naive, spatial, tfp
from kaigai_lib.estimators.programme import treatment_did
from kaigai_lib.estimators.results import TIDY_COLUMNS, Counts
from kaigai_lib.whitepaper import selection
from kaigai_lib.whitepaper.did_design import white_paper_did
from kaigai_lib.world.synthetic import World

ESTIMATE_COLUMNS = {"estimate", "std_error", "ci_low", "ci_high"}
LOGGED = ["value_added", "employees", "capital_stock", "intermediate_inputs"]


def _match(world: World) -> matching.MatchResult:
    firms = world.firms.loc[world.firms["year"] == 2005].dropna(subset=["employees", "sales"]).copy()
    firms["log_employees"], firms["log_sales"] = np.log(firms["employees"]), np.log(firms["sales"])
    return matching.propensity_match(firms, "exporter", ["log_employees", "log_sales"], unit="firm_id")


def _att(world: World) -> matching.ATTResult:
    return _match(world).att("log_sales")


def _lp(world: World) -> tfp.ProductionResult:
    logged = tfp.log_columns(world.firms, LOGGED)
    return tfp.levinsohn_petrin(logged, "log_value_added", "log_employees", "log_capital_stock",
                                "log_intermediate_inputs", "firm_id", "year", bootstrap=5, seed=0, progress=False)


def _lp_by_industry(world: World) -> tfp.GroupedProductionResult:
    logged = tfp.log_columns(world.firms, LOGGED)
    return tfp.ols_production(logged, "log_value_added", ["log_employees", "log_capital_stock"], "firm_id", "year",
                              by="industry")


def _white_paper(world: World) -> Any:
    return white_paper_did(world, "export", horizons=[2], pre_horizons=[-2])


def _did_result(world: World) -> did.DidResult:
    return _white_paper(world).result


def _staggered(world: World) -> did.StaggeredEventStudy:
    return did.staggered_event_study(world, "export", "sales", estimators=("twfe", "twfe_dynamic"))


def _programme(world: World) -> Any:
    return treatment_did(world.firms, "supported", sample="exporter", horizons=[2], pre_horizons=[-2],
                         truth=world.truth.support)


def _catchments(world: World) -> spatial.Catchments:
    return spatial.build_catchments(world.establishments, world.firms)


def _spillover(world: World) -> spatial.SpilloverResult:
    return spatial.fit_spillover(_catchments(world), world.foreign_demand, truth=world.truth)


def _naive(world: World) -> naive.NaiveDifference:
    return naive.naive_difference(world.firms, outcome="sales", analysis="export", group="50-99", horizon=3)


def _decomposition(world: World) -> selection.Decomposition:
    return selection.decompose(world, "export", "sales", "50-99", horizon=3)


# name → (builder, has an estimate with a standard error, has a truth attached, has counts())
RESULTS: dict[str, tuple[Callable[[World], Any], bool, bool, bool]] = {
    "MatchResult": (_match, False, False, True),
    "ATTResult": (_att, True, False, False),
    "ProductionResult": (_lp, True, False, False),
    "GroupedProductionResult": (_lp_by_industry, True, False, False),
    "DidResult": (_did_result, True, False, False),
    "WhitePaperDid": (_white_paper, True, True, True),
    "StaggeredEventStudy": (_staggered, True, True, False),
    "TreatmentDid": (_programme, True, True, True),
    "SpilloverResult": (_spillover, True, True, False),
    "NaiveDifference": (_naive, True, False, False),
    "Decomposition": (_decomposition, True, False, False),
}


@pytest.fixture(scope="module", params=list(RESULTS))
def built(request: pytest.FixtureRequest, tiny_world: World) -> tuple[str, Any]:
    builder = RESULTS[request.param][0]
    return request.param, builder(tiny_world)


def _check_tidy(table: pd.DataFrame, *, estimates: bool, truth: bool) -> None:
    assert isinstance(table, pd.DataFrame) and len(table) > 0
    assert isinstance(table.index, pd.RangeIndex)  # names are columns (term / outcome), never the index
    assert {"term", "outcome"} & set(table.columns), table.columns
    common = [c for c in table.columns if c in TIDY_COLUMNS]
    assert common == [c for c in TIDY_COLUMNS if c in common], "the common columns come first, in one order"
    assert list(table.columns[:len(common)]) == common
    assert not {"se", "coef", "value", "naive_difference"} & set(table.columns)  # one name per quantity
    if estimates:
        assert set(table.columns) >= ESTIMATE_COLUMNS
        for column in (*ESTIMATE_COLUMNS, "p_value"):
            if column in table.columns:
                assert pd.api.types.is_float_dtype(table[column]), column
        finite = table.dropna(subset=["estimate", "std_error"])
        assert len(finite) > 0
        assert (finite["std_error"] >= 0).all()
        assert ((finite["ci_low"] <= finite["estimate"]) & (finite["estimate"] <= finite["ci_high"])).all()
        if "p_value" in finite.columns:
            assert finite["p_value"].between(0, 1).all()
    if truth:
        assert {"truth", "bias"} <= set(table.columns)
        rows = table.dropna(subset=["truth", "estimate"])
        np.testing.assert_allclose(rows["bias"], rows["estimate"] - rows["truth"])
    for column in ("n_treated", "n_control", "n_obs"):
        if column in table.columns:
            assert pd.api.types.is_integer_dtype(table[column]) and (table[column] >= 0).all(), column


def test_tidy_summary_plot_counts(built: tuple[str, Any]) -> None:
    name, result = built
    _, estimates, truth, has_counts = RESULTS[name]
    _check_tidy(result.tidy(), estimates=estimates, truth=truth)
    text = result.summary()
    assert isinstance(text, str) and len(text.splitlines()) >= 2, name
    ax = result.plot()
    assert isinstance(ax, Axes), (name, type(ax))
    assert ax.has_data() or ax.containers or ax.patches, f"{name}.plot() drew nothing"
    plt.close(ax.figure)
    assert not hasattr(result, "se"), f"{name} still has 'se'; the name is std_error"
    if has_counts:
        counts = result.counts()
        assert isinstance(counts, pd.DataFrame) and len(counts) > 0, name


def test_one_panel_plots_draw_into_a_given_axes(tiny_world: World) -> None:
    fig, ax = plt.subplots()
    for build in (_att, _lp, _naive, _decomposition):
        assert build(tiny_world).plot(ax=ax) is ax
    plt.close(fig)


def test_counts_read_by_name_and_as_a_table(tiny_world: World) -> None:
    result = _match(tiny_world)
    assert isinstance(result.counts, Counts)
    table = result.counts()
    assert table.loc[("treated", "matched"), "count"] == result.counts["matched_treated"]
    assert table.loc[("control", "used as matches (distinct rows)"), "count"] == result.counts["matched_controls"]
    assert result.tidy()["n_treated"].iloc[0] == result.counts["matched_treated"]


def test_catchments_count_what_they_keep_and_drop(tiny_world: World) -> None:
    catchments = _catchments(tiny_world)
    counts = catchments.counts()
    kept = counts.loc[counts["kind"] == "kept"].set_index("step")["count"]
    assert kept["centre-years"] == len(catchments.centres)
    assert kept["receiving establishment-years"] == len(catchments.receivers)
    assert len(counts) == 3 + len(catchments.drops)
    assert isinstance(catchments.summary(), str)
    ax = catchments.plot()
    assert isinstance(ax, Axes) and len(ax.figure.axes) >= 1
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="without ax="):
        catchments.plot(ax=ax)


def test_truth_is_carried_into_tidy(tiny_world: World) -> None:
    att = _att(tiny_world)
    table = att.tidy(truth=0.25)
    assert table.loc[0, "bias"] == pytest.approx(att.estimate - 0.25)
    lp = _lp(tiny_world)
    truth = pd.Series({"log_employees": 0.6, "log_capital_stock": 0.3})
    tidy = lp.tidy(truth=truth).set_index("term")
    np.testing.assert_allclose(tidy["bias"], lp.coef - truth.reindex(lp.inputs))


# --------------------------------------------------------------------------- data not from generate()

def test_the_interface_on_job_training_data(job_training: pd.DataFrame) -> None:
    result = matching.propensity_match(job_training, "treat", "age + educ + black + hisp + re74 + re75",
                                       caliper=None, replace=True)
    _check_tidy(result.tidy(), estimates=False, truth=False)
    att = result.att("re78")
    _check_tidy(att.tidy(), estimates=True, truth=False)
    assert att.tidy().loc[0, "n_treated"] == int(job_training["treat"].sum())
    assert "re78" in att.summary() and isinstance(result.summary(), str)
    for ax in (result.plot(), att.plot()):
        assert isinstance(ax, Axes)
        plt.close(ax.figure)
