"""A new user's first hour at the command line: fast start-up, no tracebacks, no dead ends and no
silent nonsense (each test pins one finding of issue 14)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from sf_benefits.cli.main import app
from sf_benefits.ingest.ssda903.load import new_key
from sf_benefits.store import Store
from tests.project.projection_fixtures import complete_overrides

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
HEAVY = ("pandas", "numpy", "sqlalchemy", "alembic", "matplotlib", "plotly", "scipy",
         "statsforecast", "statsmodels", "fastapi", "reportlab", "openpyxl", "xlsxwriter")


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={**WIDE, **(env or {})})
    return result.exit_code, result.output


def imported_by(code: str, env: dict[str, str] | None = None) -> list[str]:
    """The heavy libraries a fresh interpreter has imported after running `code`."""
    probe = (f"{code}\nimport sys, json\n"
             f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, env=env)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_loads_no_engine_library() -> None:
    assert imported_by("import sf_benefits.cli.main") == []
    code, out = invoke("--help")
    assert code == 0 and "benchmark" in out and "ssda903" in out


def test_benchmark_loads_only_what_it_uses(loaded_store: Store, tmp_path: Path) -> None:
    """The first run builds the indicator tables (pandas, SQLAlchemy); every later run prints
    the table from the cached tables through `sqlite3` in plain Python: no pandas, numpy or
    SQLAlchemy."""
    run = ("import sys\nfrom sf_benefits.cli.main import app\n"
           "sys.argv = ['sf-benefits', 'benchmark', '--la', 'Warrington', '--database-url', "
           f"{loaded_store.url!r}]\n"
           "try:\n    app()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code")
    env = {"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    first = imported_by(run, env=env)
    assert {"pandas", "sqlalchemy"} <= set(first)
    used = imported_by(run, env=env)
    assert not {"pandas", "numpy", "sqlalchemy", "alembic", "matplotlib", "plotly", "statsforecast",
                "fastapi"} & set(used)


def test_names_kept_apart_for_help_match_their_sources() -> None:
    from sf_benefits.cli.serve import ROLE_HELP
    from sf_benefits.project.defaults import DEMAND_METHODS
    from sf_benefits.project.demand import METHODS
    from sf_benefits.web.auth import ROLES

    assert tuple(METHODS) == DEMAND_METHODS
    assert re.findall(r"\w+", ROLE_HELP.removeprefix("One of:")) == list(ROLES)


def _overrides(folder: Path) -> Path:
    path = folder / "overrides.yaml"
    path.write_text(yaml.safe_dump({"by": "test", "overrides": complete_overrides(
        "family_safeguarding", effect=0.15, ramp=1.0)}))
    return path


def test_every_file_writing_command_creates_its_folder(loaded_store: Store, tmp_path: Path
                                                        ) -> None:
    db = ["--database-url", loaded_store.url]
    overrides = str(_overrides(tmp_path))
    new = tmp_path / "new"
    writes: list[tuple[list[str], list[Path]]] = [
        (["benchmark", "--la", "Leeds", "--format", "csv", "--out", str(new / "a" / "b.csv"),
          "--indicators", "cla_rate_per_10k", *db], [new / "a" / "b.csv"]),
        (["benchmark", "--la", "Leeds", "--format", "xlsx", "--out", str(new / "b" / "b.xlsx"),
          "--chart", str(new / "c" / "b.png"), "--indicators", "cla_rate_per_10k", *db],
         [new / "b" / "b.xlsx", new / "c" / "b.png"]),
        (["benchmark", "--la", "Leeds", "--chart", str(new / "d" / "b.html"),
          "--indicators", "cla_rate_per_10k", *db], [new / "d" / "b.html"]),
        (["project", "--la", "Warrington", "--draws", "50", "--years", "2", "--overrides",
          overrides, "--out", str(new / "e" / "tables"), "--chart", str(new / "f" / "fan.png"),
          "--chart-benefit", str(new / "g" / "cum.png"), *db],
         [new / "e" / "tables", new / "f" / "fan.png", new / "g" / "cum.png"]),
        (["report", "--la", "Warrington", "--model", "family_safeguarding", "--format", "html",
          "--draws", "50", "--years", "2", "--overrides", overrides,
          "--out", str(new / "h" / "r.html"), *db], [new / "h" / "r.html"]),
        (["backtest", "--la", "Warrington", "--methods", "naive", "--out",
          str(new / "i" / "bt.txt"), "--forecasts-out", str(new / "j" / "f.csv"), *db],
         [new / "i" / "bt.txt", new / "j" / "f.csv"]),
        (["assumptions", "template", "--out", str(new / "k" / "t.yaml")],
         [new / "k" / "t.yaml"]),
        (["track", "template", "--out", str(new / "l" / "t.xlsx")], [new / "l" / "t.xlsx"]),
    ]
    for args, paths in writes:
        code, out = invoke(*args)
        assert code == 0, (args, out)
        assert all(p.exists() for p in paths), args


def test_track_and_ssda903_outputs_create_their_folders(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.ingest.ssda903.fixtures import write_small_returns
    from tests.track.conftest import UNIT_COSTS, baseline_table

    monkeypatch.setenv("SF_BENEFITS_PSEUDONYM_KEY", new_key())
    db = ["--database-url", f"sqlite:///{tmp_path / 'own.sqlite'}"]
    la = ["--la", "E06000005", "--la-name", "Darlington"]
    code, out = invoke("track", "implement", *la, "--model", "family_valued", "--go-live",
                       "2020-06-01", "--scenario", "central", *db)
    assert code == 0, out
    found = re.search(r"id ([0-9a-f-]{36})", out.replace("\n", ""))
    assert found is not None
    baseline_table().to_csv(tmp_path / "baseline.csv", index=False)
    pd.DataFrame({"placement": list(UNIT_COSTS), "annual_cost_gbp": list(UNIT_COSTS.values())}
                 ).to_csv(tmp_path / "costs.csv", index=False)
    code, out = invoke("track", "lock", found.group(1)[:8], "--baseline",
                       str(tmp_path / "baseline.csv"), "--unit-costs", str(tmp_path / "costs.csv"),
                       "--price-base", "2024-25", "--data-vintage", "DfE 2020",
                       "--assumptions-version", "v1", "--method", "stock_flow", *db)
    assert code == 0, out
    actuals = tmp_path / "actuals.csv"
    pd.DataFrame({"period": ["2020-21"], "measure": ["cla"], "placement": ["all"],
                  "count": ["1005"], "spend_gbp": [""]}).to_csv(actuals, index=False)
    assert invoke("track", "import-actuals", *la, str(actuals), *db)[0] == 0
    new = tmp_path / "new"
    for args, path in (
            (["track", "realised", found.group(1), "--out", str(new / "a" / "r.xlsx")],
             new / "a" / "r.xlsx"),
            (["track", "actuals", *la, "--out", str(new / "b" / "a.csv")], new / "b" / "a.csv"),
            (["track", "programme", "--no-effects", "--out", str(new / "c" / "p.csv")],
             new / "c" / "p.csv")):
        code, out = invoke(*args, *db)
        assert code == 0, (args, out)
        assert path.exists(), args

    returns = [str(p) for p in write_small_returns(tmp_path / "returns")]
    assert invoke("ssda903", "load", "--la", "E10000015", *returns, *db)[0] == 0
    for command, path in (("project", new / "d" / "p.csv"), ("rates", new / "e" / "r.csv")):
        code, out = invoke("ssda903", command, "--la", "E10000015", "--output", str(path),
                           *(["--draws", "20", "--years", "1"] if command == "project" else []),
                           *db)
        assert code == 0, out
        assert path.exists()


def test_la_means_the_same_everywhere(loaded_store: Store, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.ingest.ssda903.fixtures import write_small_returns

    monkeypatch.setenv("SF_BENEFITS_PSEUDONYM_KEY", new_key())
    url = f"sqlite:///{tmp_path / 'own.sqlite'}"
    from sf_benefits.ingest.loader import load_directory
    from tests.synthetic_dfe import write_dfe_directory

    own = Store.open(url)
    load_directory(own, write_dfe_directory(tmp_path / "dfe"))
    own.close()
    db = ["--database-url", url]
    returns = [str(p) for p in write_small_returns(tmp_path / "returns")]
    code, out = invoke("ssda903", "load", "--la", "Warington", *returns, *db)
    assert code == 1 and "did you mean 'Warrington'" in out
    code, out = invoke("ssda903", "load", "--la", "XYZ nonsense", *returns, *db)
    assert code == 1 and "no local authority called 'XYZ nonsense'" in out
    code, out = invoke("ssda903", "load", "--la", "E99999999", *returns, *db)
    assert code == 1
    code, out = invoke("ssda903", "project", "--la", "Warrington", "--draws", "20", *db)
    assert code == 1 and "no SSDA903 returns" in out, "nothing was stored by the refusals"

    code, out = invoke("ssda903", "load", "--la", "warrington", *returns, *db)
    assert code == 0 and "Warrington (E06000007)" in out
    for la in ("877", "WARRINGTON", "E06000007"):
        code, out = invoke("ssda903", "project", "--la", la, "--draws", "20", "--years", "1", *db)
        assert code == 0 and "E06000007" in out, (la, out)
    code, out = invoke("project", "--la", "Warington", "--database-url", loaded_store.url)
    assert code == 1 and "did you mean 'Warrington'" in out


def test_benchmark_year_without_figures_is_an_error(loaded_store: Store) -> None:
    code, out = invoke("benchmark", "--la", "Leeds", "--year", "2030",
                       "--database-url", loaded_store.url)
    assert code == 1
    assert "no published figures for the year ending 31 March 2030" in out
    assert re.search(r"years held: \d{4} to \d{4}", out)


def test_data_load_from_an_empty_or_wrong_folder_fails(tmp_path: Path) -> None:
    db = ["--database-url", f"sqlite:///{tmp_path / 'own.sqlite'}"]
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = invoke("data", "load", "--from", str(empty), *db)
    assert code == 1 and "no data files (CSV, XLSX, Parquet)" in out
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "shopping.csv").write_text("item,price\nbread,1.20\n")
    code, out = invoke("data", "load", "--from", str(wrong), *db)
    assert code == 1 and "none of the 1 files" in out and "shopping.csv" in out


def test_report_suffix_must_match_its_format(loaded_store: Store, tmp_path: Path) -> None:
    target = tmp_path / "rep.txt"
    code, out = invoke("report", "--la", "Warrington", "--model", "family_safeguarding",
                       "--format", "pdf", "--out", str(target),
                       "--database-url", loaded_store.url)
    assert code == 1 and "must end in .pdf" in out
    assert not target.exists()


def test_wrong_chart_suffix_is_refused_before_any_output(loaded_store: Store,
                                                         tmp_path: Path) -> None:
    code, out = invoke("benchmark", "--la", "Leeds", "--chart", str(tmp_path / "x.jpg"),
                       "--database-url", loaded_store.url)
    assert code == 1 and "must end in .png or .html" in out
    assert "Neighbour mean" not in out


def test_missing_model_file_is_named(loaded_store: Store) -> None:
    code, out = invoke("project", "--la", "Warrington", "--model", "our_model.yaml",
                       "--database-url", loaded_store.url)
    assert code == 1 and "no model file 'our_model.yaml'" in out


def test_unfilled_template_gets_plain_messages(loaded_store: Store, tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    assert invoke("assumptions", "template", "--out", str(template))[0] == 0
    code, out = invoke("project", "--la", "Warrington", "--draws", "20", "--overrides",
                       str(template), "--database-url", loaded_store.url)
    assert code == 0, "an untouched template keeps every shipped value"
    template.write_text(yaml.safe_dump({"overrides": {
        "fs_reduction_in_starts": {"value": None, "source": ""},
        "gdp_deflator_index": {"values": {}, "source": ""}}}))
    code, out = invoke("project", "--la", "Warrington", "--draws", "20", "--overrides",
                       str(template), "--database-url", loaded_store.url)
    assert code == 1
    assert "pydantic" not in out and "http" not in out
    assert "override of fs_reduction_in_starts: no value filled in" in out
    assert "gdp_deflator_index: no values filled in (a series: `values:" in out


def test_csv_outputs_carry_no_float_noise(loaded_store: Store, tmp_path: Path) -> None:
    code, out = invoke("benchmark", "--la", "Leeds", "--format", "csv",
                       "--database-url", loaded_store.url)
    assert code == 0
    code, money = invoke("project", "--la", "Warrington", "--draws", "50", "--years", "2",
                         "--format", "csv", "--overrides", str(_overrides(tmp_path)),
                         "--database-url", loaded_store.url)
    assert code == 0, money
    for text in (out, money):
        decimals = [len(n) for n in re.findall(r"\d\.(\d+)", text)]
        assert decimals and max(decimals) <= 4


def test_xlsx_without_out_goes_to_the_output_folder(loaded_store: Store, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SF_BENEFITS_OUTPUT_DIR", raising=False)
    code, out = invoke("benchmark", "--la", "Leeds", "--format", "xlsx",
                       "--database-url", loaded_store.url)
    assert code == 0, out
    written = tmp_path / "out" / "leeds-benchmark.xlsx"
    assert written.exists() and list(tmp_path.glob("*.xlsx")) == []
    assert str(written) in out.replace("\n", "")
    code, out = invoke("benchmark", "--la", "Leeds", "--format", "xlsx",
                       "--database-url", loaded_store.url,
                       env={"SF_BENEFITS_OUTPUT_DIR": str(tmp_path / "elsewhere")})
    assert code == 0 and (tmp_path / "elsewhere" / "leeds-benchmark.xlsx").exists()


def test_implement_lock_is_one_transaction_and_withdraw_is_audited(
        loaded_store: Store, tmp_path: Path) -> None:
    from sf_benefits.web.audit import recent_events

    url = f"sqlite:///{tmp_path / 'own.sqlite'}"
    db = ["--database-url", url]
    la = ["--la", "E06000005", "--la-name", "Darlington", "--model", "family_safeguarding",
          "--go-live", "2021-04-01", "--scenario", "central"]
    code, out = invoke("track", "implement", *la, "--lock", "--n-draws", "20", *db)
    assert code == 1 and "no care history for Darlington" in out and "nothing was recorded" in out
    code, out = invoke("track", "list", *db)
    assert "Darlington" not in out

    code, out = invoke("track", "implement", *la, "--go-live", "2021-13-01", *db)
    assert code == 1 and "'2021-13-01' is not a date" in out
    code, out = invoke("track", "implement", *la, *db)
    assert code == 0, out
    code, out = invoke("track", "implement", *la, *db)
    assert code == 1 and "already has a Family Safeguarding (Hertfordshire) implementation" in out
    found = re.search(r"sf-benefits track withdraw ([0-9a-f]{8})", out.replace("\n", " "))
    assert found is not None
    code, out = invoke("track", "withdraw", found.group(1), *db)
    assert code == 2 and "--reason" in out
    code, out = invoke("track", "withdraw", found.group(1), "--reason", "wrong model", *db)
    assert code == 0 and "recorded in the audit log" in out
    store = Store.open(url)
    events = recent_events(store)
    store.close()
    assert [e["action"] for e in events] == ["implementation.withdraw"]
    assert events[0]["detail"]["reason"] == "wrong model"
    assert events[0]["detail"]["implementation"]["la_name"] == "Darlington"
    code, out = invoke("track", "withdraw", found.group(1), "--reason", "again", *db)
    assert code == 1 and f"no implementation has the id '{found.group(1)}'" in out

    out_of_range = tmp_path / "out_of_range.yaml"
    out_of_range.write_text(yaml.safe_dump({"overrides": {"fs_reduction_in_starts": {
        "value": -5, "source": "typing error"}}}))
    code, out = invoke("track", "implement", "--la", "Warrington", "--model",
                       "family_safeguarding", "--go-live", "2021-04-01", "--scenario", "c",
                       "--lock", "--n-draws", "20", "--overrides", str(out_of_range),
                       "--database-url", loaded_store.url)
    assert code != 0 and "fs_reduction_in_starts" in out and "valid range" in out
    code, out = invoke("track", "list", "--database-url", loaded_store.url)
    assert "Warrington" not in out, "a failed lock records nothing"


def test_withdraw_is_refused_once_the_baseline_is_locked(tmp_path: Path) -> None:
    from tests.track.conftest import UNIT_COSTS, baseline_table

    db = ["--database-url", f"sqlite:///{tmp_path / 'own.sqlite'}"]
    code, out = invoke("track", "implement", "--la", "E06000005", "--la-name", "Darlington",
                       "--model", "family_valued", "--go-live", "2020-06-01", "--scenario", "c",
                       *db)
    found = re.search(r"id ([0-9a-f-]{36})", out.replace("\n", ""))
    assert code == 0 and found is not None
    code, out = invoke("track", "realised", found.group(1), *db)
    assert code == 1 and "has no locked baseline yet" in out
    baseline_table().to_csv(tmp_path / "baseline.csv", index=False)
    pd.DataFrame({"placement": list(UNIT_COSTS), "annual_cost_gbp": list(UNIT_COSTS.values())}
                 ).to_csv(tmp_path / "costs.csv", index=False)
    code, out = invoke("track", "lock", found.group(1), "--baseline", str(tmp_path / "baseline.csv"),
                       "--unit-costs", str(tmp_path / "costs.csv"), "--price-base", "2024-25",
                       "--data-vintage", "v", "--assumptions-version", "v1", "--method", "m", *db)
    assert code == 0, out
    code, out = invoke("track", "withdraw", found.group(1), "--reason", "late change", *db)
    assert code == 1 and "has a locked baseline" in out


def _fake_validator(folder: Path, issues: int) -> Path:
    """An interpreter stand-in answering every request with `issues` DfE findings."""
    found = [{"table": "Episodes", "row": 0, "child": "C1", "code": "355", "message": "short",
              "fields": ["DEC"]}] * issues
    fake = folder / "python"
    fake.write_text("#!/bin/sh\necho '" + json.dumps({"issues": found, "failed_rules": []})
                    + "'\n")
    fake.chmod(0o755)
    return fake


def test_validate_exits_non_zero_on_dfe_rule_failures(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.ingest.ssda903.fixtures import write_small_returns

    returns = [str(p) for p in write_small_returns(tmp_path / "returns")]
    monkeypatch.setenv("SF_BENEFITS_DFE_VALIDATOR_PYTHON", str(_fake_validator(tmp_path, 1)))
    code, out = invoke("ssda903", "validate", *returns)
    assert code == 1 and "DfE rule failure(s)" in out and "DfE 355" in out
    code, out = invoke("ssda903", "validate", "--dfe-as-warnings", *returns)
    assert code == 0 and "reported as warnings" in out
    monkeypatch.setenv("SF_BENEFITS_DFE_VALIDATOR_PYTHON", str(_fake_validator(tmp_path, 0)))
    code, out = invoke("ssda903", "validate", *returns)
    assert code == 0 and "0 problems, 0 rules failed to run" in out


def test_validate_says_when_it_installs_the_validator(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from sf_benefits.ingest.ssda903 import dfe
    from tests.ingest.ssda903.fixtures import write_small_returns

    fake = _fake_validator(tmp_path, 0)
    installs: list[bool] = []

    def validator_python(install: bool = True) -> Path:
        installs.append(install)
        if not install:
            raise dfe.ValidatorUnavailable("not installed")
        return fake

    monkeypatch.setattr(dfe, "validator_python", validator_python)
    returns = [str(p) for p in write_small_returns(tmp_path / "returns")]
    code, out = invoke("ssda903", "validate", *returns)
    assert code == 0, out
    assert installs == [False, True]
    assert "Installing the DfE validator (csc-validator-be-903" in out


def test_readme_and_docs_stand_alone() -> None:
    root = Path(__file__).resolve().parents[2]
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        assert "shared/DESIGN.md" not in text, page
        for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", text):
            if not re.match(r"[a-z]+:", target):
                assert (page.parent / target).exists(), (page.name, target)


def test_setup_skips_pip_when_the_environment_is_up_to_date(tmp_path: Path) -> None:
    import hashlib
    import shutil

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "scripts").mkdir()
    shutil.copy(root / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    shutil.copy(root / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(sys.executable)
    digest = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    (tmp_path / ".venv" / "installed").write_text(f"{digest} test\n")
    for extras in ([], ["test"]):
        done = subprocess.run(["bash", str(tmp_path / "scripts" / "setup.sh"), *extras],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "Installing" not in done.stderr, done.stderr
    quickstart = (root / "scripts" / "quickstart.sh").read_text().strip().splitlines()
    assert "source .venv/bin/activate" in quickstart[-2] + quickstart[-1]
