"""Speed of ``propensity_match`` at several sizes, and against psmpy (a widely used Python matcher).

Run: ``.venv/bin/python benchmarks/matching_speed.py``.

Data: simulated firm-year rows with five continuous covariates and 26 years
× 9 industries of exact strata; about 1 % of rows are treated. Each size is
timed for the whole call (logit + matching) and, separately, for the
matching step alone. At 10,000 and 30,000 rows the same data are matched by
psmpy's ``kdtree_matched`` (after its ``logistic_ps``), 1:1 on the logit
without replacement and without strata (psmpy has none), next to ours on the
same task, and the ratio is printed. psmpy is a benchmark-only dependency.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from kaigai_lib.estimators import matching

COVARIATES = ["x1", "x2", "x3", "x4", "x5"]


def simulate(n_rows: int, n_treated: int | None = None, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, len(COVARIATES)))
    frame = pd.DataFrame(x, columns=COVARIATES)
    frame["year"] = rng.integers(1995, 2021, n_rows)
    frame["industry"] = rng.integers(0, 9, n_rows)
    frame["firm_id"] = rng.integers(0, max(n_rows // 20, 1), n_rows)
    index = x @ np.array([0.6, 0.4, 0.3, 0.0, -0.2])
    if n_treated is None:
        frame["treated"] = (rng.random(n_rows) < 1 / (1 + np.exp(-(index - 4.8)))).astype(int)
    else:  # exactly n_treated treated rows, chosen with probability rising in the index
        weights = np.exp(index)
        chosen = rng.choice(n_rows, size=n_treated, replace=False, p=weights / weights.sum())
        frame["treated"] = 0
        frame.loc[chosen, "treated"] = 1
    frame["id"] = np.arange(n_rows)
    return frame


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return time.perf_counter() - start, out


def ours(frame: pd.DataFrame, exact: list[str] | None) -> tuple[float, float, int]:
    """Whole call, matching step alone (whole call minus the logit fit), matched treated rows."""
    total, result = timed(matching.propensity_match, frame, "treated", COVARIATES, exact=exact, caliper=None)
    logit, _ = timed(matching._fit_logit, frame["treated"].to_numpy(), frame[COVARIATES])
    return total, max(total - logit, 0.0), result.counts["matched_treated"]


def psmpy_run(frame: pd.DataFrame) -> float:
    from psmpy import PsmPy

    data = frame[["id", "treated", *COVARIATES]]
    start = time.perf_counter()
    model = PsmPy(data, treatment="treated", indx="id", exclude=[])
    model.logistic_ps(balance=False)
    model.kdtree_matched(matcher="propensity_logit", replacement=False, caliper=None)
    return time.perf_counter() - start


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print("propensity_match speed (2-core machine; seconds)")
    print(f"{'rows':>9} {'treated':>8} {'strata':>7} {'total':>8} {'matching':>9} {'matched':>8}")
    cases = [(10_000, None, True), (30_000, None, True), (600_000, None, True), (606_000, 6_000, True)]
    for n_rows, n_treated, stratified in cases:
        frame = simulate(n_rows, n_treated)
        exact = ["year", "industry"] if stratified else None
        total, match_only, matched = ours(frame, exact)
        print(f"{n_rows:>9,} {int(frame['treated'].sum()):>8,} {'yes' if stratified else 'no':>7} "
              f"{total:>8.2f} {match_only:>9.2f} {matched:>8,}")
    print("\nSame task, no strata, 1:1 on the logit without replacement: kaigai vs psmpy")
    print(f"{'rows':>9} {'kaigai':>8} {'psmpy':>8} {'psmpy / kaigai':>15}")
    try:
        import psmpy  # noqa: F401
    except ImportError:
        print("psmpy is not installed (pip install psmpy): comparison skipped")
        return 0
    for n_rows in (10_000, 30_000):
        frame = simulate(n_rows)
        ours_total, _, _ = ours(frame, None)
        peer = psmpy_run(frame)
        print(f"{n_rows:>9,} {ours_total:>8.2f} {peer:>8.2f} {peer / ours_total:>15.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
