"""Fixtures for the track tests: a small locked-baseline table and a recorded implementation."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.store import Store
from sf_benefits.track import Implementation, record_implementation

SHARES = {"foster": 0.70, "childrens_homes_secure": 0.12, "other_residential": 0.03,
          "placed_with_parents": 0.06, "independent_living": 0.05,
          "placed_for_adoption": 0.02, "other": 0.02}
UNIT_COSTS = {"foster": 40_000.0, "childrens_homes_secure": 300_000.0,
              "other_residential": 150_000.0, "placed_with_parents": 10_000.0,
              "independent_living": 60_000.0, "placed_for_adoption": 5_000.0, "other": 30_000.0}


def baseline_table(start_year: int = 2020, years: int = 6, opening: float = 1000.0,
                   growth: float = 20.0, scenario_cut: float = 10.0,
                   spread: float = 0.05) -> pd.DataFrame:
    """Baseline grows `growth` children a year; the business case cuts `scenario_cut` more."""
    rows = []
    for i in range(years):
        year = start_year + i
        base = opening + growth * i
        scen = base - scenario_cut * i
        for series, total in (("baseline", base), ("scenario", scen)):
            low, high = total * (1 - spread * min(i, 1) * i / max(years - 1, 1)), total * (
                1 + spread * min(i, 1) * i / max(years - 1, 1))
            rows.append((series, year, "cla_31_march", "all", low, total, high))
            for placement in PLACEMENTS:
                share = SHARES[placement]
                rows.append((series, year, "cla_31_march", placement, low * share,
                             total * share, high * share))
    return pd.DataFrame(rows, columns=["series", "year", "measure", "placement", "p10", "p50",
                                       "p90"])


@pytest.fixture
def implementation(store: Store) -> Implementation:
    return record_implementation(store, "E06000005", "Darlington", "family_valued",
                                 date(2020, 6, 1), "central case")
