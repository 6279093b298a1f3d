"""Read SSDA903 header and episodes files (CSV or XLSX, one or several collection years) and check
them against the structural DfE rules, so bad input is refused record by record before anything is
stored. Rule codes are the DfE's where one exists (e.g. 146: placement code not valid).

CSV files are read and checked with Arrow and numpy only (pandas takes longer to import than an
LA's returns take to check); pandas is imported for XLSX files and for the frames of
`CheckedReturns.children` and `.episodes`, which the load path does not use.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from sf_benefits.ingest.errors import IngestError, Problem
from sf_benefits.ingest.ssda903.arrow import numbers, strings
from sf_benefits.ingest.ssda903.codes import (
    CIN_CODES,
    DATE_FORMAT,
    DIRECT_IDENTIFIERS,
    EPISODE_COLUMNS,
    EPISODE_REQUIRED,
    ETHNIC_CODES,
    HEADER_COLUMNS,
    HEADER_REQUIRED,
    LS_CODES,
    PLACE_CODES,
    PLACE_PROVIDER_CODES,
    REASON_PLACE_CHANGE_CODES,
    REC_CODES,
    RNE_CODES,
    SEX_CODES,
)
from sf_benefits.ssda903_data import CONTINUATION_REC

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

HEADER = "header"
EPISODES = "episodes"
UASC = "uasc"
RETURN_SUFFIXES = (".csv", ".xlsx", ".xlsm")
UASC_REQUIRED: tuple[str, ...] = ("CHILD", "DUC")
FIRST_DATA_LINE = 2
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
_READERS = 2
"""Files read at once: a machine's two cores, without holding many files' text at a time."""
_NAT = np.datetime64("NaT", "D")
_EARLIEST, _LATEST = np.datetime64("1677-09-22", "D"), np.datetime64("2262-04-11", "D")
"""The first and last whole days a pandas timestamp holds: the engine's frames are pandas, so a
date outside them is refused as not a valid date."""

Coded = tuple[npt.NDArray[Any], npt.NDArray[np.object_]]
"""A text column as, for each cell, the position of its value among the column's distinct
values, and those values: checks run once per distinct value, since returns repeat few dates
and codes."""

CODE_LISTS: dict[str, frozenset[str]] = {
    "SEX": SEX_CODES, "ETHNIC": ETHNIC_CODES, "RNE": RNE_CODES, "LS": LS_CODES,
    "CIN": CIN_CODES, "PLACE": PLACE_CODES, "PLACE_PROVIDER": PLACE_PROVIDER_CODES,
    "REC": REC_CODES, "REASON_PLACE_CHANGE": REASON_PLACE_CHANGE_CODES,
}
"""The DfE code list of each coded column."""

Columns = dict[str, npt.NDArray[Any]]
"""Typed columns (of one file, or of all files stacked by `_stack`)."""

EPISODE_CODES = ("RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC", "REASON_PLACE_CHANGE")


@cache
def categories(column: str) -> npt.NDArray[np.object_]:
    """The values a checked code column is stored as positions in: its DfE code list and blank,
    in order, the same for every file, so combining years and reordering rows stays cheap."""
    return np.asarray(sorted(CODE_LISTS[column] | {""}), dtype=object)


@dataclass
class ReturnTable:
    """One file of a return as text: which table it is, its collection year and its columns, as
    read (Arrow dictionary arrays; CHILD, which has as many values as children, plain text) until
    a check needs one as `Coded`."""

    path: Path
    table: str
    year: int | None
    arrow: dict[str, pa.Array]
    rows: int
    _distinct: dict[str, Coded] = field(default_factory=dict, init=False, repr=False,
                                        compare=False)

    @property
    def name(self) -> str:
        """The file as named in problems."""
        return str(self.path)

    @property
    def columns(self) -> list[str]:
        """The table's columns, upper case, in file order."""
        return list(self.arrow)

    def distinct(self, column: str) -> Coded:
        """The column as positions among its distinct values (worked out once per column)."""
        if column not in self._distinct:
            values = self.arrow[column]
            self._distinct[column] = ((numbers(values.indices), strings(values.dictionary))
                                      if hasattr(values, "indices")
                                      else _numbered_text(values.to_pylist()))
        return self._distinct[column]

    def replace(self, column: str, coded: Coded) -> None:
        """Change the values of a column."""
        self._distinct[column] = coded

    def text(self, column: str, rows: npt.NDArray[np.intp] | None = None
             ) -> npt.NDArray[np.object_]:
        """The text of a column (of some rows only)."""
        positions, uniques = self.distinct(column)
        return uniques[positions if rows is None else positions[rows]]

    def forget(self) -> None:
        """Drop every column but CHILD (the checks of one table are done; CHILD names the
        children of problems found across tables)."""
        self.arrow = {}
        self._distinct = {"CHILD": self._distinct["CHILD"]} if "CHILD" in self._distinct else {}

    @property
    def frame(self) -> pd.DataFrame:
        """The table as text (for the DfE validator, which reads CSV files)."""
        import pandas as pd

        return pd.DataFrame({c: self.text(c) for c in self.columns},
                            index=pd.RangeIndex(self.rows))


@dataclass
class CheckedReturns:
    """Header and episodes of every file, typed and de-duplicated across collection years, as
    numpy columns; `children` and `episodes` give them as pandas frames.

    `child_columns`: code (the child's number in `identifiers`), SEX, DOB, ETHNIC, one row per
    child, the latest return's values. `episode_columns`: code, DECOM, DEC (NaT while open),
    RNE, LS, CIN, PLACE, PLACE_PROVIDER, REC, REASON_PLACE_CHANGE, collection_year. Codes are
    positions in `categories(column)`, dates days. `identifiers` are the LA's own CHILD values.
    `episode_child`: for each episode, the row of its child in the children, so the
    identifiers need not be matched again downstream.
    """

    identifiers: npt.NDArray[np.object_]
    child_columns: Columns
    episode_columns: Columns
    collection_years: tuple[int, ...]
    files: tuple[Path, ...]
    last_day: date
    episode_child: npt.NDArray[np.intp] = field(repr=False, compare=False)

    @property
    def data_end(self) -> pd.Timestamp:
        """The last day the returns cover."""
        import pandas as pd

        return pd.Timestamp(self.last_day)

    @cached_property
    def children(self) -> pd.DataFrame:
        """CHILD, SEX, DOB, ETHNIC (codes as categoricals, DOB as nanosecond timestamps)."""
        return self._frame(self.child_columns, ("SEX", "DOB", "ETHNIC"))

    @cached_property
    def episodes(self) -> pd.DataFrame:
        """CHILD, DECOM, DEC, the episode codes (categoricals) and collection_year."""
        return self._frame(self.episode_columns,
                           ("DECOM", "DEC", *EPISODE_CODES, "collection_year"))

    def _frame(self, source: Columns, names: tuple[str, ...]) -> pd.DataFrame:
        import pandas as pd

        def categorical(codes: npt.NDArray[Any], values: npt.NDArray[np.object_]
                        ) -> pd.Categorical:
            return pd.Categorical.from_codes(
                codes, dtype=pd.CategoricalDtype(pd.Index(values, dtype=object)))  # type: ignore[arg-type]

        def column(name: str) -> object:
            values = source[name]
            if name in CODE_LISTS:
                return categorical(values, categories(name))
            return values.astype("datetime64[ns]") if values.dtype.kind == "M" else values

        return pd.DataFrame({"CHILD": categorical(source["code"], self.identifiers),
                             **{name: column(name) for name in names}}, copy=False)


def _clean_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """Spreadsheet cells as text: dates as dd/mm/yyyy, blanks as empty strings."""
    import pandas as pd

    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            frame[column] = values.dt.strftime(DATE_FORMAT).fillna("")
            continue
        if values.dtype == object:
            stamps = values.map(lambda v: isinstance(v, pd.Timestamp))
            if bool(stamps.any()):
                frame.loc[stamps, column] = values[stamps].map(
                    lambda v: v.strftime(DATE_FORMAT))
        frame[column] = frame[column].fillna("").astype(str).str.strip()
    return frame


def _wanted(column: str) -> bool:
    return column.strip().upper() not in DIRECT_IDENTIFIERS


def _read_columns(path: Path, all_columns: bool) -> tuple[dict[str, pa.Array], int]:
    """The file's columns (upper case) as Arrow dictionary arrays of text (CHILD as plain text),
    and its row count."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_spreadsheet(path, all_columns)
    if suffix == ".csv":
        return _read_csv(path, all_columns)
    raise IngestError([Problem(str(path), None, None, "903-format",
                               "only .csv and .xlsx SSDA903 files can be read")])


def _read_spreadsheet(path: Path, all_columns: bool) -> tuple[dict[str, pa.Array], int]:
    import pandas as pd
    import pyarrow as pa

    frame = pd.read_excel(path, dtype=object, engine="openpyxl")
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    frame = _clean_spreadsheet(frame)
    columns = {c: pa.array(frame[c].to_numpy(dtype=object), type=pa.string())
               for c in frame.columns if all_columns or _wanted(c)}
    return {c: v if c == "CHILD" else v.dictionary_encode() for c, v in columns.items()}, len(frame)


def _read_csv(path: Path, all_columns: bool) -> tuple[dict[str, pa.Array], int]:
    """Every column as dictionary-encoded text, which the Arrow CSV reader builds without
    making a string for every cell, but CHILD as plain text: a dictionary of nearly every value
    costs more to build and merge than `_child_codes` takes to number the identifiers. One
    thread per file (`read_tables` reads two files at once)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        names = next(csv.reader(handle), [])
    if len(set(names)) < len(names):
        raise ValueError(f"repeated column names in {names}")
    text = pa.dictionary(pa.int32(), pa.string())
    types = {name: pa.string() if name.strip().upper() == "CHILD" else text for name in names}
    try:
        table = pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(encoding="utf8", use_threads=False),
            memory_pool=pa.system_memory_pool(),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=[n for n in names if all_columns or _wanted(n)],
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except pa.ArrowInvalid as error:
        raise ValueError(str(error)) from error
    table = table.unify_dictionaries()
    return {str(name).strip().upper(): column.combine_chunks() if column.num_chunks
            else pa.array([], type=types[name])
            for name, column in zip(table.column_names, table.columns, strict=True)
            }, table.num_rows


def _first_appearance(values: npt.NDArray[np.generic]) -> npt.NDArray[np.intp]:
    """Numbers of the values in order of first appearance (as `pandas.factorize`); child numbers
    usually are already (0, then never more than one above the largest so far), and are then
    returned as they are, without sorting."""
    if values.dtype.kind in "iu" and len(values) and values[0] == 0:
        largest = np.maximum.accumulate(values)
        if bool((values[1:] <= largest[:-1] + 1).all()):
            return values.astype(np.intp, copy=False)
    order, starts = _groups(values)
    first = order[starts]
    rank = np.empty(len(first), dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    numbered = np.empty(len(values), dtype=np.intp)
    numbered[order] = rank[np.cumsum(starts) - 1]
    return numbered


def _groups(values: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """The values' order (stable) and, in that order, True where a new value starts (the first
    appearance of each value): `np.unique` without its import of numpy.ma, a tenth of a
    second."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    return order, np.r_[True, ordered[1:] != ordered[:-1]] if len(values) else np.zeros(0, bool)


def _offsets(values: pa.StringArray) -> npt.NDArray[np.int32]:
    """Where each value of an Arrow text array starts in its data (and where the last ends)."""
    return np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset:values.offset + len(values) + 1]


def _lengths(values: pa.StringArray) -> npt.NDArray[np.int32]:
    """The length in bytes of each value of an Arrow text array."""
    return np.diff(_offsets(values))


def _parse_dates(values: pa.StringArray) -> npt.NDArray[np.datetime64]:
    """dd/mm/yyyy text to days (NaT where blank, not a real date, or outside the days pandas can
    hold). Text in exactly that form is parsed with numpy on the Arrow buffers; anything else
    (a day or month of one digit, stray spaces) by `datetime.strptime` on the stripped text,
    whose rules pandas' parser follows."""
    offsets = _offsets(values)
    data = values.buffers()[2]
    text = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets)
    rows = np.flatnonzero(lengths == 10)
    chars = text[offsets[rows][:, None] + np.arange(10)]
    digits = chars[:, [0, 1, 3, 4, 6, 7, 8, 9]].astype(np.int64) - ord("0")
    form = ((digits >= 0) & (digits <= 9)).all(axis=1) & (chars[:, 2] == ord("/")) & (
        chars[:, 5] == ord("/"))
    day = digits[:, 0] * 10 + digits[:, 1]
    month = digits[:, 2] * 10 + digits[:, 3]
    year = digits[:, 4] * 1000 + digits[:, 5] * 100 + digits[:, 6] * 10 + digits[:, 7]
    real = form & (month >= 1) & (month <= 12) & (day >= 1)
    first = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    start = first.astype("datetime64[D]")
    real &= day <= ((first + 1).astype("datetime64[D]") - start).astype(np.int64)
    parsed = np.full(len(values), _NAT)
    parsed[rows[real]] = start[real] + (day[real] - 1).astype("timedelta64[D]")
    other = np.ones(len(values), dtype=bool)
    other[rows[form]] = False
    for i in np.flatnonzero(other & (lengths > 0)):
        try:
            parsed[i] = np.datetime64(datetime.strptime(str(values[i]).strip(), DATE_FORMAT)
                                      .date(), "D")
        except ValueError:
            continue
    parsed[(parsed < _EARLIEST) | (parsed > _LATEST)] = _NAT
    return parsed


def _day_text(day: np.datetime64) -> str:
    """A day as dd/mm/yyyy, for problems."""
    return f"{day.astype('datetime64[D]').astype(object):%d/%m/%Y}"


def _year_of(path: Path) -> int | None:
    for part in (path.stem, path.parent.name):
        found = _YEAR.findall(part)
        if found:
            return int(found[-1])
    return None


def return_files(paths: Sequence[Path | str]) -> list[Path]:
    """The files of the given returns: files as given; a folder stands for the CSV and XLSX files
    in it and in its sub-folders (a year's return, or a folder of year folders), in name order."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted((p for p in path.rglob("*") if p.is_file()
                             and p.suffix.lower() in RETURN_SUFFIXES and not p.name.startswith(".")),
                            key=lambda p: p.relative_to(path).parts)
        else:
            found.append(path)
    return found


def read_tables(paths: Sequence[Path], all_columns: bool = False
                ) -> tuple[list[ReturnTable], list[Problem]]:
    """Read each file and tell header from episodes by its columns; problems for unusable files.
    Files are read `_READERS` at a time (Arrow reads a CSV file without holding Python's lock).

    Direct identifiers (postcodes, URN, UPN, mother's details) are not even read unless
    `all_columns` (for the DfE validator, whose location rules need them)."""
    tables: list[ReturnTable] = []
    problems: list[Problem] = []
    files = [Path(p) for p in paths]
    with ThreadPoolExecutor(max_workers=_READERS) as readers:
        reads = [readers.submit(_read_columns, path, all_columns) if path.is_file() else None
                 for path in files]
    for path, read in zip(files, reads, strict=True):
        if read is None:
            problems.append(Problem(str(path), None, None, "903-file", "file not found"))
            continue
        try:
            columns, rows = read.result()
        except IngestError as error:
            problems.extend(error.problems)
            continue
        except (ValueError, OSError, UnicodeDecodeError) as error:
            problems.append(Problem(str(path), None, None, "903-format",
                                    f"cannot be read as CSV or XLSX: {error}"))
            continue
        stem = path.stem.lower()
        if "DUC" in columns or "uasc" in stem:
            table, required = UASC, UASC_REQUIRED
        elif "DECOM" in columns or "episode" in stem:
            table, required = EPISODES, EPISODE_REQUIRED
        elif "DOB" in columns or "header" in stem:
            table, required = HEADER, HEADER_REQUIRED
        else:
            problems.append(Problem(
                str(path), None, None, "903-columns",
                "not an SSDA903 header or episodes table: expected the columns "
                f"{', '.join(HEADER_COLUMNS)} or {', '.join(EPISODE_COLUMNS)}"))
            continue
        missing = [c for c in required if c not in columns]
        if missing:
            problems.extend(Problem(str(path), None, c, "903-columns",
                                    f"required {table} column {c} is missing") for c in missing)
            continue
        tables.append(ReturnTable(path, table, _year_of(path), columns, rows))
    episode_years = [t.year for t in tables if t.table == EPISODES]
    if len(set(episode_years)) < len(episode_years) or None in episode_years:
        for found in tables:
            if found.table == EPISODES:
                found.year = _infer_year(found)
    return tables, problems


def _infer_year(table: ReturnTable) -> int | None:
    """Collection year (ending 31 March) from the latest start or end date in an episodes table."""
    latest = _latest_day(*(_parse_dates(table.arrow[c].dictionary) for c in ("DECOM", "DEC")
                           if c in table.arrow))
    return None if latest is None else latest.year + (1 if latest.month > 3 else 0)


def _latest_day(*days: npt.NDArray[np.datetime64]) -> date | None:
    """The latest of some days (None when every one is NaT)."""
    known = np.concatenate([d[~np.isnat(d)] for d in days]) if days else np.zeros(0, "M8[D]")
    return known.max().astype(object) if len(known) else None


def _row(index: int | np.integer) -> int:
    return int(index) + FIRST_DATA_LINE


def _children(table: ReturnTable, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.object_]:
    """The CHILD identifiers of some rows of a table, for problems."""
    return table.text("CHILD", rows)


def _isin(values: npt.NDArray[np.object_], allowed: frozenset[str]) -> npt.NDArray[np.bool_]:
    return np.fromiter((v in allowed for v in values), dtype=bool, count=len(values))


def _code_problems(table: ReturnTable, column: str, codes: frozenset[str], rule: str,
                   label: str, blank_ok: bool) -> list[Problem]:
    """Codes not in the DfE list; stray spaces and lower case are fixed first (in the values
    kept, too)."""
    allowed = codes | {""} if blank_ok else codes
    positions, uniques = table.distinct(column)
    if _isin(uniques, allowed).all():
        return []
    fixed = np.asarray([v if v in codes or v == "" else str(v).strip().upper() for v in uniques],
                       dtype=object)
    table.replace(column, (positions, fixed))
    bad = np.flatnonzero(~_isin(fixed, allowed)[positions])
    return [Problem(table.name, _row(i), column, rule,
                    f"child {child}: {label} {value!r} is not a valid code")
            for i, child, value in zip(bad, _children(table, bad), fixed[positions[bad]],
                                       strict=True)]


def _date_problems(table: ReturnTable, column: str, rule: str, label: str,
                   blank_ok: bool) -> tuple[npt.NDArray[np.datetime64], list[Problem]]:
    """The column as days, and a problem for each cell that is not a date (or blank, when
    `blank_ok`)."""
    values = table.arrow[column]
    positions = numbers(values.indices)
    parsed = _parse_dates(values.dictionary)
    wrong = np.isnat(parsed)
    if blank_ok:
        wrong &= _lengths(values.dictionary) > 0
    bad = np.flatnonzero(wrong[positions]) if wrong.any() else np.zeros(0, dtype=np.intp)
    problems = [Problem(table.name, _row(i), column, rule,
                        f"child {child}: {label} {value!r} is not a valid dd/mm/yyyy date")
                for i, child, value in zip(bad, _children(table, bad), table.text(column, bad),
                                           strict=True)]
    return parsed[positions], problems


def _as_codes(table: ReturnTable, column: str) -> npt.NDArray[np.int16]:
    """Codes as positions in `categories(column)` (invalid codes were reported already); a
    column the file lacks is blank."""
    if column not in table.arrow:
        return np.full(table.rows, categories(column).tolist().index(""), dtype=np.int16)
    positions, uniques = table.distinct(column)
    index = {code: i for i, code in enumerate(categories(column))}
    return np.asarray([index.get(u, -1) for u in uniques], dtype=np.int16)[positions]


def _child_codes(tables: Sequence[ReturnTable]
                 ) -> tuple[list[npt.NDArray[np.intp]], npt.NDArray[np.object_], int]:
    """Strip CHILD in every table and number the identifiers once for all tables, in order of
    first appearance (the same child has the same number in every file), so later checks compare
    integers, not text; also the identifiers by number and the number of the blank identifier
    (-1 when there is none)."""
    if not tables:
        return [], np.zeros(0, dtype=object), -1
    found = _numeric_child_codes([t.arrow["CHILD"] for t in tables])
    parts, distinct = found if found is not None else _text_child_codes(tables)
    for table, part in zip(tables, parts, strict=True):
        table.replace("CHILD", (part, distinct))
    blank = np.flatnonzero(distinct == "")
    return parts, distinct, int(blank[0]) if blank.size else -1


_LONGEST_NUMBER = 18
"""Digits an identifier may have to be numbered as an integer (any 18 digits fit in int64)."""


def _numeric_child_codes(columns: Sequence[pa.StringArray]
                         ) -> tuple[list[npt.NDArray[np.intp]], npt.NDArray[np.object_]] | None:
    """`_child_codes` for identifiers that are all blank or numbers written plainly (digits, no
    leading zero, no space), as most LAs' are: each is read as the integer it writes, one to one,
    on the Arrow buffers, and the integers are numbered by sorting; None for any other
    identifiers."""
    values = []
    for column in columns:
        parsed = _plain_numbers(column)
        if parsed is None:
            return None
        values.append(parsed)
    stacked = np.concatenate(values)
    numbered = _first_appearance(stacked)
    found = np.empty(int(numbered.max(initial=-1)) + 1, dtype=np.int64)
    found[numbered] = stacked
    distinct = np.asarray([str(v - 1) if v else "" for v in found.tolist()], dtype=object)
    return _in_parts(numbered, values), distinct


def _plain_numbers(column: pa.StringArray) -> npt.NDArray[np.int64] | None:
    """Each value of an Arrow text array as one more than the integer its digits write (0 where
    blank, so every value is a valid first-appearance number for `_first_appearance`), or
    None when a value is not digits only, has a leading zero or is longer than 18 digits (then
    text and integer are not one to one)."""
    offsets = _offsets(column)
    lengths = np.diff(offsets)
    data = column.buffers()[2]
    text = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    parsed = np.zeros(len(column), dtype=np.int64)
    widths = np.flatnonzero(np.bincount(lengths))
    for width in widths[widths > 0]:
        if width > _LONGEST_NUMBER:
            return None
        rows: slice | npt.NDArray[np.intp]
        if len(widths) == 1:
            rows, chars = slice(None), text[offsets[0]:offsets[-1]].reshape(-1, width)
        else:
            rows = np.flatnonzero(lengths == width)
            chars = text[offsets[rows][:, None] + np.arange(width)]
        digits = chars - np.uint8(ord("0"))
        if (digits > 9).any() or (width > 1 and not digits[:, 0].all()):
            return None
        number = digits[:, 0].astype(np.int64)
        for place in range(1, width):
            number *= 10
            number += digits[:, place]
        parsed[rows] = number + 1
    return parsed


def _numbered_text(values: list[str]) -> Coded:
    """Text as positions among its distinct values, in order of first appearance (a dict, not
    `pyarrow.compute`, whose import takes longer than an LA's identifiers take to number)."""
    index: dict[str, int] = {}
    positions = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.intp,
                            count=len(values))
    return positions, np.asarray(list(index), dtype=object)


def _text_child_codes(tables: Sequence[ReturnTable]
                      ) -> tuple[list[npt.NDArray[np.intp]], npt.NDArray[np.object_]]:
    """`_child_codes` for any identifiers: the distinct values of all files are numbered at
    once, and only distinct values are stripped."""
    columns = [t.arrow["CHILD"] for t in tables]
    positions, names = _numbered_text([v for c in columns for v in c.to_pylist()])
    distinct = np.asarray([name.strip() for name in names], dtype=object)
    if not np.array_equal(distinct, names):
        renumbered = _first_appearance(distinct)
        keep = np.flatnonzero(np.r_[True, np.diff(np.sort(renumbered)) > 0])
        distinct = distinct[np.argsort(renumbered, kind="stable")][keep]
        positions = renumbered[positions]
    return _in_parts(positions, columns), distinct


def _in_parts(stacked: npt.NDArray[np.intp], parts: Sequence[Any]) -> list[npt.NDArray[np.intp]]:
    """Values of several parts, stacked, split back into the parts (as long as each of `parts`)."""
    bounds = np.cumsum([0, *map(len, parts)])
    return [stacked[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _check_header(table: ReturnTable, number: int, codes: npt.NDArray[np.intp], blank_code: int
                  ) -> tuple[Columns, list[Problem]]:
    problems: list[Problem] = []
    blank = codes == blank_code
    problems += [Problem(table.name, _row(i), "CHILD", "903-child", "child identifier is blank")
                 for i in np.flatnonzero(blank)]
    first = np.zeros(len(codes), dtype=bool)
    order, starts = _groups(codes)
    first[order[starts]] = True
    duplicated = np.flatnonzero(~first & ~blank)
    problems += [Problem(table.name, _row(i), "CHILD", "903-header-duplicate",
                         f"child {c}: appears more than once in the header")
                 for i, c in zip(duplicated, _children(table, duplicated), strict=True)]
    problems += _code_problems(table, "SEX", SEX_CODES, "101", "sex", blank_ok=False)
    problems += _code_problems(table, "ETHNIC", ETHNIC_CODES, "103", "ethnicity", blank_ok=False)
    dob, date_problems = _date_problems(table, "DOB", "102", "date of birth", blank_ok=False)
    problems += date_problems + _impossible_births(table, dob)
    typed: Columns = {
        "code": codes, "SEX": _as_codes(table, "SEX"), "DOB": dob,
        "ETHNIC": _as_codes(table, "ETHNIC"),
        "row": np.arange(FIRST_DATA_LINE, table.rows + FIRST_DATA_LINE, dtype=np.int32),
        "file": np.full(table.rows, number, dtype=np.int16),
        "year": np.full(table.rows, table.year or 0, dtype=np.int16)}
    table.forget()
    return typed, problems


def _impossible_births(table: ReturnTable, born: npt.NDArray[np.datetime64]) -> list[Problem]:
    """DfE rules 301 (date of birth after the collection year ended) and 351 (child over 25 at
    the start of the collection year): a date can be real and still impossible for a child."""
    if table.year is None:
        return []
    year_end = date(table.year, 3, 31)
    oldest = date(table.year - 1 - 25, 4, 1)
    problems = []
    for rule, wrong, why in (
            ("301", born > np.datetime64(year_end, "D"),
             f"falls after the collection year ended ({year_end:%d/%m/%Y})"),
            ("351", born < np.datetime64(oldest, "D"),
             "makes the child over 25 at the start of the collection year")):
        rows = np.flatnonzero(wrong)
        problems += [Problem(table.name, _row(i), "DOB", rule,
                             f"child {child}: date of birth {born_on} {why}")
                     for i, child, born_on in zip(rows, _children(table, rows),
                                                  table.text("DOB", rows), strict=True)]
    return problems


def _check_episodes(table: ReturnTable, number: int, codes: npt.NDArray[np.intp],
                    blank_code: int) -> tuple[Columns, list[Problem]]:
    problems: list[Problem] = []
    blank = codes == blank_code
    problems += [Problem(table.name, _row(i), "CHILD", "903-child", "child identifier is blank")
                 for i in np.flatnonzero(blank)]
    problems += _code_problems(table, "RNE", RNE_CODES, "143", "reason for new episode",
                               blank_ok=False)
    problems += _code_problems(table, "LS", LS_CODES, "144", "legal status", blank_ok=False)
    problems += _code_problems(table, "CIN", CIN_CODES, "145", "category of need",
                               blank_ok=False)
    problems += _code_problems(table, "PLACE", PLACE_CODES, "146", "placement type",
                               blank_ok=False)
    problems += _code_problems(table, "PLACE_PROVIDER", PLACE_PROVIDER_CODES, "178",
                               "placement provider", blank_ok=True)
    problems += _code_problems(table, "REC", REC_CODES, "149", "reason episode ceased",
                               blank_ok=True)
    if "REASON_PLACE_CHANGE" in table.arrow:
        problems += _code_problems(table, "REASON_PLACE_CHANGE", REASON_PLACE_CHANGE_CODES,
                                   "1009", "reason for placement change", blank_ok=True)
    starts, p1 = _date_problems(table, "DECOM", "141", "date episode began", blank_ok=False)
    ends, p2 = _date_problems(table, "DEC", "147", "date episode ceased", blank_ok=True)
    problems += p1 + p2
    one_blank = np.flatnonzero(_blank(table, "DEC") != _blank(table, "REC"))
    problems += [Problem(table.name, _row(i), "REC", "148",
                         f"child {child}: date episode ceased and reason episode ceased must "
                         "both be coded, or both left blank")
                 for i, child in zip(one_blank, _children(table, one_blank), strict=True)]
    backwards = np.flatnonzero(ends < starts)
    problems += [Problem(table.name, _row(i), "DEC", "356",
                         f"child {child}: the episode ends ({ended}) before it starts ({began})")
                 for i, child, ended, began in zip(
                     backwards, _children(table, backwards), table.text("DEC", backwards),
                     table.text("DECOM", backwards), strict=True)]
    if table.year is not None:
        year_end = date(table.year, 3, 31)
        last_day = np.datetime64(year_end, "D")
        late = np.flatnonzero((ends > last_day) | (starts > last_day))
        problems += [Problem(table.name, _row(i), "DEC", "354",
                             f"child {child}: episode dates must be on or before the end of "
                             f"the collection year ({year_end:%d/%m/%Y})")
                     for i, child in zip(late, _children(table, late), strict=True)]
    typed: Columns = {
        "code": codes, "DECOM": starts, "DEC": ends,
        **{c: _as_codes(table, c) for c in EPISODE_CODES},
        "row": np.arange(FIRST_DATA_LINE, table.rows + FIRST_DATA_LINE, dtype=np.int32),
        "file": np.full(table.rows, number, dtype=np.int16),
        "collection_year": np.full(table.rows, table.year or 0, dtype=np.int16),
    }
    table.forget()
    usable = np.flatnonzero(~np.isnat(starts) & ~blank)
    problems += _overlaps(table, codes[usable], starts[usable], ends[usable], usable)
    return typed, problems


def _blank(table: ReturnTable, column: str) -> npt.NDArray[np.bool_]:
    """True where a cell of the column is empty."""
    positions, uniques = table.distinct(column)
    return np.asarray(uniques == "", dtype=bool)[positions]


def _overlaps(table: ReturnTable, codes: npt.NDArray[np.intp],
              starts: npt.NDArray[np.datetime64], ends: npt.NDArray[np.datetime64],
              rows: npt.NDArray[np.intp]) -> list[Problem]:
    """Rule 501: within one file, an episode may not start before the previous one ended
    (`rows`: where in the file each of the episodes given is)."""
    order = _order(codes, starts)
    same_child = np.r_[False, codes[order][1:] == codes[order][:-1]]
    previous_end = np.concatenate([[_NAT], ends[order][:-1]])
    overlap = same_child & (np.isnat(previous_end) | (starts[order] < previous_end))
    hits = order[overlap]
    return [Problem(table.name, _row(r), "DECOM", "501",
                    f"child {c}: a new episode starts ({_day_text(d)}) before the previous "
                    "episode ended")
            for r, c, d in zip(rows[hits], _children(table, rows[hits]), starts[hits],
                               strict=True)]


def check_returns(paths: Sequence[Path | str]) -> CheckedReturns:
    """Read and check every file; raise IngestError with every problem, or return typed tables."""
    tables, problems = read_tables([Path(p) for p in paths])
    tables = [t for t in tables if t.table != UASC]
    if not any(t.table == EPISODES for t in tables) and not problems:
        problems.append(Problem(", ".join(str(p) for p in paths), None, None, "903-files",
                                "no SSDA903 episodes table among the files"))
    if not any(t.table == HEADER for t in tables) and not problems:
        problems.append(Problem(", ".join(str(p) for p in paths), None, None, "903-files",
                                "no SSDA903 header table among the files"))
    numbered, identifiers, blank_code = _child_codes(tables)
    headers: list[Columns] = []
    episode_parts: list[Columns] = []
    for number, (table, codes) in enumerate(zip(tables, numbered, strict=True)):
        if table.table == HEADER:
            typed, found = _check_header(table, number, codes, blank_code)
            headers.append(typed)
        else:
            typed, found = _check_episodes(table, number, codes, blank_code)
            episode_parts.append(typed)
        problems += found
    files = tuple(t.path for t in tables)
    del tables, numbered  # the text of every file: only the typed columns are needed now
    if headers and episode_parts:
        children = _stack(headers)
        episodes = _stack(episode_parts)
        named = _rows(children, children["code"] != blank_code)
        child_order = _order(named["code"], named["year"])
        found, latest, position = _cross_checks(
            named, _rows(episodes, episodes["code"] != blank_code), child_order, files,
            identifiers)
        problems += found
    if problems:
        raise IngestError(problems)
    chosen = child_order[latest]
    children = {c: named[c][chosen] for c in ("code", "SEX", "DOB", "ETHNIC")}
    episodes, kept = _combine_years(episodes)
    years = tuple(int(y) for y in np.flatnonzero(np.bincount(episodes["collection_year"]))
                  if y)
    last_day = date(max(years), 3, 31) if years else _latest_day(episodes["DECOM"],
                                                                  episodes["DEC"])
    if last_day is None:
        raise IngestError([Problem(", ".join(str(p) for p in paths), None, None, "903-files",
                                   "no episode among the files has a date")])
    return CheckedReturns(identifiers, children, episodes, years, files, last_day,
                          position[kept])


def _rows(columns: Columns, wanted: npt.NDArray[np.bool_]) -> Columns:
    """Some rows of typed columns (the same columns when every row is wanted)."""
    return columns if wanted.all() else {c: v[wanted] for c, v in columns.items()}


def _stack(parts: Sequence[Columns]) -> Columns:
    """The typed columns of several files, in file order (emptying `parts` column by column, so
    the data are not held twice)."""
    return {column: np.concatenate([p.pop(column) for p in parts]) for column in list(parts[0])}


def _order(child: npt.ArrayLike, *then: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Row order by child (grouped, in order of first appearance), then by the other keys; ties
    keep their order. The keys are packed into one integer when they fit (dates as days), which
    sorts several times faster than a lexsort on separate keys."""
    codes = _first_appearance(np.asarray(child))
    keys = [_date_key(k) if k.dtype.kind == "M" else k.astype(np.int64)
            for k in map(np.asarray, then)]
    if not len(codes):
        return np.lexsort((*reversed(keys), codes))
    packed = codes.astype(np.int64)
    largest = int(packed.max())
    for key in keys:
        low, width = int(key.min()), int(key.max()) - int(key.min()) + 1
        largest = largest * width + width - 1
        if largest >= 2 ** 62:
            return np.lexsort((*reversed(keys), codes))
        packed = packed * width + (key - low)
    return np.argsort(packed, kind="stable")


def _date_key(values: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
    """Dates as sortable integers (NaT first): days when every date is midnight, else ns."""
    stamps = values.astype("datetime64[ns]").astype(np.int64)
    missing = stamps == np.iinfo(np.int64).min
    day = 86_400 * 10 ** 9
    if not bool((stamps[~missing] % day == 0).all()):
        return stamps
    days = stamps // day
    if bool(missing.any()):
        days[missing] = days[~missing].min(initial=0) - 1
    return days


def _last_of_each(child: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
    """For rows grouped by child: True on the last row of each child."""
    return np.r_[child[1:] != child[:-1], True]


def _cross_checks(children: Columns, episodes: Columns, order: npt.NDArray[np.intp],
                  files: tuple[Path, ...], identifiers: npt.NDArray[np.object_]
                  ) -> tuple[list[Problem], npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """Rules across files (203, 302, and a header record for every child with episodes), on
    children in `order` (by child, then year); also which of those rows is each child's latest
    and, for each episode, its child's row among the latest."""
    problems: list[Problem] = []

    def located(columns: Columns, i: int | np.integer) -> tuple[str, int, str]:
        return (str(files[columns["file"][i]]), int(columns["row"][i]),
                str(identifiers[columns["code"][i]]))

    child = children["code"][order]
    born_on = children["DOB"][order]
    same = child[1:] == child[:-1]
    differs = same & (born_on[1:] != born_on[:-1]) & ~np.isnat(born_on[1:]) & ~np.isnat(
        born_on[:-1])
    for i in order[np.flatnonzero(differs) + 1]:
        file, row, name = located(children, i)
        problems.append(Problem(file, row, "DOB", "203",
                                f"child {name}: date of birth disagrees with the date "
                                "of birth already recorded for this child"))
    latest = _last_of_each(child)
    episode_codes = episodes["code"]
    lookup = np.full(int(max(child.max(initial=-1), episode_codes.max(initial=-1)) + 1), -1,
                     dtype=np.intp)
    lookup[child[latest]] = np.arange(int(latest.sum()))
    position = lookup[episode_codes]
    known = position >= 0
    for i in np.flatnonzero(~known):
        file, row, name = located(episodes, i)
        problems.append(Problem(file, row, "CHILD", "903-header",
                                f"child {name}: has episodes but no header record"))
    born = born_on[latest][np.where(known, position, 0)] if latest.any() else np.full(
        len(position), _NAT)
    before_birth = (episodes["DECOM"] < born) & known
    for i in np.flatnonzero(before_birth):
        file, row, name = located(episodes, i)
        problems.append(Problem(file, row, "DECOM", "302",
                                f"child {name}: episode starts "
                                f"({_day_text(episodes['DECOM'][i])}) before the child was born"))
    return problems, latest, position


def _combine_years(episodes: Columns) -> tuple[Columns, npt.NDArray[np.intp]]:
    """One row per episode across returns: the latest return's version of each (CHILD, DECOM),
    and which rows of `episodes` those are.

    An episode left open in an earlier return that a later return no longer holds is closed the
    day the child's next episode starts (as a continuation), so histories never overlap.
    """
    child = episodes["code"]
    order = _order(child, episodes["DECOM"], episodes["collection_year"])
    codes = child[order]
    starts = episodes["DECOM"][order]
    repeated = np.r_[(codes[1:] == codes[:-1]) & (starts[1:] == starts[:-1]), False]
    kept = order[~repeated]
    latest = {c: episodes[c][kept] for c in ("code", "DECOM", "DEC", *EPISODE_CODES,
                                             "collection_year")}
    kept_codes = codes[~repeated]
    has_next = np.r_[kept_codes[1:] == kept_codes[:-1], False]
    next_start = np.where(has_next, np.concatenate([latest["DECOM"][1:], [_NAT]]), _NAT)
    ends = latest["DEC"]
    stale = ~np.isnat(next_start) & (np.isnat(ends) | (ends > next_start))
    if bool(stale.any()):
        ends[stale] = next_start[stale]
        latest["REC"][stale] = categories("REC").tolist().index(CONTINUATION_REC)
    return latest, kept
