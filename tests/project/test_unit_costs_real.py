"""The LA's own unit costs from the real LAIT table in ../shared/data (skipped when absent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sf_benefits.assumptions import assumptions_for
from sf_benefits.ingest.loader import load_directory
from sf_benefits.project.inputs import projection_data
from sf_benefits.project.unit_costs import LAIT_INDICATORS, local_unit_costs
from sf_benefits.store import Store
from sf_benefits.store.queries import observations

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('real') / 'store.sqlite'}")
    load_directory(store, shared_data)
    yield store
    store.close()


@pytest.fixture(scope="module")
def lait(real_store: Store) -> pd.DataFrame:
    return observations(real_store, list(LAIT_INDICATORS))


def chosen(lait: pd.DataFrame, la_code: str) -> dict[str, tuple[float, str, str]]:
    local = local_unit_costs(lait, la_code, assumptions_for("family_safeguarding"))
    return {p.id.removeprefix("unit_cost_").removesuffix("_weekly"):
            (p.value_at(min(p.values or {})), p.price_base_year or "", p.confidence)
            for p in local.parameters}


def test_warrington_uses_its_own_published_2022_23_unit_costs(lait: pd.DataFrame) -> None:
    assert chosen(lait, "E06000007") == {
        "foster": (670.0, "2022-23", "A"),
        "childrens_homes_secure": (5435.0, "2022-23", "A"),
        "other": (1635.0, "2022-23", "A"),
    }


def test_an_la_whose_figures_are_suppressed_gets_england_2022_23(lait: pd.DataFrame) -> None:
    # the Isles of Scilly's 2022-23 unit costs are published as '-'
    assert chosen(lait, "E06000053") == {
        "foster": (665.0, "2022-23", "B"),
        "childrens_homes_secure": (5980.0, "2022-23", "B"),
        "other": (1610.0, "2022-23", "B"),
    }


def test_a_renamed_la_uses_its_own_unit_costs(real_store: Store) -> None:
    """The LAIT numbers North Yorkshire 815, kept as E10000023; the projection, which knows it as
    E06000065, reads its own 2022-23 foster cost (£400), not England's."""
    unit_costs = projection_data(real_store).unit_costs
    assert chosen(unit_costs, "E06000065")["foster"] == (400.0, "2022-23", "A")
