"""A load read back as arrays (no pandas) gives the engine what the tables give it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sf_benefits.ingest.ssda903.load import latest_load, load_returns
from sf_benefits.ingest.ssda903.stored import (
    EPISODES,
    episode_columns_of,
    latest_embedded,
    latest_episode_columns,
)
from sf_benefits.project.childlevel import ChildLevelModel
from sf_benefits.project.childlevel.histories import episode_columns
from sf_benefits.store import Store
from sf_benefits.store.embedded import open_current
from tests.ingest.ssda903.fixtures import TEST_KEY

LA = "E10000015"


@pytest.fixture
def connection(return_files: list[Path], store: Store) -> Iterator[sqlite3.Connection]:
    found = open_current(store.url)
    assert found is not None
    load_returns(found, return_files, LA, key=TEST_KEY)
    yield found
    found.close()


def test_the_arrays_are_the_tables_columns(connection: sqlite3.Connection) -> None:
    arrays = latest_episode_columns(connection, LA)
    tables = episode_columns(latest_load(connection, LA, pseudonyms=False))
    assert (arrays.la_code, arrays.collection_years) == (tables.la_code, tables.collection_years)
    assert arrays.data_end == tables.data_end
    for name in ("child", "child_id", "decom", "dec", "dob"):
        np.testing.assert_array_equal(getattr(arrays, name), getattr(tables, name))
    assert np.isnat(arrays.dec).any()
    assert list(arrays.rec) == list(tables.rec)
    assert list(arrays.place_labels[arrays.place]) == list(tables.place_labels[tables.place])


def test_a_projection_from_the_arrays_equals_one_from_the_tables(
        connection: sqlite3.Connection) -> None:
    def projected(data: object) -> pd.DataFrame:
        model = ChildLevelModel(n_draws=30, seed=5).fit(data)  # type: ignore[arg-type]
        return model.predict(2, level=[50, 80])

    pd.testing.assert_frame_equal(projected(latest_episode_columns(connection, LA)),
                                  projected(latest_load(connection, LA, pseudonyms=False)))


def test_columns_read_in_several_chunks_keep_their_order_and_codes(
        connection: sqlite3.Connection) -> None:
    found = latest_embedded(connection, LA, ["children", EPISODES])
    assert found is not None
    _, data_end, tables = found
    whole = episode_columns_of(tables, LA, (2022, 2023), pd.Timestamp(data_end))
    table = pq.read_table(pa.BufferReader(tables[EPISODES]))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=7)
    chunked = episode_columns_of({**tables, EPISODES: sink.getvalue().to_pybytes()}, LA,
                                 (2022, 2023), pd.Timestamp(data_end))
    assert pq.read_table(pa.BufferReader(sink.getvalue())).column("place").num_chunks > 1
    for name in ("child", "decom", "dec", "dob"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name))
    assert list(chunked.rec) == list(whole.rec)
    assert list(chunked.place_labels[chunked.place]) == list(whole.place_labels[whole.place])


def test_an_la_without_a_load_is_named(connection: sqlite3.Connection) -> None:
    with pytest.raises(LookupError, match="E09000001"):
        latest_episode_columns(connection, "E09000001")
