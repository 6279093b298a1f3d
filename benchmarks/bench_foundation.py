"""Wall time and peak memory of the foundation as a user meets it: `sf-benefits data load` of all
the published files into a fresh embedded store, then `sf-benefits benchmark --la LA` (start-up
included), each a separate process measured like /usr/bin/time; then, in process, benchmarking
every LA from one read of the indicator tables. Uses ../shared/data (or --source).

    .venv/bin/python benchmarks/bench_foundation.py [--source DIR] [--la Warrington] [--repeat 3]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sf_benefits import config  # noqa: E402

CLI = Path(sys.executable).with_name("sf-benefits")
GOALS = {"data load": (5.0, 300), "benchmark": (1.0, None)}
"""Wall seconds and peak memory in MB (10^6 bytes), as issue 11 sets them."""


def tree_pss_kib(pid: int) -> int:
    """Proportional set size (KiB) of a process and every process under it: a data load parses
    in a forked process, whose pages shared with its parent count once between them."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def spawn(args: list[str], env: dict[str, str], sample_memory: bool) -> tuple[float, float, int]:
    """Run the CLI once as its own process: wall seconds, CPU seconds (user + system of it and its
    children) and, when sampled (every 20 ms, which slows it a little), its peak memory in KiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    pid = os.posix_spawn(str(CLI), [str(CLI), *args], env, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
    peak = 0
    while sample_memory:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        peak = max(peak, tree_pss_kib(pid))
        time.sleep(0.02)
    else:
        _, status = os.waitpid(pid, 0)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if os.waitstatus_to_exitcode(status) != 0:
        subprocess.run([str(CLI), *args], env=env, check=True)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, peak


def run(label: str, args: list[str], env: dict[str, str], repeat: int) -> None:
    """Time the CLI `repeat` times, then run it once more sampling its memory; print median wall
    and CPU time (which a busy machine inflates less than wall time), the first run's wall time
    (the first benchmark after a load reads the tables the load prepared) and the peak memory."""
    walls, cpus, _ = zip(*(spawn(args, env, sample_memory=False) for _ in range(repeat)),
                         strict=True)
    peak = spawn(args, env, sample_memory=True)[2] / 1024
    wall_goal, memory_goal = GOALS[label.split(" --")[0].split(" (")[0]]
    goal = f"goal < {wall_goal:g} s" + (f", < {memory_goal} MB" if memory_goal else "")
    print(f"{label:<38} {statistics.median(walls):7.2f} s (min {min(walls):.2f}, first "
          f"{walls[0]:.2f}, CPU "
          f"{statistics.median(cpus):.2f})   peak memory {peak * 1.048576:5.0f} MB "
          f"({peak:.1f} MiB, PSS of all its processes)   [{goal}]")


def python_loop_seconds() -> float:
    """Seconds for one core to add up 10^7 integers in a Python loop: a fixed yardstick, since
    the same commands run about twice as long on one of this workplace's machines as another."""
    start = time.perf_counter()
    total = 0
    for number in range(10**7):
        total += number
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=config.default_source_dir())
    parser.add_argument("--la", default="Warrington")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.source.is_dir():
        sys.exit(f"{args.source} is not a directory: pass --source DIR with the published files")
    # bytecode written first: a user's commands start from it after their first run, but this
    # machine sets PYTHONDONTWRITEBYTECODE, which would have every run compile the package again
    compileall.compile_dir(Path(config.__file__).parent, quiet=1)
    work = Path(tempfile.mkdtemp())
    env = {**os.environ, "SF_BENEFITS_DATA_DIR": str(work), "COLUMNS": "80"}
    print(f"CPUs {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (figures are only "
          "comparable on an otherwise idle machine)")
    print(f"machine speed: 10^7 additions in a Python loop take {python_loop_seconds():.2f} s "
          "(compare figures across machines by this)")
    run("data load (fresh store, all files)", ["data", "load", "--from", str(args.source)], env,
        args.repeat)
    run(f"benchmark --la {args.la}", ["benchmark", "--la", args.la], env, args.repeat)

    from sf_benefits.benchmark.authorities import authorities
    from sf_benefits.benchmark.catalogue import indicators
    from sf_benefits.benchmark.engine import benchmark_from_tables
    from sf_benefits.benchmark.tables import indicator_tables
    from sf_benefits.store import Store
    from sf_benefits.store.queries import local_authorities

    store = Store.open(f"sqlite:///{work / 'sf_benefits.sqlite'}")
    start = time.perf_counter()
    las = local_authorities(store)
    tables = indicator_tables(store, list(indicators().values()))
    current = las[las["last_year"] == las["last_year"].max()]
    every_la = authorities(las.to_dict("records"))
    for code in current["la_code"]:
        benchmark_from_tables(store, every_la, tables, code)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'benchmark every LA, in process':<38} {seconds:7.2f} s   ({len(current)} LAs × "
          f"{len(indicators())} indicators; peak RSS {peak:.1f} MiB)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
