"""National sweeps: same numbers serially and on a 2-worker Dask cluster, totals added draw by
draw, retries, resume, workers that never touch the store, and the variance ranking."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sf_benefits.cli.main import app
from sf_benefits.ingest.loader import load_directory
from sf_benefits.ingest.ssda903.load import read_returns_by_la
from sf_benefits.ingest.ssda903.synthetic import generate_returns
from sf_benefits.project import run_projection, sweep
from sf_benefits.project.api import BaselineDemand, baseline_demand
from sf_benefits.project.inputs import projection_data
from sf_benefits.project.sweep import (
    ENGLAND,
    FORECAST_AND_INTERACTIONS,
    LAInput,
    LAOutcome,
    SweepSettings,
    appraise_la,
    first_order_share,
    inputs_from_returns,
    inputs_from_store,
    run_sweep,
)
from sf_benefits.store import Store
from tests.ingest.ssda903.fixtures import TEST_KEY

FS = "family_safeguarding"
UNCERTAIN = {
    "fs_reduction_in_starts": {"value": 0.2, "source": "test: planted dominant uncertainty",
                               "distribution": {"kind": "uniform", "low": 0.0, "high": 0.4}},
}
SETTINGS = SweepSettings(models=("family_safeguarding", "no_wrong_door"), n_draws=300, seed=11,
                         overrides=UNCERTAIN, overrides_by="test")


@pytest.fixture(scope="module")
def inputs(loaded_store: Store) -> list[LAInput]:
    return inputs_from_store(loaded_store)[:4]


@pytest.fixture(scope="module")
def panel(loaded_store: Store) -> pd.DataFrame:
    return projection_data(loaded_store).panel


@pytest.fixture(scope="module")
def serial(inputs: list[LAInput], panel: pd.DataFrame,
           tmp_path_factory: pytest.TempPathFactory) -> Any:
    return run_sweep(inputs, SETTINGS, tmp_path_factory.mktemp("serial"), panel=panel)


def test_two_worker_cluster_gives_the_serial_numbers_exactly(
        inputs: list[LAInput], panel: pd.DataFrame, serial: Any, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        distributed = run_sweep(inputs, SETTINGS, tmp_path, client=client, panel=panel)
    assert not serial.failed and (serial.runs["status"] == "ok").all()
    pd.testing.assert_frame_equal(serial.results, distributed.results)
    pd.testing.assert_frame_equal(serial.variance, distributed.variance)
    pd.testing.assert_frame_equal(serial.runs, distributed.runs)


def test_la_rows_are_the_single_la_projection(inputs: list[LAInput], panel: pd.DataFrame,
                                               serial: Any) -> None:
    first = inputs[0]
    assert first.history is not None
    alone = run_projection(first.history, first.la_code, FS, n_draws=300, seed=11,
                           overrides=UNCERTAIN, overrides_by="test", sensitivity=False,
                           unit_costs=first.unit_costs, la_name=first.la_name, panel=panel)
    assert alone.method == SETTINGS.method == serial.runs["method"].iloc[0]
    rows = serial.results[(serial.results["area_code"] == first.la_code)
                          & (serial.results["model"] == FS)]
    npv = rows[rows["measure"] == "net_present_value"].iloc[0]
    assert (npv["p10"], npv["p50"], npv["p90"]) == (
        alone.net_present_value.p10, alone.net_present_value.p50, alone.net_present_value.p90)
    money = rows[rows["measure"] == "net_savings"].set_index("year")["p50"]
    expected = alone.money[alone.money["measure"] == "net_savings"].set_index("financial_year")
    assert money.to_dict() == expected["p50"].to_dict()


def test_an_la_demand_is_forecast_once_for_every_model(
        inputs: list[LAInput], panel: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> BaselineDemand:
        made.append(args[1])
        return baseline_demand(*args, **kwargs)

    monkeypatch.setattr(sweep, "baseline_demand", counted)
    outcome = appraise_la(inputs[0], SETTINGS, panel)
    assert made == [inputs[0].la_code] and set(outcome.runs["status"]) == {"ok"}
    assert len(outcome.runs) == len(SETTINGS.models) == 2
    first = inputs[0]
    assert first.history is not None
    shorter = baseline_demand(first.history, first.la_code, 2, n_draws=300, seed=11, panel=panel)
    with pytest.raises(ValueError, match="draws × years"):
        run_projection(first.history, first.la_code, FS, n_draws=300, seed=11, panel=panel,
                       demand=shorter)


def test_totals_add_up_draw_by_draw(serial: Any) -> None:
    results = serial.results
    npv = results[(results["measure"] == "net_present_value") & (results["model"] == FS)]
    runs = serial.runs[serial.runs["model"] == FS]
    added = runs.loc[runs["in_totals"], "la_code"]
    assert 0 < len(added) < len(runs)  # one synthetic LA's data end a year early: left out
    las = npv[(npv["level"] == "local_authority") & npv["area_code"].isin(added)]
    england, regions = npv[npv["level"] == "country"], npv[npv["level"] == "region"]
    assert england["area_code"].tolist() == [ENGLAND]
    assert england["las_in_total"].iloc[0] == len(added)
    assert set(las["year"]) == set(england["year"])
    # means add up exactly (draws stored at single precision); quantiles of a sum do not
    assert england["mean"].iloc[0] == pytest.approx(las["mean"].sum(), rel=1e-6)
    assert regions["mean"].sum() == pytest.approx(england["mean"].iloc[0], rel=1e-6)
    assert las["p10"].sum() <= england["p50"].iloc[0] <= las["p90"].sum()
    # LAs share each assumption's draw, so the national spread is the LAs' spreads added
    spread = england["p90"].iloc[0] - england["p10"].iloc[0]
    assert spread == pytest.approx((las["p90"] - las["p10"]).sum(), rel=0.25)


def test_planted_dominant_assumption_ranks_first(serial: Any) -> None:
    ranking = serial.variance[serial.variance["model"] == FS]
    assert ranking.iloc[0]["assumption"] == "fs_reduction_in_starts"
    assert ranking.iloc[0]["share_of_variance"] > 0.5
    assert ranking["share_of_variance"].between(0, 1).all()
    assert FORECAST_AND_INTERACTIONS in set(ranking["assumption"])


def test_first_order_share_recovers_planted_shares() -> None:
    rng = np.random.default_rng(3)
    x1, x2, noise = rng.uniform(size=(3, 20_000))
    y = 3.0 * x1 + 1.0 * x2 + 1.0 * noise  # variances 9:1:1 (each uniform has variance 1/12)
    assert first_order_share(x1, y) == pytest.approx(9 / 11, abs=0.02)
    assert first_order_share(x2, y) == pytest.approx(1 / 11, abs=0.02)
    assert first_order_share(rng.uniform(size=20_000), y) == pytest.approx(0.0, abs=0.01)


def test_workers_get_their_inputs_not_the_store(tmp_path: Path, dfe_dir: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'own.sqlite'}")
    load_directory(store, dfe_dir)
    inputs = inputs_from_store(store)[:2]
    panel = projection_data(store).panel
    store.close()
    (tmp_path / "own.sqlite").unlink()
    report = run_sweep(inputs, SETTINGS, tmp_path / "out", panel=panel)
    assert (report.runs["status"] == "ok").all()


class Flaky:
    """A task that fails the first `failures` times it is called for `la_code`."""

    def __init__(self, la_code: str, failures: int) -> None:
        self.la_code, self.failures, self.calls = la_code, failures, []

    def __call__(self, inputs: LAInput, settings: SweepSettings, panel: pd.DataFrame | None
                 ) -> LAOutcome:
        self.calls.append(inputs.la_code)
        if inputs.la_code == self.la_code and self.calls.count(self.la_code) <= self.failures:
            raise OSError("worker lost its network share")
        return appraise_la(inputs, settings, panel)


def test_failed_task_is_retried_then_reported_and_a_resume_redoes_only_it(
        inputs: list[LAInput], panel: pd.DataFrame, serial: Any, tmp_path: Path) -> None:
    retried = Flaky(inputs[1].la_code, failures=1)
    report = run_sweep(inputs, SETTINGS, tmp_path / "retried", task=retried, retries=2,
                       panel=panel)
    assert not report.failed
    attempts = report.runs.groupby("la_code")["attempts"].first()
    assert attempts[inputs[1].la_code] == 2 and attempts.drop(inputs[1].la_code).eq(1).all()

    out = tmp_path / "broken"
    broken = Flaky(inputs[2].la_code, failures=99)
    report = run_sweep(inputs, SETTINGS, out, task=broken, retries=1, panel=panel)
    assert set(report.failed) == {inputs[2].la_code}
    assert "OSError: worker lost its network share" in report.failed[inputs[2].la_code]
    assert json.loads((out / "manifest.json").read_text())["failed"][inputs[2].la_code][
        "attempts"] == 2
    assert inputs[2].la_code not in set(report.results["area_code"])

    resumed_task = Flaky("none", failures=0)
    resumed = run_sweep(inputs, SETTINGS, out, task=resumed_task, panel=panel)
    assert resumed_task.calls == [inputs[2].la_code]
    assert resumed.resumed == len(inputs) - 1 and not resumed.failed
    pd.testing.assert_frame_equal(resumed.results, serial.results)


def test_a_folder_of_another_sweep_is_not_resumed(inputs: list[LAInput], panel: pd.DataFrame,
                                                  serial: Any) -> None:
    other = SweepSettings(models=SETTINGS.models, n_draws=301, seed=11, overrides=UNCERTAIN,
                          overrides_by="test")
    with pytest.raises(ValueError, match="n_draws"):
        run_sweep(inputs, other, serial.out_dir, panel=panel)


def test_changed_data_of_a_finished_la_is_redone(inputs: list[LAInput], panel: pd.DataFrame,
                                                 serial: Any, tmp_path: Path) -> None:
    shutil.copytree(serial.out_dir, tmp_path / "copy")
    first = inputs[0]
    assert first.history is not None
    changed = first.history.assign(value=first.history["value"] * 1.1)
    calls = Flaky("none", failures=0)
    run_sweep([LAInput(first.la_code, first.la_name, first.region_code, first.region_name,
                       changed, first.unit_costs), *inputs[1:]], SETTINGS, tmp_path / "copy",
              task=calls, panel=panel)
    assert calls.calls == [first.la_code]
    calls = Flaky("none", failures=0)
    run_sweep(inputs, SETTINGS, tmp_path / "copy", task=calls, panel=panel.iloc[1:])
    assert sorted(calls.calls) == sorted(i.la_code for i in inputs)  # the panel changed


def test_a_method_that_learns_across_las_needs_the_panel(inputs: list[LAInput],
                                                          tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="learns across LAs"):
        run_sweep(inputs, SweepSettings(models=(FS,), n_draws=10, method="pooled"), tmp_path)


def test_unknown_override_is_refused(inputs: list[LAInput], tmp_path: Path) -> None:
    settings = SweepSettings(models=(FS,), n_draws=10, overrides={"fs_reducton": 0.1})
    with pytest.raises(ValueError, match="fs_reducton"):
        run_sweep(inputs, settings, tmp_path)


@pytest.fixture
def returns_folder(tmp_path: Path) -> Iterator[Path]:
    for name, seed in (("E10000015", 1), ("E08000035", 2)):
        generate_returns(years=(2021, 2022, 2023), scale=0.5, seed=seed).write(tmp_path / name)
    yield tmp_path


def test_child_level_sweep_over_a_folder_of_returns(returns_folder: Path, tmp_path: Path) -> None:
    inputs = inputs_from_returns(read_returns_by_la(returns_folder, TEST_KEY))
    assert [i.la_code for i in inputs] == ["E08000035", "E10000015"]
    assert inputs[0].returns is not None
    assert not inputs[0].returns.children["child_id"].str.startswith("C").any()
    settings = SweepSettings(models=(FS,), n_draws=50, seed=5)
    report = run_sweep(inputs, settings, tmp_path / "out")
    assert (report.runs["status"] == "ok").all()
    assert set(report.runs["method"]) == {"child_level_multistate"}
    npv = report.results[report.results["measure"] == "net_present_value"]
    assert set(npv["level"]) == {"local_authority", "region", "country"}


def test_sweep_command_on_the_scheduler_in_the_setting_writes_parquet_and_csv(
        loaded_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import LocalCluster

    codes = [i.la_code for i in inputs_from_store(loaded_store)[:2]]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
        result = CliRunner().invoke(app, [
            "sweep", *[a for c in codes for a in ("--la", c)], "--models", "family_safeguarding",
            "--draws", "50", "--csv", "--out", str(tmp_path), "--database-url", loaded_store.url])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert f"on Dask ({cluster.scheduler_address}, 2 worker(s)" in output
    assert "England: net present value" in output
    table = pd.read_parquet(tmp_path / "results.parquet")
    assert set(codes) <= set(table["area_code"])
    assert (tmp_path / "results.csv").exists() and (tmp_path / "variance_ranking.csv").exists()
    assert {"level", "area_code", "model", "scenario", "measure", "year", "p10", "p50",
            "p90"} <= set(table.columns)
    counts = table[table["unit"] == "children"][["p10", "p50", "p90"]].to_numpy().ravel()
    counts = counts[~np.isnan(counts)]
    assert (counts == np.round(counts)).all() and not ((counts > 0) & (counts < 6)).any()



@pytest.mark.shared_data
def test_a_renamed_la_is_swept_once_under_its_new_code(real_data_store: Store) -> None:
    """North Yorkshire's and Somerset's former codes hold no series of their own in the real
    data: they are not swept (each was refused for 'no rows')."""
    codes = {i.la_code for i in inputs_from_store(real_data_store)}
    assert {"E06000065", "E06000066"} <= codes
    assert not {"E10000023", "E10000027"} & codes
