"""Seconds per trainee to make a class: serial vs worker processes vs a local Dask cluster, 30 and 300 trainees.

    .venv/bin/python benchmarks/course_scale.py [--sizes 30 300] [--preset book] [--workers 2]

One question on the ``book`` preset (the shipped ``att-export-sales-small`` exercise: one world and its
hand-out files per trainee). Prints one line per engine and class size.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from kaigai_lib.exercises.classroom import make_course

ASSIGNMENT = """\
id: scale
title: Scale benchmark
deadline: 2030-01-01T00:00+00:00
questions:
  - {exercise: att-export-sales-small, points: 1}
"""


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 300])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engines", nargs="+", default=["serial", "processes", "dask"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "a.yml").write_text(ASSIGNMENT, encoding="utf-8")
        for size in args.sizes:
            roster = root / f"roster{size}.csv"
            roster.write_text("trainee_id\n" + "".join(f"t{i:05d}\n" for i in range(size)), encoding="utf-8")
            for engine in args.engines:
                load = os.getloadavg()[0]
                cpu_before = _cpu_seconds()
                started = time.perf_counter()
                made = make_course(root / "a.yml", roster, root / f"h-{engine}-{size}", root / f"k-{engine}-{size}",
                                   engine=engine, workers=args.workers)
                seconds = time.perf_counter() - started
                cpu = _cpu_seconds() - cpu_before  # this process and its finished worker processes (not Dask's)
                print(f"{size:>4} trainees  {engine:<9} ({args.workers} workers): {seconds:7.1f} s total, "
                      f"{seconds / made.trainees:.2f} s per trainee; CPU {cpu / made.trainees:.2f} s per trainee"
                      f"{' (+ Dask workers, not counted)' if engine == 'dask' else ''}; load average at start "
                      f"{load:.1f} on {os.cpu_count()} cores", flush=True)


if __name__ == "__main__":
    main()
