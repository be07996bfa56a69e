"""Propensity score matching: synthetic truth, a classic job-training data set, options and bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.starts import risk_set, size_class
from kaigai_lib.estimators import matching, tfp
from kaigai_lib.world.synthetic import generate

WP_FORMULA = ("log_employees + log_sales + log_capital_stock + tfp + domestic_subsidiaries"
              " + C(size) + C(year) + C(industry)")


@pytest.fixture(scope="module")
def export_sample() -> tuple[pd.DataFrame, object]:
    """Export risk set of a world with selection on observables only, with the 5-year change in log sales.

    TFP is the LP estimate, as in the white paper; the unobserved firm
    effect is switched off in the export hazard.
    """
    world = generate(preset="book", seed=0, export_selection_firm_effect=0.0)
    firms = tfp.log_columns(world.firms, ["value_added", "employees", "capital_stock",
                                          "intermediate_inputs", "sales"])
    lp = tfp.levinsohn_petrin(firms, "log_value_added", "log_employees", "log_capital_stock",
                              "log_intermediate_inputs", "firm_id", "year", by="industry")
    firms["tfp"] = lp.tfp(firms)
    rows = risk_set(firms, "exporter", first_start_year=1997, last_start_year=2015).rows
    later = firms[["firm_id", "year", "log_sales"]].assign(year=lambda d: d["year"] - 6)
    rows = rows.merge(later.rename(columns={"log_sales": "log_sales_h5"}), on=["firm_id", "year"])
    rows["growth"] = rows["log_sales_h5"] - rows["log_sales"]
    rows["size"] = size_class(rows["employees"])
    groups = world.latent.set_index(["firm_id", "year"])["export_group"]
    rows["true_effect"] = [
        world.truth.effect("export", "sales", groups.get((f, y + 1)), 5) if s else np.nan
        for f, y, s in zip(rows["firm_id"], rows["year"], rows["start"], strict=True)]
    return rows.reset_index(drop=True), world


def test_matched_estimate_is_near_the_truth_and_the_naive_one_is_not(export_sample) -> None:
    rows, _ = export_sample
    result = matching.propensity_match(rows, "start", WP_FORMULA, exact=["year", "industry"], caliper=0.2)
    att = result.att("growth")
    matched_treated = result.matched.loc[result.matched["_treated"] == 1]
    truth = matched_treated["true_effect"].mean()  # the ATT of the starters that were matched
    assert abs(att.estimate - truth) < 2.5 * att.std_error, (att, truth)
    naive = rows.loc[rows["start"] == 1, "growth"].mean() - rows.loc[rows["start"] == 0, "growth"].mean()
    naive_se = np.sqrt(rows.groupby("start")["growth"].var().div(rows.groupby("start").size()).sum())
    assert abs(naive - truth) > 4 * max(att.std_error, naive_se), (naive, truth)
    balance = result.balance()
    assert (balance["smd_after"].abs() < 0.1).all(), balance["smd_after"].abs().max()
    assert (balance.loc[["log_sales", "tfp"], "smd_before"].abs() > 0.2).all()


def test_with_replacement_uses_abadie_imbens(export_sample) -> None:
    rows, _ = export_sample
    result = matching.propensity_match(rows, "start", WP_FORMULA, exact=["year", "industry"], replace=True,
                                       ratio=2)
    att = result.att("growth")
    assert "Abadie–Imbens" in att.se_method
    assert 0 < att.std_error < 0.05 and att.ci_low < att.estimate < att.ci_high
    assert result.pairs.groupby("pair").size().max() == 2
    # with replacement a control can serve several treated rows
    assert result.pairs["control"].duplicated().any()


def test_unit_stops_a_firm_serving_as_control_twice(export_sample) -> None:
    rows, _ = export_sample
    free = matching.propensity_match(rows, "start", WP_FORMULA, exact=["year", "industry"])
    once = matching.propensity_match(rows, "start", WP_FORMULA, exact=["year", "industry"], unit="firm_id")
    controls_free = rows.loc[free.pairs["control"], "firm_id"]
    controls_once = rows.loc[once.pairs["control"], "firm_id"]
    assert controls_free.duplicated().any()
    assert not controls_once.duplicated().any()
    # exact strata hold for every pair
    for column in ("year", "industry"):
        assert (rows.loc[once.pairs["treated"], column].to_numpy()
                == rows.loc[once.pairs["control"], column].to_numpy()).all()


def test_caliper_and_order_and_discard(export_sample) -> None:
    rows, _ = export_sample
    wide = matching.propensity_match(rows, "start", WP_FORMULA, exact=["year", "industry"], caliper=None)
    narrow = matching.propensity_match(rows, "start", WP_FORMULA, exact=["year", "industry"], caliper=0.01)
    assert narrow.counts["matched_treated"] < wide.counts["matched_treated"]
    assert narrow.pairs["distance"].max() <= narrow.settings["caliper_width"]
    assert narrow.counts["unmatched_caliper"] > 0
    smallest = matching.propensity_match(rows, "start", WP_FORMULA, exact=["year", "industry"], order="smallest")
    assert not smallest.pairs["control"].equals(wide.pairs["control"])
    discarded = matching.propensity_match(rows, "start", WP_FORMULA, exact=["year", "industry"], discard="both")
    summary = discarded.counts()["count"]["treated"]
    assert discarded.counts["discarded_treated"] + discarded.counts["discarded_controls"] > 0
    assert summary["all"] == (summary["matched"] + summary["discarded (off common support)"]
                              + summary["unmatched: no control in its stratum"]
                              + summary["unmatched: no control left within the caliper"])


# --------------------------------------------------------------------------- a classic job-training data set

def test_runs_unchanged_on_a_job_training_layout(job_training: pd.DataFrame) -> None:
    formula = ("age + I(age**2) + educ + I(educ**2) + black + hisp + marr + nodegree"
               " + re74 + re75 + I(re74 == 0) + I(re75 == 0)")
    result = matching.propensity_match(job_training, "treat", formula, caliper=None, replace=True)
    att = result.att("re78")
    naive = job_training.groupby("treat")["re78"].mean().diff().iloc[-1]
    experimental = 1794.34  # NSW experimental estimate (treated − randomised controls), Dehejia & Wahba
    assert att.ci_low < experimental < att.ci_high
    assert naive < experimental - 6 * att.std_error
    balance = result.balance()
    assert balance["smd_before"].abs().max() > 1.0
    assert balance.loc[["re74", "re75", "black"], "smd_after"].abs().max() < 0.1
    assert {"I(age ** 2)", "I(re74 == 0)[T.True]"} & set(result.covariates)


# --------------------------------------------------------------------------- bad inputs

@pytest.fixture
def small() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "group": np.repeat(["a", "b"], n // 2),
                         "treated": (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int), "y": rng.normal(size=n)})


def test_no_treated_units(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="no treated units"):
        matching.propensity_match(small.assign(treated=0), "treated", ["x"])


def test_non_binary_treatment(small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="must be binary"):
        matching.propensity_match(small.assign(treated=small["treated"] * 2 + 1), "treated", ["x"])


def test_missing_covariate_columns(small: pd.DataFrame) -> None:
    with pytest.raises(KeyError, match=r"\['age'\] not in the data"):
        matching.propensity_match(small, "treated", ["x", "age"])


def test_nan_covariates_say_how_many_rows_and_which_columns(small: pd.DataFrame) -> None:
    data = small.copy()
    data.loc[[1, 2, 3], "x"] = np.nan
    data.loc[[3, 7], "z"] = np.nan
    with pytest.raises(ValueError, match=r"\{'x': 3, 'z': 2\} \(rows with any missing: 4"):
        matching.propensity_match(data, "treated", "x + z")


def test_perfect_separation(small: pd.DataFrame) -> None:
    data = small.assign(treated=(small["x"] > 0).astype(int))
    with pytest.raises(ValueError, match=r"perfect separation.*\['x'\]"):
        matching.propensity_match(data, "treated", ["x", "z"])


def test_no_controls_in_a_stratum_is_reported_not_fatal(small: pd.DataFrame) -> None:
    data = small.copy()
    data.loc[data["group"] == "b", "treated"] = 1 - (data.loc[data["group"] == "b", "z"] > 5).astype(int)
    result = matching.propensity_match(data, "treated", ["x"], exact="group", caliper=None)
    assert result.strata_without_controls == [("b",)]
    assert result.counts["unmatched_no_controls"] == int((data["group"] == "b").sum())
    assert result.counts["matched_treated"] > 0


def test_no_overlap(small: pd.DataFrame) -> None:
    data = small.copy()
    data["treated"] = (data["group"] == "a").astype(int)
    with pytest.raises(ValueError, match="no overlap"):
        matching.propensity_match(data, "treated", ["x"], exact="group")


def test_bad_options(small: pd.DataFrame) -> None:
    for kwargs, message in (({"order": "biggest"}, "order="), ({"discard": "all"}, "discard="),
                            ({"ratio": 0}, "ratio="), ({"caliper": -1}, "caliper=")):
        with pytest.raises(ValueError, match=message):
            matching.propensity_match(small, "treated", ["x"], **kwargs)


def test_love_plot_and_overlap_plot(small: pd.DataFrame) -> None:
    result = matching.propensity_match(small, "treated", "x + z + C(group)")
    ax = result.plot_balance()
    assert len(ax.get_yticklabels()) == len(result.covariates)
    assert any(abs(line.get_xdata()[0] - 0.1) < 1e-12 for line in ax.get_lines())
    fig = result.plot_overlap()
    assert len(fig.axes) == 2
    assert "Propensity score matching" in str(result)


# --------------------------------------------------------------------------- data the kit did not generate (issue 14)

JOB_FORMULA = "age + I(age**2) + educ + black + hisp + marr + nodegree + re74 + re75"


def _clean_job_match(data: pd.DataFrame, formula: str, **options) -> matching.MatchResult:
    """The reference: the same frame with tidy dtypes, matched with the same options."""
    return matching.propensity_match(data.reset_index(drop=True), "treat", formula, **options)


def test_unused_categories_are_dropped_and_said_not_perfect_separation(job_training: pd.DataFrame) -> None:
    data = job_training.copy()
    data["schooling"] = pd.Categorical(np.where(data["educ"] < 12, "dropout", "graduate"),
                                       categories=["dropout", "graduate", "doctorate", "unknown"])
    formula = JOB_FORMULA + " + C(schooling)"
    reference = _clean_job_match(data.assign(schooling=data["schooling"].cat.remove_unused_categories()), formula)
    with pytest.warns(UserWarning, match=r"'schooling': dropped 2 unused categories \['doctorate', 'unknown'\]"):
        result = matching.propensity_match(data, "treat", formula)
    pd.testing.assert_frame_equal(result.pairs, reference.pairs)
    assert result.att("re78").estimate == pytest.approx(reference.att("re78").estimate, abs=1e-9)
    assert "dropped 2 unused categories" in str(result)


def test_numbers_stored_as_text_are_read_as_numbers(job_training: pd.DataFrame) -> None:
    as_text = job_training.assign(age=job_training["age"].astype(str), re75=job_training["re75"].map("{:.4f}".format))
    reference = _clean_job_match(job_training.assign(re75=as_text["re75"].astype(float)), JOB_FORMULA)
    with pytest.warns(UserWarning, match="'age': numbers stored as text read as numbers"):
        result = matching.propensity_match(as_text, "treat", JOB_FORMULA)
    pd.testing.assert_frame_equal(result.pairs, reference.pairs)
    np.testing.assert_allclose(result.data["_logit"], reference.data["_logit"], rtol=1e-9)


def test_text_with_thousands_separators_is_refused_naming_the_column(job_training: pd.DataFrame) -> None:
    text = job_training["re74"].map("{:,.0f}".format)
    assert text.str.contains(",").any() and (~text.str.contains(",")).any()
    with pytest.raises(ValueError, match=r"covariate 're74' holds numbers stored as text.*'\d{1,3},\d{3}'"):
        matching.propensity_match(job_training.assign(re74=text), "treat", JOB_FORMULA)


def test_a_duplicated_index_is_refused_with_the_fix(job_training: pd.DataFrame) -> None:
    nsw = job_training.loc[job_training["treat"] == 1]
    stacked = pd.concat([nsw, job_training.loc[job_training["treat"] == 0]])  # both keep their own 0, 1, …
    stacked.index = np.r_[np.arange(len(nsw)), np.arange(len(stacked) - len(nsw))]
    with pytest.raises(ValueError, match=r"repeated label.*reset_index\(drop=True\)"):
        matching.propensity_match(stacked, "treat", JOB_FORMULA)
    # the fix the message names gives the match of the clean frame
    fixed = matching.propensity_match(stacked.reset_index(drop=True), "treat", JOB_FORMULA)
    pd.testing.assert_frame_equal(fixed.pairs, _clean_job_match(job_training, JOB_FORMULA).pairs)


def test_a_stata_round_trip_gives_the_same_match(job_training: pd.DataFrame, tmp_path) -> None:
    data = job_training.drop(columns=["data_id"]).assign(
        schooling=pd.Categorical(np.where(job_training["educ"] < 12, "dropout", "graduate")))
    path = tmp_path / "jobs.dta"
    data.to_stata(path, write_index=False)
    back = pd.read_stata(path)
    assert back["age"].dtype == np.int8 and back["re74"].dtype == np.float32
    formula = JOB_FORMULA + " + C(schooling)"
    wide = back.assign(**{c: back[c].astype(float) for c in back.columns if c != "schooling"})
    result = matching.propensity_match(back, "treat", formula)
    reference = matching.propensity_match(wide, "treat", formula)
    pd.testing.assert_frame_equal(result.pairs, reference.pairs)
    assert result.att("re78").estimate == pytest.approx(reference.att("re78").estimate, rel=1e-9)


def test_balance_follows_cobalt_conventions(job_training: pd.DataFrame) -> None:
    result = matching.propensity_match(job_training, "treat", JOB_FORMULA)
    table = result.balance()
    binary = ["black", "hisp", "marr", "nodegree"]
    assert (table.loc[binary, "type"] == "binary").all()
    assert (table.drop(index=binary)["type"] == "contin.").all()
    assert table.loc[binary, ["variance_ratio_before", "variance_ratio_after"]].isna().all().all()
    assert table.drop(index=binary)["variance_ratio_before"].notna().all()
    # binary: raw difference in proportions; continuous: standardised by the treated SD before matching
    treated, controls = (job_training.loc[job_training["treat"] == t] for t in (1, 0))
    assert table.loc["black", "diff_before"] == pytest.approx(treated["black"].mean() - controls["black"].mean())
    expected = (treated["age"].mean() - controls["age"].mean()) / treated["age"].std(ddof=1)
    assert table.loc["age", "diff_before"] == pytest.approx(expected)
    # eCDF mean and max, computed directly for one covariate
    grid = np.unique(job_training["educ"])
    gaps = np.abs([(treated["educ"] <= v).mean() - (controls["educ"] <= v).mean() for v in grid])
    assert table.loc["educ", "ecdf_max_before"] == pytest.approx(gaps.max())
    assert table.loc["educ", "ecdf_mean_before"] == pytest.approx(gaps.mean())


def test_caliper_in_pooled_sd(job_training: pd.DataFrame) -> None:
    pooled = matching.propensity_match(job_training, "treat", JOB_FORMULA, caliper=0.1, caliper_sd="pooled")
    logit, treated = pooled.data["_logit"], pooled.data["_treated"] == 1
    sd = np.sqrt((logit[treated].var(ddof=1) + logit[~treated].var(ddof=1)) / 2)
    assert pooled.settings["caliper_width"] == pytest.approx(0.1 * sd)
    assert pooled.pairs["distance"].max() <= 0.1 * sd
    every = matching.propensity_match(job_training, "treat", JOB_FORMULA, caliper=0.1)
    assert every.settings["caliper_width"] == pytest.approx(0.1 * logit.std(ddof=1))
    with pytest.raises(ValueError, match="caliper_sd="):
        matching.propensity_match(job_training, "treat", JOB_FORMULA, caliper_sd="treated")
