"""Observations as narrow rows keyed by series: the dataset, indicator, geographic level and
breakdown a figure shares with thousands of others are stored once in `observation_series`, so a
row holds only its series id, area, year, period, value and status. Existing observations are
moved across unchanged.

Revision ID: 0006_observation_series
Revises: 0005_observation_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_observation_series"
down_revision = "0005_observation_indexes"
branch_labels = None
depends_on = None

SERIES = ["dataset", "indicator", "geographic_level", "breakdown"]
OLD_KEY = ["indicator", "area_code", "year", "dataset", "geographic_level", "breakdown"]


def upgrade() -> None:
    op.create_table(
        "observation_series",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("dataset", sa.String(120), nullable=False),
        sa.Column("indicator", sa.String(120), nullable=False),
        sa.Column("geographic_level", sa.String(32), nullable=False),
        sa.Column("breakdown", sa.Text, nullable=False),
    )
    op.create_index("uq_observation_series", "observation_series",
                    ["indicator", "dataset", "geographic_level", "breakdown"], unique=True)
    op.create_index("ix_observation_series_dataset", "observation_series", ["dataset"])
    op.create_table(
        "observation_row",
        sa.Column("series_id", sa.Integer, nullable=False),
        sa.Column("area_code", sa.String(9), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("time_period", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("status", sa.String(8), nullable=True),
    )
    columns = ", ".join(SERIES)
    op.execute(f"INSERT INTO observation_series (id, {columns}) SELECT "
               f"ROW_NUMBER() OVER (ORDER BY {columns}), {columns} FROM "
               f"(SELECT DISTINCT {columns} FROM observation) AS distinct_series")
    same_series = " AND ".join(f"s.{c} = o.{c}" for c in SERIES)
    op.execute("INSERT INTO observation_row (series_id, area_code, year, time_period, value, "
               "status) SELECT s.id, o.area_code, o.year, o.time_period, o.value, o.status "
               f"FROM observation o JOIN observation_series s ON {same_series}")
    op.drop_table("observation")
    op.rename_table("observation_row", "observation")
    op.create_index("uq_observation", "observation", ["series_id", "area_code", "year"],
                    unique=True)


def downgrade() -> None:
    op.create_table(
        "observation_wide",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(120), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("time_period", sa.String(16), nullable=False),
        sa.Column("geographic_level", sa.String(32), nullable=False),
        sa.Column("area_code", sa.String(9), nullable=False),
        sa.Column("breakdown", sa.Text, nullable=False),
        sa.Column("indicator", sa.String(120), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("status", sa.String(8), nullable=True),
    )
    op.execute("INSERT INTO observation_wide (dataset, year, time_period, geographic_level, "
               "area_code, breakdown, indicator, value, status) SELECT s.dataset, o.year, "
               "o.time_period, s.geographic_level, o.area_code, s.breakdown, s.indicator, "
               "o.value, o.status FROM observation o JOIN observation_series s ON s.id = o.series_id")
    op.drop_table("observation")
    op.drop_table("observation_series")
    op.rename_table("observation_wide", "observation")
    op.create_index("uq_observation", "observation", OLD_KEY, unique=True)
