"""The backtest: origins, scores against known processes, automatic choice, and the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sf_benefits.cli.main import app
from sf_benefits.project.backtest import (
    BacktestResult,
    forecast_origins,
    hindsight_ceiling,
    run_backtest,
    select_method,
)
from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.demand import CareHistory
from sf_benefits.store import Store
from sf_benefits.store.queries import care_history

COLUMNS = ["la_code", "year", "measure", "placement", "value"]
YEARS = np.arange(2010, 2025)


def total_panel(values: np.ndarray) -> pd.DataFrame:
    """A panel of total CLA only: one row of `values` per LA over YEARS."""
    rows = [(f"E{i:08d}", int(year), "cla_31_march", "all", float(value))
            for i, series in enumerate(values) for year, value in zip(YEARS, series, strict=True)]
    return pd.DataFrame(rows, columns=COLUMNS)


def random_walks(n_las: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return total_panel(1000 + np.cumsum(rng.normal(0, 20, (n_las, YEARS.size)), axis=1))


def noisy_lines(n_las: int, seed: int, noise: float = 15.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    slopes = rng.uniform(-10, 10, (n_las, 1))
    return total_panel(500 + slopes * (YEARS - 2010) + rng.normal(0, noise, (n_las, YEARS.size)))


def full_panel(n_las: int, seed: int) -> pd.DataFrame:
    """Stock-and-flow histories with placements, starts and population (as the store gives)."""
    rng = np.random.default_rng(seed)
    mix = np.array([0.70, 0.10, 0.03, 0.06, 0.05, 0.03, 0.03])
    rows = []
    for i in range(n_las):
        code = f"E{i:08d}"
        population, rate, stock = rng.uniform(3e4, 2e5), rng.uniform(20, 40), 0.0
        stock = rate * population / 1e4 * 2.2
        for year in YEARS:
            starts = rng.poisson(rate * population / 1e4)
            ceases = rng.binomial(int(stock) + starts, 0.31)
            stock = int(stock) + starts - ceases
            rows += [(code, int(year), "cla_31_march", "all", float(stock)),
                     (code, int(year), "starts", "all", float(starts)),
                     (code, int(year), "ceases", "all", float(ceases)),
                     (code, int(year), "population_0_17", "all", population)]
            counts = rng.multinomial(stock, mix)
            rows += [(code, int(year), "cla_31_march", p, float(c))
                     for p, c in zip(PLACEMENTS, counts, strict=True)]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_naive_mase_on_a_random_walk_is_about_one() -> None:
    result = run_backtest(random_walks(100, seed=11), methods=["naive"])
    one_year = result.summary[result.summary["horizon"] == 1].iloc[0]
    assert 0.9 < one_year["MASE"] < 1.15
    assert one_year["n_forecasts"] == 100 * 10
    assert list(result.summary["horizon"]) == [1, 2, 3]
    assert result.summary["MASE"].is_monotonic_increasing


def test_correctly_specified_model_covers_about_80_percent() -> None:
    result = run_backtest(noisy_lines(60, seed=3), methods=["linear_trend", "naive"])
    trend = result.summary[result.summary["method"] == "linear_trend"]
    np.testing.assert_allclose(trend["coverage_80"], 0.8, atol=0.05)
    naive = result.summary[result.summary["method"] == "naive"]
    assert (trend["MASE"].to_numpy() < naive["MASE"].to_numpy()).all()
    assert result.best_method() == "linear_trend"


def test_every_origin_is_used_and_missing_outcomes_are_skipped_not_zero() -> None:
    panel = noisy_lines(2, seed=5)
    gap = (panel["la_code"] == "E00000000") & (panel["year"] == 2020)
    panel.loc[gap, "value"] = np.nan
    history = CareHistory.from_frame(panel[panel["la_code"] == "E00000000"])
    origins = forecast_origins(history, (1, 2, 3), min_train_years=5)
    assert 2020 not in origins
    assert origins == [2014, 2015, 2016, 2017, 2018, 2019, 2021, 2022, 2023]
    result = run_backtest(panel, methods=["naive"], min_train_years=5)
    scored = result.forecasts[result.forecasts["la_code"] == "E00000000"]
    assert sorted(scored["origin"].unique()) == origins
    assert not (scored["year"] == 2020).any()
    assert np.isfinite(scored["actual"]).all() and (scored["actual"] > 0).all()
    other = result.forecasts[result.forecasts["la_code"] == "E00000001"]
    assert sorted(other["origin"].unique()) == list(range(2014, 2024))
    only = run_backtest(panel, methods=["naive"], la_codes=["E00000001"])
    assert set(only.forecasts["la_code"]) == {"E00000001"} and only.n_las == 1


def test_mase_uses_each_training_series_own_scale() -> None:
    result = run_backtest(noisy_lines(3, seed=8), methods=["naive"])
    row = result.forecasts.iloc[0]
    panel = noisy_lines(3, seed=8)
    train = panel[(panel["la_code"] == row["la_code"]) & (panel["year"] <= row["origin"])]
    scale = train.sort_values("year")["value"].diff().abs().mean()
    assert row["scaled_error"] == pytest.approx(row["abs_error"] / scale)


def test_stock_flow_and_placements_in_the_backtest() -> None:
    result = run_backtest(full_panel(6, seed=2), methods=["stock_flow", "naive"],
                          by_placement=True)
    assert set(result.summary["method"]) == {"stock_flow", "naive"}
    assert result.skipped.empty
    assert result.placement_summary is not None
    assert set(result.placement_summary["placement"]) <= set(PLACEMENTS)
    assert {"foster", "childrens_homes_secure"} <= set(result.placement_summary["placement"])
    stock_flow = result.summary[result.summary["method"] == "stock_flow"]
    assert (stock_flow["coverage_80"] > 0.5).all() and (stock_flow["MAPE"] < 15).all()


def test_stock_flow_without_flows_is_skipped_with_a_reason() -> None:
    result = run_backtest(noisy_lines(2, seed=1), methods=["stock_flow", "naive"])
    assert (result.skipped["method"] == "stock_flow").all() and len(result.skipped) > 0
    assert result.skipped["reason"].str.contains("needs starts").all()
    assert (result.summary["method"] == "naive").all()


def test_select_method_prefers_the_trend_on_trending_data() -> None:
    assert select_method(noisy_lines(10, seed=4, noise=5.0),
                         candidates=("naive", "linear_trend")) == "linear_trend"
    assert select_method(random_walks(30, seed=4),
                         candidates=("linear_trend", "naive")) == "naive"


def test_statsforecast_backtest_runs_as_one_batch() -> None:
    result = run_backtest(random_walks(4, seed=9), methods=["ets"], horizons=(1, 2))
    assert list(result.summary["horizon"]) == [1, 2]
    assert (result.summary["n_forecasts"] > 0).all()
    assert np.isfinite(result.summary[["MAPE", "MASE", "coverage_80"]].to_numpy()).all()


def test_backtest_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        run_backtest(random_walks(2, seed=1), methods=["tea_leaves"])
    with pytest.raises(ValueError, match="horizons"):
        run_backtest(random_walks(2, seed=1), horizons=(0, 1))


def test_cli_prints_the_table_and_writes_csv(loaded_store: Store, tmp_path: Path) -> None:
    history = care_history(loaded_store)
    assert not history.empty
    runner = CliRunner()
    url = loaded_store.url
    table = runner.invoke(app, ["backtest", "--methods", "naive,linear_trend",
                                "--methods", "stock_flow", "--database-url", url])
    assert table.exit_code == 0, table.output
    assert "linear_trend" in table.output and "MASE" in table.output
    csv = runner.invoke(app, ["backtest", "--methods", "naive", "--format", "csv",
                              "--database-url", url])
    assert csv.exit_code == 0, csv.output
    summary = pd.read_csv(io.StringIO(csv.stdout))
    assert list(summary.columns) == ["method", "horizon", "MAPE", "MASE", "coverage_80",
                                     "n_forecasts"]
    assert list(summary["horizon"]) == [1, 2, 3]
    la_code = str(history["la_code"].iloc[0])
    one = runner.invoke(app, ["backtest", "--la", la_code, "--methods", "naive",
                              "--database-url", url])
    assert one.exit_code == 0, one.output
    assert la_code in one.output and "1 LA(s)" in one.output
    written = tmp_path / "summary.csv"
    detail = tmp_path / "forecasts.csv"
    placed = runner.invoke(app, ["backtest", "--methods", "naive", "--by-placement", "--format",
                                 "csv", "--out", str(written), "--forecasts-out", str(detail),
                                 "--database-url", url])
    assert placed.exit_code == 0, placed.output
    assert "placement" in written.read_text(encoding="utf-8")
    assert set(pd.read_csv(detail)["placement"]) - {"all"} <= set(PLACEMENTS)
    unknown = runner.invoke(app, ["backtest", "--la", "Atlantis", "--database-url", url])
    assert unknown.exit_code == 1
    bad = runner.invoke(app, ["backtest", "--methods", "tea_leaves", "--database-url", url])
    assert bad.exit_code == 1


def test_best_method_passes_over_overconfident_intervals() -> None:
    from sf_benefits.project.backtest import BacktestResult

    def result(coverage_a: float) -> BacktestResult:
        summary = pd.DataFrame({"method": ["a", "b"], "horizon": [1, 1], "MAPE": [4.0, 5.0],
                                "MASE": [1.0, 1.2], "coverage_80": [coverage_a, 0.8],
                                "n_forecasts": [100, 100]})
        return BacktestResult(pd.DataFrame(), summary, None, pd.DataFrame(), ("a", "b"), (1,),
                              80, 5, 10)

    assert result(coverage_a=0.45).best_method() == "b"
    assert result(coverage_a=0.75).best_method() == "a"
    assert result(coverage_a=0.45).best_method(min_coverage=0.9) == "a"


def test_hindsight_ceiling_knows_the_outcome_years_trends() -> None:
    """LAs move by a national change each year plus their own fixed growth: knowing both
    forecasts exactly, knowing either beats naive, and naive matches the backtest's."""
    national = np.cumsum(np.random.default_rng(3).normal(0.02, 0.05, YEARS.size))
    own = np.repeat([-0.02, 0.02], 20)[:, None] * (YEARS - 2010)
    panel = total_panel(800 * np.exp(national + own))
    result = run_backtest(panel, methods=["naive"])
    ceiling = hindsight_ceiling(panel, result).set_index("horizon")
    np.testing.assert_allclose(ceiling["both known"], 0.0, atol=1e-9)
    for known in ("national change known", "own average growth known"):
        assert (ceiling[known] < ceiling["naive"]).all(), ceiling
    np.testing.assert_allclose(ceiling["naive"], result.summary["MAPE"].to_numpy())


def test_one_la_is_scored_with_the_pooled_model_learning_from_every_la() -> None:
    panel = full_panel(12, seed=7)
    code = "E00000003"
    everyone = run_backtest(panel, methods=["pooled", "naive"])
    one = run_backtest(panel, methods=["pooled", "naive"], la_codes=[code])
    assert one.n_las == 1 and set(one.forecasts["la_code"]) == {code}
    mine = everyone.forecasts[everyone.forecasts["la_code"] == code].reset_index(drop=True)
    pd.testing.assert_frame_equal(one.forecasts, mine)
    assert (one.forecasts["method"] == "pooled").sum() >= 20
    alone = run_backtest(panel[panel["la_code"] == code], methods=["pooled"])
    assert alone.forecasts.empty and not alone.skipped.empty, "one LA's years are too few to fit"
    assert select_method(panel, ("pooled", "naive"), la_codes=[code]) == one.best_method()


def test_the_pick_names_a_lower_mase_passed_over_for_its_intervals() -> None:
    """A method with the lowest MASE whose intervals held under 70% of outcomes is not what
    `auto` picks; the line naming the pick says so rather than calling the pick the lowest."""
    from sf_benefits.cli.backtest import _best_method_text

    summary = pd.DataFrame({"method": ["pooled", "pooled", "naive", "naive"],
                            "horizon": [1, 2, 1, 2], "MASE": [1.0, 2.0, 1.5, 2.5],
                            "coverage_80": [0.8, 0.59, 0.9, 0.8]})
    result = BacktestResult(pd.DataFrame(), summary, None, pd.DataFrame(), ("pooled", "naive"),
                            (1, 2), 80, 5, 1)
    assert result.best_method() == "naive"
    text = _best_method_text(result, "naive")
    assert "held at least 70% of outcomes: [bold]naive[/]" in text
    assert "passed over: pooled (MASE 1.50, intervals held 69.50%)" in text
