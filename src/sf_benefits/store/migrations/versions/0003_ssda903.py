"""SSDA903 returns: loads, pseudonymised children and their care episodes.

Revision ID: 0003_ssda903
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_ssda903"
down_revision = "0001_foundation"
branch_labels = ("ssda903",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ssda903_load",
        sa.Column("load_id", sa.String(32), primary_key=True),
        sa.Column("la_code", sa.String(9), nullable=False, index=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collection_years", sa.Text, nullable=False),
        sa.Column("source_files", sa.Text, nullable=False),
        sa.Column("children", sa.Integer, nullable=False),
        sa.Column("episodes", sa.Integer, nullable=False),
        sa.Column("data_end", sa.Date, nullable=False),
        sa.Column("key_check", sa.String(64), nullable=False),
    )
    op.create_table(
        "ssda903_child",
        sa.Column("load_id", sa.String(32), primary_key=True),
        sa.Column("child_id", sa.String(64), primary_key=True),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("dob", sa.Date, nullable=False),
        sa.Column("ethnic", sa.String(4), nullable=False),
        sa.ForeignKeyConstraint(["load_id"], ["ssda903_load.load_id"], ondelete="CASCADE"),
    )
    op.create_table(
        "ssda903_episode",
        sa.Column("load_id", sa.String(32), primary_key=True),
        sa.Column("child_id", sa.String(64), primary_key=True),
        sa.Column("decom", sa.Date, primary_key=True),
        sa.Column("dec", sa.Date, nullable=True),
        sa.Column("rne", sa.String(1), nullable=False),
        sa.Column("ls", sa.String(2), nullable=False),
        sa.Column("cin", sa.String(2), nullable=False),
        sa.Column("place", sa.String(3), nullable=False),
        sa.Column("place_provider", sa.String(3), nullable=False),
        sa.Column("rec", sa.String(3), nullable=False),
        sa.Column("reason_place_change", sa.String(6), nullable=False),
        sa.Column("collection_year", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["load_id", "child_id"],
                                ["ssda903_child.load_id", "ssda903_child.child_id"],
                                ondelete="CASCADE"),
    )


def downgrade() -> None:
    for table in ("ssda903_episode", "ssda903_child", "ssda903_load"):
        op.drop_table(table)
