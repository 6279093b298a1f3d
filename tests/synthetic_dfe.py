"""A small, seeded data set in the DfE/ONS file formats, written to a directory for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

YEARS = list(range(2015, 2025))
REGIONS = {"E12000002": "North West", "E12000003": "Yorkshire and The Humber",
           "E12000009": "South West"}
REAL_LAS = [
    ("E06000007", "877", "Warrington", "E12000002"),
    ("E06000006", "876", "Halton", "E12000002"),
    ("E06000049", "895", "Cheshire East", "E12000002"),
    ("E06000050", "896", "Cheshire West and Chester", "E12000002"),
    ("E08000010", "359", "Wigan", "E12000002"),
    ("E08000007", "356", "Stockport", "E12000002"),
    ("E08000002", "351", "Bury", "E12000002"),
    ("E08000009", "358", "Trafford", "E12000002"),
    ("E08000035", "383", "Leeds", "E12000003"),
    ("E08000036", "384", "Wakefield", "E12000003"),
    ("E08000034", "382", "Kirklees", "E12000003"),
    ("E08000033", "381", "Calderdale", "E12000003"),
    ("E06000014", "816", "York", "E12000003"),
    ("E06000010", "810", "Kingston upon Hull, City of", "E12000003"),
    ("E06000022", "800", "Bath and North East Somerset", "E12000009"),
    ("E06000023", "801", "Bristol, City of", "E12000009"),
    ("E06000024", "802", "North Somerset", "E12000009"),
    ("E06000025", "803", "South Gloucestershire", "E12000009"),
    ("E10000008", "878", "Devon", "E12000009"),
    ("E06000026", "879", "Plymouth", "E12000009"),
]
NORTH_YORKSHIRE_OLD = ("E10000023", "815", "North Yorkshire", "E12000003")
NORTH_YORKSHIRE_NEW = ("E06000065", "815", "North Yorkshire", "E12000003")
PLACEMENTS = [
    ("Foster placements", 0.70), ("Secure units and children's homes", 0.11),
    ("Other residential settings", 0.02), ("Placed with parents or other person with "
                                           "parental responsibility", 0.07),
    ("Independent and semi-independent living arrangements", 0.04),
    ("Placed for adoption", 0.03), ("Other placements", 0.03),
]
GEO = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name",
       "region_code", "region_name", "new_la_code", "old_la_code", "la_name"]


def synthetic_las(count: int) -> list[tuple[str, str, str, str]]:
    """Fictional LAs with well-formed codes, to scale the data set up to England's 153 LAs."""
    regions = list(REGIONS)
    return [(f"E06009{i:03d}", f"{600 + i}", f"Synthetic LA {i}", regions[i % 3])
            for i in range(count)]


def _geo(year: int, level: str, la: tuple[str, str, str, str] | None = None,
         region: str | None = None, period: str | None = None) -> dict[str, str]:
    row = dict.fromkeys(GEO, "")
    row.update(time_period=period or str(year), time_identifier="Reporting year",
               geographic_level=level, country_code="E92000001", country_name="England")
    if region:
        row.update(region_code=region, region_name=REGIONS[region])
    if la:
        row.update(region_code=la[3], region_name=REGIONS[la[3]], new_la_code=la[0],
                   old_la_code=la[1], la_name=la[2])
    return row


def build_panel(seed: int = 7, extra_las: int = 0) -> pd.DataFrame:
    """LA-year panel: population 0–17, CLA at 31 March, starts, ceases, demand rates, workforce."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, la in enumerate(REAL_LAS + [NORTH_YORKSHIRE_OLD] + synthetic_las(extra_las)):
        population = 40_000 + 9_000 * i
        level = 45 + 4 * i
        for year in YEARS:
            code = NORTH_YORKSHIRE_NEW[0] if la is NORTH_YORKSHIRE_OLD and year >= 2024 else la[0]
            area = NORTH_YORKSHIRE_NEW if code == NORTH_YORKSHIRE_NEW[0] else la
            rate = level * (1 + 0.02 * (year - 2015)) * rng.normal(1, 0.02)
            cla = round(population * rate / 10_000)
            rows.append({"la": area, "year": year, "population": population,
                         "cla": cla, "starts": round(cla * 0.42), "ceases": round(cla * 0.40),
                         "cin": 300 + 5 * i + rng.normal(0, 10),
                         "cpp": 35 + i + rng.normal(0, 2), "referrals": 500 + 8 * i,
                         "repeat_cpp": 18 + (i % 7), "agency": 10 + (i % 9),
                         "turnover": 14 + (i % 5), "spend": cla * (60_000 + 1_000 * i)})
    return pd.DataFrame(rows)


JOINT_RETURN = ("E08000002", "E08000009")
"""Bury and Trafford file one workforce return in this data set, as Kingston upon Thames and
Richmond upon Thames do in the real one."""


def _count(rate: float, population: float) -> int:
    return round(rate * population / 10_000)


def write_dfe_directory(directory: Path, seed: int = 7, extra_las: int = 0) -> Path:
    """Write the synthetic files, named and shaped like the DfE's own, to `directory`. Halton's
    2024 CLA count is suppressed ('c'); the referrals and CPP files carry counts but no rates,
    as the 2025 CIN census release does; Bury and Trafford share a workforce return; spend and
    weekly unit costs come in a LAIT long table."""
    directory.mkdir(parents=True, exist_ok=True)
    panel = build_panel(seed, extra_las)
    files: dict[str, list[dict[str, str]]] = {name: [] for name in (
        "cla_number_and_rate_per_10k_children", "la_cla_on_31_march_by_characteristics",
        "la_children_who_started_to_be_looked_after_during_the_year", "b1_children_in_need",
        "c1_children_in_need_referrals_and_rereferrals", "d3_cpps_subsequent_plan",
        "d5_cpps_at31march_by_duration", "csww_indicators")}
    lait: list[dict[str, object]] = []
    for year in YEARS:
        this = panel[panel["year"] == year]
        groups = [("National", None, None, this)] + [
            ("Regional", None, r, this[this["la"].map(lambda a: a[3]) == r]) for r in REGIONS
        ] + [("Local authority", row.la, None, panel.loc[[idx]]) for idx, row in this.iterrows()]
        for level, la, region, part in groups:
            geo = _geo(year, level, la, region)
            population = part["population"].sum()
            for label, column in (("Children looked after on 31 March each year", "cla"),
                                  ("Children starting to be looked after each year", "starts"),
                                  ("Children ceasing to be looked after each year", "ceases")):
                number = part[column].sum()
                suppressed = la is not None and la[2] == "Halton" and year == 2024
                files["cla_number_and_rate_per_10k_children"].append({
                    **geo, "population_type": label, "population_estimate": str(population),
                    "children_count": "c" if suppressed else str(number),
                    "rate_per_10000": "c" if suppressed else
                    str(round(number / population * 10_000))})
            for file, total in (("la_cla_on_31_march_by_characteristics", part["cla"].sum()),
                                ("la_children_who_started_to_be_looked_after_during_the_year",
                                 part["starts"].sum())):
                counts = [round(total * share) for _, share in PLACEMENTS]
                counts[0] += total - sum(counts)
                for (label, _), count in zip(PLACEMENTS, counts, strict=True):
                    files[file].append({**geo, "cla_group": "Placement", "characteristic": label,
                                        "number": str(count),
                                        "percentage": str(round(100 * count / total))})
                files[file].append({**geo, "cla_group": "Total", "characteristic": "Total",
                                    "number": str(total), "percentage": "100"})
            counts = {c: sum(_count(r, p) for r, p in zip(part[c], part["population"], strict=True))
                      for c in ("cin", "cpp", "referrals")}
            files["b1_children_in_need"].append({
                **geo, "category": "Children in Need", "At31_episodes": str(counts["cin"])})
            files["c1_children_in_need_referrals_and_rereferrals"].append({
                **geo, "category": "Referrals and Re-referrals",
                "referral_count": str(counts["referrals"]),
                "rereferral_count": str(round(counts["referrals"] * 0.22)),
                "rereferral_percent": "22.0"})
            files["d5_cpps_at31march_by_duration"].append({
                **geo, "category": "Child Protection Plans by length of time",
                "CPP_At31": str(counts["cpp"]),
                "X2_years_or_more": str(round(counts["cpp"] * 0.03)),
                "X2_years_or_more_percent": "3.0"})
            starts = round(counts["cpp"] * 0.9)
            files["d3_cpps_subsequent_plan"].append({
                **geo, "category": "Child Protection Plans which are a second or subsequent plan",
                "CPP_start": str(starts),
                "CPP_subsequent": str(round(starts * part["repeat_cpp"].mean() / 100)),
                "CPP_subsequent_percent": f"{part['repeat_cpp'].mean():.1f}"})
            if la is None or la[0] not in JOINT_RETURN:
                files["csww_indicators"].append({
                    **geo, "agency_rate_fte": f"{part['agency'].mean():.1f}",
                    "turnover_rate_fte": f"{part['turnover'].mean():.1f}"})
            if level != "Regional":
                lait += _lait_finance(year, la, part)
        joint = this[this["la"].map(lambda a: a[0] in JOINT_RETURN)]
        if not joint.empty:
            geo = _geo(year, "Local authority", joint["la"].iloc[0])
            las = list(joint["la"])
            geo.update(new_la_code=" / ".join(a[0] for a in las),
                       old_la_code=" / ".join(a[1] for a in las),
                       la_name=" / ".join(a[2] for a in las))
            files["csww_indicators"].append({
                **geo, "agency_rate_fte": f"{joint['agency'].mean():.1f}",
                "turnover_rate_fte": f"{joint['turnover'].mean():.1f}"})
    for name, rows in files.items():
        pd.DataFrame(rows).to_csv(directory / f"{name}.csv", index=False)
    pd.DataFrame(lait).to_parquet(directory / "lait_benchmarking_long.parquet")
    _write_population(directory, panel)
    _write_lookup_and_neighbours(directory, synthetic_las(extra_las))
    return directory


def _lait_finance(year: int, la: tuple[str, str, str, str] | None,
                  part: pd.DataFrame) -> list[dict[str, object]]:
    """LAIT section 251 rows as the LAIT writes them: total gross spend on children looked after
    and weekly unit costs, period '2022-23 (OT)', LA number a float, England numbered 970;
    Halton's 2023 fostering cost is '-' (not available)."""
    i = int(la[1]) % 50 if la else 0
    number, name, region = (float(la[1]), la[2], REGIONS[la[3]]) if la else (970.0, "England", "NA")
    weekly = {"FosteringFinance": 600 + 5 * i, "RescareFinance": 5_000 + 20 * i,
              "LACFinance": 1_500 + 10 * i}
    if la and la[2] == "Halton" and year == 2023:
        weekly["FosteringFinance"] = "-"
    rows = {"TotalLACFinance": int(part["spend"].sum()), **weekly}
    return [{"Short Desc": desc, "Data item": None, "Years": f"{year - 1}-{str(year)[2:]} (OT)",
             "LA and Regions": name, "Values": str(value), "LA Number": number, "Region": region}
            for desc, value in rows.items()]


def _write_population(directory: Path, panel: pd.DataFrame) -> None:
    rows = []
    for code, group in panel.groupby(panel["la"].map(lambda a: a[0])):
        population = group.set_index("year")["population"]
        for age in range(0, 19):
            row: dict[str, object] = {"ladcode23": code, "laname23": group["la"].iloc[0][2],
                                      "age": age}
            for year in YEARS:
                value = population.get(year, population.iloc[-1])
                row[f"population_{year}"] = round(value / 18) if age < 18 else 5000
            rows.append(row)
    pd.DataFrame(rows).to_csv(directory / "ons_mid_year_population.csv", index=False)


def _write_lookup_and_neighbours(directory: Path,
                                 extra: list[tuple[str, str, str, str]]) -> None:
    every = REAL_LAS + [NORTH_YORKSHIRE_OLD, NORTH_YORKSHIRE_NEW] + extra
    pd.DataFrame([{"new_la_code": c, "old_la_code": o, "la_name": n, "region_code": r,
                   "region_name": REGIONS[r]} for c, o, n, r in every]).to_csv(
        directory / "la_lookup.csv", index=False)
    current = REAL_LAS + [NORTH_YORKSHIRE_NEW] + extra
    names = [n for _, _, n, _ in current]
    rows = []
    for i, (_, old, name, _) in enumerate(current):
        others = [names[(i + k) % len(names)] for k in range(1, 11)]
        rows.append({"la_name": name, "la_number": old,
                     **{f"SN{k}": others[k - 1] for k in range(1, 11)}})
    pd.DataFrame(rows).to_csv(directory / "statistical_neighbours_2021.csv", index=False)
