"""benchmark engine: an LA against its statistical neighbours, region and England.

Names are imported on first use, so a command that only resolves `--la` (authorities) does not
import the indicator catalogue and the engine."""

from typing import TYPE_CHECKING

from sf_benefits.lazy import lazy_exports

if TYPE_CHECKING:
    from sf_benefits.benchmark.authorities import LocalAuthority, UnknownLocalAuthority, resolve_la
    from sf_benefits.benchmark.catalogue import Indicator, indicators
    from sf_benefits.benchmark.engine import BenchmarkResult, IndicatorBenchmark, benchmark_la


__all__ = ["BenchmarkResult", "Indicator", "IndicatorBenchmark", "LocalAuthority",
           "UnknownLocalAuthority", "benchmark_la", "indicators", "resolve_la"]


__getattr__ = lazy_exports(__name__, {
    "authorities": ("LocalAuthority", "UnknownLocalAuthority", "resolve_la"),
    "catalogue": ("Indicator", "indicators"),
    "engine": ("BenchmarkResult", "IndicatorBenchmark", "benchmark_la"),
})
