"""Speed of the child-level engine stage by stage on synthetic SSDA903 returns (in one process).

Stages: check and pseudonymise the returns, build care histories and fit the rates, project with
200 draws, and (with --store) `load_returns` into an embedded store: check, pseudonymise and
write, as `sf-benefits ssda903 load` does. Prints CPU seconds per stage for each scale (the
user path, start-up included, is timed by ssda903_vs_cs_demand_model.py).

    .venv/bin/python benchmarks/bench_ssda903.py --scales 1 10 100
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sf_benefits.ingest.ssda903 import load_returns, read_returns
from sf_benefits.ingest.ssda903.synthetic import generate_returns
from sf_benefits.project.childlevel import ChildLevelModel, build_histories
from sf_benefits.store import Store

KEY = bytes(range(32))  # benchmark only: a fixed key of distinct bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", type=int, default=[1, 10, 100])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--years", type=int, default=3, help="projection horizon")
    parser.add_argument("--store", action="store_true", help="also time a load into SQLite")
    args = parser.parse_args()
    print("| scale | episodes | children in care | check+pseudonymise s | histories s | fit s "
          f"| predict ({args.draws} draws, {args.years} y) s | load_returns into SQLite s |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for scale in args.scales:
            folder = Path(scratch) / f"s{scale}"
            files = generate_returns(scale=float(scale), seed=903).write(folder)
            began = time.process_time()
            data = read_returns(files, "E99999999", key=KEY)
            checked = time.process_time()
            histories = build_histories(data)
            built = time.process_time()
            model = ChildLevelModel(n_draws=args.draws).fit(histories)
            fitted = time.process_time()
            model.predict(args.years)
            predicted = time.process_time()
            stored = float("nan")
            if args.store:
                store = Store.open(f"sqlite:///{Path(scratch) / f'store{scale}.sqlite'}")
                start = time.process_time()
                load_returns(store, files, "E99999999", KEY)
                stored = time.process_time() - start
                store.close()
            print(f"| {scale}x | {len(data.episodes)} | {int(model.opening_stock().sum())} | "
                  f"{checked - began:.2f} | {built - checked:.2f} | {fitted - built:.2f} | "
                  f"{predicted - fitted:.2f} | {stored:.2f} |")


if __name__ == "__main__":
    main()
