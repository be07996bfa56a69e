"""Spatial spillovers: catchments, the panel model against the truth, overlap, bad inputs, the radius widget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from kaigai_lib.data.schema import MissingColumnsError, validate
from kaigai_lib.estimators import spatial
from kaigai_lib.estimators.spatial import DI, OPR, SpatialInputError
from kaigai_lib.teaching import figures
from kaigai_lib.teaching.spatial_widgets import RadiusExplorer
from kaigai_lib.world.synthetic import World, generate

HEAVY_OVERLAP = 0.6


@pytest.fixture(scope="module")
def book_catchments(book_world: World) -> spatial.Catchments:
    return spatial.build_catchments(book_world.establishments, book_world.firms)


@pytest.fixture(scope="module")
def heavy_world() -> World:
    return generate(preset="book", seed=0, catchment_overlap=HEAVY_OVERLAP)


@pytest.fixture(scope="module")
def heavy_catchments(heavy_world: World) -> spatial.Catchments:
    return spatial.build_catchments(heavy_world.establishments, heavy_world.firms)


# --------------------------------------------------------------------------
# Catchments
# --------------------------------------------------------------------------

def test_membership_equals_a_brute_force_great_circle_search(tiny_world):
    est, firms = tiny_world.establishments, tiny_world.firms
    c = spatial.build_catchments(est, firms, radius_km=5.0)
    centres = spatial.global_firm_plants(est, firms)
    capital = firms.groupby("firm_id")["paid_in_capital"].max()
    receivers = est.loc[~(est["firm_id"].map(capital) >= 1_000)]
    expected = []
    for year, rec in receivers.groupby("year"):
        cen = centres.loc[centres["year"] == year]
        d = spatial.haversine_km(cen["latitude"].to_numpy()[:, None], cen["longitude"].to_numpy()[:, None],
                                 rec["latitude"].to_numpy()[None, :], rec["longitude"].to_numpy()[None, :])
        i, j = np.nonzero(d <= 5.0)
        expected.append(pd.DataFrame({"centre_id": cen["establishment_id"].to_numpy()[i], "year": year,
                                      "establishment_id": rec["establishment_id"].to_numpy()[j],
                                      "distance_km": d[i, j]}))
    expected = pd.concat(expected).sort_values(["centre_id", "year", "establishment_id"]).reset_index(drop=True)
    got = c.members.sort_values(["centre_id", "year", "establishment_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[["centre_id", "year", "establishment_id"]],
                                  expected[["centre_id", "year", "establishment_id"]], check_dtype=False)
    np.testing.assert_allclose(got["distance_km"], expected["distance_km"], rtol=1e-9)
    # areas are the sums over the members
    sums = got.merge(est, on=["establishment_id", "year"]).groupby(["centre_id", "year"])["exports"].sum()
    areas = c.areas.set_index(["centre_id", "year"])["exports"]
    np.testing.assert_allclose(areas.loc[sums.index], sums)


def test_centres_are_global_firms_plants_and_large_firms_never_receive(book_world, book_catchments):
    c = book_catchments
    firms = book_world.firms.set_index(["firm_id", "year"])
    cf = firms.loc[list(zip(c.centres["firm_id"], c.centres["year"], strict=True))]
    assert (cf["paid_in_capital"] >= 1_000).all() and (cf["overseas_production_ratio"] > 0).all()
    large_firms = book_world.firms.loc[book_world.firms["paid_in_capital"] >= 1_000, "firm_id"].unique()
    owners = c.members.merge(book_world.establishments[["establishment_id", "year", "firm_id"]],
                             on=["establishment_id", "year"])["firm_id"]
    assert not owners.isin(large_firms).any()
    # the figures module's helper is the same definition
    pd.testing.assert_frame_equal(figures.global_firm_plants(book_world.establishments, book_world.firms, 2015),
                                  spatial.global_firm_plants(book_world.establishments, book_world.firms, 2015))
    assert c.drops.set_index("step")["count"].ge(0).all()
    assert "footnote 242" in c.summary()


def test_overlap_share_tracks_the_worlds_overlap_parameter(book_world, book_catchments, heavy_world,
                                                           heavy_catchments):
    for world, c in ((book_world, book_catchments), (heavy_world, heavy_catchments)):
        assert c.overlap_share == pytest.approx(world.truth.spillover["share_in_several_catchments"], abs=0.05)
        table = c.overlap()
        assert table.loc["all", "share_in_several"] == pytest.approx(c.overlap_share)
    assert heavy_catchments.overlap_share > 5 * book_catchments.overlap_share
    # overlap clusters: more centres share a cluster when catchments overlap
    assert heavy_catchments.components().nunique() < book_catchments.components().nunique()


def test_with_radius_equals_building_at_that_radius(tiny_world):
    wide = spatial.build_catchments(tiny_world.establishments, tiny_world.firms, radius_km=12.0)
    narrow = spatial.build_catchments(tiny_world.establishments, tiny_world.firms, radius_km=3.0)
    cut = wide.with_radius(3.0)
    pd.testing.assert_frame_equal(cut.areas, narrow.areas)
    assert cut.overlap_share == pytest.approx(narrow.overlap_share)
    with pytest.raises(ValueError, match="at most the 12 km"):
        wide.with_radius(15.0)


# --------------------------------------------------------------------------
# The panel model against the truth
# --------------------------------------------------------------------------

def test_little_overlap_recovers_the_true_coefficients(book_world, book_catchments):
    # Shipments include exports in the world (as in 工業統計調査), so the white paper's control is a bad one
    # (tested below); a control the spillover does not move recovers the truth. The DI is one value per year
    # and the world has a common yearly export shock: only year-block errors measure its sampling error.
    for time_effects in (False, True):
        result = spatial.fit_spillover(book_catchments, book_world.foreign_demand, time_effects=time_effects,
                                       control="non_exporter_shipments", truth=book_world.truth)
        table = result.tidy().set_index("term")
        assert abs(table.loc[OPR, "bias_in_se"]) < 2, result.summary()
        if not time_effects:
            by_year = spatial.fit_spillover(book_catchments, book_world.foreign_demand, cluster="year",
                                            control="non_exporter_shipments", truth=book_world.truth)
            assert abs(by_year.tidy().set_index("term").loc[DI, "bias_in_se"]) < 2, by_year.summary()
        else:
            assert DI not in table.index and "absorb" in " ".join(result.notes)
    assert result.counts["centres"] == book_catchments.centres["centre_id"].nunique()


@pytest.fixture(scope="module")
def shipments_without_exports() -> World:
    """The book world with the same draws, except that shipments leave the exports (and the boost) out."""
    return generate(preset="book", seed=0, shipments_include_exports=False)


def test_shipments_that_include_exports_are_a_bad_control(book_world, book_catchments, shipments_without_exports):
    est = book_world.establishments
    # the world: shipments = domestic shipments + exports, the spillover boost included
    other = shipments_without_exports.establishments
    assert (est["exports"] <= est["shipments"] + 0.05).all()
    pd.testing.assert_series_equal(est["exports"], other["exports"])
    with pytest.warns(spatial.SpatialInputWarning, match="exceeds 'shipments'"):
        clean = spatial.build_catchments(other, shipments_without_exports.firms)
    fd, truth = book_world.foreign_demand, book_world.truth
    for time_effects in (False, True):
        def fit(catchments, control, time_effects=time_effects):
            return spatial.fit_spillover(catchments, fd, control=control, time_effects=time_effects, truth=truth)
        bad, before = fit(book_catchments, "shipments"), fit(clean, "shipments")
        # same draws, same areas: only the control changed, and it takes part of the effect away
        drop = before.coef(OPR) - bad.coef(OPR)
        assert drop > 0.1 * truth.spillover["opr_coefficient"], (bad.summary(), before.summary())
        assert "bad control" in " ".join(bad.notes)
        # a control the spillover cannot move gives the same estimate whether or not shipments include exports
        for control in ("non_exporter_shipments", "none"):
            assert fit(book_catchments, control).coef(OPR) == pytest.approx(fit(clean, control).coef(OPR))
        # and the alternatives recover the truth within sampling error
        for control in ("domestic_shipments", "non_exporter_shipments", "lagged_shipments"):
            result = fit(book_catchments, control)
            assert abs(result.tidy().set_index("term").loc[OPR, "bias_in_se"]) < 2, result.summary()
            assert result.coef(OPR) > bad.coef(OPR)


def test_a_common_year_shock_needs_errors_that_allow_for_it(book_world, book_catchments):
    """Same draws with and without the world's common yearly export shock: what each kind of error sees."""
    calm = generate(preset="book", seed=0, establishment_export_year_shock_sd=0.0)
    calm_catchments = spatial.build_catchments(calm.establishments, calm.firms)
    shock = book_world.truth.params.establishment_export_year_shock_sd
    assert shock > 0 and calm.truth.spillover["export_year_shock_2019"] == 0.0
    fits = {}
    for name, (catchments, fd) in {"shock": (book_catchments, book_world.foreign_demand),
                                   "calm": (calm_catchments, calm.foreign_demand)}.items():
        for cluster in ("entity", "firm", "year", "driscoll_kraay"):
            fits[name, cluster] = spatial.fit_spillover(catchments, fd, cluster=cluster,
                                                        control="non_exporter_shipments")
    moved = abs(fits["shock", "entity"].coef(DI) - fits["calm", "entity"].coef(DI))
    # the shock moves the DI coefficient by more than 3 centre-clustered SEs, and those SEs do not notice it ...
    assert moved > 3 * fits["shock", "entity"].std_error(DI)
    assert fits["shock", "entity"].std_error(DI) < 1.2 * fits["calm", "entity"].std_error(DI)
    # ... while year-block errors grow with it and cover the move
    assert fits["shock", "year"].std_error(DI) > 2 * fits["calm", "year"].std_error(DI)
    assert moved < 2 * fits["shock", "year"].std_error(DI)
    assert fits["shock", "driscoll_kraay"].std_error(DI) > fits["shock", "entity"].std_error(DI)
    # firm clusters: several centres share a firm (and its ratio)
    firm = fits["shock", "firm"]
    n_firms = book_catchments.centres["firm_id"].nunique()
    assert firm.counts["clusters"] == n_firms < firm.counts["centres"]
    assert "8 yearly values" in firm.summary()


def test_heavy_overlap_biases_the_white_paper_design_and_not_the_exposure_design(heavy_world, heavy_catchments):
    truth = heavy_world.truth
    # a control the spillover does not move (shipments less exports), so that only the overlap biases the
    # white paper's design
    control = "domestic_shipments"
    table = spatial.compare_designs(heavy_catchments, heavy_world.foreign_demand, truth=truth, control=control)
    wp = table.loc[("white_paper", False)]
    # every neighbour's DI response is counted in the area: the DI coefficient is far above the truth
    assert wp["di"] > truth.spillover["di_coefficient"] + 3 * wp["di_se"]
    # the bias formula predicts the direction: up for both, less for the ratio once year effects are in
    bias = spatial.overlap_bias(heavy_catchments, heavy_world.foreign_demand, truth, control=control)
    bias_te = spatial.overlap_bias(heavy_catchments, heavy_world.foreign_demand, truth, time_effects=True,
                                   control=control)
    assert bias.loc[DI, "expected_bias"] > truth.spillover["di_coefficient"]
    assert 0 < bias_te.loc[OPR, "expected_bias"] < bias.loc[OPR, "expected_bias"]
    # (the ratio's overlap bias is small next to its sampling error in one world: the chapter's replications
    # show it; this world's white paper estimate is not asserted to lie above the truth)
    # the exposure design recovers the ratio's coefficient and comes far closer on the DI
    exposure = table.loc[("exposure", False)]
    assert abs(exposure["opr"] - exposure["opr_truth"]) < 2 * exposure["opr_se"]
    assert abs(exposure["di"] - exposure["di_truth"]) < abs(wp["di"] - wp["di_truth"]) / 3
    # nearest-centre assignment loses each centre's effect on establishments nearer to another centre
    nearest = table.loc[("nearest", False)]
    assert nearest["opr"] < nearest["opr_truth"] - 2 * nearest["opr_se"]


def test_decomposition_adds_up_and_is_drawn(book_world, book_catchments):
    for time_effects in (False, True):
        result = spatial.fit_spillover(book_catchments, book_world.foreign_demand, time_effects=time_effects,
                                       truth=book_world.truth)
        d = result.decomposition()
        parts = d.drop(index="total")["contribution"]
        assert parts.sum() == pytest.approx(d.loc["total", "contribution"])
        assert d.loc[OPR, "contribution"] == pytest.approx(d.loc[OPR, "mean_change"] * result.coef(OPR))
        assert d.loc[OPR, "true_contribution"] == pytest.approx(40.0 * d.loc[OPR, "mean_change"])
        assert ("year_effects" in d.index) == time_effects
        fig = result.plot_decomposition()
        (ax,) = fig.axes
        np.testing.assert_allclose([p.get_width() for p in ax.patches[: len(d)]], d["contribution"])
        assert "II-2-4-4" in ax.get_title()
    with pytest.raises(ValueError, match="pick two years"):
        result.decomposition(2019, 2012)


def test_figures(book_world, book_catchments, heavy_world, heavy_catchments):
    fig = book_catchments.plot_map()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    circles = [line for line in fig.axes[1].get_lines() if line.get_color() == "C3"]
    assert len(circles) >= 2  # the default window shows an overlap
    table = spatial.compare_designs(heavy_catchments, heavy_world.foreign_demand, truth=heavy_world.truth,
                                    designs=("white_paper", "exposure"), time_effects=(False,))
    fig = spatial.plot_design_comparison(table)
    assert len(fig.axes) == 2


def test_other_column_names(tiny_world):
    est = tiny_world.establishments.rename(columns={"latitude": "ido", "longitude": "keido", "exports": "yushutsu"})
    firms = tiny_world.firms.rename(columns={"overseas_production_ratio": "kaigai_seisan_hiritsu"})
    # one way to name columns: the tables are renamed to the schema's names once (issue 15)
    c = spatial.build_catchments(
        validate(est, "establishments", rename={"ido": "latitude", "keido": "longitude", "yushutsu": "exports"}),
        validate(firms, "firms", rename={"kaigai_seisan_hiritsu": "overseas_production_ratio"}))
    default = spatial.build_catchments(tiny_world.establishments, tiny_world.firms)
    pd.testing.assert_frame_equal(c.areas, default.areas)
    with pytest.raises(MissingColumnsError, match="latitude"):
        spatial.build_catchments(est, firms)


# --------------------------------------------------------------------------
# Bad inputs: clear messages with counts
# --------------------------------------------------------------------------

def test_missing_coordinates_raise_or_are_dropped_and_counted(tiny_world):
    est = tiny_world.establishments.copy()
    est.loc[est.index[:3], "latitude"] = np.nan
    with pytest.raises(SpatialInputError, match=r"3 establishment-year\(s\) \(1 establishment\(s\)\) have no"):
        spatial.build_catchments(est, tiny_world.firms)
    c = spatial.build_catchments(est, tiny_world.firms, missing_coordinates="drop")
    row = c.drops.set_index("step").loc["establishment-years without coordinates"]
    assert row["count"] == 3 and row["kind"] == "dropped"


def test_coordinates_outside_japan_raise_with_counts_and_a_hint(tiny_world):
    est = tiny_world.establishments.copy()
    rows = est.index[:8]
    est.loc[rows, ["latitude", "longitude"]] = est.loc[rows, ["longitude", "latitude"]].to_numpy()
    with pytest.raises(SpatialInputError, match=r"8 row\(s\) \(1 establishment\(s\)\).*swapped"):
        spatial.build_catchments(est, tiny_world.firms)
    est = tiny_world.establishments.copy()
    est.loc[est.index[:2], "latitude"] = 3_900_000.0  # projected metres
    with pytest.raises(SpatialInputError, match=r"2 row\(s\).*WGS84 degrees"):
        spatial.build_catchments(est, tiny_world.firms)


def test_no_centres_found_says_why(tiny_world):
    firms = tiny_world.firms.assign(paid_in_capital=lambda f: f["paid_in_capital"] / 1_000)  # thousand million yen
    n_firm_years = len(firms)
    with pytest.raises(SpatialInputError, match=rf"No centres found: of {n_firm_years:,} firm-years, 0 have"):
        spatial.build_catchments(tiny_world.establishments, firms)


def test_centre_firm_without_overseas_production_data(tiny_world):
    firms = tiny_world.firms.copy()
    centre_years = spatial.global_firm_plants(tiny_world.establishments, firms)[["firm_id", "year"]]
    big = firms.reset_index().merge(centre_years.drop_duplicates().head(4), on=["firm_id", "year"])["index"]
    firms.loc[big, "overseas_production_ratio"] = np.nan
    n_firms = firms.loc[big, "firm_id"].nunique()
    with pytest.raises(SpatialInputError, match=rf"4 firm-year\(s\) of {n_firms} firm\(s\) with 'paid_in_capital'"):
        spatial.build_catchments(tiny_world.establishments, firms)
    c = spatial.build_catchments(tiny_world.establishments, firms, missing_overseas_ratio="drop")
    dropped = c.drops.loc[c.drops["step"].str.startswith("plant-years of large firms without"), "count"]
    plants = tiny_world.establishments.merge(firms.loc[big, ["firm_id", "year"]], on=["firm_id", "year"])
    assert int(dropped.iloc[0]) == len(plants)
    assert not c.centres.merge(firms.loc[big, ["firm_id", "year"]], on=["firm_id", "year"]).shape[0]


def test_other_bad_inputs(tiny_world, book_catchments):
    est = pd.concat([tiny_world.establishments, tiny_world.establishments.iloc[:2]])
    with pytest.raises(SpatialInputError, match=r"duplicate keys: 4 rows share a \(establishment_id, year\) key"):
        spatial.build_catchments(est, tiny_world.firms)
    est = tiny_world.establishments.copy()
    est.loc[est.index[:5], "exports"] = np.nan
    with pytest.raises(SpatialInputError, match=r"'exports' has 5 missing"):
        spatial.build_catchments(est, tiny_world.firms)
    with pytest.raises(ValueError, match="radius_km"):
        spatial.build_catchments(tiny_world.establishments, tiny_world.firms, radius_km=0)
    short = tiny_world.foreign_demand.query("year != 2015")
    with pytest.raises(SpatialInputError, match=r"year\(s\) \[2015\]"):
        spatial.fit_spillover(book_catchments, short)
    with pytest.raises(ValueError, match="design="):
        spatial.fit_spillover(book_catchments, tiny_world.foreign_demand, design="voronoi")


# --------------------------------------------------------------------------
# The radius widget
# --------------------------------------------------------------------------

def test_radius_widget_moves_the_estimate_and_the_overlap(book_world):
    wide = spatial.build_catchments(book_world.establishments, book_world.firms, radius_km=20.0)
    # six radii keep the test quick: every one is fitted when the widget is made, for the static page
    explorer = RadiusExplorer(wide, book_world.foreign_demand, truth=book_world.truth, minimum=1.5, step=3.5)
    radii = explorer.controls["radius_km"].options
    assert radii == ["1.5", "5", "8.5", "12", "15.5", "19"] and explorer.values["radius_km"] == "5"
    assert len(explorer.views) == len(radii)
    at_five = dict(explorer.current)
    assert "radius = 5 km" in explorer.view_html and "<img" in explorer.view_html
    explorer.set(radius_km=1.5)
    small = dict(explorer.current)
    assert small["radius_km"] == 1.5 and small["estimate"] < at_five["estimate"] / 2  # most of the boost is missed
    assert explorer.views["1.5"]["numbers"]["estimate"] == small["estimate"]
    explorer.set(radius_km=15.5)
    large = dict(explorer.current)
    assert large["overlap_share"] > 3 * at_five["overlap_share"]
    assert large["receivers_in_catchments"] > at_five["receivers_in_catchments"]
    explorer.set(radius_km=5.0)
    assert explorer.current is explorer.results[5.0]  # cached, not re-fitted
    assert explorer.current == at_five
    explorer.set(radius_km=3.0)  # off the grid (a live kernel): fitted on demand, sent alone
    assert explorer.live["key"] == "3" and "radius = 3 km" in explorer.live["view"]["html"]
    assert len(explorer.table()) == 7
