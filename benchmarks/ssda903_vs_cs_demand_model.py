"""SF Benefits' child-level engine side by side with the sector's open model, cs-demand-model.

Both run on the same SSDA903 returns (synthetic by default, at 1x, 10x and 100x one LA; or a
directory of real returns) with the same reference window, and produce the same output: children
in care by placement and age band at future 31 Marches. Reported for each: wall time and peak
memory of a whole run (load, fit, forecast) in its own process, and the backtest error when the
last years are held back and forecast from the earlier ones.

cs-demand-model 0.5.1 pins pandas < 2 and numpy < 2, so it is installed from PyPI into its own
virtual environment (created on first use) and run in a subprocess. Its placement categories
(fostering, residential, supported, other) are used for both models in the comparison.

Usage:
    .venv/bin/python benchmarks/ssda903_vs_cs_demand_model.py --scales 1 10 100
    .venv/bin/python benchmarks/ssda903_vs_cs_demand_model.py --data ../shared/data/ssda903
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import venv
from pathlib import Path

import numpy as np
import pandas as pd

from sf_benefits import config
from sf_benefits.ingest.ssda903.synthetic import generate_returns

CS_REQUIREMENT = "cs-demand-model==0.5.1"
THEIR_CATEGORIES = ("FOSTERING", "RESIDENTIAL", "SUPPORTED", "OTHER")
THEIR_MAP = {**{f"U{i}": "FOSTERING" for i in range(1, 7)}, "K2": "RESIDENTIAL",
             "R1": "RESIDENTIAL", "H5": "SUPPORTED", "P2": "SUPPORTED"}
THEIR_BANDS = {"BIRTH_TO_ONE": "under_1", "ONE_TO_FIVE": "1_to_4", "FIVE_TO_TEN": "5_to_9",
               "TEN_TO_SIXTEEN": "10_to_15", "SIXTEEN_TO_EIGHTEEN": "16_to_17"}
BENCH_KEY = "benchmark-only pseudonym key"

THEIRS = textwrap.dedent('''
    import json, resource, sys
    import pandas as pd
    from cs_demand_model import DemandModellingDataContainer, ModelPredictor, PopulationStats
    from cs_demand_model.config import Config
    from cs_demand_model.datastore import fs_datastore
    source, start, end, dates, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    config = Config()
    container = DemandModellingDataContainer(fs_datastore(source), config)
    stats = PopulationStats(container.enriched_view, config)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    wanted = [pd.Timestamp(d) for d in dates.split(",")]
    predictor = ModelPredictor.from_model(stats, start, end)
    population = predictor.predict((max(wanted) - end).days)
    population.index = pd.to_datetime(population.index)
    rows = []
    for when in wanted:
        row = population.loc[when]
        for (band, place), value in row.items():
            rows.append((when.strftime("%Y-%m-%d"), band, place, float(value)))
    pd.DataFrame(rows, columns=["date", "band", "placement", "mean"]).to_csv(out, index=False)
    print(json.dumps({"peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
''')

OURS = textwrap.dedent('''
    import json, resource, sys
    from pathlib import Path
    import pandas as pd
    from sf_benefits.ingest.ssda903 import read_returns
    from sf_benefits.project.childlevel import ChildLevelModel
    source, start, end, dates, out, draws, mapping = sys.argv[1:8]
    files = sorted(Path(source).glob("*/*.csv"))
    data = read_returns(files, "E99999999", key=KEY)
    mapping = json.loads(mapping)
    model = ChildLevelModel(placement_map=mapping["map"], placements=mapping["placements"],
                            n_draws=int(draws))
    model.fit(data, reference_start=pd.Timestamp(start), reference_end=pd.Timestamp(end))
    wanted = [pd.Timestamp(d) for d in dates.split(",")]
    years = max(w.year for w in wanted) - pd.Timestamp(end).year
    frame = model.predict(years, level=[80])
    frame = frame[frame["date"].isin(wanted)]
    frame.to_csv(out, index=False)
    print(json.dumps({"peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
''').replace("KEY", repr(BENCH_KEY.encode()))


def cs_python(home: Path) -> Path:
    """Python of a virtual environment with cs-demand-model installed from PyPI."""
    python = home / "bin" / "python"
    marker = home / "installed.txt"
    if not (marker.is_file() and marker.read_text().strip() == CS_REQUIREMENT):
        print(f"installing {CS_REQUIREMENT} into {home} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", CS_REQUIREMENT],
                       check=True)
        marker.write_text(CS_REQUIREMENT)
    return python


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one run in its own process, measured by
    GNU time where present (else the run's own getrusage, which on Linux can carry over the
    launching process's peak)."""
    gnu_time = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as memory:
        wrapper = [gnu_time, "-f", "%M", "-o", memory.name] if Path(gnu_time).is_file() else []
        began = time.perf_counter()
        done = subprocess.run([*wrapper, *command], check=True, capture_output=True, text=True)
        wall = time.perf_counter() - began
        measured = memory.read().split()
    if wrapper and measured:
        return wall, int(measured[-1]) / 1024.0
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, report["peak_rss_kb"] / 1024.0


def actual_population(source: Path, dates: list[pd.Timestamp]) -> pd.DataFrame:
    """Children in care on each date by age band and cs-demand-model category, from all years."""
    from sf_benefits.ingest.ssda903 import read_returns
    from sf_benefits.project.childlevel import build_histories, population_at

    data = read_returns(sorted(source.glob("*/*.csv")), "E99999999", key=BENCH_KEY.encode())
    histories = build_histories(data, THEIR_MAP, THEIR_CATEGORIES)
    return population_at(histories, dates)


def subset(source: Path, years: list[int], target: Path) -> Path:
    """A copy of the returns for `years` only (the data a forecaster had at the time)."""
    target.mkdir(parents=True, exist_ok=True)
    for year in years:
        shutil.copytree(source / str(year), target / str(year), dirs_exist_ok=True)
    return target


def errors_against(predicted: pd.DataFrame, actual: pd.DataFrame) -> dict[str, float]:
    """WAPE over age band x placement cells, over placements, and error of the total (%)."""
    merged = actual.merge(predicted, on=["date", "age_band", "placement"], how="left")
    merged["mean"] = merged["mean"].fillna(0.0)
    cells = (merged["mean"] - merged["children"]).abs().sum() / merged["children"].sum()
    by_place = merged.groupby(["date", "placement"])[["mean", "children"]].sum()
    places = (by_place["mean"] - by_place["children"]).abs().sum() / by_place["children"].sum()
    totals = merged.groupby("date")[["mean", "children"]].sum()
    total = ((totals["mean"] - totals["children"]).abs() / totals["children"]).mean()
    return {"wape_cells": 100 * cells, "wape_placements": 100 * places, "total_error": 100 * total}


def theirs_tidy(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame["age_band"] = frame["band"].map(THEIR_BANDS)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.groupby(["date", "age_band", "placement"], as_index=False).agg({"mean": "sum"})


def ours_tidy(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(path, parse_dates=["date"])
    cells = frame[(frame["age_band"] != "all") & (frame["placement"] != "all")]
    return cells[["date", "age_band", "placement", "mean"]], cells


def coverage(cells: pd.DataFrame, actual: pd.DataFrame) -> float:
    merged = actual.merge(cells, on=["date", "age_band", "placement"])
    inside = (merged["children"] >= np.floor(merged["lo-80"])) & (
        merged["children"] <= np.ceil(merged["hi-80"]))
    return 100.0 * float(inside.mean())


def run_scale(label: str, source: Path, work: Path, cs: Path, window_years: float,
              holdout: int, draws: int) -> dict[str, object]:
    years = sorted(int(p.name) for p in source.iterdir() if p.is_dir() and p.name.isdigit())
    end = pd.Timestamp(year=years[-1], month=3, day=31)
    mapping = json.dumps({"map": THEIR_MAP, "placements": list(THEIR_CATEGORIES)})
    result: dict[str, object] = {"scale": label, "years": years}

    def window(until: pd.Timestamp) -> tuple[str, str]:
        return (f"{until - pd.DateOffset(days=round(window_years * 365.25)):%Y-%m-%d}",
                f"{until:%Y-%m-%d}")

    future = [end + pd.DateOffset(years=i) for i in (1, 2)]
    dates = ",".join(f"{d:%Y-%m-%d}" for d in future)
    start_s, end_s = window(end)
    ours_out, theirs_out = work / "ours_forecast.csv", work / "theirs_forecast.csv"
    result["ours_wall"], result["ours_mb"] = timed(
        [sys.executable, "-c", OURS, str(source), start_s, end_s, dates, str(ours_out),
         str(draws), mapping])
    result["theirs_wall"], result["theirs_mb"] = timed(
        [str(cs), "-c", THEIRS, str(source), start_s, end_s, dates, str(theirs_out)])
    ours_cells, _ = ours_tidy(ours_out)
    both = ours_cells.merge(theirs_tidy(theirs_out), on=["date", "age_band", "placement"],
                            suffixes=("_ours", "_theirs"), how="outer").fillna(0.0)
    result["forecast_difference"] = 100 * float(
        (both["mean_ours"] - both["mean_theirs"]).abs().sum() / both["mean_theirs"].sum())

    cutoff_year = years[-1 - holdout]
    cutoff = pd.Timestamp(year=cutoff_year, month=3, day=31)
    held = [pd.Timestamp(year=y, month=3, day=31) for y in years[-holdout:]]
    fit_dir = subset(source, [y for y in years if y <= cutoff_year], work / "fit")
    start_s, end_s = window(cutoff)
    dates = ",".join(f"{d:%Y-%m-%d}" for d in held)
    ours_back, theirs_back = work / "ours_backtest.csv", work / "theirs_backtest.csv"
    result["ours_backtest_wall"], _ = timed(
        [sys.executable, "-c", OURS, str(fit_dir), start_s, end_s, dates, str(ours_back),
         str(draws), mapping])
    result["theirs_backtest_wall"], _ = timed(
        [str(cs), "-c", THEIRS, str(fit_dir), start_s, end_s, dates, str(theirs_back)])
    actual = actual_population(source, held)
    ours_pred, ours_full = ours_tidy(ours_back)
    result["ours_errors"] = errors_against(ours_pred, actual)
    result["theirs_errors"] = errors_against(theirs_tidy(theirs_back), actual)
    result["ours_coverage_80"] = coverage(ours_full, actual)
    result["held_back"] = [f"{d:%Y}" for d in held]
    return result


def print_table(results: list[dict[str, object]]) -> None:
    print()
    print("| scale | model | wall s | peak MB | backtest WAPE cells % | WAPE placements % "
          "| total error % | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        ours, theirs = r["ours_errors"], r["theirs_errors"]
        assert isinstance(ours, dict) and isinstance(theirs, dict)
        speed = float(r["theirs_wall"]) / float(r["ours_wall"])  # type: ignore[arg-type]
        print(f"| {r['scale']} | SF Benefits | {r['ours_wall']:.1f} | {r['ours_mb']:.0f} | "
              f"{ours['wape_cells']:.1f} | {ours['wape_placements']:.1f} | "
              f"{ours['total_error']:.1f} | {speed:.1f}x |")
        print(f"| {r['scale']} | cs-demand-model | {r['theirs_wall']:.1f} | "
              f"{r['theirs_mb']:.0f} | {theirs['wape_cells']:.1f} | "
              f"{theirs['wape_placements']:.1f} | {theirs['total_error']:.1f} | 1x |")
    print()
    for r in results:
        print(f"{r['scale']}: held back {r['held_back']}; SF Benefits 80% intervals cover "
              f"{r['ours_coverage_80']:.0f}% of cells; forecasts differ by "
              f"{r['forecast_difference']:.1f}% (sum |ours - theirs| / theirs); backtest runs "
              f"{r['ours_backtest_wall']:.1f} s vs {r['theirs_backtest_wall']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", type=int, default=[1, 10, 100])
    parser.add_argument("--data", type=Path, default=None,
                        help="directory of real returns (<year>/header.csv, episodes.csv), or of "
                             "such directories (s1, s10, ...); default ../shared/data/ssda903 "
                             "when present, else synthetic returns")
    parser.add_argument("--years", nargs="+", type=int, default=[2019, 2020, 2021, 2022, 2023])
    parser.add_argument("--holdout", type=int, default=2)
    parser.add_argument("--window-years", type=float, default=2.0)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=903)
    parser.add_argument("--venv", type=Path, default=config.data_dir() / "cs-demand-model-0.5.1")
    parser.add_argument("--json", type=Path, default=None, help="also write results as JSON")
    args = parser.parse_args()

    cs = cs_python(args.venv)
    data = args.data
    shared = config.default_source_dir() / "ssda903"
    if data is None and shared.is_dir():
        data = shared
    results = []
    with tempfile.TemporaryDirectory(prefix="ssda903-bench-") as scratch:
        if data is not None:
            sources = [p for p in sorted(data.iterdir()) if p.is_dir() and not p.name.isdigit()]
            runs = [(p.name, p) for p in sources] or [(data.name, data)]
        else:
            runs = []
            for scale in args.scales:
                folder = Path(scratch) / f"s{scale}" / "returns"
                began = time.perf_counter()
                generate_returns(tuple(args.years), float(scale), args.seed).write(folder)
                print(f"generated {scale}x returns in {time.perf_counter() - began:.1f} s",
                      flush=True)
                runs.append((f"{scale}x", folder))
        for label, source in runs:
            work = Path(scratch) / f"work-{label}"
            work.mkdir(parents=True, exist_ok=True)
            print(f"running {label} ...", flush=True)
            results.append(run_scale(label, source, work, cs, args.window_years, args.holdout,
                                     args.draws))
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
