"""Checks against real published figures in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sf_benefits.benchmark import benchmark_la
from sf_benefits.benchmark.catalogue import indicators
from sf_benefits.benchmark.neighbours import computed_neighbours, feature_table
from sf_benefits.benchmark.tables import indicator_names, indicator_values
from sf_benefits.ingest.loader import load_directory
from sf_benefits.ingest.tables import NEIGHBOUR_COLUMN, find_column, read_frame
from sf_benefits.store import Store
from sf_benefits.store.queries import care_history, observations, select_rows

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
    assert b.la_value == 76

    numbers = select_rows(observations(real_store, ["children_count"]), ["children_count"],
                          {"population_type": "Children looked after on 31 March each year"})
    in_2023 = numbers[numbers["year"] == 2023].set_index("area_code")["value"]
    assert in_2023["E92000001"] == 83_750
    assert in_2023["E06000007"] == 332


def test_warrington_neighbours_equal_the_published_list(real_store: Store,
                                                        shared_data: Path) -> None:
    result = benchmark_la(real_store, "Warrington", neighbour_model="nfer_2021")
    assert [n.la_name for n in result.neighbours] == [
        "Cheshire West and Chester", "Warwickshire", "Solihull", "East Riding of Yorkshire",
        "Stockport", "Staffordshire", "Cheshire East", "Nottinghamshire", "Bury", "Essex"]
    assert [n.old_la_code for n in result.neighbours] == [
        "896", "937", "334", "811", "356", "860", "895", "891", "351", "881"]
    for path in (shared_data / "lookups").glob("*2021*"):
        frame = read_frame(path)
        name = find_column(list(frame.columns), "la_name")
        assert name is not None
        row = frame[frame[name].str.casefold() == "warrington"].iloc[0]
        assert [row[c] for c in frame.columns if NEIGHBOUR_COLUMN.match(c)][:10] == [
            n.old_la_code for n in result.neighbours]


@pytest.mark.parametrize("indicator_id", list(indicators()))
def test_every_indicator_reads_from_the_real_files(real_store: Store, indicator_id: str) -> None:
    b = benchmark_la(real_store, "Warrington", indicator_ids=[indicator_id]).indicators[0]
    assert b.la_value is not None, f"{indicator_id}: no value for Warrington in the real files"
    assert b.las_ranked >= 140, f"{indicator_id}: only {b.las_ranked} LAs have a value in {b.year}"


def test_cin_rate_from_counts_matches_the_published_rate(real_store: Store) -> None:
    """The CIN census file gives counts only; the rate computed from them on DfE's denominator
    agrees with the rate the DfE publishes in the LAIT ('CIN', per 10,000) to its rounding."""
    cin = indicators()["cin_rate_per_10k"]
    frame = observations(real_store, indicator_names(cin))
    computed = indicator_values(frame, cin)
    published = select_rows(observations(real_store, ["CIN"]), ["CIN"])
    keys = ["year", "geographic_level", "area_code"]
    both = published.merge(computed, on=keys, suffixes=("_published", "_computed")).dropna(
        subset=["value_published", "value_computed"])
    assert len(both) > 1000
    close = (both["value_published"] - both["value_computed"]).abs() <= 0.5
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


def test_a_published_c_is_suppressed_not_missing(real_store: Store, shared_data: Path) -> None:
    """Redbridge's share of children looked after in secure units or children's homes at
    31 March 2023 is published as "c"; the benchmark keeps it apart from "no figure"."""
    published = read_frame(shared_data / "dfe" / "la_cla_on_31_march_by_characteristics.csv")
    cell = published[(published["time_period"] == "2023")
                     & (published["new_la_code"] == "E09000026")
                     & (published["characteristic"] == "Secure homes and children's homes")]
    assert list(cell["percentage"]) == ["c"]
    result = benchmark_la(real_store, "Redbridge", year=2023,
                          indicator_ids=["cla_childrens_homes_secure_pct"])
    b = result.indicators[0]
    assert b.la_value is None and b.la_status == "suppressed"
    assert b.national_rank is None and b.las_ranked > 140
    assert result.to_frames()["summary"]["la_value"].tolist() == ["c"]


def test_computed_neighbours_read_the_real_files(real_store: Store) -> None:
    """Demand indicators as the benchmark reads them and the ONS children behind the rates:
    every LA of 2023 with all of them is compared, Warrington at its published CLA rate."""
    year, table = feature_table(real_store)
    assert year == 2023 and len(table) >= 140
    assert table.loc["E06000007", "cla_rate_per_10k"] == 76
    nearest = computed_neighbours(real_store, "E06000007")
    assert len(set(nearest.neighbour_codes)) == 10 and "E06000007" not in nearest.neighbour_codes
    assert nearest.distances == sorted(nearest.distances)


@pytest.mark.parametrize("text", ["North Yorkshire", "815", "E10000023", "E06000065"])
def test_a_renamed_la_keeps_its_figures_and_neighbours(real_store: Store, text: str) -> None:
    """North Yorkshire became E06000065 in 2023; the lookups and neighbour files know it as
    815 / E10000023. Any of its names gives the joined series and the published neighbours."""
    result = benchmark_la(real_store, text, indicator_ids=["cla_rate_per_10k"])
    b = result.indicators[0]
    assert result.la.la_code == "E06000065"
    assert len(result.neighbours) == 10 and b.la_value == 40
    assert b.neighbours_ranked == 11


def test_a_renamed_neighbour_counts_in_the_neighbour_figures(real_store: Store) -> None:
    """Warrington's 2025 neighbours include North Yorkshire (listed as 815): its CLA rate is in
    the neighbours' mean, not left out as missing."""
    b = benchmark_la(real_store, "Warrington", year=2023, neighbour_model="nfer_2025",
                     indicator_ids=["cla_rate_per_10k"]).indicators[0]
    by_name = {n.la_name: n.value for n in b.neighbour_rows}
    assert by_name["North Yorkshire"] == 40
    assert b.neighbours_ranked == 11


def test_a_name_shared_with_a_former_la_means_the_current_one(real_store: Store) -> None:
    """'Dorset' is the unitary of 2019 (E06000059), not the former county (E10000009)."""
    assert benchmark_la(real_store, "Dorset", indicator_ids=["cla_rate_per_10k"]).la.la_code == (
        "E06000059")
