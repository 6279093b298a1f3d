"""Seeded synthetic SSDA903 returns with known (planted) entry and transition rates.

Children enter care as a Poisson process by age band, then move between placement categories and
out of care with constant yearly hazards that depend on age band and current placement, as in a
continuous-time multi-state model; every child leaves care on their 18th birthday. Placement moves
within a category and legal-status changes create extra episodes that do not change the category,
as in real returns. The simulation starts 18 years before the first collection year so the care
population is in equilibrium when the returns begin. Tests use the planted rates to check that the
child-level engine recovers them; the benchmark uses the files as a stand-in for real returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from sf_benefits.ingest.ssda903.codes import EPISODE_COLUMNS, HEADER_COLUMNS
from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.childlevel.ages import (
    AGE_BAND_LOWER_YEARS,
    AGE_BANDS,
    CARE_ENDS_AT_YEARS,
    DAYS_PER_YEAR,
)

EXIT = len(PLACEMENTS)
"""Column index of 'left care' in the hazard array (after the placement categories)."""

_P = {name: i for i, name in enumerate(PLACEMENTS)}
_B = len(AGE_BANDS)
_K = len(PLACEMENTS)


@dataclass(frozen=True, eq=False)
class PlantedRates:
    """Rates the synthetic returns are simulated from (per child-year; entries per year at 1x).

    `hazards[band, from, to]` is the yearly hazard of moving from placement `from` to placement
    `to` (or out of care when `to == EXIT`) for a child in age band `band`.
    """

    entries_per_year: npt.NDArray[np.float64]
    entry_mix: npt.NDArray[np.float64]
    hazards: npt.NDArray[np.float64]
    within_category_moves: float = 0.35


def default_planted_rates() -> PlantedRates:
    """Plausible rates for an average English LA (about 220 entries and 550 in care at 1x)."""
    entries = np.array([45.0, 35.0, 35.0, 65.0, 40.0])
    mix = np.zeros((_B, _K))
    mixes = {
        0: {"foster": 0.80, "placed_with_parents": 0.05, "other_residential": 0.10, "other": 0.05},
        1: {"foster": 0.88, "placed_with_parents": 0.06, "childrens_homes_secure": 0.01,
            "other": 0.05},
        2: {"foster": 0.87, "placed_with_parents": 0.05, "childrens_homes_secure": 0.03,
            "other": 0.05},
        3: {"foster": 0.72, "childrens_homes_secure": 0.15, "other_residential": 0.03,
            "placed_with_parents": 0.04, "other": 0.06},
        4: {"foster": 0.40, "childrens_homes_secure": 0.15, "independent_living": 0.35,
            "other_residential": 0.04, "other": 0.06},
    }
    for band, shares in mixes.items():
        for name, share in shares.items():
            mix[band, _P[name]] = share
    hazards = np.zeros((_B, _K, _K + 1))

    def put(source: str, target: str, by_band: list[float]) -> None:
        column = EXIT if target == "exit" else _P[target]
        hazards[:, _P[source], column] = by_band

    put("foster", "exit", [0.40, 0.30, 0.16, 0.14, 0.22])
    put("foster", "childrens_homes_secure", [0.0, 0.005, 0.02, 0.07, 0.05])
    put("foster", "placed_with_parents", [0.05, 0.05, 0.04, 0.04, 0.03])
    put("foster", "placed_for_adoption", [0.30, 0.20, 0.03, 0.0, 0.0])
    put("foster", "independent_living", [0.0, 0.0, 0.0, 0.0, 0.25])
    put("foster", "other", [0.05] * 5)
    put("foster", "other_residential", [0.01, 0.01, 0.01, 0.02, 0.02])
    put("childrens_homes_secure", "exit", [0.5, 0.5, 0.3, 0.25, 0.3])
    put("childrens_homes_secure", "foster", [0.3, 0.3, 0.2, 0.12, 0.05])
    put("childrens_homes_secure", "independent_living", [0.0, 0.0, 0.0, 0.0, 0.35])
    put("childrens_homes_secure", "other_residential", [0.0, 0.0, 0.02, 0.05, 0.05])
    put("childrens_homes_secure", "other", [0.05] * 5)
    put("other_residential", "exit", [0.6, 0.5, 0.4, 0.4, 0.4])
    put("other_residential", "foster", [1.0, 0.6, 0.3, 0.2, 0.1])
    put("other_residential", "childrens_homes_secure", [0.0, 0.0, 0.1, 0.2, 0.2])
    put("placed_with_parents", "exit", [0.7, 0.7, 0.6, 0.6, 0.5])
    put("placed_with_parents", "foster", [0.15] * 5)
    put("independent_living", "exit", [0.5, 0.5, 0.5, 0.5, 0.45])
    put("independent_living", "childrens_homes_secure", [0.0, 0.0, 0.0, 0.0, 0.05])
    put("independent_living", "foster", [0.02] * 5)
    put("placed_for_adoption", "exit", [1.6, 1.4, 1.0, 0.5, 0.3])
    put("placed_for_adoption", "foster", [0.05] * 5)
    put("other", "exit", [1.0] * 5)
    put("other", "foster", [1.5] * 5)
    put("other", "childrens_homes_secure", [0.0, 0.0, 0.2, 0.4, 0.4])
    return PlantedRates(entries_per_year=entries, entry_mix=mix, hazards=hazards)


@dataclass
class SyntheticReturns:
    """One header and one episodes table per collection year (year ending 31 March), as DfE text."""

    headers: dict[int, pd.DataFrame]
    episodes: dict[int, pd.DataFrame]
    rates: PlantedRates
    scale: float
    seed: int
    years: tuple[int, ...] = field(default=())

    def write(self, directory: Path, fmt: str = "csv") -> list[Path]:
        """Write `<dir>/<year>/header.<fmt>` and `episodes.<fmt>` (fmt 'csv' or 'xlsx')."""
        written: list[Path] = []
        for year in self.years:
            folder = Path(directory) / str(year)
            folder.mkdir(parents=True, exist_ok=True)
            for name, table in (("header", self.headers[year]), ("episodes", self.episodes[year])):
                path = folder / f"{name}.{fmt}"
                if fmt == "csv":
                    table.to_csv(path, index=False)
                elif fmt == "xlsx":
                    table.to_excel(path, index=False)
                else:
                    raise ValueError(f"unknown format {fmt!r}; use 'csv' or 'xlsx'")
                written.append(path)
        return written


# Placement codes by category and age band: (codes, weights).
_PLACE_CHOICES: dict[str, list[tuple[tuple[str, ...], tuple[float, ...]]]] = {
    "foster": [(("U1", "U2", "U3", "U4", "U5", "U6"), (0.1, 0.1, 0.1, 0.25, 0.25, 0.2))] * _B,
    "childrens_homes_secure": [(("K2",), (1.0,))] * 2
    + [(("K2", "R1", "K1"), (0.85, 0.07, 0.08))] * 3,
    "other_residential": [(("R3",), (1.0,))] * 2 + [(("R3", "S1", "R2"), (0.2, 0.5, 0.3))]
    + [(("R3", "S1", "R2", "R5"), (0.1, 0.4, 0.2, 0.3))] * 2,
    "placed_with_parents": [(("P1",), (1.0,))] * _B,
    "independent_living": [(("H5",), (1.0,))] * 4 + [(("H5", "P2"), (0.7, 0.3))],
    "placed_for_adoption": [(("A3", "A4", "A5", "A6"), (0.3, 0.2, 0.3, 0.2))] * _B,
    "other": [(("Z1",), (1.0,))] * _B,
}
_PLACE_LIST: tuple[str, ...] = tuple(sorted({c for v in _PLACE_CHOICES.values()
                                             for codes, _ in v for c in codes}))
_PROVIDERS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "U": (("PR1", "PR4", "PR5"), (0.6, 0.3, 0.1)),
    "K": (("PR1", "PR4", "PR2"), (0.3, 0.6, 0.1)),
    "R": (("PR3", "PR4"), (0.5, 0.5)),
    "S": (("PR5", "PR4"), (0.5, 0.5)),
    "P1": (("PR0",), (1.0,)),
    "P2": (("PR4", "PR1"), (0.7, 0.3)),
    "H": (("PR4", "PR1"), (0.7, 0.3)),
    "A": (("PR1", "PR2"), (0.8, 0.2)),
    "Z": (("",), (1.0,)),
}
_EXIT_REC = (("E4A", "E4B", "E41", "E45", "E46", "E8"), (0.45, 0.1, 0.1, 0.15, 0.1, 0.1))
_ADOPTED_REC = (("E11", "E12"), (0.7, 0.3))
_AGED_OUT_REC = (("E5", "E6", "E13", "E8"), (0.4, 0.1, 0.25, 0.25))
_ENTRY_LS = (("C1", "V2"), (0.6, 0.4))
_CIN = (("N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8"),
        (0.62, 0.04, 0.04, 0.15, 0.03, 0.03, 0.02, 0.07))
_ETHNIC = (("WBRI", "WOTH", "MWBC", "MOTH", "APKN", "AOTH", "BAFR", "BCRB", "OOTH", "REFU"),
           (0.70, 0.05, 0.05, 0.05, 0.03, 0.03, 0.04, 0.02, 0.02, 0.01))


def _choose(rng: np.random.Generator, choices: tuple[tuple[str, ...], tuple[float, ...]],
            size: int) -> npt.NDArray[np.object_]:
    codes, weights = choices
    picked = rng.choice(len(codes), size=size, p=np.asarray(weights) / np.sum(weights))
    return np.asarray(codes, dtype=object)[picked]


def _place_table() -> npt.NDArray[np.float64]:
    """Cumulative weights over _PLACE_LIST for each (category, band)."""
    table = np.zeros((_K, _B, len(_PLACE_LIST)))
    for name, per_band in _PLACE_CHOICES.items():
        for band, (codes, weights) in enumerate(per_band):
            for code, weight in zip(codes, weights, strict=True):
                table[_P[name], band, _PLACE_LIST.index(code)] = weight
    table /= table.sum(axis=2, keepdims=True)
    return np.cumsum(table, axis=2)


def _draw_place(rng: np.random.Generator, cumulative: npt.NDArray[np.float64],
                category: npt.NDArray[np.int64], band: npt.NDArray[np.int64]
                ) -> npt.NDArray[np.int64]:
    u = rng.random(category.size)
    index = (cumulative[category, band] < u[:, None]).sum(axis=1)
    return np.minimum(index, len(_PLACE_LIST) - 1)


def _band_upper_days(band: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    uppers = np.asarray(AGE_BAND_LOWER_YEARS[1:] + (CARE_ENDS_AT_YEARS,), dtype=float)
    return uppers[band] * DAYS_PER_YEAR


def simulate_episodes(rates: PlantedRates, scale: float, first_day: int, last_day: int,
                      seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate every care episode from 18 years before `first_day` to `last_day` (epoch days).

    Returns (children, episodes): children with integer ids, dob (epoch day) and sex; episodes
    with child, decom, dec (-1 when still open on `last_day`), place, ls, rne, rec, category.
    """
    rng = np.random.default_rng(seed)
    origin = first_day - int(CARE_ENDS_AT_YEARS * DAYS_PER_YEAR)
    span_years = (last_day - origin) / DAYS_PER_YEAR
    counts = rng.poisson(rates.entries_per_year * scale * span_years)
    entry_band = np.repeat(np.arange(_B), counts)
    n = entry_band.size
    entry_time = rng.uniform(origin, last_day, size=n)
    lower = np.asarray(AGE_BAND_LOWER_YEARS, dtype=float)[entry_band] * DAYS_PER_YEAR
    upper = _band_upper_days(entry_band)
    dob = entry_time - rng.uniform(lower, upper - 1.0)
    category = np.empty(n, dtype=np.int64)
    for band in range(_B):
        members = np.flatnonzero(entry_band == band)
        category[members] = rng.choice(_K, size=members.size, p=rates.entry_mix[band])
    cumulative_place = _place_table()
    place = _draw_place(rng, cumulative_place, category, entry_band)
    ls = _choose(rng, _ENTRY_LS, n)
    adoption = category == _P["placed_for_adoption"]
    ls[adoption] = "E1"
    rne = np.full(n, "S", dtype=object)
    current_band = entry_band.copy()
    t = entry_time.copy()
    start = entry_time.copy()

    records: list[dict[str, npt.NDArray[np.generic]]] = []

    def close(idx: npt.NDArray[np.int64], end: npt.NDArray[np.float64],
              rec: npt.NDArray[np.object_]) -> None:
        records.append({
            "child": idx, "decom": start[idx].copy(), "dec": end, "category": category[idx].copy(),
            "place": place[idx].copy(), "ls": ls[idx].copy(), "rne": rne[idx].copy(), "rec": rec,
        })

    active = np.arange(n)
    within = rates.within_category_moves
    while active.size:
        now = t[active]
        age_band = current_band[active]
        to_boundary = dob[active] + _band_upper_days(age_band) - now
        hazard = rates.hazards[age_band, category[active]]
        total = hazard.sum(axis=1) + within
        wait = rng.exponential(1.0, size=active.size) / total * DAYS_PER_YEAR
        step = np.minimum(wait, to_boundary)
        reaches_end = now + step >= last_day
        if reaches_end.any():
            idx = active[reaches_end]
            close(idx, np.full(idx.size, np.nan), np.full(idx.size, "", dtype=object))
        crosses = ~reaches_end & (to_boundary <= wait)
        ages_out = crosses & (age_band == _B - 1)
        if ages_out.any():
            idx = active[ages_out]
            close(idx, dob[idx] + CARE_ENDS_AT_YEARS * DAYS_PER_YEAR,
                  _choose(rng, _AGED_OUT_REC, idx.size))
        t[active[crosses]] = (dob[active] + _band_upper_days(age_band))[crosses]
        current_band[active[crosses & ~ages_out]] += 1
        event = ~reaches_end & ~crosses
        keep = ~reaches_end & ~ages_out
        if event.any():
            idx = active[event]
            when = now[event] + wait[event]
            probabilities = np.concatenate([hazard[event], np.full((idx.size, 1), within)],
                                           axis=1) / total[event, None]
            outcome = (np.cumsum(probabilities, axis=1)
                       < rng.random(idx.size)[:, None]).sum(axis=1)
            outcome = np.minimum(outcome, _K + 1)
            leaves = outcome == EXIT
            if leaves.any():
                left = idx[leaves]
                rec = _choose(rng, _EXIT_REC, left.size)
                adopted = category[left] == _P["placed_for_adoption"]
                rec[adopted] = _choose(rng, _ADOPTED_REC, int(adopted.sum()))
                not_fostered = (category[left] != _P["foster"]) & np.isin(rec, ["E45", "E46"])
                rec[not_fostered] = "E4A"
                close(left, when[leaves], rec)
                keep[np.flatnonzero(event)[leaves]] = False
            moves = ~leaves
            if moves.any():
                moved = idx[moves]
                at = when[moves]
                close(moved, at, np.full(moved.size, "X1", dtype=object))
                target = outcome[moves]
                same = target == _K + 1
                new_category = np.where(same, category[moved], target)
                band_now = current_band[moved]
                legal_only = same & (rng.random(moved.size) < 0.3) & np.isin(ls[moved],
                                                                            ["C1", "V2"])
                new_place = _draw_place(rng, cumulative_place, new_category, band_now)
                place[moved] = np.where(legal_only, place[moved], new_place)
                into_adoption = (new_category == _P["placed_for_adoption"]) & ~same
                new_ls = ls[moved].copy()
                new_ls[legal_only] = "C2"
                new_ls[into_adoption] = "E1"
                ls[moved] = new_ls
                rne[moved] = np.where(legal_only, "L", np.where(into_adoption, "T", "P"))
                category[moved] = new_category
                start[moved] = at
                t[moved] = at
        active = active[keep]

    episodes = pd.DataFrame({
        key: np.concatenate([r[key] for r in records]) for key in records[0]
    }) if records else pd.DataFrame(columns=["child", "decom", "dec", "category", "place", "ls",
                                             "rne", "rec"])
    episodes["decom"] = np.floor(episodes["decom"].to_numpy(dtype=float)).astype(np.int64)
    dec = episodes["dec"].to_numpy(dtype=float)
    episodes["dec"] = np.where(np.isnan(dec), -1, np.floor(np.nan_to_num(dec))).astype(np.int64)
    episodes["place"] = np.asarray(_PLACE_LIST, dtype=object)[episodes["place"].to_numpy()]
    episodes = _drop_zero_length(episodes.sort_values(["child", "decom", "dec"],
                                                      kind="stable"))
    children = pd.DataFrame({"child": np.arange(n), "dob": np.floor(dob).astype(np.int64),
                             "sex": rng.choice(["1", "2"], size=n)})
    return children, episodes.reset_index(drop=True)


def _drop_zero_length(episodes: pd.DataFrame) -> pd.DataFrame:
    """Remove episodes that start and end on the same day, keeping histories continuous."""
    for _ in range(5):
        zero = (episodes["dec"] == episodes["decom"]).to_numpy()
        if not zero.any():
            break
        child = episodes["child"].to_numpy()
        first = np.r_[True, child[1:] != child[:-1]]
        last = np.r_[child[1:] != child[:-1], True]
        rne = episodes["rne"].to_numpy().copy()
        rec = episodes["rec"].to_numpy().copy()
        next_index = np.flatnonzero(zero & first & ~last) + 1
        rne[next_index] = "S"
        prev_index = np.flatnonzero(zero & last & ~first) - 1
        rec[prev_index] = rec[prev_index + 1]
        episodes = episodes.assign(rne=rne, rec=rec)[~zero]
    return episodes


def _format_dates(days: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    """Epoch days as dd/mm/YYYY text; negative days (open episodes) become blank."""
    dates = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    year = (months.astype("datetime64[Y]").astype(np.int64) + 1970).astype(str)
    month = np.char.zfill((months.astype(np.int64) % 12 + 1).astype(str), 2)
    day = np.char.zfill(((dates - months.astype("datetime64[D]")).astype(np.int64) + 1)
                        .astype(str), 2)
    text = np.char.add(np.char.add(np.char.add(np.char.add(day, "/"), month), "/"), year)
    result = text.astype(object)
    result[np.asarray(days) < 0] = ""
    return result


def _epoch_day(year: int, month: int, day: int) -> int:
    return int((pd.Timestamp(year=year, month=month, day=day) - pd.Timestamp(0)).days)


def generate_returns(years: tuple[int, ...] = (2019, 2020, 2021, 2022, 2023), scale: float = 1.0,
                     seed: int = 903, rates: PlantedRates | None = None) -> SyntheticReturns:
    """Simulate SSDA903 header and episodes returns for collection `years` at `scale` x one LA."""
    rates = rates or default_planted_rates()
    years = tuple(sorted(years))
    first_day = _epoch_day(years[0] - 1, 4, 1)
    last_day = _epoch_day(years[-1], 3, 31) + 1
    children, episodes = simulate_episodes(rates, scale, first_day, last_day, seed)
    rng = np.random.default_rng(seed + 1)
    n = len(children)
    ids = rng.choice(np.arange(10**6, 10**7), size=n, replace=False).astype(str)
    ids = np.char.add("C", ids)
    dob_text = _format_dates(children["dob"].to_numpy())
    sex = children["sex"].to_numpy()
    ethnic = _choose(rng, _ETHNIC, n)
    upn = np.char.add("A", rng.integers(10**11, 10**12, size=n).astype(str)).astype(object)
    mother = np.where(sex == "2", "0", "").astype(object)
    cin = _choose(rng, _CIN, n)
    child = episodes["child"].to_numpy()
    m = len(episodes)
    place = episodes["place"].to_numpy()
    provider = np.empty(m, dtype=object)
    for letter, choices in _PROVIDERS.items():
        where = np.flatnonzero(np.char.startswith(place.astype(str), letter))
        provider[where] = _choose(rng, choices, where.size)
    urn = np.where(np.isin(place, ["K1", "K2", "R1"]),
                   np.char.add("SC", rng.integers(100000, 999999, size=m).astype(str)), "")
    home_post = np.char.add("ZZ9", rng.integers(0, 10, size=n).astype(str))
    home_post = np.char.add(home_post, " 9ZZ")
    place_post = np.char.add("YY9", rng.integers(0, 10, size=m).astype(str))
    place_post = np.char.add(place_post, " 9YY").astype(object)
    place_post[place == "P1"] = home_post[child[place == "P1"]]
    rne = episodes["rne"].to_numpy()
    ls = episodes["ls"].to_numpy().copy()
    ls[(place == "P1") & (ls == "V2")] = "C1"
    same_child_next = np.r_[child[1:] == child[:-1], False]
    placement_changes_next = same_child_next & np.r_[np.isin(rne[1:], ["P", "T"]), False]
    change_reason = np.where(placement_changes_next,
                             _choose(rng, (("CARPL", "CHILD", "LAREQ", "PLACE", "OTHER"),
                                           (0.4, 0.15, 0.2, 0.15, 0.1)), m), "")
    for _ in range(3):
        legal_only = np.flatnonzero(rne == "L")
        provider[legal_only] = provider[legal_only - 1]
        urn[legal_only] = urn[legal_only - 1]
        place_post[legal_only] = place_post[legal_only - 1]
    decom = episodes["decom"].to_numpy()
    dec = episodes["dec"].to_numpy()
    full = pd.DataFrame({
        "CHILD": ids[child], "DECOM": _format_dates(decom), "RNE": episodes["rne"].to_numpy(),
        "LS": ls, "CIN": cin[child], "PLACE": place,
        "PLACE_PROVIDER": provider, "DEC": _format_dates(dec), "REC": episodes["rec"].to_numpy(),
        "REASON_PLACE_CHANGE": change_reason, "HOME_POST": home_post[child],
        "PL_POST": place_post, "URN": urn,
    })
    headers: dict[int, pd.DataFrame] = {}
    year_episodes: dict[int, pd.DataFrame] = {}
    for year in years:
        start_day = _epoch_day(year - 1, 4, 1)
        end_day = _epoch_day(year, 3, 31)
        in_year = (decom <= end_day) & ((dec >= start_day) | (dec < 0))
        table = full.loc[in_year].copy()
        still_open = (dec[in_year] > end_day) | (dec[in_year] < 0)
        table.loc[still_open, ["DEC", "REC"]] = ""
        year_episodes[year] = table.reset_index(drop=True)[list(EPISODE_COLUMNS)]
        who = np.unique(child[in_year])
        headers[year] = pd.DataFrame({
            "CHILD": ids[who], "SEX": sex[who], "DOB": dob_text[who], "ETHNIC": ethnic[who],
            "UPN": upn[who], "MOTHER": mother[who], "MC_DOB": "",
        })[list(HEADER_COLUMNS)]
    return SyntheticReturns(headers=headers, episodes=year_episodes, rates=rates, scale=scale,
                            seed=seed, years=years)
