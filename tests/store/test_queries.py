"""Reading observations: the driver's rows as pandas' SQL reader gives them, only the series
asked for, and a choice among series that is the choice `select_rows` makes among all rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store
from sf_benefits.store.queries import (
    OBSERVATION_COLUMNS,
    OBSERVATIONS,
    SERIES,
    matching_rows,
    observations,
    read_frame,
    series_observations,
    stored_series,
)
from sf_benefits.store.schema import observation

SERIES_KEYS = ["indicator", "dataset", "geographic_level", "breakdown"]


def test_read_frame_gives_what_read_sql_gives(loaded_store: Store) -> None:
    check_read_frame(loaded_store)


@pytest.mark.postgres
def test_read_frame_gives_what_read_sql_gives_on_postgres(postgres_url: str,
                                                          dfe_dir: Path) -> None:
    store = Store.open(postgres_url)
    try:
        load_directory(store, dfe_dir)
        check_read_frame(store)
    finally:
        store.close()


def check_read_frame(store: Store) -> None:
    """Rows with and without values, and none: the same frame, the same types."""
    rows = select(*OBSERVATION_COLUMNS).select_from(OBSERVATIONS).order_by(
        observation.c.series_id, observation.c.area_code, observation.c.year)
    with store.engine.connect() as conn:
        for query in (rows, rows.where(observation.c.value.is_(None)),
                      rows.where(SERIES.indicator == "no such column")):
            pd.testing.assert_frame_equal(read_frame(conn, query), pd.read_sql(query, conn))


def test_series_observations_are_the_observations_of_those_series(loaded_store: Store) -> None:
    names = ["children_count", "population_estimate"]
    series = stored_series(loaded_store, names)
    assert set(series["indicator"]) == set(names)
    read = series_observations(loaded_store, series["series_id"].tolist())
    pd.testing.assert_frame_equal(read.drop(columns="series_id"), observations(loaded_store, names))
    some = series["series_id"].iloc[::2].tolist()
    assert set(series_observations(loaded_store, some)["series_id"]) == set(some)


def test_the_choice_among_series_is_the_choice_among_their_rows() -> None:
    """The preferred file carries `a` only at another breakdown, so `b` is read: from one row
    per series as from every row."""
    def rows(indicator: str, dataset: str, breakdown: str) -> list[dict[str, object]]:
        return [{"dataset": dataset, "year": year, "geographic_level": "Local authority",
                 "area_code": area, "breakdown": breakdown, "indicator": indicator,
                 "value": 1.0, "status": None}
                for year in (2022, 2023) for area in ("E1", "E2")]

    frame = pd.DataFrame([*rows("a", "cla_on_31_march", "group=Other"),
                          *rows("a", "cla_other", "group=Wanted"),
                          *rows("b", "cla_other", "group=Wanted|age=Total"),
                          *rows("b", "cla_other", "group=Wanted|age=Under 1")])
    choice = (["a", "b"], {"group": "Wanted"}, None, ("31_march",))
    from_rows = matching_rows(frame, *choice)[SERIES_KEYS].drop_duplicates()
    from_series = matching_rows(frame.drop_duplicates(SERIES_KEYS), *choice)[SERIES_KEYS]
    assert from_rows.values.tolist() == from_series.values.tolist() == [
        ["b", "cla_other", "Local authority", "group=Wanted|age=Total"]]
