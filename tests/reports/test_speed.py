"""Rendering speed of each format (pytest-benchmark; skipped unless run with --benchmark-only):
`.venv/bin/pytest tests/reports/test_speed.py --benchmark-only --benchmark-columns=min,mean,max`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sf_benefits.reports import ReportInput, build_document, write_document


@pytest.mark.parametrize("report_format", ["xlsx", "html", "pdf"])
def test_render_speed(benchmark: Any, report_input: ReportInput, tmp_path: Path,
                      report_format: str) -> None:
    document = build_document(report_input)
    path = benchmark.pedantic(write_document, args=(document, report_format,
                                                    tmp_path / f"speed.{report_format}"),
                              rounds=3, iterations=1)
    assert path.stat().st_size > 0


def test_build_document_speed(benchmark: Any, report_input: ReportInput) -> None:
    document = benchmark.pedantic(build_document, args=(report_input,), rounds=5, iterations=1)
    assert document.sections
