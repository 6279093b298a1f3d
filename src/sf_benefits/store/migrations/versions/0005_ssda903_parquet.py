"""SSDA903 loads: children and episodes stored as one Parquet value each instead of a row each.

Existing loads are converted (same pseudonymised values), then the row tables are dropped.

Revision ID: 0005_ssda903_parquet
Revises: 0003_ssda903
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = "0005_ssda903_parquet"
down_revision = "0003_ssda903"
branch_labels = None
depends_on = None

_EPISODE_COLUMNS = ("child_id", "decom", "dec", "rne", "ls", "cin", "place", "place_provider",
                    "rec", "reason_place_change", "collection_year")


def upgrade() -> None:
    from sf_benefits.ingest.ssda903.load import to_parquet
    from sf_benefits.ssda903_data import Ssda903Data

    table = op.create_table(
        "ssda903_table",
        sa.Column("load_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("parquet", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(["load_id"], ["ssda903_load.load_id"], ondelete="CASCADE"),
    )
    connection = op.get_bind()
    loads = connection.execute(sa.text("SELECT load_id, la_code, data_end FROM ssda903_load"))
    for load_id, la_code, data_end in loads.all():
        where = {"load_id": load_id}
        children = pd.DataFrame(connection.execute(sa.text(
            "SELECT child_id, sex, dob, ethnic FROM ssda903_child WHERE load_id = :load_id"),
            where).all(), columns=["child_id", "sex", "dob", "ethnic"])
        episodes = pd.DataFrame(connection.execute(sa.text(
            f"SELECT {', '.join(_EPISODE_COLUMNS)} FROM ssda903_episode WHERE load_id = :load_id "
            "ORDER BY child_id, decom"), where).all(), columns=list(_EPISODE_COLUMNS))
        for frame, dates in ((children, ("dob",)), (episodes, ("decom", "dec"))):
            for column in dates:
                frame[column] = pd.to_datetime(frame[column])
        data = Ssda903Data(la_code, children, episodes, (), pd.Timestamp(data_end))
        op.bulk_insert(table, [{"load_id": load_id, "name": name, "parquet": blob}
                               for name, blob in to_parquet(data).items()])
    op.drop_table("ssda903_episode")
    op.drop_table("ssda903_child")


def downgrade() -> None:
    from sf_benefits.ingest.ssda903.load import from_parquet

    child = op.create_table(
        "ssda903_child",
        sa.Column("load_id", sa.String(32), primary_key=True),
        sa.Column("child_id", sa.String(64), primary_key=True),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("dob", sa.Date, nullable=False),
        sa.Column("ethnic", sa.String(4), nullable=False),
        sa.ForeignKeyConstraint(["load_id"], ["ssda903_load.load_id"], ondelete="CASCADE"),
    )
    episode = op.create_table(
        "ssda903_episode",
        sa.Column("load_id", sa.String(32), primary_key=True),
        sa.Column("child_id", sa.String(64), primary_key=True),
        sa.Column("decom", sa.Date, primary_key=True),
        sa.Column("dec", sa.Date, nullable=True),
        *[sa.Column(name, sa.String(width), nullable=False) for name, width in (
            ("rne", 1), ("ls", 2), ("cin", 2), ("place", 3), ("place_provider", 3), ("rec", 3),
            ("reason_place_change", 6))],
        sa.Column("collection_year", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["load_id", "child_id"],
                                ["ssda903_child.load_id", "ssda903_child.child_id"],
                                ondelete="CASCADE"),
    )
    connection = op.get_bind()
    for (load_id,) in connection.execute(sa.text("SELECT load_id FROM ssda903_load")).all():
        tables = {str(name): bytes(blob) for name, blob in connection.execute(sa.text(
            "SELECT name, parquet FROM ssda903_table WHERE load_id = :load_id"),
            {"load_id": load_id}).all()}
        data = from_parquet(tables, "", (), pd.Timestamp("2000-01-01"))
        for target, frame in ((child, data.children), (episode, data.episodes)):
            rows = [{"load_id": load_id, **{
                str(column): None if pd.isna(value) else
                value.date() if isinstance(value, pd.Timestamp) else value
                for column, value in record.items()}}
                for record in frame.astype(object).to_dict("records")]
            op.bulk_insert(target, rows)
    op.drop_table("ssda903_table")
