"""Load benchmark of the web app: concurrent users browsing pages and running projections.

Starts `sf-benefits serve` on 127.0.0.1 over a temporary embedded store loaded with the real
published data (--from DIR) or the synthetic DfE data set (or a PostgreSQL URL given with
--database-url), waits until the app has prepared every LA's overview (unless --cold), signs in
one analyst per simulated user (every fifth one a programme-team user), then for --seconds each
user opens each page once (reported apart as "first visit"), then repeatedly opens a page, waits a
think time, and every few actions starts a Monte Carlo projection and follows it to the end as the
browser does. Prints p50/p95/p99/max latency per page, the errors, whether every read endpoint met
the goal, and whether the workers started cleanly (no "Child process died" in the server log).

    .venv/bin/python benchmarks/bench_web.py --seconds 60 --from /work/shared/data --workers 2

Goal: p95 under 300 ms and p99 under 1 s on every read endpoint, zero errors, a clean start.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "benchmark password long enough"
MODEL = "family_safeguarding"


@dataclass
class Results:
    """Latencies (seconds) per page, and every error seen."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, page: str, seconds: float, error: str | None = None) -> None:
        """Record one request's latency, and its error if it failed."""
        with self.lock:
            self.latencies[page].append(seconds)
            if error:
                self.errors.append(f"{page}: {error}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed_store(url: str, folder: Path, n_users: int, source: Path | None, load: bool = True
                ) -> list[tuple[str, str, str]]:
    """Load the data and add one user per simulated user (every fifth one from the programme
    team, the others LA analysts); returns (email, role, la_code)."""
    from sf_benefits.ingest.loader import load_directory
    from sf_benefits.store import Store
    from sf_benefits.web.audit import Actor
    from sf_benefits.web.auth import create_user
    from tests.synthetic_dfe import write_dfe_directory

    store = Store.open(url)
    if load:
        load_directory(store, source or write_dfe_directory(folder / "dfe"))
    with store.engine.connect() as conn:
        from sqlalchemy import select

        from sf_benefits.store.schema import local_authority

        codes = [r[0] for r in conn.execute(select(local_authority.c.la_code)
                                            .order_by(local_authority.c.la_code))]
    users = []
    for i in range(n_users):
        email, la_code = f"bench-user-{i}@example.gov.uk", codes[(i * 7) % len(codes)]
        role = "programme" if i % 5 == 4 else "la_analyst"
        create_user(store, email, f"Bench user {i}", PASSWORD, role,
                    la_code if role == "la_analyst" else None, Actor(None, None, "benchmark"))
        users.append((email, role, la_code))
    store.close()
    return users


@contextmanager
def _server(url: str, workers: int, data_dir: Path, wait_for_warm_up: bool, log: Path
            ) -> Iterator[str]:
    """The app on a free port; its log goes to `log` (a pipe nobody read would stall it)."""
    port = _free_port()
    env = {**os.environ, "SF_BENEFITS_DATA_DIR": str(data_dir), "SF_BENEFITS_JOB_MODE": "process"}
    log_file = log.open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "sf-benefits"), "serve", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers), "--database-url", url, "--no-secure-cookies"],
        env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                prepared = health.json().get("benchmarks", {})
                if health.status_code == 200 and (
                        not wait_for_warm_up or prepared.get("total") is not None
                        and prepared.get("prepared") == prepared.get("total")):
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app did not start: " + log.read_text(errors="replace"))
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log_file.close()


def _overrides() -> dict[str, Any]:
    from tests.web.conftest import runnable_overrides

    return runnable_overrides(MODEL)


def _timed(client: httpx.Client, results: Results, page: str, method: str, url: str,
           **kwargs: Any) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        results.add(page, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        return None
    elapsed = time.perf_counter() - started
    error = None if response.status_code < 400 else f"HTTP {response.status_code}"
    results.add(page, elapsed, error)
    return response


def _user(base: str, email: str, role: str, la_code: str, stop_at: float, think: float,
          run_every: int, draws: int, results: Results, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as client:
        signed = _timed(client, results, "sign in (API)", "POST", "/api/session",
                        json={"email": email, "password": PASSWORD})
        if signed is None or signed.status_code != 200:
            return
        token = signed.json()["csrf_token"]
        if role == "programme":
            _programme_user(client, la_code, stop_at, think, results, rng)
            return
        created = _timed(client, results, "create scenario (API)", "POST",
                         f"/api/las/{la_code}/scenarios", headers={"X-CSRF-Token": token},
                         json={"name": f"Bench {email}", "model": MODEL, "n_draws": draws,
                               "overrides": _overrides()})
        if created is None or created.status_code != 201:
            return
        scenario_id = created.json()["id"]
        pages = [("LA overview", f"/la/{la_code}"), ("scenarios", f"/la/{la_code}/scenarios"),
                 ("scenario", f"/scenarios/{scenario_id}"),
                 ("tracking", f"/la/{la_code}/tracking"),
                 ("tracking (API)", f"/api/las/{la_code}/tracking"),
                 ("benchmark (API)", f"/api/las/{la_code}/benchmark")]
        for name, url in pages:
            _timed(client, results, f"{name} (first visit)", "GET", url)
        action = 0
        while time.monotonic() < stop_at:
            action += 1
            if action % run_every == 0:
                started = time.perf_counter()
                run = _timed(client, results, "start projection (API)", "POST",
                             f"/api/scenarios/{scenario_id}/run",
                             headers={"X-CSRF-Token": token})
                if run is not None and run.status_code == 202:
                    job_id = run.json()["id"]
                    while time.monotonic() < stop_at + 60:
                        job = _timed(client, results, "job progress (API)", "GET",
                                     f"/api/jobs/{job_id}")
                        if job is None or job.json()["status"] in ("succeeded", "failed"):
                            if job is not None and job.json()["status"] == "failed":
                                results.add("projection job", 0.0, job.json()["error"])
                            break
                        time.sleep(0.5)
                    results.add("projection, start to result", time.perf_counter() - started)
            else:
                name, url = rng.choice(pages)
                _timed(client, results, name, "GET", url)
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))


def _programme_user(client: httpx.Client, la_code: str, stop_at: float, think: float,
                    results: Results, rng: random.Random) -> None:
    """A programme-team user: the programme view and any LA's overview and tracking."""
    pages = [("programme", "/programme"), ("programme (API)", "/api/programme"),
             ("LA overview", f"/la/{la_code}"), ("tracking", f"/la/{la_code}/tracking"),
             ("tracking (API)", f"/api/las/{la_code}/tracking")]
    for name, url in pages:
        _timed(client, results, f"{name} (first visit)", "GET", url)
    while time.monotonic() < stop_at:
        name, url = rng.choice(pages)
        _timed(client, results, name, "GET", url)
        time.sleep(rng.uniform(0.5 * think, 1.5 * think))


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


READS_EXCLUDED = ("start projection", "projection", "sign in", "create scenario", "first visit")
"""Not read endpoints: writes, whole runs, and each user's first, uncached visit."""


def _report(results: Results, seconds: float, users: int, workers: int, log: Path) -> None:
    total = sum(len(v) for v in results.latencies.values())
    print(f"\n{users} users for {seconds:.0f} s against 127.0.0.1, {workers} worker(s): "
          f"{total} requests, {total / seconds:.1f} per second\n")
    print(f"{'page':34} {'requests':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
          "  goal")
    missed = []
    for page, values in sorted(results.latencies.items()):
        ordered = sorted(values)
        p95, p99 = _percentile(ordered, 0.95), _percentile(ordered, 0.99)
        read = not any(word in page for word in READS_EXCLUDED)
        met = p95 < 0.3 and p99 < 1.0
        if read and not met:
            missed.append(page)
        print(f"{page:34} {len(values):9d} {statistics.median(values) * 1000:7.0f} "
              f"{p95 * 1000:7.0f} {p99 * 1000:7.0f} {max(values) * 1000:7.0f}  "
              f"{('met' if met else 'MISSED') if read else ''}")
    print(f"\nerrors: {len(results.errors)}")
    for error in results.errors[:20]:
        print(f"  {error}")
    text = log.read_text(errors="replace")
    died = text.count("Child process died")
    print(f"read endpoints over the goal (p95 < 300 ms, p99 < 1 s): {missed or 'none'}")
    print(f"worker start: {'clean' if died == 0 else f'{died} x Child process died'}; "
          f"server log lines with Traceback: {text.count('Traceback')}")
    first = text.find("Traceback")
    if first >= 0:
        print("first traceback in the server log:\n" + "\n".join(
            text[first:].splitlines()[:40]))


def main() -> None:
    """Parse options, start (or use) the app, drive the users, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean pause between a user's actions, seconds")
    parser.add_argument("--run-every", type=int, default=8,
                        help="every n-th action of a user runs a projection")
    parser.add_argument("--draws", type=int, default=1000, help="Monte Carlo draws per run")
    parser.add_argument("--cold", action="store_true",
                        help="start the users at once instead of after the app has prepared "
                             "every LA's overview (as a deployment does before users arrive)")
    parser.add_argument("--database-url", default=None,
                        help="store to seed and serve (default: a temporary SQLite file)")
    parser.add_argument("--from", dest="source", type=Path, default=None,
                        help="load the real published data from this folder (default: the "
                             "synthetic data set)")
    parser.add_argument("--loaded-store", type=Path, default=None,
                        help="a SQLite store already holding the data (from `sf-benefits data "
                             "load`): a copy is used and nothing is loaded")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sfb-bench-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        if args.loaded_store is not None:
            shutil.copyfile(args.loaded_store, Path(folder) / "bench.sqlite")
        data = args.loaded_store or args.source or "the synthetic data set"
        print(f"seeding {url.split('@')[-1]} with {data} and {args.users} users ...")
        users = _seed_store(url, Path(folder), args.users, args.source,
                            load=args.loaded_store is None)
        log = Path(folder) / "server.log"
        with _server(url, args.workers, Path(folder), not args.cold, log) as base:
            results = Results()
            stop_at = time.monotonic() + args.seconds
            threads = [threading.Thread(target=_user, args=(
                base, email, role, la_code, stop_at, args.think, args.run_every, args.draws,
                results, i), daemon=True) for i, (email, role, la_code) in enumerate(users)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            _report(results, args.seconds, args.users, args.workers, log)


if __name__ == "__main__":
    main()
