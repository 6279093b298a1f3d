"""Tables the web app keeps: users, sessions, log-in attempts, audit log, saved scenarios, jobs."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from sf_benefits.store.schema import metadata

web_user = Table(
    "web_user",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("full_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("la_code", String(9), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

web_session = Table(
    "web_session",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("web_user.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

login_attempt = Table(
    "login_attempt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ip", String(64), nullable=False),
    Column("email", String(254), nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index("ix_login_attempt_ip_email_at", "ip", "email", "attempted_at"),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("user_email", String(254), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("la_code", String(9), nullable=True, index=True),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=True),
    Column("target_id", String(64), nullable=True),
    Column("detail", Text, nullable=False),
)

saved_scenario = Table(
    "saved_scenario",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("la_code", String(9), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("model", String(64), nullable=False),
    Column("method", String(32), nullable=False),
    Column("horizon_years", Integer, nullable=False),
    Column("n_draws", Integer, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("overrides", Text, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("created_by", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

background_job = Table(
    "background_job",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("la_code", String(9), nullable=False, index=True),
    Column("scenario_id", Integer, nullable=True, index=True),
    Column("created_by", Integer, nullable=False),
    Column("runner", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("result", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)
