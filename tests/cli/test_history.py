"""`sf-benefits history`: an LA's stitched series with the source and basis of every value."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sf_benefits.cli.main import app
from tests.ingest.test_history import march_2010
from tests.synthetic_dfe import write_dfe_directory

runner = CliRunner()


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = write_dfe_directory(tmp_path / "data")
    march_2010(data / "history" / "sfr_children_looked_after", scilly=False)
    monkeypatch.setenv("SF_BENEFITS_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("SF_BENEFITS_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["data", "load", "--from", str(data)])
    assert result.exit_code == 0, result.output
    return data


def test_history_csv_gives_every_value_its_source_and_basis(loaded: Path) -> None:
    result = runner.invoke(app, ["history", "--la", "warrington", "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(StringIO(result.output))
    assert frame["source"].notna().all() and frame["basis"].notna().all()
    cla = frame[(frame["measure"] == "cla_31_march") & (frame["placement"] == "all")].set_index(
        "year")
    assert list(cla.index) == [2010, *range(2015, 2025)]
    assert (cla.loc[2010, "value"], cla.loc[2010, "source"]) == (267, "SFR27_2010_March.csv")
    assert cla.loc[2015, "source"] == "cla_number_and_rate_per_10k_children.csv"
    foster = frame[(frame["measure"] == "cla_31_march") & (frame["placement"] == "foster")]
    assert foster.set_index("year").loc[2010, "value"] == 65 + 138


def test_history_table_fits_80_columns_and_names_its_sources(loaded: Path) -> None:
    result = runner.invoke(app, ["history", "--la", "877"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "SFR27_2010_March.csv" in result.output and "first release" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_history_of_an_unknown_la_suggests_one(loaded: Path) -> None:
    result = runner.invoke(app, ["history", "--la", "Warringtn"])
    assert result.exit_code == 1
    assert "did you mean 'Warrington'" in result.output
