"""benchmark engine: an LA against its statistical neighbours, region and England.

Names are imported on first use, so a command that only resolves `--la` (authorities) does not
import the indicator catalogue and the engine."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sf_benefits.benchmark.authorities import LocalAuthority, UnknownLocalAuthority, resolve_la
    from sf_benefits.benchmark.catalogue import Indicator, indicators
    from sf_benefits.benchmark.engine import BenchmarkResult, IndicatorBenchmark, benchmark_la

_HOMES = {
    "LocalAuthority": "authorities", "UnknownLocalAuthority": "authorities",
    "resolve_la": "authorities", "Indicator": "catalogue", "indicators": "catalogue",
    "BenchmarkResult": "engine", "IndicatorBenchmark": "engine", "benchmark_la": "engine",
}

__all__ = ["BenchmarkResult", "Indicator", "IndicatorBenchmark", "LocalAuthority",
           "UnknownLocalAuthority", "benchmark_la", "indicators", "resolve_la"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"sf_benefits.benchmark.{_HOMES[name]}"), name)
    raise AttributeError(name)
