"""Synthetic SSDA903 returns for the ingest and child-level engine tests (written once a session)."""

from __future__ import annotations

from pathlib import Path

from sf_benefits.ingest.ssda903.synthetic import SyntheticReturns, generate_returns

TEST_KEY = bytes.fromhex("5be0c1a3f2d74e98a6b1c07d3e29f41856ac8b07d9e2f3146a5c7e8b90d1f2a3")
"""A fixed random key for tests (keys must be random: see `load.check_key`)."""


def small_returns() -> SyntheticReturns:
    """Two collection years of one small LA (a fifth of an average LA), fast to check."""
    return generate_returns(years=(2022, 2023), scale=0.2, seed=11)


def write_small_returns(folder: Path) -> list[Path]:
    """The small returns as CSV files, header and episodes per year."""
    return small_returns().write(folder)
