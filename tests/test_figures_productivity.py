"""Figures of the productivity chapter (ownership groups, Figures II-2-4-2/3, coefficients), on the tiny world."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from kaigai_lib.teaching import figures
from kaigai_lib.world.synthetic import World

YEAR = 2020


@pytest.fixture(scope="module")
def firms(tiny_world: World) -> pd.DataFrame:
    """The tiny world's firms with true log TFP relative to its industry-year mean (no estimation: fast)."""
    data = tiny_world.firms.merge(tiny_world.latent[["firm_id", "year", "tfp_true"]], on=["firm_id", "year"],
                                  validate="one_to_one")
    data["log_tfp_relative"] = data["tfp_true"] - data.groupby(["industry", "year"])["tfp_true"].transform("mean")
    data["compensation_per_employee"] = data["compensation"] / data["employees"]
    return data


def _expected_groups(firms: pd.DataFrame) -> pd.Series:
    foreign = firms["foreign_capital_ratio"] > 33.3
    return pd.Series(np.select([foreign, firms["fdi"]], ["Foreign-owned", "Japanese, with FDI"],
                               "Japanese, without FDI"), index=firms.index)


# --------------------------------------------------------------------------
# ownership groups and the table behind the figures
# --------------------------------------------------------------------------

def test_ownership_groups_follow_the_white_paper_definition(firms):
    groups = figures.ownership_groups(firms)
    assert list(groups.cat.categories) == list(figures.OWNERSHIP_GROUPS)
    assert groups.index.equals(firms.index)
    pd.testing.assert_series_equal(groups.astype(str), _expected_groups(firms), check_names=False)
    counts = groups.value_counts()
    assert counts["Foreign-owned"] == (firms["foreign_capital_ratio"] > 33.3).sum()
    assert counts["Japanese, with FDI"] == (firms["fdi"] & (firms["foreign_capital_ratio"] <= 33.3)).sum()
    assert counts.sum() == len(firms)
    # the tiny world has firms in every group, including foreign-owned firms with FDI (foreign wins)
    assert (counts > 0).all()


def test_ownership_groups_threshold_is_strict_and_foreign_ownership_comes_first():
    toy = pd.DataFrame({"fdi": [True, True, False, False], "foreign_capital_ratio": [33.3, 33.4, 0.0, 50.0]})
    assert list(figures.ownership_groups(toy).astype(str)) == [
        "Japanese, with FDI", "Foreign-owned", "Japanese, without FDI", "Foreign-owned"]


def test_ownership_groups_refuse_missing_values():
    toy = pd.DataFrame({"fdi": [True, False], "foreign_capital_ratio": [10.0, np.nan]})
    with pytest.raises(ValueError, match="foreign_capital_ratio"):
        figures.ownership_groups(toy)
    with pytest.raises(ValueError, match=r"column\(s\) \[.fdi.\] not in the data"):
        figures.ownership_groups(toy.drop(columns="fdi"))


def test_ownership_comparison_counts_and_medians(firms):
    table = figures.ownership_comparison(firms, "compensation_per_employee", year=YEAR)
    selected = firms.loc[(firms["year"] == YEAR) & firms["manufacturing"]]
    expected = selected.groupby(_expected_groups(selected))["compensation_per_employee"]
    assert list(table.index) == list(figures.OWNERSHIP_GROUPS)
    assert table["n"].sum() == len(selected)
    for group in figures.OWNERSHIP_GROUPS:
        assert table.loc[group, "n"] == expected.size()[group]
        assert table.loc[group, "median"] == pytest.approx(expected.median()[group])
    # all years, all industries
    pooled = figures.ownership_comparison(firms, "log_tfp_relative", manufacturing_only=False)
    assert pooled["n"].sum() == len(firms)


def test_ownership_comparison_errors_name_the_problem(firms):
    with pytest.raises(ValueError, match="no_such_column"):
        figures.ownership_comparison(firms, "no_such_column")
    with pytest.raises(ValueError, match="No firms left"):
        figures.ownership_comparison(firms, "log_tfp_relative", year=1900)
    with_gap = firms.assign(log_tfp_relative=firms["log_tfp_relative"].where(firms.index != firms.index[0]))
    with pytest.raises(ValueError, match="no value"):
        figures.ownership_comparison(with_gap, "log_tfp_relative", manufacturing_only=False)


# --------------------------------------------------------------------------
# Figures II-2-4-2 and II-2-4-3
# --------------------------------------------------------------------------

def _density_lines(ax):
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 2]


def _median_lines(ax):
    return [line for line in ax.get_lines() if len(line.get_xdata()) == 2]


def test_tfp_figure_has_a_density_a_median_and_a_box_per_group(firms):
    fig = figures.plot_tfp_by_ownership(firms, year=YEAR)
    assert isinstance(fig, Figure)
    top, bottom = fig.axes
    assert "II-2-4-2" in top.get_title() and "全要素生産性" in top.get_title()
    assert len(_density_lines(top)) == 3
    table = figures.ownership_comparison(firms, "log_tfp_relative", year=YEAR)
    medians = sorted(line.get_xdata()[0] for line in _median_lines(top))
    np.testing.assert_allclose(medians, sorted(table["median"]))
    legend = [t.get_text() for t in top.get_legend().get_texts()]
    for group, n in table["n"].items():
        assert any(figures.OWNERSHIP_LABELS[group] in text and f"n = {n:,}" in text for text in legend)
    assert [t.get_text() for t in bottom.get_yticklabels()] == list(figures.OWNERSHIP_GROUPS)
    # the x-range covers every group's median
    lo, hi = bottom.get_xlim()
    assert lo < table["median"].min() and table["median"].max() < hi


def test_compensation_figure_computes_compensation_per_employee(firms):
    fig = figures.plot_compensation_by_ownership(firms, year=YEAR)
    top, bottom = fig.axes
    assert "II-2-4-3" in top.get_title() and "一人当たり雇用者報酬" in top.get_title()
    assert len(_density_lines(top)) == 3
    table = figures.ownership_comparison(firms, "compensation_per_employee", year=YEAR)
    medians = sorted(line.get_xdata()[0] for line in _median_lines(top))
    np.testing.assert_allclose(medians, sorted(table["median"]))
    assert "million yen" in bottom.get_xlabel()
    with pytest.raises(ValueError, match="employees"):
        figures.plot_compensation_by_ownership(firms.assign(employees=0))


def test_a_group_with_no_firm_is_left_out_of_the_figure(firms):
    japanese_only = firms.loc[firms["foreign_capital_ratio"] <= 33.3]
    fig = figures.plot_tfp_by_ownership(japanese_only, year=YEAR)
    top, bottom = fig.axes
    assert len(_density_lines(top)) == 2
    assert [t.get_text() for t in bottom.get_yticklabels()] == list(figures.OWNERSHIP_GROUPS[:2])


# --------------------------------------------------------------------------
# coefficients against the truth
# --------------------------------------------------------------------------

def test_coefficients_vs_truth_draws_each_method_and_the_truth():
    industries = ["food", "machinery", "retail"]
    truth = pd.DataFrame({"l": [0.55, 0.60, 0.70], "k": [0.30, 0.30, 0.15]}, index=industries)
    estimates = {"OLS": truth + 0.25, "LP": truth.iloc[::-1] + 0.01}  # row order need not match
    fig = figures.plot_coefficients_vs_truth(estimates, truth, labels={"l": "labour"})
    assert len(fig.axes) == 2
    left, right = fig.axes
    assert left.get_title() == "labour" and right.get_title() == "k"
    collections = [c for c in left.collections if isinstance(c, PathCollection)]
    assert len(collections) == 3  # two methods and the truth
    lp = collections[1].get_offsets()
    np.testing.assert_allclose(np.asarray(lp)[:, 0], truth["l"] + 0.01)  # aligned by industry, not by position
    assert [t.get_text() for t in left.get_yticklabels()] == industries
    with pytest.raises(ValueError, match="no row"):
        figures.plot_coefficients_vs_truth({"OLS": truth.iloc[:2]}, truth)
    with pytest.raises(ValueError, match="empty"):
        figures.plot_coefficients_vs_truth({}, truth)
