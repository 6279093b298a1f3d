"""CSV formula injection: every CSV the project writes neutralises text a spreadsheet would run,
and keeps true negative numbers as numbers."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sf_benefits.cli.main import app
from sf_benefits.csv_export import FORMULA_STARTS, csv_text, neutralise, write_csv

SRC = Path(__file__).resolve().parents[1] / "src" / "sf_benefits"
ATTACK = "=cmd|' -C calc'!A0"


def unsafe_cells(text: str) -> list[str]:
    """Cells of a CSV a spreadsheet would run as a formula (plain numbers are not formulas)."""
    return [cell for row in csv.reader(text.splitlines()) for cell in row
            if cell.startswith(FORMULA_STARTS)
            and not re.fullmatch(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?", cell)]


@pytest.mark.parametrize(("cell", "written"), [
    ("=SUM(A1)", "'=SUM(A1)"), ("+44 20 7946", "'+44 20 7946"), ("-2+3", "'-2+3"),
    ("@SUM(1)", "'@SUM(1)"), ("\tHIDDEN", "'\tHIDDEN"), ("\r=1", "'\r=1"),
    ("-12.5", "-12.5"), ("+5", "+5"), ("-1,234", "-1,234"), ("-", "'-"), ("Leeds", "Leeds"),
    (-3.5, -3.5), (None, None),
])
def test_one_cell(cell: object, written: object) -> None:
    assert neutralise(cell) == written


def test_negative_numbers_stay_numbers_and_text_is_neutralised(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": [ATTACK, "Leeds", "@x"], "gap": [-12.5, 3.0, -0.25],
                          "=header": [1, 2, 3]})
    path = write_csv(frame, tmp_path / "x.csv")
    assert unsafe_cells(path.read_text()) == []
    back = pd.read_csv(path)
    assert back["gap"].tolist() == [-12.5, 3.0, -0.25]
    assert back["name"].tolist() == ["'" + ATTACK, "Leeds", "'@x"]
    assert unsafe_cells(csv_text(frame)) == []


def test_every_csv_writer_in_the_package_goes_through_csv_export() -> None:
    """A new export that bypassed the neutralising writer would be a new injection. (ingest/
    writes SSDA903 data files in the published layout it reads back, not files for people.)"""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "csv_export.py" or path.relative_to(SRC).parts[0] == "ingest":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if re.search(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(", line) and not re.search(
                    r"hashlib|digest|sha256|TEMPLATE_COLUMNS", line):
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert offenders == []


def test_track_actuals_history_export_neutralises_file_names(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'x.sqlite'}"
    upload = tmp_path / f"{ATTACK}.csv"
    upload.write_text("period,measure,placement,count,spend_gbp\n2020-21,cla,all,40,\n"
                      "2020-21,spend,all,,1500\n")
    result = runner.invoke(app, ["track", "import-actuals", "--la", "E06000005", "--la-name",
                                 "Darlington", str(upload), "--database-url", db])
    assert result.exit_code == 0, result.output
    out = tmp_path / "history.csv"
    result = runner.invoke(app, ["track", "actuals", "--la", "E06000005", "--la-name",
                                 "Darlington", "--history", "--database-url", db,
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert ATTACK in text and unsafe_cells(text) == []
    assert pd.read_csv(out)["spend_gbp"].dropna().tolist() == [1500.0]
