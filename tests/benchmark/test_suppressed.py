"""A figure the publisher suppressed keeps its status through the benchmark engine: missing in
every calculation, "c" wherever it is shown, apart from a figure that was never published."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sf_benefits.benchmark import benchmark_la
from sf_benefits.benchmark.tables import indicator_table
from sf_benefits.store import Store

HALTON = "E06000006"


def test_markers_meaning_withheld_are_suppressed_others_not_available() -> None:
    markers = {"E1": "c", "E2": "low", "E3": "k", "E4": "x", "E5": "z", "E6": ".", "E7": None}
    values = pd.DataFrame({
        "year": 2023, "geographic_level": "Local authority", "area_code": list(markers),
        "value": [np.nan] * 6 + [5.0], "status": list(markers.values())})
    table = indicator_table(values)
    status = {code: table.status("Local authority", 2023, code, table.la.value(2023, code))
              for code in markers}
    assert status == {"E1": "suppressed", "E2": "suppressed", "E3": "suppressed",
                      "E4": "not available", "E5": "not available", "E6": "not available",
                      "E7": "published"}
    assert table.status("Local authority", 2022, "E1", None) == "not available"


def test_a_suppressed_la_value_is_missing_in_ranks_and_c_when_shown(loaded_store: Store) -> None:
    b = benchmark_la(loaded_store, "Halton", year=2024,
                     indicator_ids=["cla_rate_per_10k"]).indicators[0]
    assert b.la_value is None and b.la_status == "suppressed"
    assert b.rank_among_neighbours is None and b.national_rank is None
    assert b.quartile_band is None and b.gap_to_neighbour_mean is None
    assert b.region_status == "published" and b.england_status == "published"
    last = b.trend.set_index("year").loc[2024]
    assert np.isnan(last["la"]) and last["la_status"] == "suppressed"
    assert b.trend.set_index("year").loc[2023, "la_status"] == "published"


def test_a_suppressed_neighbour_is_left_out_of_the_mean_and_shown_as_c(
        loaded_store: Store) -> None:
    result = benchmark_la(loaded_store, "Warrington", year=2024,
                          indicator_ids=["cla_rate_per_10k"])
    b = result.indicators[0]
    halton = b.neighbour_values.set_index("la_code").loc[HALTON]
    assert halton["status"] == "suppressed" and pd.isna(halton["value"])
    others = b.neighbour_values[b.neighbour_values["la_code"] != HALTON]
    assert (others["status"] == "published").all()
    assert b.neighbour_mean == pytest.approx(others["value"].mean())
    assert b.neighbours_ranked == len(others) + 1
    frames = result.to_frames()
    shown = frames["neighbours"].set_index("la_code")["value"]
    assert shown[HALTON] == "c"
    assert all(isinstance(v, float) for v in shown.drop(HALTON))
    assert "status" not in frames["neighbours"].columns


def test_ratio_of_a_suppressed_count_is_suppressed(loaded_store: Store) -> None:
    result = benchmark_la(loaded_store, "Halton", year=2024,
                          indicator_ids=["cla_spend_per_child", "cla_spend_total"])
    per_child, total = result.indicators
    assert per_child.la_status == "suppressed" and per_child.la_value is None
    assert total.la_status == "published" and total.la_value is not None
    summary = result.to_frames()["summary"].set_index("indicator_id")
    assert summary.loc["cla_spend_per_child", "la_value"] == "c"
    assert summary.loc["cla_spend_total", "la_value"] == pytest.approx(total.la_value)


def test_the_latest_year_is_the_latest_published_even_when_suppressed(
        loaded_store: Store) -> None:
    """Halton's latest figure is a "c": it is shown as such, not replaced by an older year."""
    result = benchmark_la(loaded_store, "Halton", indicator_ids=["cla_rate_per_10k"])
    assert result.indicators[0].year == 2024
    assert result.indicators[0].la_status == "suppressed"
