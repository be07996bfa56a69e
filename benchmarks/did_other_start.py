"""How much the other start's *estimated* effects add to the error of the export DiD that subtracts them.

Run: ``.venv/bin/python benchmarks/did_other_start.py [--preset national] [--seed 20262301] [--draws 99]``.

``white_paper_did(..., other_start=fdi)`` subtracts FDI's estimated effects (``fdi.effect_path``) from every
matched firm that starts FDI, and its bootstrap treats them as known. Here the FDI path is redrawn from FDI's own
bootstrap of its recursion (the same pairs-of-clusters draws, log points), the export changes are cleared with
each draw and the export recursion (``_adjust_later_starts``) re-run: the spread of the export estimate over those
draws is the error the known-effects bootstrap leaves out. Printed per group × outcome at every horizon, beside
the export bootstrap's own standard error (log points ×100, robust design, later starts adjusted). The two
sources are nearly independent (different starters), so the full error is about
``sqrt(se² + spread²)``: the last column is that inflation.

Measured (national, seed 20262301, 99 draws; 100 s): the spread over the FDI draws is 0.6–3.0 % of the export
bootstrap's standard error (median 1.3 %) in the 75 cells (5 outcomes × 3 groups × t+1 … t+5), so the known-effects
bootstrap understates the error by at most 0.05 % (median 0.01 %). Tiny seed 3 (20 draws): median 5.3 %, largest
8.4 %; at most 0.35 %.
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd

from kaigai_lib import generate
from kaigai_lib.whitepaper import did_design


def _recorded_run(world, analysis: str, **options) -> tuple[did_design.WhitePaperDid, dict]:
    """white_paper_did with what it hands to its bootstrap kept (complete changes, sample, draws of pairs)."""
    seen: dict = {}
    original = did_design._adjusted_bootstrap

    def record(raw, sample, scale, draws):
        seen.update(raw=raw, sample=sample, draws=draws)
        return original(raw, sample, scale, draws)

    did_design._adjusted_bootstrap = record
    try:
        wp = did_design.white_paper_did(world, analysis, design="robust", later_starts="adjust", scale="log",
                                        **options)
    finally:
        did_design._adjusted_bootstrap = original
    return wp, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="national")
    parser.add_argument("--seed", type=int, default=20262301)
    parser.add_argument("--draws", type=int, default=99)
    args = parser.parse_args()

    started = time.perf_counter()
    world = generate(args.preset, seed=args.seed)
    fdi, fdi_seen = _recorded_run(world, "fdi", horizons=list(range(1, 11)))
    # log scale: each bootstrap draw of FDI's estimates is a draw of its effect path τ̂(0 … 10)
    fdi_draws = did_design._adjusted_bootstrap(fdi_seen["raw"], fdi_seen["sample"], "log", fdi_seen["draws"])
    counts = fdi.effect_path.set_index(["outcome", "group", "event_year"])["pairs"]
    export, seen = _recorded_run(world, "export", other_start=fdi)
    raw = seen["raw"]
    uncleared = raw.table.assign(change_log=raw.table["change_log"] + raw.table["other_start_cleared"])
    uncleared = did_design._subset(raw, uncleared.drop(columns="other_start_cleared"))

    keys = ["outcome", "group", "horizon"]
    estimates = []
    for draw in range(1, args.draws + 1):
        path = fdi_draws.loc[fdi_draws["draw"] == draw].rename(columns={"horizon": "event_year",
                                                                         "estimate": "effect_log"})
        path = path.assign(pairs=counts.reindex(pd.MultiIndex.from_frame(
            path[["outcome", "group", "event_year"]])).to_numpy())
        cleared = did_design.clear_other_start(uncleared, world.firms,
                                               SimpleNamespace(analysis="fdi", effect_path=path))
        _, effects = did_design._adjust_later_starts(cleared, seen["sample"])
        estimates.append(effects.rename(columns={"event_year": "horizon"}).assign(draw=draw))
    spread = pd.concat(estimates).groupby(keys)["effect_log"].std(ddof=1).rename("spread")
    table = export.result.table.loc[export.result.table["horizon"] >= 1].set_index(keys)[["estimate", "std_error"]]
    table = table.join(spread) * 100
    table["ratio"] = table["spread"] / table["std_error"]
    table["se_inflation_pct"] = 100 * (np.sqrt(1 + table["ratio"] ** 2) - 1)
    pd.set_option("display.width", 160)
    print(f"exports cleared of FDI's estimated effects, {args.preset} seed {args.seed}, {args.draws} draws of the "
          "FDI path; log points ×100")
    print(table.round(3).to_string())
    print(f"\nratio spread / se: median {table['ratio'].median():.3f}, largest {table['ratio'].max():.3f}; "
          f"SE inflation: median {table['se_inflation_pct'].median():.2f} %, largest "
          f"{table['se_inflation_pct'].max():.2f} %  ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
