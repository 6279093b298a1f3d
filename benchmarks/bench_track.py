"""Timings of the track engine on realistic sizes; prints figures (run by hand, not in CI).

    .venv/bin/python benchmarks/bench_track.py
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd

from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.store import Store
from sf_benefits.track import (
    cla_rate_panel,
    difference_in_differences,
    import_actuals,
    nearest_comparators,
    record_implementation,
    synthetic_control,
)
from sf_benefits.track.simulate import plant_effect, synthetic_history


def _time(label: str, action: Callable[[], object], repeats: int = 3) -> None:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    print(f"{label:<62} best {min(timings) * 1000:8.1f} ms  (of {repeats})")


def main() -> None:
    """Counterfactual estimates on 150 LAs (England-sized), and a large actuals import."""
    history = plant_effect(synthetic_history(n_las=150, seed=1), "E99000001", 2019, -0.08)
    panel = cla_rate_panel(history)
    pool = [c for c in panel["la_code"].unique() if c != "E99000001"]
    comparators = nearest_comparators(panel, "E99000001", pool, 2019)
    _time("DiD, 20 comparators, 149-LA placebo pool, 17 years",
          lambda: difference_in_differences(panel, "E99000001", 2019, comparators,
                                            placebo_pool=pool))
    _time("synthetic control, 149 donors + 149 placebo fits (+ in time)",
          lambda: synthetic_control(panel, "E99000001", 2019, pool))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        record_implementation(store, "E06000005", "Darlington", "family_valued",
                              date(2020, 6, 1), "bench")
        months = [f"{y}-{m:02d}" for y in range(1990, 2026) for m in range(1, 13)]
        rows = [(m, measure, placement, "100", "") for m in months
                for measure in ("cla", "starts", "ceases")
                for placement in (*PLACEMENTS, "all")]
        for i in range(3):
            path = Path(tmp) / f"actuals{i}.csv"
            pd.DataFrame([(p, m, pl, str(100 + i), s) for p, m, pl, _, s in rows],
                         columns=["period", "measure", "placement", "count", "spend_gbp"]
                         ).to_csv(path, index=False)
        paths = iter(Path(tmp) / f"actuals{i}.csv" for i in range(3))
        _time(f"validate + import {len(rows):,}-row actuals CSV (SQLite)",
              lambda: import_actuals(store, "E06000005", next(paths)))
        store.close()


if __name__ == "__main__":
    main()
