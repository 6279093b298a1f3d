"""Benchmark the full demand backtest and the Monte Carlo sampler; prints time, memory and accuracy.

Uses the store's CLA history when it holds one (SF_BENEFITS_DATABASE_URL or the embedded store),
else a synthetic panel shaped like the real one: 153 LAs, years ending March 2010–2024, placements,
starts, ceases and population, with suppressed cells and the odd missing year.

    .venv/bin/python benchmarks/bench_backtest.py [--synthetic] [--methods naive,ets]

Target on a 2-core machine: the full backtest (the `sf-benefits backtest` methods) under 2 minutes.
Also prints the hindsight ceiling (`project.backtest.hindsight_ceiling`): how far forecasts that
knew the outcome years' national change and each LA's average growth would beat naive.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from sf_benefits.project.backtest import hindsight_ceiling, run_backtest
from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.defaults import BACKTEST_METHODS
from sf_benefits.project.demand import METHODS, CareHistory, make_model

YEARS = np.arange(2010, 2025)
MIX = np.array([0.72, 0.11, 0.02, 0.06, 0.05, 0.02, 0.02])


def synthetic_panel(n_las: int = 153, seed: int = 2024) -> pd.DataFrame:
    """A reproducible panel from a stock-and-flow process with drifting rates and noisy counts."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, str, str, float]] = []
    for i in range(n_las):
        code = f"E{10_000_000 + i}"
        population = rng.lognormal(np.log(60_000), 0.6)
        rate = rng.uniform(18, 45)
        hazard = rng.uniform(0.26, 0.36)
        mix = MIX * np.exp(rng.normal(0, 0.25, MIX.size))
        mix /= mix.sum()
        stock = rate * population / 1e4 * rng.uniform(1.8, 2.6)
        drift = rng.normal(0.01, 0.02)
        missing_year = int(rng.choice(YEARS)) if rng.random() < 0.1 else None
        for year in YEARS:
            population *= np.exp(rng.normal(0.003, 0.004))
            rate *= np.exp(drift + rng.normal(0, 0.05))
            hazard = float(np.clip(hazard * np.exp(rng.normal(0, 0.04)), 0.1, 0.6))
            starts = rng.poisson(rate * population / 1e4)
            ceases = rng.binomial(int(stock) + starts, hazard)
            stock = int(stock) + starts - ceases
            if year == missing_year:
                continue
            rows += [(code, int(year), "cla_31_march", "all", float(stock)),
                     (code, int(year), "starts", "all", float(starts)),
                     (code, int(year), "ceases", "all", float(ceases)),
                     (code, int(year), "population_0_17", "all", float(round(population)))]
            mix = mix * np.exp(rng.normal(0, 0.03, mix.size))
            mix /= mix.sum()
            counts = rng.multinomial(stock, mix)
            rows += [(code, int(year), "cla_31_march", p, float(c) if c == 0 or c > 5 else np.nan)
                     for p, c in zip(PLACEMENTS, counts, strict=True)]
    return pd.DataFrame(rows, columns=["la_code", "year", "measure", "placement", "value"])


def store_history() -> pd.DataFrame | None:
    """The store's CLA history with CIN/CPP, or None when the store is unreachable or holds too
    few LAs."""
    try:
        from sf_benefits.store import Store
        from sf_benefits.store.queries import demand_history

        history = demand_history(Store.open())
    except Exception as error:
        print(f"store not usable ({type(error).__name__}); using the synthetic panel")
        return None
    if history["la_code"].nunique() < 50:
        print("store holds fewer than 50 LAs; using the synthetic panel")
        return None
    return history


def bench_sampling(history: pd.DataFrame, n_draws: int = 10_000, horizon: int = 10) -> None:
    """Time `sample()` for each method on one LA."""
    one = CareHistory.from_frame(history[history["la_code"] == history["la_code"].iloc[0]])
    print(f"\nsample(): {n_draws:,} draws × {horizon} years, one LA")
    for name in METHODS:
        model = make_model(name, panel=history).fit(one)
        model.sample(horizon, 100, seed=0)
        started = time.perf_counter()
        model.sample(horizon, n_draws, seed=1)
        print(f"  {name:<13} {time.perf_counter() - started:7.3f} s")


def main() -> None:
    """Run the backtest on the store's or a synthetic panel and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", action="store_true", help="ignore the store")
    parser.add_argument("--methods", default=",".join(BACKTEST_METHODS),
                        help="comma-separated (default: the backtest command's; add arima)")
    args = parser.parse_args()
    history = None if args.synthetic else store_history()
    source = "store"
    if history is None:
        history, source = synthetic_panel(), "synthetic"
    methods = [m for m in args.methods.split(",") if m]
    print(f"data: {source}, {history['la_code'].nunique()} LAs, years "
          f"{history['year'].min()}–{history['year'].max()}; methods: {', '.join(methods)}")
    timings: dict[str, float] = {}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu_started = time.process_time()
    started = time.perf_counter()
    result = run_backtest(history, methods=methods,
                          progress=lambda m, done, total: timings.__setitem__(
                              m, time.perf_counter() - started))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nfull backtest: {wall:.1f} s wall ({cpu:.1f} s CPU in this process), peak memory "
          f"(max RSS) {rss_mib:.0f} MiB ({rss_before:.0f} MiB before the backtest); "
          f"{len(result.forecasts):,} scored forecasts, "
          f"{len(result.skipped)} skipped")
    previous = 0.0
    for method in methods:
        finished = timings.get(method, previous)
        print(f"  {method:<13} {finished - previous:7.1f} s")
        previous = finished
    print("\n" + result.summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"best by mean MASE: {result.best_method()}")
    print("\nMAPE (%) of forecasts that know the outcome years' trends (no method can; a bound on "
          "what modelling national and LA trends could gain over naive):")
    print(hindsight_ceiling(history, result).to_string(index=False, float_format=lambda v:
                                                        f"{v:.2f}"))
    bench_sampling(history)


if __name__ == "__main__":
    main()
