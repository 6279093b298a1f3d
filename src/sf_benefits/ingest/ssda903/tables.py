"""Store tables for SSDA903 returns: one row per load, per pseudonymised child and per episode.

No raw child identifier, postcode, URN, UPN or mother's details is ever written: `child_id` is a
keyed hash (HMAC-SHA256) of the LA's CHILD identifier.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Integer,
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

ssda903_child = Table(
    "ssda903_child",
    metadata,
    Column("load_id", String(32), primary_key=True),
    Column("child_id", String(64), primary_key=True),
    Column("sex", String(1), nullable=False),
    Column("dob", Date, nullable=False),
    Column("ethnic", String(4), nullable=False),
    ForeignKeyConstraint(["load_id"], ["ssda903_load.load_id"], ondelete="CASCADE"),
)

ssda903_episode = Table(
    "ssda903_episode",
    metadata,
    Column("load_id", String(32), primary_key=True),
    Column("child_id", String(64), primary_key=True),
    Column("decom", Date, primary_key=True),
    Column("dec", Date, nullable=True),
    Column("rne", String(1), nullable=False),
    Column("ls", String(2), nullable=False),
    Column("cin", String(2), nullable=False),
    Column("place", String(3), nullable=False),
    Column("place_provider", String(3), nullable=False),
    Column("rec", String(3), nullable=False),
    Column("reason_place_change", String(6), nullable=False),
    Column("collection_year", Integer, nullable=False),
    ForeignKeyConstraint(["load_id", "child_id"], ["ssda903_child.load_id",
                                                   "ssda903_child.child_id"], ondelete="CASCADE"),
)
