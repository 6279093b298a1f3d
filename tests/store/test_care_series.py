"""Stitching one series per area and measure from several published sources, pure over frames."""

from __future__ import annotations

import pandas as pd
import pytest

from sf_benefits.ingest.tables import boundary_changes
from sf_benefits.store import Store
from sf_benefits.store.care_series import CareSeries, stitch_care_series
from sf_benefits.store.queries import care_history

SOURCES = {"SFR50_CLA2017": "/data/history/sfr/2017/SFR50_CLA2017.csv",
           "lait_benchmarking_long": "/data/dfe/lait_benchmarking_long.parquet",
           "cla_number_and_rate_per_10k_children": "/data/dfe/cla_number_and_rate.csv",
           "la_cla_on_31_march_by_characteristics": "/data/dfe/la_cla_on_31_march.csv"}
EES_CLA = "population_type=Children looked after on 31 March each year"


def obs(dataset: str, area: str, year: int, indicator: str, value: float | None,
        breakdown: str = "", status: str | None = None, level: str = "Local authority"
        ) -> dict[str, object]:
    return {"dataset": dataset, "year": year, "time_period": str(year), "geographic_level": level,
            "area_code": area, "breakdown": breakdown, "indicator": indicator, "value": value,
            "status": status}


def stitch(rows: list[dict[str, object]]) -> CareSeries:
    return stitch_care_series(pd.DataFrame(rows), SOURCES, boundary_changes())


def series_value(frame: pd.DataFrame, area: str, year: int, measure: str = "cla_31_march",
                 placement: str = "all") -> pd.Series:
    hit = frame[(frame["area_code"] == area) & (frame["year"] == year)
                & (frame["measure"] == measure) & (frame["placement"] == placement)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_each_year_takes_the_preferred_source_and_says_which() -> None:
    result = stitch([
        obs("SFR50_CLA2017", "E06000007", 2017, "cla_31_march", 381),
        obs("lait_benchmarking_long", "E06000007", 2017, "LACnum", 381),
        obs("lait_benchmarking_long", "E06000007", 2018, "LACnum", 401),
        obs("lait_benchmarking_long", "E06000007", 2023, "LACnum", 332),
        obs("cla_number_and_rate_per_10k_children", "E06000007", 2023, "children_count", 332,
            EES_CLA),
    ])
    chosen = {y: series_value(result.series, "E06000007", y) for y in (2017, 2018, 2023)}
    assert [chosen[y]["value"] for y in (2017, 2018, 2023)] == [381, 401, 332]
    assert chosen[2017]["source"] == "SFR50_CLA2017.csv"
    assert chosen[2017]["basis"] == "published count, first release"
    assert chosen[2018]["basis"] == "published count (LAIT LACnum)"
    assert chosen[2023]["source"] == "cla_number_and_rate.csv"
    assert len(result.comparisons) == 2 and result.disagreements.empty


def test_a_disagreement_beyond_rounding_is_reported_not_hidden() -> None:
    result = stitch([
        obs("SFR50_CLA2017", "E06000007", 2017, "cla_31_march", 381),
        obs("lait_benchmarking_long", "E06000007", 2017, "LACnum", 382),
        obs("SFR50_CLA2017", "E92000001", 2017, "cla_31_march", 72_700, level="National"),
        obs("lait_benchmarking_long", "E92000001", 2017, "LACnum", 72_670, level="National"),
    ])
    assert series_value(result.series, "E06000007", 2017)["value"] == 381
    disagreement = result.disagreements.iloc[0]
    assert len(result.disagreements) == 1  # England's 30 is within the release's rounding to 100
    assert (disagreement["area_code"], disagreement["value"], disagreement["other_value"],
            disagreement["difference"]) == ("E06000007", 381, 382, 1)
    assert disagreement["other_source"] == "lait_benchmarking_long.parquet"


def test_placements_sum_codes_to_types_and_mark_suppressed_parts() -> None:
    q1, q2 = (f"placement=Foster placements: {w} (Q{i})" for i, w in
              ((1, "with a relative"), (2, "with another carer")))
    result = stitch([
        obs("SFR50_CLA2017", "E06000007", 2010, "cla_31_march", 65, q1),
        obs("SFR50_CLA2017", "E06000007", 2010, "cla_31_march", 138, q2),
        obs("SFR50_CLA2017", "E06000007", 2010, "cla_31_march", None,
            "placement=Placed for adoption: with consent (A4)", "x"),
        obs("SFR50_CLA2017", "E06000007", 2010, "cla_31_march", 8,
            "placement=Placed for adoption: placement order (A6)"),
        obs("SFR50_CLA2017", "E06000007", 2010, "cla_31_march", None,
            "placement=Other placements (Z1)", "x"),
    ])
    foster = series_value(result.series, "E06000007", 2010, placement="foster")
    assert (foster["value"], foster["basis"]) == (203, "published count, first release: cells summed")
    adoption = series_value(result.series, "E06000007", 2010, placement="placed_for_adoption")
    assert (adoption["value"], adoption["status"]) == (8, "partial")
    assert adoption["basis"].endswith(", suppressed ones left out")
    other = series_value(result.series, "E06000007", 2010, placement="other")
    assert pd.isna(other["value"]) and other["status"] == "x"


def test_lait_percentages_give_counts_compared_within_their_rounding() -> None:
    placement = "cla_group=Placement|characteristic=Foster placements"
    result = stitch([
        obs("cla_number_and_rate_per_10k_children", "E06000007", 2021, "children_count", 366,
            EES_CLA),
        obs("la_cla_on_31_march_by_characteristics", "E06000007", 2021, "number", 258,
            placement),
        obs("lait_benchmarking_long", "E06000007", 2021, "LAC_Foster_Placements", 70),
        obs("lait_benchmarking_long", "E06000007", 2020, "LACnum", 364),
        obs("lait_benchmarking_long", "E06000007", 2020, "LAC_Foster_Placements", 74),
        obs("lait_benchmarking_long", "E06000007", 2020, "LAC_SecHome_And_ChildHome", 40),
    ])
    derived = series_value(result.series, "E06000007", 2020, placement="foster")
    assert derived["value"] == round(0.74 * 364)
    assert derived["basis"] == "derived: LAIT % (LAC_Foster_Placements) × total at 31 March"
    assert series_value(result.series, "E06000007", 2021, placement="foster")["value"] == 258
    assert result.disagreements.empty  # 258 of 366 is 70.5%, published as 70
    wrong = series_value(result.series, "E06000007", 2020, placement="childrens_homes_secure")
    assert wrong["value"] == round(0.40 * 364)


def test_boundary_changes_join_renames_and_start_successors_at_formation() -> None:
    result = stitch([
        obs("SFR50_CLA2017", "E10000023", 2017, "cla_31_march", 430),  # North Yorkshire
        obs("lait_benchmarking_long", "E06000065", 2024, "LACnum", 450),
        obs("SFR50_CLA2017", "E06000058", 2017, "cla_31_march", 500),  # BCP before it existed
        obs("lait_benchmarking_long", "E06000058", 2020, "LACnum", 520),
        obs("lait_benchmarking_long", "E10000009", 2020, "LACnum", None, status="-"),
        obs("lait_benchmarking_long", "E10000009", 2019, "LACnum", 414),
    ])
    series = result.series
    north_yorkshire = series[series["area_code"] == "E06000065"]
    assert list(north_yorkshire["year"]) == [2017, 2024]
    assert list(series.loc[series["area_code"] == "E06000058", "year"]) == [2020]
    assert list(series.loc[series["area_code"] == "E10000009", "year"]) == [2019]


def test_population_is_the_ons_mid_year_estimate_dfe_uses_a_year_later() -> None:
    result = stitch([
        obs("ons", "E06000007", 2022, "population_estimate", 43_650,
            "age_group=Children aged 0 to 17 years"),
        obs("cla_number_and_rate_per_10k_children", "E06000007", 2023, "population_estimate",
            43_650, EES_CLA),
    ])
    population = series_value(result.series, "E06000007", 2022, "population_0_17")
    assert (population["value"], population["basis"]) == (43_650, "ONS mid-year estimate")
    assert len(result.comparisons) == 1 and result.disagreements.empty


def test_population_gaps_between_two_estimates_are_interpolated_and_say_so() -> None:
    result = stitch([
        obs("SFR50_CLA2017", "E06000007", 2009, "population_0_17", 43_100, "age=0-17"),
        obs("SFR50_CLA2017", "E06000007", 2010, "cla_31_march", 267),
        obs("ons", "E06000007", 2012, "population_estimate", 44_000,
            "age_group=Children aged 0 to 17 years"),
    ])
    series = result.series
    population = series[series["measure"] == "population_0_17"].set_index("year")
    assert list(population.index) == [2010]  # the only year with a CLA figure
    assert population.loc[2010, "value"] == pytest.approx(43_400)
    assert population.loc[2010, "basis"] == (
        "interpolated between the mid-2009 and mid-2012 estimates")
    alone = stitch([obs("SFR50_CLA2017", "E06000007", 2009, "population_0_17", 43_100, "age=0-17"),
                    obs("SFR50_CLA2017", "E92000001", 2010, "cla_31_march", 64_400)]).series
    assert alone.iloc[0]["basis"] == "ONS mid-year estimate, rounded to 100"


def test_an_la_asked_for_by_its_code_before_a_rename_gets_the_joined_series(
        loaded_store: Store) -> None:
    """North Yorkshire's county code (E10000023) until 2023, the unitary's (E06000065) from 2024."""
    by_old = care_history(loaded_store, ["E10000023"])
    by_new = care_history(loaded_store, ["E06000065"])
    old_totals = by_old[(by_old["measure"] == "cla_31_march") & (by_old["placement"] == "all")]
    assert list(old_totals["year"]) == list(range(2015, 2025))
    assert set(by_old["la_code"]) == {"E10000023"} and set(by_new["la_code"]) == {"E06000065"}
    assert list(by_old["value"]) == list(by_new["value"])
