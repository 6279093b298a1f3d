"""The projection's inputs from the store: read once per data version, cut at a year on demand."""

from __future__ import annotations

from pathlib import Path

from sf_benefits.ingest.loader import load_directory
from sf_benefits.project.inputs import projection_data
from sf_benefits.store import Store


def test_read_once_per_data_version(tmp_path: Path, dfe_dir: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    load_directory(store, dfe_dir)
    first = projection_data(store)
    assert projection_data(store) is first
    assert {"cla_31_march", "children_in_need"} <= set(first.panel["measure"])
    assert first.la_names["E06000007"] == "Warrington"
    load_directory(store, dfe_dir)  # a reload is a new data version
    again = projection_data(store)
    store.close()
    assert again is not first
    assert again.panel.equals(first.panel)


def test_cut_at_a_year_keeps_what_was_published_by_then(loaded_store: Store) -> None:
    data = projection_data(loaded_store)
    earlier = data.up_to(2020)
    assert earlier.panel["year"].max() == 2020 < data.panel["year"].max()
    assert earlier.unit_costs["year"].max() <= 2020 < data.unit_costs["year"].max()
    assert earlier.panel.equals(data.panel[data.panel["year"] <= 2020])
