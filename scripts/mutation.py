"""Mutation testing (mutmut) of the engines' arithmetic: how many small deliberate changes to the
code the tests fail to notice. Slow, so it is run by hand, not in CI.

    .venv/bin/python scripts/mutation.py                          # project, track, benchmark, disclosure
    .venv/bin/python scripts/mutation.py track/counterfactual.py --minutes 20
    .venv/bin/python scripts/mutation.py benchmark --only '*neighbours*'

Each scope (a package or module under src/sf_benefits) is mutated in its own copy of the repo
under --workdir, against the tests that mirror it (tests/<package>). A run stopped by its time
budget keeps what it checked and resumes from there next time. Prints, per scope, the mutants
killed, survived, untested and not yet checked, and the surviving rate (survived / checked);
the survivors are listed in <workdir>/<scope>/survivors.txt (`mutmut show NAME` there shows one).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "sf_benefits"
DEFAULT_SCOPES = ("project", "track", "benchmark", "disclosure.py")
DESELECT = "not shared_data and not postgres and not browser and not slow"


def tests_for(scope: str) -> str:
    """The tests mirroring a scope: tests/<package> for a package or a module in it."""
    parts = Path(scope).parts
    if len(parts) == 1 and scope.endswith(".py"):
        return f"tests/test_{scope}"
    return "tests/" + "/".join(parts[:-1] if scope.endswith(".py") else parts)


def prepare(scope: str, folder: Path, fresh: bool) -> None:
    """A copy of src, tests and pyproject.toml with mutmut's settings for this scope."""
    if fresh and folder.exists():
        shutil.rmtree(folder)
    if (folder / "pyproject.toml").exists():
        return
    folder.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("src", "tests"):
        shutil.copytree(ROOT / name, folder / name, ignore=ignore)
    target = f"src/sf_benefits/{scope}" + ("" if scope.endswith(".py") else "/*")
    settings = {
        "source_paths": ["src"],
        "only_mutate": [target],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q"],
        "pytest_add_cli_args_test_selection": [tests_for(scope), "-m", DESELECT],
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (folder / "pyproject.toml").write_text(text + "\n".join(lines) + "\n", encoding="utf-8")


def mutmut(folder: Path, *args: str, minutes: float | None = None) -> str:
    """Run mutmut in `folder`; a run over its time budget is stopped (its results are kept)."""
    command = [str(Path(sys.executable).with_name("mutmut")), *args]
    env = {**os.environ, "CI": ""}
    with subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env, start_new_session=True) as process:
        try:
            output, _ = process.communicate(timeout=None if minutes is None else minutes * 60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            output, _ = process.communicate()
            output += f"\n(stopped after its budget of {minutes} minutes)\n"
    return output


def summarise(scope: str, folder: Path) -> dict[str, int]:
    """Count mutants by status and write the survivors' names."""
    counts: dict[str, int] = {}
    survivors = []
    for line in mutmut(folder, "results", "--all", "true").splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        counts[status] = counts.get(status, 0) + 1
        if status == "survived":
            survivors.append(name)
    (folder / "survivors.txt").write_text("".join(f"{s}\n" for s in survivors), encoding="utf-8")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scopes", nargs="*", default=list(DEFAULT_SCOPES),
                        help="packages or modules under src/sf_benefits (default: %(default)s)")
    parser.add_argument("--minutes", type=float, help="time budget per scope (default: none)")
    parser.add_argument("--only", help="mutant names to run, e.g. '*_placebo_interval*'")
    parser.add_argument("--workers", type=int, default=1, help="parallel mutants (default 1)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sf-benefits-mutation"))
    parser.add_argument("--fresh", action="store_true", help="discard earlier results")
    args = parser.parse_args()
    print(f"{'scope':<34}{'mutants':>8}{'killed':>8}{'survived':>9}{'untested':>9}"
          f"{'unchecked':>10}{'surviving':>10}")
    for scope in args.scopes:
        if not (PACKAGE / scope).exists():
            parser.error(f"no {scope} under {PACKAGE}")
        folder = args.workdir / scope.replace("/", "_")
        prepare(scope, folder, args.fresh)
        names = [f"sf_benefits.*{args.only}"] if args.only else []
        log = mutmut(folder, "run", "--max-children", str(args.workers), *names,
                     minutes=args.minutes)
        (folder / "run.log").write_text(log, encoding="utf-8")
        counts = summarise(scope, folder)
        killed = counts.get("killed", 0) + counts.get("timeout", 0)
        survived = counts.get("survived", 0) + counts.get("suspicious", 0)
        checked = killed + survived
        rate = f"{survived / checked:.0%}" if checked else "-"
        print(f"{scope:<34}{sum(counts.values()):>8}{killed:>8}{survived:>9}"
              f"{counts.get('no tests', 0):>9}{counts.get('not checked', 0):>10}{rate:>10}")


if __name__ == "__main__":
    main()
