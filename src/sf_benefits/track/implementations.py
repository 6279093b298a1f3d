"""Record implementations and lock their baseline projection; later revisions sit beside the lock.

A locked baseline (revision 0) is written once, in one transaction, and never changes: a second
lock is refused here, and the database triggers of migration 0002_track refuse any UPDATE or DELETE.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pandera.pandas as pa
import sqlalchemy as sa
from pandera.errors import SchemaErrors
from sqlalchemy import Connection

from sf_benefits.ingest.errors import IngestError, Problem
from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENTS
from sf_benefits.store import Store
from sf_benefits.track import tables
from sf_benefits.track.adopters import DATE_PRECISIONS, MODELS
from sf_benefits.track.connections import reading, writing

SERIES: tuple[str, ...] = ("baseline", "scenario", "business_case")
BASELINE_COLUMNS: tuple[str, ...] = ("series", "year", "measure", "placement", "p10", "p50", "p90")
LOCKED_REVISION = 0
FINANCIAL_YEAR_PATTERN = r"^\d{4}-\d{2}$"


class TrackError(Exception):
    """A request the track engine refuses (unknown implementation, duplicate, wrong state)."""


class BaselineLockedError(TrackError):
    """The baseline of this implementation is already locked and can never be changed."""


@dataclass(frozen=True)
class Implementation:
    """One LA's implementation of one model, with go-live date and how certain that date is."""

    implementation_id: str
    la_code: str
    la_name: str
    model: str
    go_live_date: date
    date_precision: str
    go_live_basis: str
    scenario_name: str
    recorded_at: datetime
    go_live_earliest: date | None = None
    go_live_latest: date | None = None

    @property
    def approximate(self) -> bool:
        """True unless the exact day of go-live is known."""
        return self.date_precision != "day"

    @property
    def model_label(self) -> str:
        """The model's name as the programme writes it."""
        return MODELS[self.model]


@dataclass(frozen=True)
class LockedBaseline:
    """A stored baseline projection: values by series/year/measure/placement plus unit costs.

    `values` has columns series, year, measure, placement, p10, p50, p90; `unit_costs` has
    placement, annual_cost_gbp, price_base_year, source. Revision 0 is the lock made at go-live.
    """

    implementation_id: str
    revision: int
    kind: str
    data_vintage: str
    assumptions_version: str
    method: str
    seed: int | None
    price_base_year: str
    reason: str
    content_sha256: str
    recorded_at: datetime
    values: pd.DataFrame
    unit_costs: pd.DataFrame

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Tidy tables for presenters: the values, the unit costs and one row of provenance."""
        meta = pd.DataFrame([{
            "implementation_id": self.implementation_id, "revision": self.revision,
            "kind": self.kind, "data_vintage": self.data_vintage,
            "assumptions_version": self.assumptions_version, "method": self.method,
            "seed": self.seed, "price_base_year": self.price_base_year, "reason": self.reason,
            "content_sha256": self.content_sha256, "recorded_at": self.recorded_at,
        }])
        return {"baseline_values": self.values.copy(),
                "baseline_unit_costs": self.unit_costs.copy(), "baseline_provenance": meta}


def _now() -> datetime:
    return datetime.now(UTC)


def _row_to_implementation(row: Mapping[Any, Any]) -> Implementation:
    return Implementation(
        implementation_id=str(row["implementation_id"]), la_code=str(row["la_code"]),
        la_name=str(row["la_name"]), model=str(row["model"]),
        go_live_date=row["go_live_date"],
        date_precision=str(row["date_precision"]), go_live_basis=str(row["go_live_basis"]),
        scenario_name=str(row["scenario_name"]),
        recorded_at=row["recorded_at"],
        go_live_earliest=row["go_live_earliest"],
        go_live_latest=row["go_live_latest"],
    )


def record_implementation(
    store: Store, la_code: str, la_name: str, model: str, go_live_date: date, scenario_name: str,
    *, date_precision: str = "day", go_live_basis: str = "Recorded by the LA.",
    go_live_earliest: date | None = None, go_live_latest: date | None = None,
    conn: Connection | None = None,
) -> Implementation:
    """Record that an LA went live with a model on a date, under a named business-case scenario
    (inside `conn`'s transaction when given, so the caller commits it with its own writes)."""
    if model not in MODELS:
        raise TrackError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if date_precision not in DATE_PRECISIONS:
        raise TrackError(f"date precision must be one of {', '.join(DATE_PRECISIONS)}")
    if date_precision == "window" and (go_live_earliest is None or go_live_latest is None):
        raise TrackError("a go-live window needs its earliest and latest dates")
    with reading(store, conn) as read:
        clash = read.execute(sa.select(tables.implementation.c.implementation_id).where(
            tables.implementation.c.la_code == la_code,
            tables.implementation.c.model == model)).first()
    if clash is not None:
        raise TrackError(f"{la_name} ({la_code}) already has a {MODELS[model]} implementation "
                         f"(id {clash[0][:8]}); an LA records each model once")
    record = {
        "implementation_id": str(uuid.uuid4()), "la_code": la_code, "la_name": la_name,
        "model": model, "go_live_date": go_live_date, "date_precision": date_precision,
        "go_live_earliest": go_live_earliest, "go_live_latest": go_live_latest,
        "go_live_basis": go_live_basis, "scenario_name": scenario_name, "recorded_at": _now(),
    }
    with writing(store, conn) as write:
        write.execute(tables.implementation.insert().values(**record))
    return _row_to_implementation(record)


def list_implementations(store: Store) -> list[Implementation]:
    """Every recorded implementation, by model then LA name."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(tables.implementation).order_by(
            tables.implementation.c.model, tables.implementation.c.la_name)).mappings().all()
    return [_row_to_implementation(r) for r in rows]


def get_implementation(store: Store, implementation_id: str, *,
                       conn: Connection | None = None) -> Implementation:
    """One implementation by id (a unique prefix of at least 6 characters also works)."""
    column = tables.implementation.c.implementation_id
    with reading(store, conn) as read:
        rows = read.execute(sa.select(tables.implementation).where(
            column.like(f"{implementation_id}%") if len(implementation_id) >= 6
            else column == implementation_id)).mappings().all()
    if not rows:
        raise TrackError(f"no implementation has the id {implementation_id!r}")
    if len(rows) > 1:
        raise TrackError(f"{len(rows)} implementations have ids starting {implementation_id!r}; "
                         "give more of the id")
    return _row_to_implementation(rows[0])


def withdraw_implementation(store: Store, implementation_id: str, *,
                            conn: Connection | None = None) -> Implementation:
    """Delete an implementation recorded in error, which is allowed only while it has no locked
    baseline (inside `conn`'s transaction when given, so the caller audits it in the same one)."""
    with writing(store, conn) as write:
        implementation = get_implementation(store, implementation_id, conn=write)
        locked = write.execute(sa.select(sa.func.count()).select_from(tables.baseline_version)
                               .where(tables.baseline_version.c.implementation_id
                                      == implementation.implementation_id)).scalar_one()
        if locked:
            raise BaselineLockedError(
                f"{implementation.la_name}'s {implementation.model_label} implementation has a "
                "locked baseline, so it stays on record for ever")
        write.execute(tables.implementation.delete().where(
            tables.implementation.c.implementation_id == implementation.implementation_id))
    return implementation


_BASELINE_SCHEMA = pa.DataFrameSchema(
    {
        "series": pa.Column(str, pa.Check(lambda s: s.isin(SERIES), name="series_known")),
        "year": pa.Column(int, pa.Check(lambda s: s.between(1990, 2100), name="year_plausible")),
        "measure": pa.Column(str, pa.Check(lambda s: s.str.len().between(1, 48),
                                           name="measure_named")),
        "placement": pa.Column(str, pa.Check(lambda s: s.isin((*PLACEMENTS, ALL_PLACEMENTS)),
                                             name="placement_known")),
        "p10": pa.Column(float, nullable=True),
        "p50": pa.Column(float, nullable=True),
        "p90": pa.Column(float, nullable=True),
    },
    checks=[
        pa.Check(lambda f: (f["p10"].isna() | f["p50"].isna() | (f["p10"] <= f["p50"] + 1e-9))
                 & (f["p50"].isna() | f["p90"].isna() | (f["p50"] <= f["p90"] + 1e-9)),
                 name="p10_le_p50_le_p90"),
    ],
    unique=["series", "year", "measure", "placement"],
    strict=True,
    coerce=True,
)


def _validate_baseline_table(table: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [c for c in BASELINE_COLUMNS if c not in table.columns]
    if missing:
        raise IngestError([Problem(source, None, c, "column_required",
                                   "the baseline table needs this column") for c in missing])
    frame = table.loc[:, list(BASELINE_COLUMNS)].reset_index(drop=True)
    try:
        frame = _BASELINE_SCHEMA.validate(frame, lazy=True)
    except SchemaErrors as exc:
        problems = [
            Problem(source, int(r["index"]) + 1 if pd.notna(r["index"]) else None,
                    None if pd.isna(r["column"]) else str(r["column"]), str(r["check"]),
                    f"failed for value {r['failure_case']!r}")
            for r in exc.failure_cases.to_dict("records")
        ]
        raise IngestError(problems) from exc
    needed = frame[(frame["series"] == "baseline") & (frame["measure"] == "cla_31_march")
                   & (frame["placement"] == ALL_PLACEMENTS)]
    if needed.empty or needed["p50"].isna().all():
        raise IngestError([Problem(source, None, "measure", "baseline_cla_required",
                                   "needs series 'baseline', measure 'cla_31_march', placement "
                                   "'all' with P50 values")])
    return frame.sort_values(["series", "measure", "placement", "year"]).reset_index(drop=True)


def _validate_unit_costs(unit_costs: Mapping[str, float], price_base_year: str,
                         source: str) -> pd.DataFrame:
    problems: list[Problem] = []
    if not re.match(FINANCIAL_YEAR_PATTERN, price_base_year):
        problems.append(Problem(source, None, "price_base_year", "financial_year",
                                f"{price_base_year!r} is not a financial year like '2024-25'"))
    if not unit_costs:
        problems.append(Problem(source, None, "unit_costs", "unit_costs_required",
                                "the business case's unit costs are needed to value benefits"))
    for placement, cost in unit_costs.items():
        if placement not in (*PLACEMENTS, ALL_PLACEMENTS):
            problems.append(Problem(source, None, placement, "placement_known",
                                    "unit cost for an unknown placement"))
        elif not (pd.notna(cost) and float(cost) > 0):
            problems.append(Problem(source, None, placement, "cost_positive",
                                    f"annual unit cost must be > 0, got {cost!r}"))
    if problems:
        raise IngestError(problems)
    return pd.DataFrame([{"placement": p, "annual_cost_gbp": float(c),
                          "price_base_year": price_base_year} for p, c in unit_costs.items()]
                        ).sort_values("placement").reset_index(drop=True)


def _content_hash(values: pd.DataFrame, costs: pd.DataFrame, meta: Mapping[str, object]) -> str:
    digest = hashlib.sha256()
    digest.update(values.to_csv(index=False, float_format="%.10g").encode())
    digest.update(costs.to_csv(index=False, float_format="%.10g").encode())
    digest.update(repr(sorted((k, str(v)) for k, v in meta.items())).encode())
    return digest.hexdigest()


def _write_baseline(
    store: Store, implementation_id: str, revision: int, kind: str, table: pd.DataFrame,
    unit_costs: Mapping[str, float], price_base_year: str, data_vintage: str,
    assumptions_version: str, method: str, seed: int | None, reason: str, unit_cost_source: str,
    conn: Connection | None = None,
) -> LockedBaseline:
    source = f"baseline for {implementation_id}"
    values = _validate_baseline_table(table, source)
    costs = _validate_unit_costs(unit_costs, price_base_year, source)
    costs["source"] = unit_cost_source
    meta = {"data_vintage": data_vintage, "assumptions_version": assumptions_version,
            "method": method, "seed": seed, "price_base_year": price_base_year}
    sha = _content_hash(values, costs, meta)
    recorded_at = _now()
    version_row = {"implementation_id": implementation_id, "revision": revision, "kind": kind,
                   "reason": reason, "content_sha256": sha, "recorded_at": recorded_at, **meta}
    value_rows = [
        {"implementation_id": implementation_id, "revision": revision,
         **{str(k): (None if pd.isna(v) else v) for k, v in rec.items()}}
        for rec in values.to_dict("records")
    ]
    cost_rows = [{"implementation_id": implementation_id, "revision": revision,
                  **{str(k): v for k, v in rec.items()}} for rec in costs.to_dict("records")]
    with writing(store, conn) as write:
        exists = write.execute(sa.select(tables.baseline_version.c.revision).where(
            tables.baseline_version.c.implementation_id == implementation_id,
            tables.baseline_version.c.revision == revision)).first()
        if exists is not None:
            raise BaselineLockedError(
                f"implementation {implementation_id} already has baseline revision {revision}; "
                "a locked baseline never changes (record a data revision beside it instead)")
        write.execute(tables.baseline_version.insert().values(**version_row))
        write.execute(tables.baseline_value.insert(), value_rows)
        write.execute(tables.baseline_unit_cost.insert(), cost_rows)
    return LockedBaseline(implementation_id, revision, kind, data_vintage, assumptions_version,
                          method, seed, price_base_year, reason, sha, recorded_at, values, costs)


def lock_baseline(
    store: Store, implementation_id: str, table: pd.DataFrame, unit_costs: Mapping[str, float],
    *, price_base_year: str, data_vintage: str, assumptions_version: str, method: str,
    seed: int | None = None, unit_cost_source: str = "business case",
    conn: Connection | None = None,
) -> LockedBaseline:
    """Lock the go-live baseline: values P10/P50/P90 by series/year/measure/placement, unit costs.

    `table` is the tidy table with columns series (baseline|scenario), year, measure, placement,
    p10, p50, p90 — the shape `baseline_table_from_projection` makes from a projection result.
    Raises BaselineLockedError if the baseline is already locked; nothing is written then.
    With `conn`, the lock is written in the caller's transaction (which may hold the
    implementation's own, uncommitted row).
    """
    implementation = get_implementation(store, implementation_id, conn=conn)
    return _write_baseline(store, implementation.implementation_id, LOCKED_REVISION, "locked",
                           table, unit_costs, price_base_year, data_vintage, assumptions_version,
                           method, seed, "baseline locked at go-live", unit_cost_source, conn)


def record_baseline_revision(
    store: Store, implementation_id: str, table: pd.DataFrame, unit_costs: Mapping[str, float],
    *, price_base_year: str, data_vintage: str, assumptions_version: str, method: str,
    reason: str, seed: int | None = None, unit_cost_source: str = "business case",
) -> LockedBaseline:
    """Store a re-run of the baseline on revised data beside the lock (the lock is untouched)."""
    implementation = get_implementation(store, implementation_id)
    with store.engine.connect() as conn:
        top = conn.execute(sa.select(sa.func.max(tables.baseline_version.c.revision)).where(
            tables.baseline_version.c.implementation_id == implementation.implementation_id)
        ).scalar()
    if top is None:
        raise TrackError("lock the baseline before recording revisions beside it")
    return _write_baseline(store, implementation.implementation_id, int(top) + 1, "revision",
                           table, unit_costs, price_base_year, data_vintage, assumptions_version,
                           method, seed, reason, unit_cost_source)


def baseline_revisions(store: Store, implementation_id: str) -> list[int]:
    """Revision numbers stored for an implementation (0 is the lock)."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(tables.baseline_version.c.revision).where(
            tables.baseline_version.c.implementation_id == implementation_id).order_by(
            tables.baseline_version.c.revision)).all()
    return [int(r[0]) for r in rows]


def load_baseline(store: Store, implementation_id: str,
                  revision: int = LOCKED_REVISION) -> LockedBaseline:
    """Read a stored baseline (by default the lock) back from the store."""
    v = tables.baseline_version
    with store.engine.connect() as conn:
        meta = conn.execute(sa.select(v).where(v.c.implementation_id == implementation_id,
                                               v.c.revision == revision)).mappings().first()
        if meta is None:
            implementation = get_implementation(store, implementation_id, conn=conn)
            what = ("no locked baseline yet" if revision == LOCKED_REVISION
                    else f"no baseline revision {revision}")
            raise TrackError(f"{implementation.la_name}'s {implementation.model_label} "
                             f"implementation (id {implementation_id[:8]}) has {what}")
        values = pd.read_sql(sa.select(*[tables.baseline_value.c[c] for c in BASELINE_COLUMNS])
                             .where(tables.baseline_value.c.implementation_id == implementation_id,
                                    tables.baseline_value.c.revision == revision), conn)
        costs = pd.read_sql(sa.select(tables.baseline_unit_cost.c.placement,
                                      tables.baseline_unit_cost.c.annual_cost_gbp,
                                      tables.baseline_unit_cost.c.price_base_year,
                                      tables.baseline_unit_cost.c.source)
                            .where(tables.baseline_unit_cost.c.implementation_id
                                   == implementation_id,
                                   tables.baseline_unit_cost.c.revision == revision), conn)
    values = values.astype({"year": int, "p10": float, "p50": float, "p90": float}).sort_values(
        ["series", "measure", "placement", "year"]).reset_index(drop=True)
    costs = costs.sort_values("placement").reset_index(drop=True)
    return LockedBaseline(
        implementation_id, revision, str(meta["kind"]), str(meta["data_vintage"]),
        str(meta["assumptions_version"]), str(meta["method"]),
        None if meta["seed"] is None else int(meta["seed"]), str(meta["price_base_year"]),
        str(meta["reason"]), str(meta["content_sha256"]), meta["recorded_at"], values, costs)


def verify_baseline(store: Store, implementation_id: str, revision: int = LOCKED_REVISION) -> bool:
    """Recompute the stored baseline's content hash: True when it is exactly as locked."""
    baseline = load_baseline(store, implementation_id, revision)
    meta = {"data_vintage": baseline.data_vintage,
            "assumptions_version": baseline.assumptions_version, "method": baseline.method,
            "seed": baseline.seed, "price_base_year": baseline.price_base_year}
    return _content_hash(baseline.values, baseline.unit_costs, meta) == baseline.content_sha256
