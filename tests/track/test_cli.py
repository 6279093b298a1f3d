"""`sf-benefits track …` commands against a temporary embedded store."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sf_benefits.cli.main import app
from tests.track.conftest import UNIT_COSTS, baseline_table

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite'}"


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["track", *args], env={"COLUMNS": "250"})
    return result.exit_code, result.output


def test_template_seed_list_and_programme(tmp_path: Path, db: str) -> None:
    code, out = _run("template", "--out", str(tmp_path / "t.xlsx"))
    assert code == 0 and (tmp_path / "t.xlsx").exists()
    code, out = _run("template", "--out", str(tmp_path / "t.txt"))
    assert code == 1
    code, out = _run("seed-demo", "--database-url", db)
    assert code == 0 and "Recorded 18 SFPC implementations (17 with an approximate" in out
    code, out = _run("list", "--database-url", db)
    assert code == 0 and "Lancashire" in out
    for command in (["list"], ["programme", "--no-effects"]):
        narrow = runner.invoke(app, ["track", *command, "--database-url", db],
                               env={"COLUMNS": "80"})
        assert narrow.exit_code == 0 and "…" not in narrow.output  # folded, not cut short
    code, out = _run("programme", "--no-effects", "--database-url", db,
                     "--out", str(tmp_path / "programme.xlsx"))
    assert code == 0
    sheet = pd.read_excel(tmp_path / "programme.xlsx", sheet_name="programme")
    assert len(sheet) == 18 and set(sheet["status"]) == {"no locked baseline"}


def test_implement_lock_import_realised(tmp_path: Path, db: str) -> None:
    code, out = _run("implement", "--la", "E06000005", "--la-name", "Darlington",
                     "--model", "family_valued", "--go-live", "2020-06-01",
                     "--scenario", "central", "--database-url", db)
    assert code == 0, out
    found = re.search(r"id\s*([0-9a-f-]{36})", out.replace("\n", ""))
    assert found is not None
    implementation = found.group(1)
    baseline_table().to_csv(tmp_path / "baseline.csv", index=False)
    pd.DataFrame({"placement": list(UNIT_COSTS), "annual_cost_gbp": list(UNIT_COSTS.values())}
                 ).to_csv(tmp_path / "costs.csv", index=False)
    lock_args = ["lock", implementation[:8], "--baseline", str(tmp_path / "baseline.csv"),
                 "--unit-costs", str(tmp_path / "costs.csv"), "--price-base", "2024-25",
                 "--data-vintage", "DfE 2020", "--assumptions-version", "v1",
                 "--method", "stock_flow", "--database-url", db]
    code, out = _run(*lock_args)
    assert code == 0, out
    code, out = _run(*lock_args)
    assert code == 1 and "never changes" in out

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"period": ["2020-21 Q7"], "measure": ["cla"], "placement": ["all"],
                  "count": ["4"], "spend_gbp": [""]}).to_csv(bad, index=False)
    code, out = _run("import-actuals", "--la", "E06000005", "--la-name", "Darlington",
                     str(bad), "--database-url", db)
    assert code == 1 and "valid_period" in out and "nothing was loaded" in out

    good = tmp_path / "good.csv"
    pd.DataFrame({"period": ["2020-21", "2020-21"], "measure": ["cla", "starts"],
                  "placement": ["all", "all"], "count": ["1005", "3"],
                  "spend_gbp": ["", ""]}).to_csv(good, index=False)
    code, out = _run("import-actuals", "--la", "E06000005", "--la-name", "Darlington",
                     str(good), "--database-url", db)
    assert code == 0 and "version 1" in out
    code, out = _run("actuals", "--la", "E06000005", "--la-name", "Darlington",
                     "--database-url", db, "--out", str(tmp_path / "actuals.csv"))
    exported = pd.read_csv(tmp_path / "actuals.csv")
    assert exported.loc[exported["measure"] == "starts", "count"].item() == "c"

    code, out = _run("realised", implementation, "--database-url", db)
    assert code == 0, out
    assert "2020-21" in out and "ahead" in out
    narrow = runner.invoke(app, ["track", "realised", implementation, "--database-url", db],
                           env={"COLUMNS": "80"}).output
    assert "…" not in narrow and re.search(r"£[\d,]+", out)  # no figure cut short at 80
    assert set(re.findall(r"£[\d,]+", out)) <= set(re.findall(r"£[\d,]+", narrow))
    code, out = _run("effects", implementation, "--database-url", db)
    assert code == 0


def test_actuals_export_cannot_reveal_a_suppressed_placement(tmp_path: Path, db: str) -> None:
    actuals = tmp_path / "actuals.csv"
    pd.DataFrame({"period": ["2024-25"] * 3, "measure": ["cla"] * 3,
                  "placement": ["all", "foster", "childrens_homes_secure"],
                  "count": ["40", "37", "3"], "spend_gbp": ["", "", ""]}).to_csv(actuals,
                                                                                 index=False)
    code, out = _run("import-actuals", "--la", "E06000005", "--la-name", "Darlington",
                     str(actuals), "--database-url", db)
    assert code == 0, out
    code, out = _run("actuals", "--la", "E06000005", "--la-name", "Darlington",
                     "--database-url", db, "--out", str(tmp_path / "out.csv"))
    assert code == 0, out
    exported = pd.read_csv(tmp_path / "out.csv", dtype=str).set_index("placement")["count"]
    assert exported["childrens_homes_secure"] == "c"
    assert "c" in (exported["foster"], exported["all"])  # else 40 - 37 reveals the 3
