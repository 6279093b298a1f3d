"""`sf-benefits ssda903 validate|load|project` end to end on a temporary store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from sf_benefits.cli.main import app
from sf_benefits.ingest.ssda903.load import new_key
from tests.project.projection_fixtures import complete_overrides

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SF_BENEFITS_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("SF_BENEFITS_DATABASE_URL", raising=False)
    monkeypatch.setenv("SF_BENEFITS_PSEUDONYM_KEY", new_key())
    return tmp_path


def test_validate_good_and_bad_returns(return_files: list[Path], cli_env: Path) -> None:
    good = runner.invoke(app, ["ssda903", "validate", "--no-dfe", *map(str, return_files)],
                         env=WIDE)
    assert good.exit_code == 0, good.output
    assert "no problems" in good.output
    bad_dir = cli_env / "bad" / "2023"
    bad_dir.mkdir(parents=True)
    files = []
    for source in return_files[2:]:
        shutil.copy(source, bad_dir / source.name)
        files.append(bad_dir / source.name)
    frame = pd.read_csv(files[1], dtype=str, keep_default_na=False)
    frame.loc[0, "LS"] = "Q1"
    frame.to_csv(files[1], index=False)
    bad = runner.invoke(app, ["ssda903", "validate", "--no-dfe", *map(str, files)], env=WIDE)
    assert bad.exit_code == 1
    assert "144" in bad.output and "legal status 'Q1'" in bad.output


def test_load_needs_a_key(return_files: list[Path], cli_env: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SF_BENEFITS_PSEUDONYM_KEY")
    result = runner.invoke(app, ["ssda903", "load", "--la", "E10000015",
                                 *map(str, return_files)], env=WIDE)
    assert result.exit_code == 1
    assert "SF_BENEFITS_PSEUDONYM_KEY" in result.output


def test_load_then_project(return_files: list[Path], cli_env: Path) -> None:
    loaded = runner.invoke(app, ["ssda903", "load", "--la", "E10000015",
                                 *map(str, return_files)], env=WIDE)
    assert loaded.exit_code == 0, loaded.output
    assert "Loaded" in loaded.output and "2022, 2023" in loaded.output
    output = cli_env / "projection.csv"
    projected = runner.invoke(app, ["ssda903", "project", "--la", "E10000015", "--years", "2",
                                    "--draws", "40", "--seed", "1", "--output", str(output)],
                              env=WIDE)
    assert projected.exit_code == 0, projected.output
    assert "Children looked after at 31 March" in projected.output
    assert "2025" in projected.output and "foster" in projected.output
    exported = pd.read_csv(output, dtype=str)
    assert set(exported.columns) >= {"date", "placement", "age_band", "mean", "lo-80", "hi-80"}
    numbers = pd.to_numeric(exported["mean"], errors="coerce")
    assert not numbers.between(1, 5, inclusive="both").any(), "counts 1-5 are suppressed"
    assert (exported["mean"] == "c").any()


def test_project_without_a_load(cli_env: Path) -> None:
    result = runner.invoke(app, ["ssda903", "project", "--la", "E09000001"], env=WIDE)
    assert result.exit_code == 1
    assert "no SSDA903 returns" in result.output


def test_rates_scenario_and_appraisal(return_files: list[Path], cli_env: Path) -> None:
    loaded = runner.invoke(app, ["ssda903", "load", "--la", "E10000015",
                                 *map(str, return_files)], env=WIDE)
    assert loaded.exit_code == 0, loaded.output
    rates = runner.invoke(app, ["ssda903", "rates", "--la", "E10000015", "--output",
                                str(cli_env / "rates.csv")], env=WIDE)
    assert rates.exit_code == 0, rates.output
    assert "Moves per child-year" in rates.output and "exit" in rates.output
    table = pd.read_csv(cli_env / "rates.csv", dtype=str)
    events = pd.to_numeric(table["events"], errors="coerce")
    assert not events.between(1, 5).any() and (table["events"] == "c").any()
    # a rate beside its child-years gives the count back
    assert table["rate_per_year"].where(table["events"] == "c").dropna().eq("c").all()
    assert (table["rate_per_year"] == "c").equals(table["events"] == "c")

    def all_2025(*extra: str) -> float:
        result = runner.invoke(app, ["ssda903", "project", "--la", "E10000015", "--years", "2",
                                     "--draws", "40", *extra], env=WIDE)
        assert result.exit_code == 0, result.output
        total = next(line for line in result.output.splitlines()
                     if line.strip("│ ").startswith("all "))
        return float(re.findall(r"(\d+) \(", total)[-1])

    assert all_2025("--entry-multiplier", "0.5") < all_2025() - 10

    defaults = runner.invoke(app, ["ssda903", "appraise", "--la", "E10000015", "--draws", "40"],
                             env=WIDE)
    assert defaults.exit_code == 0, defaults.output  # every assumption ships with a value
    assert "Net present value" in defaults.output
    assert "drivers not assessed" in defaults.output  # no sensitivity run: no 'no grade-D driver'
    assert "no grade-D driver" not in defaults.output
    overrides = cli_env / "overrides.yaml"
    overrides.write_text(yaml.safe_dump(complete_overrides("family_safeguarding", effect=0.2)))
    appraised = runner.invoke(app, ["ssda903", "appraise", "--la", "E10000015", "--years", "3",
                                    "--draws", "40", "--overrides", str(overrides)], env=WIDE)
    assert appraised.exit_code == 0, appraised.output
    assert "Net present value" in appraised.output and "Family Safeguarding" in appraised.output
    assert "£" in appraised.output


def _run(*args: str, modules: tuple[str, ...] = ("sqlalchemy", "alembic")
         ) -> tuple[list[str], list[int]]:
    """`sf-benefits ARGS` as installed, in its own process: which of the heavy `modules` it
    imported and the arguments it gave glibc's `mallopt`."""
    probe = ("import ctypes, json, sys\nfrom sf_benefits.cli import entry\ncalls = []\n"
             "class Libc:\n    def mallopt(self, *given):\n        calls.extend(given)\n"
             "ctypes.CDLL = lambda name: Libc()\n"
             f"sys.argv = ['sf-benefits', *{list(args)!r}]\n"
             "try:\n    entry.main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
             f"print(json.dumps([[m for m in {modules!r} if m in sys.modules], "
             "calls]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, env={**os.environ, "COLUMNS": "200"})
    modules, calls = json.loads(done.stdout.strip().splitlines()[-1])
    return modules, calls


def test_a_new_or_current_embedded_store_is_used_without_sqlalchemy(return_files: list[Path],
                                                                     cli_env: Path) -> None:
    files = list(map(str, return_files))
    assert _run("ssda903", "load", "--la", "E10000015", *files) == ([], [-8, 1])
    assert _run("ssda903", "load", "--la", "E10000015", *files) == ([], [-8, 1])
    assert _run("ssda903", "load", "--la", "E10000015", *files,
                modules=("pandas", "pyarrow.compute")) == ([], [-8, 1])
    assert _run("ssda903", "project", "--la", "E10000015", "--draws", "20") == ([], [])


def test_a_projection_from_the_embedded_store_imports_neither_pandas_nor_sqlalchemy(
        return_files: list[Path], cli_env: Path) -> None:
    runner.invoke(app, ["ssda903", "load", "--la", "E10000015", *map(str, return_files)])
    heavy = ("pandas", "sqlalchemy", "alembic", "scipy", "pydantic")
    modules, _ = _run("ssda903", "project", "--la", "E10000015", "--draws", "20",
                      modules=heavy)
    assert modules == [], "typer 0.29 and later parse every option through pydantic"
    exported, _ = _run("ssda903", "project", "--la", "E10000015", "--draws", "20",
                       "--output", str(cli_env / "projection.csv"), modules=heavy)
    assert "pandas" in exported and "sqlalchemy" not in exported
