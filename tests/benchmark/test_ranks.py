"""Ranks, quartile bands and means on small hand-checkable tables, with ties, polarity and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sf_benefits.benchmark.catalogue import indicators
from sf_benefits.benchmark.engine import (
    IndicatorTable,
    LocalAuthority,
    _benchmark_indicator,
    competition_rank,
    quartile_band,
)

VALUES = pd.Series({"A": 10.0, "B": 20.0, "C": 20.0, "D": 30.0, "E": np.nan, "F": 5.0,
                    "G": 40.0, "H": 25.0})


def test_low_is_better_ranks_ascending_with_shared_ties() -> None:
    ranks = competition_rank(VALUES, "low_is_better")
    assert ranks.to_dict() == pytest.approx(
        {"A": 2, "B": 3, "C": 3, "D": 6, "E": np.nan, "F": 1, "G": 7, "H": 5}, nan_ok=True)


def test_high_is_better_ranks_descending() -> None:
    ranks = competition_rank(VALUES, "high_is_better")
    assert ranks["G"] == 1 and ranks["D"] == 2 and ranks["H"] == 3
    assert ranks["B"] == ranks["C"] == 4
    assert ranks["F"] == 7


def test_suppressed_value_is_not_ranked_nor_counted_as_zero() -> None:
    ranks = competition_rank(VALUES, "low_is_better")
    assert np.isnan(ranks["E"])
    assert ranks.max() == 7


def test_engine_neighbour_mean_median_ranks_and_gap_by_hand() -> None:
    """D (30) against neighbours A 10, B 20, E suppressed, F 5, G 40, low is better: by hand the
    mean is 75/4, the median (10 + 20)/2, D is 4th of the 5 ranked in its group and 6th of 7 LAs."""
    table = IndicatorTable(pd.DataFrame([VALUES], index=[2023]),
                           pd.DataFrame({"R1": [12.0]}, index=[2023]), pd.Series({2023: 18.0}))
    indicator = indicators()["cla_rate_per_10k"].model_copy(update={"polarity": "low_is_better"})
    la = LocalAuthority("D", None, "D", "R1", "Region one")
    b = _benchmark_indicator(table, indicator, la, ["A", "B", "E", "F", "G"], {"A": "Aye"}, None)
    assert b.year == 2023 and b.la_value == 30.0
    assert b.neighbour_mean == pytest.approx(75 / 4)
    assert b.neighbour_median == pytest.approx(15.0)
    assert b.gap_to_neighbour_mean == pytest.approx(30 - 75 / 4)
    assert (b.rank_among_neighbours, b.neighbours_ranked) == (4, 5)
    assert (b.national_rank, b.las_ranked, b.quartile_band) == (6, 7, "D")
    assert (b.region_value, b.england_value) == (12.0, 18.0)
    assert b.neighbour_values["la_name"].tolist() == ["Aye", "B", "E", "F", "G"]
    assert b.neighbour_values["value"].tolist()[:2] == [10.0, 20.0]
    assert b.neighbour_values["value"].isna().tolist() == [False, False, True, False, False]
    assert b.trend["neighbour_mean"].tolist() == pytest.approx([75 / 4])


@pytest.mark.parametrize(("rank", "ranked", "band"), [
    (1, 8, "A"), (2, 8, "A"), (3, 8, "B"), (4, 8, "B"), (5, 8, "C"), (6, 8, "C"), (7, 8, "D"),
    (8, 8, "D"), (None, 8, None), (1, 0, None),
])
def test_quartile_bands(rank: int | None, ranked: int, band: str | None) -> None:
    assert quartile_band(rank, ranked) == band


def test_tied_las_share_a_band() -> None:
    ranks = competition_rank(VALUES, "low_is_better")
    ranked = int(ranks.notna().sum())
    assert quartile_band(ranks["B"], ranked) == quartile_band(ranks["C"], ranked) == "B"
