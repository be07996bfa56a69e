"""The white paper's matching sample, caliper sweep, balance of unobserved columns, and the caliper widget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from kaigai_lib.data.schema import validate
from kaigai_lib.data.starts import risk_set
from kaigai_lib.teaching.matching_widgets import CaliperExplorer, caliper_explorer
from kaigai_lib.whitepaper import samples
from kaigai_lib.world.synthetic import OUTCOMES, World


@pytest.fixture(scope="module")
def export_sample(tiny_world: World) -> samples.MatchingSample:
    return samples.matching_sample(tiny_world, "export")


@pytest.fixture(scope="module")
def export_match(export_sample: samples.MatchingSample):
    return export_sample.match()


# --------------------------------------------------------------------------- the sample

def test_sample_follows_the_white_paper_specification(export_sample, tiny_world):
    s = export_sample
    rows = s.rows
    assert s.formula == ("log_employees + log_sales + log_capital_stock + tfp + C(size) + C(start_year)"
                         " + C(industry)")
    assert s.exact == ["start_year", "industry"]
    assert rows["start_year"].min() == 1998 and rows["start_year"].max() == 2020 - 5
    assert (rows["start_year"] == rows["year"] + 1).all()  # covariates are read at t − 1
    assert not rows["exporter"].any()  # nobody is treated at t − 1
    # a starter's recorded start year is t
    starters = rows.loc[rows["start"] == 1]
    assert (starters["export_start_year"] == starters["start_year"]).all()
    # outcomes: level at t + h, change from t − 1
    for outcome in OUTCOMES:
        np.testing.assert_allclose(rows[f"{outcome}_change"], rows[f"{outcome}_level"] - rows[f"{outcome}_base"])
    firms = tiny_world.firms.set_index(["firm_id", "year"])
    end = firms.loc[list(zip(rows["firm_id"], rows["year"] + 6, strict=True)), "sales"].to_numpy()
    np.testing.assert_allclose(rows["sales_level"], np.log(end))
    wage = firms.loc[list(zip(rows["firm_id"], rows["year"], strict=True))]
    np.testing.assert_allclose(rows["compensation_per_employee_base"],
                               np.log(wage["compensation"] / wage["employees"]).to_numpy())
    assert set(rows["group"]) <= {"under 50", "50-99", "100-299", "300+"}
    assert s.counts()["starters"].sum() == rows["start"].sum()


def test_every_left_out_starter_is_counted(export_sample, tiny_world):
    firms = tiny_world.firms.loc[tiny_world.firms["year"].between(1997, 2015)]
    at_risk = risk_set(firms, "exporter", first_start_year=1998, last_start_year=2015)
    lost = export_sample.excluded.loc["not observed at t+5"]
    assert export_sample.rows["start"].sum() + lost["starters"] == at_risk.n_starters
    assert len(export_sample.rows) + lost["all"] == len(at_risk.rows)
    assert export_sample.excluded.loc["not observed in t (start unknown)", "all"] == at_risk.excluded.sum()


def test_truth_is_attached_for_starters_only(export_sample, tiny_world):
    rows = export_sample.rows
    starters = rows["start"] == 1
    assert rows.loc[~starters, "true_sales"].isna().all()
    for _, row in rows.loc[starters].head(20).iterrows():
        assert row["true_sales"] == tiny_world.truth.effect("export", "sales", row["group"], 5)
    # the firm effect comes from world.latent and is constant within a firm
    assert rows.groupby("firm_id")["latent_firm_effect"].nunique().max() == 1
    latent = tiny_world.latent.set_index(["firm_id", "year"])
    np.testing.assert_array_equal(rows["latent_tfp"],
                                  latent.loc[list(zip(rows["firm_id"], rows["year"], strict=True)), "tfp_true"])
    assert export_sample.has_truth
    # the truth of all starters is the realised ATT of the world's potential outcomes
    assert export_sample.true_att(None, "sales") == pytest.approx(rows.loc[starters, "true_sales"].mean())


def test_fdi_uses_domestic_subsidiaries_and_sectors(tiny_world):
    s = samples.matching_sample(tiny_world, "fdi", outcomes=["employees", "tfp"])
    assert "domestic_subsidiaries" in s.formula and "C(size)" not in s.formula
    assert set(s.rows["group"]) == {"manufacturing", "non-manufacturing"}
    assert s.rows["start_year"].min() == 1996
    assert "sales_change" not in s.rows.columns and "tfp_change" in s.rows.columns
    result = s.match()
    assert "domestic_subsidiaries" in result.covariates
    assert (result.matched.groupby("_pair")["start_year"].nunique() == 1).all()


def test_runs_on_real_data_column_names_without_a_world(tiny_world):
    names = {"firm_id": "kigyo", "year": "nendo", "industry": "gyoshu", "employees": "jugyoin",
             "sales": "uriage", "capital_stock": "shihon", "compensation": "kyuyo", "exporter": "yushutsu"}
    firms = tiny_world.firms.rename(columns=names)
    firms["log_tfp"] = np.log(firms["value_added"]) - 0.6 * np.log(firms["jugyoin"]) - 0.3 * np.log(firms["shihon"])
    # one way to name columns (issue 15): the survey's names are mapped to the schema's once
    firms = validate(firms, "firms", rename={survey: schema for schema, survey in names.items()})
    s = samples.matching_sample(firms, "export", tfp_col="log_tfp")
    assert s.tfp_model is None and not s.has_truth
    assert "log_tfp" in s.formula and "C(industry)" in s.formula
    assert not any(c.startswith(("true_", "latent_")) for c in s.rows.columns)
    result = s.match()
    assert result.att("sales_change").n_treated > 0
    with pytest.raises(ValueError, match="no true effects"):
        s.true_att(result, "sales")


def test_bad_input_is_named(tiny_world):
    with pytest.raises(KeyError, match="sales"):
        samples.matching_sample(tiny_world.firms.drop(columns="sales"))
    firms = tiny_world.firms.copy()
    firms.loc[firms.index[:3], "sales"] = 0.0
    with pytest.raises(ValueError, match="'sales' has 3 value"):
        samples.matching_sample(firms)
    with pytest.raises(ValueError, match="analysis="):
        samples.matching_sample(tiny_world, "import")
    with pytest.raises(ValueError, match="outcomes"):
        samples.matching_sample(tiny_world, outcomes=["profit"])
    with pytest.raises(ValueError, match="duplicate"):
        samples.matching_sample(pd.concat([tiny_world.firms, tiny_world.firms.head(2)]))
    with pytest.raises(ValueError, match="no start years"):
        samples.matching_sample(tiny_world, first_start_year=2018)


# --------------------------------------------------------------------------- estimates and diagnostics

def test_effects_table_sets_naive_matched_and_truth_side_by_side(export_sample, export_match):
    table = export_sample.effects(export_match, ["sales", "employees"], measures=("change", "level"))
    assert list(table.index) == [("sales", "change"), ("sales", "level"), ("employees", "change"),
                                 ("employees", "level")]
    sales = table.loc[("sales", "change")]
    assert abs(sales["matched"] - sales["truth_matched"]) < 3 * sales["matched_se"]
    # the level comparison is far off before matching: starters were bigger at t − 1
    assert table.loc[("sales", "level"), "naive"] > 0.2
    naive, se = export_sample.naive("sales", "level")
    assert naive == pytest.approx(table.loc[("sales", "level"), "naive"]) and se > 0
    assert sales["n_matched"] == export_match.counts["matched_treated"]


def test_balance_of_agrees_with_the_logit_balance_and_sees_the_unobserved(export_match):
    own = samples.balance_of(export_match, ["log_sales", "tfp"])
    pd.testing.assert_frame_equal(own, export_match.balance().loc[["log_sales", "tfp"]], check_names=False)
    hidden = samples.balance_of(export_match, ["latent_firm_effect"]).loc["latent_firm_effect"]
    # matching on observables does not balance the firm effect that drives selection
    assert hidden["smd_before"] > 0.2 and hidden["smd_after"] > 0.2
    with pytest.raises(KeyError, match="nope"):
        samples.balance_of(export_match, ["nope"])


def test_caliper_sweep_trades_matches_for_closeness(export_sample):
    sweep = export_sample.caliper_sweep("sales", calipers=(None, 0.2, 0.05, 0.01))
    assert np.isnan(sweep["caliper"].iloc[0]) and np.isinf(sweep["caliper_width"].iloc[0])
    assert (np.diff(sweep["matched"]) <= 0).all() and sweep["matched"].iloc[-1] < sweep["matched"].iloc[0]
    assert (np.diff(sweep["mean_distance"]) <= 1e-12).all()
    assert (sweep["share_matched"] == sweep["matched"] / sweep["treated"]).all()
    assert (sweep["ci_low"] < sweep["estimate"]).all() and (sweep["estimate"] < sweep["ci_high"]).all()
    assert sweep["se"].iloc[-1] > sweep["se"].iloc[0]  # fewer pairs, less precision
    assert sweep["truth_matched"].notna().all()
    with pytest.raises(TypeError, match="calipers="):
        export_sample.caliper_sweep("sales", caliper=0.1)


def test_level_comparison_of_wages_is_biased_by_the_firm_effect_but_the_change_is_not(book_world):
    s = samples.matching_sample(book_world, "export", outcomes=["compensation_per_employee"])
    result = s.match()
    table = s.effects(result, measures=("change", "level")).loc["compensation_per_employee"]
    change, level = table.loc["change"], table.loc["level"]
    assert abs(change["matched"] - change["truth_matched"]) < 2.5 * change["matched_se"]
    assert level["matched"] - level["truth_matched"] > 4 * level["matched_se"]
    base = samples.balance_of(result, ["compensation_per_employee_base"]).loc["compensation_per_employee_base"]
    assert base["smd_after"] > 0.1


def test_figures(export_sample, export_match):
    fig = samples.plot_effects(export_sample.effects(export_match, ["sales", "tfp"]))
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].get_yticklabels()) == 2
    assert all("t+5" in t.get_text() for t in fig.axes[0].get_yticklabels())
    sweep = export_sample.caliper_sweep("sales", calipers=(None, 0.1))
    fig = samples.plot_caliper_sweep(sweep)
    assert len(fig.axes) == 3
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["none", "0.1"]


# --------------------------------------------------------------------------- the widget

def test_caliper_widget_moves_counts_balance_and_estimate_together(export_sample):
    box = caliper_explorer(export_sample, "sales", calipers=(None, 0.2, 0.01), value=0.2)
    assert isinstance(box, CaliperExplorer)
    assert box.controls["caliper"].options == ["none", "0.2", "0.01"] and box.values == {"caliper": "0.2"}
    assert set(box.views) == {"none", "0.2", "0.01"}  # every caliper precomputed for the static page
    first = dict(box.current)
    view = box.view_html
    assert "caliper = 0.2" in view and "<img" in view
    box.set(caliper=0.01)
    narrow = dict(box.current)
    assert narrow["matched"] < first["matched"]
    assert narrow["estimate"] != first["estimate"] and narrow["max_abs_smd"] != first["max_abs_smd"]
    assert narrow["se"] > first["se"]
    assert box.view_html != view
    assert f'data-kaigai-number="matched">{narrow["matched"]:,}</b> of {narrow["treated"]:,}' in box.view_html
    box.set(caliper=None)
    assert box.values == {"caliper": "none"} and box.current["matched"] == box.current["treated"]
    assert set(box.results) == {None, 0.2, 0.01}
    result = box.results[0.01]
    assert box.results[0.01] is box.result(0.01) is result  # cached


def test_caliper_widget_rejects_a_start_value_off_the_slider(export_sample):
    with pytest.raises(ValueError, match="not one of the calipers"):
        CaliperExplorer(export_sample, value=0.3, calipers=(None, 0.2))
    with pytest.raises(TypeError, match="calipers="):
        CaliperExplorer(export_sample, caliper=0.2)
