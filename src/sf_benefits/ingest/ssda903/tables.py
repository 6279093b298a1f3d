"""Store tables for SSDA903 returns: one row per load, and its children and episodes as Parquet.

No raw child identifier, postcode, URN, UPN or mother's details is ever written: `child_id` is a
keyed hash (HMAC-SHA256) of the LA's CHILD identifier. The tables of a load are columnar data read
whole by the engine, so each is one Parquet value (`load.to_parquet`), written and read in one
statement on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from sf_benefits.store.schema import metadata

ssda903_load = Table(
    "ssda903_load",
    metadata,
    Column("load_id", String(32), primary_key=True),
    Column("la_code", String(9), nullable=False, index=True),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("collection_years", Text, nullable=False),
    Column("source_files", Text, nullable=False),
    Column("children", Integer, nullable=False),
    Column("episodes", Integer, nullable=False),
    Column("data_end", Date, nullable=False),
    Column("key_check", String(64), nullable=False),
)

ssda903_table = Table(
    "ssda903_table",
    metadata,
    Column("load_id", String(32), primary_key=True),
    Column("name", String(16), primary_key=True),
    Column("parquet", LargeBinary, nullable=False),
    ForeignKeyConstraint(["load_id"], ["ssda903_load.load_id"], ondelete="CASCADE"),
)
