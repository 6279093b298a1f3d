"""The full DfE SSDA903 rules, run by the sector's maintained validator `csc-validator-be-903`.

That package pins pandas < 2 and cannot share SF Benefits' environment, so it lives in its own
virtual environment (created on first use under the data directory) and runs in a subprocess on
temporary copies of the header and episodes tables; its findings come back as JSON and become
Problems naming file, row, column and DfE rule code. Nothing it sees is kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import venv
from collections.abc import Sequence
from pathlib import Path

from sf_benefits import config
from sf_benefits.ingest.errors import Problem
from sf_benefits.ingest.ssda903.codes import EPISODE_COLUMNS, HEADER_COLUMNS
from sf_benefits.ingest.ssda903.read import EPISODES, FIRST_DATA_LINE, HEADER, read_tables

VALIDATOR_REQUIREMENT = "csc-validator-be-903==0.1.17"
VALIDATOR_ENV = "SF_BENEFITS_DFE_VALIDATOR_PYTHON"
RUNNER = Path(__file__).with_name("dfe_runner.py")
RULESETS: dict[int, str] = {2023: "lac2022_23", 2024: "lac2023_24", 2025: "lac2024_25",
                            2026: "lac2025_26", 2027: "lac2026_27"}


class ValidatorUnavailable(RuntimeError):
    """The DfE validator environment could not be created or run."""


def ruleset_for(year: int) -> str:
    """The validator's rule set for a collection year (the nearest one outside its range)."""
    return RULESETS[min(max(year, min(RULESETS)), max(RULESETS))]


def validator_python(install: bool = True) -> Path:
    """Python of the validator's own environment, created and installed from PyPI if needed.

    SF_BENEFITS_DFE_VALIDATOR_PYTHON points at an existing interpreter instead.
    """
    override = os.environ.get(VALIDATOR_ENV)
    if override:
        return Path(override)
    home = config.data_dir() / "dfe-validator-903"
    python = home / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    marker = home / "installed.txt"
    if marker.is_file() and marker.read_text().strip() == VALIDATOR_REQUIREMENT:
        return python
    if not install:
        raise ValidatorUnavailable(f"the DfE validator is not installed in {home}")
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", VALIDATOR_REQUIREMENT],
                       check=True, capture_output=True, text=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        raise ValidatorUnavailable(f"could not install {VALIDATOR_REQUIREMENT}: {detail}") from error
    marker.write_text(VALIDATOR_REQUIREMENT)
    return python


def _run(python: Path, request: dict[str, object]) -> dict[str, list[dict[str, object]]]:
    try:
        done = subprocess.run([str(python), str(RUNNER), json.dumps(request)], check=True,
                              capture_output=True, text=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        raise ValidatorUnavailable(f"the DfE validator failed: {detail[-2000:]}") from error
    result: dict[str, list[dict[str, object]]] = json.loads(done.stdout)
    return result


def dfe_problems(paths: Sequence[Path | str], la_code: str = "E10000015",
                 python: Path | None = None) -> list[Problem]:
    """Every DfE rule broken by the header and episodes tables, per collection year (with the
    previous year's tables where given, for the year-on-year rules)."""
    tables, problems = read_tables([Path(p) for p in paths], all_columns=True)
    if problems:
        return problems
    interpreter = python or validator_python()
    by_year: dict[int, dict[str, Path]] = {}
    originals: dict[tuple[int, str], Path] = {}
    headers = [t for t in tables if t.table == HEADER]
    found: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="sf-benefits-903-") as scratch:
        for table in tables:
            if table.table != EPISODES or table.year is None:
                continue
            folder = Path(scratch) / str(table.year)
            folder.mkdir(exist_ok=True)
            episodes = table.frame.reindex(columns=list(EPISODE_COLUMNS), fill_value="")
            episodes.to_csv(folder / "episodes.csv", index=False)
            header = next((h for h in headers if h.year == table.year), None)
            if header is None and len(headers) == 1:
                header = headers[0]
            if header is None:
                continue
            header.frame.reindex(columns=list(HEADER_COLUMNS), fill_value="").to_csv(
                folder / "header.csv", index=False)
            by_year[table.year] = {EPISODES: folder / "episodes.csv",
                                   HEADER: folder / "header.csv"}
            originals[(table.year, "Episodes")] = table.path
            originals[(table.year, "Header")] = header.path
        for year, files in sorted(by_year.items()):
            previous = by_year.get(year - 1, {})
            result = _run(interpreter, {
                "collection_year": str(year), "ruleset": ruleset_for(year), "la_code": la_code,
                "this_year": [str(files[HEADER]), str(files[EPISODES])],
                "prev_year": [str(previous[HEADER]), str(previous[EPISODES])] if previous else [],
            })
            for issue in result["issues"]:
                fields = [str(f) for f in list(issue["fields"])]  # type: ignore[call-overload]
                found.append(Problem(
                    str(originals[(year, str(issue["table"]))]),
                    int(str(issue["row"])) + FIRST_DATA_LINE,
                    ", ".join(fields) or None, f"DfE {issue['code']}",
                    f"child {issue['child']}: {issue['message']}"))
    return found
