"""Time and peak memory to load the published data into the embedded store and to benchmark
every LA. Uses ../shared/data when present, else an England-sized synthetic set (153 LAs).

    .venv/bin/python benchmarks/bench_foundation.py [--source DIR]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sf_benefits import config  # noqa: E402
from sf_benefits.benchmark.catalogue import indicators  # noqa: E402
from sf_benefits.benchmark.engine import benchmark_from_tables, indicator_tables  # noqa: E402
from sf_benefits.ingest.loader import load_directory  # noqa: E402
from sf_benefits.store import Store  # noqa: E402
from sf_benefits.store.queries import local_authorities  # noqa: E402

T = TypeVar("T")


def measure(label: str, work: Callable[[], T]) -> T:
    """Run `work`, printing wall time and the process's peak resident memory afterwards."""
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label:<45} {seconds:8.2f} s   peak RSS so far {peak:8.1f} MiB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=config.default_source_dir())
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    source = args.source
    if not source.is_dir():
        from tests.synthetic_dfe import write_dfe_directory

        print(f"{source} not present: using a synthetic England-sized data set (153 LAs)")
        source = write_dfe_directory(work / "dfe", extra_las=132)
    store = Store.open(f"sqlite:///{work / 'store.sqlite'}")
    report = measure("load all files (embedded store)", lambda: load_directory(store, source))
    print(f"  {report.observations:,} observations, {report.local_authorities} LAs")
    catalogue = list(indicators().values())
    def benchmark_all() -> int:
        las = local_authorities(store)
        tables = indicator_tables(store, catalogue)
        current = las[las["last_year"] == las["last_year"].max()]
        for code in current["la_code"]:
            benchmark_from_tables(store, las, tables, code)
        return len(current)

    count = measure("benchmark every LA, all indicators", benchmark_all)
    print(f"  {count} LAs × {len(catalogue)} indicators")


if __name__ == "__main__":
    main()
