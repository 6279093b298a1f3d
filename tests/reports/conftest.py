"""Fixtures for the report tests: one real projection, one benchmark, one report input."""

from __future__ import annotations

from datetime import date

import pytest

from sf_benefits.benchmark import BenchmarkResult
from sf_benefits.project.result import ProjectionResult
from sf_benefits.reports import ReportInput
from tests.reports.fixtures import make_benchmark, make_projection


@pytest.fixture(scope="session")
def projection() -> ProjectionResult:
    return make_projection()


@pytest.fixture(scope="session")
def benchmark_result() -> BenchmarkResult:
    return make_benchmark()


@pytest.fixture(scope="session")
def report_input(benchmark_result: BenchmarkResult, projection: ProjectionResult) -> ReportInput:
    return ReportInput(benchmark_result, projection, generated_on=date(2026, 11, 23))
