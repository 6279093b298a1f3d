"""Benchmark reading the 2010-2017 releases and stitching the care series; prints time and memory.

Reads `history/` under SF_BENEFITS_SOURCE_DIR (default ../shared/data); stitches from the store
(SF_BENEFITS_DATABASE_URL or the embedded store) when it holds data.

    .venv/bin/python benchmarks/bench_history.py
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sf_benefits.ingest.history import read_history
from sf_benefits.store import Store
from sf_benefits.store.queries import care_series


def measure(label: str, work: Callable[[], Any]) -> Any:
    """Run `work` once, print its wall and CPU time (CPU is what counts on a shared machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = work()
    print(f"{label:<40} {time.perf_counter() - start:6.2f} s wall  "
          f"{time.process_time() - cpu:6.2f} s CPU")
    return result


def main() -> None:
    source = Path(os.environ.get("SF_BENEFITS_SOURCE_DIR", "../shared/data")) / "history"
    tables, skipped = measure("read_history (2010-2017 releases)", lambda: read_history(source))
    rows = sum(len(t.observations) for t in tables)
    print(f"  {len(tables)} tables, {rows:,} observations, {len(skipped)} files skipped")
    store = Store.open(None)
    try:
        one = measure("care_series, one LA (Warrington)", lambda: care_series(store, ["E06000007"]))
        if one.series.empty:
            print("  the store holds no data: run `sf-benefits data load` for the stitching figures")
            return
        every = measure("care_series, every LA", lambda: care_series(store))
        print(f"  {every.series['area_code'].nunique()} LAs, {len(every.series):,} values, "
              f"{len(every.comparisons):,} comparisons, {len(every.disagreements):,} disagreements")
    finally:
        store.close()
    print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
