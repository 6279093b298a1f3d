"""Shared fixtures: a synthetic DfE data directory and a store loaded from it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sf_benefits.config import DATA_DIR_ENV, DATABASE_URL_ENV, OUTPUT_DIR_ENV
from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store
from tests.synthetic_dfe import write_dfe_directory

SHARED_DATA = Path(os.environ.get("SF_BENEFITS_SOURCE_DIR")
                   or Path(__file__).resolve().parents[2] / "shared" / "data")
"""The real published data: SF_BENEFITS_SOURCE_DIR if set, else ../shared/data beside the repo."""

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With CI=true a skip is a failure: missing data, database, browser or validator must not
    pass unnoticed. Tests that do not apply to a parameter are deselected, never skipped."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped with CI=true, where nothing may be skipped: {reason}"


@pytest.fixture(autouse=True)
def own_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test has its own empty store folder and output folder, never the user's store or
    whatever SF_BENEFITS_DATABASE_URL names (a test that needs its own sets it again)."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv(OUTPUT_DIR_ENV, str(tmp_path_factory.mktemp("out")))
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)


@pytest.fixture(scope="session")
def dfe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dfe_directory(tmp_path_factory.mktemp("dfe"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty embedded store in a temporary directory."""
    opened = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def loaded_store(tmp_path_factory: pytest.TempPathFactory, dfe_dir: Path) -> Iterator[Store]:
    """An embedded store holding the synthetic data set (shared: tests must not write to it)."""
    opened = Store.open(f"sqlite:///{tmp_path_factory.mktemp('loaded') / 'store.sqlite'}")
    load_directory(opened, dfe_dir)
    yield opened
    opened.close()


def fresh_postgres_database(server_url: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database on the server; return its URL and the function that drops it."""
    name = f"sfb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server_url.rsplit("/", 1)[0] + f"/{name}", drop


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty database on a real PostgreSQL server, dropped after the test.
    The server comes from SF_BENEFITS_TEST_POSTGRES_URL, which CI sets."""
    server = os.environ.get("SF_BENEFITS_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("SF_BENEFITS_TEST_POSTGRES_URL not set: PostgreSQL store tests run in CI")
    url, drop = fresh_postgres_database(server)
    yield url
    drop()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real published data; tests using it skip when it is absent (and fail with CI=true)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set SF_BENEFITS_SOURCE_DIR or put "
                    "it in ../shared/data beside the repository)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_data_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store loaded once from the real data (for the tests marked shared_data)."""
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('real') / 'store.sqlite'}")
    load_directory(store, shared_data)
    return store
