"""Read DfE explore-education-statistics tidy CSVs into long observations, validating every cell."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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


def per_group(frame: pd.DataFrame, columns: list[str],
              label: Callable[[pd.DataFrame], pd.Series]) -> np.ndarray:
    """`label` computed once from the first row of each distinct combination of `columns` and
    given to every row with that combination."""
    position, first = row_groups(frame, columns)
    return label(frame.iloc[first]).to_numpy()[position]


def observation_frame(dataset: str, columns: dict[str, object]) -> pd.DataFrame:
    """Tidy long observations of `dataset` from its columns; a single value fills its column.
    (Scalars are filled in after the frame is built: building them in costs a transient copy of
    every column.)"""
    arrays = {name: values for name, values in columns.items() if not isinstance(values, str)}
    frame = pd.DataFrame(arrays)
    for position, (name, value) in enumerate({"dataset": dataset, **columns}.items()):
        if isinstance(value, str):
            frame.insert(position, name, value)
    return frame


def strip_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell a string without surrounding spaces (published files pad some labels)."""
    return frame.apply(lambda col: per_value(
        col, lambda u: u.where(u.notna(), "").astype(str).str.strip()))


@dataclass(frozen=True)
class ParsedValues:
    """Published cells read as numbers: the value (NaN where suppressed), the suppression marker
    as status, and which cells are neither a number nor a marker."""

    value: pd.Series
    status: pd.Series
    invalid: pd.Series


def parse_values(raw: pd.Series, markers: frozenset[str] = SUPPRESSION_MARKERS) -> ParsedValues:
    """Numbers (thousands separators allowed) and suppression markers, which stay missing with
    the marker as their status, never zero."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    text = pa.array(pd.Series(uniques, dtype=object).astype(str).to_numpy(), type=pa.string())
    lower = pc.utf8_lower(text)
    suppressed = pc.is_in(lower, value_set=pa.array(sorted(markers))).to_numpy(
        zero_copy_only=False)
    numeric = pc.match_substring_regex(text, NUMBER.pattern).to_numpy(zero_copy_only=False)
    value = pc.cast(pc.replace_substring(pc.if_else(numeric, text, None), ",", ""),
                    pa.float64()).to_numpy(zero_copy_only=False)
    status = np.asarray(lower.to_numpy(zero_copy_only=False), dtype=object)
    status[status == ""] = "blank"
    status[~suppressed] = None

    def each_row(values: np.ndarray) -> pd.Series:
        return pd.Series(values[codes], index=raw.index)

    return ParsedValues(each_row(value), each_row(status), each_row(~suppressed & ~numeric))


@dataclass(frozen=True)
class EesTable:
    """One EES file as tidy long observations plus the LAs it names."""

    dataset: str
    source_file: str
    observations: pd.DataFrame
    local_authorities: pd.DataFrame


def read_text(path: Path) -> str:
    """Read a file as UTF-8 (BOM allowed), or fail naming the first line that is not UTF-8."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IngestError([Problem(str(path), line, None, "encoding",
                                   f"not UTF-8 (byte 0x{raw[exc.start]:02x} at line {line}); "
                                   "save the file as UTF-8 CSV")]) from exc


def read_csv_strings(path: Path) -> pd.DataFrame:
    """Every cell as a stripped string, so no value is coerced before it is validated."""
    from io import StringIO

    text = read_text(path)
    if not text.strip():
        raise IngestError([Problem(str(path), None, None, "empty_file", "the file is empty")])
    try:
        raw = pd.read_csv(StringIO(text), dtype="category", keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise IngestError([Problem(str(path), None, None, "csv_shape", str(exc))]) from exc
    if raw.empty:
        raise IngestError([Problem(str(path), None, None, "empty_file",
                                   "the file has a header but no data rows")])
    frame = pd.DataFrame({i: _stripped(raw.iloc[:, i]) for i in range(raw.shape[1])})
    frame.columns = [str(c).strip().lower() for c in raw.columns]
    return frame


def _stripped(column: pd.Series) -> np.ndarray:
    """A column the parser read as categories, as strings without surrounding spaces: each
    distinct cell is stripped once and rows share its one string object."""
    labels = np.asarray(pd.Index(column.cat.categories).astype(str).str.strip(), dtype=object)
    return labels[column.cat.codes.to_numpy()]


def year_ending(time_period: str) -> int | None:
    """`2023` → 2023; `202223` (financial or academic year) → 2023, the year it ends in."""
    if re.fullmatch(r"\d{4}", time_period):
        return int(time_period)
    if re.fullmatch(r"\d{6}", time_period):
        return int(time_period[:4]) + 1
    return None


def _indicator_columns(path: Path, candidates: list[str],
                       parse_column: Callable[[str], ParsedValues]
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
    chosen = [col for col in candidates
              if col in KNOWN_INDICATORS or (~parse_column(col).invalid).mean() >= 0.5]
    return chosen, {}


def split_joint_returns(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per LA for a joint return ("E09000021 / E09000027"): each LA carries the shared
    value, flagged `_joint` so it is stored with status "joint" and shown as shared."""
    frame = frame.assign(_joint=False)
    if "new_la_code" not in frame.columns:
        return frame
    joint = (frame["geographic_level"] == "Local authority") & frame["new_la_code"].str.contains("/")
    if not joint.any():
        return frame
    parts = frame[joint].assign(new_la_code=frame.loc[joint, "new_la_code"].map(
        lambda codes: [c for c in JOINT_SEPARATOR.split(codes) if c]), _joint=True)
    return pd.concat([frame[~joint], parts.explode("new_la_code")]).sort_values(
        "_row", kind="stable").reset_index(drop=True)


def _rows_where(frame: pd.DataFrame, mask: pd.Series, column: str) -> list[tuple[int, str]]:
    """File row and cell of `column` for the rows `mask` picks (a problem's location)."""
    if not mask.any():
        return []
    return list(frame.loc[mask, ["_row", column]].itertuples(index=False, name=None))


def read_ees(path: Path, known_la_codes: set[str] | None = None,
             codes_by_old_code: dict[str, str] | None = None) -> EesTable:
    """Parse and validate one EES tidy CSV; raise IngestError listing every problem found.
    LA rows of early years that give only the 3-digit code get the GSS code from
    `codes_by_old_code` (the LA lookup)."""
    file = str(path)
    frame = read_csv_strings(path)
    problems: list[Problem] = []
    missing = [c for c in ("time_period", "geographic_level") if c not in frame.columns]
    if missing:
        raise IngestError([Problem(file, 1, c, "missing_column",
                                   f"required column '{c}' is missing") for c in missing])
    if (frame["geographic_level"] == "Local authority").any():
        for col in ("new_la_code", "la_name"):
            if col not in frame.columns:
                problems.append(Problem(file, 1, col, "missing_column",
                                        f"LA rows need column '{col}'"))
    if problems:
        raise IngestError(problems)
    frame = frame[frame["geographic_level"].isin(list(LEVEL_AREA_COLUMN))].copy()
    frame["_row"] = frame.index + 2
    frame = split_joint_returns(frame)
    others = [c for c in frame.columns
              if c not in TIME_COLUMNS and c not in GEOGRAPHY_COLUMNS and c not in ("_row", "_joint")]
    parse_column = cache(lambda column: parse_values(frame[column]))
    indicators, scale = _indicator_columns(path, others, parse_column)
    filters = sorted(c for c in others if c not in indicators)
    if not indicators:
        raise IngestError([Problem(file, 1, None, "no_indicators",
                                   "no column holds numbers: not an EES data file")])

    # Internal columns start with "_": a published filter may be called `breakdown` or `year`.
    frame["_year"] = per_value(frame["time_period"], lambda u: u.map(year_ending))
    for row, period in _rows_where(frame, frame["_year"].isna(), "time_period"):
        problems.append(Problem(file, row, "time_period", "time_period_format",
                                f"'{period}' is not a year (YYYY) or a span (YYYYYY)"))

    if codes_by_old_code and {"new_la_code", "old_la_code"} <= set(frame.columns):
        blank = (frame["geographic_level"] == "Local authority") & (frame["new_la_code"] == "")
        frame.loc[blank, "new_la_code"] = frame.loc[blank, "old_la_code"].map(
            codes_by_old_code).fillna("")
    frame["_area"] = ""
    for level, column in LEVEL_AREA_COLUMN.items():
        at_level = frame["geographic_level"] == level
        if column in frame.columns:
            frame.loc[at_level, "_area"] = frame.loc[at_level, column]
    for row, level in _rows_where(frame, frame["_area"] == "", "geographic_level"):
        problems.append(Problem(file, row, LEVEL_AREA_COLUMN[level], "missing_area_code",
                                f"{level} row has no area code"))
    is_la = (frame["geographic_level"] == "Local authority") & (frame["_area"] != "")
    bad_format = is_la & ~frame["_area"].str.match(GSS_LA.pattern)
    for row, code in _rows_where(frame, bad_format, "_area"):
        problems.append(Problem(file, row, "new_la_code", "la_code_format",
                                f"'{code}' is not an English upper-tier LA code (E06/E08/E09/E10)"))
    if known_la_codes is not None:
        unknown = is_la & ~bad_format & ~frame["_area"].isin(list(known_la_codes))
        for row, code in _rows_where(frame, unknown, "_area"):
            problems.append(Problem(file, row, "new_la_code", "unknown_la_code",
                                    f"'{code}' is not in the LA lookup"))

    frame["_breakdown"] = per_group(frame, filters, lambda first: first.apply(
        lambda row: "|".join(f"{c}={row[c]}" for c in filters), axis=1)) if filters else ""
    keys = ["_year", "geographic_level", "_area", "_breakdown"]
    if frame["_joint"].any():
        own = pd.MultiIndex.from_frame(frame.loc[~frame["_joint"], keys])
        frame = frame[~(frame["_joint"] & pd.MultiIndex.from_frame(frame[keys]).isin(own))]
    duplicated = frame.duplicated(keys, keep=False)
    if duplicated.any():
        groups = frame[duplicated].groupby(keys, dropna=False)["_row"].apply(list)
        for rows in groups:
            problems.append(Problem(file, rows[1], None, "duplicate_row",
                                    f"rows {', '.join(map(str, rows))} repeat the same period, "
                                    "area and breakdown"))

    parsed = [parse_column(column) for column in indicators]
    for column, values in zip(indicators, parsed, strict=True):
        for row, raw in _rows_where(frame, values.invalid.loc[frame.index], column):
            problems.append(Problem(file, row, column, "not_a_number",
                                    f"'{raw}' is neither a number nor a suppression marker "
                                    f"({', '.join(sorted(m for m in SUPPRESSION_MARKERS if m))})"))
    if problems:
        raise IngestError(problems)

    def rows_kept(values: pd.Series) -> np.ndarray:
        """A column parsed before repeated joint rows were dropped, for the rows kept."""
        return (values if len(values) == len(frame) else values.loc[frame.index]).to_numpy()

    status = np.concatenate([rows_kept(v.status) for v in parsed])
    status[np.tile(frame["_joint"].to_numpy(), len(indicators)) & pd.isna(status)] = JOINT_STATUS
    def each_indicator(column: str) -> pd.Categorical:
        """A label column repeated for each indicator, as codes into its distinct labels."""
        codes, labels = pd.factorize(frame[column])
        return coded(np.tile(codes, len(indicators)), labels)

    observations = observation_frame(path.stem, {
        "year": np.tile(frame["_year"].to_numpy(dtype=int), len(indicators)),
        **{name: each_indicator(column) for name, column in (
            ("time_period", "time_period"), ("geographic_level", "geographic_level"),
            ("area_code", "_area"), ("breakdown", "_breakdown"))},
        "indicator": coded(np.repeat(np.arange(len(indicators)), len(frame)), indicators),
        "value": np.concatenate([rows_kept(v.value) * scale.get(c, 1)
                                 for c, v in zip(indicators, parsed, strict=True)]),
        "status": status})

    attributes = [c for c in ("old_la_code", "la_name", "region_code", "region_name")
                  if c in frame.columns]
    la_rows = frame.loc[frame["geographic_level"] == "Local authority", [
        c for c in ("new_la_code", "_joint", "_year", *attributes) if c in frame.columns]].rename(
        columns={"new_la_code": "la_code"})
    if la_rows.empty:
        return EesTable(path.stem, file, observations, pd.DataFrame(
            columns=["la_code", "first_year", "last_year"]))
    la_rows.loc[la_rows["_joint"], [c for c in ("la_name", "old_la_code") if c in la_rows]] = None
    grouped = la_rows.groupby("la_code")
    las = grouped[attributes].last().join(
        grouped["_year"].agg(first_year="min", last_year="max")).reset_index()
    return EesTable(path.stem, file, observations, las)
