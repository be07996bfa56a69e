"""build_catchments / fit_spillover on hand-built frames (not from generate()): text numbers, zeros, reused ids.

Each frame is small enough to count by hand what the right answer is: one
global firm with two plants (firm 1, ¥2bn, ratio 10 %), one large firm
without production abroad (firm 2, ¥5bn) and small establishments around
the plants, some within 5 km of them and some 30 km away.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kaigai_lib.estimators import spatial
from kaigai_lib.estimators.spatial import OPR, SpatialInputError, SpatialInputWarning

YEARS = (2014, 2015, 2016)
# (establishment id, owner, latitude, longitude, exports in 2014, shipments in 2014)
PLANTS = [
    (1, 1, 35.000, 137.000, 900.0, 12_000.0),   # centre A of the global firm
    (2, 1, 34.500, 135.500, 800.0, 9_000.0),    # centre B of the global firm, far from A
    (3, 2, 35.010, 137.010, 500.0, 20_000.0),   # a large firm without production abroad: never counted
    (11, 101, 35.010, 137.000, 40.0, 1_500.0),  # ~1.1 km from A
    (12, 102, 34.990, 137.020, 0.0, 2_200.0),   # ~2.1 km from A, does not export
    (13, 103, 35.020, 137.030, 65.0, 1_800.0),  # ~3.6 km from A
    (14, 104, 34.510, 135.510, 30.0, 1_234.0),  # ~1.4 km from B
    (15, 105, 34.480, 135.490, 0.0, 2_000.0),   # ~2.4 km from B
    (16, 106, 35.300, 137.000, 70.0, 2_500.0),  # ~33 km from A: in no catchment
]


def hand_built() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rows = []
    for k, year in enumerate(YEARS):
        for est_id, owner, lat, lon, exports, shipments in PLANTS:
            grow = 1.0 + 0.1 * k + 0.01 * est_id
            rows.append({"establishment_id": est_id, "firm_id": owner, "year": year, "latitude": lat,
                         "longitude": lon, "employees": 20 + est_id, "shipments": round(shipments * grow, 1),
                         "exports": round(exports * grow * (1 + 0.05 * (k % 2)), 1)})
    est = pd.DataFrame(rows)
    firms = pd.DataFrame([{"firm_id": f, "year": y, "paid_in_capital": cap, OPR: ratio + (k if f == 1 else 0),
                           "industry": ind}
                          for k, y in enumerate(YEARS)
                          for f, cap, ratio, ind in ((1, 2_000.0, 10.0, "E28"), (2, 5_000.0, 0.0, "E24"))])
    fd = pd.DataFrame({"year": list(YEARS), "foreign_demand_di": [-3.0, 2.0, -8.0]})
    return est, firms, fd


def as_text_with_separators(values: pd.Series) -> pd.Series:
    return values.map(lambda v: f"{v:,.1f}").astype(object)


def test_the_hand_built_frame_has_two_centres_and_the_expected_members():
    est, firms, _ = hand_built()
    c = spatial.build_catchments(est, firms)
    assert sorted(c.centres["centre_id"].unique()) == [1, 2]
    members = c.members.groupby("centre_id")["establishment_id"].unique().map(sorted)
    assert members.loc[1] == [11, 12, 13] and members.loc[2] == [14, 15]
    area = c.areas.set_index(["centre_id", "year"])
    expected = est.loc[est["establishment_id"].isin([11, 12, 13]) & (est["year"] == 2014), "exports"].sum()
    assert area.loc[(1, 2014), "exports"] == pytest.approx(expected)
    # the controls the spillover cannot move
    in_b = est.loc[est["establishment_id"].isin([14, 15]) & (est["year"] == 2015)]
    assert area.loc[(2, 2015), "domestic_shipments"] == pytest.approx((in_b["shipments"] - in_b["exports"]).sum())
    assert area.loc[(2, 2015), "non_exporter_shipments"] == pytest.approx(
        in_b.loc[in_b["establishment_id"] == 15, "shipments"].sum())


@pytest.mark.parametrize("column", ["shipments", "exports", "employees", "latitude"])
def test_numbers_stored_as_text_with_thousands_separators_are_read_with_a_warning(column):
    est, firms, _ = hand_built()
    reference = spatial.build_catchments(est, firms)
    text = est.copy()
    text[column] = as_text_with_separators(est[column]) if column != "latitude" else est[column].map(str)
    with pytest.warns(SpatialInputWarning, match=rf"column '{column}' holds numbers stored as text in "
                                                 rf"{len(est)} row\(s\) \(rows 0, 1, 2"):
        got = spatial.build_catchments(text, firms)
    pd.testing.assert_frame_equal(got.areas, reference.areas)
    if column == "shipments":
        with pytest.warns(SpatialInputWarning, match=r"thousands separators \(e\.g\. '12,120\.0'\)"):
            spatial.build_catchments(text, firms)


def test_numbers_in_an_object_column_are_not_text():
    est, firms, _ = hand_built()
    boxed = est.assign(exports=est["exports"].astype(object))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = spatial.build_catchments(boxed, firms)
    pd.testing.assert_frame_equal(got.areas, spatial.build_catchments(est, firms).areas)


def test_capital_as_text_with_separators_keeps_every_centre():
    """The old path read "2,000" as missing: the global firm vanished and its plants were no centres."""
    est, firms, _ = hand_built()
    text = firms.assign(paid_in_capital=as_text_with_separators(firms["paid_in_capital"]))
    with pytest.warns(SpatialInputWarning, match=r"firms: column 'paid_in_capital' .* 6 row\(s\)"):
        c = spatial.build_catchments(est, text)
    assert sorted(c.centres["centre_id"].unique()) == [1, 2]
    assert len(c.centres) == 2 * len(YEARS)


def test_text_that_is_not_a_number_is_refused_naming_the_rows():
    est, firms, _ = hand_built()
    bad = est.assign(shipments=est["shipments"].astype(object))
    bad.loc[[4, 7], "shipments"] = ["1.234.5", "n/a"]
    with pytest.raises(SpatialInputError, match=r"'shipments' holds 2 value\(s\) that are not numbers \(rows 4, 7"):
        spatial.build_catchments(bad, firms)
    bad = firms.assign(**{OPR: firms[OPR].astype(object)})
    bad.loc[3, OPR] = "10%"
    with pytest.raises(SpatialInputError, match=r"firms: column 'overseas_production_ratio' .* \(rows 3, e\.g\. '10%'"):
        spatial.build_catchments(est, bad)


def test_all_zero_exports_are_refused_not_reported_as_zero_plus_minus_zero():
    est, firms, _ = hand_built()
    zero = est.assign(exports=0.0)
    receivers = est.index[~est["firm_id"].isin([1, 2])]
    with pytest.raises(SpatialInputError, match=rf"'exports' is 0 in every one of the {len(receivers)} "
                                                rf"establishment-years .* \(rows {receivers[0]}, {receivers[1]}"):
        spatial.build_catchments(zero, firms)
    # exports only in areas' constant part: fit_spillover refuses a dependent variable with no change
    flat = est.copy()
    flat.loc[flat["establishment_id"].isin([11, 12, 13, 14, 15]), "exports"] = 0.0
    c = spatial.build_catchments(flat, firms)  # establishment 16 exports, outside every catchment
    with pytest.raises(SpatialInputError, match="never change within an area"):
        spatial.fit_spillover(c, hand_built()[2])


def test_firm_ids_reused_across_industries_are_refused_or_flagged():
    est, firms, _ = hand_built()
    # the same id for two firms of different industries in the same year
    reused = pd.concat([firms, pd.DataFrame([{"firm_id": 1, "year": 2015, "paid_in_capital": 50.0, OPR: 0.0,
                                              "industry": "E09"}])], ignore_index=True)
    with pytest.raises(SpatialInputError, match=r"1 'firm_id' value\(s\) stand for firms of different 'industry' "
                                                r"in the same year \(ids 1; rows 2, 6\)"):
        spatial.build_catchments(est, reused)
    # an id whose industry changes between years: a warning naming the id and the rows
    moved = firms.copy()
    moved.loc[(moved["firm_id"] == 2) & (moved["year"] == 2016), "industry"] = "E09"
    with pytest.warns(SpatialInputWarning, match=r"1 'firm_id' value\(s\) change 'industry' between years "
                                                 r"\(ids 2; rows 1, 3, 5\)"):
        spatial.build_catchments(est, moved)
    # without an industry column, or with the check off, nothing is said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spatial.build_catchments(est, moved, check_industries=False)
        spatial.build_catchments(est, firms.drop(columns="industry"))


def test_ids_of_different_types_in_the_two_tables_are_refused():
    est, firms, _ = hand_built()
    with pytest.raises(SpatialInputError, match=r"'firm_id' is (object|str) in establishments but int64 in firms"):
        spatial.build_catchments(est.assign(firm_id=est["firm_id"].astype(str)), firms)


def test_nan_and_negative_values_and_exports_above_shipments():
    est, firms, _ = hand_built()
    bad = est.copy()
    bad.loc[[5, 14], "longitude"] = np.nan
    with pytest.raises(SpatialInputError,
                       match=r"2 establishment-year\(s\) \(1 establishment\(s\)\) have no .* \(rows 5, 14\)"):
        spatial.build_catchments(bad, firms)
    c = spatial.build_catchments(bad, firms, missing_coordinates="drop")
    assert c.drops.set_index("step").loc["establishment-years without coordinates", "count"] == 2
    bad = est.copy()
    bad.loc[8, "shipments"] = -999.0  # a code for "missing" read as a number
    with pytest.raises(SpatialInputError, match=r"'shipments' is negative in 1 row\(s\) \(rows 8\)"):
        spatial.build_catchments(bad, firms)
    bad = est.copy()
    bad.loc[[3, 12], "exports"] = bad.loc[[3, 12], "shipments"] * 2
    with pytest.warns(SpatialInputWarning, match=r"'exports' exceeds 'shipments' in 2 row\(s\) \(rows 3, 12\)"):
        spatial.build_catchments(bad, firms)
    bad = est.assign(year=est["year"].astype(float))
    bad.loc[2, "year"] = 2014.5
    with pytest.raises(SpatialInputError, match=r"'year' is missing or not a whole year in 1 row\(s\) \(rows 2\)"):
        spatial.build_catchments(bad, firms)


def test_fit_spillover_controls_and_errors_on_the_hand_built_frame():
    est, firms, fd = hand_built()
    c = spatial.build_catchments(est, firms)
    lagged = spatial.fit_spillover(c, fd, control="lagged_shipments")
    # two centres × (3 years − the first)
    assert lagged.counts["observations"] == 4 and lagged.counts["area_years_without_previous_year"] == 2
    area = c.areas.set_index(["centre_id", "year"])["shipments"]
    assert lagged.data.loc[(1, 2016), "lagged_shipments"] == pytest.approx(area.loc[(1, 2015)])
    firm = spatial.fit_spillover(c, fd, cluster="firm")
    assert firm.counts["clusters"] == 1  # both centres belong to firm 1
    assert any("Only 1 clusters" in n for n in firm.notes)
    dk = spatial.fit_spillover(c, fd, cluster="driscoll_kraay")
    assert dk.counts["clusters"] == len(YEARS)
    assert "rests on 3 yearly values" in dk.summary() and "Driscoll–Kraay" in dk.summary()
    with pytest.raises(ValueError, match="control="):
        spatial.fit_spillover(c, fd, control="sales")
    with pytest.raises(ValueError, match="cluster="):
        spatial.fit_spillover(c, fd, cluster="county")
