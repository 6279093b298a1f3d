"""Downloads of a scenario's last run as the reports engine builds them (Excel, HTML, PDF).

The report needs the engine's result object, so the run is repeated from the job's saved settings
and seed, which gives exactly the figures the page shows. Where the LA has gone live with the
scenario's model, the realised benefit and effect estimates go in too. Built files are kept in a
small cache until the LA's tracking changes.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sf_benefits.csv_export import csv_text
from sf_benefits.reports import FORMATS, ReportInput, build_report
from sf_benefits.reports.benchmark_workbook import write_benchmark_workbook
from sf_benefits.store import Store
from sf_benefits.track import (
    EffectEstimates,
    Implementation,
    RealisedBenefit,
    TrackError,
    effects_for,
    list_implementations,
    list_imports,
    realised_for,
)
from sf_benefits.track.implementations import baseline_revisions
from sf_benefits.web import services
from sf_benefits.web.benchmark_view import cached_benchmark

LABELS = {"xlsx": "Excel workbook (.xlsx)", "html": "HTML report (.html)",
          "pdf": "PDF board paper (.pdf)"}
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
}
_CACHE_SIZE = 16
_cache: OrderedDict[tuple[str, str, str], Download] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class Download:
    """A built report file ready to send."""

    content: bytes
    filename: str
    media_type: str


def _implementation(store: Store, la_code: str, model: str) -> Implementation | None:
    return next((i for i in list_implementations(store)
                 if i.la_code == la_code and i.model == model), None)


def _tracking_version(store: Store, la_code: str, implementation: Implementation | None) -> str:
    """Changes when the LA records go-live or imports actuals, so reports include them."""
    if implementation is None:
        return "no implementation"
    revisions = baseline_revisions(store, implementation.implementation_id)
    return (f"{implementation.implementation_id}:{len(revisions)}:"
            f"{len(list_imports(store, la_code))}")


def _tracking(store: Store, implementation: Implementation | None
              ) -> tuple[RealisedBenefit | None, EffectEstimates | None]:
    """Realised benefit and effect estimates when the LA has implemented the scenario's model."""
    if implementation is None:
        return None, None
    try:
        realised = realised_for(store, implementation.implementation_id)
    except TrackError:
        return None, None
    return realised, effects_for(store, implementation.implementation_id)


def benchmark_file(store: Store, la_code: str, fmt: str) -> bytes:
    """The LA's benchmark as the formatted workbook ("xlsx") or the summary table ("csv")."""
    result = cached_benchmark(store, la_code)
    if fmt == "csv":
        return csv_text(result.to_frames()["summary"]).encode("utf-8-sig")
    with tempfile.TemporaryDirectory(prefix="sfb-benchmark-") as folder:
        return write_benchmark_workbook(result, Path(folder) / "benchmark.xlsx").read_bytes()


def available_formats() -> list[tuple[str, str]]:
    """(format, label) for every report format the reports engine writes."""
    return [(fmt, LABELS.get(fmt, fmt)) for fmt in FORMATS]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60] or "scenario"


def build_download(store: Store, scenario: dict[str, Any], job: dict[str, Any], fmt: str
                   ) -> Download:
    """The report for the scenario's run `job` in format `fmt` (xlsx, html or pdf)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    params = json.loads(job["params"]) if isinstance(job["params"], str) else job["params"]
    implementation = _implementation(store, params["la_code"], params["model"])
    key = (str(job["id"]), fmt, _tracking_version(store, params["la_code"], implementation))
    cached = _cached(key)
    if cached is not None:
        return cached
    projection = services.run_projection_for(
        store, params["la_code"], params["model"], int(params["horizon_years"]),
        int(params["n_draws"]), int(params["seed"]), params["overrides"], params["by"],
        params["method"])
    tracking, effects = _tracking(store, implementation)
    report_input = ReportInput(benchmark=cached_benchmark(store, params["la_code"]),
                               projection=projection, tracking=tracking, effects=effects,
                               scenario=f"{scenario['name']} (run {str(job['id'])[:8]}, "
                                        f"{str(job['finished_at'])[:16]})")
    with tempfile.TemporaryDirectory(prefix="sfb-report-") as folder:
        path = build_report(report_input, fmt, Path(folder) / f"report.{fmt}")
        content = path.read_bytes()
    name = f"{params['la_code']}-{_slug(scenario['name'])}-{str(job['id'])[:8]}.{fmt}"
    download = Download(content, name, MEDIA_TYPES.get(fmt, "application/octet-stream"))
    _keep(key, download)
    return download


def _cached(key: tuple[str, str, str]) -> Download | None:
    """A download built before, marked as the most recently used."""
    with _lock:
        if key not in _cache:
            return None
        _cache.move_to_end(key)
        return _cache[key]


def _keep(key: tuple[str, str, str], download: Download) -> None:
    """Cache `download`, dropping the least recently used beyond `_CACHE_SIZE`."""
    with _lock:
        _cache[key] = download
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
