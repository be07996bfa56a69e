"""One engine for many independent, CPU-bound tasks: serial, worker processes, or Dask.

``run_all(task, items, engine=…)`` yields ``task(*item)`` for every item as the results arrive. Used by
``kaigai course make`` (one task per trainee); any study made of independent replications (e.g. a coverage
study, one task per seed) can use it the same way, and so runs on a Dask cluster with ``scheduler=``.
Tasks must be module-level functions of picklable arguments, and must not write files themselves: they return
their results and the caller writes them (all-or-nothing, through :mod:`kaigai_lib.data.outputs`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

ENGINES = ("processes", "serial", "dask")


def run_all(task: Callable[..., T], items: list[tuple[Any, ...]], *, engine: str = "processes",
            workers: int | None = None, scheduler: str | None = None) -> Iterator[T]:
    """Yield ``task(item)`` for every item as they finish: ``serial``, ``processes`` or ``dask``.

    ``dask`` connects to ``scheduler`` (an address such as ``tcp://host:8786``) or, without one, starts a
    local cluster of ``workers`` processes.
    """
    workers = workers or os.cpu_count() or 1
    if engine == "serial" or (engine == "processes" and (workers == 1 or len(items) <= 1)):
        for item in items:
            yield task(*item)
        return
    if engine == "processes":
        import multiprocessing

        # fork: workers start with the library already imported (seconds saved per worker).
        # multiprocessing.Pool rather than ProcessPoolExecutor: terminate() stops running tasks at once, where
        # the executor's shutdown waits for them (a Ctrl-C would then take as long as the slowest trainee).
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_signals)
        try:
            pending = [pool.apply_async(task, item) for item in items]
            while pending:
                # poll, sleeping between looks: a signal (Ctrl-C, SIGTERM) then lands in time.sleep, never
                # inside a lock's wait, whose interruption can leave the pool's threads deadlocked
                done = [result for result in pending if result.ready()]
                if not done:
                    time.sleep(0.05)
                    continue
                for result in done:
                    pending.remove(result)
                    yield result.get()
        except BaseException:  # Ctrl-C, SIGTERM, an error in a task, or the caller stopped early
            pool.terminate()
            pool.join()
            raise
        pool.close()
        pool.join()
        return
    if engine == "dask":
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError:
            raise ValueError("--engine dask needs the packages dask and distributed: python -m pip install "
                             "dask distributed (or use --engine processes)") from None

        cluster = None
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, ValueError, TypeError) as error:
                raise ValueError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler there ({error}); "
                                 "start one with `dask scheduler`, check the address (tcp://host:8786), or leave "
                                 "--scheduler out for a local cluster.") from None
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            futures = [client.submit(task, *item, pure=False) for item in items]
            for future in as_completed(futures):
                yield future.result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    raise ValueError(f"engine={engine!r}: choose serial, processes or dask")


def _worker_signals() -> None:
    """Ctrl-C and a hang-up reach the whole process group: workers leave them to the parent, which stops them
    (``terminate()``: SIGTERM, at its default action here, not the parent's handler inherited by fork)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
