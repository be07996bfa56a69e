"""One engine for many independent, CPU-bound tasks: serial, worker processes, or Dask.

``run_all(task, items, engine=…)`` yields ``task(*item)`` for every item as the results arrive. Used by
``kaigai course make`` (one task per trainee); any study made of independent replications (e.g. a coverage
study, one task per seed) can use it the same way, and so runs on a Dask cluster with ``scheduler=``.
Tasks must be module-level functions of picklable arguments, and must not write files themselves: they return
their results and the caller writes them (all-or-nothing, through :mod:`kaigai_lib.outputs`).
"""

from __future__ import annotations

import os
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
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # fork: workers start with the library already imported (seconds saved per worker); the main
        # process runs no threads of its own at this point
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_worker_signals)
        try:
            futures = [pool.submit(task, *item) for item in items]
            for future in as_completed(futures):
                yield future.result()
        except BaseException:  # Ctrl-C, SIGTERM, an error, or the caller stopped: stop now, not after the
            # running tasks (shutdown() would wait for them); _processes is the only handle on the workers
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
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
    """Workers leave SIGINT/SIGTERM/SIGHUP to the parent, which cancels them and removes the staging folder."""
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
