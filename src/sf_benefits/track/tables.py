"""Tables of the track engine: implementations, locked baselines and append-only actuals.

Locked baselines and imported actuals are never updated or deleted: the engine refuses, and the
database itself refuses too (triggers created by migration 0002_track).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from sf_benefits.store.schema import metadata

implementation = Table(
    "track_implementation",
    metadata,
    Column("implementation_id", String(36), primary_key=True),
    Column("la_code", String(9), nullable=False, index=True),
    Column("la_name", Text, nullable=False),
    Column("model", String(32), nullable=False),
    Column("go_live_date", Date, nullable=False),
    Column("date_precision", String(16), nullable=False),
    Column("go_live_earliest", Date, nullable=True),
    Column("go_live_latest", Date, nullable=True),
    Column("go_live_basis", Text, nullable=False),
    Column("scenario_name", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("la_code", "model", name="uq_track_implementation_la_model"),
)

baseline_version = Table(
    "track_baseline_version",
    metadata,
    Column("implementation_id", String(36), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("data_vintage", Text, nullable=False),
    Column("assumptions_version", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("seed", Integer, nullable=True),
    Column("price_base_year", String(7), nullable=False),
    Column("reason", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["implementation_id"], ["track_implementation.implementation_id"]),
)

baseline_value = Table(
    "track_baseline_value",
    metadata,
    Column("implementation_id", String(36), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("series", String(16), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("measure", String(48), primary_key=True),
    Column("placement", String(32), primary_key=True),
    Column("p10", Float, nullable=True),
    Column("p50", Float, nullable=True),
    Column("p90", Float, nullable=True),
    ForeignKeyConstraint(
        ["implementation_id", "revision"],
        ["track_baseline_version.implementation_id", "track_baseline_version.revision"],
    ),
)

baseline_unit_cost = Table(
    "track_baseline_unit_cost",
    metadata,
    Column("implementation_id", String(36), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("placement", String(32), primary_key=True),
    Column("annual_cost_gbp", Float, nullable=False),
    Column("price_base_year", String(7), nullable=False),
    Column("source", Text, nullable=False),
    ForeignKeyConstraint(
        ["implementation_id", "revision"],
        ["track_baseline_version.implementation_id", "track_baseline_version.revision"],
    ),
)

actuals_import = Table(
    "track_actuals_import",
    metadata,
    Column("import_id", String(36), primary_key=True),
    Column("la_code", String(9), nullable=False, index=True),
    Column("source", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source_file", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("note", Text, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("la_code", "source", "version", name="uq_track_actuals_version"),
)

actual = Table(
    "track_actual",
    metadata,
    Column("import_id", String(36), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("la_code", String(9), nullable=False, index=True),
    Column("period", String(12), nullable=False),
    Column("granularity", String(8), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("measure", String(16), nullable=False),
    Column("placement", String(32), nullable=False),
    Column("count", Float, nullable=True),
    Column("spend_gbp", Float, nullable=True),
    ForeignKeyConstraint(["import_id"], ["track_actuals_import.import_id"]),
)

IMMUTABLE_TABLES: tuple[str, ...] = (
    "track_baseline_version",
    "track_baseline_value",
    "track_baseline_unit_cost",
    "track_actuals_import",
    "track_actual",
)
