"""Care histories from SSDA903 episodes: spells (periods of care) and placement periods, with age.

An episode that ends with reason 'X1' and is followed the same day by another episode of the same
child continues the same spell; consecutive episodes in the same placement category (a move
between two foster carers, a change of legal status) form one placement period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from sf_benefits.ingest.ssda903.codes import CONTINUATION_REC, PLACEMENT_OF_PLACE
from sf_benefits.ingest.ssda903.load import Ssda903Data
from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.childlevel.ages import (
    AGE_BAND_LOWER_YEARS,
    AGE_BANDS,
    CARE_ENDS_AT_YEARS,
    DAYS_PER_YEAR,
    age_band_index,
)

EXIT = "exit"
OPEN = "open"


def age_in_years(dob: pd.Series | pd.Timestamp, when: pd.Series | pd.Timestamp
                 ) -> npt.NDArray[np.float64]:
    """Exact age in years (days / 365.25) at `when`."""
    days = (pd.to_datetime(when) - pd.to_datetime(dob))
    if isinstance(days, pd.Timedelta):
        return np.asarray([days.days / DAYS_PER_YEAR])
    return np.asarray(days.dt.days, dtype=float) / DAYS_PER_YEAR


def eighteenth_birthday(dob: pd.Series) -> pd.Series:
    """The date each child turns 18, when their care ends at the latest."""
    born = pd.to_datetime(dob)
    return born + pd.DateOffset(years=CARE_ENDS_AT_YEARS)


@dataclass
class CareHistories:
    """Placement periods and spells of every child, with the category they move to next.

    `periods`: child_id, spell, placement, start, end (NaT while open), dob, next (a placement,
    'exit' or 'open'), aged_out (left care on turning 18). `spells`: child_id, spell, start, end,
    dob, entry_placement, age_at_start, age_at_end. `data_end` is the last day the data cover.
    """

    periods: pd.DataFrame
    spells: pd.DataFrame
    data_end: pd.Timestamp
    placements: tuple[str, ...]
    la_code: str
    collection_years: tuple[int, ...]


def build_histories(data: Ssda903Data, placement_map: Mapping[str, str] | None = None,
                    placements: Sequence[str] = PLACEMENTS) -> CareHistories:
    """Merge each child's episodes into spells and placement periods in `placements` categories.

    `placement_map` maps PLACE codes to categories (default: the LA-level placement types);
    codes it does not list fall in the last category.
    """
    mapping = dict(PLACEMENT_OF_PLACE if placement_map is None else placement_map)
    placements = tuple(placements)
    codes, _ = pd.factorize(data.episodes["child_id"])
    starts = data.episodes["decom"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    in_order = bool(np.all((codes[1:] > codes[:-1])
                           | ((codes[1:] == codes[:-1]) & (starts[1:] >= starts[:-1]))))
    episodes = (data.episodes.reset_index(drop=True) if in_order
                else data.episodes.iloc[np.lexsort((starts, codes))].reset_index(drop=True))
    births = data.children.drop_duplicates("child_id")
    dob_index = pd.Index(births["child_id"])
    dob_values = births["dob"].to_numpy(dtype="datetime64[ns]")
    child = episodes["child_id"].to_numpy()
    decom = episodes["decom"].to_numpy(dtype="datetime64[ns]")
    dec = episodes["dec"].to_numpy(dtype="datetime64[ns]")
    rec = episodes["rec"].to_numpy()
    place_codes, place_values = pd.factorize(episodes["place"])
    category = np.asarray([mapping.get(str(v), placements[-1]) for v in place_values],
                          dtype=object)[place_codes]

    same_child = np.r_[False, child[1:] == child[:-1]]
    continues = same_child & np.r_[False, dec[:-1] == decom[1:]] & np.r_[False,
                                                                         rec[:-1] == CONTINUATION_REC]
    new_spell = ~continues
    new_period = new_spell | np.r_[True, category[1:] != category[:-1]]
    spell_id = np.cumsum(new_spell)

    first = np.flatnonzero(new_period)
    last = np.r_[first[1:] - 1, len(episodes) - 1]
    periods = pd.DataFrame({
        "child_id": child[first], "spell": spell_id[first], "placement": category[first],
        "start": decom[first], "end": dec[last], "rec": rec[last],
    })
    periods["dob"] = dob_values[dob_index.get_indexer(periods["child_id"])]
    period_spell = periods["spell"].to_numpy()
    same_spell_next = np.r_[period_spell[1:] == period_spell[:-1], False]
    next_placement = np.r_[periods["placement"].to_numpy()[1:], [""]]
    is_open = periods["end"].isna().to_numpy()
    periods["next"] = np.where(same_spell_next, next_placement, np.where(is_open, OPEN, EXIT))
    turns_18 = eighteenth_birthday(periods["dob"])
    periods["aged_out"] = ((periods["next"] == EXIT)
                           & (periods["end"] >= turns_18 - pd.Timedelta(days=1))).to_numpy()

    grouped = periods.groupby("spell", sort=True)
    spells = pd.DataFrame({
        "child_id": grouped["child_id"].first(), "start": grouped["start"].first(),
        "end": grouped["end"].last(), "dob": grouped["dob"].first(),
        "entry_placement": grouped["placement"].first(),
    }).reset_index()
    spells["age_at_start"] = age_in_years(spells["dob"], spells["start"])
    spells["age_at_end"] = age_in_years(spells["dob"], spells["end"])
    return CareHistories(periods, spells, pd.Timestamp(data.data_end), placements, data.la_code,
                         tuple(data.collection_years))


def population_at(histories: CareHistories, dates: Sequence[pd.Timestamp]) -> pd.DataFrame:
    """Children in care on each date by placement and age band (tidy: date, placement,
    age_band, children), counting a child whose placement is open at the end of the day."""
    periods = histories.periods
    start = periods["start"].to_numpy(dtype="datetime64[ns]")
    end = periods["end"].to_numpy(dtype="datetime64[ns]")
    dob = periods["dob"]
    placement_index = pd.Categorical(periods["placement"],
                                     categories=list(histories.placements)).codes
    rows = []
    n_bands, n_places = len(AGE_BANDS), len(histories.placements)
    for when in dates:
        stamp = np.datetime64(pd.Timestamp(when), "ns")
        in_care = (start <= stamp) & (np.isnat(end) | (end > stamp))
        bands = age_band_index(age_in_years(dob[in_care], pd.Timestamp(when)))
        counts = np.bincount(bands * n_places + placement_index[in_care],
                             minlength=n_bands * n_places).reshape(n_bands, n_places)
        for b, band in enumerate(AGE_BANDS):
            for k, place in enumerate(histories.placements):
                rows.append((pd.Timestamp(when), place, band, int(counts[b, k])))
    return pd.DataFrame(rows, columns=["date", "placement", "age_band", "children"])


def band_exposure_days(dob: npt.NDArray[np.datetime64], start: npt.NDArray[np.datetime64],
                       end: npt.NDArray[np.datetime64]) -> npt.NDArray[np.float64]:
    """Days each interval [start, end) spends in each age band: an (n, bands) array."""
    born = dob.astype("datetime64[D]").astype(np.int64).astype(float)
    first = start.astype("datetime64[D]").astype(np.int64).astype(float)
    last = end.astype("datetime64[D]").astype(np.int64).astype(float)
    lowers = np.asarray(AGE_BAND_LOWER_YEARS, dtype=float)
    uppers = np.r_[lowers[1:], float(CARE_ENDS_AT_YEARS)]
    band_start = born[:, None] + lowers[None, :] * DAYS_PER_YEAR
    band_end = born[:, None] + uppers[None, :] * DAYS_PER_YEAR
    band_end[:, -1] = np.inf
    overlap = np.minimum(last[:, None], band_end) - np.maximum(first[:, None], band_start)
    return np.clip(overlap, 0.0, None)
