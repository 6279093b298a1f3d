"""Background jobs: long runs (Monte Carlo projections) go to a worker pool; progress is in the DB.

The request that starts a job only inserts a row and hands the job id to the pool, so it returns at
once; the page polls `/api/jobs/{id}`. Workers open their own connection to the store by URL, so a
process pool works as well as a thread pool and several app workers can share one database.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, select, update

from sf_benefits.store import Store
from sf_benefits.web.audit import Actor, record
from sf_benefits.web.messages import user_message
from sf_benefits.web.tables import background_job

Progress = Callable[[float, str], None]
JobFunction = Callable[[Store, dict[str, Any], Progress], dict[str, Any]]
WarmUp = Callable[[Store], None]

JOB_NICENESS = 10
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"

_stores: dict[str, Store] = {}
logger = logging.getLogger(__name__)


def _store_for(url: str) -> Store:
    if url not in _stores:
        _stores[url] = Store.open(url, migrate=False)
    return _stores[url]


def _set(store: Store, job_id: str, **values: Any) -> None:
    with store.transaction() as conn:
        conn.execute(update(background_job).where(background_job.c.id == job_id).values(**values))


def execute_job(store_url: str, job_id: str, function: JobFunction) -> str:
    """Run one queued job with `function` to the end, writing progress, result or error to its
    row (`function` is module-level, so a process worker receives it by reference)."""
    store = _store_for(store_url)
    with store.engine.connect() as conn:
        row = conn.execute(select(background_job).where(background_job.c.id == job_id)).first()
    if row is None:
        return FAILED
    _set(store, job_id, status=RUNNING, started_at=datetime.now(UTC), message="Started")

    def progress(fraction: float, message: str) -> None:
        """Record how far the job has got (0 to 1) and what it is doing."""
        _set(store, job_id, progress=max(0.0, min(1.0, fraction)), message=message)

    try:
        result = function(store, json.loads(row.params), progress)
    except Exception as exc:  # a failed job is reported on its page, never crashes the worker
        logger.exception("job %s failed", job_id)
        _set(store, job_id, status=FAILED, finished_at=datetime.now(UTC),
             message="Failed", error=user_message(exc))
        return FAILED
    _set(store, job_id, status=SUCCEEDED, progress=1.0, finished_at=datetime.now(UTC),
         message="Finished", result=json.dumps(result, default=str))
    return SUCCEEDED


def _start_worker(store_url: str, warm_up: WarmUp | None) -> None:
    """Worker processes yield the CPU to page requests (Monte Carlo runs at a lower priority),
    then run `warm_up` on the store, so the first job does not wait for what it prepares; a
    failed warm-up is logged and leaves the worker as it was."""
    try:
        os.nice(JOB_NICENESS)
    except OSError:
        logger.warning("could not lower the priority of a job worker")
    if warm_up is None:
        return
    try:
        warm_up(_store_for(store_url))
    except Exception:  # the worker still runs jobs; they do the work themselves
        logger.warning("job worker warm-up failed", exc_info=True)


def _warm_up(_function: JobFunction) -> bool:
    """Receiving a job function imports its module (the engines) in a fresh worker, so the first
    real job does not wait for them."""
    return True


class JobRunner:
    """A pool of workers running `functions` (job kind to function); `mode` is "process"
    (default) or "thread".

    Process workers run at a lower CPU priority than the web workers, so Monte Carlo runs never
    slow other users' pages, and are started when the runner is created, each then running
    `warm_up` on the store in the background (the app's start does not wait for it)."""

    def __init__(self, store: Store, functions: Mapping[str, JobFunction],
                 mode: str = "process", workers: int = 2, warm_up: WarmUp | None = None
                 ) -> None:
        self.functions = dict(functions)
        self.store_url = store.engine.url.render_as_string(hide_password=False)
        self.runner_id = f"{socket.gethostname()}:{os.getpid()}"
        fail_orphaned_jobs(store)
        self.executor: Executor
        if mode == "process":
            self.executor = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(self.store_url, warm_up))
            for _ in range(workers):
                self.executor.submit(_warm_up, next(iter(self.functions.values())))
        elif mode == "thread":
            self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sfb-job")
        else:
            raise ValueError(f"job mode must be 'process' or 'thread', not {mode!r}")

    def submit(self, store: Store, kind: str, la_code: str, params: dict[str, Any],
               actor: Actor, scenario_id: int | None = None) -> str:
        """Queue a job (audited) and return its id at once."""
        if kind not in self.functions:
            raise ValueError(f"unknown job kind {kind!r}")
        job_id = secrets.token_hex(16)
        with store.transaction() as conn:
            conn.execute(background_job.insert().values(
                id=job_id, kind=kind, la_code=la_code, scenario_id=scenario_id,
                created_by=actor.user_id or 0, runner=self.runner_id, status=QUEUED,
                progress=0.0, message="Queued",
                params=json.dumps(params, sort_keys=True), created_at=datetime.now(UTC)))
            record(conn, actor, "job.start", la_code=la_code, target_type="job", target_id=job_id,
                   detail={"kind": kind, "scenario_id": scenario_id, **params})
        self.executor.submit(execute_job, self.store_url, job_id, self.functions[kind])
        return job_id

    def shutdown(self) -> None:
        """Stop taking jobs and let running ones finish."""
        self.executor.shutdown(wait=True, cancel_futures=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def fail_orphaned_jobs(store: Store) -> int:
    """Mark as failed the unfinished jobs of app processes on this host that no longer run (the
    app was stopped or restarted mid-run), so their pages stop waiting. Returns how many."""
    host = socket.gethostname()
    with store.engine.connect() as conn:
        rows = conn.execute(select(background_job.c.id, background_job.c.runner).where(
            background_job.c.status.in_((QUEUED, RUNNING)),
            background_job.c.runner.like(f"{host}:%"))).all()
    orphaned = [r.id for r in rows
                if r.runner.rsplit(":", 1)[-1].isdigit()
                and not _alive(int(r.runner.rsplit(":", 1)[-1]))]
    if orphaned:
        with store.transaction() as conn:
            conn.execute(update(background_job).where(background_job.c.id.in_(orphaned)).values(
                status=FAILED, finished_at=datetime.now(UTC), message="Interrupted",
                error="The app stopped before this run finished; please run it again."))
    return len(orphaned)


def job_row(store: Store, job_id: str, with_result: bool = True) -> dict[str, Any] | None:
    """A job's row with its result decoded (left out when `with_result` is False: progress
    polls never need a finished projection's full result), or None when there is no such job."""
    columns = [c for c in background_job.c if with_result or c.name != "result"]
    with store.engine.connect() as conn:
        row = conn.execute(select(*columns).where(background_job.c.id == job_id)
                           ).mappings().first()
    if row is None:
        return None
    job = dict(row)
    if with_result:
        job["result"] = json.loads(job["result"]) if job["result"] else None
    return job


def _latest(store: Store, condition: Any, status: str | None, with_result: bool = True
            ) -> dict[str, Any] | None:
    query = (select(background_job.c.id).where(condition)
             .order_by(background_job.c.created_at.desc()).limit(1))
    if status is not None:
        query = query.where(background_job.c.status == status)
    with store.engine.connect() as conn:
        job_id = conn.execute(query).scalar()
    return job_row(store, job_id, with_result) if job_id else None


def latest_job(store: Store, scenario_id: int, status: str | None = None,
               with_result: bool = True) -> dict[str, Any] | None:
    """The most recent job for a scenario (optionally only with `status`), if it was ever run."""
    return _latest(store, background_job.c.scenario_id == scenario_id, status, with_result)


def latest_la_job(store: Store, la_code: str, kind: str, status: str | None = None,
                  with_result: bool = True) -> dict[str, Any] | None:
    """The most recent job of one kind for an LA (optionally only with `status`)."""
    return _latest(store, and_(background_job.c.la_code == la_code,
                               background_job.c.kind == kind), status, with_result)
