"""Small, real engine results for the report tests: a projection run by the projection engine on a
synthetic history, and a benchmark built from the real result classes and indicator catalogue."""

from __future__ import annotations

import pandas as pd

from sf_benefits.benchmark import BenchmarkResult, IndicatorBenchmark, LocalAuthority, indicators
from sf_benefits.benchmark.engine import NeighbourValue, TrendYear
from sf_benefits.project.api import run_projection
from sf_benefits.project.result import ProjectionResult

LA_CODE = "E10000015"
PRICE_BASE = "2024-25"
SHARES = {
    "foster": 0.72, "childrens_homes_secure": 0.11, "other_residential": 0.006,
    "placed_with_parents": 0.07, "independent_living": 0.06, "placed_for_adoption": 0.03,
    "other": 0.004,
}
EVIL_TEXT = ('=HYPERLINK("http://attacker.example/x","click")', "+cmd|' /C calc'!A0",
             "@SUM(1+1)", "-2+3", "\t=1+1")


def synthetic_history(la_code: str = LA_CODE) -> pd.DataFrame:
    """Ten years of a made-up LA's care figures, with two placement types of fewer than 6."""
    rows = []
    for i, year in enumerate(range(2015, 2025)):
        total = 400 + 8 * i
        by_placement = {p: round(total * s) for p, s in SHARES.items()}
        for placement, value in by_placement.items():
            rows.append((la_code, year, "cla_31_march", placement, value))
        rows.append((la_code, year, "cla_31_march", "all", sum(by_placement.values())))
        rows.append((la_code, year, "starts", "all", 180 + 3 * i))
        rows.append((la_code, year, "ceases", "all", 172 + 2 * i))
        rows.append((la_code, year, "population_0_17", "all", 250_000 + 500 * i))
    return pd.DataFrame(rows, columns=["la_code", "year", "measure", "placement", "value"])


def fixture_overrides(source: str = "report test fixture") -> dict[str, object]:
    """Values for the parameters that ship without one, as an LA would supply them."""
    money = {"price_base_year": PRICE_BASE, "source": source}
    return {
        "optimism_bias_benefits": {"value": 0.1, "source": source},
        "deadweight": {"value": 0.1, "source": source},
        "fs_ramp_up_years": {"value": 2, "source": source},
        "fs_reduction_in_starts": {
            "value": 0.1, "source": source,
            "distribution": {"kind": "triangular", "low": 0.05, "high": 0.2}},
        "fs_implementation_cost": {"value": 500_000, **money},
        "fs_running_cost_annual": {"value": 900_000, **money},
        "unit_cost_other_residential_weekly": {"value": 3_000, **money},
        "unit_cost_placed_with_parents_weekly": {"value": 300, **money},
        "unit_cost_independent_living_weekly": {"value": 1_500, **money},
        "unit_cost_placed_for_adoption_weekly": {"value": 400, **money},
        "unit_cost_other_weekly": {"value": 800, **money},
        "gdp_deflator_index": {
            "values": {f"{y}-04-01": 80 + 2.5 * (y - 2010) for y in range(2010, 2031)},
            "source": source},
    }


def make_projection(overrides_by: str = "report tests") -> ProjectionResult:
    """A real projection run: Family Safeguarding, five years, 300 draws, by a demand method that
    needs only the LA's own history."""
    return run_projection(
        synthetic_history(), LA_CODE, "family_safeguarding", horizon=5, method="stock_flow",
        n_draws=300, seed=7, price_base_year=PRICE_BASE, overrides=fixture_overrides(),
        overrides_by=overrides_by)


def make_benchmark(la_name: str = "Testshire", neighbour_names: tuple[str, ...] = ()) -> (
        BenchmarkResult):
    """A benchmark result on three catalogue indicators against ten neighbours."""
    la = LocalAuthority(LA_CODE, "999", la_name, "E12000001", "North East")
    names = list(neighbour_names) + [f"Neighbour {i}" for i in range(len(neighbour_names), 10)]
    neighbours = [LocalAuthority(f"E0600{i:04d}", None, name, "E12000001", "North East")
                  for i, name in enumerate(names)]
    catalogue = indicators()
    items = []
    for k, indicator_id in enumerate(("cla_rate_per_10k", "cla_foster_pct", "cla_spend_total")):
        base = (70.0, 68.0, 42_000_000.0)[k]
        values = [base * (0.8 + 0.04 * i) for i in range(10)]
        table = tuple(NeighbourValue(rank, n.la_code, n.la_name, value, "published")
                      for rank, (n, value) in enumerate(zip(neighbours, values, strict=True),
                                                        start=1))
        trend = tuple(TrendYear(year, base * la, base * mean, base * 1.1, base * 0.9,
                                "published", "published", "published")
                      for year, la, mean in zip((2021, 2022, 2023, 2024), (0.95, 1.0, 1.05, 1.1),
                                                (0.97, 0.99, 1.0, 1.0), strict=True))
        items.append(IndicatorBenchmark(
            indicator=catalogue[indicator_id], year=2024, la_value=base * 1.1,
            neighbour_rows=table, neighbour_mean=sum(values) / 10,
            neighbour_median=sorted(values)[4], region_value=base * 1.1,
            england_value=base * 0.9, rank_among_neighbours=9, neighbours_ranked=11,
            national_rank=101, las_ranked=153, quartile_band="C",
            gap_to_neighbour_mean=base * 1.1 - sum(values) / 10, trend_rows=trend))
    return BenchmarkResult(la, 2024, "published", neighbours, items,
                           ["Testshire has no boundary change in the period."])
