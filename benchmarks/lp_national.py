"""Levinsohn–Petrin with a 100-replication firm-block bootstrap on the national world's manufacturers.

Run: ``.venv/bin/python benchmarks/lp_national.py [--replications 100]``.
Prints the time of the estimate (by industry, one call) and the peak memory.
The issue's target is under 2 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from kaigai_lib.estimators import tfp
from kaigai_lib.world.synthetic import generate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    world = generate(preset="national", seed=args.seed)
    firms = world.firms.loc[world.firms["manufacturing"]]
    data = tfp.log_columns(firms, ["value_added", "employees", "capital_stock", "intermediate_inputs"])
    start = time.perf_counter()
    result = tfp.levinsohn_petrin(
        data, output="log_value_added", free="log_employees", state="log_capital_stock",
        proxy="log_intermediate_inputs", unit="firm_id", time="year", by="industry",
        bootstrap=args.replications, seed=args.seed, progress=False)
    seconds = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    truth = world.truth.production.set_index("industry")
    print(f"LP by industry, {args.replications} bootstrap replications, national world (seed {args.seed})")
    print(f"  manufacturing firm-years : {len(data):,} ({data['firm_id'].nunique():,} firms, "
          f"{data['industry'].nunique()} industries)")
    print(f"  wall time                : {seconds:6.1f} s   (target < 120 s)")
    print(f"  peak memory (RSS)        : {peak_gb:6.2f} GB (whole process, including the world)")
    table = result.coef.join(result.std_error.add_suffix("_se")).join(truth[["beta_labour", "beta_capital"]])
    print(table.round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
