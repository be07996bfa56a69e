"""Matched difference-in-differences: event-time changes, the regressions, and the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kaigai_lib import did, matching, tfp
from kaigai_lib.starts import risk_set, size_class
from kaigai_lib.synthetic import World

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
    with pytest.raises(ValueError, match="scale="):
        did.matched_did(did.event_changes(panel.assign(sales=1.0), matched, ["sales"]), scale="levels")


def test_small_cells_give_missing_estimates_not_errors(book_world: World) -> None:
    panel = book_world.firms
    matched = panel.query("year == 2000").head(3).assign(_treated=[1, 0, 0], _pair=[0, 0, 0])
    changes = did.event_changes(panel, matched, ["sales"], horizons=[1])
    table = did.matched_did(changes, controls=[]).table
    assert table["estimate"].isna().all() and (table["n_treated"] <= 1).all()
    assert isinstance(table, pd.DataFrame)
