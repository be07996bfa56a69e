"""The benchmarks keep running: each prints its figures on the smallest settings.

Nothing else calls the scripts in ``benchmarks/``, so a rename in the library (``EventChanges.id`` became
``unit``) broke ``did_later_starters.py`` unseen until a session ran it at national scale. Here every script
must at least start (``--help``), and each one that takes a world preset runs end to end on a ``tiny`` world
and prints the tables its docstring promises.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))

# script → (arguments for a run of a few seconds, text the output must contain)
SMALL_RUNS = {
    "did_later_starters.py": (["--preset", "tiny", "--seed", "3"], ["oracle", "adjust", "z (truth"]),
    "did_capital_bias.py": (["--preset", "tiny", "--seed", "3"], ["capital"]),
    "did_adjust_errors.py": (["--preset", "tiny", "--seed", "3"], ["bootstrap / regression", "controls adjusted"]),
    "did_capital_gap.py": (["--preset", "tiny", "--seeds", "3"], ["gap_t-1", "t statistic"]),
    "did_variance_sources.py": (["--preset", "tiny", "--seeds", "3"], ["error split", "state gaps", "coverage"]),
    "did_design_variants.py": (["--preset", "tiny", "--seeds", "3", "--variants", "robust", "gap"],
                               ["coverage", "change of mean z against robust"]),
    "did_other_start.py": (["--preset", "tiny", "--seed", "3", "--draws", "3"], ["ratio spread / se"]),
    "did_coverage.py": (["--replications", "1", "--designs", "robust", "robust+adjust", "robust+adjust+other"],
                        ["coverage", "mean z"]),
    "replicate_national.py": (["--preset", "tiny", "--seed", "3"], ["share"]),
    "spatial_controls.py": (["--preset", "tiny", "--seeds", "1"], ["control"]),
}


def _run(script: str, arguments: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *arguments], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600, check=False)


def test_every_benchmark_is_listed_or_starts() -> None:
    assert len(SCRIPTS) >= 10
    assert set(SMALL_RUNS) <= {p.name for p in SCRIPTS}, "a benchmark named here is gone: update SMALL_RUNS"


@pytest.mark.parametrize("script", [p.name for p in SCRIPTS])
def test_benchmark_starts(script: str, tmp_path: Path) -> None:
    run = _run(script, ["--help"], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "usage" in run.stdout.lower()


@pytest.mark.parametrize("script", sorted(SMALL_RUNS))
def test_benchmark_runs_on_a_tiny_world(script: str, tmp_path: Path) -> None:
    arguments, expected = SMALL_RUNS[script]
    run = _run(script, arguments, tmp_path)
    assert run.returncode == 0, f"{script} {' '.join(arguments)} failed:\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr
    for text in expected:
        assert text.lower() in run.stdout.lower(), f"{script}: no '{text}' in its output:\n{run.stdout[-2000:]}"
    assert list(tmp_path.iterdir()) == [], f"{script} wrote into its working directory: {list(tmp_path.iterdir())}"
