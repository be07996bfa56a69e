"""Time and peak memory of ``generate(preset="national")``.

Run: ``.venv/bin/python benchmarks/generate_national.py [--seed 0]``.
Prints wall time, peak resident memory of this process and the table sizes.
The issue's target is under 60 s and under 6 GB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from kaigai_lib.world.synthetic import generate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    world = generate(preset="national", seed=args.seed)
    seconds = time.perf_counter() - start
    # ru_maxrss is in kilobytes on Linux
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    firms_per_year = world.firms.groupby("year").size()
    est_per_year = world.establishments.groupby("year").size()
    print(f"generate(preset='national', seed={args.seed})")
    print(f"  wall time          : {seconds:6.1f} s   (target < 60 s)")
    print(f"  peak memory (RSS)  : {peak_gb:6.2f} GB  (target < 6 GB)")
    print(f"  firm rows          : {len(world.firms):,} ({firms_per_year.min():,}–{firms_per_year.max():,} a year, "
          f"{world.firms['year'].min()}–{world.firms['year'].max()})")
    print(f"  establishment rows : {len(world.establishments):,} "
          f"({est_per_year.min():,}–{est_per_year.max():,} a year, "
          f"{world.establishments['year'].min()}–{world.establishments['year'].max()})")
    print(f"  spillover centres  : {world.truth.spillover['n_centres']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
