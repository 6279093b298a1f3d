"""Rendering speed of the board report in each format; prints figures (run by hand, not in CI).

    .venv/bin/python benchmarks/bench_reports.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sf_benefits.reports import ReportInput, build_document, write_document  # noqa: E402
from tests.reports.fixtures import make_benchmark, make_projection  # noqa: E402


def _time(label: str, action: Callable[[], object], repeats: int) -> None:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    print(f"{label:<40} best {min(timings) * 1000:8.1f} ms  mean "
          f"{sum(timings) / repeats * 1000:8.1f} ms  (of {repeats})")


def main() -> None:
    """Build the document once per round, then write it as xlsx, html and pdf."""
    report_input = ReportInput(make_benchmark(), make_projection(), generated_on=date(2026, 11, 23))
    _time("build document", lambda: build_document(report_input), repeats=5)
    document = build_document(report_input)
    with tempfile.TemporaryDirectory() as tmp:
        for report_format in ("xlsx", "html", "pdf"):
            path = Path(tmp) / f"speed.{report_format}"
            _time(f"write {report_format}", partial(write_document, document, report_format, path),
                  repeats=3)
            assert path.stat().st_size > 0, report_format


if __name__ == "__main__":
    main()
