"""Benchmark the projection: 10,000 Monte Carlo draws over 10 years for one LA and for 153 LAs.

Prints wall time (untraced), peak traced memory (tracemalloc, one LA) and the process's peak
resident memory.
Targets on a 2-core machine: one LA under 1 s, all LAs under 60 s. Run:

    .venv/bin/python benchmarks/bench_project.py [--synthetic --las 153] [--draws 10000] [--years 10]

Uses the store's histories (with CIN/CPP) when it holds at least 50 LAs, else a synthetic panel.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd
from bench_backtest import store_history

from sf_benefits.project import prepare_assumptions, run_projection, simulate
from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.demand import DEFAULT_METHOD, DemandModelError, make_model

SHARES = np.array([0.70, 0.11, 0.02, 0.07, 0.05, 0.03, 0.02])


def synthetic_history(n_las: int, years: range, seed: int = 1) -> pd.DataFrame:
    """A tidy care history for `n_las` made-up LAs (sizes and trends vary by LA)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, str, str, float]] = []
    for index in range(n_las):
        code = f"E{index + 10_000_000:08d}"
        population = rng.uniform(20_000, 250_000)
        rate = rng.uniform(30, 110)
        trend = rng.normal(0.01, 0.02)
        for step, year in enumerate(years):
            total = population * rate / 10_000 * (1 + trend) ** step * rng.lognormal(0, 0.03)
            starts = total * rng.uniform(0.35, 0.45)
            ceases = starts * rng.uniform(0.9, 1.05)
            rows += [(code, year, "cla_31_march", "all", round(total)),
                     (code, year, "starts", "all", round(starts)),
                     (code, year, "ceases", "all", round(ceases)),
                     (code, year, "population_0_17", "all", round(population))]
            parts = np.round(total * SHARES * rng.lognormal(0, 0.05, len(SHARES)))
            rows += [(code, year, "cla_31_march", p, float(v)) for p, v in zip(PLACEMENTS, parts,
                                                                                strict=True)]
    return pd.DataFrame(rows, columns=["la_code", "year", "measure", "placement", "value"])


def measure(label: str, work: Callable[[], object]) -> float:
    """Run `work` twice: once timed (untraced), once under tracemalloc for its peak memory."""
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<58} {seconds:8.2f} s   peak traced {peak / 2**20:8.1f} MiB")
    return seconds


def measure_time(label: str, work: Callable[[], object]) -> float:
    """Run `work` once and print its wall time (too long to repeat under tracemalloc)."""
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"{label:<58} {seconds:8.2f} s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--las", type=int, default=153)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--synthetic", action="store_true", help="ignore the store")
    args = parser.parse_args()
    history = None if args.synthetic else store_history()
    source = "the store's real histories"
    if history is None:
        history, source = synthetic_history(args.las, range(2014, 2025)), "synthetic histories"
    latest = history[(history["measure"] == "cla_31_march") & history["value"].notna()]
    codes = sorted(latest.loc[latest["year"] == latest["year"].max(), "la_code"].unique())
    overrides = None  # the shipped defaults: every parameter drawn from its distribution
    model, params = prepare_assumptions("family_safeguarding")
    first = history[history["la_code"] == codes[0]]
    demand_model = make_model(DEFAULT_METHOD, panel=history).fit(first)
    draws = demand_model.sample(args.years, args.draws, 1)
    opening = draws.cla[0, 0]
    size = f"{args.draws:,} draws x {args.years} years"

    print(f"Projection benchmark: {size}, family_safeguarding, {DEFAULT_METHOD} demand model, "
          f"{source} ({len(codes)} LAs with a figure for the last year)")
    measure("one LA: scenario + money + sensitivity (given draws)", lambda: simulate(
        draws, model, params, opening_cla=opening, price_base_year="2024-25", seed=1,
        la_code=codes[0], method=DEFAULT_METHOD))
    measure("one LA: demand draws only", lambda: demand_model.sample(args.years, args.draws, 1))
    measure("one LA: full run_projection", lambda: run_projection(
        first, codes[0], horizon=args.years, n_draws=args.draws, seed=1, overrides=overrides,
        method=DEFAULT_METHOD, panel=history))

    failed: list[str] = []

    def all_las() -> None:
        for code in codes:
            try:
                run_projection(history[history["la_code"] == code], code, horizon=args.years,
                               n_draws=args.draws, seed=1, overrides=overrides,
                               method=DEFAULT_METHOD, panel=history)
            except (DemandModelError, ValueError) as error:
                failed.append(f"{code}: {error}")

    seconds = measure_time(f"all {len(codes)} LAs: full run_projection each", all_las)
    print(f"{'':<58} {seconds / len(codes):8.2f} s per LA; {len(failed)} could not be projected")
    for line in failed:
        print(f"  {line}")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak resident memory {peak_rss:,.0f} MiB")


if __name__ == "__main__":
    main()
