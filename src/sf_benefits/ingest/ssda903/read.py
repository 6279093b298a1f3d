"""Read SSDA903 header and episodes files (CSV or XLSX, one or several collection years) and check
them against the structural DfE rules, so bad input is refused record by record before anything is
stored. Rule codes are the DfE's where one exists (e.g. 146: placement code not valid).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import union_categoricals

from sf_benefits.ingest.errors import IngestError, Problem
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
    import pyarrow as pa

HEADER = "header"
EPISODES = "episodes"
UASC = "uasc"
RETURN_SUFFIXES = (".csv", ".xlsx", ".xlsm")
UASC_REQUIRED: tuple[str, ...] = ("CHILD", "DUC")
FIRST_DATA_LINE = 2
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


@dataclass
class ReturnTable:
    """One file of a return as text: which table it is, its collection year, its rows.

    A CSV read for checking keeps CHILD out of `frame`, as Arrow text in `child_text`, until
    `_child_codes` numbers the identifiers of every file at once and puts them back."""

    path: Path
    table: str
    year: int | None
    frame: pd.DataFrame
    child_text: pa.ChunkedArray | None = None
    _distinct: dict[str, tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The file as named in problems."""
        return str(self.path)

    def distinct(self, column: str) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
        """Codes and distinct values of a column (as `_factorized`), worked out once per column."""
        if column not in self._distinct:
            self._distinct[column] = _factorized(self.frame[column])
        return self._distinct[column]

    def forget(self) -> None:
        """Drop the distinct values worked out so far (they are only needed while checking)."""
        self._distinct.clear()

    def replace(self, column: str, values: pd.Series) -> None:
        """Change the values of a column (and forget its distinct values)."""
        self.frame[column] = values
        self._distinct.pop(column, None)


@dataclass
class CheckedReturns:
    """Header and episodes of every file, typed and de-duplicated across collection years.

    `children`: CHILD, SEX, DOB, ETHNIC (one row per child, the latest return's values).
    `episodes`: CHILD, DECOM, DEC (NaT while open), RNE, LS, CIN, PLACE, PLACE_PROVIDER, REC,
    REASON_PLACE_CHANGE, collection_year. CHILD is still the LA's own identifier here.
    `episode_child`: for each episode, the row of its child in `children` (when known), so the
    identifiers need not be matched again downstream.
    """

    children: pd.DataFrame
    episodes: pd.DataFrame
    collection_years: tuple[int, ...]
    files: tuple[Path, ...]
    data_end: pd.Timestamp
    episode_child: npt.NDArray[np.intp] | None = field(default=None, repr=False, compare=False)


def _clean_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """Spreadsheet cells as text: dates as dd/mm/yyyy, blanks as empty strings."""
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


def _read_frame(path: Path, all_columns: bool, categorical: bool = False
                ) -> tuple[pd.DataFrame, pa.ChunkedArray | None]:
    """The file as text; with `categorical`, CSV columns are categoricals of that text, which the
    Arrow CSV reader builds without making a string for every cell, and CHILD is returned apart
    as Arrow text (see ReturnTable). One reading thread: more hold more memory, and on a machine
    shared with other work they save no time."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        frame = pd.read_excel(path, dtype=object, engine="openpyxl")
        frame.columns = [str(c).strip().upper() for c in frame.columns]
        return _clean_spreadsheet(frame), None
    if suffix == ".csv":
        return _read_csv(path, all_columns, categorical)
    raise IngestError([Problem(str(path), None, None, "903-format",
                               "only .csv and .xlsx SSDA903 files can be read")])


def _read_csv(path: Path, all_columns: bool, categorical: bool
              ) -> tuple[pd.DataFrame, pa.ChunkedArray | None]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        names = next(csv.reader(handle), [])
    if len(set(names)) < len(names):
        raise ValueError(f"repeated column names in {names}")
    kept = [n for n in names if all_columns or _wanted(n)]
    text = pa.dictionary(pa.int32(), pa.string()) if categorical else pa.string()
    child = next((n for n in names if categorical and n.strip().upper() == "CHILD"), None)
    try:
        table = pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(encoding="utf8", use_threads=False),
            memory_pool=pa.system_memory_pool(),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() if n == child else text for n in names},
                include_columns=kept, strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except pa.ArrowInvalid as error:
        raise ValueError(str(error)) from error
    child_text = None
    if child is not None:
        child_text = table.column(child)
        table = table.drop_columns([child])
    if not categorical:
        frame = table.to_pandas()
    else:
        columns: dict[str, pd.Categorical] = {}
        for name, column in zip(table.column_names, table.unify_dictionaries().columns,
                                strict=True):
            joined = column.combine_chunks() if column.num_chunks else pa.array([], type=text)
            columns[name] = _categorical(
                joined.indices.to_numpy(zero_copy_only=False),
                pd.CategoricalDtype(pd.Index(joined.dictionary.to_numpy(zero_copy_only=False),
                                             dtype=object)))
        frame = pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows), copy=False)
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    return frame, child_text


def _factorized(values: pd.Series | npt.NDArray[np.object_]
                ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """Codes and distinct values of a text column (blanks and NaN kept as values of their own),
    so checks run once per distinct value: returns repeat few dates and codes."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        numbers = values.cat.codes.to_numpy().astype(np.intp)
        names = values.cat.categories.to_numpy(dtype=object)
        if len(numbers) and numbers.min() < 0:
            numbers[numbers < 0] = len(names)
            names = np.append(names, np.nan)
        return numbers, names
    text = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    codes, uniques = pd.factorize(text)
    if len(codes) and codes.min() < 0:
        codes, uniques = pd.factorize(text, use_na_sentinel=False)
    return codes, np.asarray(uniques, dtype=object)


def _parse_date_values(values: npt.NDArray[np.object_]) -> npt.NDArray[np.datetime64]:
    """dd/mm/yyyy text to dates (NaT where blank, not a real date, or outside the years pandas
    can hold, 1677-2262): pandas' own parser, run on distinct values only."""
    text = pd.Series(values, dtype=object).astype(str).str.strip()
    return pd.to_datetime(text, format=DATE_FORMAT, errors="coerce").to_numpy(
        dtype="datetime64[ns]")


EPISODE_CODES: dict[str, frozenset[str]] = {
    "RNE": RNE_CODES, "LS": LS_CODES, "CIN": CIN_CODES, "PLACE": PLACE_CODES,
    "PLACE_PROVIDER": PLACE_PROVIDER_CODES, "REC": REC_CODES,
}


def _as_codes(table: ReturnTable, column: str, codes: frozenset[str]) -> pd.Categorical:
    """Codes as a categorical over the full DfE list (and blank), the same for every file, so
    combining years and reordering rows stays cheap; invalid codes were reported already. A
    column the file lacks is blank."""
    categories = pd.Index(sorted(codes | {""}), dtype=object)
    if column in table.frame.columns:
        positions, uniques = table.distinct(column)
    else:
        positions, uniques = np.zeros(len(table.frame), dtype=np.intp), np.asarray([""], object)
    found = categories.get_indexer(pd.Index(uniques, dtype=object))
    return _categorical(found[positions], pd.CategoricalDtype(categories))


def _categorical(codes: npt.NDArray[np.integer], dtype: pd.CategoricalDtype) -> pd.Categorical:
    """A categorical from its codes (-1 for missing) without looking at the values again."""
    return pd.Categorical.from_codes(codes, dtype=dtype)  # type: ignore[arg-type]


def _normalised_codes(values: pd.Series, valid: frozenset[str]) -> pd.Series:
    """Codes with stray spaces and lower case fixed; only cells not already valid are touched."""
    values = values.astype(object)
    fine = values.isin(valid) | (values == "")
    if bool(fine.all()):
        return values
    fixed = values.copy()
    fixed[~fine] = values[~fine].str.strip().str.upper()
    return fixed


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


def read_tables(paths: Sequence[Path], all_columns: bool = False, categorical: bool = False
                ) -> tuple[list[ReturnTable], list[Problem]]:
    """Read each file and tell header from episodes by its columns; problems for unusable files.

    Direct identifiers (postcodes, URN, UPN, mother's details) are not even read unless
    `all_columns` (for the DfE validator, whose location rules need them). `categorical` reads
    CSV columns other than CHILD as categoricals (same text, far fewer strings to make)."""
    tables: list[ReturnTable] = []
    problems: list[Problem] = []
    for given in paths:
        path = Path(given)
        if not path.is_file():
            problems.append(Problem(str(path), None, None, "903-file", "file not found"))
            continue
        try:
            frame, child_text = _read_frame(path, all_columns, categorical)
        except IngestError as error:
            problems.extend(error.problems)
            continue
        except (ValueError, OSError, UnicodeDecodeError) as error:
            problems.append(Problem(str(path), None, None, "903-format",
                                    f"cannot be read as CSV or XLSX: {error}"))
            continue
        columns = set(frame.columns) | ({"CHILD"} if child_text is not None else set())
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
        tables.append(ReturnTable(path, table, _year_of(path), frame, child_text))
    episode_years = [t.year for t in tables if t.table == EPISODES]
    if len(set(episode_years)) < len(episode_years) or None in episode_years:
        for found in tables:
            if found.table == EPISODES:
                found.year = _infer_year(found.frame)
    return tables, problems


def _infer_year(frame: pd.DataFrame) -> int | None:
    """Collection year (ending 31 March) from the latest start or end date in an episodes table."""
    dates = pd.concat([pd.to_datetime(frame[c].astype(object), format=DATE_FORMAT, errors="coerce")
                       for c in ("DECOM", "DEC")])
    latest = dates.max()
    if pd.isna(latest):
        return None
    return int(latest.year + (1 if latest.month > 3 else 0))


def _row(index: int | np.integer) -> int:
    return int(index) + FIRST_DATA_LINE


def _children(table: ReturnTable, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.object_]:
    """The CHILD identifiers of some rows of a table, for problems."""
    return np.asarray(table.frame["CHILD"].take(rows).to_numpy(dtype=object))


def _code_problems(table: ReturnTable, column: str, codes: frozenset[str], rule: str,
                   label: str, blank_ok: bool) -> list[Problem]:
    allowed = codes | {""} if blank_ok else codes
    _, uniques = table.distinct(column)
    if bool(pd.Series(uniques, dtype=object).isin(allowed).all()):
        return []
    values = _normalised_codes(table.frame[column], codes)
    table.replace(column, values)
    bad = np.flatnonzero(~values.isin(allowed).to_numpy())
    return [Problem(table.name, _row(i), column, rule,
                    f"child {child}: {label} {value!r} is not a valid code")
            for i, child, value in zip(bad, _children(table, bad),
                                       table.frame[column].to_numpy()[bad], strict=True)]


def _date_problems(table: ReturnTable, column: str, rule: str, label: str,
                   blank_ok: bool) -> tuple[pd.Series, list[Problem]]:
    text = table.frame[column]
    positions, uniques = table.distinct(column)
    distinct = pd.Series(uniques, dtype=object)
    parsed = pd.Series(_parse_date_values(uniques))
    bad = np.flatnonzero((parsed.isna() & ~((distinct == "") & blank_ok)).to_numpy()[positions])
    problems = [Problem(table.name, _row(i), column, rule,
                        f"child {child}: {label} {value!r} is not a valid dd/mm/yyyy date")
                for i, child, value in zip(bad, _children(table, bad),
                                           text.iloc[bad].to_numpy(), strict=True)]
    return pd.Series(parsed.to_numpy(dtype="datetime64[ns]")[positions], index=text.index), problems


def _child_codes(tables: Sequence[ReturnTable]) -> tuple[list[npt.NDArray[np.intp]], int]:
    """Strip CHILD in every table and number the identifiers once for all tables (the same
    child has the same number in every file), so later checks compare integers, not text; also
    the number of the blank identifier (-1 when there is none). CHILD becomes a categorical over
    the identifiers of all files; Arrow hashes the text, and only distinct values are stripped."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not tables:
        return [], -1
    texts = [t.child_text if t.child_text is not None
             else pa.chunked_array([pa.array(t.frame["CHILD"].astype(str).to_numpy(dtype=object),
                                             type=pa.string())])
             for t in tables]
    encoded = pc.dictionary_encode(pa.chunked_array(
        [chunk for text in texts for chunk in text.chunks], type=pa.string())).combine_chunks()
    numbered = encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp)
    names = encoded.dictionary
    stripped = pc.utf8_trim_whitespace(names)
    distinct = stripped.to_numpy(zero_copy_only=False)
    if not stripped.equals(names):
        renumbered, distinct = _factorized(distinct)
        numbered = renumbered[numbered]
    identifiers = pd.CategoricalDtype(pd.Index(distinct, dtype=object))
    bounds = np.cumsum([len(t.frame) for t in tables])[:-1]
    parts = np.split(numbered, bounds)
    for table, part in zip(tables, parts, strict=True):
        table.frame["CHILD"] = _categorical(part, identifiers)
        table.child_text = None
    blank = np.flatnonzero(distinct == "")
    return parts, int(blank[0]) if blank.size else -1


Columns = dict[str, npt.NDArray[np.generic] | pd.Categorical]
"""Typed columns of one file, stacked with the other files' into one frame by `_stack`."""


def _repeated(name: str, times: int) -> pd.Categorical:
    """The same text `times` times, as a categorical (no object per cell)."""
    return _categorical(np.zeros(times, dtype=np.int8), pd.CategoricalDtype([name]))


def _check_header(table: ReturnTable, codes: npt.NDArray[np.intp], blank_code: int
                  ) -> tuple[Columns, list[Problem]]:
    frame = table.frame
    problems: list[Problem] = []
    blank = codes == blank_code
    problems += [Problem(table.name, _row(i), "CHILD", "903-child", "child identifier is blank")
                 for i in np.flatnonzero(blank)]
    duplicated = np.flatnonzero(pd.Series(codes).duplicated(keep="first").to_numpy() & ~blank)
    problems += [Problem(table.name, _row(i), "CHILD", "903-header-duplicate",
                         f"child {c}: appears more than once in the header")
                 for i, c in zip(duplicated, _children(table, duplicated), strict=True)]
    problems += _code_problems(table, "SEX", SEX_CODES, "101", "sex", blank_ok=False)
    problems += _code_problems(table, "ETHNIC", ETHNIC_CODES, "103", "ethnicity", blank_ok=False)
    dob, date_problems = _date_problems(table, "DOB", "102", "date of birth", blank_ok=False)
    problems += date_problems + _impossible_births(table, dob.to_numpy(dtype="datetime64[ns]"))
    typed: Columns = {
        "CHILD": frame["CHILD"].array, "SEX": _as_codes(table, "SEX", SEX_CODES),
        "DOB": dob.to_numpy(dtype="datetime64[ns]"),
        "ETHNIC": _as_codes(table, "ETHNIC", ETHNIC_CODES),
        "row": np.arange(FIRST_DATA_LINE, len(frame) + FIRST_DATA_LINE, dtype=np.int32),
        "file": _repeated(table.name, len(frame)),
        "year": np.full(len(frame), table.year or 0, dtype=np.int16), "code": codes}
    table.forget()
    return typed, problems


def _impossible_births(table: ReturnTable, born: npt.NDArray[np.datetime64]) -> list[Problem]:
    """DfE rules 301 (date of birth after the collection year ended) and 351 (child over 25 at
    the start of the collection year): a date can be real and still impossible for a child."""
    if table.year is None:
        return []
    year_end = pd.Timestamp(year=table.year, month=3, day=31)
    oldest = pd.Timestamp(year=table.year - 1 - 25, month=4, day=1)
    text = table.frame["DOB"]
    problems = []
    for rule, wrong, why in (
            ("301", born > np.datetime64(year_end, "ns"),
             f"falls after the collection year ended ({year_end:%d/%m/%Y})"),
            ("351", born < np.datetime64(oldest, "ns"),
             "makes the child over 25 at the start of the collection year")):
        rows = np.flatnonzero(wrong)
        problems += [Problem(table.name, _row(i), "DOB", rule,
                             f"child {child}: date of birth {born_on} {why}")
                     for i, child, born_on in zip(rows, _children(table, rows),
                                                  text.iloc[rows].to_numpy(), strict=True)]
    return problems


def _check_episodes(table: ReturnTable, codes: npt.NDArray[np.intp], blank_code: int
                    ) -> tuple[Columns, list[Problem]]:
    frame = table.frame
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
    if "REASON_PLACE_CHANGE" in frame.columns:
        problems += _code_problems(table, "REASON_PLACE_CHANGE", REASON_PLACE_CHANGE_CODES,
                                   "1009", "reason for placement change", blank_ok=True)
    decom, p1 = _date_problems(table, "DECOM", "141", "date episode began", blank_ok=False)
    dec, p2 = _date_problems(table, "DEC", "147", "date episode ceased", blank_ok=True)
    problems += p1 + p2
    one_blank = np.flatnonzero(_blank(table, "DEC") != _blank(table, "REC"))
    problems += [Problem(table.name, _row(i), "REC", "148",
                         f"child {child}: date episode ceased and reason episode ceased must "
                         "both be coded, or both left blank")
                 for i, child in zip(one_blank, _children(table, one_blank), strict=True)]
    starts = decom.to_numpy(dtype="datetime64[ns]")
    ends = dec.to_numpy(dtype="datetime64[ns]")
    backwards = np.flatnonzero(ends < starts)
    problems += [Problem(table.name, _row(i), "DEC", "356",
                         f"child {child}: the episode ends ({frame['DEC'].iat[int(i)]}) "
                         f"before it starts ({frame['DECOM'].iat[int(i)]})")
                 for i, child in zip(backwards, _children(table, backwards), strict=True)]
    if table.year is not None:
        year_end = pd.Timestamp(year=table.year, month=3, day=31)
        last_day = np.datetime64(year_end, "ns")
        late = np.flatnonzero((ends > last_day) | (starts > last_day))
        problems += [Problem(table.name, _row(i), "DEC", "354",
                             f"child {child}: episode dates must be on or before the end of "
                             f"the collection year ({year_end:%d/%m/%Y})")
                     for i, child in zip(late, _children(table, late), strict=True)]
    rows = np.arange(FIRST_DATA_LINE, len(frame) + FIRST_DATA_LINE, dtype=np.int32)
    typed: Columns = {
        "CHILD": frame["CHILD"].array, "DECOM": starts, "DEC": ends,
        **{c: _as_codes(table, c, codes) for c, codes in EPISODE_CODES.items()},
        "REASON_PLACE_CHANGE": _as_codes(table, "REASON_PLACE_CHANGE", REASON_PLACE_CHANGE_CODES),
        "row": rows,
        "file": _repeated(table.name, len(frame)),
        "collection_year": np.full(len(frame), table.year or 0, dtype=np.int16),
        "code": codes,
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
    previous_end = np.r_[np.array(["NaT"], dtype="datetime64[ns]"), ends[order][:-1]]
    overlap = same_child & (np.isnat(previous_end) | (starts[order] < previous_end))
    hits = order[overlap]
    return [Problem(table.name, _row(r), "DECOM", "501",
                    f"child {c}: a new episode starts ({pd.Timestamp(d):%d/%m/%Y}) before the "
                    "previous episode ended")
            for r, c, d in zip(rows[hits], _children(table, rows[hits]), starts[hits],
                               strict=True)]


def check_returns(paths: Sequence[Path | str]) -> CheckedReturns:
    """Read and check every file; raise IngestError with every problem, or return typed tables."""
    tables, problems = read_tables([Path(p) for p in paths], categorical=True)
    tables = [t for t in tables if t.table != UASC]
    if not any(t.table == EPISODES for t in tables) and not problems:
        problems.append(Problem(", ".join(str(p) for p in paths), None, None, "903-files",
                                "no SSDA903 episodes table among the files"))
    if not any(t.table == HEADER for t in tables) and not problems:
        problems.append(Problem(", ".join(str(p) for p in paths), None, None, "903-files",
                                "no SSDA903 header table among the files"))
    numbered, blank_code = _child_codes(tables)
    headers: list[Columns] = []
    episode_frames: list[Columns] = []
    for table, codes in zip(tables, numbered, strict=True):
        if table.table == HEADER:
            typed, found = _check_header(table, codes, blank_code)
            headers.append(typed)
        else:
            typed, found = _check_episodes(table, codes, blank_code)
            episode_frames.append(typed)
        problems += found
    files = tuple(t.path for t in tables)
    del tables, numbered  # the text of every file: only the typed columns are needed now
    if headers and episode_frames:
        children = _stack(headers)
        episodes = _stack(episode_frames)
        named_children = (children["code"] != blank_code).to_numpy()
        named_episodes = (episodes["code"] != blank_code).to_numpy()
        named = children if named_children.all() else children[named_children]
        child_order = _order(named["code"], named["year"])
        found, latest, position = _cross_checks(
            named, episodes if named_episodes.all() else episodes[named_episodes], child_order)
        problems += found
    if problems:
        raise IngestError(problems)
    chosen = child_order[latest]
    children = pd.DataFrame({c: children[c].array.take(chosen)
                             for c in ("CHILD", "SEX", "DOB", "ETHNIC")}, copy=False)
    episodes, kept = _combine_years(episodes)
    years = tuple(sorted(int(y) for y in np.unique(episodes["collection_year"].to_numpy()) if y))
    data_end = (pd.Timestamp(year=max(years), month=3, day=31) if years
                else pd.Timestamp(episodes[["DECOM", "DEC"]].max().max()))
    return CheckedReturns(children, episodes, years, files, data_end, position[kept])


def _stack(parts: Sequence[Columns]) -> pd.DataFrame:
    """One frame of the typed columns of several files, in file order (emptying `parts` column
    by column, so the data are not held twice)."""
    stacked: dict[str, npt.NDArray[np.generic] | pd.Categorical] = {}
    for column, first in list(parts[0].items()):
        values = [p.pop(column) for p in parts]
        categoricals = [v for v in values if isinstance(v, pd.Categorical)]
        if len(categoricals) < len(values):
            stacked[column] = np.concatenate([np.asarray(v) for v in values])
        elif all(v.dtype is first.dtype or v.dtype == first.dtype for v in categoricals):
            stacked[column] = _categorical(np.concatenate([v.codes for v in categoricals]),
                                           categoricals[0].dtype)
        else:
            stacked[column] = union_categoricals(categoricals)
    return pd.DataFrame(stacked, copy=False)


def _order(child: pd.Series | npt.NDArray[np.intp], *then: pd.Series | npt.NDArray[np.generic]
           ) -> npt.NDArray[np.intp]:
    """Row order by child (grouped, in order of first appearance), then by the other keys; ties
    keep their order. The keys are packed into one integer when they fit (dates as days), which
    sorts several times faster than a lexsort on separate keys."""
    codes = _first_appearance(np.asarray(child))
    keys = [_date_key(k) if pd.api.types.is_datetime64_any_dtype(k)
            else np.asarray(k, dtype=np.int64) for k in then]
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


def _first_appearance(values: npt.NDArray[np.generic]) -> npt.NDArray[np.intp]:
    """Numbers of the values in order of first appearance, as `pd.factorize`; child numbers
    usually are already (0, then never more than one above the largest so far), and are then
    returned as they are, without hashing."""
    if values.dtype.kind in "iu" and len(values) and values[0] == 0:
        largest = np.maximum.accumulate(values)
        if bool((values[1:] <= largest[:-1] + 1).all()):
            return values.astype(np.intp, copy=False)
    return pd.factorize(values)[0]


def _date_key(values: pd.Series | npt.NDArray[np.generic]) -> npt.NDArray[np.int64]:
    """Dates as sortable integers (NaT first): days when every date is midnight, else ns."""
    stamps = np.asarray(pd.Series(values).to_numpy(dtype="datetime64[ns]",
                                                   na_value=np.datetime64("NaT")).astype(np.int64))
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


def _cross_checks(children: pd.DataFrame, episodes: pd.DataFrame, order: npt.NDArray[np.intp]
                  ) -> tuple[list[Problem], npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """Rules across files (203, 302, and a header record for every child with episodes), on
    children in `order` (by child, then year); also which of those rows is each child's latest
    and, for each episode, its child's row among the latest."""
    problems: list[Problem] = []
    child = children["code"].to_numpy()[order]
    born_on = children["DOB"].to_numpy(dtype="datetime64[ns]")[order]
    same = child[1:] == child[:-1]
    differs = same & (born_on[1:] != born_on[:-1]) & ~np.isnat(born_on[1:]) & ~np.isnat(
        born_on[:-1])
    for i in order[np.flatnonzero(differs) + 1]:
        row = children.iloc[int(i)]
        problems.append(Problem(str(row["file"]), int(row["row"]), "DOB", "203",
                                f"child {row['CHILD']}: date of birth disagrees with the date "
                                "of birth already recorded for this child"))
    latest = _last_of_each(child)
    lookup = np.full(int(max(child.max(initial=-1), episodes["code"].max()) + 1) if len(episodes)
                     else int(child.max(initial=-1) + 1), -1, dtype=np.intp)
    lookup[child[latest]] = np.arange(int(latest.sum()))
    episode_codes = episodes["code"].to_numpy()
    position = lookup[episode_codes] if len(episodes) else np.zeros(0, dtype=np.intp)
    known = position >= 0
    for i in np.flatnonzero(~known):
        episode = episodes.iloc[int(i)]
        problems.append(Problem(str(episode["file"]), int(episode["row"]), "CHILD", "903-header",
                                f"child {episode['CHILD']}: has episodes but no header record"))
    born = born_on[latest][np.where(known, position, 0)] if latest.any() else np.full(
        len(position), np.datetime64("NaT"), dtype="datetime64[ns]")
    before_birth = (episodes["DECOM"].to_numpy(dtype="datetime64[ns]") < born) & known
    for i in np.flatnonzero(before_birth):
        episode = episodes.iloc[int(i)]
        problems.append(Problem(str(episode["file"]), int(episode["row"]), "DECOM", "302",
                                f"child {episode['CHILD']}: episode starts "
                                f"({episode['DECOM']:%d/%m/%Y}) before the child was born"))
    return problems, latest, position


def _combine_years(episodes: pd.DataFrame) -> tuple[pd.DataFrame, npt.NDArray[np.intp]]:
    """One row per episode across returns: the latest return's version of each (CHILD, DECOM),
    and which rows of `episodes` those are.

    An episode left open in an earlier return that a later return no longer holds is closed the
    day the child's next episode starts (as a continuation), so histories never overlap.
    """
    child = episodes["code"].to_numpy()
    order = _order(child, episodes["DECOM"], episodes["collection_year"])
    codes = child[order]
    starts = episodes["DECOM"].to_numpy(dtype="datetime64[ns]")[order]
    repeated = np.r_[(codes[1:] == codes[:-1]) & (starts[1:] == starts[:-1]), False]
    columns = ["CHILD", "DECOM", "DEC", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC",
               "REASON_PLACE_CHANGE", "collection_year"]
    kept = order[~repeated]
    latest = pd.DataFrame({c: episodes[c].array.take(kept) for c in columns}, copy=False)
    kept_codes = codes[~repeated]
    has_next = np.r_[kept_codes[1:] == kept_codes[:-1], False]
    next_start = latest["DECOM"].shift(-1).where(has_next)
    stale = next_start.notna() & (latest["DEC"].isna() | (latest["DEC"] > next_start))
    if bool(stale.any()):
        latest.loc[stale, "DEC"] = next_start[stale]
        latest.loc[stale, "REC"] = CONTINUATION_REC
    return latest, kept
