"""The naive comparison and its decomposition: naive difference = ATT + selection bias.

Statistical claims use the ``book`` world (seed 0) and the standard error
that ``naive_difference`` reports. The ATT is known exactly, so the SE of the
naive difference is also the SE of the selection bias: a bias "in the
direction the chapter says" must be at least three SEs from zero, and "no
bias" must be within three SEs of it (with a fixed seed the result is stable;
three SEs keeps a property from passing by chance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from kaigai_lib.estimators import naive
from kaigai_lib.whitepaper import selection
from kaigai_lib.world.synthetic import OUTCOMES, World, generate

Z = 3.0


@pytest.fixture(scope="module")
def no_selection_world() -> World:
    return generate(preset="book", seed=0, selection_strength=0.0)


# --------------------------------------------------------------------------- the identity

@pytest.mark.parametrize("measure, scale", [("growth", "log"), ("level", "log"), ("growth", "percent")])
def test_naive_equals_att_plus_selection_bias_exactly(tiny_world: World, measure: str, scale: str) -> None:
    for analysis, group in (("export", "50-99"), ("export", None), ("fdi", "manufacturing")):
        for outcome in OUTCOMES:
            d = selection.decompose(tiny_world, analysis, outcome, group, 5, measure=measure, scale=scale)
            assert d.naive == pytest.approx(d.att + d.selection_bias, abs=1e-12)
            by = d.by_cohort
            np.testing.assert_allclose(by["naive"], by["att"] + by["selection_bias"], atol=1e-12)
            assert d.n_starters == by["n_starters"].sum() > 0


def test_att_is_the_truth_on_the_log_scale(tiny_world: World) -> None:
    for outcome in OUTCOMES:
        for measure in ("growth", "level"):
            d = selection.decompose(tiny_world, "export", outcome, "50-99", 5, measure=measure)
            assert d.att == pytest.approx(tiny_world.truth.effect("export", outcome, "50-99", 5), abs=1e-12)
            assert d.true_effect == pytest.approx(d.att, abs=1e-12)
    # the decomposition's starters are World.sample_att's: same ATT, also in percent
    for scale in ("log", "percent"):
        d = selection.decompose(tiny_world, "fdi", "sales", "manufacturing", 4, scale=scale)
        # percent: the base year is the published (rounded) sales, sample_att uses the unrounded log
        assert d.att == pytest.approx(tiny_world.sample_att("fdi", "sales", "manufacturing", 4, scale=scale),
                                      rel=1e-4)


def test_decompose_makes_the_comparison_naive_difference_makes_on_the_firm_panel(tiny_world: World) -> None:
    d = selection.decompose(tiny_world, "export", "sales", "50-99", 5, start_year=2001, measure="level")
    plain = naive.naive_difference(tiny_world.firms, outcome="sales", group="50-99", start_year=2001,
                                       measure="level")
    assert plain.difference == pytest.approx(d.naive, abs=1e-12)
    assert plain.n_starters == d.n_starters and plain.cohorts == (2001,)


# --------------------------------------------------------------------------- naive_difference on any panel

def test_naive_difference_by_hand_for_one_cohort(tiny_world: World) -> None:
    firms = tiny_world.firms
    result = naive.naive_difference(firms, outcome="employees", start_year=2005, horizon=3)
    wide = firms.pivot(index="firm_id", columns="year", values="employees")
    status = firms.pivot(index="firm_id", columns="year", values="exporter")
    start = firms.groupby("firm_id")["export_start_year"].first()
    seen = wide[2004].notna() & wide[2008].notna()
    growth = np.log(wide[2008]) - np.log(wide[2004])
    starters = seen & (start == 2005) & (status[2004] == False)  # noqa: E712  (object column with NaN)
    others = seen & (status[2004] == False) & (status[2008] == False)  # noqa: E712
    others &= ~start.between(2005, 2008).fillna(False).astype(bool)
    assert result.n_starters == starters.sum() and result.n_non_starters == others.sum()
    assert result.difference == pytest.approx(growth[starters].mean() - growth[others].mean(), abs=1e-12)
    # Welch standard error within one cohort
    se = np.sqrt(growth[starters].var() / starters.sum() + growth[others].var() / others.sum())
    assert result.std_error == pytest.approx(se, rel=1e-9)


def test_pooled_difference_weights_cohorts_by_their_starters(tiny_world: World) -> None:
    pooled = naive.naive_difference(tiny_world.firms, outcome="sales")
    by = pooled.by_cohort
    assert pooled.difference == pytest.approx((by["difference"] * by["n_starters"]).sum() / by["n_starters"].sum())
    assert by["weight"].sum() == pytest.approx(1.0)
    assert pooled.cohorts == tuple(by.index) and pooled.cohorts[0] == 1996 and pooled.cohorts[-1] == 2015


def test_naive_difference_takes_other_column_names(tiny_world: World) -> None:
    renamed = tiny_world.firms.rename(columns={"firm_id": "kigyo", "year": "nendo", "sales": "uriage",
                                               "export_start_year": "yushutsu_kaishi", "exporter": "yushutsu",
                                               "employees": "jugyoin"})
    # one way to name columns (issue 15): the survey's names are mapped to the schema's once; the outcome is
    # any column
    back = {"kigyo": "firm_id", "nendo": "year", "yushutsu_kaishi": "export_start_year", "yushutsu": "exporter",
            "jugyoin": "employees"}
    result = naive.naive_difference(renamed.rename(columns=back), outcome="uriage", group="50-99")
    expected = naive.naive_difference(tiny_world.firms, outcome="sales", group="50-99")
    assert result.difference == pytest.approx(expected.difference, abs=1e-12)
    with pytest.raises(ValueError, match="uriage"):
        naive.naive_difference(renamed.rename(columns=back), outcome="sales")


def test_naive_difference_rejects_bad_input(tiny_world: World) -> None:
    firms = tiny_world.firms
    with pytest.raises(ValueError, match=r"start_year \[1995\].*1996–2015"):
        naive.naive_difference(firms, outcome="sales", start_year=1995)
    with pytest.raises(ValueError, match="group='50-100'"):
        naive.naive_difference(firms, outcome="sales", group="50-100")
    with pytest.raises(ValueError, match="percent"):
        naive.naive_difference(firms, outcome="sales", measure="level", scale="percent")
    bad = firms.copy()
    bad.loc[bad.index[:50], "sales"] = 0.0
    with pytest.raises(ValueError, match="sales ≤ 0"):
        naive.naive_difference(bad, outcome="sales", start_year=range(1996, 2016))
    with pytest.raises(ValueError, match="duplicate"):
        naive.naive_difference(pd.concat([firms, firms.head(3)]), outcome="sales")


def test_every_starter_is_accounted_for(tiny_world: World) -> None:
    result = naive.naive_difference(tiny_world.firms, outcome="sales")
    firms = tiny_world.firms
    starters = firms.loc[firms["export_start_year"].between(1996, 2015), "firm_id"].nunique()
    assert (result.n_starters + result.n_starters_unobserved + result.n_starters_without_comparison
            == starters)


def test_result_objects_summarise_and_plot(tiny_world: World) -> None:
    d = selection.decompose(tiny_world, "export", "sales", "50-99")
    # issue 15's result interface: the terms are tidy()'s estimates, plot() returns the Axes
    assert list(d.tidy()["estimate"]) == [d.naive, d.att, d.selection_bias]
    assert isinstance(d.plot(), Axes)
    summary = d.naive_result.tidy()
    assert summary["ci_low"].iloc[0] < d.naive < summary["ci_high"].iloc[0]
    ax = d.naive_result.plot(truth=d.att)
    assert len(ax.containers) == 1  # the cohorts' error bars
    paths = selection.group_average_paths(tiny_world, "export", "employees", 2005)
    assert list(paths.index) == list(range(-4, 6))
    # before the start, starters' observed and untreated outcomes coincide
    np.testing.assert_allclose(paths.loc[:-1, "starters"], paths.loc[:-1, "starters_without_start"])
    assert isinstance(selection.plot_group_average_paths(paths, paths), Figure)


# --------------------------------------------------------------------------- the chapter's claims

def test_level_comparisons_overstate_the_effect(book_world: World) -> None:
    """Starters were already bigger and more productive: the level comparison is biased upward."""
    for outcome in ("sales", "tfp", "compensation_per_employee"):
        d = selection.decompose(book_world, "export", outcome, "50-99", measure="level")
        assert d.selection_bias > Z * d.std_error, outcome
        assert d.naive > d.att
    everyone = selection.decomposition_table(book_world, "export", ["employees", "sales", "capital_stock"],
                                             measure="level")
    assert (everyone["selection_bias"] > Z * everyone["se"]).all()
    fdi_tfp = selection.decompose(book_world, "fdi", "tfp", "manufacturing", measure="level")
    assert fdi_tfp.att == 0 and fdi_tfp.naive > Z * fdi_tfp.std_error  # a TFP "gain" that is pure selection


def test_growth_comparisons_understate_sales_and_tfp_effects(book_world: World) -> None:
    """Starters were picked at a temporary high: their untreated growth is lower (regression to the mean)."""
    for outcome in ("sales", "tfp"):
        d = selection.decompose(book_world, "export", outcome, "50-99", measure="growth")
        assert d.selection_bias < -Z * d.std_error, outcome
        assert d.naive < d.att


def test_without_selection_the_bias_vanishes_within_sampling_error(book_world: World,
                                                                    no_selection_world: World) -> None:
    for measure in ("growth", "level"):
        for outcome in ("sales", "tfp"):
            with_selection = selection.decompose(book_world, "export", outcome, "50-99", measure=measure)
            without = selection.decompose(no_selection_world, "export", outcome, "50-99", measure=measure)
            assert abs(without.selection_bias) < Z * without.std_error, (measure, outcome)
            assert abs(without.selection_bias) < abs(with_selection.selection_bias) / 2, (measure, outcome)


def test_the_result_says_which_scale_and_transform_it_used(tiny_world) -> None:
    """Issue 14: a flag the user can forget (outcome_is_log) is stated in the result and its summary."""
    firms = tiny_world.firms.assign(log_sales=np.log(tiny_world.firms["sales"]).astype("float32"))
    levels = naive.naive_difference(firms, outcome="sales", start_year=2005)
    logs = naive.naive_difference(firms, outcome="log_sales", outcome_is_log=True, start_year=2005)
    assert logs.difference == pytest.approx(levels.difference, abs=1e-5)  # float32 logs: 1e-7 relative
    assert "log of 'sales' taken (outcome_is_log=False)" in levels.describe()
    assert "'log_sales' taken as a log already (outcome_is_log=True)" in logs.describe()
    summary = logs.tidy().iloc[0]
    assert summary["scale"] == "log points" and "outcome_is_log=True" in summary["outcome_transform"]
    percent = naive.naive_difference(firms, outcome="sales", start_year=2005, scale="percent")
    assert percent.tidy().iloc[0]["scale"] == "%"
