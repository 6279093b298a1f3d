"""The latest load of an LA as stored (Parquet tables in the store) and read back as arrays for
the child-level engine, without pandas: a projection from the embedded store then imports
neither pandas nor SQLAlchemy (about a second of a two-second command)."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from sf_benefits.ssda903_data import EpisodeColumns

if TYPE_CHECKING:
    import pyarrow as pa

CHILDREN, EPISODES, CHILD_IDS = "children", "episodes", "child_ids"

Stored = tuple[str, str | date, dict[str, bytes]]
"""A load's collection years, last day covered and Parquet tables by name."""


def latest_embedded(connection: sqlite3.Connection, la_code: str, wanted: list[str]
                    ) -> Stored | None:
    """The `wanted` tables of the latest load of `la_code` in the embedded store (None when
    there is none)."""
    load = connection.execute(
        "SELECT load_id, collection_years, data_end FROM ssda903_load WHERE la_code = ? "
        "ORDER BY loaded_at DESC LIMIT 1", (la_code,)).fetchone()
    if load is None:
        return None
    tables = {str(name): bytes(blob) for name, blob in connection.execute(
        f"SELECT name, parquet FROM ssda903_table WHERE load_id = ? AND name IN "
        f"({', '.join('?' for _ in wanted)})", (load[0], *wanted))}
    return str(load[1]), load[2], tables


def latest_episode_columns(connection: sqlite3.Connection, la_code: str) -> EpisodeColumns:
    """The engine's input from the latest load of `la_code` in the embedded store, each child
    named by their row (raises LookupError when the LA has no load)."""
    found = latest_embedded(connection, la_code, [CHILDREN, EPISODES])
    if found is None:
        raise LookupError(f"no SSDA903 returns have been loaded for LA {la_code}")
    collection_years, data_end, tables = found
    return episode_columns_of(tables, la_code,
                              tuple(int(y) for y in collection_years.split(",") if y),
                              datetime.fromisoformat(str(data_end)))


def episode_columns_of(tables: dict[str, bytes], la_code: str,
                       collection_years: tuple[int, ...], data_end: datetime) -> EpisodeColumns:
    """The engine's input from the stored Parquet tables of one load."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def read(name: str, columns: list[str]) -> pa.Table:
        return pq.ParquetFile(pa.BufferReader(tables[name])).read(columns, use_threads=False)

    children = read(CHILDREN, ["dob"])
    episodes = read(EPISODES, ["child", "decom", "dec", "rec", "place"])
    child = _numbers(episodes.column("child")).astype(np.intp)
    rec, rec_labels = _codes(episodes.column("rec"))
    place, place_labels = _codes(episodes.column("place"))
    return EpisodeColumns(
        la_code, collection_years, data_end, child, child,
        _dates(episodes.column("decom")), _dates(episodes.column("dec")),
        np.asarray([*rec_labels, None], dtype=object)[rec], place, place_labels,
        _dates(children.column("dob")))


# Arrow's own `to_numpy` imports pandas (half a second), so the columns are read from their
# buffers: each chunk's values (one fixed-width number each) and validity bits.

def _chunks(column: pa.ChunkedArray, dtype: npt.DTypeLike
            ) -> list[tuple[npt.NDArray[np.generic], npt.NDArray[np.bool_]]]:
    out = []
    for chunk in column.chunks:
        array = chunk.indices if hasattr(chunk, "indices") else chunk
        validity, values = array.buffers()[:2]
        span = slice(array.offset, array.offset + len(array))
        valid = (np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")[span]
                 .astype(bool) if validity is not None and array.null_count
                 else np.ones(len(array), dtype=bool))
        out.append((np.frombuffer(values, dtype=dtype)[span], valid))
    return out


def _numbers(column: pa.ChunkedArray) -> npt.NDArray[np.generic]:
    """An integer column as numbers (it has no nulls)."""
    dtype = np.dtype(f"i{column.type.bit_width // 8}")
    return np.concatenate([values for values, _ in _chunks(column, dtype)] or [np.zeros(0, dtype)])


def _dates(column: pa.ChunkedArray) -> npt.NDArray[np.datetime64]:
    """A date32 column as datetime64[ns] (NaT where missing)."""
    parts = [np.where(valid, values.astype("datetime64[D]"), np.datetime64("NaT", "D"))
             for values, valid in _chunks(column, np.int32)]
    return np.concatenate(parts or [np.zeros(0, "datetime64[D]")]).astype("datetime64[ns]")


def _codes(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """A dictionary column as codes into its labels (-1 where missing), the chunks' labels one
    after the other."""
    codes: list[npt.NDArray[np.intp]] = []
    labels: list[object] = []
    dtype = np.dtype(f"i{column.type.index_type.bit_width // 8}")
    for chunk, (values, valid) in zip(column.chunks, _chunks(column, dtype), strict=True):
        codes.append(np.where(valid, values.astype(np.intp) + len(labels), -1))
        labels += chunk.dictionary.to_pylist()
    return (np.concatenate(codes or [np.zeros(0, np.intp)]).astype(np.intp),
            np.asarray(labels, dtype=object))
