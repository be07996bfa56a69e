"""Figures and widget exercises, on the tiny world (fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from kaigai_lib.exercises.spec import NumericExercise, selection_explorer, selection_gaps
from kaigai_lib.teaching import figures
from kaigai_lib.teaching.static_widgets import judge
from kaigai_lib.world.synthetic import EXPORT_GROUPS, FDI_GROUPS, OUTCOMES, World, generate


@pytest.fixture
def world(tiny_world: World) -> World:
    """The session's tiny world from conftest (read only), under a shorter name."""
    return tiny_world


def _bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


# --------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------

def test_panel_overview_has_one_bar_per_year_and_two_share_lines(world):
    fig = figures.plot_panel_overview(world.firms)
    assert isinstance(fig, Figure)
    left, right = fig.axes
    n_years = world.firms["year"].nunique()
    assert len(_bars(left)) == n_years
    assert len(right.get_lines()) == 2
    table = figures.panel_overview(world.firms)
    exporting = world.firms.groupby("year")["exporter"].mean().to_numpy()
    np.testing.assert_allclose(right.get_lines()[0].get_ydata(), 100 * exporting)
    assert (table["firms"] > 0).all()


def test_size_distribution_marks_the_size_classes(world):
    fig = figures.plot_size_distribution(world.firms, year=2020)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    class_lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in class_lines] == list(figures.SIZE_THRESHOLDS)
    # one share label per class, and the shares add up to 100 %
    shares = [float(t.get_text().split("\n")[1].rstrip("%")) for t in ax.texts]
    assert len(shares) == len(figures.SIZE_THRESHOLDS) + 1
    assert sum(shares) == pytest.approx(100, abs=0.3)
    assert sum(p.get_height() for p in _bars(ax)) == (world.firms["year"] == 2020).sum()


def test_starter_comparison_finds_the_selection_the_world_builds_in(world):
    table = figures.starter_comparison(world.firms, world.latent, analysis="export")
    assert list(table.index) == ["log TFP", "log employees", "log sales"]
    assert (table["gap_within_year_industry"] > 0).all()  # starters are ahead before they start
    assert (table["n_starters_without_comparison"] == 0).all()
    # every starter counted is a firm whose recorded start year is the next one
    sample = figures.starter_base_sample(world.firms, world.latent, analysis="export")
    starters = sample.loc[sample["starter"]].merge(world.firms, on=["firm_id", "year"])
    assert (starters["export_start_year"] == starters["year"] + 1).all()
    assert not starters["exporter"].any()


def test_starter_comparison_names_a_missing_tfp_column(world):
    with pytest.raises(ValueError, match="tfp_true"):
        figures.starter_comparison(world.firms, analysis="fdi")
    size_only = figures.starter_comparison(world.firms, analysis="fdi", tfp_col=None)
    assert list(size_only.index) == ["log employees", "log sales"]


def test_starters_vs_others_draws_two_histograms_per_panel(world):
    fig = figures.plot_starters_vs_others(world.firms, world.latent)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4  # (TFP, employees) × (export, FDI)
    for ax in fig.axes:
        assert len(ax.containers) == 2  # non-starters, starters
        assert "gap" in ax.get_title()


def test_effect_paths_plot_the_truth(world):
    for analysis, groups in (("export", EXPORT_GROUPS), ("fdi", FDI_GROUPS)):
        fig = figures.plot_effect_paths(world.truth.effects, analysis)
        panels = [ax for ax in fig.axes if ax.axison]
        assert len(panels) == len(OUTCOMES)
        sales_ax = panels[OUTCOMES.index("sales")]
        assert [line.get_label() for line in sales_ax.get_lines()[: len(groups)]] == list(groups)
        first = sales_ax.get_lines()[0]
        expected = [world.truth.effect(analysis, "sales", groups[0], h) for h in first.get_xdata()]
        np.testing.assert_allclose(first.get_ydata(), expected)
    with pytest.raises(ValueError, match="no_such"):
        figures.plot_effect_paths(world.truth.effects, "no_such")


def test_establishment_map_shows_every_establishment_and_the_centres(world):
    centres = figures.global_firm_plants(world.establishments, world.firms, 2012)
    assert len(centres) > 0
    assert (centres["paid_in_capital"] >= 1_000).all() and (centres["overseas_production_ratio"] > 0).all()
    fig = figures.plot_establishment_map(world.establishments, centres)
    (ax,) = fig.axes
    points, centre_points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points.get_offsets()) == world.establishments["establishment_id"].nunique()
    assert len(centre_points.get_offsets()) == len(centres)
    mean_lat = world.establishments["latitude"].mean()
    assert ax.get_aspect() == pytest.approx(1 / math.cos(math.radians(mean_lat)), rel=1e-3)


def test_foreign_demand_plot(world):
    fig = figures.plot_foreign_demand(world.foreign_demand, highlight=(2012, 2019), highlight_label="plants")
    (ax,) = fig.axes
    di_line = next(line for line in ax.get_lines() if line.get_label() == "DI")
    np.testing.assert_array_equal(di_line.get_ydata(), world.foreign_demand["foreign_demand_di"])
    assert len(ax.patches) == 1  # the shaded span


def test_figures_accept_other_column_names(world):
    renamed = world.firms.rename(columns={"employees": "jugyoin", "year": "nendo"})
    # one way to name columns (issue 15): the survey's names are mapped to the schema's once
    fig = figures.plot_size_distribution(renamed.rename(columns={"jugyoin": "employees", "nendo": "year"}))
    assert isinstance(fig, Figure)
    with pytest.raises(ValueError, match="employees"):
        figures.plot_size_distribution(renamed)


# --------------------------------------------------------------------------
# NumericExercise
# --------------------------------------------------------------------------

@pytest.fixture
def exercise(world) -> NumericExercise:
    truth = 100 * math.expm1(world.truth.effect("export", "sales", "50-99", 5))
    return NumericExercise(question="By how many percent do small exporters' sales rise after 5 years?",
                           answer=truth, tolerance=0.5, unit="%", hints=["Use world.truth.effect.", "exp(τ) − 1"])


def test_check_accepts_the_truth_within_tolerance(exercise):
    for value in (exercise.answer, exercise.answer + 0.4, exercise.answer - 0.5):
        feedback = exercise.check(value)
        assert feedback.correct and feedback.verdict == "correct"
        assert "Correct" in feedback.message


def test_check_says_too_high_or_too_low(exercise):
    high = exercise.check(exercise.answer + 0.6)
    low = exercise.check(exercise.answer - 3)
    assert not high.correct and high.verdict == "too high" and "Too high" in high.message
    assert not low.correct and low.verdict == "too low" and "Too low" in low.message
    assert f"{exercise.answer:g}" not in high.message  # a wrong answer does not give the truth away
    assert exercise.check(float("nan")).verdict == "not a number"


def test_exercise_rejects_bad_setup():
    with pytest.raises(ValueError, match="tolerance"):
        NumericExercise("q", answer=1.0, tolerance=-1)
    with pytest.raises(ValueError, match="answer"):
        NumericExercise("q", answer=float("nan"), tolerance=1)


def test_widget_carries_the_answer_key_and_hints_for_the_page(exercise):
    box = exercise.widget()
    assert box.setup["check"]["question"] == exercise.question
    assert box.setup["check"]["hints"] == list(exercise.hints)
    key = box.answer_keys[""]
    unit = exercise.unit
    assert judge(exercise.answer + 5, key, unit).verdict == "too high"
    assert judge(exercise.answer - 5, key, unit).verdict == "too low"
    assert judge(round(exercise.answer, 1), key, unit).correct
    # the page's judge and NumericExercise.check agree on right and wrong
    for value in (exercise.answer, exercise.answer + 0.6, exercise.answer - 3):
        assert judge(value, key, unit).correct == exercise.check(value).correct


# --------------------------------------------------------------------------
# selection explorer
# --------------------------------------------------------------------------

def test_selection_gaps_vanish_without_selection():
    with_selection = selection_gaps(generate(preset="tiny", seed=0))
    without = selection_gaps(generate(preset="tiny", seed=0, selection_strength=0.0))
    assert (with_selection.loc["log TFP"] > 0.05).all()
    assert (without.loc["log TFP"].abs() < with_selection.loc["log TFP"].abs() / 2).all()


def test_selection_explorer_updates_when_the_slider_moves():
    box = selection_explorer(preset="tiny", seed=0)
    assert box.values == {"selection_strength": "1.00"} and "<table" in box.view_html
    before = box.view_html
    box.set(selection_strength=0.0)
    assert box.view_html != before and "selection_strength = 0.00" in box.view_html
    for variable in ("log TFP", "log employees", "log sales"):
        assert variable in box.view_html
    assert box.current["log TFP/export"] == pytest.approx(
        selection_gaps(generate(preset="tiny", seed=0, selection_strength=0.0)).loc["log TFP", "export"])


def test_selection_explorer_rejects_a_non_numeric_parameter():
    with pytest.raises(ValueError, match="depreciation_years"):
        selection_explorer(parameter="depreciation_years")
