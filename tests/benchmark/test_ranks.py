"""Ranks, quartile bands and means on small hand-checkable tables, with ties, polarity and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sf_benefits.benchmark.catalogue import indicators
from sf_benefits.benchmark.engine import (
    LocalAuthority,
    Polarity,
    _benchmark_indicator,
    competition_rank,
    quartile_band,
)
from sf_benefits.benchmark.indicator_table import AreaTable, IndicatorTable

VALUES = pd.Series({"A": 10.0, "B": 20.0, "C": 20.0, "D": 30.0, "E": np.nan, "F": 5.0,
                    "G": 40.0, "H": 25.0})


def ranks(polarity: Polarity) -> dict[str, int | None]:
    """Each LA's national rank among the published VALUES."""
    published = VALUES.dropna().tolist()
    return {code: competition_rank(None if np.isnan(v) else v, published, polarity)
            for code, v in VALUES.items()}


def test_low_is_better_ranks_ascending_with_shared_ties() -> None:
    assert ranks("low_is_better") == {"A": 2, "B": 3, "C": 3, "D": 6, "E": None, "F": 1, "G": 7,
                                      "H": 5}


def test_high_is_better_ranks_descending() -> None:
    high = ranks("high_is_better")
    assert high["G"] == 1 and high["D"] == 2 and high["H"] == 3
    assert high["B"] == high["C"] == 4
    assert high["F"] == 7


def test_suppressed_value_is_not_ranked_nor_counted_as_zero() -> None:
    low = ranks("low_is_better")
    assert low["E"] is None
    assert max(r for r in low.values() if r is not None) == 7


def test_engine_neighbour_mean_median_ranks_and_gap_by_hand() -> None:
    """D (30) against neighbours A 10, B 20, E suppressed, F 5, G 40, low is better: by hand the
    mean is 75/4, the median (10 + 20)/2, D is 4th of the 5 ranked in its group and 6th of 7 LAs."""
    table = IndicatorTable(AreaTable((2023,), tuple(VALUES.index), (tuple(VALUES),)),
                           AreaTable((2023,), ("R1",), ((12.0,),)),
                           AreaTable((2023,), ("E92000001",), ((18.0,),)))
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
    low = ranks("low_is_better")
    ranked = int(VALUES.notna().sum())
    assert quartile_band(low["B"], ranked) == quartile_band(low["C"], ranked) == "B"
