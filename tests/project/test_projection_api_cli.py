"""run_projection and the `project` / `assumptions list` commands on the synthetic store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from sf_benefits.assumptions import MissingAssumptionError
from sf_benefits.benchmark import resolve_la
from sf_benefits.cli.main import app
from sf_benefits.project import DEFAULT_METHOD, run_projection
from sf_benefits.project.api import resolve_method
from sf_benefits.project.inputs import projection_data
from sf_benefits.store import Store
from tests.project.projection_fixtures import complete_overrides, model_without

runner = CliRunner()


@pytest.fixture(scope="module")
def history(loaded_store: Store) -> tuple[pd.DataFrame, str]:
    """Every LA's history (a method that learns across LAs needs them all) and Warrington's code."""
    return projection_data(loaded_store).panel, resolve_la(loaded_store, "warrington").la_code


def test_run_projection_from_a_store_history(history: tuple[pd.DataFrame, str]) -> None:
    frame, code = history
    overrides = complete_overrides("family_safeguarding", effect=0.15, ramp=2.0,
                                   implementation=250_000, running=50_000)
    result = run_projection(frame, code, horizon=3, n_draws=300, seed=3, overrides=overrides,
                            overrides_by="Warrington finance")
    mine = frame[frame["la_code"] == code]
    last_year = int(mine[(mine["measure"] == "cla_31_march") & (mine["placement"] == "all")]
                    .dropna(subset=["value"])["year"].max())
    counts = result.counts
    assert sorted(counts["year"].unique()) == [last_year + 1, last_year + 2, last_year + 3]
    baseline = counts[(counts["series"] == "baseline") & (counts["placement"] == "all")]
    scenario = counts[(counts["series"] == "scenario") & (counts["placement"] == "all")]
    assert (baseline["p50"] > 0).all()
    assert (scenario["p50"].to_numpy() < baseline["p50"].to_numpy()).all()
    assert result.method == DEFAULT_METHOD
    assert result.financial_years[0] == f"{last_year}-{(last_year + 1) % 100:02d}"
    assert not result.observed.empty
    assert result.assumptions.set_index("id").loc["fs_reduction_in_starts", "source"] == \
        "LA override by Warrington finance: test fixture"
    again = run_projection(frame, code, horizon=3, n_draws=300, seed=3, overrides=overrides)
    assert again.net_present_value == result.net_present_value


def test_refuses_before_forecasting(history: tuple[pd.DataFrame, str], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    frame, code = history
    gap = model_without(tmp_path, "family_safeguarding", "fs_reduction_in_starts")

    def no_forecast(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the forecast should not run")

    monkeypatch.setattr("sf_benefits.project.demand.make_model", no_forecast)
    with pytest.raises(MissingAssumptionError, match="fs_reduction_in_starts"):
        run_projection(frame, code, model=gap, n_draws=10)
    with pytest.raises(ValueError, match="no rows for LA"):
        run_projection(frame, "E99999999", n_draws=10)


def test_method_names(history: tuple[pd.DataFrame, str]) -> None:
    frame, code = history
    assert resolve_method("statsforecast", frame, code) == "ets"
    assert resolve_method("naive", frame, code) == "naive"
    with pytest.raises(ValueError, match="unknown method"):
        resolve_method("crystal_ball", frame, code)


def test_project_command_writes_tables_csv_and_charts(loaded_store: Store, tmp_path: Path) -> None:
    overrides = tmp_path / "warrington.yaml"
    overrides.write_text(yaml.safe_dump({
        "by": "Warrington finance",
        "overrides": complete_overrides("family_safeguarding", effect=0.15, ramp=2.0,
                                        implementation=250_000, running=50_000),
    }))
    out = tmp_path / "out"
    result = runner.invoke(app, [
        "project", "--la", "Warrington", "--model", "family_safeguarding", "--years", "3",
        "--draws", "200", "--seed", "9", "--overrides", str(overrides), "--out", str(out),
        "--chart", str(tmp_path / "fan.png"), "--chart-benefit", str(tmp_path / "cum.png"),
        "--database-url", loaded_store.url,
    ], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Children looked after" in result.output
    assert "Net present value" in result.output
    assert "LA override by Warrington finance" in result.output
    for name in ("fan.png", "cum.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    written = {p.name.rsplit("_", 1)[-1] for p in out.glob("*.csv")}
    assert written == {"run.csv", "summary.csv", "counts.csv", "money.csv", "sensitivity.csv",
                       "assumptions.csv"}
    counts = pd.read_csv(next(out.glob("*_counts.csv")), dtype=str)
    shown = pd.to_numeric(counts["p50"], errors="coerce").dropna()
    assert not ((shown >= 1) & (shown <= 5)).any()
    assert (counts["p50"] == "c").any()  # few children placed in some settings: suppressed

    csv = runner.invoke(app, [
        "project", "--la", "Warrington", "--years", "2", "--draws", "50", "--overrides",
        str(overrides), "--format", "csv", "--database-url", loaded_store.url,
    ])
    assert csv.exit_code == 0, csv.output
    assert csv.output.splitlines()[0] == "financial_year,measure,p10,p50,p90,mean"


def test_project_command_names_missing_assumptions(loaded_store: Store, tmp_path: Path) -> None:
    gaps = model_without(tmp_path, "no_wrong_door", "nwd_ramp_up_years", "nwd_running_cost_annual")
    result = runner.invoke(app, ["project", "--la", "Warrington", "--model", str(gaps),
                                 "--draws", "10", "--database-url", loaded_store.url],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "nwd_ramp_up_years" in result.output
    assert "nwd_running_cost_annual" in result.output
    unknown = runner.invoke(app, ["project", "--la", "Nowhereshire", "--draws", "10",
                                  "--database-url", loaded_store.url])
    assert unknown.exit_code == 1


def test_assumptions_list_command() -> None:
    table = runner.invoke(app, ["assumptions", "list", "--model", "family_safeguarding"],
                          env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "fs_reduction_in_starts" in table.output and "NOT FOUND" not in table.output
    assert "derived" in table.output
    csv = runner.invoke(app, ["assumptions", "list", "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    listed = csv.output.splitlines()
    assert listed[0].startswith("id,group,description,value,unit,price_base_year")
    assert any(line.startswith("gdp_deflator_index,") for line in listed)
    missing = runner.invoke(app, ["assumptions", "list", "--missing", "--format", "csv"])
    assert missing.output.splitlines() == listed[:1]  # every parameter ships with a value


@pytest.mark.parametrize("columns", ["80", "200"])
def test_assumption_values_are_written_out_in_full(columns: str) -> None:
    """A million pounds reads '1,000,000', not '1e+06', in the block and the table layouts."""
    listed = runner.invoke(app, ["assumptions", "list", "--model", "family_safeguarding"],
                           env={"COLUMNS": columns})
    assert listed.exit_code == 0, listed.output
    assert "1,000,000" in listed.output and "e+0" not in listed.output


def test_assumptions_template_command(tmp_path: Path) -> None:
    out = tmp_path / "fill-me.yaml"
    result = runner.invoke(app, ["assumptions", "template", "--model", "no_wrong_door",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    body = out.read_text().split("overrides:\n")[1]
    # every parameter ships with a sourced value: each is listed, commented out, to override
    assert body and all(line.startswith("  #") for line in body.splitlines())
    assert "  # nwd_reduction_in_residential_starts:" in body or "# nwd_" in body


def test_project_with_no_overrides_prints_appraisal_grades_and_unit_cost_basis(
        loaded_store: Store, tmp_path: Path) -> None:
    for model in ("family_safeguarding", "family_valued", "no_wrong_door"):
        result = runner.invoke(app, [
            "project", "--la", "Warrington", "--model", model, "--draws", "300",
            "--database-url", loaded_store.url], env={"COLUMNS": "250"})
        assert result.exit_code == 0, result.output
        text = " ".join(result.output.split())
        for expected in ("Net present value", "Return on investment", "Payback year (P50)",
                         "2024-25 prices", "rests on grade D", "What drives the NPV",
                         "Warrington's own s251 outturn 2023-24 (LAIT FosteringFinance)",
                         "Warrington's own s251 outturn 2023-24 (LAIT RescareFinance)"):
            assert expected in text, (model, expected)
        assert "Your overrides" not in text
    overrides = tmp_path / "mine.yaml"
    overrides.write_text("by: Warrington finance\noverrides:\n"
                         "  unit_cost_foster_weekly: {value: 800, price_base_year: 2024-25,"
                         " source: ledger}\n")
    result = runner.invoke(app, [
        "project", "--la", "Warrington", "--draws", "200", "--overrides", str(overrides),
        "--database-url", loaded_store.url], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "user override (Warrington finance)" in text
    assert "Your overrides (win over defaults and the LA's published costs): " \
           "unit_cost_foster_weekly" in text
    overrides.write_text("overrides:\n  fs_reduction_in_starts: -5\n")
    refused = runner.invoke(app, [
        "project", "--la", "Warrington", "--draws", "20", "--overrides", str(overrides),
        "--database-url", loaded_store.url], env={"COLUMNS": "250"})
    assert refused.exit_code == 1
    assert "fs_reduction_in_starts: -5 is outside its valid range [0, 1]" in " ".join(
        refused.output.split())


def test_project_in_an_80_column_terminal_cuts_no_figure(loaded_store: Store) -> None:
    result = runner.invoke(app, [
        "project", "--la", "Warrington", "--model", "family_safeguarding", "--years", "3",
        "--draws", "200", "--seed", "9", "--database-url", loaded_store.url,
    ], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "Money (£ thousands" in result.output
    assert "discount_rate: 0.035" in result.output
