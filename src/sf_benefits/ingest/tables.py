"""Readers for the non-EES inputs: LA lookup, statistical neighbours, ONS population, LAIT long table.

Each reader accepts the column spellings the publishers use (matched case-insensitively through
aliases), validates every row and returns tidy frames, or raises IngestError before any write.
"""

from __future__ import annotations

import csv
import datetime
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
import yaml

from sf_benefits.ingest.ees import (
    GSS_LA,
    NUMBER,
    SUPPRESSION_MARKERS,
    coded,
    observation_frame,
    parse_labels,
    per_value,
    read_csv_strings,
)
from sf_benefits.ingest.errors import IngestError, Problem
from sf_benefits.la_names import la_name_key

if TYPE_CHECKING:
    import pyarrow as pa

ALIASES: dict[str, tuple[str, ...]] = {
    "la_code": ("new_la_code", "la_code", "gss_code", "la_gss_code", "area_code", "ladcode",
                "lad_code", "utla\\d\\dcd", "code"),
    "old_la_code": ("old_la_code", "la_number", "la_num", "la_code_3", "lea", "la"),
    "la_name": ("la_name", "local_authority", "local_authority_name", "la", "name", "area_name",
                "laname", "utla\\d\\dnm", "la_and_regions"),
    "region_code": ("region_code", "rgn_code"),
    "region_name": ("region_name", "region"),
    "year": ("year", "time_period", "period", "years"),
    "indicator": ("indicator", "measure", "indicator_name", "indicator_id", "short_desc"),
    "value": ("value", "indicator_value", "values"),
    "age": ("age",),
    "population": ("population", "population_count", "obs_value", "count"),
}
NEIGHBOUR_COLUMN = re.compile(r"^(sn|neighbour|statistical_neighbour)[ _]?(\d{1,2})(_code|_name)?$")
COUNTRY_OR_REGION = re.compile(r"^E(92|12|13)\d{6}$")
LAIT_AREAS = {"970": "E92000001", "980": "E12000001", "981": "E12000002", "982": "E12000003",
              "983": "E12000004", "984": "E12000005", "985": "E12000006", "986": "E12000007",
              "987": "E13000001", "988": "E13000002", "989": "E12000008", "990": "E12000009"}
"""The LAIT's own numbers for England (970), the regions (980–990) and Inner/Outer London."""
LAIT_MARKERS = SUPPRESSION_MARKERS | {"-", "na"}
"""The LAIT writes '-' where a figure is not available."""


def find_column(columns: list[str], role: str, exclude: tuple[str, ...] = ()) -> str | None:
    """The first column whose (normalised) name is an alias of `role`, or None."""
    normalised = {re.sub(r"[^a-z0-9]+", "_", c.lower()).strip("_"): c for c in columns}
    for alias in ALIASES[role]:
        for norm, original in normalised.items():
            if original in exclude:
                continue
            if norm == alias or re.fullmatch(rf"{alias}\d*", norm):
                return original
    return None


def kind_of(columns: list[str]) -> str:
    """Which reader a CSV's header belongs to: ees, neighbours, population, lait or lookup."""
    lowered = [c.lower() for c in columns]
    if "time_period" in lowered and "geographic_level" in lowered:
        return "ees"
    if any(NEIGHBOUR_COLUMN.match(c) for c in lowered):
        return "neighbours"
    if find_column(lowered, "age") and (find_column(lowered, "population") or any(
            re.fullmatch(r"population_\d{4}", c) for c in lowered)):
        return "population"
    if find_column(lowered, "la_code") and {"0", "17"} <= set(lowered):
        return "population"
    if find_column(lowered, "indicator") and find_column(lowered, "value"):
        return "lait"
    if find_column(lowered, "la_name") and (find_column(lowered, "la_code")
                                            or find_column(lowered, "old_la_code")):
        return "lookup"
    return "unknown"


HEADER_SEARCH_ROWS = 10
"""Spreadsheets may carry title or column-letter rows above the header (the NFER workbooks have
two): the header is the first of these rows that names a recognised table."""


def read_frame(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A CSV, Parquet file or the first sheet of an XLSX, every cell a stripped string, header
    lower-cased; a spreadsheet's header is found below any title rows. A Parquet file is read
    only for the named `columns` (lower-cased), its strings as categories."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            wanted = None if columns is None else {c.strip() for c in columns}
            names = [n for n in pq.read_schema(path).names
                     if wanted is None or n.strip().lower() in wanted]
            parquet = pq.ParquetFile(path, read_dictionary=names)
            read = {}
            for name in names:  # a column at a time, so Arrow holds one column's buffers
                read[name.strip().lower()] = _stripped_categories(
                    _as_pandas(parquet.read(columns=[name]).column(0)))
                pa.default_memory_pool().release_unused()
        except Exception as exc:
            raise IngestError([Problem(str(path), None, None, "parquet_unreadable", str(exc))]) from exc
        return pd.DataFrame(read, copy=False)
    if suffix == ".xlsx":
        raw = _xlsx_cells(path, path.stat().st_mtime_ns).copy()
        if raw.empty:
            raise IngestError([Problem(str(path), None, None, "empty_file",
                                       "the first sheet has no cells")])
        header = next((i for i in range(min(HEADER_SEARCH_ROWS, len(raw)))
                       if kind_of([c.lower() for c in raw.iloc[i]]) != "unknown"), 0)
        frame = raw.iloc[header + 1:].reset_index(drop=True)
        frame.columns = [c.lower() for c in raw.iloc[header]]
        frame.attrs["header_row"] = header + 1
        return frame
    return read_csv_strings(path)


def _as_pandas(column: pa.ChunkedArray) -> pd.Series:
    """A Parquet column in pandas; numbers as categories encoded by Arrow (pandas takes 20 MB to
    encode the LAIT's LA numbers), sorted as pandas sorts them, NaN missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_floating(column.type):
        return column.to_pandas()
    encoded = pc.if_else(pc.is_nan(column), None, column).dictionary_encode().to_pandas()
    return encoded.cat.reorder_categories(encoded.cat.categories.sort_values())


def _stripped_categories(column: pd.Series) -> pd.Series:
    """A Parquet column as categorical strings without surrounding spaces ('' for missing):
    the LAIT's half a million rows hold a few thousand distinct cells, so this keeps memory low."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype("category")
    labels = pd.Series(column.cat.categories, dtype=object).astype(str).str.strip()
    if not labels.is_unique or "" in set(labels):
        return per_value(column, lambda u: u.where(u.notna(), "").astype(str).str.strip())
    column = column.cat.rename_categories(list(labels))
    return column.cat.add_categories("").fillna("") if column.hasnans else column


@lru_cache(maxsize=8)
def _xlsx_cells(path: Path, _modified: int) -> pd.DataFrame:
    """A workbook's first sheet as stripped strings, read once per load (the loader reads each
    workbook's header before its rows) by calamine, many times faster than openpyxl through
    pandas. Cells read as pandas read them as text; the sheet's empty right-hand columns and
    bottom rows are dropped, as openpyxl drops them."""
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = [[_cell_text(cell) for cell in row]
                for row in sheet.to_python(skip_empty_area=False)]
    except Exception as exc:
        raise IngestError([Problem(str(path), None, None, "xlsx_unreadable", str(exc))]) from exc
    filled = [i for i, row in enumerate(rows) if any(row)]
    rows = rows[:filled[-1] + 1] if filled else []
    width = max((len(row) - next((i for i, cell in enumerate(reversed(row)) if cell), len(row))
                 for row in rows), default=0)
    return pd.DataFrame([row[:width] + [""] * (width - len(row)) for row in rows],
                        columns=range(width), dtype=object)


def _cell_text(cell: object) -> str:
    """A spreadsheet cell as pandas gives it as text, stripped: a whole number without '.0', a
    date or date-time as a timestamp ('2021-04-01 00:00:00')."""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    elif isinstance(cell, datetime.date):
        cell = pd.Timestamp(cell)
    elif isinstance(cell, datetime.timedelta):
        cell = pd.Timedelta(cell)
    return str(cell).strip()


def header_of(path: Path) -> list[str]:
    """A table's column names, read cheaply where the format allows (Parquet schema, CSV line)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return [name.lower() for name in pq.read_schema(path).names]
    if path.suffix.lower() == ".csv":
        with path.open("rb") as handle:
            first = handle.readline()
        try:
            text = first.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = ""
        if not text.strip():
            return list(read_csv_strings(path).columns)
        return [c.strip().lower() for c in next(csv.reader([text]), [])]
    return list(read_frame(path).columns)


def _first_data_row(frame: pd.DataFrame) -> int:
    """File row number of the frame's first data row (1-based, header rows counted)."""
    return int(frame.attrs.get("header_row", 1)) + 1


class LaRegister:
    """Every upper-tier LA the store knows: code, old 3-digit code, name, region; resolved also by
    any other name a loaded file gave it (`aliases`). A name or 3-digit code that a renamed LA
    shares with its predecessor (North Yorkshire, 815) resolves to the one with the latest data."""

    def __init__(self, frame: pd.DataFrame, aliases: dict[str, str] | None = None) -> None:
        self.frame = frame
        self._index: dict[str, str] = {la_name_key(k): v for k, v in (aliases or {}).items()}
        latest_last = (frame.sort_values("last_year", na_position="first", kind="stable")
                       if "last_year" in frame.columns else frame)
        for column in ("la_name", "old_la_code", "la_code"):
            for key, code in zip(latest_last[column].astype(str), latest_last["la_code"],
                                 strict=True):
                self._index[la_name_key(key)] = str(code)

    @property
    def codes(self) -> set[str]:
        return set(self.frame["la_code"])

    def resolve(self, text: str) -> str | None:
        """GSS code for a GSS code, 3-digit code or name (case, stops and '&' ignored)."""
        return self._index.get(la_name_key(text))


def read_lookup(path: Path) -> pd.DataFrame:
    """LA lookup: la_code, old_la_code, la_name, region_code, region_name, one row per LA. A list
    without GSS codes (3-digit code and name only) gives la_code None; an ONS lower-to-upper tier
    lookup repeats each upper-tier LA once per district, which is not a duplicate."""
    frame = read_frame(path)
    file, cols = str(path), list(frame.columns)
    first_row = _first_data_row(frame)
    code = find_column(cols, "la_code")
    name = find_column(cols, "la_name", exclude=(code or "",))
    old = find_column(cols, "old_la_code", exclude=(code or "", name or ""))
    if name is None or (code is None and old is None):
        raise IngestError([Problem(file, 1, None, "missing_column",
                                   "an LA lookup needs an LA name column and an LA code column")])
    out = pd.DataFrame({"la_code": frame[code] if code else None, "la_name": frame[name],
                        "old_la_code": frame[old] if old else None})
    for role in ("region_code", "region_name"):
        col = find_column(cols, role, exclude=tuple(c for c in (code, name, old) if c))
        out[role] = frame[col] if col else None
    key = code or old
    if code:
        out = out[out["la_code"].str.match(GSS_LA.pattern) | out["la_code"].eq("")]
    else:
        out = out[out["old_la_code"].str.fullmatch(r"\d{3}") | out["old_la_code"].eq("")]
    blank = out[str("la_code" if code else "old_la_code")] == ""
    problems = [Problem(file, int(i) + first_row, key, "missing_la_code", "row has no LA code")
                for i in out.index[blank].to_numpy(dtype=int)]
    out = out[~blank].drop_duplicates()
    by = "la_code" if code else "old_la_code"
    dupes = out[out.duplicated(by, keep=False)]
    problems += [Problem(file, int(i) + first_row, key, "duplicate_row",
                         f"LA code {c} appears more than once with different names")
                 for i, c in zip(dupes.index.to_numpy(dtype=int), dupes[by], strict=True)]
    if problems:
        raise IngestError(problems)
    return out.reset_index(drop=True)


NO_NEIGHBOUR = "-"
"""The NFER workbook's mark for an LA given no neighbours (Cumberland, Westmorland and Furness in
the April 2021 model, formed after it)."""


def read_neighbours(path: Path, register: LaRegister) -> pd.DataFrame:
    """Statistical neighbours: model, la_code, rank 1–10, neighbour_code; names or codes resolved.
    Rows with no LA and no neighbour are separators or section titles (the NFER 2021 file has a
    blank row and ",Old SNs:" before the pre-2019 Dorset, Poole, Bournemouth and
    Northamptonshire rows, which are read too)."""
    frame = read_frame(path)
    file, cols = str(path), list(frame.columns)
    first_row = _first_data_row(frame)
    by_rank: dict[int, dict[str, str]] = {}
    for c in cols:
        m = NEIGHBOUR_COLUMN.match(c)
        if m:
            by_rank.setdefault(int(m.group(2)), {})[m.group(3) or ""] = c
    rank_columns = {r: v.get("_code") or v.get("") or v["_name"] for r, v in by_rank.items()}
    la_col = find_column(cols, "la_code") or find_column(cols, "old_la_code") or find_column(
        cols, "la_name")
    if la_col is None or not rank_columns:
        raise IngestError([Problem(file, 1, None, "missing_column",
                                   "a neighbours file needs an LA column and SN1..SN10 columns")])
    model_col = "model" if "model" in cols else None
    default_model = _model_name(path)
    ranked = [col for _, col in sorted(rank_columns.items())]
    frame[ranked] = frame[ranked].replace(NO_NEIGHBOUR, "")
    separator = (frame[la_col] == "") & (frame[ranked] == "").all(axis=1)
    problems: list[Problem] = []
    rows = []
    listed = frame[~separator]
    models = listed[model_col].tolist() if model_col else [default_model] * len(listed)
    ranks = sorted(rank_columns.items())
    resolved: dict[str, str | None] = {}
    for i, la_text, model, *texts in zip(listed.index.tolist(), listed[la_col].tolist(), models,
                                         *(listed[col].tolist() for _, col in ranks),
                                         strict=True):
        row = int(i) + first_row
        la = register.resolve(la_text)
        if la is None:
            problems.append(Problem(file, row, la_col, "unknown_la",
                                    f"'{la_text}' is not an LA in the lookup"))
            continue
        for (rank, col), text in zip(ranks, texts, strict=True):
            if not text:
                continue
            if text not in resolved:
                resolved[text] = register.resolve(text)
            neighbour = resolved[text]
            if neighbour is None:
                problems.append(Problem(file, row, col, "unknown_la",
                                        f"neighbour '{text}' is not an LA in the lookup"))
                continue
            rows.append((model, la, rank, neighbour))
    if problems:
        raise IngestError(problems)
    out = pd.DataFrame(rows, columns=["model", "la_code", "rank", "neighbour_code"])
    dupes = out.duplicated(["model", "la_code", "rank"])
    if dupes.any():
        raise IngestError([Problem(file, None, None, "duplicate_row",
                                   f"{dupes.sum()} LA rows repeat an LA already listed")])
    return out.assign(source_file=file)


def merge_neighbour_models(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One neighbour list per model and LA. The same model published twice (the NFER CSV and its
    workbook) is read once when both agree; a disagreement is refused, naming both files."""
    columns = ["model", "la_code", "rank", "neighbour_code"]
    if not frames:
        return pd.DataFrame(columns=columns)
    both = pd.concat(frames, ignore_index=True)
    conflict = both.drop_duplicates(columns).duplicated(["model", "la_code", "rank"], keep=False)
    if conflict.any():
        first = both.drop_duplicates(columns)[conflict].iloc[0]
        files = sorted(both.loc[(both["model"] == first["model"])
                                & (both["la_code"] == first["la_code"]), "source_file"].unique())
        raise IngestError([Problem(" and ".join(files), None, f"sn{first['rank']}",
                                   "neighbours_disagree",
                                   f"model {first['model']} gives {first['la_code']} different "
                                   f"neighbours at rank {first['rank']} in these files")])
    return both.drop_duplicates(columns)[columns].reset_index(drop=True)


def _model_name(path: Path) -> str:
    """Neighbour model named after the file: `nfer_2021` for a file mentioning 2021."""
    year = re.search(r"(20\d\d)", path.stem)
    return f"nfer_{year.group(1)}" if year else path.stem.lower()


def read_population(path: Path) -> pd.DataFrame:
    """ONS mid-year estimates → observations of population aged 0–17 for LAs, regions, England."""
    frame = read_frame(path)
    file, cols = str(path), list(frame.columns)
    code, age = find_column(cols, "la_code"), find_column(cols, "age")
    ages = [c for c in cols if re.fullmatch(r"\d+\+?", c)]
    if code is not None and age is None and ages:
        frame, age = _ages_as_rows(path, frame, code, ages), "age"
        cols = list(frame.columns)
    if code is None or age is None:
        raise IngestError([Problem(file, 1, None, "missing_column",
                                   "population needs an area code column and an age column")])
    wide = [c for c in cols if re.fullmatch(r"population_\d{4}", c)]
    if "_row" not in frame.columns:
        frame["_row"] = frame.index + 2
    if wide:
        long = frame.melt(id_vars=["_row", code, age], value_vars=wide, var_name="y",
                          value_name="population")
        long["year"] = long["y"].str[-4:]
    else:
        pop, year = find_column(cols, "population"), find_column(cols, "year")
        if pop is None or year is None:
            raise IngestError([Problem(file, 1, None, "missing_column",
                                       "population needs population and year columns")])
        long = frame.rename(columns={pop: "population", year: "year"})
    problems = [Problem(file, int(r), age, "not_an_age", f"'{a}' is not an age")
                for r, a in long.loc[~long[age].str.fullmatch(r"\d+\+?"), ["_row", age]]
                .itertuples(index=False)]
    problems += [Problem(file, int(r), "population", "not_a_number", f"'{v}' is not a number")
                 for r, v in long.loc[~long["population"].str.fullmatch(NUMBER.pattern),
                                      ["_row", "population"]].itertuples(index=False)]
    if problems:
        raise IngestError(problems)
    long = long[long[code].str.match(GSS_LA.pattern) | long[code].str.match(
        COUNTRY_OR_REGION.pattern)]
    long = long[long[age].str.rstrip("+").astype(int) <= 17]
    long["population"] = long["population"].str.replace(",", "").astype(float)
    totals = long.groupby([code, "year"], as_index=False)["population"].sum()
    level = totals[code].str[:3].map({"E92": "National", "E12": "Regional"}).fillna(
        "Local authority")
    return pd.DataFrame({
        "dataset": path.stem, "year": totals["year"].map(lambda y: int(str(y)[:4])),
        "time_period": totals["year"].astype(str), "geographic_level": level,
        "area_code": totals[code], "breakdown": "age=0-17", "indicator": "population_0_17",
        "value": totals["population"], "status": None,
    })


def _ages_as_rows(path: Path, frame: pd.DataFrame, code: str, ages: list[str]) -> pd.DataFrame:
    """ONS's single-year table (a column per age, as in MYE2) as rows of code, age, year and
    population; the year is the file's year column, else the year its name gives."""
    year = find_column(list(frame.columns), "year")
    named = re.search(r"(?<!\d)(19|20)\d\d(?!\d)", path.stem)
    if year is None and named is None:
        raise IngestError([Problem(str(path), 1, None, "missing_column",
                                   "a population table with a column per age needs a year "
                                   "column or a year in its file name")])
    frame = frame.assign(year=frame[year] if year else named.group(0),  # type: ignore[union-attr]
                         _row=frame.index + 2)
    return frame.melt(id_vars=["_row", code, "year"], value_vars=ages, var_name="age",
                      value_name="population")


def lait_year(period: str) -> int | None:
    """The year a LAIT period ends in: `2023`, `2018 (Rev)` → the year; `2022-23`, `2022-23 (OT)`,
    `2022/23` → 2023 (a financial or academic year ends in its second year); spans such as
    `2014-16` and `2020/21-22/23` → their last year."""
    text = re.sub(r"\s*\(.*\)$", "", period.strip())
    if not re.fullmatch(r"\d{4}([-/]\d{2})*", text):
        return None
    start = int(text[:4])
    if len(text) == 4:
        return start
    end = start // 100 * 100 + int(text[-2:])
    return end + 100 if end < start else end


def read_lait(path: Path, register: LaRegister) -> pd.DataFrame:
    """LAIT long table (indicator, period, area, value) → observations: England and the regions
    by the LAIT's own area numbers, LAs by code or name; '-' and suppression markers stay
    missing. Rows of a period the LAIT writes as `0` carry no figure and are left out."""
    file, cols = str(path), header_of(path)
    found = {r: find_column(cols, r) for r in ("indicator", "year", "value")}
    found["area"] = find_column(cols, "old_la_code") or find_column(cols, "la_code") or \
        find_column(cols, "la_name")
    missing = [r for r, c in found.items() if c is None]
    if missing:
        raise IngestError([Problem(file, 1, r, "missing_column", f"no '{r}' column")
                           for r in missing])
    rows = _lait_rows(path, {r: str(c) for r, c in found.items()}, register)
    key = rows.key()
    latest = ~_superseded(key, rows)
    dupes = _repeated(key[latest])
    del key
    if dupes.any():
        raise IngestError([Problem(file, int(r), None, "duplicate_row",
                                   "the same LA, indicator and year appear twice")
                           for r in rows.file_rows(np.flatnonzero(latest)[dupes][:1000])])
    area, cell = rows.area[latest], rows.cell[latest]
    levels = [LAIT_LEVELS.get(str(code)[:3], "Local authority") for code in area.categories]
    columns = {
        "year": rows.years[rows.period.codes[latest]], "time_period": rows.period[latest],
        "geographic_level": _first_seen(area.codes, np.array(levels, dtype=object)),
        "area_code": area, "breakdown": "", "indicator": rows.indicator[latest],
        "value": rows.numbers[cell], "status": coded(rows.statuses[cell], rows.status_names)}
    del rows, area, cell
    return observation_frame(path.stem, columns)


LAIT_LEVELS = {"E92": "National", "E12": "Regional", "E13": "Regional"}
"""Geographic level of a LAIT area by its code's first three characters; others are LAs."""
LAIT_REVISED = re.compile(r"\((?:Rev|Final)\)", re.IGNORECASE)
"""The LAIT's mark on a period's revised figures: '2022 (Rev)', '2021 (Final)'."""


class LaitRows(NamedTuple):
    """The LAIT's rows kept (a `0` period's rows without a figure left out) and checked, each
    column as codes into its distinct cells, which are parsed once each. `years` and `revised`:
    each period's year and whether it is a revision; `cell`: each row's code into the distinct
    values' numbers (`numbers`) and statuses (`statuses`, codes into `status_names`, -1 for a
    number)."""

    kept: np.ndarray
    first_row: int
    period: pd.Categorical
    years: np.ndarray
    revised: np.ndarray
    area: pd.Categorical
    indicator: pd.Categorical
    cell: np.ndarray
    numbers: np.ndarray
    statuses: np.ndarray
    status_names: pd.Index

    def key(self) -> np.ndarray:
        """One number per row for its indicator, year and area, which ascends as the LAIT's
        rows do (so sorting the keys finds them sorted)."""
        year, distinct = pd.factorize(self.years)
        key = self.indicator.codes.astype(np.int64)
        key *= len(distinct)
        key += year[self.period.codes]
        key *= len(self.area.categories)
        key += self.area.codes
        return key

    def file_rows(self, positions: np.ndarray) -> np.ndarray:
        """File row numbers (header rows counted) of the kept rows at `positions`."""
        return np.flatnonzero(self.kept)[positions] + self.first_row


def _lait_rows(path: Path, roles: dict[str, str], register: LaRegister) -> LaitRows:
    """The LAIT's columns of `roles` read and checked: an area not in the register, a period
    that is not a year or a value neither a number nor a marker is refused, naming its row."""
    frame = read_frame(path, list(roles.values()))
    first_row = _first_data_row(frame)
    cells = {role: frame[column].array for role, column in roles.items()}
    del frame
    value = pd.Categorical(cells.pop("value"))
    parsed = parse_labels(value.categories, LAIT_MARKERS)
    status = parsed.status.to_numpy()
    kept = ~(np.asarray(cells["year"] == "0", dtype=bool) & pd.notna(status)[value.codes])
    value_codes, value_labels = value.codes[kept], value.categories
    del value
    period, area, indicator = (pd.Categorical(cells.pop(role)[kept])
                               for role in ("year", "area", "indicator"))
    ends = [lait_year(str(p)) for p in period.categories]
    codes = np.array([LAIT_AREAS.get(a) or (a if COUNTRY_OR_REGION.match(a) else
                                            register.resolve(a))
                      for a in (re.sub(r"\.0$", "", str(label)) for label in area.categories)],
                     dtype=object)
    used = np.zeros(len(status), dtype=bool)
    used[value_codes] = True
    names = pd.Index(sorted(set(status[used & pd.notna(status)])), dtype=object)
    rows = LaitRows(
        kept, first_row, period, np.array([end or 0 for end in ends], dtype=np.int64),
        np.array([bool(LAIT_REVISED.search(str(p))) for p in period.categories], dtype=bool),
        _first_seen(area.codes, codes), indicator, value_codes, parsed.value.to_numpy(),
        names.get_indexer(pd.Index(status)).astype(np.int8), names)
    problems = [problem for column, rule, message, labels, bad, row_codes in (
        (roles["area"], "unknown_la_code", "'{}' is not an LA in the lookup", area.categories,
         pd.isna(codes), area.codes),
        (roles["year"], "time_period_format", "'{}' is not a year", period.categories,
         np.array([end is None for end in ends], dtype=bool), period.codes),
        (roles["value"], "not_a_number", "'{}' is neither a number nor a suppression marker",
         value_labels, parsed.invalid.to_numpy(dtype=bool), value_codes))
        for problem in _refused(str(path), column, rule, message, rows, labels, bad, row_codes)]
    if problems:
        raise IngestError(sorted(problems, key=lambda p: p.row or 0)[:1000])
    return rows


def _refused(file: str, column: str, rule: str, message: str, rows: LaitRows,
             labels: pd.Index, bad: np.ndarray, codes: np.ndarray) -> list[Problem]:
    """The first 1000 rows whose cell (a code into `labels`) is `bad`, each a problem whose
    `message` names the cell: no more of a rule can be among the 1000 problems reported."""
    if not bad.any():
        return []
    at = np.flatnonzero(bad[codes])[:1000]
    return [Problem(file, int(row), column, rule, message.format(labels[code]))
            for row, code in zip(rows.file_rows(at), codes[at], strict=True)]


def _first_seen(codes: np.ndarray, labels: np.ndarray) -> pd.Categorical:
    """Rows' codes into `labels` (which may repeat, or be None where missing) as a categorical
    of the distinct labels in order of first appearance, as pandas factorizes rows."""
    first = np.full(len(labels), len(codes))
    np.minimum.at(first, codes, np.arange(len(codes)))
    seen = np.argsort(first, kind="stable")[:np.count_nonzero(first < len(codes))]
    position, distinct = pd.factorize(labels[seen])
    renumbered = np.full(len(labels), -1, dtype=codes.dtype)
    renumbered[seen] = position
    return coded(renumbered[codes], pd.Index(distinct))


def _repeated(key: np.ndarray) -> np.ndarray:
    """Rows whose key another row shares, found by sorting the keys (hashing half a million
    takes several times the memory; the stable sort is quickest on keys mostly in order)."""
    ordered = np.sort(key, kind="stable")
    return np.isin(key, ordered[1:][ordered[1:] == ordered[:-1]])


def _superseded(key: np.ndarray, rows: LaitRows) -> np.ndarray:
    """Rows the LAIT revised: where it gives a year twice, as published and revised ('2022' and
    '2022 (Rev)'), every row but the revised or final figure (the last given). Only the
    indicators and years with a revised figure are compared."""
    revised = rows.revised[rows.period.codes]
    superseded = np.zeros(len(key), dtype=bool)
    if not revised.any():
        return superseded
    indicators = np.zeros(len(rows.indicator.categories), dtype=bool)
    indicators[rows.indicator.codes[revised]] = True
    years = np.isin(rows.years, rows.years[rows.period.codes[revised]])
    compared = np.flatnonzero(indicators[rows.indicator.codes] & years[rows.period.codes])
    order = compared[np.lexsort((revised[compared], key[compared]))]
    superseded[order[:-1][key[order][1:] == key[order][:-1]]] = True
    return superseded


def boundary_changes() -> pd.DataFrame:
    """The reorganisations shipped with the package (see boundaries.yaml for sources)."""
    data = yaml.safe_load((Path(__file__).parent / "boundaries.yaml").read_text())
    return pd.DataFrame(data["changes"]).rename(columns={"predecessor": "predecessor_code",
                                                          "successor": "successor_code"})
