"""The benchmark engine over a store loaded with the synthetic DfE files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import zscore

from sf_benefits.benchmark import UnknownLocalAuthority, benchmark_la, resolve_la
from sf_benefits.benchmark.authorities import LocalAuthority, la_in
from sf_benefits.benchmark.neighbours import (
    compare_neighbours,
    computed_neighbours,
    feature_table,
    nearest_on_features,
)
from sf_benefits.benchmark.tables import indicator_coverage
from sf_benefits.ingest.loader import load_directory
from sf_benefits.store import Store
from sf_benefits.store.queries import (
    BoundaryChangeError,
    boundary_changes,
    care_history,
    require_continuous,
    statistical_neighbours,
)
from tests.synthetic_dfe import JOINT_RETURN, REAL_LAS, build_panel

NEIGHBOURS = ["Halton", "Cheshire East", "Cheshire West and Chester", "Wigan", "Stockport",
              "Bury", "Trafford", "Leeds", "Wakefield", "Kirklees"]


@pytest.mark.parametrize("text", ["Warrington", "WARRINGTON", "877", "E06000007", " e06000007 "])
def test_resolve_la_by_name_or_code(loaded_store: Store, text: str) -> None:
    assert resolve_la(loaded_store, text).la_code == "E06000007"


def test_typo_gets_did_you_mean(loaded_store: Store) -> None:
    with pytest.raises(UnknownLocalAuthority, match="did you mean 'Warrington'"):
        resolve_la(loaded_store, "Warington")


LAS = [LocalAuthority("E06000019", "884", "Herefordshire, County of", None, None),
       LocalAuthority("E10000023", "815", "North Yorkshire", None, None, "E06000065"),
       LocalAuthority("E06000065", "815", "North Yorkshire", None, None),
       LocalAuthority("E08000013", "342", "St. Helens", None, None),
       LocalAuthority("E06000010", "810", "Kingston upon Hull, City of", None, None),
       LocalAuthority("E09000021", "314", "Kingston upon Thames", None, None)]


@pytest.mark.parametrize(("text", "code"), [
    ("Herefordshire", "E06000019"), ("st helens", "E08000013"), ("E10000023", "E06000065"),
    ("815", "E06000065"), ("North Yorkshire", "E06000065"), ("Kingston upon Hull", "E06000010")])
def test_an_la_by_the_names_analysts_use(text: str, code: str) -> None:
    """Stops, a ", County of" and a renamed LA's former code or shared name are understood."""
    assert la_in(LAS, text).la_code == code


def test_a_part_of_a_name_suggests_the_names_holding_it() -> None:
    with pytest.raises(UnknownLocalAuthority,
                       match="did you mean 'Kingston upon Hull, City of' or 'Kingston upon Thames'"):
        la_in(LAS, "Kingston")


def test_an_unknown_neighbour_model_is_refused(loaded_store: Store) -> None:
    with pytest.raises(ValueError, match="no statistical neighbour model 'nfer_2099'.*nfer_2021"):
        benchmark_la(loaded_store, "Warrington", neighbour_model="nfer_2099")


def test_an_la_without_features_gets_its_published_neighbours_and_why(
        loaded_store: Store) -> None:
    """An LA missing a demand figure in the features' year cannot have computed neighbours: the
    comparison keeps the published list and says which figures are missing."""
    year, table = feature_table(loaded_store)
    with pytest.raises(ValueError, match=f"E06000999 cannot be given computed neighbours.*{year}"):
        computed_neighbours(loaded_store, "E06000999")
    compared = compare_neighbours(loaded_store, "E06000999")
    assert compared["computed"].isna().all()
    assert "cla_rate_per_10k" in compared.attrs["why_no_computed"]


def test_published_neighbours_in_order(loaded_store: Store) -> None:
    result = benchmark_la(loaded_store, "Warrington")
    assert [n.la_name for n in result.neighbours] == NEIGHBOURS
    assert result.neighbour_model == "nfer_2021"


def test_cla_rate_figures_match_the_source_panel(loaded_store: Store) -> None:
    result = benchmark_la(loaded_store, "Warrington", year=2023, indicator_ids=["cla_rate_per_10k"])
    b = result.indicators[0]
    panel = build_panel()
    panel = panel[panel["year"] == 2023]
    rates = {la[2]: round(cla / pop * 10_000) for la, cla, pop in
             zip(panel["la"], panel["cla"], panel["population"], strict=True)}
    assert b.la_value == rates["Warrington"]
    assert b.neighbour_mean == pytest.approx(np.mean([rates[n] for n in NEIGHBOURS]))
    assert b.neighbour_median == pytest.approx(np.median([rates[n] for n in NEIGHBOURS]))
    england = round(panel["cla"].sum() / panel["population"].sum() * 10_000)
    assert b.england_value == england
    ordered = sorted(rates.values())
    assert b.national_rank == ordered.index(rates["Warrington"]) + 1
    assert b.gap_to_neighbour_mean == pytest.approx(b.la_value - b.neighbour_mean)


def test_suppressed_neighbour_is_left_out_of_mean_and_rank(loaded_store: Store) -> None:
    b = benchmark_la(loaded_store, "Warrington", year=2024,
                     indicator_ids=["cla_rate_per_10k"]).indicators[0]
    halton = b.neighbour_values.set_index("la_name").loc["Halton", "value"]
    assert halton is None or np.isnan(halton)
    others = b.neighbour_values["value"].dropna()
    assert len(others) == 9
    assert b.neighbour_mean == pytest.approx(others.mean())
    assert b.neighbours_ranked == 10
    assert b.las_ranked == len(REAL_LAS)


def test_polarity_changes_rank_direction(loaded_store: Store) -> None:
    result = benchmark_la(loaded_store, "Warrington", year=2023,
                          indicator_ids=["cla_foster_pct", "agency_social_worker_rate"])
    foster, agency = result.indicators
    assert foster.indicator.polarity == "high_is_better"
    assert agency.indicator.polarity == "low_is_better"
    assert agency.rank_among_neighbours == 1


def test_trend_covers_all_years(loaded_store: Store) -> None:
    b = benchmark_la(loaded_store, "Leeds", indicator_ids=["cla_rate_per_10k"]).indicators[0]
    assert list(b.trend["year"]) == list(range(2015, 2025))
    assert b.trend["la"].notna().all()


def test_renamed_la_series_joins_its_predecessor(loaded_store: Store) -> None:
    history = care_history(loaded_store, ["E06000065"])
    totals = history[(history["measure"] == "cla_31_march") & (history["placement"] == "all")]
    assert list(totals["year"]) == list(range(2015, 2025))
    assert not history.duplicated(["la_code", "year", "measure", "placement"]).any()
    result = benchmark_la(loaded_store, "E06000065", indicator_ids=["cla_rate_per_10k"])
    assert result.indicators[0].trend["la"].notna().sum() == 10
    assert result.notes == []


def test_split_la_series_is_refused_with_the_reason(loaded_store: Store) -> None:
    changes = boundary_changes(loaded_store)
    with pytest.raises(BoundaryChangeError, match="Bournemouth, Poole and Christchurch"):
        require_continuous(changes, "E06000058", 2015)
    with pytest.raises(BoundaryChangeError, match="Cumbria split"):
        require_continuous(changes, "E06000063", 2020)
    require_continuous(changes, "E06000065", 2015)
    require_continuous(changes, "E06000063", 2024)


def test_care_history_by_placement_sums_to_total(loaded_store: Store) -> None:
    history = care_history(loaded_store, ["E08000035"])
    cla = history[history["measure"] == "cla_31_march"].pivot_table(
        index="year", columns="placement", values="value")
    by_type = cla.drop(columns="all").sum(axis=1)
    pd.testing.assert_series_equal(by_type, cla["all"], check_names=False)
    assert set(history["measure"]) == {"cla_31_march", "starts", "ceases", "population_0_17"}


def test_computed_neighbours_are_nearest_on_features(loaded_store: Store) -> None:
    """The store's feature table checked against scipy: z-scores and Euclidean distances."""
    near = computed_neighbours(loaded_store, "E06000007")
    year, table = feature_table(loaded_store)
    assert near.year == year and near.features == tuple(table.columns)
    distance = pd.Series(cdist(zscore(table.to_numpy(), axis=0),
                               zscore(table.to_numpy(), axis=0)[[table.index.get_loc("E06000007")]]
                               )[:, 0], index=table.index).drop("E06000007")
    expected = distance.sort_values(kind="stable").head(10)
    assert near.neighbour_codes == list(expected.index)
    assert near.distances == pytest.approx(expected.to_list(), rel=1e-9)
    assert near.distances[-1] <= distance.drop(near.neighbour_codes).min()
    assert near.la_code == "E06000007"
    earlier = computed_neighbours(loaded_store, "E06000007", year=year - 1, count=3)
    assert earlier.year == year - 1 and len(earlier.neighbour_codes) == 3
    table = compare_neighbours(loaded_store, "E06000007")
    published = statistical_neighbours(loaded_store, "E06000007")[1]
    assert table["published"].tolist() == published
    assert table["computed"].tolist() == near.neighbour_codes
    assert table.attrs["overlap"] == int(table["published_in_both"].sum())


def test_nearest_on_features_by_hand() -> None:
    """x = 0, 2, 4, 6, 8 (mean 4, sd 2√2) and y = 10, 10, 10, 10, 20 (mean 12, sd 4): from P the
    z-score gaps are Q (1/√2, 0), R (√2, 0), S (3/√2, 0) and T (2√2, 2.5)."""
    table = pd.DataFrame({"x": [0.0, 2, 4, 6, 8], "y": [10.0, 10, 10, 10, 20]},
                         index=list("PQRST"))
    nearest = nearest_on_features(table, "P", count=3)
    assert list(nearest.index) == ["Q", "R", "S"]
    assert nearest.to_list() == pytest.approx([np.sqrt(0.5), np.sqrt(2), np.sqrt(4.5)])
    everyone = nearest_on_features(table, "P", count=10)
    assert list(everyone.index) == ["Q", "R", "S", "T"]
    assert everyone["T"] == pytest.approx(np.sqrt(8 + 6.25))
    flat = table.assign(y=5.0)
    assert list(nearest_on_features(flat, "S", count=2).index) == ["R", "T"]


def test_benchmark_to_frames_is_tidy(loaded_store: Store) -> None:
    frames = benchmark_la(loaded_store, "Warrington").to_frames()
    assert set(frames) == {"summary", "neighbours", "trend"}
    assert frames["summary"]["indicator_id"].is_unique
    assert len(frames["summary"]) == 13


@pytest.mark.parametrize(("indicator_id", "column"), [("cpp_rate_per_10k", "cpp"),
                                                      ("referral_rate_per_10k", "referrals")])
def test_rate_is_computed_from_counts_where_none_is_published(loaded_store: Store,
                                                              indicator_id: str,
                                                              column: str) -> None:
    b = benchmark_la(loaded_store, "Warrington", year=2023,
                     indicator_ids=[indicator_id]).indicators[0]
    panel = build_panel().query("year == 2023")
    row = panel.set_index(panel["la"].map(lambda a: a[2])).loc["Warrington"]
    count = round(row[column] * row["population"] / 10_000)
    ons_mid_2022 = 18 * round(row["population"] / 18)  # the ONS file gives single years of age
    assert b.la_value == pytest.approx(count / ons_mid_2022 * 10_000)
    assert b.england_value is not None and b.region_value is not None


def test_joint_return_is_shared_and_noted(loaded_store: Store) -> None:
    result = benchmark_la(loaded_store, JOINT_RETURN[0], year=2023,
                          indicator_ids=["agency_social_worker_rate"])
    b = result.indicators[0]
    partner = b.neighbour_values.set_index("la_code").loc[JOINT_RETURN[1], "value"]
    assert b.la_value == partner
    assert any("joint return" in note for note in result.notes)


def test_population_falls_back_to_dfe_where_ons_has_no_rows(store: Store, dfe_dir: Path,
                                                            tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(dfe_dir, data)
    ons = pd.read_csv(data / "ons_mid_year_population.csv", dtype=str)
    ons[ons["ladcode23"] != "E10000008"].to_csv(data / "ons_mid_year_population.csv", index=False)
    load_directory(store, data)
    history = care_history(store, ["E10000008"])
    population = history[history["measure"] == "population_0_17"].set_index("year")["value"]
    devon = next(i for i, la in enumerate(REAL_LAS) if la[2] == "Devon")
    assert population.loc[2022] == 40_000 + 9_000 * devon  # DfE's figure for 31 March 2023


def test_spend_is_the_lait_section_251_total(loaded_store: Store) -> None:
    result = benchmark_la(loaded_store, "Warrington", year=2023,
                          indicator_ids=["cla_spend_total", "cla_spend_per_child"])
    total, per_child = result.indicators
    panel = build_panel().query("year == 2023")
    row = panel.set_index(panel["la"].map(lambda a: a[2])).loc["Warrington"]
    assert total.la_value == int(row["spend"])
    assert per_child.la_value == pytest.approx(int(row["spend"]) / row["cla"])


def test_indicator_coverage_names_files_and_basis(loaded_store: Store) -> None:
    coverage = indicator_coverage(loaded_store).set_index("indicator_id")
    assert (coverage["las_in_last_year"] > 0).all()
    assert coverage.loc["cpp_rate_per_10k", "basis"] == "per 10,000 children, computed"
    assert coverage.loc["cpp_rate_per_10k", "files"] == "d5_cpps_at31march_by_duration"
    assert coverage.loc["cin_rate_per_10k", "basis"] == "per 10,000 children, computed"
    assert coverage.loc["cla_rate_per_10k", "basis"] == "published"
    assert coverage.loc["cla_spend_total", "files"] == "lait_benchmarking_long"
    assert coverage.loc["cla_spend_per_child", "basis"] == "ratio"
    assert coverage.loc["cla_foster_pct", "files"] == "la_cla_on_31_march_by_characteristics"


def test_indicator_coverage_says_what_is_missing(store: Store, dfe_dir: Path,
                                                 tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("la_lookup.csv", "cla_number_and_rate_per_10k_children.csv"):
        shutil.copy(dfe_dir / name, data / name)
    load_directory(store, data)
    coverage = indicator_coverage(store).set_index("indicator_id")
    assert coverage.loc["cla_rate_per_10k", "first_year"] == 2015
    assert pd.isna(coverage.loc["cin_rate_per_10k", "last_year"])
    assert coverage.loc["cin_rate_per_10k", "files"] == ""


def test_without_neighbour_figures_there_is_no_neighbour_rank(
        loaded_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """An LA with no published neighbours is not ranked '1 of 1' among them."""
    monkeypatch.setattr("sf_benefits.benchmark.engine.statistical_neighbours",
                        lambda store, la_code, model: ("nfer_2021", []))
    b = benchmark_la(loaded_store, "Warrington", indicator_ids=["cla_rate_per_10k"]).indicators[0]
    assert b.la_value is not None and b.national_rank is not None
    assert b.rank_among_neighbours is None and b.neighbours_ranked == 0
