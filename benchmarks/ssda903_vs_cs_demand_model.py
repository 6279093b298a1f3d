"""SF Benefits' child-level engine side by side with the sector's open model, cs-demand-model.

Speed is measured on the path a user runs, each command in its own process under GNU time
(wall and CPU seconds, peak memory, load average): for SF Benefits `sf-benefits ssda903 load --la LA DIR`
(validate, pseudonymise, store) then `sf-benefits ssda903 project --la LA`; for cs-demand-model
`demand-model predict DIR`. Accuracy is a backtest of both on the same returns: fit to the data
up to 31 March 2021 and forecast 2022 and 2023, and fit to 2022 and forecast 2023, against the
children in care in the later returns, in cs-demand-model's placement categories (fostering,
residential, supported, other) and DfE age bands; each tool with its own default reference window
(SF Benefits: moves over 3 years, entries over the last year; cs-demand-model 6 months). Also SF
Benefits' 80% interval coverage of cells (age band x placement), placements and totals, per scale
and over all; a cell counts when it held a child or the model expected one there (an empty cell
nobody expects, such as a baby in semi-independent living, would be covered by any interval).

cs-demand-model 0.5.1 pins pandas < 2 and numpy < 2, so it is installed from PyPI into its own
virtual environment (created on first use under the data directory) and run in a subprocess.

Usage:
    .venv/bin/python benchmarks/ssda903_vs_cs_demand_model.py            # s1, s10, s100
    .venv/bin/python benchmarks/ssda903_vs_cs_demand_model.py --scales s1 --data DIR
    .venv/bin/python benchmarks/ssda903_vs_cs_demand_model.py --no-speed   # the backtest only
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import venv
from pathlib import Path

import numpy as np
import pandas as pd

from sf_benefits import config

CS_REQUIREMENT = "cs-demand-model==0.5.1"
LA = "E08000035"
THEIR_CATEGORIES = ("FOSTERING", "RESIDENTIAL", "SUPPORTED", "OTHER")
THEIR_MAP = {**{f"U{i}": "FOSTERING" for i in range(1, 7)}, "K2": "RESIDENTIAL",
             "R1": "RESIDENTIAL", "H5": "SUPPORTED", "P2": "SUPPORTED"}
THEIR_BANDS = {"BIRTH_TO_ONE": "under_1", "ONE_TO_FIVE": "1_to_4", "FIVE_TO_TEN": "5_to_9",
               "TEN_TO_SIXTEEN": "10_to_15", "SIXTEEN_TO_EIGHTEEN": "16_to_17"}
BENCH_KEY = bytes(range(32))
THEIR_WINDOW_MONTHS = 6
ORIGINS = ((2021, (2022, 2023)), (2022, (2023,)))

THEIRS = textwrap.dedent('''
    import sys
    import pandas as pd
    from cs_demand_model import DemandModellingDataContainer, ModelPredictor, PopulationStats
    from cs_demand_model.config import Config
    from cs_demand_model.datastore import fs_datastore
    source, start, end, dates, out = sys.argv[1:6]
    config = Config()
    container = DemandModellingDataContainer(fs_datastore(source), config)
    stats = PopulationStats(container.enriched_view, config)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    wanted = [pd.Timestamp(d) for d in dates.split(",")]
    population = ModelPredictor.from_model(stats, start, end).predict((max(wanted) - end).days)
    population.index = pd.to_datetime(population.index)
    rows = [(when.strftime("%Y-%m-%d"), band, place, float(value))
            for when in wanted for (band, place), value in population.loc[when].items()]
    pd.DataFrame(rows, columns=["date", "band", "placement", "mean"]).to_csv(out, index=False)
''')

OURS = textwrap.dedent('''
    import sys
    from pathlib import Path
    import pandas as pd
    from sf_benefits.ingest.ssda903.load import read_returns
    from sf_benefits.ingest.ssda903.read import return_files
    from sf_benefits.project.childlevel import ChildLevelModel
    source, dates, out, draws, mapping = sys.argv[1:6]
    data = read_returns(return_files([source]), "E99999999", key=bytes(range(32)))
    mapping = json.loads(mapping)
    model = ChildLevelModel(placement_map=mapping["map"], placements=mapping["placements"],
                            n_draws=int(draws)).fit(data)
    wanted = [pd.Timestamp(d) for d in dates.split(",")]
    frame = model.predict(max(w.year for w in wanted) - data.data_end.year, level=[80])
    frame[frame["date"].isin(wanted)].to_csv(out, index=False)
''').replace("import sys\n", "import json, sys\n", 1)


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


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, peak resident memory (MB) and CPU seconds (user + system; on a busy machine
    the fairer comparison) of one command in its own process, by GNU time; the command's output
    is shown when it fails."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as measured:
        done = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", "-o", measured.name,
                               *command], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
        wall, kilobytes, user, system = measured.read().split()[-4:]
    return float(wall), int(kilobytes) / 1024.0, float(user) + float(system)


def user_path(source: Path, cs: Path, store: Path, sf: str) -> dict[str, float]:
    """Both tools as a user runs them on `source`: seconds and MB of each command."""
    from sf_benefits.ingest.ssda903.load import new_key

    env = {**os.environ, "SF_BENEFITS_DATA_DIR": str(store), "SF_BENEFITS_PSEUDONYM_KEY": new_key()}
    env.pop("SF_BENEFITS_DATABASE_URL", None)
    timed([sf, "--help"], env)  # byte-compiled files exist before timing starts
    runs = {"load": [sf, "ssda903", "load", "--la", LA, str(source)],
            "project": [sf, "ssda903", "project", "--la", LA],
            "theirs": [str(cs.with_name("demand-model")), "predict", str(source)]}
    result: dict[str, float] = {"load_average": os.getloadavg()[0]}
    for name, command in runs.items():
        result[f"{name}_s"], result[f"{name}_mb"], result[f"{name}_cpu"] = timed(command, env)
    result["load_average"] = max(result["load_average"], os.getloadavg()[0])
    return result


def actual_population(source: Path, dates: list[pd.Timestamp]) -> pd.DataFrame:
    """Children in care on each date by age band and cs-demand-model category, from all years."""
    from sf_benefits.ingest.ssda903.load import read_returns
    from sf_benefits.ingest.ssda903.read import return_files
    from sf_benefits.project.childlevel import build_histories, population_at

    data = read_returns(return_files([source]), "E99999999", key=BENCH_KEY)
    return population_at(build_histories(data, THEIR_MAP, THEIR_CATEGORIES), dates)


def theirs_tidy(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame["age_band"] = frame["band"].map(THEIR_BANDS)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.groupby(["date", "age_band", "placement"], as_index=False).agg({"mean": "sum"})


def ours_tidy(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, parse_dates=["date"])


def scores(predicted: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Per held-back date: signed error of the total (%), WAPE over placements and over age band x
    placement cells (%), and (with intervals) 80% coverage of the cells, placements and total."""
    cells = predicted[(predicted["age_band"] != "all") & (predicted["placement"] != "all")]
    actual = actual[actual["date"].isin(predicted["date"])]
    merged = actual.merge(cells, on=["date", "age_band", "placement"], how="left")
    merged["mean"] = merged["mean"].fillna(0.0)
    rows = []
    for when, group in merged.groupby("date"):
        places = group.groupby("placement")[["mean", "children"]].sum()
        total = group["children"].sum()
        row = {"date": f"{pd.Timestamp(str(when)):%Y}",
               "total_error": 100 * (group["mean"].sum() - total) / total,
               "wape_placements": 100 * (places["mean"] - places["children"]).abs().sum() / total,
               "wape_cells": 100 * (group["mean"] - group["children"]).abs().sum() / total}
        if "lo-80" in predicted.columns:
            at = predicted[predicted["date"] == when]
            by_place = at[at["age_band"] == "all"].set_index("placement")
            scored = (group["children"] > 0) | (group["mean"] >= 0.5)
            inside = ((group["children"] >= np.floor(group["lo-80"])) & (
                group["children"] <= np.ceil(group["hi-80"])))[scored]
            counts = places["children"].reindex(THEIR_CATEGORIES, fill_value=0)
            band = by_place.reindex(list(THEIR_CATEGORIES))
            row["cover_cells"] = 100 * float(inside.mean())
            row["cells_inside"], row["cells_scored"] = int(inside.sum()), int(scored.sum())
            row["cover_placements"] = 100 * float(((counts >= np.floor(band["lo-80"])) & (
                counts <= np.ceil(band["hi-80"]))).mean())
            whole = at[(at["age_band"] == "all") & (at["placement"] == "all")]
            low, high = float(whole["lo-80"].iloc[0]), float(whole["hi-80"].iloc[0])
            row["cover_total"] = 100 * float(np.floor(low) <= total <= np.ceil(high))
        rows.append(row)
    return pd.DataFrame(rows)


def backtest(source: Path, work: Path, cs: Path, draws: int) -> pd.DataFrame:
    """Both tools fitted at each origin on the returns up to it, scored on the later returns."""
    mapping = json.dumps({"map": THEIR_MAP, "placements": list(THEIR_CATEGORIES)})
    held_all = sorted({y for _, held in ORIGINS for y in held})
    actual = actual_population(source, [pd.Timestamp(year=y, month=3, day=31) for y in held_all])
    results = []
    for origin, held in ORIGINS:
        fit_dir = work / f"upto{origin}"
        for year in range(origin - 4, origin + 1):
            if (source / str(year)).is_dir():
                shutil.copytree(source / str(year), fit_dir / str(year), dirs_exist_ok=True)
        dates = ",".join(f"{y}-03-31" for y in held)
        end = pd.Timestamp(year=origin, month=3, day=31)
        start = end - pd.DateOffset(months=THEIR_WINDOW_MONTHS)
        ours_out, theirs_out = work / f"ours{origin}.csv", work / f"theirs{origin}.csv"
        subprocess.run([sys.executable, "-c", OURS, str(fit_dir), dates, str(ours_out), str(draws),
                        mapping], check=True)
        subprocess.run([str(cs), "-c", THEIRS, str(fit_dir), f"{start:%Y-%m-%d}",
                        f"{end:%Y-%m-%d}", dates, str(theirs_out)], check=True)
        for tool, frame in (("SF Benefits", ours_tidy(ours_out)),
                            ("cs-demand-model", theirs_tidy(theirs_out))):
            scored = scores(frame, actual)
            scored.insert(0, "tool", tool)
            scored.insert(0, "origin", origin)
            results.append(scored)
    return pd.concat(results, ignore_index=True)


def print_speed(speed: dict[str, dict[str, float]]) -> None:
    """The user-path table: wall time is what a user waits, CPU time (user + system) the fairer
    comparison on a shared machine, so both are printed, with the 1-minute load average (the
    higher of before and after the scale's runs) and the machine's core count."""
    print(f"\n{os.cpu_count()} cores; load average is the 1-minute figure, the higher of "
          "before and after each scale's runs.")
    print("\n| scale | SF Benefits load: wall s / CPU s / MB | project: wall s / CPU s / MB "
          "| SF Benefits total: wall s / CPU s / peak MB | cs-demand-model predict: wall s / "
          "CPU s / peak MB | speed-up wall / CPU | load average |")
    print("|---|---|---|---|---|---|---|")
    for scale, r in speed.items():
        wall, cpu = r["load_s"] + r["project_s"], r["load_cpu"] + r["project_cpu"]
        print(f"| {scale} | {r['load_s']:.2f} / {r['load_cpu']:.2f} / {r['load_mb']:.0f} | "
              f"{r['project_s']:.2f} / {r['project_cpu']:.2f} / {r['project_mb']:.0f} | "
              f"{wall:.2f} / {cpu:.2f} / {max(r['load_mb'], r['project_mb']):.0f} | "
              f"{r['theirs_s']:.2f} / {r['theirs_cpu']:.2f} / {r['theirs_mb']:.0f} | "
              f"{r['theirs_s'] / wall:.1f}x / {r['theirs_cpu'] / cpu:.1f}x | "
              f"{r['load_average']:.1f} |")


def print_accuracy(accuracy: dict[str, pd.DataFrame]) -> None:
    print("\n| scale | fitted to | year | tool | total error % | WAPE placements % | WAPE cells % "
          "| 80% coverage cells / placements / total |")
    print("|---|---|---|---|---|---|---|---|")
    for scale, frame in accuracy.items():
        for r in frame.itertuples(index=False):
            cover = (f"{r.cover_cells:.0f}% / {r.cover_placements:.0f}% / {r.cover_total:.0f}%"
                     if r.tool == "SF Benefits" else "")
            print(f"| {scale} | {r.origin} | {r.date} | {r.tool} | {r.total_error:+.1f} | "
                  f"{r.wape_placements:.1f} | {r.wape_cells:.1f} | {cover} |")
    every = pd.concat(accuracy, names=["scale"]).reset_index(level=0)
    ours = every[every["tool"] == "SF Benefits"]
    theirs = every[every["tool"] != "SF Benefits"]
    print("\n| scale | mean abs. total error %: SF Benefits / cs-demand-model | cases SF Benefits "
          "<= cs-demand-model | WAPE placements % | SF Benefits 80% coverage cells / placements /"
          " totals |")
    print("|---|---|---|---|---|")
    for scale, group in [*ours.groupby("scale", sort=False), ("all", ours)]:
        other = theirs[theirs["scale"].isin(group["scale"])]
        wins = int((group["total_error"].abs().to_numpy()
                    <= other["total_error"].abs().to_numpy()).sum())
        cells = 100 * group["cells_inside"].sum() / group["cells_scored"].sum()
        print(f"| {scale} | {group['total_error'].abs().mean():.2f} / "
              f"{other['total_error'].abs().mean():.2f} | {wins} of {len(group)} | "
              f"{group['wape_placements'].mean():.1f} / {other['wape_placements'].mean():.1f} | "
              f"{cells:.0f}% of {int(group['cells_scored'].sum())} / "
              f"{group['cover_placements'].mean():.0f}% / {group['cover_total'].mean():.0f}% |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=config.default_source_dir() / "ssda903",
                        help="folder of scale folders (s1, s10, s100) of year folders")
    parser.add_argument("--scales", nargs="+", default=["s1", "s10", "s100"])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--no-accuracy", action="store_true", help="time the user path only")
    parser.add_argument("--no-speed", action="store_true", help="backtest accuracy only")
    parser.add_argument("--venv", type=Path, default=config.data_dir() / "cs-demand-model-0.5.1")
    parser.add_argument("--json", type=Path, default=None, help="also write results as JSON")
    parser.add_argument("--sf", default=str(Path(sys.executable).with_name("sf-benefits")),
                        help="the sf-benefits command to time (default: this environment's)")
    args = parser.parse_args()

    compileall.compile_dir(Path(config.__file__).parent, quiet=1)  # as bench_foundation.py
    cs = cs_python(args.venv)
    speed: dict[str, dict[str, float]] = {}
    accuracy: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory(prefix="ssda903-bench-") as scratch:
        for scale in args.scales:
            source = args.data / scale
            print(f"running {scale} ...", flush=True)
            if not args.no_speed:
                speed[scale] = user_path(source, cs, Path(scratch) / f"store-{scale}", args.sf)
            if not args.no_accuracy:
                work = Path(scratch) / f"work-{scale}"
                work.mkdir()
                accuracy[scale] = backtest(source, work, cs, args.draws)
    if speed:
        print_speed(speed)
    if accuracy:
        print_accuracy(accuracy)
    if args.json:
        args.json.write_text(json.dumps(
            {"speed": speed, "accuracy": {k: v.to_dict("records") for k, v in accuracy.items()}},
            indent=2))


if __name__ == "__main__":
    main()
