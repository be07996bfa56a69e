"""Coverage of the matched DiD's 95 % intervals over seeded replications of a small world.

Run: ``.venv/bin/python benchmarks/did_coverage.py [replications] [jobs]``
(defaults: 200 replications, 2 parallel jobs).

Each replication draws a fresh ``tiny`` world (1,500 firms a year,
1995–2020; establishments cut to 100, which the DiD does not use) with seed
``r``, and runs the white paper's whole pipeline through the public API,
``kaigai_lib.did.white_paper_did``: Levinsohn–Petrin TFP by industry, the
risk set, 1:1 propensity score matching within start year × industry (×
size class for exports), the percent change from t−1 to t+5 of employees,
sales, capital stock, TFP and compensation per employee, and one regression
per outcome × group with the white paper's controls and standard errors
clustered by firm. Groups: exports 50–99, 100–299, 300+ employees; FDI
manufacturing, non-manufacturing. The truth of each cell is the realised
percent-scale ATT of the matched starters in that regression
(``did.true_effects``).

Printed: one line per outcome, ``coverage <outcome> = 0.xxx`` (share of the
intervals, pooled over the five groups and all replications, that contain
the truth), then the same with its binomial standard error, the mean and
standard deviation of z = (estimate − truth) / SE by outcome and by group,
and the wall time. Nominal: 0.95; with 1,000 intervals per outcome the
binomial standard error is about 0.007, but the five groups of one world
share a sample, so the effective number is somewhat smaller.
"""

from __future__ import annotations

import sys
import time

import pandas as pd

from kaigai_lib import did


def main(replications: int = 200, jobs: int = 2) -> pd.DataFrame:
    start = time.perf_counter()
    cells = did.coverage_study(range(replications), n_jobs=jobs)
    elapsed = time.perf_counter() - start
    by_outcome = did.coverage_summary(cells, "outcome")
    for outcome, row in by_outcome.iterrows():
        print(f"coverage {outcome} = {row['coverage']:.3f}")
    pd.set_option("display.width", 160)
    print()
    print(f"{replications} replications of the 'tiny' world, horizon 5, percent scale; "
          f"{int(cells['estimate'].notna().sum())} intervals, {int(cells['estimate'].isna().sum())} cells "
          "without an estimate (too few firms)")
    print(by_outcome.round(3).to_string())
    print()
    print(did.coverage_summary(cells, ["analysis", "group"]).round(3).to_string())
    print()
    print(f"pooled coverage = {cells['covered'].mean():.3f}")
    print(f"time = {elapsed:.1f} s ({elapsed / replications:.2f} s per replication, {jobs} job(s))")
    return cells


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    j = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    main(n, j)
