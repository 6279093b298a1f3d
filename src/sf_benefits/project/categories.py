"""Placement categories shared by the demand forecast, the scenario engine and the unit costs."""

from __future__ import annotations

PLACEMENTS: tuple[str, ...] = (
    "foster",
    "childrens_homes_secure",
    "other_residential",
    "placed_with_parents",
    "independent_living",
    "placed_for_adoption",
    "other",
)

PLACEMENT_LABELS: dict[str, str] = {
    "foster": "Foster care",
    "childrens_homes_secure": "Children's homes (incl. secure)",
    "other_residential": "Other residential settings",
    "placed_with_parents": "Placed with parents",
    "independent_living": "Independent / semi-independent living",
    "placed_for_adoption": "Placed for adoption",
    "other": "Other placements",
}

MEASURES: tuple[str, ...] = ("cla_31_march", "starts", "ceases", "population_0_17",
                              "children_in_need", "child_protection_plans")
ALL_PLACEMENTS = "all"
