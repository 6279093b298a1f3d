"""Tracking and programme pages: the track engine's realised benefit and programme view, drawn."""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import pandas as pd

from sf_benefits.disclosure import SUPPRESSED, suppress_actuals, suppress_realised
from sf_benefits.project import PLACEMENT_LABELS
from sf_benefits.store import Store
from sf_benefits.track import (
    ActualsImport,
    Implementation,
    RealisedBenefit,
    TrackError,
    current_actuals,
    import_actuals,
    list_implementations,
    list_imports,
    programme_view,
    realised_for,
)
from sf_benefits.track.adopters import MODELS
from sf_benefits.web.audit import Actor, record
from sf_benefits.web.views import (
    PALETTE,
    Chart,
    Column,
    DataTable,
    chart_values,
    plain,
    records,
    suppressed_marks,
)

ALLOWED_SUFFIXES = (".csv", ".xlsx")
PRIVATE_SCENARIO = "the LA's own business case (its name is private to the LA)"
PROGRAMME_CACHE_SECONDS = 60.0
_programme_cache: dict[str, tuple[float, ProgrammePage]] = {}
_programme_lock = threading.Lock()


@dataclass
class ImplementationView:
    """One implementation of the LA: realised benefit to date, or why there is none."""

    implementation: Implementation
    realised: RealisedBenefit | None
    problem: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)
    scenario_name: str = PRIVATE_SCENARIO

    def to_json(self) -> dict[str, Any]:
        """The implementation, its status and its periods (counts suppressed) as JSON."""
        imp = self.implementation
        out: dict[str, Any] = {
            "implementation_id": imp.implementation_id, "model": imp.model,
            "model_label": imp.model_label, "go_live_date": imp.go_live_date.isoformat(),
            "go_live_approximate": imp.approximate, "scenario_name": self.scenario_name,
            "status": self.realised.status if self.realised else "no locked baseline",
            "problem": self.problem or None, "summary": self.summary,
        }
        if self.realised is not None:
            out["price_base_year"] = self.realised.price_base_year
            out["periods"] = _suppressed_periods(self.realised.periods)
        return out


@dataclass
class TrackingPage:
    """Everything the tracking page of one LA shows."""

    implementations: list[ImplementationView]
    imports: DataTable
    actuals: DataTable

    def to_json(self) -> dict[str, Any]:
        """The page's content as JSON for the API."""
        return {"implementations": [i.to_json() for i in self.implementations],
                "imports": self.imports.to_json()["rows"],
                "current_actuals": self.actuals.to_json()["rows"]}


def _suppressed_periods(periods: pd.DataFrame) -> list[dict[str, Any]]:
    return records(suppress_realised(periods))


def _realised_chart(view_id: str, realised: RealisedBenefit) -> list[Chart]:
    periods = _suppressed_periods(realised.periods)
    labels = [r["period"] for r in periods]
    band = [
        {"type": "scatter", "x": labels, "y": chart_values([r["baseline_cla_p90"]
                                                            for r in periods]),
         "mode": "lines", "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"},
        {"type": "scatter", "x": labels, "y": chart_values([r["baseline_cla_p10"]
                                                            for r in periods]),
         "mode": "lines", "fill": "tonexty", "fillcolor": PALETTE["baseline_band"],
         "line": {"width": 0}, "name": "Locked baseline P10 to P90", "hoverinfo": "skip"},
    ]
    figure_cla = {"data": [*band,
        {"type": "scatter", "mode": "lines+markers", "name": "Locked baseline P50", "x": labels,
         "y": chart_values([r["baseline_cla_p50"] for r in periods]),
         "line": {"color": PALETTE["baseline"], "dash": "dash"}},
        {"type": "scatter", "mode": "lines+markers", "name": "Business case P50", "x": labels,
         "y": chart_values([r["business_case_cla_p50"] for r in periods]),
         "line": {"color": PALETTE["scenario"], "dash": "dot"}},
        {"type": "scatter", "mode": "lines+markers", "name": "Actual", "x": labels,
         "y": chart_values([r["actual_cla"] for r in periods]),
         "line": {"color": PALETTE["actual"], "width": 3}},
        *suppressed_marks(labels, [r["actual_cla"] for r in periods], "Actual"),
    ], "layout": {"xaxis": {"title": {"text": "Period"}, "type": "category"},
                  "yaxis": {"title": {"text": "Children looked after"}}, "height": 360}}
    table_cla = DataTable(
        caption="Children looked after: actual against the locked baseline and the business case",
        columns=[Column("period", "Period"), Column("actual_cla", "Actual", "count"),
                 Column("baseline_cla_p10", "Baseline P10", "count"),
                 Column("baseline_cla_p50", "Baseline P50", "count"),
                 Column("baseline_cla_p90", "Baseline P90", "count"),
                 Column("business_case_cla_p50", "Business case P50", "count"),
                 Column("children_avoided", "Children avoided (P50)", "count")],
        rows=periods)
    price_base = realised.price_base_year
    figure_money = {"data": [
        {"type": "scatter", "x": labels,
         "y": chart_values([r["cumulative_saving_gbp_high"] for r in periods]), "mode": "lines",
         "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"},
        {"type": "scatter", "x": labels,
         "y": chart_values([r["cumulative_saving_gbp_low"] for r in periods]), "mode": "lines",
         "fill": "tonexty", "fillcolor": PALETTE["band"], "line": {"width": 0},
         "name": "Realised, interval", "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines+markers", "name": "Realised saving to date",
         "x": labels, "y": chart_values([r["cumulative_saving_gbp"] for r in periods]),
         "line": {"color": PALETTE["scenario"], "width": 3}},
        *suppressed_marks(labels, [r["cumulative_saving_gbp"] for r in periods],
                          "Realised saving"),
        {"type": "scatter", "mode": "lines+markers", "name": "Expected in the business case",
         "x": labels,
         "y": chart_values([r["cumulative_expected_saving_gbp"] for r in periods]),
         "line": {"color": PALETTE["la"], "dash": "dash"}},
    ], "layout": {"xaxis": {"title": {"text": "Period"}, "type": "category"},
                  "yaxis": {"title": {"text": f"£ ({price_base} prices)"}, "tickprefix": "£",
                            "tickformat": ",.0f"}, "height": 340}}
    table_money = DataTable(
        caption=f"Realised saving to date against the business case, £ in {price_base} prices",
        columns=[Column("period", "Period"), Column("saving_gbp", "Saving in period", "money"),
                 Column("cumulative_saving_gbp", "Cumulative saving", "money"),
                 Column("cumulative_saving_gbp_low", "Cumulative, low", "money"),
                 Column("cumulative_saving_gbp_high", "Cumulative, high", "money"),
                 Column("cumulative_expected_saving_gbp", "Expected cumulative", "money"),
                 Column("status", "Status")],
        rows=periods)
    return [Chart(f"{view_id}-cla", "Children looked after against the locked baseline",
                  figure_cla, table_cla,
                  note="Counts from 1 to 5 are shown as “c”. The baseline was locked at go-live "
                       "and is never changed."),
            Chart(f"{view_id}-saving", f"Realised saving to date (£, {price_base} prices)",
                  figure_money, table_money)]


def _implementation_view(store: Store, implementation: Implementation, private: bool
                         ) -> ImplementationView:
    name = implementation.scenario_name if private else PRIVATE_SCENARIO
    try:
        realised = realised_for(store, implementation.implementation_id)
    except TrackError as exc:
        return ImplementationView(implementation, None, problem=str(exc), scenario_name=name)
    summary: dict[str, Any] = {}
    charts: list[Chart] = []
    if realised.has_periods:
        last = suppress_realised(realised.periods).iloc[-1]
        summary = {k: plain(last[k]) for k in (
            "period", "cumulative_saving_gbp", "cumulative_saving_gbp_low",
            "cumulative_saving_gbp_high", "cumulative_expected_saving_gbp", "status")}
        charts = _realised_chart(f"imp-{implementation.implementation_id[:8]}", realised)
    return ImplementationView(implementation, realised, summary=summary, charts=charts,
                              scenario_name=name)


def tracking_page(store: Store, la_code: str, include_private: bool = True) -> TrackingPage:
    """The LA's implementations with realised benefit, its imports and the actuals in force;
    the imports, actuals and scenario names are left out for readers who may not see the LA's
    private data."""
    views = [_implementation_view(store, imp, include_private)
             for imp in list_implementations(store) if imp.la_code == la_code]
    imports = list_imports(store, la_code) if include_private else pd.DataFrame()
    import_rows = [{"version": r["version"], "source": r["source"],
                    "source_file": r["source_file"], "rows": r["rows"], "note": r["note"],
                    "imported_at": str(r["imported_at"])[:19]}
                   for r in records(imports)] if not imports.empty else []
    imports_table = DataTable(
        caption="Imports of actuals (append-only: a correction is a new version)",
        columns=[Column("version", "Version"), Column("source", "Source"),
                 Column("source_file", "File"), Column("rows", "Rows", "count"),
                 Column("imported_at", "Imported (UTC)"), Column("note", "Note")],
        rows=list(reversed(import_rows)))
    actuals = current_actuals(store, la_code) if include_private else pd.DataFrame()
    actual_rows: list[dict[str, Any]] = []
    if not actuals.empty:
        shown = suppress_actuals(
            actuals[["period", "measure", "placement", "count", "spend_gbp", "source"]])
        actual_rows = records(shown)
        for row in actual_rows:
            row["placement"] = PLACEMENT_LABELS.get(str(row["placement"]), "All placements")
    actuals_table = DataTable(
        caption="Actuals in force (latest version; a DfE release wins over the LA's return)",
        columns=[Column("period", "Period"), Column("measure", "Measure"),
                 Column("placement", "Placement"), Column("count", "Children", "count"),
                 Column("spend_gbp", "Spend (£, cash)", "money"), Column("source", "Source")],
        rows=actual_rows)
    return TrackingPage(views, imports_table, actuals_table)


def safe_filename(filename: str) -> str:
    """The uploaded file's own name (no folders), printable and short enough for any disk."""
    name = PurePath(filename.replace("\\", "/")).name
    name = "".join(ch if ch.isprintable() and ch not in '<>:"|?*' else "_" for ch in name)
    stem, dot, suffix = name.rpartition(".")
    if dot and len(suffix) <= 5:
        return f"{stem[:120]}.{suffix}" if stem.strip(" .") else f"actuals.{suffix}"
    return name[:120] or "actuals.csv"


def upload_actuals(store: Store, la_code: str, filename: str, content: bytes, note: str,
                   actor: Actor) -> ActualsImport:
    """Validate and import an uploaded actuals file with the track engine and record the import
    in the audit log, both in one transaction (all or nothing). Raises IngestError with every
    problem found."""
    from sf_benefits.ingest.errors import IngestError, Problem

    name = safe_filename(filename)
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise IngestError([Problem(name, None, None, "file_type",
                                   "actuals must be a .csv or .xlsx file")])
    with tempfile.TemporaryDirectory(prefix="sfb-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        with store.transaction() as conn:
            done = import_actuals(store, la_code, path, note=note, conn=conn)
            record(conn, actor, "actuals.import", la_code=la_code, target_type="actuals_import",
                   target_id=done.import_id, detail={"file": name, "version": done.version,
                                                     "rows": done.rows, "sha256": done.sha256})
    return done


@dataclass
class ProgrammePage:
    """All implementations by model, with realised savings and effect estimates."""

    by_model: list[tuple[str, DataTable]]
    summary: DataTable
    notes: list[str]
    frames: dict[str, list[dict[str, Any]]]


def programme_page(store: Store) -> ProgrammePage:
    """The track engine's programme view as one table per model (kept for a minute)."""
    key = str(store.engine.url)
    now = time.monotonic()
    with _programme_lock:
        cached = _programme_cache.get(key)
        if cached is not None and now - cached[0] < PROGRAMME_CACHE_SECONDS:
            return cached[1]
    view = programme_view(store)
    frames = view.to_frames()
    table = frames["programme"]
    columns = [Column("la_name", "Local authority"), Column("go_live_date", "Go-live"),
               Column("status", "Status"), Column("to_period", "Actuals to"),
               Column("cumulative_saving_gbp", "Realised saving to date", "money"),
               Column("cumulative_expected_saving_gbp", "Expected to date", "money"),
               Column("price_base_year", "Price base"),
               Column("did_effect_pct", "Effect on CLA rate, DiD (%)", "rate"),
               Column("sc_effect_pct", "Effect on CLA rate, synthetic control (%)", "rate")]
    programme_rows = records(table)
    for row in programme_rows:
        if row.get("saving_suppressed"):
            row.update(cumulative_saving_gbp=SUPPRESSED, cumulative_saving_gbp_low=SUPPRESSED,
                       cumulative_saving_gbp_high=SUPPRESSED)
    by_model: list[tuple[str, DataTable]] = []
    for model_label in sorted({str(r["model_label"]) for r in programme_rows}):
        shown = [{**row, "go_live_date": str(row["go_live_date"])
                  + (" (approx.)" if row.get("go_live_approximate") else "")}
                 for row in programme_rows if row["model_label"] == model_label]
        by_model.append((model_label, DataTable(
            caption=f"{model_label}: implementations", columns=columns, rows=shown)))
    summary_frame = frames["programme_by_model"]
    summary = DataTable(
        caption="Implementations by model",
        columns=[Column("model", "Model"), Column("implementations", "Implementations", "count"),
                 Column("with_locked_baseline", "With a locked baseline", "count"),
                 Column("cumulative_saving_gbp", "Realised saving to date (sum of those shown)",
                        "money"),
                 Column("median_did_effect_pct", "Median effect, DiD (%)", "rate"),
                 Column("median_sc_effect_pct", "Median effect, synthetic control (%)", "rate")],
        rows=[{**row, "model": MODELS.get(str(row["model"]), row["model"])}
              for row in records(summary_frame)] if not summary_frame.empty else [])
    page = ProgrammePage(by_model, summary, list(view.notes),
                         {"programme": programme_rows,
                          "programme_by_model": summary.rows})
    with _programme_lock:
        _programme_cache[key] = (now, page)
    return page
