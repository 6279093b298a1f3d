"""Benchmark the national sweep: wall time and peak memory serially and on a local Dask cluster of
1, 2 and 4 workers, and the scaling that implies for a bigger cluster.

Reads every current LA's inputs and the panel of every LA's history (which the default demand
method learns from; sent to each worker once) from the store (SF_BENEFITS_DATABASE_URL or the
embedded store; load the real data first with `sf-benefits data load`), or with --returns a folder of SSDA903
returns (one sub-folder per LA; needs SF_BENEFITS_PSEUDONYM_KEY). Peak memory is the largest
resident memory of this process and its worker processes together, sampled every 0.1 s; CPU
seconds are theirs from the start of the sweep (after the cluster has started and imported).

    .venv/bin/python benchmarks/bench_sweep.py [--draws 10000] [--las N] [--workers 1,2,4]
        [--method M]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

from sf_benefits.project.defaults import DEFAULT_METHOD
from sf_benefits.project.inputs import projection_data
from sf_benefits.project.sweep import (
    MODELS,
    LAInput,
    SweepReport,
    SweepSettings,
    inputs_from_returns,
    inputs_from_store,
    run_sweep,
)
from sf_benefits.store import Store


class PeakMemory:
    """Largest resident memory of this process and its children together while running, and
    the CPU seconds they used since `mark()` (last reading of each process)."""

    def __init__(self) -> None:
        self.peak = 0
        self._cpu: dict[int, float] = {}
        self._before: dict[int, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        total = 0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
                times = process.cpu_times()
            except psutil.Error:
                continue
            with self._lock:
                self._cpu[process.pid] = times.user + times.system
        self.peak = max(self.peak, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.1)

    def mark(self) -> None:
        """Count CPU from now on (leaves out imports and cluster start)."""
        self._sample()
        with self._lock:
            self._before = dict(self._cpu)

    @property
    def cpu_seconds(self) -> tuple[float, float]:
        """CPU seconds of this process (client, scheduler, part files, totals) and of the
        worker processes (the appraisals)."""
        me = os.getpid()
        with self._lock:
            used = {pid: v - self._before.get(pid, 0.0) for pid, v in self._cpu.items()}
        return used.get(me, 0.0), sum(v for pid, v in used.items() if pid != me)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _warm() -> None:
    """Import what a task imports, so module loading counts as cluster start, not sweep."""
    import sf_benefits.project.demand  # noqa: F401
    import sf_benefits.project.sweep  # noqa: F401


def sweep_with(inputs: list[LAInput], settings: SweepSettings, panel: pd.DataFrame | None,
               workers: int | None) -> tuple[float, float, PeakMemory, SweepReport]:
    """Cluster start seconds, sweep seconds, memory and CPU, and the report of a full sweep into
    a fresh folder: in this process (workers None) or on a new local cluster."""
    out = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    memory = PeakMemory()
    try:
        with memory:
            if workers is None:
                memory.mark()
                begin = time.perf_counter()
                report = run_sweep(inputs, settings, out, panel=panel)
                return 0.0, time.perf_counter() - begin, memory, report
            from distributed import Client, LocalCluster

            begin = time.perf_counter()
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=":0") as cluster, Client(cluster) as client:
                client.run(_warm)
                memory.mark()
                started = time.perf_counter()
                report = run_sweep(inputs, settings, out, client=client, panel=panel)
                done = time.perf_counter()
        return started - begin, done - started, memory, report
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--las", type=int, default=None, help="Only the first N LAs")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--models", default="all")
    parser.add_argument("--method", default=DEFAULT_METHOD, help="Demand method (LA level)")
    parser.add_argument("--returns", type=Path, default=None,
                        help="Child level: a folder with one sub-folder of returns per LA")
    args = parser.parse_args()

    start = time.perf_counter()
    panel = None
    if args.returns is not None:
        from sf_benefits.ingest.ssda903.load import pseudonym_key, read_returns_by_la

        inputs = inputs_from_returns(read_returns_by_la(args.returns, pseudonym_key()))
    else:
        store = Store.open(os.environ.get("SF_BENEFITS_DATABASE_URL"))
        inputs = inputs_from_store(store)
        panel = projection_data(store).panel
        store.close()
    inputs = inputs[: args.las] if args.las else inputs
    models = MODELS if args.models == "all" else tuple(args.models.split(","))
    settings = SweepSettings(models=models, n_draws=args.draws, method=args.method)
    print(f"Inputs of {len(inputs)} LAs read in {time.perf_counter() - start:.1f} s; "
          f"{len(models)} model(s), {args.draws:,} draws, {settings.method} demand method; "
          f"{os.cpu_count()} CPU core(s)")

    rows: list[tuple[str, int | None, float, float]] = []
    cpu: dict[int, tuple[float, float]] = {}
    reference: SweepReport | None = None
    for workers in [None, *(int(w) for w in args.workers.split(","))]:
        label = "serial" if workers is None else f"{workers} worker(s)"
        start_up, wall, memory, report = sweep_with(inputs, settings, panel, workers)
        peak = memory.peak / 1e6
        own, workers_cpu = memory.cpu_seconds
        if workers is not None:
            cpu[workers] = (own, workers_cpu)
        ran = int((report.runs["status"] == "ok").sum()) if not report.runs.empty else 0
        print(f"{label:>12}: {wall:7.1f} s sweep wall (+ {start_up:4.1f} s cluster start), "
              f"{peak:6.0f} MB peak, CPU {own:5.0f} s here + {workers_cpu:5.0f} s in workers, "
              f"{ran} LA x model runs, {len(report.failed)} failed; load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        if reference is None:
            reference = report
        elif not report.results.equals(reference.results):
            print("  WARNING: results differ from the serial run")
        rows.append((label, workers, wall, peak))

    serial = rows[0][2]
    print("\nScaling (speed-up over serial; efficiency = speed-up / workers):")
    for label, workers, wall, _ in rows[1:]:
        assert workers is not None
        print(f"{label:>12}: x{serial / wall:.2f}, efficiency {serial / wall / workers:.0%}")
    if 1 in cpu:
        own, spread = cpu[1]
        print(f"\nWith 1 worker: {spread:.0f} CPU s in the worker (spreads over workers), "
              f"{own:.0f} CPU s in this process (does not: scheduling, part files, totals). "
              "Implied sweep wall time with one dedicated core per worker (CPU-bound, no "
              "contention; this machine is shared, so its wall times above are not):")
        for workers in (1, 2, 4, 8, 32, 128):
            print(f"{workers:>5} workers: {max(own, spread / workers):6.0f} to "
                  f"{own + spread / workers:6.0f} s")


if __name__ == "__main__":
    main()
