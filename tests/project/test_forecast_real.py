"""The national forecast file on the real data: its columns, and every LA that will publish
figures for the years forecast, under the code it will have then."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sf_benefits.cli.main import app
from sf_benefits.store import Store

pytestmark = pytest.mark.shared_data


def test_forecast_csv_covers_every_la_under_its_2024_code(real_data_store: Store,
                                                          shared_data: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "forecast.csv"
    result = CliRunner().invoke(app, [
        "forecast", "--all-las", "--horizon", "3", "--format", "csv", "--out", str(out),
        "--database-url", str(real_data_store.engine.url)])
    assert result.exit_code == 0, result.output
    forecast = pd.read_csv(out)
    assert list(forecast.columns) == ["la_code", "la_name", "year", "p10", "p50", "p90"]
    published = pd.read_csv(shared_data / "dfe" / "cla_number_and_rate_per_10k_children.csv",
                            dtype=str)
    las_2023 = set(published.loc[(published["geographic_level"] == "Local authority")
                                 & (published["time_period"] == "2023"), "new_la_code"])
    # Cumbria (E10000006) reported its last figures for 31 March 2023; its successors
    # Cumberland and Westmorland and Furness (in the 2023 file without figures) report from 2024.
    # Northamptonshire (E10000021, split in April 2021) is still listed, without figures.
    expected = las_2023 - {"E10000006", "E10000021"}
    assert {"E06000063", "E06000064", "E06000065", "E06000066"} <= expected
    assert set(forecast["la_code"]) == expected
    years = forecast.groupby("la_code")["year"].apply(lambda y: sorted(y) == [2024, 2025, 2026])
    assert years.all()
    assert forecast[["p10", "p50", "p90"]].notna().all().all()
    assert ((forecast["p10"] <= forecast["p50"]) & (forecast["p50"] <= forecast["p90"])).all()
    warrington = forecast[(forecast["la_code"] == "E06000007") & (forecast["year"] == 2024)]
    assert abs(float(warrington["p50"].iloc[0]) / 332 - 1) < 0.2  # 332 at 31 March 2023
