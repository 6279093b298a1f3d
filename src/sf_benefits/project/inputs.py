"""What a projection reads from the store, read once per data version and shared: every LA's
demand history (the panel a method that learns across LAs needs), the LAIT unit costs and the
LAs' names. The command line, the report, the web app, tracking and the sweep all project from
it, so they give the same numbers for the same LA, model, seed and draws."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from sf_benefits.project.result import ProjectionResult
    from sf_benefits.store import Store


@dataclass(frozen=True)
class ProjectionData:
    """Every LA's tidy demand history (care history with children in need and protection plans
    beside it), the LAIT observations of unit costs, and LA names by code (read-only: shared)."""

    panel: pd.DataFrame
    unit_costs: pd.DataFrame
    la_names: dict[str, str]

    def history(self, la_code: str) -> pd.DataFrame:
        """One LA's rows of the panel."""
        return self.panel[self.panel["la_code"] == la_code].reset_index(drop=True)

    def up_to(self, year: int) -> ProjectionData:
        """The same data as published by 31 March of `year`: histories and unit costs of the
        years ending 31 March `year` or earlier."""
        return ProjectionData(self.panel[self.panel["year"] <= year],
                              self.unit_costs[self.unit_costs["year"] <= year], self.la_names)

    def project(self, la_code: str, **options: Any) -> ProjectionResult:
        """`run_projection` for one LA with the panel, the unit costs and its name supplied."""
        from sf_benefits.project.api import run_projection

        return run_projection(self.panel, la_code, unit_costs=self.unit_costs,
                              la_name=self.la_names.get(la_code), **options)


_cache: dict[tuple[str, str], ProjectionData] = {}
_lock = threading.Lock()


def projection_data(store: Store) -> ProjectionData:
    """The store's projection inputs, read on first use and again only when the published data
    change (`data_version`); requests arriving during the read wait for it. A renamed LA's LAIT
    figures are under its new code, as its care history is."""
    from sf_benefits.project.unit_costs import LAIT_INDICATORS
    from sf_benefits.store.queries import (
        boundary_changes,
        continuous_series,
        data_version,
        demand_history,
        local_authorities,
        observations,
    )

    key = (store.engine.url.render_as_string(hide_password=True), data_version(store))
    with _lock:
        if key not in _cache:
            _cache.clear()
            names = local_authorities(store)
            _cache[key] = ProjectionData(
                demand_history(store), continuous_series(
                    observations(store, list(LAIT_INDICATORS)), boundary_changes(store)),
                dict(zip(names["la_code"], names["la_name"], strict=True)))
        return _cache[key]
