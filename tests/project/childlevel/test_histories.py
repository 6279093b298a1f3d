"""Care histories: episodes merge into spells and placement periods; ages at every date."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from sf_benefits.ingest.ssda903.load import Ssda903Data
from sf_benefits.project.childlevel.histories import (
    age_in_years,
    build_histories,
    exposure_days_by_age_and_time_in_care,
    population_at,
)
from sf_benefits.project.childlevel.model import care_history_table

T = pd.Timestamp


def _data() -> Ssda903Data:
    rows = [
        # child a: foster U4 -> U5 (same period) -> K2 -> leaves; later a second spell
        ("a", "2020-01-01", "2020-06-01", "U4", "X1"),
        ("a", "2020-06-01", "2020-09-01", "U5", "X1"),
        ("a", "2020-09-01", "2021-01-01", "K2", "E4A"),
        ("a", "2022-01-01", None, "P1", ""),
        # child b: in care until the 18th birthday
        ("b", "2019-05-01", "2021-03-10", "H5", "E5"),
        # child c: placement change recorded X1 but a gap of a day: a new spell
        ("c", "2021-01-01", "2021-02-01", "U1", "X1"),
        ("c", "2021-02-02", None, "U1", ""),
    ]
    episodes = pd.DataFrame(rows, columns=["child_id", "decom", "dec", "place", "rec"])
    episodes["decom"] = pd.to_datetime(episodes["decom"])
    episodes["dec"] = pd.to_datetime(episodes["dec"])
    for column in ("rne", "ls", "cin", "place_provider", "reason_place_change"):
        episodes[column] = ""
    episodes["collection_year"] = 2023
    children = pd.DataFrame({"child_id": ["a", "b", "c"],
                             "dob": pd.to_datetime(["2010-03-01", "2003-03-10", "2020-06-15"]),
                             "sex": "1", "ethnic": "WBRI"})
    return Ssda903Data("E10000015", children, episodes, (2023,), T("2023-03-31"))


def test_spells_and_placement_periods() -> None:
    histories = build_histories(_data())
    periods = histories.periods
    a = periods[periods["child_id"] == "a"]
    assert a["placement"].tolist() == ["foster", "childrens_homes_secure", "placed_with_parents"]
    assert a["start"].tolist() == [T("2020-01-01"), T("2020-09-01"), T("2022-01-01")]
    assert a["next"].tolist() == ["childrens_homes_secure", "exit", "open"]
    assert a["spell"].nunique() == 2
    b = periods[periods["child_id"] == "b"].iloc[0]
    assert b["next"] == "exit" and bool(b["aged_out"])
    assert not a["aged_out"].any()
    c = periods[periods["child_id"] == "c"]
    assert c["spell"].nunique() == 2 and c["next"].tolist() == ["exit", "open"]
    spells = histories.spells
    assert len(spells) == 5
    first = spells[spells["child_id"] == "a"].iloc[0]
    assert first["entry_placement"] == "foster"
    assert np.isclose(first["age_at_start"], (T("2020-01-01") - T("2010-03-01")).days / 365.25)


def test_population_on_a_date_counts_open_placements_by_age_band() -> None:
    histories = build_histories(_data())
    counts = population_at(histories, [T("2020-12-31"), T("2021-01-01")])
    day1 = counts[counts["date"] == T("2020-12-31")].set_index(["placement", "age_band"])
    assert day1.loc[("childrens_homes_secure", "10_to_15"), "children"] == 1
    assert day1.loc[("independent_living", "16_to_17"), "children"] == 1
    assert day1.loc[("foster", "under_1"), "children"] == 0
    day2 = counts[counts["date"] == T("2021-01-01")]
    assert day2["children"].sum() == 2


def test_age_and_exposure_by_band() -> None:
    ages = age_in_years(pd.Series(pd.to_datetime(["2000-01-01"])),
                        pd.Series(pd.to_datetime(["2010-01-01"])))
    assert np.isclose(ages[0], 3653 / 365.25)
    dob = np.array(["2010-01-01"], dtype="datetime64[ns]")
    began = np.array(["2014-06-01"], dtype="datetime64[ns]")
    days = {(band, stage): float(d.sum()) for band, stage, rows, d in exposure_days_by_age_and_time_in_care(
        dob, began, np.array(["2014-07-01"], dtype="datetime64[ns]"),
        np.array(["2015-07-01"], dtype="datetime64[ns]"), (0.0, 0.25, 1.0))}
    assert len(days) == 5 * 3
    assert np.isclose(sum(days.values()), 365.0)
    # in care since 1 June 2014: first 3 months to 31 August (aged 4), then 3-12 months to
    # 1 June 2015 (turning 5 on 1 January 2015), then a year or more (aged 5)
    def day(text: str) -> float:
        return float(np.datetime64(text, "D").astype(np.int64))

    five = day("2010-01-01") + 5 * 365.25
    three_months, year = day("2014-06-01") + 0.25 * 365.25, day("2014-06-01") + 365.25
    assert np.isclose(days[1, 0], three_months - day("2014-07-01"))
    assert np.isclose(days[1, 1], five - three_months)
    assert np.isclose(days[2, 1], year - five)
    assert np.isclose(days[2, 2], day("2015-07-01") - year)
    assert days[0, 0] == days[2, 0] == days[1, 2] == 0


def test_known_child_rows_give_the_same_histories(planted_data: Ssda903Data) -> None:
    """The shortcut through `episode_child` gives the same histories as matching the hashed
    identifiers, for episodes in order and out of order; rows that no longer fit the episodes
    are not used."""
    assert planted_data.episode_child is not None
    order = np.random.default_rng(3).permutation(len(planted_data.episodes))
    shuffled = replace(planted_data, episodes=planted_data.episodes.iloc[order].reset_index(drop=True),
                       episode_child=planted_data.episode_child[order])
    stale = replace(shuffled, episode_child=planted_data.episode_child)
    for data in (planted_data, shuffled, stale):
        known = build_histories(data)
        matched = build_histories(replace(data, episode_child=None))
        pd.testing.assert_frame_equal(known.periods, matched.periods, check_exact=True)
        pd.testing.assert_frame_equal(known.spells, matched.spells, check_exact=True)


def test_age_in_years_matches_timedelta_days() -> None:
    dob = pd.Series(pd.to_datetime(["2010-01-01", None, "2020-05-05 13:00", "2030-01-01"],
                                   format="mixed"))
    when = pd.Series(pd.to_datetime(["2012-02-29", "2020-01-01", "2020-05-04 12:00", None],
                                    format="mixed"))
    expected = np.asarray((when - dob).dt.days, dtype=float) / 365.25
    np.testing.assert_array_equal(age_in_years(dob, when), expected)
    at = T("2021-01-01")
    np.testing.assert_array_equal(age_in_years(dob, at),
                                  np.asarray((at - dob).dt.days, dtype=float) / 365.25)


def test_an_open_spell_has_no_end_whatever_its_earlier_placements() -> None:
    data = _data()
    episodes = pd.DataFrame({
        "child_id": ["d", "d"], "decom": pd.to_datetime(["2021-05-01", "2021-09-01"]),
        "dec": pd.to_datetime(["2021-09-01", None]), "place": ["U1", "K2"], "rec": ["X1", ""]})
    for column in ("rne", "ls", "cin", "place_provider", "reason_place_change"):
        episodes[column] = ""
    episodes["collection_year"] = 2023
    children = pd.DataFrame({"child_id": ["d"], "dob": pd.to_datetime(["2008-01-01"]),
                             "sex": "1", "ethnic": "WBRI"})
    histories = build_histories(replace(data, children=children, episodes=episodes,
                                        collection_years=(2022, 2023)))
    assert histories.spells["end"].isna().all()
    table = care_history_table(histories).set_index(["year", "measure", "placement"])["value"]
    assert table[(2022, "ceases", "all")] == 0
    assert table[(2022, "cla_31_march", "all")] == 1
