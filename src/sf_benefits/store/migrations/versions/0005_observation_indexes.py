"""Observation indexes a bulk load can drop and rebuild: one unique index led by the indicator
(what every engine query selects on) instead of a table constraint and two single-column indexes.

Revision ID: 0005_observation_indexes
Revises: 0001_foundation
"""

from __future__ import annotations

from alembic import op

revision = "0005_observation_indexes"
down_revision = "0001_foundation"
branch_labels = ("observation_indexes",)
depends_on = None

KEY = ["indicator", "area_code", "year", "dataset", "geographic_level", "breakdown"]


def upgrade() -> None:
    with op.batch_alter_table("observation", recreate="always") as batch:
        batch.drop_constraint("uq_observation", type_="unique")
        batch.drop_index("ix_observation_dataset")
        batch.drop_index("ix_observation_area_code")
    op.create_index("uq_observation", "observation", KEY, unique=True)


def downgrade() -> None:
    op.drop_index("uq_observation", "observation")
    with op.batch_alter_table("observation", recreate="always") as batch:
        batch.create_unique_constraint(
            "uq_observation",
            ["dataset", "year", "geographic_level", "area_code", "breakdown", "indicator"])
        batch.create_index("ix_observation_dataset", ["dataset"])
        batch.create_index("ix_observation_area_code", ["area_code"])
