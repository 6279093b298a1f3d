"""Ranks, quartile bands and means on small hand-checkable tables, with ties, polarity and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sf_benefits.benchmark.engine import competition_rank, quartile_band

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
    assert VALUES.mean() == pytest.approx(150 / 7)
    assert VALUES.median() == 20


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
