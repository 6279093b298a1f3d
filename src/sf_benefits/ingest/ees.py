"""Read DfE explore-education-statistics tidy CSVs into long observations, validating every cell."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from sf_benefits.ingest.errors import IngestError, Problem
from sf_benefits.store.tidy import row_groups

SUPPRESSION_MARKERS = frozenset({"c", "x", "z", "low", "u", ".", ":", "..", "k", "~", ""})
"""Values meaning suppressed, not applicable or not available: stored as missing, never as 0."""

TIME_COLUMNS = ("time_period", "time_identifier")
GEOGRAPHY_COLUMNS = (
    "geographic_level", "country_code", "country_name", "region_code", "region_name",
    "new_la_code", "old_la_code", "la_name", "old_la_name", "new_la_name",
)
LEVEL_AREA_COLUMN = {"National": "country_code", "Regional": "region_code",
                     "Local authority": "new_la_code"}
KNOWN_INDICATORS = frozenset({"number", "percentage", "percent", "rate_per_10000", "rate"})
GSS_LA = re.compile(r"^E(06|08|09|10)\d{6}$")
JOINT_SEPARATOR = re.compile(r"\s*/\s*")
JOINT_STATUS = "joint"
"""Status of a value an LA shares with others through a joint return (e.g. Kingston upon Thames
and Richmond upon Thames in the workforce census, coded "E09000021 / E09000027")."""
NUMBER = re.compile(r"^-?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?([eE][-+]?\d+)?$")
"""A number as publishers write it, thousands separators allowed ("1,234,567")."""
UNIT_SCALE = {"£m": 1_000_000, "£ million": 1_000_000, "£000s": 1_000, "£000": 1_000,
              "£k": 1_000, "£ thousand": 1_000}
"""Money an EES `.meta.csv` declares in millions or thousands is stored in pounds."""


def coded(codes: np.ndarray, labels: Sequence[object] | pd.Index) -> pd.Categorical:
    """Labels given as positions into their distinct values (-1 for missing): a fraction of the
    memory of a label per row."""
    return pd.Categorical.from_codes(codes, labels)  # type: ignore[arg-type]


def per_value(series: pd.Series, transform: Callable[[pd.Series], pd.Series],
              categorical: bool = False) -> pd.Series:
    """`transform` applied once to each distinct value and mapped back to every row: published
    tables repeat a few labels, codes and markers hundreds of thousands of times. `categorical`
    keeps the result as codes into its distinct values (a fraction of the memory)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    done = transform(pd.Series(np.asarray(uniques, dtype=object)))
    if categorical:
        labels, distinct = pd.factorize(done)
        return pd.Series(coded(labels[codes], distinct), index=series.index,
                         name=series.name)
    return pd.Series(done.to_numpy()[codes], index=series.index, name=series.name)


def observation_frame(dataset: str, columns: dict[str, object]) -> pd.DataFrame:
    """Tidy long observations of `dataset` from its columns, which the frame takes without
    copying them (the callers make them for it); a single value fills its column. (Scalars are
    filled in after the frame is built: building them in costs a transient copy of every column.)"""
    arrays = {name: values for name, values in columns.items() if not isinstance(values, str)}
    frame = pd.DataFrame(arrays, copy=False)
    for position, (name, value) in enumerate({"dataset": dataset, **columns}.items()):
        if isinstance(value, str):
            frame.insert(position, name, value)
    return frame


@dataclass(frozen=True)
class ParsedValues:
    """Published cells read as numbers: the value (NaN where suppressed), the suppression marker
    as status, and which cells are neither a number nor a marker."""

    value: pd.Series
    status: pd.Series
    invalid: pd.Series


def parse_labels(labels: np.ndarray | pd.Index, markers: frozenset[str] = SUPPRESSION_MARKERS
                 ) -> ParsedValues:
    """Each distinct cell read once: its number (thousands separators allowed), its suppression
    marker, which stays missing with the marker as its status, never zero, and whether it is
    neither (indexed like `labels`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(pd.Series(labels, dtype=object).astype(str).to_numpy(), type=pa.string())
    lower = pc.utf8_lower(text)
    suppressed = pc.is_in(lower, value_set=pa.array(sorted(markers))).to_numpy(
        zero_copy_only=False)
    numeric = pc.match_substring_regex(text, NUMBER.pattern).to_numpy(zero_copy_only=False)
    value = pc.cast(pc.replace_substring(pc.if_else(numeric, text, None), ",", ""),
                    pa.float64()).to_numpy(zero_copy_only=False)
    status = np.asarray(lower.to_numpy(zero_copy_only=False), dtype=object)
    status[status == ""] = "blank"
    status[~suppressed] = None
    return ParsedValues(pd.Series(value), pd.Series(status, dtype=object),
                        pd.Series(~suppressed & ~numeric))


@dataclass(frozen=True)
class EesTable:
    """One EES file as tidy long observations plus the LAs it names."""

    dataset: str
    source_file: str
    observations: pd.DataFrame
    local_authorities: pd.DataFrame


def read_text(path: Path) -> str:
    """Read a file as UTF-8 (BOM allowed), or fail naming the first line that is not UTF-8."""
    return _utf8(path).decode("utf-8")


def _utf8(path: Path) -> bytes:
    """A file's bytes, without any BOM, once checked to be UTF-8 (else fail naming the line)."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IngestError([Problem(str(path), line, None, "encoding",
                                   f"not UTF-8 (byte 0x{raw[exc.start]:02x} at line {line}); "
                                   "save the file as UTF-8 CSV")]) from exc
    return raw.removeprefix(codecs.BOM_UTF8)


class CodedColumn(NamedTuple):
    """A column as each row's position among its distinct cells (stripped strings): published
    tables repeat a few labels, codes and markers thousands of times, so work on cells is done
    once per distinct cell."""

    codes: np.ndarray
    labels: np.ndarray

    def strings(self) -> np.ndarray:
        """Every row's cell."""
        return self.labels[self.codes]

    def take(self, rows: np.ndarray) -> CodedColumn:
        """The column cut to (or repeating) the rows at positions `rows`."""
        return CodedColumn(self.codes[rows], self.labels)

    def where(self, labels: Callable[[np.ndarray], np.ndarray | list[bool]]) -> np.ndarray:
        """`labels`, a test of every distinct cell, for every row."""
        return np.asarray(labels(self.labels), dtype=bool)[self.codes]

    def equals(self, label: str) -> np.ndarray:
        """Which rows hold `label`."""
        return self.where(lambda u: u == label)


def distinct(codes: np.ndarray, labels: Sequence[object] | np.ndarray) -> CodedColumn:
    """Codes into labels that may repeat, as codes into distinct labels."""
    position, uniques = pd.factorize(np.asarray(labels, dtype=object))
    if len(uniques) == len(position):
        return CodedColumn(codes, np.asarray(uniques, dtype=object))
    return CodedColumn(position[codes], np.asarray(uniques, dtype=object))


def read_csv_coded(path: Path, wanted: Callable[[str], bool] | None = None
                   ) -> dict[str, CodedColumn]:
    """A CSV's columns (`wanted` of them, by their name as written), every cell a string without
    surrounding spaces, read by Arrow's parser, which hands each column over dictionary-encoded;
    a file Arrow refuses (rows short of cells, a column read whose name repeats) is read by
    pandas. A file with a header but no rows is refused."""
    raw = _utf8(path)
    if not raw or raw.isspace():
        raise IngestError([Problem(str(path), None, None, "empty_file", "the file is empty")])
    names = next(csv.reader(io.StringIO(raw[:raw.find(b"\n") + 1 or None].decode("utf-8"))), [])
    chosen = [name for name in names if wanted is None or wanted(name)]
    read = (_arrow_columns(raw, chosen) if all(names.count(name) == 1 for name in chosen)
            else None)
    if read is None:
        read = _pandas_columns(path, raw, wanted)
    if read and not len(next(iter(read.values())).codes):
        raise IngestError([Problem(str(path), None, None, "empty_file",
                                   "the file has a header but no data rows")])
    return read


def _arrow_columns(raw: bytes, names: list[str]) -> dict[str, CodedColumn] | None:
    """The named columns as Arrow parses them, or None where Arrow refuses the file. (Parsing on
    Arrow's own threads, its default, costs no more CPU here than on one, and holds 20 MB less
    at the load's peak.)"""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    text = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(raw), parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, text), include_columns=names,
                strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowKeyError):
        return None
    if table.column_names != names or any(t != text for t in table.schema.types):
        return None
    table = table.unify_dictionaries().combine_chunks()
    columns = {}
    for name, column in zip(names, table.columns, strict=True):
        cells = column.chunk(0) if column.num_chunks else pa.array([], text)
        columns[name] = _stripped(cells.indices.to_numpy(),
                                  cells.dictionary.to_numpy(zero_copy_only=False))
    return columns


def _pandas_columns(path: Path, raw: bytes, wanted: Callable[[str], bool] | None
                    ) -> dict[str, CodedColumn]:
    """The file as pandas' parser reads it: cells missing from a short row are blank."""
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype="category", keep_default_na=False,
                            usecols=wanted)
    except (pd.errors.ParserError, ValueError) as exc:
        raise IngestError([Problem(str(path), None, None, "csv_shape", str(exc))]) from exc
    columns = {}
    for name, column in frame.items():
        codes = column.cat.codes.to_numpy()
        labels = np.append(np.asarray(column.cat.categories.astype(str), dtype=object), "")
        columns[str(name)] = _stripped(np.where(codes < 0, len(labels) - 1, codes), labels)
    return columns


def _stripped(codes: np.ndarray, labels: np.ndarray) -> CodedColumn:
    """Each distinct cell stripped of surrounding spaces once (cells equal once stripped merge)."""
    return distinct(codes, [str(label).strip() for label in labels])


def read_csv_strings(path: Path) -> pd.DataFrame:
    """Every cell as a stripped string, so no value is coerced before it is validated."""
    columns = read_csv_coded(path)
    frame = pd.DataFrame({i: column.strings() for i, column in enumerate(columns.values())})
    frame.columns = [name.strip().lower() for name in columns]
    return frame


def year_ending(time_period: str) -> int | None:
    """`2023` → 2023; `202223` (financial or academic year) → 2023, the year it ends in."""
    if re.fullmatch(r"\d{4}", time_period):
        return int(time_period)
    if re.fullmatch(r"\d{6}", time_period):
        return int(time_period[:4]) + 1
    return None


def _indicator_columns(path: Path, candidates: list[str], numeric_share: Callable[[str], float]
                       ) -> tuple[list[str], dict[str, int]]:
    """Indicator columns and their scale to pounds: as the EES `.meta.csv` beside the file
    declares them, else the columns named like DfE's common indicators or whose cells are mostly
    numbers or suppression markers."""
    meta = path.with_name(f"{path.stem}.meta.csv")
    if meta.exists():
        declared = read_csv_strings(meta)
        if {"col_name", "col_type"} <= set(declared.columns):
            rows = declared[declared["col_type"].str.lower() == "indicator"]
            names = set(rows["col_name"].str.lower())
            units = (dict(zip(rows["col_name"].str.lower(), rows["indicator_unit"], strict=True))
                     if "indicator_unit" in rows.columns else {})
            scale = {c: UNIT_SCALE[u] for c, u in units.items() if u in UNIT_SCALE}
            return [c for c in candidates if c in names], scale
    chosen = [col for col in candidates if col in KNOWN_INDICATORS or numeric_share(col) >= 0.5]
    return chosen, {}


def split_joint_returns(columns: dict[str, CodedColumn], rows: np.ndarray
                        ) -> tuple[dict[str, CodedColumn], np.ndarray, np.ndarray]:
    """One row per LA for a joint return ("E09000021 / E09000027"): each LA carries the shared
    value, flagged joint so it is stored with status "joint" and shown as shared. Gives the
    columns cut to `rows` (file positions), each row's file position and whether it is joint."""
    joint = np.zeros(len(rows), dtype=bool)
    if "new_la_code" in columns:
        codes = columns["new_la_code"]
        joint = (columns["geographic_level"].equals("Local authority")[rows]
                 & codes.where(lambda u: ["/" in c for c in u])[rows])
    if not joint.any():
        return {name: column.take(rows) for name, column in columns.items()}, rows, joint
    parts = {code: [c for c in JOINT_SEPARATOR.split(codes.labels[code]) if c] or [""]
             for code in np.unique(codes.codes[rows][joint])}
    counts = np.ones(len(rows), dtype=np.int64)
    counts[joint] = [len(parts[code]) for code in codes.codes[rows][joint]]
    positions = np.repeat(rows, counts)
    labels = list(codes.labels)
    la_codes = codes.codes[positions]
    shared = [part for code in codes.codes[rows][joint] for part in parts[code]]
    la_codes[np.repeat(joint, counts)] = np.arange(len(labels), len(labels) + len(shared))
    split = {name: column.take(positions) for name, column in columns.items()}
    split["new_la_code"] = distinct(la_codes, labels + shared)
    return split, positions, np.repeat(joint, counts)


def read_ees(path: Path, known_la_codes: set[str] | None = None,
             codes_by_old_code: dict[str, str] | None = None) -> EesTable:
    """Parse and validate one EES tidy CSV; raise IngestError listing every problem found.
    LA rows of early years that give only the 3-digit code get the GSS code from
    `codes_by_old_code` (the LA lookup)."""
    file = str(path)
    read = {name.strip().lower(): column for name, column in read_csv_coded(path).items()}
    problems: list[Problem] = []
    missing = [c for c in ("time_period", "geographic_level") if c not in read]
    if missing:
        raise IngestError([Problem(file, 1, c, "missing_column",
                                   f"required column '{c}' is missing") for c in missing])
    if (read["geographic_level"].labels == "Local authority").any():
        for col in ("new_la_code", "la_name"):
            if col not in read:
                problems.append(Problem(file, 1, col, "missing_column",
                                        f"LA rows need column '{col}'"))
    if problems:
        raise IngestError(problems)
    kept = np.flatnonzero(read["geographic_level"].where(
        lambda u: pd.Index(u).isin(list(LEVEL_AREA_COLUMN))))
    frame, positions, joint = split_joint_returns(read, kept)
    rows = positions + 2
    others = [c for c in frame if c not in TIME_COLUMNS and c not in GEOGRAPHY_COLUMNS]
    parsed_cells = _parse_columns(frame, others)

    def numeric_share(column: str) -> float:
        invalid = parsed_cells[column].invalid.to_numpy()[frame[column].codes]
        return 1 - invalid.mean() if len(invalid) else 0.0

    indicators, scale = _indicator_columns(path, others, numeric_share)
    filters = sorted(c for c in others if c not in indicators)
    if not indicators:
        raise IngestError([Problem(file, 1, None, "no_indicators",
                                   "no column holds numbers: not an EES data file")])

    period = frame["time_period"]
    year_of = [year_ending(label) for label in period.labels]
    undated = np.array([year is None for year in year_of], dtype=bool)[period.codes]
    problems += [Problem(file, int(row), "time_period", "time_period_format",
                         f"'{text}' is not a year (YYYY) or a span (YYYYYY)")
                 for row, text in zip(rows[undated], period.strings()[undated], strict=True)]
    year = np.array([y or 0 for y in year_of], dtype=np.int64)[period.codes]

    level = frame["geographic_level"]
    at_level = {name: level.equals(name) for name in LEVEL_AREA_COLUMN}
    if codes_by_old_code and {"new_la_code", "old_la_code"} <= set(frame):
        blank = at_level["Local authority"] & frame["new_la_code"].equals("")
        if blank.any():
            la_codes = frame["new_la_code"].strings()
            la_codes[blank] = [codes_by_old_code.get(old, "")
                               for old in frame["old_la_code"].strings()[blank]]
            codes, labels = pd.factorize(la_codes)
            frame["new_la_code"] = CodedColumn(codes, np.asarray(labels, dtype=object))
    area = _areas(frame, at_level)
    no_area = area.equals("")
    levels = level.strings()
    problems += [Problem(file, int(row), LEVEL_AREA_COLUMN[name], "missing_area_code",
                         f"{name} row has no area code")
                 for row, name in zip(rows[no_area], levels[no_area], strict=True)]
    is_la = at_level["Local authority"] & ~no_area
    bad_format = is_la & ~area.where(lambda u: [bool(GSS_LA.match(c)) for c in u])
    problems += [Problem(file, int(row), "new_la_code", "la_code_format",
                         f"'{code}' is not an English upper-tier LA code (E06/E08/E09/E10)")
                 for row, code in zip(rows[bad_format], area.strings()[bad_format], strict=True)]
    if known_la_codes is not None:
        unknown = is_la & ~bad_format & ~area.where(lambda u: [c in known_la_codes for c in u])
        problems += [Problem(file, int(row), "new_la_code", "unknown_la_code",
                             f"'{code}' is not in the LA lookup")
                     for row, code in zip(rows[unknown], area.strings()[unknown], strict=True)]

    breakdown = _breakdowns(frame, filters)
    key, _ = row_groups(pd.DataFrame({"year": year, "level": level.codes, "area": area.codes,
                                      "breakdown": breakdown.codes}),
                        ["year", "level", "area", "breakdown"])
    keep = ~(joint & np.isin(key, key[~joint])) if joint.any() else np.ones(len(key), bool)
    duplicated = np.bincount(key[keep])[key] > 1
    if (duplicated & keep).any():
        repeats = pd.DataFrame({"year": year, "level": levels, "area": area.strings(),
                                "breakdown": breakdown.strings(), "row": rows})[duplicated & keep]
        for repeated in repeats.groupby(["year", "level", "area", "breakdown"])["row"].apply(list):
            problems.append(Problem(file, int(repeated[1]), None, "duplicate_row",
                                    f"rows {', '.join(map(str, repeated))} repeat the same "
                                    "period, area and breakdown"))

    parsed = [parsed_cells[column] for column in indicators]
    for column, values in zip(indicators, parsed, strict=True):
        invalid = keep & values.invalid.to_numpy()[frame[column].codes]
        problems += [Problem(file, int(row), column, "not_a_number",
                             f"'{raw}' is neither a number nor a suppression marker "
                             f"({', '.join(sorted(m for m in SUPPRESSION_MARKERS if m))})")
                     for row, raw in zip(rows[invalid], frame[column].strings()[invalid],
                                         strict=True)]
    if problems:
        raise IngestError(problems)

    kept_rows = np.flatnonzero(keep)
    cells = [frame[column].codes[kept_rows] for column in indicators]
    status = np.concatenate([v.status.to_numpy()[c] for v, c in zip(parsed, cells, strict=True)])
    status[np.tile(joint[kept_rows], len(indicators)) & pd.isna(status)] = JOINT_STATUS

    def each_indicator(column: CodedColumn) -> pd.Categorical:
        """A label column repeated for each indicator, as codes into its distinct labels (in
        order of first appearance)."""
        codes, labels = pd.factorize(column.codes[kept_rows])
        return coded(np.tile(codes, len(indicators)), column.labels[labels])

    observations = observation_frame(path.stem, {
        "year": np.tile(year[kept_rows], len(indicators)),
        **{name: each_indicator(column) for name, column in (
            ("time_period", period), ("geographic_level", level), ("area_code", area),
            ("breakdown", breakdown))},
        "indicator": coded(np.repeat(np.arange(len(indicators)), len(kept_rows)), indicators),
        "value": np.concatenate([v.value.to_numpy()[c] * scale.get(name, 1)
                                 for name, v, c in zip(indicators, parsed, cells, strict=True)]),
        "status": status})
    return EesTable(path.stem, file, observations, _local_authorities(
        frame, kept_rows[at_level["Local authority"][kept_rows]], joint, year))


def _parse_columns(frame: dict[str, CodedColumn], columns: list[str]) -> dict[str, ParsedValues]:
    """`parse_labels` of the distinct cells of each of `columns`, all parsed in one pass."""
    if not columns:
        return {}
    parsed = parse_labels(np.concatenate([frame[c].labels for c in columns]))
    ends = np.cumsum([len(frame[c].labels) for c in columns])
    return {c: ParsedValues(*(part.iloc[end - len(frame[c].labels):end] for part in (
        parsed.value, parsed.status, parsed.invalid))) for c, end in zip(columns, ends, strict=True)}


def _areas(frame: dict[str, CodedColumn], at_level: dict[str, np.ndarray]) -> CodedColumn:
    """Each row's area code, from the column its level keeps it in ('' where there is none)."""
    codes = np.zeros(len(next(iter(frame.values())).codes), dtype=np.int64)
    labels: list[object] = [""]
    for level, column in LEVEL_AREA_COLUMN.items():
        if column in frame:
            codes[at_level[level]] = frame[column].codes[at_level[level]] + len(labels)
            labels.extend(frame[column].labels)
    return distinct(codes, labels)


def _breakdowns(frame: dict[str, CodedColumn], filters: list[str]) -> CodedColumn:
    """Each row's filter values as `filter=value|...`, written once per distinct combination."""
    rows = len(next(iter(frame.values())).codes)
    if not filters:
        return CodedColumn(np.zeros(rows, dtype=np.int64), np.array([""], dtype=object))
    group, first = row_groups(pd.DataFrame({c: frame[c].codes for c in filters}), filters)
    labels = ["|".join(f"{c}={frame[c].labels[frame[c].codes[row]]}" for c in filters)
              for row in first]
    return distinct(group, labels)


def _local_authorities(frame: dict[str, CodedColumn], rows: np.ndarray, joint: np.ndarray,
                       year: np.ndarray) -> pd.DataFrame:
    """The LAs that `rows` (LA rows) name, by code: the last name, old code and region given
    (a joint return gives no name or old code), and the first and last year each is seen."""
    if not len(rows):
        return pd.DataFrame(columns=["la_code", "first_year", "last_year"])
    la, codes = pd.factorize(frame["new_la_code"].strings()[rows], sort=True)
    las: dict[str, object] = {"la_code": np.asarray(codes, dtype=object)}
    for column in ("old_la_code", "la_name", "region_code", "region_name"):
        if column not in frame:
            continue
        given = (~joint[rows] if column in ("la_name", "old_la_code")
                 else np.ones(len(rows), dtype=bool))
        last = np.full(len(codes), -1)
        np.maximum.at(last, la[given], np.flatnonzero(given))
        cells = frame[column].strings()[rows]
        las[column] = np.where(last >= 0, cells[last], None)
    first_year, last_year = np.full(len(codes), year.max()), np.full(len(codes), year.min())
    np.minimum.at(first_year, la, year[rows])
    np.maximum.at(last_year, la, year[rows])
    return pd.DataFrame(las | {"first_year": first_year, "last_year": last_year})
