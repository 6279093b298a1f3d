"""Pseudonymise checked SSDA903 returns and load them into the store, all or nothing.

CHILD becomes HMAC-SHA256(key, CHILD). The key is a random secret of 256 bits made by
`sf-benefits ssda903 new-key`, given in the environment (SF_BENEFITS_PSEUDONYM_KEY) and never
stored: LA child identifiers are short and guessable, so only a key nobody can guess keeps the
store from being linked back to children. Postcodes, URNs, UPNs and mothers' details are dropped
before anything is written. Each load is stored as three Parquet tables (children; their
pseudonyms; episodes pointing at their child's row), which the engine reads back in a fraction of
a second (a projection skips the pseudonyms). The load path hashes each child once and writes the
checked tables straight to Parquet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import os
import secrets
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from sf_benefits.config import PSEUDONYM_KEY_ENV
from sf_benefits.ingest.ssda903.arrow import fixed_width, text_array
from sf_benefits.ingest.ssda903.read import (
    EPISODE_CODES,
    CheckedReturns,
    categories,
    check_returns,
)
from sf_benefits.ingest.ssda903.stored import (
    CHILD_IDS,
    CHILDREN,
    EPISODES,
    Stored,
    latest_embedded,
)
from sf_benefits.ssda903_data import EPISODE_FIELDS, Ssda903Data

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from sf_benefits.store import Store

KEY_PREFIX = "sf903k-"
KEY_BYTES = 32
MIN_KEY_BYTES = 16
"""128 bits: the least a key may hold (`new_key` makes 256)."""
_KEY_CHECK_MESSAGE = b"sf-benefits pseudonym key check"
_CODE_FIELDS = ("rne", "ls", "cin", "place", "place_provider", "rec", "reason_place_change")
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


class PseudonymKeyError(RuntimeError):
    """No usable pseudonymisation key is configured, so child-level data cannot be loaded."""


def new_key() -> str:
    """A fresh random key (256 bits from the operating system's secure generator) as text."""
    return KEY_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")


def parse_key(text: str) -> bytes:
    """The key bytes of a key made by `new_key`; refuses anything else (a chosen password or a
    short or patterned string could be guessed by hashing candidate child identifiers)."""
    advice = (f"{PSEUDONYM_KEY_ENV} must hold a key made by `sf-benefits ssda903 new-key` (a "
              f"random secret of at least {MIN_KEY_BYTES * 8} bits). Keep it outside the data and "
              "use the same key for every load of the same LA.")
    body = text.strip()
    if not body.startswith(KEY_PREFIX):
        raise PseudonymKeyError(advice)
    try:
        key = base64.urlsafe_b64decode(body[len(KEY_PREFIX):] + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise PseudonymKeyError(advice) from None
    return check_key(key, advice)


def check_key(key: bytes, advice: str | None = None) -> bytes:
    """`key` when it can be a random key of at least 128 bits: long enough, and not a run or
    repetition of a few byte values (a random key of n bytes has almost surely n/2 distinct)."""
    if len(key) < MIN_KEY_BYTES or len(set(key)) < len(key) // 2:
        raise PseudonymKeyError(advice or f"the pseudonymisation key must be random bytes, at "
                                          f"least {MIN_KEY_BYTES} of them")
    return key


def pseudonym_key() -> bytes:
    """The pseudonymisation key from SF_BENEFITS_PSEUDONYM_KEY; refuses a missing or weak key."""
    return parse_key(os.environ.get(PSEUDONYM_KEY_ENV, ""))


def keyed_hashes(identifiers: Iterable[str], key: bytes) -> npt.NDArray[np.uint8]:
    """HMAC-SHA256 (RFC 2104) of each identifier (as UTF-8) under `key`: an (n, 32) array of
    digests. The key's inner and outer SHA-256 states are made once and copied per identifier,
    as `hmac` does, but without its Python wrapper around every copy (a sixth of the time)."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    digests = bytearray()
    for text in identifiers:
        state = inner.copy()
        state.update(text.encode("utf-8"))
        final = outer.copy()
        final.update(state.digest())
        digests += final.digest()
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, 32)


def pseudonym_array(identifiers: Iterable[str], key: bytes) -> pa.StringArray:
    """The keyed hash of each identifier as 64 hex characters, in an Arrow array made straight
    from the digests (no Python text object per child)."""
    import pyarrow as pa

    digests = keyed_hashes(identifiers, key)
    hexed = np.empty((len(digests), 64), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[digests >> 4]
    hexed[:, 1::2] = _HEX[digests & 15]
    offsets = np.arange(0, 64 * len(digests) + 1, 64, dtype=np.int32)
    return pa.StringArray.from_buffers(len(digests), pa.py_buffer(offsets), pa.py_buffer(hexed))


def pseudonymise(ids: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 of each identifier under `key`, as 64 hex characters; each distinct
    identifier is hashed once."""
    import pandas as pd

    codes, unique = pd.factorize(ids.astype(str))
    digests = pseudonym_array((str(v) for v in unique), key).to_numpy(zero_copy_only=False)
    return pd.Series(np.asarray(digests, dtype=object)[codes], index=ids.index, dtype=object)


def key_check(key: bytes) -> str:
    """A fingerprint that tells whether two loads used the same key without revealing it (with a
    random key of 128 bits or more it is no help to anyone guessing the key)."""
    return hmac.new(key, _KEY_CHECK_MESSAGE, hashlib.sha256).hexdigest()


def pseudonymised(checked: CheckedReturns, key: bytes, la_code: str) -> Ssda903Data:
    """Replace CHILD by its keyed hash and keep only the fields the engines need (each child is
    hashed once: episodes take their child's hash by position)."""
    import pandas as pd

    position = checked.episode_child
    child_ids = np.asarray(_child_pseudonyms(checked, key).to_numpy(zero_copy_only=False),
                           dtype=object)
    episode_ids = child_ids[position]
    children = pd.DataFrame({
        "child_id": child_ids,
        "sex": checked.children["SEX"].to_numpy(),
        "dob": checked.children["DOB"].to_numpy(),
        "ethnic": checked.children["ETHNIC"].to_numpy(),
    })
    source = checked.episodes.reset_index(drop=True)
    episodes = pd.DataFrame({
        "child_id": episode_ids,
        "decom": source["DECOM"], "dec": source["DEC"],
        **{c.lower(): source[c] for c in ("RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC",
                                          "REASON_PLACE_CHANGE")},
        "collection_year": source["collection_year"].astype(int),
    })
    return Ssda903Data(la_code, children, episodes, checked.collection_years, checked.data_end,
                       position)


def _child_pseudonyms(checked: CheckedReturns, key: bytes) -> pa.StringArray:
    """The keyed hash of each child of checked returns (one row per child: each hashed once)."""
    return pseudonym_array(checked.identifiers[checked.child_columns["code"]], key)


def read_returns(paths: Sequence[Path | str], la_code: str, key: bytes | None = None
                 ) -> Ssda903Data:
    """Check and pseudonymise SSDA903 files in memory (raises IngestError on any problem)."""
    key = check_key(key) if key is not None else pseudonym_key()
    return pseudonymised(check_returns(paths), key, la_code)


def read_returns_by_la(folder: Path | str, key: bytes) -> dict[str, Ssda903Data]:
    """Each sub-folder of `folder` holding SSDA903 header and episodes files (a folder per year
    inside is fine), checked and pseudonymised in memory; the sub-folder's name is the LA code."""
    returns = {}
    for sub in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        files = sorted(p for p in sub.rglob("*") if p.suffix.lower() in (".csv", ".xlsx")
                       and p.stem.lower().startswith(("header", "episodes")))
        if files:
            returns[sub.name] = read_returns(files, sub.name, key)
    if not returns:
        raise ValueError(f"{folder} has no sub-folder with SSDA903 header and episodes files")
    return returns


@dataclass(frozen=True)
class LoadSummary:
    """What one load wrote."""

    load_id: str
    la_code: str
    collection_years: tuple[int, ...]
    children: int
    episodes: int


def _parquet(columns: dict[str, pa.Array]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink, compression="none")
    return sink.getvalue()


def _dictionary(codes: npt.NDArray[np.integer], values: npt.NDArray[np.object_]) -> pa.Array:
    """Codes (positions in `values`, -1 for missing) as an Arrow dictionary column."""
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(fixed_width(codes, pa.int16(), codes >= 0),
                                          text_array(values))


def _codes(values: pd.Series) -> pa.Array:
    """Codes as an Arrow dictionary column (categoricals keep theirs)."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(values.dtype, pd.CategoricalDtype):
        return _dictionary(values.cat.codes.to_numpy(),
                           values.cat.categories.to_numpy(dtype=object))
    return pa.array(values.to_numpy(dtype=object), type=pa.string()).dictionary_encode()


def _days(values: pd.Series | npt.NDArray[np.datetime64]) -> pa.Array:
    import pyarrow as pa

    days = np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]")
    return fixed_width(days.astype(np.int64), pa.date32(), ~np.isnat(days))


def to_parquet(data: Ssda903Data) -> dict[str, bytes]:
    """The children, pseudonyms and episodes tables as Parquet; each episode names its child by
    row."""
    import pandas as pd
    import pyarrow as pa

    row = data.episode_child
    if row is None or len(row) != len(data.episodes):
        row = pd.Index(data.children["child_id"]).get_indexer(data.episodes["child_id"])
    children, episodes = data.children, data.episodes
    child_id = pa.array(children["child_id"].to_numpy(dtype=object), type=pa.string())
    return _tables(
        lambda: child_id,
        {"sex": _codes(children["sex"]), "dob": _days(children["dob"]),
         "ethnic": _codes(children["ethnic"])},
        {"decom": _days(episodes["decom"]), "dec": _days(episodes["dec"]),
         **{c: _codes(episodes[c]) for c in _CODE_FIELDS}},
        row, episodes["collection_year"].to_numpy(dtype=np.int16))


def _checked_tables(checked: CheckedReturns, key: bytes) -> dict[str, bytes]:
    """The Parquet tables of checked returns, straight from their columns (no pandas)."""
    children, episodes = checked.child_columns, checked.episode_columns
    return _tables(
        lambda: _child_pseudonyms(checked, key),
        {"sex": _dictionary(children["SEX"], categories("SEX")), "dob": _days(children["DOB"]),
         "ethnic": _dictionary(children["ETHNIC"], categories("ETHNIC"))},
        {"decom": _days(episodes["DECOM"]), "dec": _days(episodes["DEC"]),
         **{c.lower(): _dictionary(episodes[c], categories(c)) for c in EPISODE_CODES}},
        checked.episode_child, episodes["collection_year"])


def _tables(child_id: Callable[[], pa.Array], children: dict[str, pa.Array],
            episodes: dict[str, pa.Array], row: npt.NDArray[np.intp],
            collection_year: npt.NDArray[np.int16]) -> dict[str, bytes]:
    """Parquet of the children (sex, dob, ethnic), of their pseudonyms (child_id(); apart,
    since a projection does not read them) and of their episodes (EPISODE_FIELDS but child_id,
    and `row`: the row of each episode's child). The episodes are written by another thread
    while `child_id` hashes the children (Arrow writes Parquet without Python's lock)."""
    import pyarrow as pa

    with ThreadPoolExecutor(max_workers=1) as writer:
        episodes_written = writer.submit(
            _parquet, {"child": fixed_width(row, pa.int32()), **episodes,
                       "collection_year": fixed_width(collection_year, pa.int16())})
        written = {CHILDREN: _parquet(children), CHILD_IDS: _parquet({"child_id": child_id()})}
    return {**written, EPISODES: episodes_written.result()}


def from_parquet(tables: dict[str, bytes], la_code: str, collection_years: tuple[int, ...],
                 data_end: pd.Timestamp, pseudonyms: bool = True) -> Ssda903Data:
    """The engine's input from the stored Parquet tables (codes come back as categoricals).

    Without `pseudonyms`, child_id is the child's row number instead of the keyed hash (and
    the table of pseudonyms need not be given): all a projection needs is to tell children
    apart, and 64-character texts of every child are the largest part of a load in memory.
    Loads made before the pseudonyms had a table of their own hold them in the children's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def frame(name: str, skip: str | None = None) -> pd.DataFrame:
        source = pq.ParquetFile(pa.BufferReader(tables[name]))
        columns = [c for c in source.schema_arrow.names if c != skip]
        return source.read(columns, use_threads=False).to_pandas(
            date_as_object=False, coerce_temporal_nanoseconds=True, split_blocks=True,
            self_destruct=True)

    children = frame(CHILDREN, None if pseudonyms and CHILD_IDS not in tables else "child_id")
    if not pseudonyms:
        children.insert(0, "child_id", np.arange(len(children)))
    elif CHILD_IDS in tables:
        children.insert(0, "child_id", frame(CHILD_IDS)["child_id"].to_numpy(dtype=object))
    episodes = frame(EPISODES)
    row = episodes.pop("child").to_numpy(dtype=np.intp)
    episodes.insert(0, "child_id", children["child_id"].to_numpy()[row])
    episodes["collection_year"] = episodes["collection_year"].astype(int)
    if list(episodes.columns) != list(EPISODE_FIELDS):
        episodes = episodes[list(EPISODE_FIELDS)]
    return Ssda903Data(la_code, children, episodes, collection_years, data_end, row)


@dataclass(frozen=True)
class PreparedLoad:
    """Checked, pseudonymised returns as the Parquet tables a load stores, with what its row in
    `ssda903_load` records (`key_check`: see `key_check`)."""

    tables: dict[str, bytes]
    collection_years: tuple[int, ...]
    children: int
    episodes: int
    data_end: date
    source_files: tuple[str, ...]
    key_check: str


def prepare_load(paths: Sequence[Path | str], key: bytes | None = None) -> PreparedLoad:
    """Check and pseudonymise SSDA903 files into the tables a load stores (raises IngestError
    on any problem). The checked columns go straight to Parquet (no pandas frame is built), and
    are let go before anything is stored, so opening and migrating the store does not add to
    the peak of memory."""
    key = check_key(key) if key is not None else pseudonym_key()
    checked = check_returns(paths)
    return PreparedLoad(_checked_tables(checked, key), checked.collection_years,
                        len(checked.child_columns["code"]), len(checked.episode_child),
                        checked.last_day, tuple(Path(p).name for p in paths), key_check(key))


def _prepared(data: Ssda903Data, key: bytes, source_files: Sequence[Path | str]
              ) -> PreparedLoad:
    return PreparedLoad(to_parquet(data), data.collection_years, len(data.children),
                        len(data.episodes), data.data_end.date(),
                        tuple(Path(p).name for p in source_files), key_check(key))


def store_returns(store: Store | sqlite3.Connection, data: Ssda903Data, key: bytes,
                  source_files: Sequence[Path]) -> LoadSummary:
    """Write one load in a single transaction (nothing is written if any insert fails)."""
    return store_load(store, _prepared(data, key, source_files), data.la_code)


def store_load(store: Store | sqlite3.Connection, prepared: PreparedLoad, la_code: str
               ) -> LoadSummary:
    """Write a prepared load of `la_code` in a single transaction (nothing is written if any
    insert fails)."""
    summary = LoadSummary(uuid.uuid4().hex, la_code, prepared.collection_years,
                          prepared.children, prepared.episodes)
    load = {
        "load_id": summary.load_id, "la_code": la_code, "loaded_at": datetime.now(UTC),
        "collection_years": ",".join(str(y) for y in summary.collection_years),
        "source_files": json.dumps(list(prepared.source_files)),
        "children": summary.children, "episodes": summary.episodes,
        "data_end": prepared.data_end, "key_check": prepared.key_check,
    }
    parts: list[dict[str, object]] = [{"load_id": summary.load_id, "name": name, "parquet": blob}
                                      for name, blob in prepared.tables.items()]
    if isinstance(store, sqlite3.Connection):
        _write_embedded(store, load, parts)
        return summary
    from sqlalchemy import insert

    from sf_benefits.ingest.ssda903.tables import ssda903_load, ssda903_table

    with store.transaction() as conn:
        conn.execute(insert(ssda903_load), [load])
        conn.execute(insert(ssda903_table), parts)
    return summary


def _write_embedded(connection: sqlite3.Connection, load: dict[str, object],
                    parts: list[dict[str, object]]) -> None:
    """The rows of one load in one transaction, with values as SQLAlchemy stores them in SQLite
    (times as text without the zone, so loads order the same whichever wrote them)."""
    load = {**load, "loaded_at": load["loaded_at"].strftime(  # type: ignore[attr-defined]
        "%Y-%m-%d %H:%M:%S.%f"), "data_end": str(load["data_end"])}
    with connection:
        connection.execute(f"INSERT INTO ssda903_load ({', '.join(load)}) "
                           f"VALUES ({', '.join(':' + c for c in load)})", load)
        connection.executemany("INSERT INTO ssda903_table (load_id, name, parquet) "
                               "VALUES (:load_id, :name, :parquet)", parts)


def load_returns(store: Store | sqlite3.Connection, paths: Sequence[Path | str], la_code: str,
                 key: bytes | None = None) -> LoadSummary:
    """Check, pseudonymise and store SSDA903 files for `la_code`; all or nothing."""
    return store_load(store, prepare_load(paths, key), la_code)


def latest_load(store: Store | sqlite3.Connection, la_code: str, pseudonyms: bool = True
                ) -> Ssda903Data:
    """The most recent load of `la_code` from the store, as the engine's input (with child_id
    the row number of each child when `pseudonyms` is False, as `from_parquet`)."""
    wanted = [CHILDREN, EPISODES, *([CHILD_IDS] if pseudonyms else [])]
    found = (latest_embedded(store, la_code, wanted) if isinstance(store, sqlite3.Connection)
             else _latest_tables(store, la_code, wanted))
    if found is None:
        raise LookupError(f"no SSDA903 returns have been loaded for LA {la_code}")
    collection_years, data_end, tables = found
    import pandas as pd

    years = tuple(int(y) for y in collection_years.split(",") if y)
    return from_parquet(tables, la_code, years, pd.Timestamp(data_end), pseudonyms)


def _latest_tables(store: Store, la_code: str, wanted: list[str]) -> Stored | None:
    from sqlalchemy import select

    from sf_benefits.ingest.ssda903.tables import ssda903_load, ssda903_table

    with store.engine.connect() as conn:
        load = conn.execute(
            select(ssda903_load).where(ssda903_load.c.la_code == la_code)
            .order_by(ssda903_load.c.loaded_at.desc()).limit(1)).mappings().first()
        if load is None:
            return None
        tables = {str(name): bytes(blob) for name, blob in conn.execute(
            select(ssda903_table.c.name, ssda903_table.c.parquet)
            .where(ssda903_table.c.load_id == load["load_id"], ssda903_table.c.name.in_(wanted))
        ).all()}
    return str(load["collection_years"]), load["data_end"], tables


def expected_key_matches(store: Store, la_code: str, key: bytes) -> bool:
    """Whether `key` is the key used for the latest load of `la_code` (True when none exists)."""
    from sqlalchemy import select

    from sf_benefits.ingest.ssda903.tables import ssda903_load

    with store.engine.connect() as conn:
        stored = conn.execute(
            select(ssda903_load.c.key_check).where(ssda903_load.c.la_code == la_code)
            .order_by(ssda903_load.c.loaded_at.desc()).limit(1)).scalar()
    return stored is None or hmac.compare_digest(str(stored), key_check(key))


__all__ = [
    "LoadSummary", "PreparedLoad", "PseudonymKeyError", "Ssda903Data", "check_key", "expected_key_matches",
    "key_check", "keyed_hashes", "latest_load", "load_returns", "new_key", "parse_key",
    "prepare_load", "pseudonym_array", "pseudonym_key", "pseudonymise", "read_returns",
    "store_load", "store_returns",
]
