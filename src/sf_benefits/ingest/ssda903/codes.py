"""SSDA903 column names and DfE code lists (the mapping of placement codes to placement categories
is in `sf_benefits.ssda903_data`).

Code lists are the union over collection years 2022-23 to 2025-26 of the lists in the DfE
validation rules as implemented by `csc-validator-be-903` 0.1.17 (rules 101, 103, 143, 144, 145,
146, 149, 178, 1009), so a return from any of those years passes the code checks here.
"""

from __future__ import annotations

HEADER_COLUMNS: tuple[str, ...] = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODE_COLUMNS: tuple[str, ...] = (
    "CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
    "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN",
)
HEADER_REQUIRED: tuple[str, ...] = ("CHILD", "SEX", "DOB", "ETHNIC")
EPISODE_REQUIRED: tuple[str, ...] = (
    "CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
)
DIRECT_IDENTIFIERS: tuple[str, ...] = ("UPN", "MOTHER", "MC_DOB", "HOME_POST", "PL_POST", "URN")
"""Columns dropped on ingest: pupil number, motherhood details, postcodes and Ofsted URNs."""

DATE_FORMAT = "%d/%m/%Y"

SEX_CODES = frozenset({"1", "2"})
ETHNIC_CODES = frozenset({
    "WBRI", "WIRI", "WOTH", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN",
    "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
})
RNE_CODES = frozenset({"S", "P", "L", "T", "U", "B"})
LS_CODES = frozenset({
    "C1", "C2", "D1", "E1", "V2", "V3", "V4", "J1", "J2", "J3", "L1", "L2", "L3",
})
CIN_CODES = frozenset({"N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8"})
PLACE_CODES = frozenset({
    "A3", "A4", "A5", "A6", "H5", "K1", "K2", "K3", "P1", "P2", "P3", "R1", "R2", "R3", "R5",
    "S1", "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1", "Z11", "Z12",
    "Z13", "Z14",
})
PLACE_PROVIDER_CODES = frozenset({"PR0", "PR1", "PR2", "PR3", "PR4", "PR5"})
REC_CODES = frozenset({
    "E11", "E12", "E2", "E3", "E4A", "E4B", "E13", "E41", "E45", "E46", "E47", "E48", "E5",
    "E6", "E7", "E8", "E9", "E14", "E15", "E16", "E17", "X1",
})
REASON_PLACE_CHANGE_CODES = frozenset({
    "CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD", "LAREQ", "PLACE",
    "CUSTOD", "OTHER",
})
