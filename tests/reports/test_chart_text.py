"""Matplotlib charts (PDF board paper, benchmark and projection PNGs) draw a "$" in a name as a
dollar sign: no label ever reaches the mathtext parser, which garbles "$5 and $6" and fails on
"$_$"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from matplotlib import mathtext

from sf_benefits.benchmark.charts import benchmark_chart_png
from sf_benefits.project.charts import cumulative_benefit_png, fan_chart_png
from sf_benefits.project.result import ProjectionResult
from sf_benefits.reports import ReportInput, build_document
from sf_benefits.reports.document import Chart
from sf_benefits.reports.pdf import chart_png
from tests.reports.fixtures import make_benchmark

DOLLARS = ("$5 and $6", "Fund $_$ Council")


@pytest.fixture
def mathtext_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every string handed to matplotlib's mathtext parser while the test runs."""
    calls: list[str] = []
    parse = mathtext.MathTextParser.parse

    def spy(self: mathtext.MathTextParser, s: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(s)
        return parse(self, s, *args, **kwargs)

    monkeypatch.setattr(mathtext.MathTextParser, "parse", spy)
    yield calls


@pytest.mark.parametrize("name", DOLLARS)
def test_pdf_charts_draw_dollars_as_typed(name: str, projection: ProjectionResult,
                                          mathtext_calls: list[str]) -> None:
    benchmark = make_benchmark(la_name=name, neighbour_names=(f"{name} North",))
    document = build_document(ReportInput(benchmark, projection))
    charts = [b for s in document.sections for b in s.blocks if isinstance(b, Chart)]
    assert any(name in c.title or c.highlight == name for c in charts)
    for chart in charts:
        assert chart_png(chart).startswith(b"\x89PNG")
    assert mathtext_calls == []


@pytest.mark.parametrize("name", DOLLARS)
def test_benchmark_and_projection_pngs_draw_dollars_as_typed(
        name: str, projection: ProjectionResult, tmp_path: Path,
        mathtext_calls: list[str]) -> None:
    benchmark_chart_png(make_benchmark(la_name=name, neighbour_names=(f"{name} North",)),
                        tmp_path / "benchmark.png")
    fan_chart_png(projection, tmp_path / "fan.png", la_name=name)
    cumulative_benefit_png(projection, tmp_path / "money.png", la_name=name)
    for png in ("benchmark.png", "fan.png", "money.png"):
        assert (tmp_path / png).read_bytes().startswith(b"\x89PNG")
    assert mathtext_calls == []


def test_mathtext_setting_is_restored_after_drawing(projection: ProjectionResult,
                                                    tmp_path: Path) -> None:
    before = matplotlib.rcParams["text.parse_math"]
    fan_chart_png(projection, tmp_path / "fan.png", la_name=DOLLARS[0])
    assert matplotlib.rcParams["text.parse_math"] == before
