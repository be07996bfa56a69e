"""Time to build the spillover catchments of the ``national`` world, against a straightforward pandas join.

Run: ``.venv/bin/python benchmarks/spatial_catchments.py [--seed 0] [--radius 5]``.

Both pipelines start from the same two tables (``world.establishments``,
about 185,000 establishments a year over 2012–2019, and ``world.firms``) and
end with the same areas: every global firm's plant-year, the receiving
establishments within the radius, and their summed exports and shipments.

* **kaigai** — ``kaigai_lib.estimators.spatial.build_catchments`` (input checks, firm
  links, one haversine ``BallTree`` per year) and ``Catchments.areas``.
* **straightforward join** — what one would write in plain pandas: merge the
  firm table, cut the map into grid cells at least one radius wide, join each
  centre with the receivers of its own and the eight neighbouring cells
  (same year), compute great-circle distances and keep those within the radius,
  then ``groupby`` the areas. (geopandas is not installed: the comparison
  uses pandas/numpy only.)

The run checks that both give the same membership (centre, year,
establishment) and the same area sums, prints both times and their ratio,
and the time of the search step alone. The issue's target: catchments built
in under 20 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import pandas as pd

from kaigai_lib.estimators import spatial
from kaigai_lib.world.synthetic import generate

LARGE = spatial.GLOBAL_FIRM_CAPITAL


def straightforward_join(establishments: pd.DataFrame, firms: pd.DataFrame,
                         radius_km: float) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Plain pandas: firm merge, grid-cell join with the 3×3 neighbouring cells, haversine filter, groupby."""
    firm_cols = ["firm_id", "year", "paid_in_capital", "overseas_production_ratio"]
    est = establishments.merge(firms[firm_cols], on=["firm_id", "year"], how="left")
    # a firm counts as large in every year if its capital reaches the threshold in the year or in its nearest year
    capital = firms.groupby("firm_id")["paid_in_capital"].agg(["min", "max"])
    large = est["firm_id"].map(capital["max"]) >= LARGE
    if not (capital["min"] == capital["max"]).all():
        raise RuntimeError("This benchmark's shortcut assumes fixed paid-in capital per firm (true in the world).")
    centres = est.loc[(est["paid_in_capital"] >= LARGE) & (est["overseas_production_ratio"] > 0),
                      ["establishment_id", "year", "latitude", "longitude"]].rename(
        columns={"establishment_id": "centre_id", "latitude": "c_lat", "longitude": "c_lon"})
    receivers = est.loc[~large, ["establishment_id", "year", "latitude", "longitude", "exports", "shipments"]]

    search_start = time.perf_counter()
    # cells at least radius_km wide everywhere in Japan (longitude degrees shrink towards the north)
    cell_lat = radius_km / spatial.KM_PER_DEGREE_LATITUDE
    cell_lon = radius_km / (spatial.KM_PER_DEGREE_LATITUDE * math.cos(math.radians(spatial.LATITUDE_RANGE[1])))
    receivers = receivers.assign(cy=np.floor(receivers["latitude"] / cell_lat).astype(np.int64),
                                 cx=np.floor(receivers["longitude"] / cell_lon).astype(np.int64))
    centres = centres.assign(cy=np.floor(centres["c_lat"] / cell_lat).astype(np.int64),
                             cx=np.floor(centres["c_lon"] / cell_lon).astype(np.int64))
    offsets = pd.DataFrame([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)], columns=["dy", "dx"])
    shifted = centres.merge(offsets, how="cross")
    shifted["cy"] += shifted.pop("dy")
    shifted["cx"] += shifted.pop("dx")
    candidates = shifted.merge(receivers, on=["year", "cy", "cx"])
    distance = spatial.haversine_km(candidates["c_lat"].to_numpy(), candidates["c_lon"].to_numpy(),
                                    candidates["latitude"].to_numpy(), candidates["longitude"].to_numpy())
    members = candidates.loc[distance <= radius_km, ["centre_id", "year", "establishment_id", "exports",
                                                     "shipments"]]
    search_seconds = time.perf_counter() - search_start
    areas = members.groupby(["centre_id", "year"], as_index=False)[["exports", "shipments"]].sum()
    return members[["centre_id", "year", "establishment_id"]], areas, search_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--radius", type=float, default=spatial.DEFAULT_RADIUS_KM)
    args = parser.parse_args()

    start = time.perf_counter()
    world = generate(preset="national", seed=args.seed)
    print(f"generate(preset='national', seed={args.seed}): {time.perf_counter() - start:.1f} s")
    est, firms = world.establishments, world.firms
    per_year = est.groupby("year").size()
    print(f"  establishments: {len(est):,} rows ({per_year.min():,}–{per_year.max():,} a year, "
          f"{est['year'].min()}–{est['year'].max()}); firms: {len(firms):,} rows")

    start = time.perf_counter()
    catchments = spatial.build_catchments(est, firms, radius_km=args.radius)
    areas = catchments.areas
    kaigai_seconds = time.perf_counter() - start
    pairs_start = time.perf_counter()
    spatial._find_pairs(catchments.sources, catchments.receivers, args.radius)
    kaigai_search = time.perf_counter() - pairs_start

    start = time.perf_counter()
    plain_members, plain_areas, plain_search = straightforward_join(est, firms, args.radius)
    plain_seconds = time.perf_counter() - start

    # same membership and the same area sums?
    ours = catchments.members[["centre_id", "year", "establishment_id"]]
    key = ["centre_id", "year", "establishment_id"]
    a = ours.sort_values(key).to_numpy()
    b = plain_members.sort_values(key).to_numpy()
    same_members = a.shape == b.shape and bool((a == b).all())
    merged = areas.merge(plain_areas, on=["centre_id", "year"], suffixes=("", "_plain"), how="outer",
                         indicator=True)
    same_areas = bool((merged["_merge"] == "both").all()
                      and np.allclose(merged["exports"], merged["exports_plain"])
                      and np.allclose(merged["shipments"], merged["shipments_plain"]))

    centres = catchments.centres
    print(f"catchments of {args.radius:g} km: {len(centres):,} centre-years ({centres['centre_id'].nunique():,} "
          f"plants), {len(ours):,} memberships, {len(areas):,} areas, overlap share {catchments.overlap_share:.1%}")
    print(f"  kaigai build_catchments + areas : {kaigai_seconds:6.2f} s   (target < 20 s; search alone "
          f"{kaigai_search:.2f} s)")
    print(f"  straightforward pandas join     : {plain_seconds:6.2f} s   (search alone {plain_search:.2f} s)")
    print(f"  ratio (straightforward / kaigai): {plain_seconds / kaigai_seconds:6.1f}×  "
          f"(search alone {plain_search / kaigai_search:.1f}×)")
    print(f"  same membership: {same_members}; same area sums: {same_areas}")
    ok = same_members and same_areas and kaigai_seconds < 20
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
