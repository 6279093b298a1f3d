"""Every indicator's national tables kept on disk per data version, so a benchmark from the
command line reads them instead of rebuilding them from the observations each time (building
them is most of a benchmark's time). The file holds the engine's plain tables, so reading it
needs neither pandas, numpy nor SQLAlchemy. The cache sits in the user's own data directory and is
rebuilt whenever the published data are reloaded or the code that builds the tables changes."""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sf_benefits.benchmark.catalogue import indicators
from sf_benefits.benchmark.indicator_table import IndicatorTable
from sf_benefits.store.embedded import data_version

if TYPE_CHECKING:
    from sf_benefits.store import Store

PREFIX = "indicator-tables-"
BUILT_BY = ("benchmark/indicator_table.py", "benchmark/tables.py", "benchmark/catalogue.py",
            "benchmark/indicators.yaml", "store/queries.py", "store/care_series.py",
            "store/tidy.py")
"""The files whose code or data shape the tables: a change to any of them makes a new key."""


def _key(store: Store | sqlite3.Connection, url: str) -> str:
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(f"{url}|{data_version(store)}".encode())
    for name in BUILT_BY:
        path = package / name
        digest.update(path.read_bytes() if path.exists() else name.encode())
    return digest.hexdigest()[:32]


def cached_indicator_tables(store: Store | sqlite3.Connection, url: str,
                            directory: Path) -> dict[str, IndicatorTable]:
    """Every catalogue indicator's tables for the store at `url` (`Store`, or the embedded
    store's connection): from `directory` when this data version's are there, else built (and
    kept, replacing older versions)."""
    path = directory / f"{PREFIX}{_key(store, url)}.pickle"
    if path.is_file():
        try:
            tables: dict[str, IndicatorTable] = pickle.loads(path.read_bytes())
            return tables
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            pass  # a cache from another version of the code, or a torn write: rebuild it
    tables = _build(store, url)
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob(f"{PREFIX}*.pickle"):
        old.unlink(missing_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL))
    partial.replace(path)
    return tables


def _build(store: Store | sqlite3.Connection, url: str) -> dict[str, IndicatorTable]:
    from sf_benefits.benchmark import tables
    from sf_benefits.store import Store

    if not isinstance(store, sqlite3.Connection):
        return tables.indicator_tables(store, list(indicators().values()))
    full = Store.open(url)
    try:
        return tables.indicator_tables(full, list(indicators().values()))
    finally:
        full.close()
