"""Pooled growth model: it must find an effect planted in a synthetic panel (and so beat the naive
forecast), its 80% intervals must hold about 80% of outcomes of a process with known errors, and
it keeps the demand-model contract (seeded draws, placements adding up to the total)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sf_benefits.project.backtest import run_backtest
from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.demand import DemandModelError, PooledGrowthModel, make_model
from sf_benefits.project.national import SuccessorShare, forecast_all_las
from sf_benefits.project.pooled import Calibration, engine_for

YEARS = np.arange(2008, 2024)
MIX = np.array([0.70, 0.10, 0.03, 0.06, 0.05, 0.03, 0.03])


def synthetic_panel(n_las: int = 150, cpp_effect: float = 0.0, noise: float = 0.04,
                    seed: int = 7) -> pd.DataFrame:
    """A panel of LAs whose log CLA moves by `cpp_effect` × (the LA's CPP rate relative to the
    median, in standard deviations) each year plus lognormal noise; CPP rates wander."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, str, str, float]] = []
    for i in range(n_las):
        code = f"E0{6_000_000 + i:07d}"
        population = rng.lognormal(np.log(60_000), 0.5)
        log_cla = np.log(population * rng.uniform(40, 110) / 10_000)
        cpp_z = rng.normal()
        for year in YEARS:
            cla = float(np.exp(log_cla))
            cpp = population * 40 / 10_000 * np.exp(0.3 * cpp_z)
            rows += [(code, int(year), "cla_31_march", "all", round(cla)),
                     (code, int(year), "starts", "all", round(cla * 0.4)),
                     (code, int(year), "population_0_17", "all", round(population)),
                     (code, int(year), "child_protection_plans", "all", round(cpp)),
                     (code, int(year), "children_in_need", "all", round(cpp * 7))]
            rows += [(code, int(year), "cla_31_march", p, round(cla * m))
                     for p, m in zip(PLACEMENTS, MIX, strict=True)]
            log_cla += cpp_effect * cpp_z + rng.normal(0, noise)
            cpp_z = 0.6 * cpp_z + rng.normal(0, 0.8)
    return pd.DataFrame(rows, columns=["la_code", "year", "measure", "placement", "value"])


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    return synthetic_panel(cpp_effect=0.05)


def test_pooled_learns_a_planted_upstream_effect_and_beats_naive(planted: pd.DataFrame) -> None:
    summary = run_backtest(planted, methods=["pooled", "naive"]).summary.set_index(
        ["method", "horizon"])
    for horizon in (1, 2, 3):
        pooled, naive = (summary.loc[(m, horizon), "MAPE"] for m in ("pooled", "naive"))
        assert pooled < 0.8 * naive, (horizon, pooled, naive)


def test_pooled_80_intervals_hold_about_80_percent_of_outcomes() -> None:
    panel = synthetic_panel(cpp_effect=0.02, seed=11)
    summary = run_backtest(panel, methods=["pooled"]).summary.set_index("horizon")
    for horizon in (1, 2, 3):
        assert 0.74 <= summary.loc[horizon, "coverage_80"] <= 0.86, summary


def test_pooled_needs_the_panel_and_keeps_the_model_contract(planted: pd.DataFrame) -> None:
    one = planted[planted["la_code"] == "E06000003"]
    with pytest.raises(DemandModelError, match="learns across LAs"):
        PooledGrowthModel().fit(one)
    model = make_model("pooled", panel=planted).fit(one)
    first, again = model.sample(10, 500, seed=3), model.sample(10, 500, seed=3)
    np.testing.assert_array_equal(first.cla, again.cla)
    assert first.cla.shape == (500, 10, len(PLACEMENTS))
    frame = model.predict(3, level=[80])
    total = frame[(frame["measure"] == "cla_31_march") & (frame["placement"] == "all")]
    assert (total["lo-80"] < total["mean"]).all() and (total["mean"] < total["hi-80"]).all()
    # Draws of the total from the pooled regression match its own interval.
    lo, hi = np.quantile(first.cla_total[:, :3], [0.1, 0.9], axis=0)
    np.testing.assert_allclose(lo, total["lo-80"], rtol=0.05)
    np.testing.assert_allclose(hi, total["hi-80"], rtol=0.05)


def test_national_forecast_retires_codes_and_splits_successors(planted: pd.DataFrame) -> None:
    panel = planted[~planted["la_code"].isin(["E06000020", "E06000021"])]
    changes = pd.DataFrame([
        {"predecessor_code": "E06000005", "successor_code": code, "first_year": 2024,
         "kind": "split", "note": "split"} for code in ("E06000020", "E06000021")])
    shares = [SuccessorShare("E06000020", "North", "E06000005", 0.6, "C", "test"),
              SuccessorShare("E06000021", "South", "E06000005", 0.4, "C", "test")]
    result = forecast_all_las(panel, 3, {}, changes, shares=shares)
    table = result.table
    assert list(table.columns) == ["la_code", "la_name", "year", "p10", "p50", "p90"]
    assert "E06000005" not in set(table["la_code"])
    assert set(table["year"]) == {2024, 2025, 2026}
    assert table["la_code"].nunique() == panel["la_code"].nunique() - 1 + 2
    assert (table["p10"] <= table["p50"]).all() and (table["p50"] <= table["p90"]).all()
    north = table[table["la_code"] == "E06000020"].set_index("year")["p50"]
    south = table[table["la_code"] == "E06000021"].set_index("year")["p50"]
    np.testing.assert_allclose(north / south, 1.5, rtol=0.01)


def test_pooled_forecast_from_an_origin_ignores_every_later_year(planted: pd.DataFrame) -> None:
    """Origin-2018 forecasts and intervals stay the same when every value after 2018 changes."""
    rng = np.random.default_rng(5)
    later = planted["year"] > 2018
    altered = planted.assign(value=planted["value"].where(
        ~later, (planted["value"] * rng.uniform(0.5, 2.0, len(planted))).round()))
    origin = planted[planted["la_code"] == "E06000010"]
    seen, unseen = (make_model("pooled", panel=panel).fit(origin[origin["year"] <= 2018])
                    .total_forecast(3) for panel in (planted, altered))
    for first, second in ((seen.mean, unseen.mean), (seen.lo, unseen.lo), (seen.hi, unseen.hi)):
        np.testing.assert_allclose(first, second)
    assert not np.allclose(altered.loc[later, "value"], planted.loc[later, "value"])


def test_intervals_calibrate_on_past_errors_only_once_three_origins_made_them(
        planted: pd.DataFrame) -> None:
    """One-year forecasts: the first fit is 2009's, so by 2011 two origins' errors are known (the
    fit's own residuals are used) and by 2012 three (the out-of-sample errors are)."""
    engine = engine_for(planted)
    latest = engine.fit(2011, 1)
    assert latest is not None
    early, later = engine.calibration(2011, 1), engine.calibration(2012, 1)
    assert early is not None and later is not None
    np.testing.assert_allclose(early.errors,
                               Calibration.of(latest.residuals, latest.levels).errors)
    assert later.errors.size == 3 * planted["la_code"].nunique()


def test_the_engine_of_a_panel_is_found_again_without_hashing_it(
        planted: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_for(planted)

    def no_hashing(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the same panel was hashed again")

    with monkeypatch.context() as patched:
        patched.setattr(pd.util, "hash_pandas_object", no_hashing)
        assert engine_for(planted) is engine
    assert engine_for(planted.copy()) is engine, "an equal copy is found by its content"
