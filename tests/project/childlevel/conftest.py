"""Synthetic returns at 10x one LA with planted rates, checked and pseudonymised once a session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sf_benefits.ingest.ssda903.load import Ssda903Data, read_returns
from sf_benefits.ingest.ssda903.synthetic import SyntheticReturns, generate_returns
from tests.ingest.ssda903.fixtures import TEST_KEY


@pytest.fixture(scope="session")
def planted() -> SyntheticReturns:
    """Five collection years (2019-2023) at ten times an average LA, with known rates."""
    return generate_returns(scale=10, seed=2024)


@pytest.fixture(scope="session")
def planted_files(planted: SyntheticReturns, tmp_path_factory: pytest.TempPathFactory
                  ) -> list[Path]:
    return planted.write(tmp_path_factory.mktemp("planted"))


@pytest.fixture(scope="session")
def planted_data(planted_files: list[Path]) -> Ssda903Data:
    return read_returns(planted_files, "E10000015", key=TEST_KEY)
