"""Care histories from SSDA903 episodes: spells (periods of care) and placement periods, with age.

An episode that ends with reason 'X1' and is followed the same day by another episode of the same
child continues the same spell; consecutive episodes in the same placement category (a move
between two foster carers, a change of legal status) form one placement period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.project.childlevel.ages import (
    AGE_BAND_LOWER_YEARS,
    AGE_BANDS,
    CARE_ENDS_AT_YEARS,
    DAYS_PER_YEAR,
    age_band_index,
)
from sf_benefits.ssda903_data import (
    CONTINUATION_REC,
    PLACEMENT_OF_PLACE,
    EpisodeColumns,
    Ssda903Data,
)

if TYPE_CHECKING:
    import pandas as pd

EXIT = "exit"
OPEN = "open"


def age_in_years(dob: pd.Series | pd.Timestamp, when: pd.Series | pd.Timestamp
                 ) -> npt.NDArray[np.float64]:
    """Exact age in years (days / 365.25) at `when`."""
    import pandas as pd

    if isinstance(dob, pd.Series) and _is_ns(dob):
        born = dob.to_numpy(dtype="datetime64[ns]")
        if isinstance(when, pd.Timestamp):
            return _whole_days(born, np.datetime64(when, "ns")) / DAYS_PER_YEAR
        if isinstance(when, pd.Series) and _is_ns(when) and when.index.equals(dob.index):
            return _whole_days(born, when.to_numpy(dtype="datetime64[ns]")) / DAYS_PER_YEAR
    days = (pd.to_datetime(when) - pd.to_datetime(dob))
    if isinstance(days, pd.Timedelta):
        return np.asarray([days.days / DAYS_PER_YEAR])
    return np.asarray(days.dt.days, dtype=float) / DAYS_PER_YEAR


def _is_ns(values: object) -> bool:
    import pandas as pd

    return isinstance(values, pd.Series) and values.dtype == np.dtype("datetime64[ns]")


def _whole_days(dob: npt.NDArray[np.datetime64], when: npt.NDArray[np.datetime64] | np.datetime64
                ) -> npt.NDArray[np.float64]:
    """Whole days (rounded down, NaN where a date is missing) from `dob` to `when`, as
    `Timedelta.days` but without pandas' date conversion (which hashes every value)."""
    missing = np.isnat(dob) | np.isnat(when)
    gap = np.where(missing, 0, np.asarray(when).astype(np.int64) - dob.astype(np.int64))
    return np.asarray(np.where(missing, np.nan, gap // (86_400 * 10 ** 9)), dtype=float)


def eighteenth_birthday(dob: pd.Series) -> pd.Series:
    """The date each child turns 18, when their care ends at the latest (29 February's children
    on 28 February, as pandas' DateOffset; worked out on the dates' numbers, which is faster)."""
    import pandas as pd

    dates = dob if _is_ns(dob) else pd.to_datetime(dob)
    return pd.Series(_eighteenth_birthday(dates.to_numpy()), index=dob.index, name=dob.name)


def _eighteenth_birthday(born: npt.NDArray[np.datetime64]) -> npt.NDArray[np.datetime64]:
    month = born.astype("datetime64[M]")
    target = (month + 12 * CARE_ENDS_AT_YEARS).astype("datetime64[D]")
    month_days = (month + 12 * CARE_ENDS_AT_YEARS + 1).astype("datetime64[D]") - target
    day = born.astype("datetime64[D]")
    day_of_month = np.minimum(day - month.astype("datetime64[D]"), month_days - 1)
    return target + day_of_month + (born - day)


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


@dataclass(frozen=True)
class CareColumns:
    """What `CareHistories` holds, as arrays (no pandas): `periods` and `spells` have its
    columns, but placement, next and entry_placement are codes into `labels` (the categories
    met, then 'exit' and 'open'); `data_end` is midnight of the last day the data cover."""

    periods: dict[str, npt.NDArray[Any]]
    spells: dict[str, npt.NDArray[Any]]
    labels: npt.NDArray[np.object_]
    data_end: datetime
    placements: tuple[str, ...]
    la_code: str
    collection_years: tuple[int, ...]


def build_histories(data: Ssda903Data, placement_map: Mapping[str, str] | None = None,
                    placements: Sequence[str] = PLACEMENTS) -> CareHistories:
    """Merge each child's episodes into spells and placement periods in `placements` categories.

    `placement_map` maps PLACE codes to categories (default: the LA-level placement types);
    codes it does not list fall in the last category.
    """
    return care_histories(history_columns(episode_columns(data), placement_map, placements))


def care_histories(columns: CareColumns) -> CareHistories:
    """The histories of `columns` as tables."""
    import pandas as pd

    labels = columns.labels
    periods = pd.DataFrame({
        **columns.periods, "placement": labels[columns.periods["placement"]],
        "next": labels[columns.periods["next"]]}, copy=False)
    spells = pd.DataFrame({
        **columns.spells, "entry_placement": labels[columns.spells["entry_placement"]]},
        copy=False)
    return CareHistories(periods, spells, pd.Timestamp(columns.data_end), columns.placements,
                         columns.la_code, columns.collection_years)


def history_columns(episodes: EpisodeColumns, placement_map: Mapping[str, str] | None = None,
                    placements: Sequence[str] = PLACEMENTS) -> CareColumns:
    """`build_histories` on arrays: each child's episodes merged into spells and placement
    periods in `placements` categories."""
    mapping = dict(PLACEMENT_OF_PLACE if placement_map is None else placement_map)
    placements = tuple(placements)
    order = _child_order(episodes)
    child_row = episodes.child if order is None else episodes.child[order]

    def column(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return values if order is None else values[order]

    decom, dec = column(episodes.decom), column(episodes.dec)
    rec = column(episodes.rec)
    continuation = rec == CONTINUATION_REC
    # categories as numbers (each label once), the periods' moves as numbers after them
    names = [mapping.get(str(v), placements[-1]) for v in episodes.place_labels]
    kinds = list(dict.fromkeys(names))
    labels = np.asarray([*kinds, EXIT, OPEN], dtype=object)
    exit_code, open_code = len(kinds), len(kinds) + 1
    category = np.asarray([kinds.index(n) for n in names], dtype=np.intp)[column(episodes.place)]

    child = column(episodes.child_id)
    same_child = np.r_[False, child_row[1:] == child_row[:-1]]
    continues = same_child & np.r_[False, dec[:-1] == decom[1:]] & np.r_[False, continuation[:-1]]
    new_spell = ~continues
    new_period = new_spell | np.r_[True, category[1:] != category[:-1]]
    spell_id = np.cumsum(new_spell)

    first = np.flatnonzero(new_period)
    last = np.r_[first[1:] - 1, len(decom) - 1]
    period_spell, period_kind, end_values = spell_id[first], category[first], dec[last]
    same_spell_next = np.r_[period_spell[1:] == period_spell[:-1], False]
    next_code = np.where(same_spell_next, np.r_[period_kind[1:], [exit_code]],
                         np.where(np.isnat(end_values), open_code, exit_code))
    start_values = decom[first]
    dob_of_period = episodes.dob[child_row[first]]
    turns_18 = _eighteenth_birthday(dob_of_period)
    aged_out = (labels == EXIT)[next_code] & (end_values >= turns_18 - np.timedelta64(1, "D"))
    periods = {
        "child_id": child[first], "spell": period_spell, "placement": period_kind,
        "start": start_values, "end": end_values, "rec": rec[last], "dob": dob_of_period,
        "next": next_code, "aged_out": aged_out,
    }

    heads = np.flatnonzero(np.r_[True, ~same_spell_next[:-1]]) if len(first) else first[:0]
    tails = np.r_[heads[1:] - 1, len(first) - 1] if len(first) else heads
    spell_start, spell_end, spell_dob = start_values[heads], end_values[tails], dob_of_period[heads]
    spells = {
        "spell": period_spell[heads], "child_id": periods["child_id"][heads],
        "start": spell_start, "end": spell_end, "dob": spell_dob,
        "entry_placement": period_kind[heads],
        "age_at_start": _whole_days(spell_dob, spell_start) / DAYS_PER_YEAR,
        "age_at_end": _whole_days(spell_dob, spell_end) / DAYS_PER_YEAR,
    }
    return CareColumns(periods, spells, labels, episodes.data_end, placements, episodes.la_code,
                       tuple(episodes.collection_years))


def episode_columns(data: Ssda903Data) -> EpisodeColumns:
    """The columns of `data` that histories are built from. Each episode's child's row comes
    from `data.episode_child` when it matches the identifiers, else from matching the
    identifiers against the first record of each child."""
    import pandas as pd

    episodes = data.episodes
    ids = episodes["child_id"].to_numpy()
    row = data.episode_child
    children = data.children
    if row is not None and len(row) == len(ids) and (not len(ids) or (
            row.min() >= 0 and row.max() < len(children)
            and bool((children["child_id"].to_numpy()[row] == ids).all()))):
        dob_values = children["dob"].to_numpy(dtype="datetime64[ns]")
    else:
        births = children.drop_duplicates("child_id")
        dob_values = births["dob"].to_numpy(dtype="datetime64[ns]")
        row = pd.Index(births["child_id"]).get_indexer(ids)
    place_codes, place_values = pd.factorize(episodes["place"])
    return EpisodeColumns(
        data.la_code, tuple(data.collection_years), pd.Timestamp(data.data_end), row, ids,
        episodes["decom"].to_numpy(dtype="datetime64[ns]"),
        episodes["dec"].to_numpy(dtype="datetime64[ns]"), episodes["rec"].to_numpy(),
        np.asarray(place_codes, dtype=np.intp), np.asarray(place_values, dtype=object),
        dob_values)


def _child_order(episodes: EpisodeColumns) -> npt.NDArray[np.intp] | None:
    """The order that groups episodes by child (in order of first appearance) and by start
    within a child; None when they already are, so no column is copied."""
    row = episodes.child
    group = row if row.min(initial=0) >= 0 else _first_appearance(episodes.child_id)
    starts = episodes.decom.astype(np.int64)
    new_run = np.r_[True, group[1:] != group[:-1]] if len(row) else np.zeros(0, dtype=bool)
    in_order = (group.min(initial=0) >= 0 and int(np.bincount(group[new_run], minlength=1).max()) <= 1
                and bool(np.all((starts[1:] >= starts[:-1]) | new_run[1:])))
    if in_order:
        return None
    return np.lexsort((starts, _first_appearance(group)))


def _first_appearance(values: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """Each value's number in order of first appearance (as `pandas.factorize`)."""
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


def population_at(histories: CareHistories, dates: Sequence[pd.Timestamp]) -> pd.DataFrame:
    """Children in care on each date by placement and age band (tidy: date, placement,
    age_band, children), counting a child whose placement is open at the end of the day."""
    import pandas as pd

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


def exposure_days_by_age_and_time_in_care(
        dob: npt.NDArray[np.datetime64], spell_start: npt.NDArray[np.datetime64],
        start: npt.NDArray[np.datetime64], end: npt.NDArray[np.datetime64],
        time_in_care_lower_years: Sequence[float]
) -> list[tuple[int, int, npt.NDArray[np.intp], npt.NDArray[np.float64]]]:
    """Days each interval [start, end) spends in each age band and band of time since its
    period of care began: (age band, time-in-care band, intervals, their days) for every pair
    (age and time in care grow together, so each pair is one overlap of three intervals), over
    the intervals that reach the age band (the others spend no day in it)."""
    def days(values: npt.NDArray[np.datetime64]) -> npt.NDArray[np.float64]:
        return values.astype("datetime64[D]").astype(np.int64).astype(float)

    born, began, first, last = days(dob), days(spell_start), days(start), days(end)
    age_lower = np.asarray(AGE_BAND_LOWER_YEARS, dtype=float) * DAYS_PER_YEAR
    care_lower = np.asarray(time_in_care_lower_years, dtype=float) * DAYS_PER_YEAR
    out = []
    for band, (a0, a1) in enumerate(zip(age_lower, np.r_[age_lower[1:], np.inf], strict=True)):
        lo_age, hi_age = np.maximum(first, born + a0), np.minimum(last, born + a1)
        rows = np.flatnonzero(hi_age > lo_age)
        lo_age, hi_age, care_began = lo_age[rows], hi_age[rows], began[rows]
        for stage, (c0, c1) in enumerate(zip(care_lower, np.r_[care_lower[1:], np.inf],
                                             strict=True)):
            overlap = np.minimum(hi_age, care_began + c1) - np.maximum(lo_age, care_began + c0)
            out.append((band, stage, rows, np.clip(overlap, 0.0, None)))
    return out
