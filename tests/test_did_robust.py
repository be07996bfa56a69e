"""The robust matching design: the investment rate at t−2 (Olley and Pakes' proxy for productivity) and log
intermediate inputs at t−1 with industry-specific slopes (Levinsohn and Petrin's) enter the score; rows without a
positive investment or intermediate inputs are counted, not dropped silently; a panel without either column is
refused with the column's name; the reported horizons do not change the design; the proxy balances TRUE
productivity, which one year's LP TFP does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.schema import MissingColumnsError
from kaigai_lib.estimators import tfp
from kaigai_lib.whitepaper import did_design
from kaigai_lib.whitepaper.samples import (
    DESIGN_COVARIATES,
    INVESTMENT_COVARIATE,
    MATCHING_DESIGNS,
    PRE_PERIOD_COVARIATES,
    PROXY_COVARIATE,
    PROXY_TERMS,
    balance_of,
    design_terms,
    matching_sample,
)
from kaigai_lib.world.synthetic import World

NO_INVESTMENT = "no positive investment at t−2 (robust design)"


@pytest.fixture(scope="module")
def robust_exports(tiny_world: World) -> did_design.WhitePaperDid:
    return did_design.white_paper_did(tiny_world, "export", horizons=[5], pre_horizons=[], design="robust")


def _rate_at_t_minus_2(firms: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """log(investment / capital stock) of each row's firm one year before its base year t − 1, from the raw panel."""
    panel = firms.set_index(["firm_id", "year"])
    keys = pd.MultiIndex.from_arrays([rows["firm_id"], rows["year"] - 1])
    earlier = panel.reindex(keys)
    return np.log(earlier["investment"].to_numpy(float) / earlier["capital_stock"].to_numpy(float))


def test_the_investment_rate_at_t_minus_2_enters_the_logit(tiny_world: World,
                                                          robust_exports: did_design.WhitePaperDid) -> None:
    sample, match = robust_exports.sample, robust_exports.match
    assert INVESTMENT_COVARIATE in sample.covariates and set(PRE_PERIOD_COVARIATES) <= set(sample.covariates)
    assert INVESTMENT_COVARIATE in match.model.params.index  # a coefficient of the fitted logit
    assert INVESTMENT_COVARIATE in match.balance().index
    # each row's value is its own firm's log I/K one year before the base year, read from the raw panel
    np.testing.assert_allclose(sample.rows[INVESTMENT_COVARIATE], _rate_at_t_minus_2(tiny_world.firms, sample.rows))
    assert robust_exports.counts().loc["matching design", "value"] == "robust"
    # the white paper's design has none of the robust covariates; the one without investment lacks only the rate
    white = matching_sample(tiny_world, "export", horizon=0)
    assert not set(DESIGN_COVARIATES["robust"]) & set(white.covariates)
    assert set(sample.covariates) - set(white.covariates) == set(design_terms("robust"))
    assert set(MATCHING_DESIGNS) == set(DESIGN_COVARIATES)


def test_the_robust_covariates_are_balanced_after_matching(robust_exports: did_design.WhitePaperDid) -> None:
    balance = robust_exports.match.balance().loc[list(DESIGN_COVARIATES["robust"])]
    # an SMD between two independent samples of n pairs has SE ≈ √(2/n); 2.5 SE bounds it
    bound = 2.5 * np.sqrt(2 / robust_exports.match.counts["matched_treated"])
    assert (balance["smd_after"].abs() < bound).all(), balance
    # before matching, starters invested more at t−2 (investment responds to productivity, which they are
    # selected on), by more than 2 SE: the rate carries information on who starts
    assert balance.loc[INVESTMENT_COVARIATE, "smd_before"] > 0.8 * bound


def test_rows_without_a_positive_investment_are_counted_in_excluded(tiny_world: World) -> None:
    firms = tiny_world.firms.copy()
    rng = np.random.default_rng(14)
    hit = rng.random(len(firms))
    firms.loc[hit < 0.04, "investment"] = 0.0  # no investment that year
    firms.loc[(hit >= 0.04) & (hit < 0.07), "investment"] = -5.0  # net disposals
    firms.loc[(hit >= 0.07) & (hit < 0.10), "investment"] = np.nan  # not reported
    without = matching_sample(firms, "export", horizon=0, design="robust_no_investment")
    robust = matching_sample(firms, "export", horizon=0, design="robust")
    rate = _rate_at_t_minus_2(firms.assign(investment=firms["investment"].where(firms["investment"] > 0)),
                              without.rows)
    lost = np.isnan(rate)
    starters = without.rows["start"].to_numpy() == 1
    counted = robust.excluded.loc[NO_INVESTMENT]
    assert counted["all"] == lost.sum() > 0
    assert counted["starters"] == (lost & starters).sum() > 0
    assert counted["non-starters"] == (lost & ~starters).sum()
    # the rows left are exactly the others, with the same covariates, and none has a missing rate
    assert len(robust.rows) == len(without.rows) - lost.sum()
    kept = without.rows.loc[~lost].reset_index(drop=True)
    pd.testing.assert_frame_equal(robust.rows[kept.columns], kept)
    np.testing.assert_allclose(robust.rows[INVESTMENT_COVARIATE], rate[~lost])
    # firms not observed at t − 2 are counted under their own reason, the same in both robust designs
    reason = "not observed at t−2 (robust design)"
    pd.testing.assert_series_equal(robust.excluded.loc[reason], without.excluded.loc[reason])
    assert NO_INVESTMENT not in without.excluded.index


def test_investment_in_other_dtypes_gives_the_same_sample(tiny_world: World) -> None:
    firms = tiny_world.firms.loc[tiny_world.firms["year"] <= 2008]
    reference = matching_sample(firms, "export", horizon=0, design="robust")
    # whole numbers as a nullable integer (as read_stata or read_parquet may give), and as float32
    rounded = firms.assign(investment=firms["investment"].round())
    expected = matching_sample(rounded, "export", horizon=0, design="robust")
    for column in (rounded["investment"].astype("Int64"), rounded["investment"].astype("float32")):
        again = matching_sample(rounded.assign(investment=column), "export", horizon=0, design="robust")
        np.testing.assert_allclose(again.rows[INVESTMENT_COVARIATE], expected.rows[INVESTMENT_COVARIATE], rtol=1e-6)
        pd.testing.assert_frame_equal(again.excluded, expected.excluded)
    assert len(reference.rows) >= len(expected.rows)  # rounding makes some small investments zero
    # numbers stored as text are refused, naming the column and a row
    text = firms.assign(investment=firms["investment"].map("{:,.1f}".format))
    with pytest.raises(ValueError, match=r"column 'investment' has .* not numbers"):
        matching_sample(text, "export", horizon=0, design="robust")


def test_a_panel_without_investment_is_refused_by_name(tiny_world: World) -> None:
    firms = tiny_world.firms.drop(columns="investment")
    for call in (lambda: matching_sample(firms, "export", horizon=0, design="robust"),
                 lambda: did_design.white_paper_did(firms, "fdi", horizons=[5], pre_horizons=[], design="robust")):
        with pytest.raises(MissingColumnsError, match=r"no column 'investment' .*robust_no_investment"):
            call()
    # the design without the rate runs on it, and equals the robust design's sample but for the rate's rows
    without = matching_sample(firms, "export", horizon=0, design="robust_no_investment")
    assert INVESTMENT_COVARIATE not in without.covariates and INVESTMENT_COVARIATE not in without.rows.columns
    full = matching_sample(tiny_world.firms, "export", horizon=0, design="robust_no_investment")
    pd.testing.assert_frame_equal(without.rows, full.rows.drop(columns="investment"))


def test_replicate_refuses_the_robust_design_without_investment(tiny_world: World, tmp_path) -> None:
    from kaigai_lib.replication.replicate import ReplicationError, read_config, validate_inputs

    tables = {"firms": tiny_world.firms.drop(columns="investment"), "establishments": tiny_world.establishments,
              "foreign_demand": tiny_world.foreign_demand}
    config = tmp_path / "replicate.toml"
    config.write_text('[analysis]\ndid_design = "robust"\n', encoding="utf-8")
    with pytest.raises(ReplicationError, match=r"did_design = \"robust\" .*no 'investment' column"):
        validate_inputs(tables, read_config(config))
    config.write_text('[analysis]\ndid_design = "robust_no_investment"\n', encoding="utf-8")
    assert read_config(config).analysis["did_design"] == "robust_no_investment"
    validate_inputs(tables, read_config(config))  # no problem: that design does not read investment


def test_the_robust_design_does_not_depend_on_the_horizons_reported(
        tiny_world: World, robust_exports: did_design.WhitePaperDid) -> None:
    several = did_design.white_paper_did(tiny_world, "export", horizons=[1, 3, 5], pre_horizons=[-2],
                                         design="robust")
    pd.testing.assert_frame_equal(several.match.pairs, robust_exports.match.pairs)
    np.testing.assert_array_equal(several.match.data["_logit"], robust_exports.match.data["_logit"])
    pd.testing.assert_frame_equal(several.compare(5), robust_exports.compare(5))


# ---------------------------------------------------------------- the LP proxy: log intermediate inputs at t − 1

NO_PROXY = "no positive intermediate inputs at t−1 (robust design)"


def _intermediates_at_t_minus_1(firms: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """log intermediate inputs of each row's firm in its base year t − 1, read from the raw panel."""
    keys = pd.MultiIndex.from_arrays([rows["firm_id"], rows["year"]])
    return np.log(firms.set_index(["firm_id", "year"]).reindex(keys)["intermediate_inputs"].to_numpy(float))


def test_the_lp_proxy_enters_the_logit_with_industry_slopes(tiny_world: World,
                                                           robust_exports: did_design.WhitePaperDid) -> None:
    sample, match = robust_exports.sample, robust_exports.match
    assert PROXY_COVARIATE in DESIGN_COVARIATES["robust"] and set(PROXY_TERMS) <= set(sample.covariates)
    np.testing.assert_allclose(sample.rows[PROXY_COVARIATE], _intermediates_at_t_minus_1(tiny_world.firms,
                                                                                         sample.rows))
    # one slope on log intermediates and one on log capital per industry: the LP inversion ω = h(k, m) by industry
    params = match.model.params.index
    n_industries = sample.rows["industry"].nunique()
    for column in (PROXY_COVARIATE, "log_capital_stock"):
        slopes = [name for name in params if column in name]
        assert len(slopes) == n_industries, slopes
    assert PROXY_COVARIATE in match.balance().index
    # the design without the proxy is the previous robust design: the same terms but the proxy's
    without = matching_sample(tiny_world, "export", horizon=0, design="robust_no_intermediates")
    assert set(sample.covariates) - set(without.covariates) == {PROXY_COVARIATE, *PROXY_TERMS}
    assert PROXY_COVARIATE not in without.rows.columns


def test_the_lp_proxy_balances_true_productivity(robust_exports: did_design.WhitePaperDid) -> None:
    # matched on the LP proxy, starters keep no edge in TRUE ω at t−1 (latent_tfp, never a covariate) beyond
    # sampling error: the mean pair gap within 3 of its SE over pairs, the SMD within 2.5 SE (√(2/n))
    matched = robust_exports.match.matched
    gaps = matched.pivot_table(index="_pair", columns="_treated", values="latent_tfp").dropna()
    gap = gaps[1] - gaps[0]
    assert abs(gap.mean()) < 3 * gap.std(ddof=1) / np.sqrt(len(gap))
    smd = balance_of(robust_exports.match, ["latent_tfp"]).loc["latent_tfp"]
    assert abs(smd["smd_after"]) < 2.5 * np.sqrt(2 / robust_exports.match.counts["matched_treated"])
    # before matching the edge was large (selection is on ω; SE of that SMD ≈ √(1/starters), the controls are many):
    # the check above has power
    assert smd["smd_before"] > 5 / np.sqrt(robust_exports.match.counts["treated"])


def _with_lp_tfp(world: World) -> pd.DataFrame:
    """The panel with its LP TFP as a column (so intermediate inputs can be edited without refitting LP)."""
    sample = matching_sample(world, "export", horizon=0)
    logged = tfp.log_columns(world.firms, ["value_added", "employees", "capital_stock", "intermediate_inputs"],
                             prefix="_log_")
    return world.firms.assign(tfp_lp=sample.tfp_model.tfp(logged).to_numpy())


def test_rows_without_positive_intermediates_are_counted_in_excluded(tiny_world: World) -> None:
    firms = _with_lp_tfp(tiny_world)
    rng = np.random.default_rng(1401)
    hit = rng.random(len(firms))
    firms.loc[hit < 0.03, "intermediate_inputs"] = 0.0
    firms.loc[(hit >= 0.03) & (hit < 0.05), "intermediate_inputs"] = -1.0
    firms.loc[(hit >= 0.05) & (hit < 0.08), "intermediate_inputs"] = np.nan
    without = matching_sample(firms, "export", horizon=0, design="robust_no_intermediates", tfp_col="tfp_lp")
    robust = matching_sample(firms, "export", horizon=0, design="robust", tfp_col="tfp_lp")
    proxy = np.log(firms["intermediate_inputs"].where(firms["intermediate_inputs"] > 0))
    lost = np.isnan(_intermediates_at_t_minus_1(firms.assign(intermediate_inputs=np.exp(proxy)), without.rows))
    starters = without.rows["start"].to_numpy() == 1
    counted = robust.excluded.loc[NO_PROXY]
    assert counted["all"] == lost.sum() > 0
    assert counted["starters"] == (lost & starters).sum() > 0
    assert counted["non-starters"] == (lost & ~starters).sum()
    kept = without.rows.loc[~lost].reset_index(drop=True)
    pd.testing.assert_frame_equal(robust.rows[kept.columns], kept)
    assert robust.rows[PROXY_COVARIATE].notna().all()
    assert NO_PROXY not in without.excluded.index


def test_intermediates_in_other_dtypes_give_the_same_sample(tiny_world: World) -> None:
    firms = _with_lp_tfp(tiny_world)
    firms = firms.loc[firms["year"] <= 2008].assign(intermediate_inputs=firms["intermediate_inputs"].round())
    expected = matching_sample(firms, "export", horizon=0, design="robust", tfp_col="tfp_lp")
    for column in (firms["intermediate_inputs"].astype("Int64"), firms["intermediate_inputs"].astype("float32")):
        again = matching_sample(firms.assign(intermediate_inputs=column), "export", horizon=0, design="robust",
                                tfp_col="tfp_lp")
        np.testing.assert_allclose(again.rows[PROXY_COVARIATE], expected.rows[PROXY_COVARIATE], rtol=1e-6)
        pd.testing.assert_frame_equal(again.excluded, expected.excluded)
    text = firms.assign(intermediate_inputs=firms["intermediate_inputs"].map("{:,.1f}".format))
    with pytest.raises(ValueError, match=r"column 'intermediate_inputs' has .* not numbers"):
        matching_sample(text, "export", horizon=0, design="robust", tfp_col="tfp_lp")


def test_a_panel_without_intermediates_is_refused_by_name(tiny_world: World) -> None:
    firms = _with_lp_tfp(tiny_world).drop(columns="intermediate_inputs")
    for design in ("robust", "robust_no_investment"):
        with pytest.raises(MissingColumnsError, match=r"no column 'intermediate_inputs' .*robust_no_intermediates"):
            matching_sample(firms, "fdi", horizon=0, design=design, tfp_col="tfp_lp")
    without = matching_sample(firms, "fdi", horizon=0, design="robust_no_intermediates", tfp_col="tfp_lp")
    assert PROXY_COVARIATE not in without.covariates
