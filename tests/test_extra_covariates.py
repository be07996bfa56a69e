"""matching_sample(extra_covariates=…): an analyst's own readings at t − 1 in the propensity score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.schema import MissingColumnsError
from kaigai_lib.whitepaper import did_design, samples
from kaigai_lib.world.synthetic import World


def _with_firm_effect(world: World) -> pd.DataFrame:
    """The panel with the world's unobserved firm effect (which raises the start hazards) as a column."""
    latent = world.latent[["firm_id", "year", "firm_effect"]].rename(columns={"firm_effect": "oracle_firm_effect"})
    return world.firms.merge(latent, on=["firm_id", "year"], how="left", validate="one_to_one")


def test_an_extra_covariate_enters_the_score_and_is_balanced(tiny_world: World) -> None:
    firms = _with_firm_effect(tiny_world)
    options = {"horizon": 5, "design": "robust"}
    plain = samples.matching_sample(firms, "export", **options)
    extra = samples.matching_sample(firms, "export", extra_covariates=["oracle_firm_effect"], **options)
    assert "oracle_firm_effect" not in plain.covariates
    assert extra.covariates[:len(plain.covariates) - 2] == plain.covariates[:-2]  # the design's terms, unchanged
    assert extra.covariates[-3:] == ["oracle_firm_effect", "C(start_year)", "C(industry)"]
    assert extra.settings["extra_covariates"] == ("oracle_firm_effect",)
    again = samples.matching_sample(firms, "export", extra_covariates=pd.Index(["oracle_firm_effect"]), **options)
    assert again.covariates == extra.covariates
    smd = {name: samples.balance_of(sample.match(), ["oracle_firm_effect"]).loc["oracle_firm_effect", "smd_after"]
           for name, sample in (("plain", plain), ("extra", extra))}
    # the world's starters have a higher firm effect; the design's observables leave them an edge (about 0.57 SD
    # with seed 0) that scoring on the effect itself removes. With about 230 pairs an SMD between independent
    # samples has an SE near sqrt(2/230) ≈ 0.09: the edge is over 3 SE above 0.3, and matched pairs sit closer
    # than independent samples, so below 0.15 is the matching's doing, not luck
    assert smd["plain"] > 0.3 and abs(smd["extra"]) < 0.15, smd


def test_white_paper_did_passes_extra_covariates_and_says_so(tiny_world: World) -> None:
    firms = _with_firm_effect(tiny_world)
    wp = did_design.white_paper_did(firms, "fdi", design="robust", horizons=[3], pre_horizons=[],
                                    extra_covariates="oracle_firm_effect")  # one name alone is one column
    assert wp.sample.settings["extra_covariates"] == ("oracle_firm_effect",)
    assert wp.counts().loc["matching design", "value"] == "robust + oracle_firm_effect at t−1"
    both = did_design.white_paper_did_both(firms, design="robust", horizons=[3], pre_horizons=[],
                                           extra_covariates=["oracle_firm_effect"])
    assert all(r.sample.settings["extra_covariates"] == ("oracle_firm_effect",) for r in both.values())


def test_rows_without_an_extra_covariate_are_left_out_and_counted(tiny_world: World) -> None:
    firms = _with_firm_effect(tiny_world)
    full = samples.matching_sample(firms, "export", horizon=2, extra_covariates=["oracle_firm_effect"])
    starters = full.rows.loc[full.rows["start"] == 1, ["firm_id", "year"]].head(7)
    others = full.rows.loc[full.rows["start"] == 0, ["firm_id", "year"]].head(11)
    blanked = pd.concat([starters, others])
    keys = pd.MultiIndex.from_frame(firms[["firm_id", "year"]])
    firms.loc[keys.isin(pd.MultiIndex.from_frame(blanked)), "oracle_firm_effect"] = np.nan
    sample = samples.matching_sample(firms, "export", horizon=2, extra_covariates=["oracle_firm_effect"])
    line = sample.excluded.loc["no oracle_firm_effect at t−1 (extra covariate)"]
    assert (line["starters"], line["non-starters"], line["all"]) == (7, 11, 18)
    assert len(sample.rows) == len(full.rows) - 18
    assert sample.rows["oracle_firm_effect"].notna().all()


def test_narrow_integer_columns_give_the_same_match(tiny_world: World) -> None:
    firms = tiny_world.firms.assign(age_band=(tiny_world.firms["firm_id"] % 90).astype("int8"))  # read_stata's int8
    wide = firms.assign(age_band=firms["age_band"].astype("float64"))
    pairs = [samples.matching_sample(f, "export", horizon=2, extra_covariates=["age_band"]).match().pairs
             for f in (firms, wide)]
    pd.testing.assert_frame_equal(pairs[0], pairs[1])


def test_a_column_name_that_is_not_an_identifier_works(tiny_world: World) -> None:
    firms = tiny_world.firms.assign(**{"資本金 (対数)": np.log(tiny_world.firms["paid_in_capital"])})
    sample = samples.matching_sample(firms, "export", horizon=2, extra_covariates=["資本金 (対数)"])
    assert "`資本金 (対数)`" in sample.covariates
    assert sample.match().counts["matched_treated"] > 0


@pytest.mark.parametrize(("extra", "message"), [
    (["log_sales"], r"\['log_sales'\] is a key, the status or a column the score reads already"),
    (["firm_id"], r"\['firm_id'\] is a key"),
    (["exporter"], r"\['exporter'\] is a key"),
    (["tfp_lag"], r"design='robust'"),
    (["_pair"], r"starting with '_'"),
    (["paid_in_capital", "paid_in_capital"], r"\['paid_in_capital'\] given more than once"),
    ([1], r"give a list of column names"),
    ("", r"give a list of column names"),
    ({"paid_in_capital": 1}, r"give a list of column names"),
    ([None], r"give a list of column names"),
    ({"paid_in_capital"}, r"give a list of column names"),  # a set has no stable order
])
def test_bad_extra_covariates_are_named(tiny_world: World, extra: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        samples.matching_sample(tiny_world.firms, "export", horizon=2, design="robust", extra_covariates=extra)


def test_a_missing_or_unreadable_extra_column_is_named(tiny_world: World) -> None:
    with pytest.raises(MissingColumnsError, match=r"\['paid_in_capitol'\] not in the data"):
        samples.matching_sample(tiny_world.firms, "export", horizon=2, extra_covariates=["paid_in_capitol"])
    text = tiny_world.firms.assign(paid_in_capital=tiny_world.firms["paid_in_capital"].map("{:,.0f}".format))
    with pytest.raises(ValueError, match=r"'paid_in_capital' holds \d+ value\(s\) that are not numbers .*'\d,\d{3}'"):
        samples.matching_sample(text, "export", horizon=2, extra_covariates=["paid_in_capital"])
    infinite = tiny_world.firms.assign(paid_in_capital=tiny_world.firms["paid_in_capital"].astype(float))
    infinite.loc[infinite.index[3], "paid_in_capital"] = np.inf
    with pytest.raises(ValueError, match=r"paid_in_capital.*row"):
        samples.matching_sample(infinite, "export", horizon=2, extra_covariates=["paid_in_capital"])
