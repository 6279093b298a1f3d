"""The `sf-benefits data …`, `benchmark` and `neighbours` commands end to end on a temp store."""

from __future__ import annotations

import re
import zipfile
from io import StringIO
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from sf_benefits.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dfe_dir: Path) -> Path:
    monkeypatch.setenv("SF_BENEFITS_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("SF_BENEFITS_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["data", "load", "--from", str(dfe_dir)])
    assert result.exit_code == 0, result.output
    assert "Loaded" in result.output
    return tmp_path


def test_missing_data_directory_says_how_to_get_it(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_BENEFITS_DATA_DIR", str(tmp_path / "store"))
    result = runner.invoke(app, ["data", "load", "--from", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "sf-benefits data fetch" in result.output


def test_load_prepares_the_benchmark_tables(cli_env: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The first benchmark after a load reads the tables the load built, like every later one."""
    import sf_benefits.benchmark.table_cache as table_cache

    assert len(list((cli_env / "store" / "cache").glob("indicator-tables-*.pickle"))) == 1

    def rebuilt(*_: object) -> None:
        raise AssertionError("the benchmark rebuilt tables the load had prepared")

    monkeypatch.setattr(table_cache, "_build", rebuilt)
    result = runner.invoke(app, ["benchmark", "--la", "warrington", "--year", "2023"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output


def test_benchmark_table(cli_env: Path) -> None:
    result = runner.invoke(app, ["benchmark", "--la", "warrington", "--year", "2023"],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "Warrington" in result.output and "Neighbour mean" in result.output


def test_benchmark_csv_and_xlsx(cli_env: Path) -> None:
    csv_path, xlsx_path = cli_env / "b.csv", cli_env / "b.xlsx"
    assert runner.invoke(app, ["benchmark", "--la", "877", "--format", "csv", "--out",
                               str(csv_path)]).exit_code == 0
    summary = pd.read_csv(csv_path)
    assert len(summary) == 13
    result = runner.invoke(app, ["benchmark", "--la", "E06000007", "--format", "xlsx", "--out",
                                 str(xlsx_path), "--indicators", "cla_rate_per_10k"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(xlsx_path)
    assert book.sheetnames == ["Summary", "Trend charts", "Neighbours", "Trend"]
    sheet = book["Summary"]
    header = [c.value for c in sheet[4]]
    cells = dict(zip(header, sheet[5], strict=True))
    assert cells["Indicator"].value.startswith("Children looked after at 31 March")
    assert cells["This LA"].number_format == "#,##0.0"
    assert sheet.freeze_panes == "B5"
    band = cells["Quartile band"]
    assert band.value in "ABCD" and band.fill.fgColor.rgb.endswith(
        {"A": "C6EFCE", "B": "E2EFDA", "C": "FFEB9C", "D": "FFC7CE"}[band.value])
    assert all(not h or "_" not in h for h in header)
    with zipfile.ZipFile(xlsx_path) as archive:
        assert any(n.startswith("xl/charts/chart") for n in archive.namelist())
    assert cells["This LA"].value == summary.loc[0, "la_value"]


def test_benchmark_charts(cli_env: Path) -> None:
    png, page = cli_env / "b.png", cli_env / "b.html"
    for chart in (png, page):
        result = runner.invoke(app, ["benchmark", "--la", "Leeds", "--indicators",
                                     "cla_rate_per_10k", "--chart", str(chart)])
        assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = page.read_text()
    assert "<table" in html and "plotly" in html.lower()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=[\"']?https?:", html)


def test_typo_and_unknown_indicator_are_clear(cli_env: Path) -> None:
    result = runner.invoke(app, ["benchmark", "--la", "Warington"])
    assert result.exit_code == 1 and "did you mean 'Warrington'" in result.output
    result = runner.invoke(app, ["benchmark", "--la", "Leeds", "--indicators", "nonsense"])
    assert result.exit_code == 1 and "unknown indicator" in result.output


def test_out_must_suit_the_format(cli_env: Path, tmp_path: Path) -> None:
    """An xlsx workbook is not written under a .csv name, nor --out ignored for a table."""
    result = runner.invoke(app, ["benchmark", "--la", "Leeds", "--format", "xlsx",
                                 "--out", str(tmp_path / "b.csv")])
    assert result.exit_code == 1 and "must end in .xlsx" in result.output
    assert not (tmp_path / "b.csv").exists()
    result = runner.invoke(app, ["benchmark", "--la", "Leeds", "--out", str(tmp_path / "b.csv")])
    assert result.exit_code == 1 and "--out needs --format csv or xlsx" in result.output


def test_the_trend_of_an_earlier_year_ends_there(cli_env: Path) -> None:
    latest = runner.invoke(app, ["benchmark", "--la", "Leeds", "--indicators", "cla_rate_per_10k"])
    earlier = runner.invoke(app, ["benchmark", "--la", "Leeds", "--indicators", "cla_rate_per_10k",
                                  "--year", "2021"])
    assert earlier.exit_code == 0, earlier.output
    trend = next(line for line in earlier.output.splitlines() if "Trend" in line)
    value = next(line for line in earlier.output.splitlines() if line.startswith("  Leeds"))
    assert trend.split("→")[-1].strip() == value.split()[1]
    assert trend != next(line for line in latest.output.splitlines() if "Trend" in line)


def test_computed_neighbours_side_by_side(cli_env: Path) -> None:
    result = runner.invoke(app, ["benchmark", "--la", "Leeds", "--neighbours", "computed",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["neighbours", "--la", "Leeds"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Published (nfer_2021)" in result.output and "In both lists" in result.output


def test_status_lists_datasets(cli_env: Path) -> None:
    result = runner.invoke(app, ["data", "status"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "cla_number_and_rate_per_10k" in result.output
    assert "cpp_rate_per_10k" in result.output and "not found" not in result.output



def test_status_as_csv_names_every_indicator_source_and_basis(cli_env: Path) -> None:
    result = runner.invoke(app, ["data", "status", "--format", "csv"])
    assert result.exit_code == 0, result.output
    from io import StringIO

    coverage = pd.read_csv(StringIO(result.output)).set_index("indicator_id")
    assert len(coverage) == 13 and (coverage["las_in_last_year"] > 0).all()
    assert coverage.loc["cla_spend_per_child", "files"] == (
        "lait_benchmarking_long ÷ cla_number_and_rate_per_10k_children")
    assert coverage.loc["cpp_rate_per_10k", "basis"] == "per 10,000 children, computed"


def test_benchmark_reads_in_80_columns(cli_env: Path) -> None:
    """One block per indicator; no line wider than the terminal, no cell cut to '…'."""
    result = runner.invoke(app, ["benchmark", "--la", "Warrington", "--year", "2023"],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "…" not in result.output
    assert "Children looked after at 31 March, rate per 10,000 children (2023)" in result.output
    assert re.search(r"Warrington \d+\.\d · band [A-D] · rank \d+ of \d+ in England",
                     result.output)


def test_a_suppressed_figure_is_c_in_every_output(cli_env: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Halton's 2024 CLA figures are published as "c": the table, the 80-column blocks, the
    CSV, the workbook and both charts show "c" (with its meaning), never a number or a blank."""
    halton = ["benchmark", "--la", "Halton", "--year", "2024", "--indicators",
              "cla_rate_per_10k"]
    wide = runner.invoke(app, halton, env={"COLUMNS": "250"})
    assert wide.exit_code == 0, wide.output
    row = next(line for line in wide.output.splitlines() if "Children looked after" in line)
    assert row.split("│")[3].strip() == "c"
    narrow = runner.invoke(app, halton, env={"COLUMNS": "80"})
    assert "Halton c · band – · rank – in England" in narrow.output
    for output in (wide.output, narrow.output):
        assert "c = withheld by the DfE to protect confidentiality" in " ".join(output.split())
    csv = runner.invoke(app, [*halton, "--format", "csv"])
    assert pd.read_csv(StringIO(csv.output))["la_value"].tolist() == ["c"]
    xlsx = cli_env / "halton.xlsx"
    assert runner.invoke(app, [*halton, "--format", "xlsx", "--out", str(xlsx)]).exit_code == 0
    book = openpyxl.load_workbook(xlsx)
    header = [c.value for c in book["Summary"][4]]
    assert dict(zip(header, (c.value for c in book["Summary"][5]), strict=True))["This LA"] == "c"
    trend = book["Trend charts"]
    years = {row[0].value: row for row in trend.iter_rows(min_row=4, max_col=6)}
    assert years[2024][1].value is None and years[2024][5].value == "This LA"
    assert years[2023][1].value is not None and years[2023][5].value is None
    assert book["Trend"].cell(row=11, column=3).value == "c"
    warrington = ["benchmark", "--la", "Warrington", "--year", "2024", "--indicators",
                  "cla_rate_per_10k", "--chart"]
    page = cli_env / "w.html"
    assert runner.invoke(app, [*warrington, str(page)]).exit_code == 0
    assert '"text":["c"]' in page.read_text().replace(" ", "")
    from sf_benefits.benchmark import charts

    drawn: list[Any] = []
    monkeypatch.setattr(charts.plt, "close", drawn.append)
    for args in (warrington, halton + ["--chart"]):
        assert runner.invoke(app, [*args, str(cli_env / "c.png")]).exit_code == 0
    bars, trend_axes = drawn[0].axes[0], drawn[1].axes[1]
    assert any(t.get_text().strip().startswith("c (suppressed)") for t in bars.texts)
    assert [t.get_text() for t in trend_axes.texts] == ["c"]
