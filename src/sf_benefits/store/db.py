"""Open the store (embedded SQLite by default, PostgreSQL by URL) and bring its schema up to date."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, Table, create_engine, delete, event, func, select, text
from sqlalchemy.exc import DBAPIError

from sf_benefits import config
from sf_benefits.store.embedded import (
    MIGRATIONS,
    create_head_schema,
    migration_heads,
    schema_script,
)
from sf_benefits.store.rows import ROW_COLUMNS, DatasetRows
from sf_benefits.store.schema import observation, observation_series

if TYPE_CHECKING:
    import pandas as pd

def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@dataclass
class Store:
    """A handle on the database; every write goes through `transaction()` so it is all or nothing."""

    engine: Engine

    @classmethod
    def open(cls, url: str | None = None, migrate: bool = True) -> Store:
        """Connect to `url` (default: the embedded store) and apply pending migrations."""
        url = url or config.database_url()
        engine = create_engine(url, future=True, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        if migrate:
            store.migrate()
        return store

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def schema_is_current(self) -> bool:
        """True when the store's alembic version table holds exactly the migration heads."""
        try:
            with self.engine.connect() as connection:
                stored = connection.execute(text("SELECT version_num FROM alembic_version"))
                return frozenset(row[0] for row in stored) == migration_heads()
        except DBAPIError:
            return False

    def migrate(self) -> None:
        """Bring the schema to every migration head (each engine keeps its own branch): a new,
        empty SQLite store is made at the heads in one go, any other store is upgraded."""
        if self.schema_is_current():
            return
        if self.engine.dialect.name == "sqlite":
            connection = self.engine.raw_connection()
            try:
                if create_head_schema(connection.driver_connection):  # type: ignore[arg-type]
                    return
            finally:
                connection.close()
        self.upgrade()

    def upgrade(self) -> None:
        """Run every pending migration with alembic."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "heads")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed if the block ends normally, rolled back on any error."""
        with self.engine.begin() as connection:
            yield connection

    def close(self) -> None:
        self.engine.dispose()


def head_schema_of_migrations() -> str:
    """The `schema_script` of a new SQLite store upgraded by every migration: what
    `embedded.HEAD_SCHEMA` must hold."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{folder}/store.sqlite", migrate=False)
        store.upgrade()
        connection = store.engine.raw_connection()
        try:
            return schema_script(connection.driver_connection)  # type: ignore[arg-type]
        finally:
            connection.close()
            store.close()


def bulk_insert(connection: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Append a frame's rows to `table` inside the caller's transaction, missing values as NULL."""
    insert_columns(connection, table, {name: frame[name] for name in frame.columns})


def insert_columns(connection: Connection, table: Table, columns: dict[str, pd.Series],
                   chunk_rows: int = 10_000) -> None:
    """Append rows given column by column (equal lengths, categories allowed) to `table` inside
    the caller's transaction, missing values as NULL: COPY on PostgreSQL, the driver's
    executemany on SQLite (both skip SQLAlchemy's per-row parameter processing, which dominates a
    load of a million observations). Rows are converted a chunk at a time to bound memory."""
    import pandas as pd

    rows = len(next(iter(columns.values()), ()))
    names = ", ".join(f'"{c}"' for c in columns)
    dialect = connection.dialect.name
    raw = connection.connection.driver_connection
    row_marks = "(" + ", ".join("?" for _ in columns) + ")"
    per_statement = max(1, SQLITE_MAX_PARAMETERS // len(columns))
    for start in range(0, rows, chunk_rows):
        part = {name: values.iloc[start:start + chunk_rows] for name, values in columns.items()}
        if dialect == "sqlite":
            _sqlite_insert(raw, f'INSERT INTO "{table.name}" ({names}) VALUES ', row_marks,
                           per_statement, list(part.values()))
            continue
        frame = pd.DataFrame({name: values.to_numpy() for name, values in part.items()})
        cells = frame.astype(object).where(frame.notna(), None).itertuples(  # type: ignore[call-overload]
            index=False, name=None)
        if dialect == "postgresql":
            with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
                    f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in cells:
                    copy.write_row(row)
        else:
            connection.execute(table.insert(), [dict(zip(columns, row, strict=True))
                                                for row in cells])


SQLITE_MAX_PARAMETERS = 999
"""The fewest parameters an SQLite statement may take (builds before 3.32)."""


def _sqlite_insert(raw: object, insert: str, row_marks: str, per_statement: int,
                   columns: list[pd.Series]) -> None:
    """Rows as multi-row INSERT statements (`per_statement` rows each, the rest one by one):
    several times fewer statement executions than a row per statement. A bound NaN is NULL."""
    import numpy as np

    rows = len(columns[0])
    cells = np.empty((rows, len(columns)), dtype=object)
    for position, values in enumerate(columns):
        cells[:, position] = values.tolist()
    whole = rows - rows % per_statement
    if whole:
        raw.executemany(  # type: ignore[attr-defined]
            insert + ", ".join([row_marks] * per_statement),
            cells[:whole].reshape(-1, per_statement * len(columns)).tolist())
    if whole < rows:
        raw.executemany(insert + row_marks, cells[whole:].tolist())  # type: ignore[attr-defined]


@contextmanager
def observations_replaced(connection: Connection) -> Iterator[Callable[[DatasetRows], None]]:
    """A function writing one dataset's observations inside the caller's transaction, replacing
    the rows a dataset of that name had: each of its series becomes one `observation_series`,
    each row a narrow `observation`, written in key order with ids above every id in use (so
    SQLite appends them). Rows whose series was replaced are deleted once at the end."""
    import numpy as np
    import pandas as pd

    old_max = connection.execute(select(func.max(observation_series.c.id))).scalar() or 0
    next_id = old_max + 1
    replaced = 0

    def write(dataset: DatasetRows) -> None:
        nonlocal next_id, replaced
        replaced += connection.execute(delete(observation_series).where(
            observation_series.c.dataset == dataset.dataset)).rowcount
        ids = np.arange(next_id, next_id + len(dataset.series))
        next_id += len(dataset.series)
        bulk_insert(connection, observation_series,
                    dataset.series.assign(id=ids, dataset=dataset.dataset))
        insert_columns(connection, observation, {
            "series_id": pd.Series(ids[dataset.rows["series"].to_numpy()]),
            **{c: dataset.rows[c] for c in ROW_COLUMNS}})

    yield write
    if replaced:
        connection.execute(delete(observation).where(
            observation.c.series_id <= old_max, observation.c.series_id.not_in(
                select(observation_series.c.id).where(observation_series.c.id <= old_max))))
