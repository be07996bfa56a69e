"""The white paper's shipments control against controls the spillover cannot move, and SEs under each error type.

Run: ``.venv/bin/python benchmarks/spatial_controls.py [--preset book] [--seeds 8]``.

In 工業統計調査 (and in the world, ``shipments_include_exports=True``) an
establishment's shipments include its exports, so the white paper's control,
the area's shipments, moves with the spillover it should not absorb. For each
seed the script fits the white paper's design with every control of
``spatial.CONTROLS`` (centre effects, with and without year effects) and, on
the same draws with shipments that exclude exports, with the white paper's
control — the paired difference is the bad control's doing. It then fits the
ratio and the DI with shipments less exports as the control under every error
type of ``spatial.CLUSTERS`` and prints, across seeds, the mean estimate, its
spread, the mean standard error of each type and the share of 95 % intervals
that hold the truth. The world has a common yearly export shock
(``establishment_export_year_shock_sd``), which only year-block and
Driscoll–Kraay errors allow for.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from kaigai_lib.estimators import spatial
from kaigai_lib.world.synthetic import WorldParams, generate


def run(preset: str, seeds: range) -> tuple[pd.DataFrame, pd.DataFrame]:
    controls, errors = [], []
    for seed in seeds:
        world = generate(preset=preset, seed=seed)
        catchments = spatial.build_catchments(world.establishments, world.firms)
        same_draws = generate(preset=preset, seed=seed, shipments_include_exports=False)
        with warnings.catch_warnings():  # exports above shipments there: that world's shipments exclude them
            warnings.simplefilter("ignore", spatial.SpatialInputWarning)
            excluded = spatial.build_catchments(same_draws.establishments, same_draws.firms)
        for time_effects in (False, True):
            for control in spatial.CONTROLS:
                result = spatial.fit_spillover(catchments, world.foreign_demand, control=control,
                                               time_effects=time_effects, truth=world.truth)
                controls.append({"seed": seed, "year_effects": time_effects, "control": control,
                                 "estimate": result.coef(), "se": result.std_error()})
            paired = spatial.fit_spillover(excluded, same_draws.foreign_demand, time_effects=time_effects)
            controls.append({"seed": seed, "year_effects": time_effects,
                             "control": "shipments (same draws, shipments exclude exports)",
                             "estimate": paired.coef(), "se": paired.std_error()})
        for cluster in spatial.CLUSTERS:
            result = spatial.fit_spillover(catchments, world.foreign_demand, control=spatial.DOMESTIC_SHIPMENTS,
                                           cluster=cluster, truth=world.truth)
            table = result.tidy().set_index("term")
            for term in (spatial.OPR, spatial.DI):
                row = table.loc[term]
                errors.append({"seed": seed, "cluster": cluster, "term": term, "estimate": row["estimate"],
                               "se": row["std_error"], "covers": row["ci_low"] <= row["truth"] <= row["ci_high"]})
    return pd.DataFrame(controls), pd.DataFrame(errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="book")
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    start = time.perf_counter()
    controls, errors = run(args.preset, range(args.seeds))
    defaults = WorldParams()
    beta = defaults.spillover_opr_coefficient
    pd.set_option("display.width", 160)
    print(f"{args.preset} worlds, seeds 0–{args.seeds - 1}; true ratio coefficient {beta:g}, "
          f"DI {defaults.spillover_di_coefficient:g}")
    print("\nRatio coefficient by control (white paper's design; mean and s.d. across seeds, mean SE by centre):")
    summary = controls.groupby(["year_effects", "control"], sort=False).agg(
        mean=("estimate", "mean"), sd=("estimate", "std"), mean_se=("se", "mean"))
    summary["mean_bias"] = summary["mean"] - beta
    summary["mcse"] = summary["sd"] / np.sqrt(args.seeds)
    print(summary.round(2).to_string())
    wide = controls.pivot_table(index=["seed", "year_effects"], columns="control", values="estimate")
    drop = wide["shipments (same draws, shipments exclude exports)"] - wide["shipments"]
    print("\nPaired: same draws, shipments excluding minus including exports (the bad control's pull), by seed:")
    print(drop.unstack("year_effects").round(2).to_string())
    print(f"mean {drop.mean():.2f}, positive in {int((drop > 0).sum())} of {len(drop)}")
    print("\nStandard errors (control: shipments less exports, centre effects):")
    table = errors.groupby(["term", "cluster"], sort=False).agg(
        mean=("estimate", "mean"), sd_across_seeds=("estimate", "std"), mean_se=("se", "mean"),
        coverage=("covers", "mean"))
    print(table.round(3).to_string())
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
