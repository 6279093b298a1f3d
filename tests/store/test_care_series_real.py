"""Each LA's stitched series on the real published files (../shared/data), checked against the
figures the DfE published."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sf_benefits.ingest.history import read_history
from sf_benefits.ingest.loader import load_directory
from sf_benefits.ingest.tables import boundary_changes
from sf_benefits.project.backtest import run_backtest
from sf_benefits.project.demand import StockFlowModel
from sf_benefits.store import Store
from sf_benefits.store.queries import care_history, care_series

pytestmark = pytest.mark.shared_data
WARRINGTON, ENGLAND = "E06000007", "E92000001"
YEARS = list(range(2010, 2024))


@pytest.fixture(scope="module")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('real') / 'store.sqlite'}")
    load_directory(store, shared_data)
    yield store
    store.close()


def totals(history: pd.DataFrame, measure: str = "cla_31_march") -> pd.DataFrame:
    rows = history[(history["measure"] == measure) & (history["placement"] == "all")]
    return rows.set_index("year")


def test_the_releases_read_as_first_published(shared_data: Path) -> None:
    """Without any lookup: the 2010 release's 3-digit codes resolve through the later releases."""
    tables, _ = read_history(shared_data / "history")
    frame = pd.concat([t.observations for t in tables])
    published = frame[frame["breakdown"] == ""].set_index(
        ["area_code", "year", "indicator"])["value"]
    assert published[(WARRINGTON, 2010, "cla_31_march")] == 267
    assert published[(WARRINGTON, 2017, "cla_31_march")] == 381
    assert published[(ENGLAND, 2010, "cla_31_march")] == 64_400
    assert published[(ENGLAND, 2017, "cla_31_march")] == 72_670
    las = frame[(frame["geographic_level"] == "Local authority") & (frame["breakdown"] == "")]
    per_year = las.groupby(["year", "indicator"])["area_code"].nunique()
    assert per_year.min() >= 150 and len(per_year) == 8 * 3


def test_warrington_has_every_year_from_2010_to_2023_with_its_source(real_store: Store) -> None:
    history = care_history(real_store, [WARRINGTON])
    for measure in ("cla_31_march", "starts", "ceases"):
        rows = totals(history, measure).loc[YEARS]
        assert rows["value"].notna().all(), measure
        assert (rows["source"].str.len() > 0).all() and (rows["basis"].str.len() > 0).all()
    cla = totals(history)
    assert (cla.loc[2010, "value"], cla.loc[2017, "value"], cla.loc[2023, "value"]) == (
        267, 381, 332)
    assert cla.loc[2010, "source"] == "SFR27_2010_March.csv"
    assert cla.loc[2023, "source"] == "cla_number_and_rate_per_10k_children.csv"
    foster = history[(history["measure"] == "cla_31_march")
                     & (history["placement"] == "foster")].set_index("year")["value"]
    assert foster.loc[2023] == 219


def test_england_2023_total(real_store: Store) -> None:
    series = care_series(real_store, [ENGLAND], levels=("National",)).series
    assert totals(series).loc[2023, "value"] == 83_750


def test_a_revision_between_release_and_lait_is_reported(real_store: Store) -> None:
    """The 2017 release gave Warrington 381 children looked after; the LAIT, revised, 382."""
    disagreements = care_series(real_store, [WARRINGTON]).disagreements
    row = disagreements[(disagreements["year"] == 2017)
                        & (disagreements["measure"] == "cla_31_march")].iloc[0]
    assert (row["value"], row["other_value"]) == (381, 382)
    assert row["other_source"] == "lait_benchmarking_long.parquet"


def test_only_reorganised_las_lack_a_full_series(real_store: Store) -> None:
    cla = totals(care_history(real_store)).reset_index()
    wide = cla.pivot(index="la_code", columns="year", values="value").reindex(columns=YEARS)
    current = wide[wide[2023].notna()]
    gaps = set(current.index[current.isna().any(axis=1)])
    changes = boundary_changes()
    formed = set(changes.loc[changes["kind"] != "rename", "successor_code"])
    assert gaps <= formed | {"E06000053"}  # the Isles of Scilly: no LA rows 2011-2015
    assert len(current) - len(gaps) >= 145


def test_projection_and_backtest_run_on_the_real_series(real_store: Store) -> None:
    history = care_history(real_store, [WARRINGTON])
    forecast = StockFlowModel().fit(history).predict(3)
    assert forecast["year"].min() == 2024 and forecast["mean"].notna().all()
    result = run_backtest(history, methods=["stock_flow", "naive"])
    assert not result.forecasts.empty
    assert result.forecasts["origin"].min() <= 2015


def test_north_yorkshire_by_its_county_code_has_every_year(real_store: Store) -> None:
    cla = totals(care_history(real_store, ["E10000023"])).loc[YEARS]
    assert cla["value"].notna().all()
