"""The store's one schema. Every engine's tables hang off `metadata`; migrations create them."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

local_authority = Table(
    "local_authority",
    metadata,
    Column("la_code", String(9), primary_key=True),
    Column("old_la_code", String(3), nullable=True),
    Column("la_name", Text, nullable=False),
    Column("region_code", String(9), nullable=True),
    Column("region_name", Text, nullable=True),
    Column("first_year", Integer, nullable=True),
    Column("last_year", Integer, nullable=True),
)

boundary_change = Table(
    "boundary_change",
    metadata,
    Column("predecessor_code", String(9), primary_key=True),
    Column("successor_code", String(9), primary_key=True),
    Column("first_year", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("note", Text, nullable=False),
)

statistical_neighbour = Table(
    "statistical_neighbour",
    metadata,
    Column("model", String(32), primary_key=True),
    Column("la_code", String(9), primary_key=True),
    Column("rank", Integer, primary_key=True),
    Column("neighbour_code", String(9), nullable=False),
)

observation_series = Table(
    "observation_series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("dataset", String(120), nullable=False),
    Column("indicator", String(120), nullable=False),
    Column("geographic_level", String(32), nullable=False),
    Column("breakdown", Text, nullable=False),
    Index("uq_observation_series", "indicator", "dataset", "geographic_level", "breakdown",
          unique=True),
    Index("ix_observation_series_dataset", "dataset"),
)
"""What a run of published figures shares: the file (dataset), indicator column, geographic
level and breakdown (the file's filters, `a=x|b=y`). Led by the indicator, which every engine
query selects on. Ids are given by the loader, new series above every id in use."""

observation = Table(
    "observation",
    metadata,
    Column("series_id", Integer, nullable=False, autoincrement=False),
    Column("area_code", String(9), nullable=False),
    Column("year", Integer, nullable=False, autoincrement=False),
    Column("time_period", String(16), nullable=False),
    Column("value", Float, nullable=True),
    Column("status", String(8), nullable=True),
    PrimaryKeyConstraint("series_id", "area_code", "year", name="pk_observation"),
    sqlite_with_rowid=False,
)
"""One published figure of a series: narrow, and on SQLite stored in key order (WITHOUT ROWID),
so the loader, writing each dataset's rows in key order, appends them with no index to build.
No foreign key to the series: the loader writes both in one transaction."""

data_load = Table(
    "data_load",
    metadata,
    Column("dataset", String(120), primary_key=True),
    Column("source_file", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)
