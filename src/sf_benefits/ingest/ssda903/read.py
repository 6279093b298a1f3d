"""Read SSDA903 header and episodes files (CSV or XLSX, one or several collection years) and check
them against the structural DfE rules, so bad input is refused record by record before anything is
stored. Rule codes are the DfE's where one exists (e.g. 146: placement code not valid).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from sf_benefits.ingest.errors import IngestError, Problem
from sf_benefits.ingest.ssda903.codes import (
    CIN_CODES,
    CONTINUATION_REC,
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

HEADER = "header"
EPISODES = "episodes"
FIRST_DATA_LINE = 2
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


@dataclass
class ReturnTable:
    """One file of a return as text: which table it is, its collection year, its rows."""

    path: Path
    table: str
    year: int | None
    frame: pd.DataFrame

    @property
    def name(self) -> str:
        """The file as named in problems."""
        return str(self.path)


@dataclass
class CheckedReturns:
    """Header and episodes of every file, typed and de-duplicated across collection years.

    `children`: CHILD, SEX, DOB, ETHNIC (one row per child, the latest return's values).
    `episodes`: CHILD, DECOM, DEC (NaT while open), RNE, LS, CIN, PLACE, PLACE_PROVIDER, REC,
    REASON_PLACE_CHANGE, collection_year. CHILD is still the LA's own identifier here.
    """

    children: pd.DataFrame
    episodes: pd.DataFrame
    collection_years: tuple[int, ...]
    files: tuple[Path, ...]
    data_end: pd.Timestamp


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


def _read_frame(path: Path, all_columns: bool) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        frame = pd.read_excel(path, dtype=object, engine="openpyxl")
        frame.columns = [str(c).strip().upper() for c in frame.columns]
        return _clean_spreadsheet(frame)
    if suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                            usecols=None if all_columns else _wanted)
        frame.columns = [str(c).strip().upper() for c in frame.columns]
        return frame
    raise IngestError([Problem(str(path), None, None, "903-format",
                               "only .csv and .xlsx SSDA903 files can be read")])


def parse_dates(text: pd.Series) -> pd.Series:
    """dd/mm/yyyy text to Timestamps (NaT where blank or not a real date), vectorised: the fixed
    layout is read digit by digit and impossible days (31/02) are refused by a round trip."""
    values = text.to_numpy(dtype=object)
    try:
        encoded = values.astype("S11")
    except UnicodeEncodeError:
        encoded = np.asarray([str(v).encode("ascii", "replace")[:11] for v in values],
                             dtype="S11")
    lengths = np.char.str_len(encoded)
    regular = lengths == 10
    result = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    if regular.any():
        raw = encoded[regular].astype("S10").view(np.uint8).reshape(-1, 10)
        digits = raw.astype(np.int64) - ord("0")
        positions = [0, 1, 3, 4, 6, 7, 8, 9]
        shaped = ((digits[:, positions] >= 0) & (digits[:, positions] <= 9)).all(axis=1) & (
            raw[:, 2] == ord("/")) & (raw[:, 5] == ord("/"))
        day = digits[:, 0] * 10 + digits[:, 1]
        month = digits[:, 3] * 10 + digits[:, 4]
        year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
        plausible = shaped & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
        months = ((np.where(plausible, year, 1970) - 1970) * 12
                  + np.where(plausible, month, 1) - 1).astype("datetime64[M]")
        dates = months.astype("datetime64[D]") + (np.where(plausible, day, 1) - 1)
        same_month = dates.astype("datetime64[M]") == months
        ok = plausible & same_month
        converted = np.full(ok.size, np.datetime64("NaT"), dtype="datetime64[ns]")
        converted[ok] = dates[ok].astype("datetime64[ns]")
        result[regular] = converted
    irregular = ~regular & (lengths > 0)
    if irregular.any():
        result[irregular] = pd.to_datetime(pd.Series(values[irregular]), format=DATE_FORMAT,
                                           errors="coerce").to_numpy(dtype="datetime64[ns]")
    return pd.Series(result, index=text.index)


EPISODE_CODES: dict[str, frozenset[str]] = {
    "RNE": RNE_CODES, "LS": LS_CODES, "CIN": CIN_CODES, "PLACE": PLACE_CODES,
    "PLACE_PROVIDER": PLACE_PROVIDER_CODES, "REC": REC_CODES,
}


def _as_codes(values: pd.Series, codes: frozenset[str]) -> pd.Categorical:
    """Codes as a categorical over the full DfE list (and blank), the same for every file, so
    combining years and reordering rows stays cheap; invalid codes were reported already."""
    return pd.Categorical(values, categories=sorted(codes | {""}))


def _normalised_codes(values: pd.Series, valid: frozenset[str]) -> pd.Series:
    """Codes with stray spaces and lower case fixed; only cells not already valid are touched."""
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


def read_tables(paths: Sequence[Path], all_columns: bool = False
                ) -> tuple[list[ReturnTable], list[Problem]]:
    """Read each file and tell header from episodes by its columns; problems for unusable files.

    Direct identifiers (postcodes, URN, UPN, mother's details) are not even read unless
    `all_columns` (for the DfE validator, whose location rules need them)."""
    tables: list[ReturnTable] = []
    problems: list[Problem] = []
    for given in paths:
        path = Path(given)
        if not path.is_file():
            problems.append(Problem(str(path), None, None, "903-file", "file not found"))
            continue
        try:
            frame = _read_frame(path, all_columns)
        except IngestError as error:
            problems.extend(error.problems)
            continue
        except (ValueError, OSError, UnicodeDecodeError) as error:
            problems.append(Problem(str(path), None, None, "903-format",
                                    f"cannot be read as CSV or XLSX: {error}"))
            continue
        columns = set(frame.columns)
        stem = path.stem.lower()
        if "DECOM" in columns or "episode" in stem:
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
        tables.append(ReturnTable(path, table, _year_of(path), frame))
    episode_years = [t.year for t in tables if t.table == EPISODES]
    if len(set(episode_years)) < len(episode_years) or None in episode_years:
        for found in tables:
            if found.table == EPISODES:
                found.year = _infer_year(found.frame)
    return tables, problems


def _infer_year(frame: pd.DataFrame) -> int | None:
    """Collection year (ending 31 March) from the latest start or end date in an episodes table."""
    dates = pd.concat([pd.to_datetime(frame["DECOM"], format=DATE_FORMAT, errors="coerce"),
                       pd.to_datetime(frame["DEC"], format=DATE_FORMAT, errors="coerce")])
    latest = dates.max()
    if pd.isna(latest):
        return None
    return int(latest.year + (1 if latest.month > 3 else 0))


def _row(index: int | np.integer) -> int:
    return int(index) + FIRST_DATA_LINE


def _code_problems(table: ReturnTable, column: str, codes: frozenset[str], rule: str,
                   label: str, blank_ok: bool) -> list[Problem]:
    allowed = codes | {""} if blank_ok else codes
    values = table.frame[column]
    fine = values.isin(allowed).to_numpy()
    if fine.all():
        return []
    values = _normalised_codes(values, codes)
    table.frame[column] = values
    bad = ~values.isin(allowed).to_numpy()
    return [Problem(table.name, _row(i), column, rule,
                    f"child {child}: {label} {value!r} is not a valid code")
            for i, child, value in zip(np.flatnonzero(bad), table.frame["CHILD"].to_numpy()[bad],
                                       table.frame[column].to_numpy()[bad], strict=True)]


def _date_problems(table: ReturnTable, column: str, rule: str, label: str,
                   blank_ok: bool) -> tuple[pd.Series, list[Problem]]:
    text = table.frame[column]
    parsed = parse_dates(text)
    retry = parsed.isna() & (text != "")
    if bool(retry.any()):
        parsed[retry] = pd.to_datetime(text[retry].str.strip(), format=DATE_FORMAT,
                                       errors="coerce")
    bad = parsed.isna() & ~((text == "") & blank_ok)
    problems = [Problem(table.name, _row(i), column, rule,
                        f"child {child}: {label} {value!r} is not a valid dd/mm/yyyy date")
                for i, child, value in zip(np.flatnonzero(bad.to_numpy()),
                                           table.frame["CHILD"].to_numpy()[bad.to_numpy()],
                                           text.to_numpy()[bad.to_numpy()], strict=True)]
    return parsed, problems


def _check_header(table: ReturnTable) -> tuple[pd.DataFrame, list[Problem]]:
    frame = table.frame
    frame["CHILD"] = frame["CHILD"].str.strip()
    problems: list[Problem] = []
    blank = frame["CHILD"] == ""
    problems += [Problem(table.name, _row(i), "CHILD", "903-child", "child identifier is blank")
                 for i in np.flatnonzero(blank.to_numpy())]
    duplicated = frame["CHILD"].duplicated(keep="first") & ~blank
    problems += [Problem(table.name, _row(i), "CHILD", "903-header-duplicate",
                         f"child {c}: appears more than once in the header")
                 for i, c in zip(np.flatnonzero(duplicated.to_numpy()),
                                 frame["CHILD"].to_numpy()[duplicated.to_numpy()], strict=True)]
    problems += _code_problems(table, "SEX", SEX_CODES, "101", "sex", blank_ok=False)
    problems += _code_problems(table, "ETHNIC", ETHNIC_CODES, "103", "ethnicity", blank_ok=False)
    dob, date_problems = _date_problems(table, "DOB", "102", "date of birth", blank_ok=False)
    problems += date_problems
    typed = pd.DataFrame({"CHILD": frame["CHILD"], "SEX": frame["SEX"],
                          "DOB": dob, "ETHNIC": frame["ETHNIC"],
                          "row": np.arange(len(frame)) + FIRST_DATA_LINE,
                          "file": table.name, "year": table.year or 0})
    return typed, problems


def _check_episodes(table: ReturnTable) -> tuple[pd.DataFrame, list[Problem]]:
    frame = table.frame
    frame["CHILD"] = frame["CHILD"].str.strip()
    problems: list[Problem] = []
    blank = frame["CHILD"] == ""
    problems += [Problem(table.name, _row(i), "CHILD", "903-child", "child identifier is blank")
                 for i in np.flatnonzero(blank.to_numpy())]
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
    child = frame["CHILD"].to_numpy()
    one_blank = (frame["DEC"] == "") != (frame["REC"] == "")
    problems += [Problem(table.name, _row(i), "REC", "148",
                         f"child {child[i]}: date episode ceased and reason episode ceased must "
                         "both be coded, or both left blank")
                 for i in np.flatnonzero(one_blank.to_numpy())]
    backwards = (dec < decom).to_numpy()
    problems += [Problem(table.name, _row(i), "DEC", "356",
                         f"child {child[i]}: the episode ends ({frame['DEC'].iat[int(i)]}) "
                         f"before it starts ({frame['DECOM'].iat[int(i)]})")
                 for i in np.flatnonzero(backwards)]
    if table.year is not None:
        year_end = pd.Timestamp(year=table.year, month=3, day=31)
        late = ((dec > year_end) | (decom > year_end)).to_numpy()
        problems += [Problem(table.name, _row(i), "DEC", "354",
                             f"child {child[i]}: episode dates must be on or before the end of "
                             f"the collection year ({year_end:%d/%m/%Y})")
                     for i in np.flatnonzero(late)]
    reasons = (frame["REASON_PLACE_CHANGE"] if "REASON_PLACE_CHANGE" in frame.columns
               else pd.Series("", index=frame.index))
    typed = pd.DataFrame({
        "CHILD": frame["CHILD"], "DECOM": decom, "DEC": dec,
        **{c: _as_codes(frame[c], codes) for c, codes in EPISODE_CODES.items()},
        "REASON_PLACE_CHANGE": _as_codes(reasons, REASON_PLACE_CHANGE_CODES),
        "row": np.arange(len(frame)) + FIRST_DATA_LINE,
        "file": table.name,
        "collection_year": table.year or 0,
    })
    usable = decom.notna().to_numpy() & ~blank.to_numpy()
    problems += _overlaps(typed if usable.all() else typed[usable])
    return typed, problems


def _overlaps(episodes: pd.DataFrame) -> list[Problem]:
    """Rule 501: within one file, an episode may not start before the previous one ended."""
    ordered = episodes.iloc[_order(episodes["CHILD"], episodes["DECOM"])]
    same_child = ordered["CHILD"].eq(ordered["CHILD"].shift())
    previous_end = ordered["DEC"].shift()
    previous_open = previous_end.isna() & same_child
    overlap = same_child & (previous_open | (ordered["DECOM"] < previous_end))
    hits = ordered[overlap.to_numpy()]
    return [Problem(str(f), int(r), "DECOM", "501",
                    f"child {c}: a new episode starts ({d:%d/%m/%Y}) before the previous episode "
                    "ended")
            for f, r, c, d in zip(hits["file"], hits["row"], hits["CHILD"], hits["DECOM"],
                                  strict=True)]


def check_returns(paths: Sequence[Path | str]) -> CheckedReturns:
    """Read and check every file; raise IngestError with every problem, or return typed tables."""
    tables, problems = read_tables([Path(p) for p in paths])
    if not any(t.table == EPISODES for t in tables) and not problems:
        problems.append(Problem(", ".join(str(p) for p in paths), None, None, "903-files",
                                "no SSDA903 episodes table among the files"))
    if not any(t.table == HEADER for t in tables) and not problems:
        problems.append(Problem(", ".join(str(p) for p in paths), None, None, "903-files",
                                "no SSDA903 header table among the files"))
    headers: list[pd.DataFrame] = []
    episode_frames: list[pd.DataFrame] = []
    for table in tables:
        if table.table == HEADER:
            typed, found = _check_header(table)
            headers.append(typed)
        else:
            typed, found = _check_episodes(table)
            episode_frames.append(typed)
        problems += found
    if headers and episode_frames:
        children = pd.concat(headers, ignore_index=True)
        episodes = pd.concat(episode_frames, ignore_index=True)
        named_children = (children["CHILD"] != "").to_numpy()
        named_episodes = (episodes["CHILD"] != "").to_numpy()
        problems += _cross_checks(
            children if named_children.all() else children[named_children],
            episodes if named_episodes.all() else episodes[named_episodes])
    if problems:
        raise IngestError(problems)
    children = children.iloc[_order(children["CHILD"], children["year"])]
    children = children[_last_of_each(children["CHILD"])][["CHILD", "SEX", "DOB", "ETHNIC"]]
    episodes = _combine_years(episodes)
    years = tuple(sorted({int(y) for y in episodes["collection_year"] if y}))
    data_end = (pd.Timestamp(year=max(years), month=3, day=31) if years
                else pd.Timestamp(episodes[["DECOM", "DEC"]].max().max()))
    return CheckedReturns(children.reset_index(drop=True), episodes, years,
                          tuple(t.path for t in tables), data_end)


def _order(child: pd.Series, *then: pd.Series) -> npt.NDArray[np.intp]:
    """Row order by child (grouped, in order of first appearance), then by the other keys."""
    codes, _ = pd.factorize(child)
    keys = [np.asarray(pd.Series(k).to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
                       .astype(np.int64)) if pd.api.types.is_datetime64_any_dtype(k)
            else np.asarray(k, dtype=np.int64) for k in then]
    return np.lexsort((*reversed(keys), codes))


def _last_of_each(child: pd.Series) -> npt.NDArray[np.bool_]:
    """For rows grouped by child: True on the last row of each child."""
    values = child.to_numpy()
    return np.r_[values[1:] != values[:-1], True]


def _cross_checks(children: pd.DataFrame, episodes: pd.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    children = children.iloc[_order(children["CHILD"], children["year"])]
    child = children["CHILD"].to_numpy()
    born_on = children["DOB"].to_numpy(dtype="datetime64[ns]")
    same = child[1:] == child[:-1]
    differs = same & (born_on[1:] != born_on[:-1]) & ~np.isnat(born_on[1:]) & ~np.isnat(
        born_on[:-1])
    for i in np.flatnonzero(differs) + 1:
        row = children.iloc[int(i)]
        problems.append(Problem(str(row["file"]), int(row["row"]), "DOB", "203",
                                f"child {row['CHILD']}: date of birth disagrees with the date "
                                "of birth already recorded for this child"))
    latest = children[_last_of_each(children["CHILD"])]
    position = pd.Index(latest["CHILD"]).get_indexer(episodes["CHILD"])
    known = position >= 0
    for i in np.flatnonzero(~known):
        episode = episodes.iloc[int(i)]
        problems.append(Problem(str(episode["file"]), int(episode["row"]), "CHILD", "903-header",
                                f"child {episode['CHILD']}: has episodes but no header record"))
    born = latest["DOB"].to_numpy(dtype="datetime64[ns]")[np.where(known, position, 0)]
    before_birth = (episodes["DECOM"].to_numpy(dtype="datetime64[ns]") < born) & known
    for i in np.flatnonzero(before_birth):
        episode = episodes.iloc[int(i)]
        problems.append(Problem(str(episode["file"]), int(episode["row"]), "DECOM", "302",
                                f"child {episode['CHILD']}: episode starts "
                                f"({episode['DECOM']:%d/%m/%Y}) before the child was born"))
    return problems


def _combine_years(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per episode across returns: the latest return's version of each (CHILD, DECOM).

    An episode left open in an earlier return that a later return no longer holds is closed the
    day the child's next episode starts (as a continuation), so histories never overlap.
    """
    order = _order(episodes["CHILD"], episodes["DECOM"], episodes["collection_year"])
    codes = pd.factorize(episodes["CHILD"])[0][order]
    starts = episodes["DECOM"].to_numpy(dtype="datetime64[ns]")[order]
    repeated = np.r_[(codes[1:] == codes[:-1]) & (starts[1:] == starts[:-1]), False]
    columns = ["CHILD", "DECOM", "DEC", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC",
               "REASON_PLACE_CHANGE", "collection_year"]
    latest = episodes.iloc[order[~repeated]][columns].reset_index(drop=True)
    kept = codes[~repeated]
    has_next = np.r_[kept[1:] == kept[:-1], False]
    next_start = latest["DECOM"].shift(-1).where(has_next)
    stale = next_start.notna() & (latest["DEC"].isna() | (latest["DEC"] > next_start))
    if bool(stale.any()):
        latest.loc[stale, "DEC"] = next_start[stale]
        latest.loc[stale, "REC"] = CONTINUATION_REC
    return latest
