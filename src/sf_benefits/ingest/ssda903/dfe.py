"""The full DfE SSDA903 rules, run by the sector's maintained validator `csc-validator-be-903`.

That package pins pandas < 2 and cannot share SF Benefits' environment, so it lives in its own
virtual environment (created on first use under the data directory) and runs in a subprocess on
temporary copies of the header, episodes and UASC tables; its findings come back as JSON and
become Problems naming file, row, column and DfE rule code. Rules that need tables not given are
skipped and rules that raise are reported as failed, never counted as passed. Nothing it sees is
kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import venv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sf_benefits import config
from sf_benefits.ingest.errors import Problem
from sf_benefits.ingest.ssda903.codes import EPISODE_COLUMNS, HEADER_COLUMNS
from sf_benefits.ingest.ssda903.read import EPISODES, FIRST_DATA_LINE, HEADER, UASC, read_tables

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


@dataclass
class DfeReport:
    """What the DfE rules found: problems, and per collection year the rules that ran, were
    skipped (they need tables not given) or failed (raised, so their result is unknown)."""

    problems: list[Problem] = field(default_factory=list)
    ran: dict[int, int] = field(default_factory=dict)
    skipped: dict[int, int] = field(default_factory=dict)
    failed: list[tuple[int, str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line: rules run, skipped and failed per year, and problems found."""
        years = ", ".join(f"{y}: {self.ran[y]} ran, {self.skipped.get(y, 0)} skipped "
                          f"(need other tables)" for y in sorted(self.ran))
        return (f"DfE rules ({years or 'no year could be checked'}): {len(self.problems)} "
                f"problems, {len(self.failed)} rules failed to run.")


def _table_names(by_year: dict[int, dict[str, Path]], year: int) -> dict[str, list[str]]:
    given = by_year.get(year, {})
    previous = by_year.get(year - 1, {})
    return {"this_year": [str(given[t]) for t in (HEADER, EPISODES, UASC) if t in given],
            "prev_year": [str(previous[t]) for t in (HEADER, EPISODES, UASC) if t in previous]
            if HEADER in previous and EPISODES in previous else []}


def dfe_validation(paths: Sequence[Path | str], la_code: str = "E10000015",
                   python: Path | None = None) -> DfeReport:
    """Every DfE rule broken by the header, episodes (and UASC) tables, per collection year
    (with the previous year's tables where given, for the year-on-year rules)."""
    tables, problems = read_tables([Path(p) for p in paths], all_columns=True)
    if problems:
        return DfeReport(problems)
    interpreter = python or validator_python()
    by_year: dict[int, dict[str, Path]] = {}
    originals: dict[tuple[int, str], Path] = {}
    columns = {HEADER: HEADER_COLUMNS, EPISODES: EPISODE_COLUMNS}
    headers = [t for t in tables if t.table == HEADER]
    report = DfeReport()
    with tempfile.TemporaryDirectory(prefix="sf-benefits-903-") as scratch:
        for table in tables:
            if table.table != EPISODES or table.year is None:
                continue
            header = next((h for h in headers if h.year == table.year), None)
            if header is None and len(headers) == 1:
                header = headers[0]
            if header is None:
                continue
            folder = Path(scratch) / str(table.year)
            folder.mkdir(exist_ok=True)
            by_year[table.year] = {}
            uasc = [t for t in tables if t.table == UASC and t.year == table.year]
            for kind, source, name in ((EPISODES, table, "Episodes"), (HEADER, header, "Header"),
                                       *((UASC, u, "UASC") for u in uasc[:1])):
                frame = (source.frame.reindex(columns=list(columns[kind]), fill_value="")
                         if kind in columns else source.frame)
                frame.to_csv(folder / f"{kind}.csv", index=False)
                by_year[table.year][kind] = folder / f"{kind}.csv"
                originals[(table.year, name)] = source.path
        for year in sorted(by_year):
            result = _run(interpreter, {
                "collection_year": str(year), "ruleset": ruleset_for(year), "la_code": la_code,
                **_table_names(by_year, year)})
            report.ran[year] = len(result.get("ran", []))
            report.skipped[year] = len(result.get("skipped", []))
            report.failed += [(year, str(f["code"]), str(f["error"]))
                              for f in result.get("failed_rules", [])]
            for issue in result["issues"]:
                fields = [str(f) for f in list(issue["fields"])]  # type: ignore[call-overload]
                report.problems.append(Problem(
                    str(originals[(year, str(issue["table"]))]),
                    int(str(issue["row"])) + FIRST_DATA_LINE,
                    ", ".join(fields) or None, f"DfE {issue['code']}",
                    f"child {issue['child']}: {issue['message']}"))
    return report
