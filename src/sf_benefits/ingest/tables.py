"""Readers for the non-EES inputs: LA lookup, statistical neighbours, ONS population, LAIT long table.

Each reader accepts the column spellings the publishers use (matched case-insensitively through
aliases), validates every row and returns tidy frames, or raises IngestError before any write.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from sf_benefits.ingest.ees import (
    GSS_LA,
    NUMBER,
    SUPPRESSION_MARKERS,
    read_csv_strings,
    year_ending,
)
from sf_benefits.ingest.errors import IngestError, Problem

ALIASES: dict[str, tuple[str, ...]] = {
    "la_code": ("new_la_code", "la_code", "gss_code", "la_gss_code", "area_code", "ladcode",
                "lad_code", "code"),
    "old_la_code": ("old_la_code", "la_number", "la_num", "la_code_3", "lea", "la"),
    "la_name": ("la_name", "local_authority", "local_authority_name", "la", "name", "area_name",
                "laname"),
    "region_code": ("region_code", "rgn_code"),
    "region_name": ("region_name", "region"),
    "year": ("year", "time_period", "period"),
    "indicator": ("indicator", "measure", "indicator_name", "indicator_id"),
    "value": ("value", "indicator_value"),
    "age": ("age",),
    "population": ("population", "population_count", "obs_value", "count"),
}
NEIGHBOUR_COLUMN = re.compile(r"^(sn|neighbour|statistical_neighbour)[ _]?(\d{1,2})(_code|_name)?$")
COUNTRY_OR_REGION = re.compile(r"^E(92|12)\d{6}$")


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
    if find_column(lowered, "la_name") and find_column(lowered, "la_code"):
        return "lookup"
    return "unknown"


def read_frame(path: Path) -> pd.DataFrame:
    """A CSV or the first sheet of an XLSX, every cell a stripped string, header lower-cased."""
    if path.suffix.lower() == ".xlsx":
        try:
            frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        except Exception as exc:
            raise IngestError([Problem(str(path), None, None, "xlsx_unreadable", str(exc))]) from exc
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        return frame.apply(lambda col: col.astype(str).str.strip())
    return read_csv_strings(path)


class LaRegister:
    """Every upper-tier LA the store knows: code, old 3-digit code, name, region."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._index: dict[str, str] = {}
        for column in ("la_name", "old_la_code", "la_code"):
            for key, code in zip(frame[column].astype(str), frame["la_code"], strict=True):
                self._index[self._key(key)] = str(code)

    @staticmethod
    def _key(text: str) -> str:
        """Names as publishers vary them: 'St. Helens' = 'St Helens', '&' = 'and', any case."""
        text = text.casefold().replace("&", " and ").replace(".", " ")
        return " ".join(text.split())

    @property
    def codes(self) -> set[str]:
        return set(self.frame["la_code"])

    def resolve(self, text: str) -> str | None:
        """GSS code for a GSS code, 3-digit code or name (case, stops and '&' ignored)."""
        return self._index.get(self._key(text))


def read_lookup(path: Path) -> pd.DataFrame:
    """LA lookup: la_code, old_la_code, la_name, region_code, region_name (one row per LA)."""
    frame = read_frame(path)
    file, cols = str(path), list(frame.columns)
    code = find_column(cols, "la_code")
    name = find_column(cols, "la_name", exclude=(code or "",))
    if code is None or name is None:
        raise IngestError([Problem(file, 1, None, "missing_column",
                                   "an LA lookup needs an LA code column and an LA name column")])
    out = pd.DataFrame({"la_code": frame[code], "la_name": frame[name]})
    for role in ("old_la_code", "region_code", "region_name"):
        col = find_column(cols, role, exclude=(code, name))
        out[role] = frame[col] if col else None
    out = out[out["la_code"].str.match(GSS_LA.pattern) | out["la_code"].eq("")]
    problems = [Problem(file, int(i) + 2, code, "missing_la_code", "row has no LA code")
                for i in out.index[out["la_code"] == ""].to_numpy(dtype=int)]
    dupes = out[out.duplicated("la_code", keep=False) & (out["la_code"] != "")]
    problems += [Problem(file, int(i) + 2, code, "duplicate_row",
                         f"LA code {c} appears more than once")
                 for i, c in zip(dupes.index.to_numpy(dtype=int), dupes["la_code"], strict=True)]
    if problems:
        raise IngestError(problems)
    return out.reset_index(drop=True)


def read_neighbours(path: Path, register: LaRegister) -> pd.DataFrame:
    """Statistical neighbours: model, la_code, rank 1–10, neighbour_code; names or codes resolved."""
    frame = read_frame(path)
    file, cols = str(path), list(frame.columns)
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
    problems: list[Problem] = []
    rows = []
    for i, record in frame.iterrows():
        row = int(i) + 2  # type: ignore[call-overload]
        la = register.resolve(record[la_col])
        if la is None:
            problems.append(Problem(file, row, la_col, "unknown_la",
                                    f"'{record[la_col]}' is not an LA in the lookup"))
            continue
        for rank, col in sorted(rank_columns.items()):
            text = record[col]
            if not text:
                continue
            neighbour = register.resolve(text)
            if neighbour is None:
                problems.append(Problem(file, row, col, "unknown_la",
                                        f"neighbour '{text}' is not an LA in the lookup"))
                continue
            model = record[model_col] if model_col else default_model
            rows.append((model, la, rank, neighbour))
    if problems:
        raise IngestError(problems)
    out = pd.DataFrame(rows, columns=["model", "la_code", "rank", "neighbour_code"])
    dupes = out.duplicated(["model", "la_code", "rank"])
    if dupes.any():
        raise IngestError([Problem(file, None, None, "duplicate_row",
                                   f"{dupes.sum()} LA rows repeat an LA already listed")])
    return out


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


def read_lait(path: Path, register: LaRegister) -> pd.DataFrame:
    """LAIT long table (LA, indicator, year, value) → observations; suppressed values stay missing."""
    frame = read_frame(path)
    file, cols = str(path), list(frame.columns)
    found = {r: find_column(cols, r) for r in ("la_code", "indicator", "year", "value")}
    if found["la_code"] is None:
        found["la_code"] = find_column(cols, "old_la_code")
    missing = [r for r, c in found.items() if c is None]
    if missing:
        raise IngestError([Problem(file, 1, r, "missing_column", f"no '{r}' column")
                           for r in missing])
    roles = {r: str(c) for r, c in found.items()}
    problems: list[Problem] = []
    records = []
    for i, rec in frame.iterrows():
        row = int(i) + 2  # type: ignore[call-overload]
        area = rec[roles["la_code"]]
        code = area if COUNTRY_OR_REGION.match(area) else register.resolve(area)
        if code is None:
            problems.append(Problem(file, row, roles["la_code"], "unknown_la_code",
                                    f"'{area}' is not an LA in the lookup"))
            continue
        year = year_ending(re.sub(r"[^0-9]", "", rec[roles["year"]]))
        if year is None:
            problems.append(Problem(file, row, roles["year"], "time_period_format",
                                    f"'{rec[roles['year']]}' is not a year"))
            continue
        raw = rec[roles["value"]]
        if raw.lower() in SUPPRESSION_MARKERS:
            value, status = None, raw.lower() or "blank"
        elif NUMBER.fullmatch(raw):
            value, status = float(raw.replace(",", "")), None
        else:
            problems.append(Problem(file, row, roles["value"], "not_a_number",
                                    f"'{raw}' is neither a number nor a suppression marker"))
            continue
        level = {"E92": "National", "E12": "Regional"}.get(code[:3], "Local authority")
        records.append((year, str(year), level, code, rec[roles["indicator"]], value, status, row))
    if problems:
        raise IngestError(problems)
    out = pd.DataFrame(records, columns=["year", "time_period", "geographic_level", "area_code",
                                         "indicator", "value", "status", "_row"])
    dupes = out[out.duplicated(["year", "area_code", "indicator"], keep=False)]
    if not dupes.empty:
        raise IngestError([Problem(file, int(r), None, "duplicate_row",
                                   "the same LA, indicator and year appear twice")
                           for r in dupes["_row"]])
    out.insert(0, "dataset", path.stem)
    out.insert(5, "breakdown", "")
    return out.drop(columns="_row")


def boundary_changes() -> pd.DataFrame:
    """The reorganisations shipped with the package (see boundaries.yaml for sources)."""
    data = yaml.safe_load((Path(__file__).parent / "boundaries.yaml").read_text())
    return pd.DataFrame(data["changes"]).rename(columns={"predecessor": "predecessor_code",
                                                          "successor": "successor_code"})
