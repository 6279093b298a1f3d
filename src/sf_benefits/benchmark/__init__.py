"""benchmark engine: an LA against its statistical neighbours, region and England."""

from sf_benefits.benchmark.catalogue import Indicator, indicators
from sf_benefits.benchmark.engine import (
    BenchmarkResult,
    IndicatorBenchmark,
    LocalAuthority,
    UnknownLocalAuthority,
    benchmark_la,
    resolve_la,
)

__all__ = ["BenchmarkResult", "Indicator", "IndicatorBenchmark", "LocalAuthority",
           "UnknownLocalAuthority", "benchmark_la", "indicators", "resolve_la"]
