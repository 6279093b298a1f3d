"""Foundation: LAs, boundary changes, statistical neighbours, observations, loads.

Revision ID: 0001_foundation
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "local_authority",
        sa.Column("la_code", sa.String(9), primary_key=True),
        sa.Column("old_la_code", sa.String(3), nullable=True),
        sa.Column("la_name", sa.Text, nullable=False),
        sa.Column("region_code", sa.String(9), nullable=True),
        sa.Column("region_name", sa.Text, nullable=True),
        sa.Column("first_year", sa.Integer, nullable=True),
        sa.Column("last_year", sa.Integer, nullable=True),
    )
    op.create_table(
        "boundary_change",
        sa.Column("predecessor_code", sa.String(9), primary_key=True),
        sa.Column("successor_code", sa.String(9), primary_key=True),
        sa.Column("first_year", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "statistical_neighbour",
        sa.Column("model", sa.String(32), primary_key=True),
        sa.Column("la_code", sa.String(9), primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("neighbour_code", sa.String(9), nullable=False),
    )
    op.create_table(
        "observation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(120), nullable=False, index=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("time_period", sa.String(16), nullable=False),
        sa.Column("geographic_level", sa.String(32), nullable=False),
        sa.Column("area_code", sa.String(9), nullable=False, index=True),
        sa.Column("breakdown", sa.Text, nullable=False),
        sa.Column("indicator", sa.String(120), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("status", sa.String(8), nullable=True),
        sa.UniqueConstraint(
            "dataset", "year", "geographic_level", "area_code", "breakdown", "indicator",
            name="uq_observation",
        ),
    )
    op.create_table(
        "data_load",
        sa.Column("dataset", sa.String(120), primary_key=True),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("data_load", "observation", "statistical_neighbour", "boundary_change",
                  "local_authority"):
        op.drop_table(table)
