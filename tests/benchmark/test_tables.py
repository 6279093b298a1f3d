"""The national tables: filled from rows as a pivot would be, and the same when each selector's
series are chosen before their rows are read as when they are chosen among every row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sf_benefits.benchmark.catalogue import indicators
from sf_benefits.benchmark.indicator_table import AreaTable, IndicatorTable
from sf_benefits.benchmark.tables import (
    area_table,
    indicator_names,
    indicator_table,
    indicator_tables,
    indicator_values,
)
from sf_benefits.store import Store
from sf_benefits.store.queries import boundary_changes, continuous_series, observations


def test_area_table_holds_the_first_value_of_each_year_and_area_in_order() -> None:
    rows = pd.DataFrame({"year": [2023, 2021, 2023, 2023], "area_code": ["B", "A", "A", "B"],
                         "value": [1.0, 2.0, np.nan, 3.0]})
    table = area_table(rows)
    assert (table.years, table.areas) == ((2021, 2023), ("A", "B"))
    assert repr(table.rows) == repr(((2.0, np.nan), (np.nan, 1.0)))
    assert area_table(rows.iloc[0:0]) == AreaTable((), (), ())


def test_tables_from_the_chosen_series_equal_those_from_every_observation(
        loaded_store: Store) -> None:
    chosen = list(indicators().values())
    names = sorted({name for indicator in chosen for name in indicator_names(indicator)})
    every = continuous_series(observations(loaded_store, names), boundary_changes(loaded_store))
    tables = indicator_tables(loaded_store, chosen)
    assert list(tables) == [indicator.id for indicator in chosen]
    for indicator in chosen:
        assert_same(tables[indicator.id], indicator_table(indicator_values(every, indicator)))


def assert_same(table: IndicatorTable, expected: IndicatorTable) -> None:
    """Equal tables (rows by repr, so that NaN equals NaN) and equal notes."""
    for got, want in ((table.la, expected.la), (table.region, expected.region),
                      (table.england, expected.england)):
        assert (got.years, got.areas, repr(got.rows)) == (want.years, want.areas, repr(want.rows))
    assert table.joint_returns == expected.joint_returns
    assert table.suppressed == expected.suppressed
