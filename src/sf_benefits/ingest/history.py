"""Read the DfE children looked after releases of 2010-2017, as first published, into observations.

Each year is a folder of wide tables (one row per area) whose names, columns and codes change from
year to year; `sfr_history.yaml` says which columns hold children looked after at 31 March (total
and by placement), starts and ceases. Quirks of the published files are handled here:

- the year comes from the folder: the 2015 starts table heads its total `CLA_started2014`;
- 2010 gives only 3-digit codes, its own region letters and 'National'/'GOR'/'LA' levels, with
  England coded 921 (Isle of Wight's LA code); 2011-2017 give GSS codes but keep Gateshead's and
  Northumberland's pre-2013 ones, so an LA's GSS code is today's for its 3-digit code (from the
  LA lookup and the EES files), else the one any release gives it;
- region letters differ between 2010 and 2011 (Yorkshire is D, then C): regions are matched by
  name, and Inner and Outer London (which the files code as London) get their own codes;
- 2017 leaves the Isles of Scilly's level blank: the level follows from its GSS code;
- the 2010 table at 31 March lists placement codes in one order and fills them in another
  (`cells_in_code_order`);
- suppressed cells (`x`, `..`) stay missing with their marker; trailing empty columns and Excel
  errors in columns not read (`#VALUE!`) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sf_benefits.ingest.ees import (
    GSS_LA,
    EesTable,
    parse_labels,
    read_csv_coded,
)
from sf_benefits.ingest.errors import IngestError, Problem

ENGLAND = "E92000001"
REGION_CODES = {
    "north east": "E12000001", "north west": "E12000002", "yorkshire and the humber": "E12000003",
    "east midlands": "E12000004", "west midlands": "E12000005", "east of england": "E12000006",
    "london": "E12000007", "south east": "E12000008", "south west": "E12000009",
    "inner london": "E13000001", "outer london": "E13000002",
}
LEVELS = {"national": "National", "country": "National", "gor": "Regional",
          "region": "Regional", "la": "Local authority"}
LEVEL_OF_CODE = {"E92": "National", "E12": "Regional", "E13": "Regional"}
FOSTER = "foster placements"
GEOGRAPHY = ("new_geog_code", "geog_l", "geog_c", "geog_n")


@dataclass(frozen=True)
class TableSpec:
    """One kind of table: which files hold it, its measure and the columns read."""

    measure: str
    files: re.Pattern[str]
    total: re.Pattern[str]
    population: re.Pattern[str] | None
    placements: dict[re.Pattern[str], str]


@cache
def table_specs() -> tuple[tuple[TableSpec, ...], frozenset[str]]:
    """The table specifications and the files read in code order, from `sfr_history.yaml`."""
    data = yaml.safe_load((Path(__file__).parent / "sfr_history.yaml").read_text(encoding="utf-8"))
    specs = tuple(TableSpec(
        measure=t["measure"], files=re.compile(t["files"], re.IGNORECASE),
        total=re.compile(t["total"]),
        population=re.compile(t["population"]) if t.get("population") else None,
        placements={re.compile(k): v for k, v in (t.get("placements") or {}).items()},
    ) for t in data["tables"])
    return specs, frozenset(n.lower() for n in data["cells_in_code_order"])


@dataclass(frozen=True)
class _Table:
    path: Path
    year: int
    spec: TableSpec
    frame: pd.DataFrame


def read_history(directory: Path, codes_by_old_code: dict[str, str] | None = None
                 ) -> tuple[list[EesTable], list[Path]]:
    """Every table of `directory/<series>/<year>/` the spec knows, as observations, plus the files
    left unread. `codes_by_old_code` gives today's GSS code of a 3-digit code."""
    problems: list[Problem] = []
    tables: list[_Table] = []
    skipped: list[Path] = []
    specs, _ = table_specs()
    for path in sorted(directory.rglob("*.csv")):
        folder = path.parent.name
        spec = next((s for s in specs if s.files.search(path.stem)), None)
        if spec is None:
            skipped.append(path)
            continue
        if not re.fullmatch(r"(19|20)\d\d", folder):
            problems.append(Problem(str(path), None, None, "year_folder",
                                    f"'{folder}' is not a year: put each release in a folder "
                                    "named by the year ending 31 March it covers"))
            continue
        try:
            tables.append(_Table(path, int(folder), spec, _read_columns(path, spec)))
        except IngestError as exc:
            problems.extend(exc.problems)
    if problems:
        raise IngestError(problems)
    old_codes = _old_code_map(tables, codes_by_old_code or {})
    out = []
    for table in tables:
        try:
            out.append(_read_table(table, old_codes))
        except IngestError as exc:
            problems.extend(exc.problems)
    if problems:
        raise IngestError(problems)
    return out, skipped


def _wanted(spec: TableSpec) -> Callable[[str], bool]:
    patterns = [spec.total, *spec.placements, *([spec.population] if spec.population else [])]

    def wanted(name: str) -> bool:
        name = name.strip().lower()
        return name in GEOGRAPHY or any(p.fullmatch(name) for p in patterns)

    return wanted


def _read_columns(path: Path, spec: TableSpec) -> pd.DataFrame:
    """The geography columns and those the spec reads, every cell a stripped string: the wide
    tables hold up to 180 columns of which a table reads at most 30."""
    columns = read_csv_coded(path, _wanted(spec))
    return pd.DataFrame({name.strip().lower(): column.strings()
                         for name, column in columns.items()})


def _column(frame: pd.DataFrame, pattern: re.Pattern[str]) -> str | None:
    return next((c for c in frame.columns if pattern.fullmatch(c)), None)


def _old_code_map(tables: list[_Table], lookup: dict[str, str]) -> dict[str, str]:
    """3-digit LA code → GSS code: the lookup's where it has one, else the newest release's."""
    pairs: dict[str, str] = {}
    for table in sorted(tables, key=lambda t: t.year):
        frame = table.frame
        if {"geog_c", "new_geog_code"} <= set(frame.columns):
            ok = frame["new_geog_code"].str.match(GSS_LA.pattern)
            pairs.update(zip(frame.loc[ok, "geog_c"], frame.loc[ok, "new_geog_code"], strict=True))
    return pairs | lookup


def _level_of(level: str, gss: str) -> str | None:
    """The row's level as published, or (left blank, as for the Isles of Scilly in 2017) as its
    GSS code says."""
    if level:
        return LEVELS.get(level.lower())
    return "Local authority" if GSS_LA.match(gss) else LEVEL_OF_CODE.get(gss[:3])


def _areas(table: _Table, old_codes: dict[str, str]) -> tuple[pd.DataFrame, list[Problem]]:
    """Level and GSS code of every row; problems for rows whose level or area is unknown."""
    frame, file = table.frame, str(table.path)
    missing = [c for c in ("geog_l", "geog_c", "geog_n") if c not in frame.columns]
    if missing:
        return frame, [Problem(file, 1, c, "missing_column", f"no '{c}' column") for c in missing]
    gss = frame["new_geog_code"] if "new_geog_code" in frame.columns else [""] * len(frame)
    levels, codes, problems = [], [], []
    for row, level_text, old, name, new in zip(frame.index + 2, frame["geog_l"],
                                               frame["geog_c"], frame["geog_n"], gss, strict=True):
        level = _level_of(level_text, new)
        code = ""
        if level == "National":
            code = ENGLAND
        elif level == "Regional":
            code = REGION_CODES.get(" ".join(name.casefold().split()), "")
        elif level == "Local authority":
            code = old_codes.get(old) or (new if GSS_LA.match(new) else "")
        else:
            problems.append(Problem(file, int(row), "geog_l", "geographic_level",
                                    f"'{level_text}' is not a level (National, GOR/Region, LA)"))
        if level and not code:
            problems.append(Problem(file, int(row), "geog_c", "unknown_area",
                                    f"'{old}' ({name}) is not an area the LA lookup or any "
                                    "release names"))
        elif code and code in codes:
            problems.append(Problem(file, int(row), "geog_c", "duplicate_row",
                                    f"area {code} appears more than once"))
        levels.append(level)
        codes.append(code)
    return frame.assign(_level=pd.Series(levels, index=frame.index, dtype=object), _code=codes,
                        _name=frame["geog_n"]), problems


def _read_table(table: _Table, old_codes: dict[str, str]) -> EesTable:
    file, spec = str(table.path), table.spec
    frame, problems = _areas(table, old_codes)
    total = _column(frame, spec.total)
    if total is None:
        problems.append(Problem(file, 1, None, "missing_column",
                                f"no column of {spec.measure} matching '{spec.total.pattern}'"))
    if problems:
        raise IngestError(problems)
    columns: dict[str, tuple[str, str, int]] = {str(total): (spec.measure, "", table.year)}
    placements = [(c, label) for c in frame.columns for p, label in spec.placements.items()
                  if p.fullmatch(c)]
    if table.path.stem.lower() in table_specs()[1]:
        by_code = sorted(c for c, _ in placements)
        frame = frame.rename(columns=dict(zip([c for c, _ in placements], by_code, strict=True)))
    columns |= {c: (spec.measure, f"placement={label}", table.year) for c, label in placements}
    population = _column(frame, spec.population) if spec.population else None
    if population is not None and spec.population is not None:
        mid_year = int(spec.population.fullmatch(population).group(1))  # type: ignore[union-attr]
        columns[population] = ("population_0_17", "age=0-17", mid_year)
    long = _melt(table, frame, columns)
    _check_foster_largest(table, long)
    las = frame[frame["_level"] == "Local authority"]
    authorities = pd.DataFrame({
        "la_code": las["_code"], "old_la_code": las["geog_c"], "la_name": las["_name"],
        "region_code": None, "region_name": None, "first_year": table.year,
        "last_year": table.year})
    return EesTable(table.path.stem, file, long, authorities.reset_index(drop=True))


def _melt(table: _Table, frame: pd.DataFrame, columns: dict[str, tuple[str, str, int]]
          ) -> pd.DataFrame:
    """The chosen columns as observations; a cell neither a number nor a marker is an error."""
    file = str(table.path)
    cells = frame[list(columns)].to_numpy(dtype=object).ravel(order="F")
    rows = np.tile(frame.index.to_numpy() + 2, len(columns))
    names = np.repeat(list(columns), len(frame))
    codes, distinct = pd.factorize(cells)
    parsed = parse_labels(distinct)
    bad = parsed.invalid.to_numpy()[codes]
    if bad.any():
        raise IngestError([Problem(file, int(r), str(c), "not_a_number",
                                   f"'{v}' is neither a number nor a suppression marker")
                           for r, c, v in zip(rows[bad], names[bad], cells[bad], strict=True)])

    def each_cell(values: list[object]) -> np.ndarray:
        """One value per column, for each of its cells."""
        return np.repeat(np.array(values, dtype=object), len(frame))

    measures, breakdowns, years = zip(*columns.values(), strict=True)
    return pd.DataFrame({
        "dataset": table.path.stem, "year": np.repeat(years, len(frame)),
        "time_period": each_cell([str(y) for y in years]),
        "geographic_level": np.tile(frame["_level"].to_numpy(), len(columns)),
        "area_code": np.tile(frame["_code"].to_numpy(), len(columns)),
        "breakdown": each_cell(list(breakdowns)), "indicator": each_cell(list(measures)),
        "value": parsed.value.to_numpy()[codes], "status": parsed.status.to_numpy()[codes],
    })


def _check_foster_largest(table: _Table, long: pd.DataFrame) -> None:
    """Foster care holds most children looked after in England; if a table says otherwise its
    placement cells do not follow its header (see `cells_in_code_order`)."""
    at_england = long["area_code"].to_numpy() == ENGLAND
    england = [(breakdown.removeprefix("placement="), value) for breakdown, value in zip(
        long["breakdown"].to_numpy()[at_england], long["value"].to_numpy()[at_england],
        strict=True) if breakdown.startswith("placement=")]
    if all(np.isnan(value) for _, value in england):
        return
    sums: dict[str, float] = {}
    for placement, value in england:
        group = placement.split(":")[0].lower()
        sums[group] = sums.get(group, 0.0) + (0.0 if np.isnan(value) else value)
    largest = max(sorted(sums), key=sums.__getitem__)
    if FOSTER in sums and largest != FOSTER:
        raise IngestError([Problem(
            str(table.path), None, None, "placement_order",
            f"England's largest placement group is '{largest}', not foster care: the "
            "placement cells do not follow the header (list the file under cells_in_code_order "
            "in sfr_history.yaml, or remove it from there)")])
