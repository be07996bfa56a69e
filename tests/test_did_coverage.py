"""A small version of benchmarks/did_coverage.py: the matched DiD's 95 % intervals cover the truth.

12 replications of the tiny world × 25 cells (5 outcomes × 5 groups) = 300
intervals. If the intervals had their nominal 95 % coverage, the pooled share
would have a binomial standard error of about 0.013 (larger in fact, since
the cells of one world share its firms); the benchmark (200 replications,
SEs clustered by firm and pair, small-sample factor G/(G − 1)) finds
0.940–0.965 per outcome for the white paper's design. The thresholds — 0.85 pooled, 0.7 per
outcome (60 intervals each, standard error about 0.03) — sit four to seven
standard errors below that, so the test fails only if the intervals are
badly off, never by chance; an upper bound of 0.995 catches intervals so
wide that they almost never miss (at 0.95, 300 hits in a row have
probability 2·10⁻⁷).
"""

from __future__ import annotations

from kaigai_lib.whitepaper import coverage


def test_intervals_cover_the_truth_in_a_small_study() -> None:
    cells = coverage.coverage_study(range(12))
    assert len(cells) == 12 * 25
    assert cells["estimate"].notna().mean() > 0.95  # a tiny world leaves at most a few cells without an estimate
    summary = coverage.coverage_summary(cells)
    pooled = cells["covered"].mean()
    assert 0.85 <= pooled <= 0.995, summary
    assert (summary["coverage"] >= 0.7).all(), summary
    # no outcome is biased by more than one standard error on average
    assert (summary["mean_z"].abs() < 1).all(), summary
