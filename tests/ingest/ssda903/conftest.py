"""Fixtures for the SSDA903 ingest tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest.ssda903.fixtures import write_small_returns


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: installs and runs csc-validator-be-903 (CI only)")


@pytest.fixture(scope="session")
def return_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """CSV header and episodes files of two collection years (do not modify them)."""
    return write_small_returns(tmp_path_factory.mktemp("ssda903"))
