"""Checks against real published figures in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sf_benefits.benchmark import benchmark_la
from sf_benefits.benchmark.catalogue import indicators
from sf_benefits.benchmark.engine import indicator_names, indicator_values
from sf_benefits.ingest.loader import load_directory
from sf_benefits.ingest.tables import NEIGHBOUR_COLUMN, find_column, read_frame
from sf_benefits.store import Store
from sf_benefits.store.queries import care_history, observations

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('real') / 'store.sqlite'}")
    load_directory(store, shared_data)
    return store


def test_england_cla_at_31_march_2023(real_store: Store) -> None:
    b = benchmark_la(real_store, "Warrington", year=2023,
                     indicator_ids=["cla_rate_per_10k"]).indicators[0]
    assert b.england_value == 70
    from sf_benefits.store.queries import select_rows

    numbers = select_rows(observations(real_store, ["number"]), ["number"],
                          {"population_count": "Children looked after at 31 March each year"})
    england = numbers[(numbers["geographic_level"] == "National") & (numbers["year"] == 2023)]
    assert england["value"].iloc[0] == 83_750


def test_warrington_neighbours_equal_the_published_list(real_store: Store,
                                                        shared_data: Path) -> None:
    files = [p for p in shared_data.rglob("*") if p.suffix.lower() in {".csv", ".xlsx"}
             and "2021" in p.name and "neighbour" in p.name.lower()]
    assert files, "no April 2021 statistical neighbour file in ../shared/data"
    frame = read_frame(files[0])
    name = find_column(list(frame.columns), "la_name")
    assert name is not None
    row = frame[frame[name].str.casefold() == "warrington"].iloc[0]
    published = [row[c] for c in frame.columns if NEIGHBOUR_COLUMN.match(c)
                 and not c.endswith("_code")][:10]
    result = benchmark_la(real_store, "Warrington", neighbour_model="nfer_2021")
    names = [n.la_name for n in result.neighbours]
    codes = [n.old_la_code for n in result.neighbours]
    assert published in (names, codes)
    assert len(pd.unique(pd.Series(names))) == 10


@pytest.mark.parametrize("indicator_id", list(indicators()))
def test_every_indicator_reads_from_the_real_files(real_store: Store, indicator_id: str) -> None:
    b = benchmark_la(real_store, "Warrington", indicator_ids=[indicator_id]).indicators[0]
    assert b.la_value is not None, f"{indicator_id}: no value for Warrington in the real files"
    assert b.las_ranked >= 140, f"{indicator_id}: only {b.las_ranked} LAs have a value in {b.year}"


def test_cin_rate_from_counts_matches_the_published_rate(real_store: Store) -> None:
    """The per-10,000 fallback uses DfE's denominator: where a release gives both the count and
    the rate, the two agree to DfE's rounding for nearly every LA."""
    cin = indicators()["cin_rate_per_10k"]
    frame = observations(real_store, indicator_names(cin))
    assert cin.value is not None and cin.per_10k_children is not None
    published = indicator_values(frame, cin.model_copy(update={"per_10k_children": None}))
    computed = indicator_values(frame, cin.model_copy(update={"value": None}))
    keys = ["year", "geographic_level", "area_code"]
    both = published.merge(computed, on=keys, suffixes=("_published", "_computed")).dropna(
        subset=["value_published", "value_computed"])
    assert len(both) > 500
    close = (both["value_published"] - both["value_computed"]).abs() <= 1
    assert close.mean() > 0.95


def test_placements_add_up_to_england_cla_in_2023(real_store: Store) -> None:
    """Every DfE placement label maps to one placement type, none twice: by placement, the
    children looked after at 31 March 2023 in all LAs add up to their total."""
    history = care_history(real_store)
    cla = history[(history["measure"] == "cla_31_march") & (history["year"] == 2023)]
    total = cla.loc[cla["placement"] == "all", "value"].sum()
    by_type = cla.loc[cla["placement"] != "all", "value"].sum()
    assert total == pytest.approx(83_750, rel=0.01)
    assert by_type == pytest.approx(total, rel=0.03)  # LA cells of 1-5 are suppressed ('c')
    assert by_type <= total
