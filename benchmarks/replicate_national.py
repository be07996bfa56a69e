"""``kaigai generate --preset national`` then ``kaigai replicate``: time and peak memory per stage.

Run: ``.venv/bin/python benchmarks/replicate_national.py [--seed S] [--config replicate.toml]``.
Target (issue): end to end under 5 minutes and under 8 GB on a 2-core machine.
Also prints the share of effects.csv rows whose 95 % interval contains the truth, overall and per
analysis × group (the config chooses the DiD design, e.g. ``[analysis] did_design = "robust"`` and
``did_controls = "adjusted"``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from kaigai_lib.replication.cli import main as kaigai
from kaigai_lib.replication.replicate import _peak_rss_gb, replicate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="national")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", help="a replicate.toml (default: none, the white paper's design)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kaigai-bench-"))
    try:
        world, out = work / "world", work / "results"
        started = time.perf_counter()
        kaigai(["generate", "--preset", args.preset, "--seed", str(args.seed), "--out", str(world)])
        generate_seconds = time.perf_counter() - started
        generate_memory = _peak_rss_gb()
        run = replicate(world / "firms.parquet", world / "establishments.parquet", world / "foreign_demand.parquet",
                        out, config=args.config, progress=False)
        total = time.perf_counter() - started
        print(f"\n{'stage':<32} {'seconds':>8} {'peak GB':>8}")
        print(f"{'generate (' + args.preset + ')':<32} {generate_seconds:>8.1f} {generate_memory:>8.2f}")
        for stage, seconds in run.timings.items():
            print(f"{stage:<32} {seconds:>8.1f} {run.peak_memory_gb[stage]:>8.2f}")
        print(f"{'end to end (incl. reading, writing)':<32} {total:>8.1f} {_peak_rss_gb():>8.2f}"
              "   (target < 300 s, < 8 GB)")
        effects = pd.read_csv(out / "effects.csv")
        inside = (effects["ci_low"] <= effects["truth"]) & (effects["truth"] <= effects["ci_high"])
        print(f"effects.csv rows with the truth inside the 95% interval: {inside.mean():.3f} "
              f"({int(inside.sum())}/{len(effects)}; suppressed rows: {int(effects['suppressed'].sum())})")
        by_group = effects.assign(inside=inside).groupby(["analysis", "group"])["inside"].agg(["mean", "size"])
        print("per analysis × group (share inside, rows):")
        print(by_group.rename(columns={"mean": "share", "size": "rows"}).round(3).to_string())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
