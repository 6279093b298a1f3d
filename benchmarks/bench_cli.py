"""Start-up of the command line: what each command imports (`python -X importtime`), its wall
and CPU time and its peak memory, each in a fresh process as a user would run it.

    .venv/bin/python benchmarks/bench_cli.py [--la Warrington] [--runs 5] [--database-url URL]

`benchmark --la` is measured on the store given (default: the embedded store) when it holds LAs.
Goals from issue 14: `--help` under 0.3 s, `benchmark --la X` on a loaded store under 1 s.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("pandas", "numpy", "sqlalchemy", "alembic", "matplotlib", "plotly", "scipy",
         "statsforecast", "statsmodels", "fastapi", "reportlab")
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def run_cli(args: list[str], importtime: bool = False) -> tuple[float, float, float, str]:
    """Run `sf-benefits ARGS` in a fresh interpreter: wall s, CPU s, peak RSS MiB, stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *(["-X", "importtime"] if importtime else []), "-c",
         "import sys; from sf_benefits.cli.main import app; sys.argv[0] = 'sf-benefits'; app()",
         *args], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"sf-benefits {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024, done.stderr


def import_report(stderr: str, top: int = 8) -> None:
    """Total import time, the heavy libraries loaded, and the slowest top-level imports."""
    rows = [(int(m[2]), len(m[3]), m[4]) for line in stderr.splitlines()
            if (m := IMPORT_LINE.match(line))]
    outer = [(us, name) for us, indent, name in rows if indent == 1]
    names = {name.split(".")[0] for _, _, name in rows}
    print(f"    imports: {sum(us for us, _ in outer) / 1e6:.3f} s in {len(rows)} modules; "
          f"heavy libraries: {', '.join(h for h in HEAVY if h in names) or 'none'}")
    for us, name in sorted(outer, reverse=True)[:top]:
        print(f"      {us / 1e6:7.3f} s  {name}")


def measure(label: str, args: list[str], runs: int) -> None:
    """Median wall and CPU time and the peak memory over `runs` fresh processes."""
    figures = [run_cli(args) for _ in range(runs)]
    wall = statistics.median(f[0] for f in figures)
    cpu = statistics.median(f[1] for f in figures)
    print(f"{label:<32} wall {wall:6.2f} s   CPU {cpu:6.2f} s   peak RSS "
          f"{max(f[2] for f in figures):6.1f} MiB   (median of {runs}; load average "
          f"{os.getloadavg()[0]:.1f})")
    import_report(run_cli(args, importtime=True)[3])


def store_has_las(database_url: str | None) -> bool:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from sf_benefits.store import Store
    from sf_benefits.store.queries import local_authorities

    store = Store.open(database_url)
    try:
        return not local_authorities(store).empty
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--la", default="Warrington")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    database = ["--database-url", options.database_url] if options.database_url else []
    measure("sf-benefits --help", ["--help"], options.runs)
    measure("sf-benefits benchmark --help", ["benchmark", "--help"], options.runs)
    if store_has_las(options.database_url):
        measure(f"sf-benefits benchmark --la {options.la}",
                ["benchmark", "--la", options.la, *database], options.runs)
    else:
        print("benchmark --la: the store holds no LAs (run `sf-benefits data load`); skipped")


if __name__ == "__main__":
    main()
