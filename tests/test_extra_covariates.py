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
    assert wp.counts().loc["matching design", "value"] == "robust + extra covariates ['oracle_firm_effect'] at t−1"
    assert wp.counts().loc["rows without oracle_firm_effect at t−1 (left out)", "value"] == 0
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
    (["log_sales"], r"\['log_sales'\] is a name kaigai gives a column of its own"),
    (["firm_id"], r"\['firm_id'\] is a key"),
    (["exporter"], r"\['exporter'\] is a key"),
    (["tfp_lag"], r"\['tfp_lag'\] is a name kaigai gives"),
    (["tfp"], r"\['tfp'\] is a name kaigai gives"),
    (["_pair"], r"starting with '_'"),
    (["a`b"], r"backtick"),
    (["C"], r"\['C'\] is a name kaigai gives a column of its own"),
    (["Intercept"], r"\['Intercept'\] is a name kaigai gives"),
    (["sales_change"], r"\['sales_change'\] is a name kaigai gives a column of its own .* would overwrite yours"),
    (["true_tfp"], r"\['true_tfp'\] is a name kaigai gives"),
    (["export_start_year"], r"\['export_start_year'\] holds the year a firm starts.* tells the future"),
    (["fdi_start_year"], r"\['fdi_start_year'\] holds the year a firm starts"),
    (["employees"], r"\['employees'\] is a key, the status or a column the score reads"),
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


def test_every_column_kaigai_writes_into_the_sample_is_refused_as_an_extra_covariate(tiny_world: World) -> None:
    # whatever kaigai adds to the rows (outcomes' changes, logs, the truth, the design's readings) would overwrite
    # an analyst's column of that name, and the score would use kaigai's values: every such name is refused
    for analysis in ("export", "fdi"):
        sample = samples.matching_sample(tiny_world, analysis, horizon=2, design="robust")
        written = sorted(set(sample.rows.columns) - set(tiny_world.firms.columns))
        assert len(written) > 30
        for name in written:
            firms = tiny_world.firms.assign(**{name: 1.0})
            with pytest.raises(ValueError, match="extra_covariates: "):
                samples.matching_sample(firms, analysis, horizon=2, design="robust", extra_covariates=[name])
    fdi = tiny_world.firms.assign(manufacturing=tiny_world.firms["manufacturing"].astype(int))
    with pytest.raises(ValueError, match=r"\['manufacturing'\] is a key"):  # the FDI groups
        samples.matching_sample(fdi, "fdi", horizon=2, extra_covariates=["manufacturing"])


def _log_paid(world: World, **columns: object) -> pd.DataFrame:
    return world.firms.assign(log_paid=np.log(world.firms["paid_in_capital"]), **columns)


def test_extra_columns_the_logit_cannot_use_are_named(tiny_world: World) -> None:
    firms = _log_paid(tiny_world)
    copy = firms.assign(x=np.log(firms["sales"]))  # the score's log_sales under another name
    with pytest.raises(ValueError, match=r"collinear — \['x'\] is a linear combination"):
        samples.matching_sample(copy, "export", horizon=2, extra_covariates=["x"]).match()
    with pytest.raises(ValueError, match=r"extra covariate 'x' has no value at t−1 in any of the \d+ rows"):
        samples.matching_sample(firms.assign(x=np.nan), "export", horizon=2, extra_covariates=["x"])
    for scaled in (firms["log_paid"] * 1e-6, firms["log_paid"].where(firms.index != 5, 1e300)):
        with pytest.raises(ValueError, match=r"extra covariate 'x' enters the logit as it is, and its scale"):
            samples.matching_sample(firms.assign(x=scaled), "export", horizon=2, extra_covariates=["x"])
    # within those scales the unit does not matter: the same pairs for log paid-in capital × 1,000 or ÷ 1,000
    pairs = [samples.matching_sample(firms.assign(x=firms["log_paid"] * k), "export", horizon=2,
                                     extra_covariates=["x"]).match().pairs for k in (1.0, 1e3, 1e-3)]
    pd.testing.assert_frame_equal(pairs[0], pairs[1])
    pd.testing.assert_frame_equal(pairs[0], pairs[2])
    with pytest.raises(ValueError, match=r"'x' holds complex numbers"):
        samples.matching_sample(firms.assign(x=firms["log_paid"] + 1j), "export", horizon=2, extra_covariates=["x"])
    text = firms.assign(manufacturing=np.where(firms["manufacturing"], "yes", "maybe"))
    with pytest.raises(ValueError, match=r"'manufacturing' holds \d+ value\(s\) that are not numbers"):
        samples.matching_sample(text, "export", horizon=2, extra_covariates=["manufacturing"])


def test_a_constant_column_or_one_no_starter_has_is_refused_by_name(tiny_world: World) -> None:
    # a column with one value cannot enter the score (the logit would drop it, and the result still say it was
    # used); a column that every starter lacks at t−1 leaves no starter, which is said as such, naming it
    firms = _log_paid(tiny_world)
    for constant in (3.0, 0.0):
        with pytest.raises(ValueError, match=r"extra covariate 'x' takes one value .* in every one of the \d+ rows"):
            samples.matching_sample(firms.assign(x=constant), "export", horizon=2, extra_covariates=["x"])
    starts = firms["export_start_year"].astype("Float64")
    base_year = (starts - 1 == firms["year"]).fillna(False).to_numpy(bool)
    lacking = firms.assign(x=firms["log_paid"].where(~base_year))
    with pytest.raises(ValueError, match=r"none of the \d+ export starters at risk has a value of every extra "
                                         r"covariate at t−1 \(x\)"):
        samples.matching_sample(lacking, "export", horizon=2, extra_covariates=["x"])


def test_counts_say_how_many_rows_an_extra_covariate_left_out(tiny_world: World) -> None:
    firms = _log_paid(tiny_world)
    firms.loc[firms.index % 20 == 0, "log_paid"] = np.nan
    wp = did_design.white_paper_did(firms, "fdi", horizons=[2], pre_horizons=[], extra_covariates=["log_paid"])
    lost = int(wp.sample.excluded.loc["no log_paid at t−1 (extra covariate)", "all"])
    assert lost > 100
    assert wp.counts().loc["rows without log_paid at t−1 (left out)", "value"] == lost
