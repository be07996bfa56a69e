"""Matched difference-in-differences: event-time changes, the regressions, and the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.data.starts import risk_set, size_class
from kaigai_lib.estimators import did, matching, tfp
from kaigai_lib.whitepaper import did_design
from kaigai_lib.world.synthetic import World

OUTCOMES = ["employees", "sales", "capital_stock", "tfp", "compensation_per_employee"]


@pytest.fixture(scope="module")
def fdi_changes(book_world: World) -> did.EventChanges:
    firms = tfp.log_columns(book_world.firms, ["value_added", "employees", "capital_stock",
                                               "intermediate_inputs", "sales"])
    lp = tfp.levinsohn_petrin(firms, "log_value_added", "log_employees", "log_capital_stock",
                              "log_intermediate_inputs", "firm_id", "year", by="industry")
    firms["tfp"] = lp.tfp(firms)
    firms["compensation_per_employee"] = firms["compensation"] / firms["employees"]
    firms["sector"] = np.where(firms["manufacturing"], "manufacturing", "non-manufacturing")
    rows = risk_set(firms, "fdi", first_start_year=1996).rows
    rows["size"] = size_class(rows["employees"])
    result = matching.propensity_match(
        rows, "start", "log_employees + log_sales + log_capital_stock + tfp + domestic_subsidiaries"
        " + C(year) + C(industry)", exact=["year", "industry"])
    return did.event_changes(firms, result.matched, OUTCOMES, log_outcomes=["tfp"],
                             horizons=range(1, 11), keep=["industry", "sector", "size"])


def test_changes_come_from_the_same_firms_rows(book_world: World, fdi_changes: did.EventChanges) -> None:
    table = fdi_changes.table
    sample = table.query("outcome == 'sales' and horizon == 5").head(50)
    firms = book_world.firms.set_index(["firm_id", "year"])["sales"]
    for row in sample.itertuples():
        expected = np.log(firms[(row.firm_id, row.cohort + 5)]) - np.log(firms[(row.firm_id, row.cohort - 1)])
        assert row.change_log == pytest.approx(expected)
        assert row.change_pct == pytest.approx(100 * (np.exp(expected) - 1))
    # every unit's base year is its cohort − 1, controls share their partner's cohort
    by_pair = table.groupby("pair")["cohort"].nunique()
    assert (by_pair == 1).all()


def test_missing_years_are_reported_not_filled(fdi_changes: did.EventChanges) -> None:
    missing = fdi_changes.missing.set_index(["outcome", "horizon"])
    # later horizons run past 2020 for recent cohorts, and non-response leaves gaps
    assert missing.loc[("sales", 10), "missing_starters"] > missing.loc[("sales", 1), "missing_starters"] > 0
    assert not fdi_changes.table["change_log"].isna().any()
    counts = fdi_changes.table.query("outcome == 'sales'").groupby(["horizon", "treated"]).size().unstack()
    units = counts.loc[1].sum() + missing.loc[("sales", 1)].sum()
    assert counts.loc[10].sum() + missing.loc[("sales", 10)].sum() == units


def test_matched_did_recovers_fdi_effects_within_sampling_error(book_world: World,
                                                                fdi_changes: did.EventChanges) -> None:
    result = did.matched_did(fdi_changes, group="sector", controls=["cohort", "industry"], scale="log",
                             horizons=[-3, -2, 5, 10])
    table = result.table
    assert list(table.columns) == did.TIDY_COLUMNS
    truth = book_world.truth.effects.query("analysis == 'fdi'")
    merged = table.merge(truth, on=["outcome", "group", "horizon"])
    post = merged.loc[merged["horizon"] > 0]
    z = (post["estimate"] - post["effect"]) / post["std_error"]
    # 20 estimates: allow the odd 2.5-SE miss from sampling error, none beyond 3.5 SE
    assert (z.abs() < 3.5).all(), post.assign(z=z)
    assert (z.abs() > 2.5).sum() <= 1
    manufacturing = table.query("group == 'manufacturing' and horizon == 5").set_index("outcome")
    for outcome in ("employees", "sales", "capital_stock"):
        assert manufacturing.loc[outcome, "p_value"] < 0.05, outcome
    assert manufacturing.loc["tfp", "p_value"] > 0.01


def test_placebo_years_show_no_sizeable_pre_trend(fdi_changes: did.EventChanges) -> None:
    """Before the start the matched groups move together: placebo gaps are tiny next to the effects.

    (Matching on estimated TFP, which carries measurement error, leaves a
    small but detectable pre-trend in capital: the TFP chapter explains why.)
    """
    result = did.matched_did(fdi_changes, controls=["cohort", "industry"], scale="log", horizons=[-3, -2],
                             outcomes=["employees", "sales", "capital_stock"])
    assert (result.table["estimate"].abs() < 0.02).all(), result.table


def test_pair_effects_and_percent_scale(fdi_changes: did.EventChanges) -> None:
    with_pairs = did.matched_did(fdi_changes, controls=[], pair_effects=True, horizons=[5], outcomes=["sales"])
    plain = did.matched_did(fdi_changes, controls=[], horizons=[5], outcomes=["sales"])
    # with 1:1 pairs and pair effects, the estimate is the mean within-pair difference over complete pairs
    sales = fdi_changes.table.query("outcome == 'sales' and horizon == 5")
    wide = sales.pivot_table(index="pair", columns="treated", values="change_pct").dropna()
    assert with_pairs.table["estimate"].iloc[0] == pytest.approx((wide[1] - wide[0]).mean())
    # without pair effects: the difference of the two groups' means
    means = sales.groupby("treated")["change_pct"].mean()
    assert plain.table["estimate"].iloc[0] == pytest.approx(means[1] - means[0])
    means = fdi_changes.means(by="sector")
    assert {"starters", "matched non-starters"} <= set(means.columns)
    fig = plain.plot_event_study("sales")
    assert len(fig.axes) == 1


def test_bad_inputs(book_world: World) -> None:
    panel = book_world.firms.head(200).copy()
    matched = panel.head(10).assign(_treated=1, _pair=range(10))
    with pytest.raises(KeyError, match="profits"):
        did.event_changes(panel, matched, ["profits"])
    panel.loc[panel.index[0], "sales"] = 0.0
    with pytest.raises(ValueError, match="'sales' has 1 non-positive"):
        did.event_changes(panel, matched, ["sales"])
    with pytest.raises(KeyError, match="_pair"):
        did.event_changes(panel, matched.drop(columns="_pair"), ["employees"])
    # (a matched sample needs both starters and controls since the checks added with white_paper_did, so the
    # scale check now runs on a valid pair: one starter and one control)
    pair = panel.head(2).assign(_treated=[1, 0], _pair=[0, 0])
    with pytest.raises(ValueError, match="scale="):
        did.matched_did(did.event_changes(panel.assign(sales=1.0), pair, ["sales"], pre_horizons=()), scale="levels")


def test_small_cells_give_missing_estimates_not_errors(book_world: World) -> None:
    panel = book_world.firms
    matched = panel.query("year == 2000").head(3).assign(_treated=[1, 0, 0], _pair=[0, 0, 0])
    changes = did.event_changes(panel, matched, ["sales"], horizons=[1])
    table = did.matched_did(changes, controls=[]).table
    assert table["estimate"].isna().all() and (table["n_treated"] <= 1).all()
    assert isinstance(table, pd.DataFrame)


# --------------------------------------------------------------------------- the white paper's design

@pytest.fixture(scope="module")
def white_paper(book_world: World) -> dict[str, did_design.WhitePaperDid]:
    return {analysis: did_design.white_paper_did(book_world, analysis) for analysis in ("export", "fdi")}


def test_white_paper_did_structure(white_paper: dict[str, did_design.WhitePaperDid]) -> None:
    export, fdi = white_paper["export"], white_paper["fdi"]
    assert export.groups == ("50-99", "100-299", "300+") and fdi.groups == ("manufacturing", "non-manufacturing")
    assert sorted(export.result.table["horizon"].unique()) == [-3, -2, 1, 2, 3, 4, 5]
    assert sorted(fdi.result.table["horizon"].unique()) == [-3, -2, *range(1, 11)]
    assert list(export.result.table.columns) == did.TIDY_COLUMNS
    # the world's "under 50" starters are dropped with their partners, and counted
    assert export.dropped.set_index("group").loc["under 50", "pairs"] > 0
    assert "under 50" not in set(export.changes.table["group"])
    # a control takes its starter's group; exports are matched within size class as well
    by_pair = export.changes.table.groupby("pair")[["group", "size", "cohort"]].nunique()
    assert (by_pair == 1).all().all()
    assert export.controls == ["cohort", "industry", "size"] and fdi.controls == ["cohort", "industry"]


def test_estimates_cover_the_truth_in_most_cells(white_paper: dict[str, did_design.WhitePaperDid]) -> None:
    """≥ 90 % of the outcome × group cells at t+5 have the true (realised, percent-scale) ATT in their 95 % CI.

    25 cells (5 outcomes × 3 size classes + 2 sectors); the figure's 20 (without compensation) as well.
    """
    cells = pd.concat([wp.compare(5) for wp in white_paper.values()])
    assert len(cells) == 25 and cells["estimate"].notna().all()
    assert cells["covered"].mean() >= 0.9, cells.loc[~cells["covered"]]
    figure = cells.loc[cells["outcome"].isin(did_design.FIGURE_OUTCOMES)]
    assert figure["covered"].mean() >= 0.9, figure.loc[~figure["covered"]]
    # the white paper's headline findings hold in the replica
    growth = did_design.growth_table(white_paper.values()).set_index(["group", "outcome"])
    assert growth.loc[("50-99", "sales"), "significant"]
    # small exporters' TFP gain (truth 8 %) is estimated from ~150 pairs (SE ≈ 3 pp): positive and covered,
    # but not always significant at 5 % in one draw
    assert growth.loc[("50-99", "tfp"), "estimate"] > 0 and growth.loc[("50-99", "tfp"), "covered"]
    for outcome in ("sales", "employees", "capital_stock"):
        assert growth.loc[("manufacturing", outcome), "significant"]
    assert not growth.loc[("manufacturing", "tfp"), "significant"]
    assert growth.loc[("manufacturing", "employees"), "non_starters"] < 0
    assert growth.loc[("manufacturing", "capital_stock"), "non_starters"] < 0


def test_percent_truth_is_the_realised_att(book_world: World, white_paper: dict[str, did_design.WhitePaperDid]) -> None:
    wp = white_paper["export"]
    rows = did_design.starter_truth(wp.changes, book_world, "export").query("outcome == 'sales' and horizon == 5")
    latent = book_world.latent.set_index(["firm_id", "year"])
    row = rows.iloc[0]
    log_y1 = latent.loc[(row.firm_id, row.cohort + 5), "sales_observed"]
    log_base = latent.loc[(row.firm_id, row.cohort - 1), "sales_observed"]
    log_y0 = log_y1 - latent.loc[(row.firm_id, row.cohort + 5), "sales_export_effect"]
    expected = 100 * (np.exp(log_y1 - log_base) - np.exp(log_y0 - log_base))
    assert row.true_pct == pytest.approx(expected, abs=0.05)  # the panel's sales are rounded to 0.1
    truth = book_world.truth.effect("export", "sales", row.group, 5)
    assert row.true_log == pytest.approx(truth)
    log_table = did_design.true_effects(wp.changes, book_world, "export").query("horizon == 5")
    assert np.allclose(log_table.merge(book_world.truth.effects.query("analysis == 'export'"),
                                       on=["outcome", "group", "horizon"])
                       .eval("true_log - effect"), 0)


def test_naive_designs_are_biased_in_the_stated_direction(white_paper: dict[str, did_design.WhitePaperDid]) -> None:
    table = did_design.design_comparison(white_paper["export"]).set_index(["design", "outcome", "group"])
    groups = white_paper["export"].groups
    for group in groups:
        # levels against every non-starter: starters were bigger and more productive all along
        assert table.loc[("naive", "sales", group), "bias"] > 0
        assert table.loc[("naive", "tfp", group), "bias"] > 0
        # DiD without matching: starters start at a productivity peak and regress to the mean
        assert table.loc[("did_unmatched", "tfp", group), "bias"] < 0
        assert table.loc[("did_unmatched", "sales", group), "bias"] < 0
        # matching alone: the unobserved firm effect raises the starters' wage level
        assert table.loc[("psm_levels", "compensation_per_employee", group), "bias"] >= -0.01
    assert (table.xs("psm_levels", level="design").xs("compensation_per_employee", level="outcome")["bias"]
            .mean() > 0.02)
    psm_did = table.xs("psm_did", level="design")
    assert psm_did["covered"].mean() >= 0.8
    assert table.xs("did_unmatched", level="design")["covered"].mean() < 0.5


def test_growth_bars_fade_what_is_not_significant(white_paper: dict[str, did_design.WhitePaperDid]) -> None:
    from kaigai_lib.estimators import plots

    growth = did_design.growth_table(white_paper.values())
    fig = plots.plot_growth_bars(growth)
    panels = [ax for ax in fig.axes if ax.patches]
    assert len(panels) == 5
    first = growth.loc[growth["analysis"].eq("export") & growth["group"].eq("50-99")]
    alphas = [p.get_alpha() for p in panels[0].patches]
    expected = [1.0 if s else 0.35 for s in first["significant"] for _ in range(2)]
    assert [a if a is not None else 1.0 for a in alphas] == pytest.approx(expected)
    # the truth ticks are drawn only when asked
    assert len(panels[0].lines) > 1
    plain = plots.plot_growth_bars(growth, show_truth=False)
    assert len(next(ax for ax in plain.axes if ax.patches).lines) == 1  # the zero line only


def test_event_study_plot_with_truth(white_paper: dict[str, did_design.WhitePaperDid]) -> None:
    fig = white_paper["fdi"].plot_event_study("sales")
    assert len(fig.axes) == 2
    truth = white_paper["fdi"].event_study_truth("sales")
    assert (truth.loc[truth["horizon"] < 0, "effect"] == 0).all()


def test_white_paper_did_bad_inputs(book_world: World, white_paper: dict[str, did_design.WhitePaperDid]) -> None:
    wp = white_paper["export"]
    with pytest.raises(ValueError, match="outside the panel"):
        did_design.white_paper_did(book_world, "export", first_start_year=1990)
    with pytest.raises(ValueError, match="beyond the data"):
        did_design.white_paper_did(book_world, "export", horizons=range(1, 30))
    with pytest.raises(ValueError, match="no matched starters in group"):
        did_design.white_paper_did(book_world, "fdi", groups=["50-99"])
    panel = wp.panel
    # an unmatched sample passed in
    with pytest.raises(TypeError, match=r"\*before\* matching"):
        did.event_changes(panel, wp.sample, ["sales"])
    with pytest.raises(KeyError, match="unmatched sample"):
        did.event_changes(panel, wp.sample.rows, ["sales"])
    with pytest.raises(ValueError, match="no rows"):
        did.event_changes(panel, wp.match.matched.iloc[:0], ["sales"])
    with pytest.raises(ValueError, match="exactly one starter"):
        did.event_changes(panel, wp.match.matched.query("_treated == 1 or _pair > 3"), ["sales"])
    # start year outside the panel
    shifted = wp.match.matched.assign(year=wp.match.matched["year"] - 30)
    with pytest.raises(ValueError, match="start year t outside the panel"):
        did.event_changes(panel, shifted, ["sales"])
    # horizon beyond the data
    with pytest.raises(ValueError, match=r"horizon\(s\) \[25\] lie beyond the data"):
        did.event_changes(panel, wp.match.matched, ["sales"], horizons=[1, 25])
    # base year missing for some firms: counted, reported and warned about, never filled
    pairs = wp.match.matched.loc[wp.match.matched["_pair"] < 40]
    units = pairs.loc[pairs["_pair"] < 5, ["firm_id", "year"]]
    holes = panel.merge(units, on=["firm_id", "year"], how="left", indicator=True)
    holes = holes.loc[holes.pop("_merge") == "left_only"]
    with pytest.warns(UserWarning, match="base year t − 1 is missing .* for 10 unit"):
        changes = did.event_changes(holes, pairs, ["sales", "employees"], horizons=[1, 5])
    assert len(changes.base_missing) == 10 and changes.base_missing["treated"].sum() == 5
    missing = changes.missing.set_index(["outcome", "horizon"])
    assert (missing["base_missing_starters"] == 5).all() and (missing["base_missing_controls"] == 5).all()
    assert (missing["missing_starters"] >= 5).all()
    assert not changes.table.query("pair < 5").size


def test_staggered_event_study_shows_the_pre_trend(tiny_world: World) -> None:
    study = did.staggered_event_study(tiny_world, "export", "sales", estimators=("twfe", "twfe_dynamic"))
    assert study.dropped["treated before entering the panel (start unknown)"] > 0
    assert set(study.dynamic["horizon"]) == set(range(-5, 11)) - {-1}
    lead = study.dynamic.set_index("horizon").loc[-5, "estimate"]
    assert lead < 0  # starters grow into their start: selection on a productivity peak
    assert study.truth is not None and (study.truth.query("horizon < 0")["truth"] == 0).all()
    assert {"estimate", "truth", "bias"} <= set(study.static.columns)
    ax = study.plot()  # plot() returns the Axes (issue 15's result interface)
    assert ax.figure.axes
    with pytest.raises(ValueError, match="unknown"):
        did.staggered_event_study(tiny_world, estimators=["csdid"])


# --------------------------------------------------------------------------- issue 14: keys, horizons, designs

def test_staggered_truth_is_attached_by_key_not_position(tiny_world: World) -> None:
    shuffled = tiny_world.firms.sample(frac=1.0, random_state=7)
    assert not shuffled.index.equals(tiny_world.firms.index)
    ordered = did.staggered_event_study(tiny_world, "export", "sales", estimators=("twfe",))
    study = did.staggered_event_study(shuffled, "export", "sales", estimators=("twfe",), world=tiny_world)
    # the truth at each horizon is the mean latent effect of the starters' firm-years, read by (firm, year)
    latent = tiny_world.latent.set_index(["firm_id", "year"])["sales_export_effect"]
    panel = study.panel.loc[(study.panel["g"] > 0) & (study.panel["rel"].between(0, 10))]
    expected = latent.reindex(pd.MultiIndex.from_arrays([panel["firm_id"], panel["year"]])).groupby(
        panel["rel"].to_numpy()).mean()
    truth = study.truth.set_index("horizon")["truth"]
    np.testing.assert_allclose(truth.loc[expected.index], expected.to_numpy())
    pd.testing.assert_frame_equal(study.truth, ordered.truth)
    assert study.static["truth"].iloc[0] == pytest.approx(ordered.static["truth"].iloc[0])
    with pytest.raises(ValueError, match=r"not in world\.latent"):
        did.staggered_event_study(shuffled.assign(firm_id=shuffled["firm_id"] + 10**7), "export", "sales",
                                  estimators=("twfe",), world=tiny_world)


@pytest.fixture(scope="module")
def tiny_exports(tiny_world: World) -> dict[str, did_design.WhitePaperDid]:
    return {"default": did_design.white_paper_did(tiny_world, "export"),
            "h5": did_design.white_paper_did(tiny_world, "export", horizons=[5], pre_horizons=[])}


def test_the_design_does_not_depend_on_the_horizons_reported(tiny_exports: dict[str, did_design.WhitePaperDid]) -> None:
    full, h5 = tiny_exports["default"], tiny_exports["h5"]
    pd.testing.assert_frame_equal(full.match.pairs, h5.match.pairs)
    np.testing.assert_array_equal(full.match.data["_logit"], h5.match.data["_logit"])
    columns = ["outcome", "group", "estimate", "std_error", "n_treated", "n_control"]
    first = full.result.table.query("horizon == 5")[columns].reset_index(drop=True)
    second = h5.result.table.query("horizon == 5")[columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(full.compare(5), h5.compare(5))


def test_each_horizon_uses_the_complete_pairs_and_counts_the_rest(
        tiny_exports: dict[str, did_design.WhitePaperDid]) -> None:
    wp = tiny_exports["default"]
    table, lost = wp.changes.table, wp.lost.set_index(["outcome", "group", "horizon"])
    members = table.groupby(["outcome", "horizon", "pair"])["treated"].agg(["size", "sum"])
    assert (members["sum"] == 1).all() and (members["size"] == 2).all()  # 1:1: starter and control both present
    used = table.loc[table["treated"] == 1].groupby(["outcome", "group", "horizon"]).size()
    pd.testing.assert_series_equal(lost.loc[used.index, "pairs_used"], used, check_names=False)
    assert (lost["pairs_used"] + lost["pairs_lost"] == lost["pairs_matched"]).all()
    sales = lost.xs("sales", level="outcome").groupby("horizon")["pairs_lost"].sum()
    assert sales.loc[5] > sales.loc[1] > 0  # the last cohorts reach t+1 but not t+5
    summary = wp.counts()["value"]
    assert summary["pairs not observed at t+5 (largest over outcomes)"] >= sales.loc[5]
    assert summary["scale"] == "percent (percentage points)"
    assert summary["standard errors clustered by"] == "firm_id + pair"
    assert (wp.result.table["scale"] == "percent").all() and wp.result.units == "percentage points"


def test_robust_design_matches_on_the_pre_period(tiny_world: World) -> None:
    robust = did_design.white_paper_did(tiny_world, "export", horizons=[5], pre_horizons=[], design="robust")
    sample = robust.sample
    assert {"log_employees_growth_pre", "log_sales_growth_pre", "tfp_lag"} <= set(sample.covariates)
    assert sample.excluded.loc["not observed at t−2 (robust design)", "all"] > 0
    # the covariates are the firm's own rows at t − 2
    firms = tiny_world.firms.set_index(["firm_id", "year"])
    row = sample.rows.iloc[0]
    earlier = firms.loc[(row["firm_id"], row["year"] - 1)]
    assert row["log_sales_growth_pre"] == pytest.approx(row["log_sales"] - np.log(earlier["sales"]))
    balance = robust.match.balance().loc[["log_employees_growth_pre", "log_sales_growth_pre", "tfp_lag"]]
    # matched on them, the pre-period covariates are balanced up to sampling error: an SMD between two
    # independent samples of n pairs has SE ≈ √(2/n); 2.5 SE bounds it
    bound = 2.5 * np.sqrt(2 / robust.match.counts["matched_treated"])
    assert (balance["smd_after"].abs() < bound).all(), balance
    # starters' earlier TFP is well above non-starters' before matching (selection on productivity)
    assert balance.loc["tfp_lag", "smd_before"] > bound
    assert robust.counts().loc["matching design", "value"] == "robust"
    assert robust.compare(5)["truth"].notna().all()
    with pytest.raises(ValueError, match="design="):
        did_design.white_paper_did(tiny_world, "export", design="careful")


def test_two_way_clustering_matches_statsmodels(tiny_exports: dict[str, did_design.WhitePaperDid]) -> None:
    import statsmodels.api as sm

    changes = tiny_exports["h5"].changes
    cell = changes.table.query("outcome == 'sales' and horizon == 5")
    subset = did._subset(changes, cell)
    exog = sm.add_constant(cell["treated"].astype(float))
    for cluster, groups in (("pair", cell["pair"]), ("firm", cell["firm_id"]),
                            ("firm+pair", np.column_stack([pd.factorize(cell["firm_id"])[0], cell["pair"]]))):
        result = did.matched_did(subset, controls=[], cluster=cluster, scale="log")
        fit = sm.OLS(cell["change_log"], exog).fit(cov_type="cluster", cov_kwds={"groups": np.asarray(groups)})
        assert result.table["estimate"].iloc[0] == pytest.approx(fit.params["treated"])
        assert result.table["std_error"].iloc[0] == pytest.approx(fit.bse["treated"], rel=0.02), cluster
    assert did.matched_did(subset, controls=[]).cluster == ["firm_id", "pair"]  # the default
    with pytest.raises(ValueError, match="cluster"):
        did.matched_did(subset, cluster="firm+pair+year")


def test_pair_clustering_with_the_white_papers_controls_is_the_paired_t_test(
        tiny_exports: dict[str, did_design.WhitePaperDid]) -> None:
    import pyfixest as pf
    from scipy import stats

    wp = tiny_exports["h5"]
    cell = wp.changes.table.query("outcome == 'sales' and horizon == 5 and group == '50-99'")
    subset = did._subset(wp.changes, cell)
    wide = cell.pivot(index="pair", columns="treated", values="change_pct")
    paired = stats.ttest_rel(wide[1], wide[0])
    low, high = paired.confidence_interval(0.95)
    # start year, industry and size class are constant within a pair (exact matching on them), so the
    # fixed effects leave each pair's score at half its difference: CRV1 by pair = the paired t-test
    row = did.matched_did(subset, controls=wp.controls, cluster="pair").table.iloc[0]
    assert row["estimate"] == pytest.approx((wide[1] - wide[0]).mean())
    assert row["std_error"] == pytest.approx(stats.sem(wide[1] - wide[0]))
    assert (row["ci_low"], row["ci_high"], row["p_value"]) == pytest.approx((low, high, paired.pvalue))
    # pyfixest's default counts the fixed effects in k and widens the interval by √((N − 1)/(N − k)): here,
    # with more than ten start years and industries among a few dozen pairs, by more than a tenth
    default = pf.feols("change_pct ~ treated | cohort + industry + size", cell, vcov={"CRV1": "pair"})
    assert cell["cohort"].nunique() + cell["industry"].nunique() > 10
    assert default.tidy().loc["treated", "Std. Error"] > 1.1 * row["std_error"]
    # a fixed effect that differs within pairs keeps pyfixest's default correction
    varied = cell.assign(parity=cell["firm_id"] % 3)
    own = did.matched_did(did._subset(wp.changes, varied), controls=["parity"], cluster="pair").table.iloc[0]
    reference = pf.feols("change_pct ~ treated | parity", varied, vcov={"CRV1": "pair"}).tidy().loc["treated"]
    assert own["std_error"] == pytest.approx(reference["Std. Error"])


def test_event_study_plot_renders_its_japanese_labels_without_the_figures_module() -> None:
    # a fresh interpreter that imports only the estimator: its legend (真の効果) must find a Japanese font
    import subprocess
    import sys

    code = """
import io, warnings
import pandas as pd
from kaigai_lib.estimators.did import TIDY_COLUMNS, DidResult
table = pd.DataFrame([["sales", "all", h, 0.1, 0.02, 0.01, 0.06, 0.14, 50, 50, "log"] for h in (-2, 1, 2)],
                     columns=TIDY_COLUMNS)
truth = pd.DataFrame({"group": "all", "horizon": [-1, 1, 2], "effect": [0.0, 0.1, 0.1]})
fig = DidResult(table=table, scale="log", controls=[], pair_effects=False).plot_event_study("sales", truth=truth)
with warnings.catch_warnings():
    warnings.simplefilter("error")
    fig.savefig(io.BytesIO(), format="png")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
