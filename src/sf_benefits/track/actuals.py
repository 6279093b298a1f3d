"""Actuals: the LA's own monthly/quarterly figures and each DfE release, validated and versioned.

Imports are append-only. Each import is a new version for its LA and source; a later version
supersedes earlier rows with the same (period, measure, placement) and the earlier rows stay
readable. A file that breaks any rule raises IngestError before anything is written, and an
import runs in one transaction, so an interruption leaves the store as it was.
The template is documented in docs/actuals-template.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import sqlalchemy as sa
from pandera.errors import SchemaErrors
from sqlalchemy import Connection

from sf_benefits.ingest.errors import IngestError, Problem
from sf_benefits.project.categories import ALL_PLACEMENTS, PLACEMENT_LABELS, PLACEMENTS
from sf_benefits.store import Store
from sf_benefits.textfiles import UnreadableText, decode_text
from sf_benefits.track import tables
from sf_benefits.track.connections import writing

TEMPLATE_COLUMNS: tuple[str, ...] = ("period", "measure", "placement", "count", "spend_gbp")
ACTUAL_MEASURES: dict[str, str] = {
    "cla": "Children looked after on the last day of the period",
    "starts": "Children starting to be looked after during the period",
    "ceases": "Children ceasing to be looked after during the period",
    "spend": "Placement spend in the period (use spend_gbp; count left blank)",
}
SOURCES: tuple[str, ...] = ("la_return", "dfe_release")
MAX_FILE_BYTES = 5_000_000
INSERT_CHUNK = 500
_DFE_MEASURES = {"cla_31_march": "cla", "starts": "starts", "ceases": "ceases"}

_FY = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-(\d{2}) Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """A reporting period: financial year, quarter of a financial year, or calendar month."""

    label: str
    granularity: str
    start: date
    end: date

    @property
    def year_ending_march(self) -> int:
        """The financial year the period falls in, named by the year of its 31 March."""
        return self.end.year + 1 if self.end.month > 3 else self.end.year

    @property
    def fraction_of_year(self) -> float:
        """Share of a year the period covers: 1, 1/4 or 1/12."""
        return {"year": 1.0, "quarter": 0.25, "month": 1.0 / 12.0}[self.granularity]


def parse_period(text: str) -> Period:
    """Read "2024-25" (financial year), "2024-25 Q1" (April-June 2024) or "2024-06" (a month)."""
    text = str(text).strip()
    quarter = _QUARTER.match(text)
    if quarter:
        first, second, q = int(quarter.group(1)), int(quarter.group(2)), int(quarter.group(3))
        if (first + 1) % 100 != second:
            raise ValueError(f"{text!r}: the financial year must be like 2024-25")
        start_month = 4 + 3 * (q - 1)
        year = first if start_month <= 12 else first + 1
        start_month = start_month if start_month <= 12 else start_month - 12
        end_month = start_month + 2
        return Period(text, "quarter", date(year, start_month, 1),
                      date(year, end_month, monthrange(year, end_month)[1]))
    financial = _FY.match(text)
    if financial and 1 <= int(financial.group(2)) <= 12 and (
            int(financial.group(1)) + 1) % 100 != int(financial.group(2)):
        month_year, month = int(financial.group(1)), int(financial.group(2))
        return Period(text, "month", date(month_year, month, 1),
                      date(month_year, month, monthrange(month_year, month)[1]))
    if financial:
        first, second = int(financial.group(1)), int(financial.group(2))
        if (first + 1) % 100 != second:
            raise ValueError(f"{text!r} is neither a financial year (2024-25) nor a month "
                             "(2024-06)")
        return Period(text, "year", date(first, 4, 1), date(first + 1, 3, 31))
    raise ValueError(f"{text!r} is not a period: use 2024-25, 2024-25 Q1 or 2024-06")


def _is_period(value: object) -> bool:
    try:
        parse_period(str(value))
    except ValueError:
        return False
    return True


def _blank(value: object) -> bool:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return True
    return str(value).strip() == ""


_WHOLE = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.0+)?$")
_POUNDS = re.compile(r"^£?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
MAX_COUNT = 1_000_000
"""More children than any LA (or England) has ever looked after: a typing or unit error."""
MAX_SPEND_GBP = 1e11
"""£100bn in one period, above all of England's children's services spend: an error."""


def _whole_non_negative(value: object) -> bool:
    """Digits only (thousands commas allowed): "+5", "1e3", "inf" and "5.5" are refused."""
    if _blank(value):
        return True
    text = str(value).strip()
    return bool(_WHOLE.match(text)) and float(text.replace(",", "")) <= MAX_COUNT


def _non_negative_number(value: object) -> bool:
    """Pounds in plain digits (a "£" and thousands commas allowed), never "inf" or "1e308"."""
    if _blank(value):
        return True
    text = str(value).strip()
    return bool(_POUNDS.match(text)) and float(
        text.replace(",", "").replace("£", "")) <= MAX_SPEND_GBP


_HINTS = {
    "valid_period": "use 2024-25, 2024-25 Q1 or 2024-06",
    "measure_known": f"use one of {', '.join(ACTUAL_MEASURES)}",
    "placement_known": f"use one of {', '.join((*PLACEMENTS, ALL_PLACEMENTS))}",
    "whole_number_not_negative": "a whole number of children in digits, from 0 to "
                                 f"{MAX_COUNT:,}, or blank if unknown",
    "number_not_negative": f"pounds in digits, from 0 to £{MAX_SPEND_GBP:,.0f}, or blank if "
                           "unknown",
}

_ACTUALS_SCHEMA = pa.DataFrameSchema(
    {
        "period": pa.Column(str, pa.Check(_is_period, element_wise=True, name="valid_period")),
        "measure": pa.Column(str, pa.Check(lambda s: s.isin(tuple(ACTUAL_MEASURES)),
                                           name="measure_known")),
        "placement": pa.Column(str, pa.Check(lambda s: s.isin((*PLACEMENTS, ALL_PLACEMENTS)),
                                             name="placement_known")),
        "count": pa.Column(str, pa.Check(_whole_non_negative, element_wise=True,
                                         name="whole_number_not_negative")),
        "spend_gbp": pa.Column(str, pa.Check(_non_negative_number, element_wise=True,
                                             name="number_not_negative")),
    },
    strict=True,
)


def _unreadable(path: Path, message: str) -> IngestError:
    return IngestError([Problem(path.name, None, None, "file_readable", message)])


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV in UTF-8, UTF-16 or Windows-1252 (how Excel saves "£"), as text cells."""
    try:
        text = decode_text(path.read_bytes(), path.name)
    except UnreadableText as exc:
        raise _unreadable(path, str(exc)) from None
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise _unreadable(path, "the file is empty: use the template's header row") from None
    except (ValueError, csv.Error) as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f" at line {line.group(1)}" if line else ""
        raise _unreadable(path, f"the rows are not valid CSV{where} (a stray quote, or rows "
                                "with more cells than the header)") from None


def _read_xlsx(path: Path) -> pd.DataFrame:
    """The first sheet of an Excel workbook, as text cells."""
    try:
        return pd.read_excel(path, sheet_name=0, dtype=str, keep_default_na=False,
                             engine="openpyxl")
    except Exception:  # any fault in a malformed workbook means the same to the user
        raise _unreadable(path, "this is not an Excel workbook (.xlsx) the tool can read: "
                                "open it in Excel and save it again as .xlsx, or as CSV") from None


def read_actuals_file(path: Path) -> pd.DataFrame:
    """Read a filled-in template (CSV or XLSX, first sheet) as text cells; blank cells are ''."""
    path = Path(path)
    if not path.exists():
        raise IngestError([Problem(path.name, None, None, "file_exists", "file not found")])
    if path.stat().st_size > MAX_FILE_BYTES:
        raise IngestError([Problem(path.name, None, None, "file_size",
                                   f"larger than {MAX_FILE_BYTES // 1_000_000} MB")])
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = _read_csv(path)
    elif suffix == ".xlsx":
        frame = _read_xlsx(path)
    else:
        raise IngestError([Problem(path.name, None, None, "file_type",
                                   "actuals must be a .csv or .xlsx file")])
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame.map(lambda v: str(v).strip())


def validate_actuals(frame: pd.DataFrame, file_name: str) -> pd.DataFrame:
    """Check every cell against the template rules; return typed rows or raise IngestError.

    Row numbers in problems are lines of the file (the header is line 1).
    """
    missing = [c for c in TEMPLATE_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in TEMPLATE_COLUMNS]
    if missing or extra:
        raise IngestError(
            [Problem(file_name, 1, c, "column_required", "the template needs this column")
             for c in missing]
            + [Problem(file_name, 1, c, "column_unknown", "not a template column")
               for c in extra])
    frame = frame.loc[:, list(TEMPLATE_COLUMNS)].reset_index(drop=True).astype(str)
    if frame.empty:
        raise IngestError([Problem(file_name, None, None, "rows_required", "the file has no rows")])
    problems: list[Problem] = []
    try:
        _ACTUALS_SCHEMA.validate(frame, lazy=True)
    except SchemaErrors as exc:
        for case in exc.failure_cases.to_dict("records"):
            row = None if pd.isna(case["index"]) else int(case["index"]) + 2
            rule = str(case["check"])
            problems.append(Problem(file_name, row, str(case["column"]), rule,
                                    f"value {case['failure_case']!r}: {_HINTS.get(rule, rule)}"))
    for i, rec in enumerate(frame.to_dict("records")):
        if _blank(rec["count"]) and _blank(rec["spend_gbp"]):
            problems.append(Problem(file_name, i + 2, "count", "count_or_spend_required",
                                    "give a count, a spend or both"))
        if rec["measure"] == "spend" and not _blank(rec["count"]):
            problems.append(Problem(file_name, i + 2, "count", "spend_has_no_count",
                                    "measure 'spend' takes spend_gbp only"))
    keys = frame[["period", "measure", "placement"]]
    for i in keys.index[keys.duplicated(keep="first")]:
        problems.append(Problem(file_name, int(i) + 2, "period", "row_unique",
                                "same period, measure and placement as an earlier row"))
    if problems:
        raise IngestError(sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    periods = [parse_period(p) for p in frame["period"]]
    return pd.DataFrame({
        "period": [p.label for p in periods],
        "granularity": [p.granularity for p in periods],
        "period_start": [p.start for p in periods],
        "period_end": [p.end for p in periods],
        "measure": frame["measure"],
        "placement": frame["placement"],
        "count": pd.to_numeric(frame["count"].str.replace(",", ""), errors="coerce"),
        "spend_gbp": pd.to_numeric(frame["spend_gbp"].str.replace(",", "").str.replace("£", ""),
                                   errors="coerce"),
    })


@dataclass(frozen=True)
class ActualsImport:
    """One append-only import: which LA, which source, which version, how many rows."""

    import_id: str
    la_code: str
    source: str
    version: int
    source_file: str
    sha256: str
    rows: int
    note: str
    imported_at: datetime


def _write_import(store: Store, la_code: str, source: str, rows: pd.DataFrame, source_file: str,
                  sha256: str, note: str, conn: Connection | None = None) -> ActualsImport:
    imports = tables.actuals_import
    import_id = str(uuid.uuid4())
    imported_at = datetime.now(UTC)
    records = [
        {"import_id": import_id, "row_number": i + 1, "la_code": la_code,
         **{str(k): (None if isinstance(v, float) and pd.isna(v) else v)
            for k, v in rec.items()}}
        for i, rec in enumerate(rows.to_dict("records"))
    ]
    with writing(store, conn) as write:
        earlier = write.execute(sa.select(imports.c.version).where(
            imports.c.la_code == la_code, imports.c.source == source,
            imports.c.sha256 == sha256)).first()
        if earlier is not None:
            raise IngestError([Problem(source_file, None, None, "not_already_imported",
                                       f"identical content was imported as version {earlier[0]}")])
        top = write.execute(sa.select(sa.func.max(imports.c.version)).where(
            imports.c.la_code == la_code, imports.c.source == source)).scalar()
        version = 1 if top is None else int(top) + 1
        write.execute(imports.insert().values(
            import_id=import_id, la_code=la_code, source=source, version=version,
            source_file=source_file, sha256=sha256, rows=len(records), note=note,
            imported_at=imported_at))
        for start in range(0, len(records), INSERT_CHUNK):
            write.execute(tables.actual.insert(), records[start:start + INSERT_CHUNK])
    return ActualsImport(import_id, la_code, source, version, source_file, sha256, len(records),
                         note, imported_at)


def import_actuals(store: Store, la_code: str, path: Path, note: str = "", *,
                   conn: Connection | None = None) -> ActualsImport:
    """Validate an LA's filled-in template and store it as the next version (all or nothing;
    inside `conn`'s transaction when given, so the caller commits it with its own writes)."""
    path = Path(path)
    rows = validate_actuals(read_actuals_file(path), path.name)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return _write_import(store, la_code, "la_return", rows, path.name, sha256, note, conn)


def import_dfe_release(store: Store, la_code: str, history: pd.DataFrame, vintage: str,
                       note: str = "") -> ActualsImport:
    """Record one DfE release's figures for an LA (CLA at 31 March, starts, ceases) as a version.

    `history` is the project's tidy LA history (la_code, year, measure, placement, value and,
    as `care_history` gives it, status); suppressed values (NaN) are stored as missing, never as
    zero, and so are sums with suppressed cells left out (status "partial"): only a lower bound.
    """
    subset = history[(history["la_code"] == la_code)
                     & history["measure"].isin(tuple(_DFE_MEASURES))].copy()
    if subset.empty:
        raise IngestError([Problem(vintage, None, "la_code", "la_in_release",
                                   f"no CLA figures for {la_code} in this release")])
    periods = [parse_period(f"{int(y) - 1}-{int(y) % 100:02d}") for y in subset["year"]]
    rows = pd.DataFrame({
        "period": [p.label for p in periods],
        "granularity": "year",
        "period_start": [p.start for p in periods],
        "period_end": [p.end for p in periods],
        "measure": subset["measure"].map(_DFE_MEASURES).to_numpy(),
        "placement": subset["placement"].to_numpy(),
        "count": subset["value"].astype(float).where(
            subset.get("status", pd.Series(index=subset.index, dtype=object)) != "partial"
        ).to_numpy(),
        "spend_gbp": float("nan"),
    }).sort_values(["period", "measure", "placement"]).reset_index(drop=True)
    sha256 = hashlib.sha256(rows.to_csv(index=False).encode()).hexdigest()
    return _write_import(store, la_code, "dfe_release", rows, f"DfE release {vintage}", sha256,
                         note)


def list_imports(store: Store, la_code: str | None = None) -> pd.DataFrame:
    """Every import (newest last), optionally for one LA."""
    query = sa.select(tables.actuals_import).order_by(tables.actuals_import.c.imported_at)
    if la_code is not None:
        query = query.where(tables.actuals_import.c.la_code == la_code)
    with store.engine.connect() as conn:
        return pd.read_sql(query, conn)


def actuals_history(store: Store, la_code: str) -> pd.DataFrame:
    """Every row ever imported for an LA, with its version and whether a later one superseded it."""
    a, i = tables.actual, tables.actuals_import
    query = (sa.select(a.c.period, a.c.granularity, a.c.period_start, a.c.period_end,
                       a.c.measure, a.c.placement, a.c.count, a.c.spend_gbp, i.c.source,
                       i.c.version, i.c.imported_at, i.c.import_id, i.c.source_file)
             .join(i, a.c.import_id == i.c.import_id).where(a.c.la_code == la_code))
    with store.engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    if frame.empty:
        return frame.assign(superseded=pd.Series(dtype=bool))
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    frame["count"] = frame["count"].astype(float)
    frame["spend_gbp"] = frame["spend_gbp"].astype(float)
    key = ["source", "period", "measure", "placement"]
    latest = frame.groupby(key)["version"].transform("max")
    frame["superseded"] = frame["version"] < latest
    return frame.sort_values(["period_end", "measure", "placement", "source", "version"]
                             ).reset_index(drop=True)


def current_actuals(store: Store, la_code: str) -> pd.DataFrame:
    """The figures in force: latest version per source; DfE releases win over the LA's return.

    A DfE release is the validated official figure, so where both give the same period, measure
    and placement the DfE value is used and the LA's row stays in the history.
    """
    history = actuals_history(store, la_code)
    if history.empty:
        return history.drop(columns=["superseded"])
    live = history[~history["superseded"]].copy()
    live["rank"] = live["source"].map({"dfe_release": 0, "la_return": 1})
    live = live.sort_values("rank").drop_duplicates(["period", "measure", "placement"])
    return live.drop(columns=["rank", "superseded"]).sort_values(
        ["period_end", "measure", "placement"]).reset_index(drop=True)


def write_template(path: Path) -> Path:
    """Write a blank actuals template (.csv: header only; .xlsx: header plus a guide sheet)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        pd.DataFrame(columns=list(TEMPLATE_COLUMNS)).to_csv(path, index=False)
        return path
    if suffix != ".xlsx":
        raise ValueError("template must be .csv or .xlsx")
    guide = pd.DataFrame(
        [("period", "2024-25 (financial year), 2024-25 Q1 (Apr-Jun 2024) or 2024-06 (a month)"),
         ("measure", "; ".join(f"{k} = {v}" for k, v in ACTUAL_MEASURES.items())),
         ("placement", "; ".join(f"{k} = {v}" for k, v in PLACEMENT_LABELS.items())
          + "; all = all placements"),
         ("count", "whole number of children, 0 or more; blank if not known (never 0 for "
                   "unknown)"),
         ("spend_gbp", "pounds spent in the period, cash prices, 0 or more; blank if not known"),
         ("rule", "one row per period, measure and placement; a correction is a new file "
                  "(a new version), earlier versions stay readable")],
        columns=["column", "what to enter"])
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        pd.DataFrame(columns=list(TEMPLATE_COLUMNS)).to_excel(writer, sheet_name="actuals",
                                                              index=False)
        guide.to_excel(writer, sheet_name="guide", index=False)
        as_text = writer.book.add_format({"num_format": "@"})
        writer.sheets["actuals"].set_column(0, 2, 18, as_text)
        writer.sheets["actuals"].set_column(3, len(TEMPLATE_COLUMNS) - 1, 18)
        writer.sheets["guide"].set_column(0, 0, 12)
        writer.sheets["guide"].set_column(1, 1, 110)
    return path
