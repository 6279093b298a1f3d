"""The DfE rule set through csc-validator-be-903 in its own environment."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from sf_benefits.ingest.ssda903.dfe import (
    ValidatorUnavailable,
    dfe_validation,
    ruleset_for,
    validator_python,
)


def test_ruleset_follows_the_collection_year() -> None:
    assert ruleset_for(2019) == "lac2022_23"
    assert ruleset_for(2024) == "lac2023_24"
    assert ruleset_for(2030) == "lac2026_27"


def test_validator_findings_become_problems_on_the_original_files(
        return_files: list[Path], tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$2\" >> {requests}\n"
        "echo '{\"issues\": [{\"table\": \"Episodes\", \"row\": 4, \"child\": \"C1\", "
        "\"code\": \"355\", \"message\": \"Episode appears to have lasted for less than 24 "
        "hours\", \"fields\": [\"DEC\", \"DECOM\"]}], \"ran\": [\"355\", \"101\"], "
        "\"skipped\": [\"1000\"], \"failed_rules\": [{\"code\": \"502\", "
        "\"error\": \"KeyError: DEC\"}]}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    report = dfe_validation(return_files, "E10000015", python=fake)
    problems = report.problems
    episodes_2023 = next(p for p in return_files if p.parent.name == "2023"
                         and p.name == "episodes.csv")
    assert len(problems) == 2
    last = problems[-1]
    assert (last.file, last.row, last.column, last.rule) == (
        str(episodes_2023), 6, "DEC, DECOM", "DfE 355")
    assert last.message.startswith("child C1: Episode appears")
    sent = [json.loads(line) for line in requests.read_text().splitlines()]
    assert [s["collection_year"] for s in sent] == ["2022", "2023"]
    assert sent[0]["prev_year"] == [] and len(sent[1]["prev_year"]) == 2
    assert sent[1]["ruleset"] == "lac2022_23"
    assert report.failed == [(2022, "502", "KeyError: DEC"), (2023, "502", "KeyError: DEC")]
    assert report.ran == {2022: 2, 2023: 2} and report.skipped == {2022: 1, 2023: 1}
    assert "2 rules failed to run" in report.summary()


def test_a_missing_validator_is_reported(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.setenv("SF_BENEFITS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SF_BENEFITS_DFE_VALIDATOR_PYTHON", raising=False)
    with pytest.raises(ValidatorUnavailable, match="not installed"):
        validator_python(install=False)


@pytest.mark.slow
def test_real_validator_on_synthetic_returns(return_files: list[Path]) -> None:
    if not (os.environ.get("CI") or os.environ.get("SF_BENEFITS_TEST_DFE_VALIDATOR")):
        pytest.skip("installs csc-validator-be-903 from PyPI into its own environment (about "
                    "30 s): runs in CI or with SF_BENEFITS_TEST_DFE_VALIDATOR=1")
    report = dfe_validation(return_files, "E10000015")
    assert report.failed == [] and min(report.ran.values()) > 100
    problems = report.problems
    rules = {p.rule for p in problems}
    assert "DfE 146" not in rules and "DfE 143" not in rules
    rows = [p.row for p in problems if p.file == str(return_files[1])]
    episodes = pd.read_csv(return_files[1], dtype=str)
    assert all(row is not None and 2 <= row <= len(episodes) + 1 for row in rows)
