"""Track: implementations, locked baselines (immutable), append-only versioned actuals.

Revision ID: 0002_track
Revises: 0001_foundation

Locked baselines and imported actuals are protected in the database itself: a trigger refuses
every UPDATE or DELETE (and TRUNCATE on PostgreSQL) of their rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_track"
down_revision = "0001_foundation"
branch_labels = ("track",)
depends_on = None

IMMUTABLE = (
    "track_baseline_version",
    "track_baseline_value",
    "track_baseline_unit_cost",
    "track_actuals_import",
    "track_actual",
)


def _create_tables() -> None:
    op.create_table(
        "track_implementation",
        sa.Column("implementation_id", sa.String(36), primary_key=True),
        sa.Column("la_code", sa.String(9), nullable=False, index=True),
        sa.Column("la_name", sa.Text, nullable=False),
        sa.Column("model", sa.String(32), nullable=False),
        sa.Column("go_live_date", sa.Date, nullable=False),
        sa.Column("date_precision", sa.String(16), nullable=False),
        sa.Column("go_live_earliest", sa.Date, nullable=True),
        sa.Column("go_live_latest", sa.Date, nullable=True),
        sa.Column("go_live_basis", sa.Text, nullable=False),
        sa.Column("scenario_name", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("la_code", "model", name="uq_track_implementation_la_model"),
    )
    op.create_table(
        "track_baseline_version",
        sa.Column("implementation_id", sa.String(36), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("data_vintage", sa.Text, nullable=False),
        sa.Column("assumptions_version", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("seed", sa.Integer, nullable=True),
        sa.Column("price_base_year", sa.String(7), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["implementation_id"],
                                ["track_implementation.implementation_id"]),
    )
    op.create_table(
        "track_baseline_value",
        sa.Column("implementation_id", sa.String(36), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("series", sa.String(16), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("measure", sa.String(48), primary_key=True),
        sa.Column("placement", sa.String(32), primary_key=True),
        sa.Column("p10", sa.Float, nullable=True),
        sa.Column("p50", sa.Float, nullable=True),
        sa.Column("p90", sa.Float, nullable=True),
        sa.ForeignKeyConstraint(
            ["implementation_id", "revision"],
            ["track_baseline_version.implementation_id", "track_baseline_version.revision"],
        ),
    )
    op.create_table(
        "track_baseline_unit_cost",
        sa.Column("implementation_id", sa.String(36), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("placement", sa.String(32), primary_key=True),
        sa.Column("annual_cost_gbp", sa.Float, nullable=False),
        sa.Column("price_base_year", sa.String(7), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["implementation_id", "revision"],
            ["track_baseline_version.implementation_id", "track_baseline_version.revision"],
        ),
    )
    op.create_table(
        "track_actuals_import",
        sa.Column("import_id", sa.String(36), primary_key=True),
        sa.Column("la_code", sa.String(9), nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("la_code", "source", "version", name="uq_track_actuals_version"),
    )
    op.create_table(
        "track_actual",
        sa.Column("import_id", sa.String(36), primary_key=True),
        sa.Column("row_number", sa.Integer, primary_key=True),
        sa.Column("la_code", sa.String(9), nullable=False, index=True),
        sa.Column("period", sa.String(12), nullable=False),
        sa.Column("granularity", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("measure", sa.String(16), nullable=False),
        sa.Column("placement", sa.String(32), nullable=False),
        sa.Column("count", sa.Float, nullable=True),
        sa.Column("spend_gbp", sa.Float, nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["track_actuals_import.import_id"]),
    )


def _create_guards() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION track_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'sf-benefits: % on % refused: locked baselines and imported '
                    'actuals are immutable', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in IMMUTABLE:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION track_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION track_refuse_change()"
            )
    else:
        for table in IMMUTABLE:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'sf-benefits: {action} on {table} refused: "
                    "locked baselines and imported actuals are immutable'); END"
                )


def upgrade() -> None:
    _create_tables()
    _create_guards()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in IMMUTABLE:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS track_refuse_change()")
    for table in ("track_actual", "track_actuals_import", "track_baseline_unit_cost",
                  "track_baseline_value", "track_baseline_version", "track_implementation"):
        op.drop_table(table)
