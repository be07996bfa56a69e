"""The support programme: the world's take-up and effects, the one-call design, and ``kaigai replicate [treatment]``.

Tolerances are in standard errors of the estimate itself (seeded worlds, so the checks are stable): an
estimate within 3 s.e. of the truth is what sampling error allows; the chapter's step-by-step estimate must
equal the one-call design's to floating-point rounding.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from kaigai_lib.data.disclosure import check_folder
from kaigai_lib.data.starts import risk_set, size_class
from kaigai_lib.estimators.did import event_changes
from kaigai_lib.estimators.matching import propensity_match
from kaigai_lib.estimators.programme import DEFAULT_COVARIATES, treatment_did
from kaigai_lib.exercises.spec import load_exercise
from kaigai_lib.replication.cli import USER_ERROR, main
from kaigai_lib.world.synthetic import EXPORT_GROUPS, SUPPORT_OUTCOMES, generate

SME_GROUPS = ["under 50", "50-99", "100-299"]
YEARS = {"first_start_year": 2011, "last_start_year": 2015}


@pytest.fixture(scope="module")
def world():
    return generate(preset="book", seed=0)


@pytest.fixture(scope="module")
def design(world):
    return treatment_did(world.firms, "supported", sample="exporter", groups=SME_GROUPS, truth=world.truth.support,
                         **YEARS)


def test_programme_draws_leave_the_rest_of_the_world_unchanged() -> None:
    zero = {g: dict.fromkeys(SUPPORT_OUTCOMES, 0.0) for g in EXPORT_GROUPS}
    default, without = generate("tiny", seed=1), generate("tiny", seed=1, support_effects=zero)
    programme = ["exports", "hub_distance_km", "support_network", "supported", "support_start_year"]
    others = [c for c in default.firms.columns if c not in [*programme, "sales"]]
    pd.testing.assert_frame_equal(default.firms[others], without.firms[others])
    pd.testing.assert_frame_equal(default.establishments, without.establishments)
    # sales differ exactly by the programme's effect on sales (up to the table's rounding to 0.1)
    ratio = np.log(default.firms["sales"] / without.firms["sales"])
    assert np.allclose(ratio, default.latent["sales_support_effect"], atol=0.05 / without.firms["sales"].min() + 1e-3)
    assert (default.latent["sales_support_effect"] > 0).any()


def test_take_up_follows_the_documented_selection(world) -> None:
    firms = world.firms.assign(size=size_class(world.firms["employees"]).astype(str))
    rows = risk_set(firms, "supported", **YEARS).rows
    assert rows["start"].sum() > 500
    assert not firms.query("year < @world.truth.params.support_first_year")["supported"].any()
    near = rows["hub_distance_km"] < rows["hub_distance_km"].median()
    assert rows.loc[near, "start"].mean() > rows.loc[~near, "start"].mean()  # ties shift take-up
    assert rows.loc[rows["support_network"], "start"].mean() > rows.loc[~rows["support_network"], "start"].mean()
    assert rows.loc[rows["size"] == "50-99", "start"].mean() > rows.loc[rows["size"] == "300+", "start"].mean()
    exporters = world.firms.loc[world.firms["exporter"], "exports"]
    assert (exporters > 0).all() and (world.firms.loc[~world.firms["exporter"], "exports"] == 0).all()


def test_step_by_step_equals_the_one_call_design(world, design) -> None:
    """The chapter's steps, typed out, give the one-call design's estimates to rounding."""
    firms = world.firms.assign(size=size_class(world.firms["employees"]).astype(str))
    at_risk = risk_set(firms, "supported", **YEARS).rows.query("exporter and size != '300+'")
    match = propensity_match(at_risk, "start", DEFAULT_COVARIATES, exact=["year", "industry", "size"], unit="firm_id")
    panel = firms.assign(exports=firms["exports"].where(firms["exporter"]))
    changes = event_changes(panel, match.matched, ["exports", "sales"], horizons=[5], pre_horizons=[-3, -2],
                            keep=["industry", "size"])
    compared = 0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*singleton fixed effect")
        for (outcome, size, horizon), cell in changes.table.groupby(["outcome", "size", "horizon"]):
            fit = pf.feols("change_log ~ treated | cohort + industry + size", data=cell, vcov={"CRV1": "firm_id"})
            one_call = design.result.estimate(outcome, size, horizon)
            assert fit.coef()["treated"] == pytest.approx(one_call["estimate"], abs=1e-10)
            # pyfixest demeans the fixed effects in an order that follows Python's hash seed (one run's
            # SE differed by 2e-7 relatively): equal to its convergence tolerance, not to the last bit
            assert fit.se()["treated"] == pytest.approx(one_call["std_error"], rel=1e-6)
            compared += 1
    assert compared == 2 * 3 * 3


def test_the_estimate_is_within_sampling_error_of_the_true_effect(design) -> None:
    at5 = design.compare(5)
    assert len(at5) == 6 and at5["truth"].notna().all()
    z = at5["bias"] / at5["std_error"]
    assert (z.abs() < 3).all(), at5
    # pooled over the six cells, the mean z-score of unbiased estimates is N(0, 1/6)-ish
    assert abs(z.mean()) < 3 / np.sqrt(len(z))
    placebo = design.tidy().query("horizon < 0")
    assert (placebo["estimate"].abs() < 3 * placebo["std_error"]).all()


def test_time_varying_motivation_biases_matching_plus_did_upward() -> None:
    biased = generate("book", seed=0, support_motivation_time_varying_sd=1.0)
    result = treatment_did(biased.firms, "supported", sample="exporter", groups=["50-99", "100-299"],
                           truth=biased.truth.support, **YEARS)
    at5 = result.compare(5)
    # the starters' changes include growth they would have had anyway: every cell is biased upward
    assert (at5["bias"] > 0).all(), at5
    assert (at5["bias"] / at5["std_error"]).mean() > 2


def test_treatment_did_errors_name_the_problem(world) -> None:
    firms = world.firms.copy()
    with pytest.raises(ValueError, match="disagrees with 'support_start_year'"):
        broken = firms.assign(supported=firms["supported"].where(firms.index != firms.index[firms["supported"]][0],
                                                                 False))
        treatment_did(broken, "supported", start_year="support_start_year", **YEARS)
    with pytest.raises(KeyError, match="not in the firm panel"):
        treatment_did(firms, "programme_x")
    with pytest.raises(ValueError, match="no firm in the risk set"):
        treatment_did(firms, "supported", first_start_year=2001, last_start_year=2005)
    # the start-year column alone defines the same treatment as the flag
    by_year = treatment_did(firms, start_year="support_start_year", sample="exporter", groups=["100-299"],
                            horizons=[5], pre_horizons=[], **YEARS)
    assert by_year.result.estimate("exports", "100-299", 5)["estimate"] == pytest.approx(
        treatment_did(firms, "supported", sample="exporter", groups=["100-299"], horizons=[5], pre_horizons=[],
                      **YEARS).result.estimate("exports", "100-299", 5)["estimate"])


def test_support_exercise_reads_the_truth_from_the_world(world) -> None:
    spec = load_exercise("support-exports-motivation")
    assert spec.quantity.compute(world) == world.truth.support.query(
        "outcome == 'exports' and group == '100-299' and horizon == 5")["effect"].item()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("world") / "tiny"
    assert main(["generate", "--preset", "tiny", "--seed", "3", "--out", str(folder)]) == 0
    return folder


def _replicate(generated: Path, out: Path, config: str) -> int:
    path = out.parent / f"{out.name}.toml"
    path.write_text(config, encoding="utf-8")
    return main(["replicate", "--firms", str(generated / "firms.parquet"), "--establishments",
                 str(generated / "establishments.csv"), "--foreign-demand", str(generated / "foreign_demand.csv"),
                 "--config", str(path), "--out", str(out)])


TREATMENT_CONFIG = """
[treatment]
name = "support"
column = "supported"
start_year_column = "support_start_year"
outcomes = ["sales"]
groups = ["50-99", "100-299"]
horizons = 5
first_start_year = 2011
last_start_year = 2015
"""


def test_replicate_evaluates_a_treatment_from_the_config(generated: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (generated / "truth" / "support.csv").exists()
    assert _replicate(generated, out, TREATMENT_CONFIG) == 0
    assert check_folder(out) == []
    effects = pd.read_csv(out / "effects.csv")
    assert set(effects["analysis"]) == {"export", "fdi", "support"}
    support = effects.query("analysis == 'support'")
    assert set(support["group"]) == {"50-99", "100-299"} and set(support["horizon"]) == {-3, -2, 1, 2, 3, 4, 5}
    shown = support.loc[~support["suppressed"] & (support["horizon"] == 5)]
    assert len(shown) > 0 and shown["truth"].notna().all()
    assert ((shown["estimate"] - shown["truth"]).abs() < 3 * shown["std_error"]).all(), shown
    assert support.loc[support["suppressed"], "estimate"].isna().all()  # suppressed cells are blank


def test_replicate_treatment_cells_obey_disclosure(generated: Path, tmp_path: Path) -> None:
    out = tmp_path / "strict"
    strict = TREATMENT_CONFIG + "\n[disclosure]\nmin_firms = 100000\n"
    assert _replicate(generated, out, strict) == 0
    support = pd.read_csv(out / "effects.csv").query("analysis == 'support'")
    assert support["suppressed"].all() and support["estimate"].isna().all()
    assert check_folder(out) == []


def test_replicate_treatment_config_errors_are_named(generated: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    bad = "[treatment]\ncolumn = \"supported\"\noutcomes = \"sales\"\nhorizon = 5\n"
    assert _replicate(generated, tmp_path / "bad", bad) == USER_ERROR
    err = capsys.readouterr().err
    assert "[treatment] horizon: unknown setting" in err and "[treatment] outcomes = 'sales'" in err
    missing = "[treatment]\ncolumn = \"programme_x\"\noutcomes = [\"sales\"]\n"
    assert _replicate(generated, tmp_path / "missing", missing) == USER_ERROR
    assert "column = 'programme_x'" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
