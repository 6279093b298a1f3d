"""Observations stored in key order: the key (series, area, year) becomes the table's primary key,
and on SQLite the table is clustered on it (WITHOUT ROWID), so rows written in key order are
appended and no separate index has to be built: less work at load and a smaller file.

Revision ID: 0007_observation_clustered
Revises: 0006_observation_series
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_observation_clustered"
down_revision = "0006_observation_series"
branch_labels = None
depends_on = None

KEY = ["series_id", "area_code", "year"]
COLUMNS = "series_id, area_code, year, time_period, value, status"


def _columns() -> list[sa.Column]:
    return [sa.Column("series_id", sa.Integer, nullable=False, autoincrement=False),
            sa.Column("area_code", sa.String(9), nullable=False),
            sa.Column("year", sa.Integer, nullable=False, autoincrement=False),
            sa.Column("time_period", sa.String(16), nullable=False),
            sa.Column("value", sa.Float, nullable=True),
            sa.Column("status", sa.String(8), nullable=True)]


def _moved_to(new_table: str) -> None:
    op.execute(f"INSERT INTO {new_table} ({COLUMNS}) SELECT {COLUMNS} FROM observation "
               f"ORDER BY {', '.join(KEY)}")
    op.drop_table("observation")
    op.rename_table(new_table, "observation")


def upgrade() -> None:
    op.create_table("observation_clustered", *_columns(),
                    sa.PrimaryKeyConstraint(*KEY, name="pk_observation"), sqlite_with_rowid=False)
    _moved_to("observation_clustered")


def downgrade() -> None:
    op.create_table("observation_heap", *_columns())
    _moved_to("observation_heap")
    op.create_index("uq_observation", "observation", KEY, unique=True)
