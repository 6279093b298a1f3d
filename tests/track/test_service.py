"""End to end: seed the SFPC adopters, lock from a projection, realised benefit, programme view."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from sf_benefits.project.categories import PLACEMENTS
from sf_benefits.store import Store
from sf_benefits.track import (
    baseline_from_projection,
    effects_for,
    import_dfe_release,
    list_implementations,
    load_baseline,
    lock_baseline,
    lock_from_projection,
    programme_view,
    realised_for,
    record_implementation,
    seed_demo,
    verify_baseline,
)
from sf_benefits.track.adopters import MODELS, SFPC_ADOPTERS, known_adopter_codes
from sf_benefits.track.service import last_count_before
from sf_benefits.track.simulate import plant_effect, synthetic_history

SOURCE = {"source": "track test input, not a sourced value"}
MONEY = {"price_base_year": "2024-25", **SOURCE}
FS_OVERRIDES = {
    "deadweight": {"value": 0.0, **SOURCE}, "optimism_bias_benefits": {"value": 0.0, **SOURCE},
    "optimism_bias_costs": {"value": 0.0, **SOURCE},
    "fs_ramp_up_years": {"value": 1.0, **SOURCE},
    "fs_reduction_in_starts": {"value": 0.1, **SOURCE},
    "fs_implementation_cost": {"value": 500_000.0, **MONEY},
    "fs_running_cost_annual": {"value": 200_000.0, **MONEY},
    **{f"unit_cost_{p}_weekly": {"value": 1000.0, **MONEY} for p in PLACEMENTS},
}


def test_seed_demo_records_the_18_sfpc_adopters(store: Store) -> None:
    recorded = seed_demo(store)
    assert len(recorded) == 18 and seed_demo(store) == []
    by_model = pd.Series([i.model for i in list_implementations(store)]).value_counts()
    assert by_model.to_dict() == {m: 6 for m in MODELS}
    exact = [i.la_name for i in recorded if not i.approximate]
    assert exact == ["Lancashire"]
    for imp in recorded:
        if imp.date_precision == "window":
            assert imp.go_live_earliest <= imp.go_live_date <= imp.go_live_latest
            assert "APPROXIMATE" in imp.go_live_basis
    assert {a.la_code for a in SFPC_ADOPTERS} <= known_adopter_codes()


def test_lock_from_a_real_projection(store: Store, loaded_store: Store) -> None:
    from sf_benefits.project.inputs import projection_data

    data = projection_data(loaded_store)
    la = str(data.panel["la_code"].iloc[0])
    imp = record_implementation(store, la, "Synthetic LA", "family_safeguarding",
                                date(2022, 6, 1), "FS central case")
    locked = lock_from_projection(store, imp.implementation_id, data, "synthetic DfE set",
                                  n_draws=200, sensitivity=False, overrides=FS_OVERRIDES)
    assert locked.data_vintage.endswith("years to 31 March 2022 (before go-live)")
    assert locked.values["year"].min() >= 2022
    assert verify_baseline(store, imp.implementation_id)
    values = load_baseline(store, imp.implementation_id).values
    assert {"baseline", "scenario", "business_case"} == set(values["series"])
    assert locked.unit_costs["annual_cost_gbp"].iloc[0] == pytest.approx(1000.0 * 365 / 7)
    assert locked.price_base_year == "2024-25" and locked.seed is not None
    cla = values[(values["series"] == "baseline") & (values["measure"] == "cla_31_march")]
    assert (cla["p10"] <= cla["p50"]).all() and (cla["p50"] <= cla["p90"]).all()


def test_baseline_from_projection_shape(loaded_store: Store) -> None:
    from sf_benefits.project.api import run_projection
    from sf_benefits.store.queries import demand_history

    history = demand_history(loaded_store)
    result = run_projection(history, str(history["la_code"].iloc[0]), "family_safeguarding",
                            n_draws=100, sensitivity=False, overrides=FS_OVERRIDES)
    inputs = baseline_from_projection(result)
    assert set(inputs.unit_costs) == set(PLACEMENTS)
    assert not inputs.table.duplicated(["series", "year", "measure", "placement"]).any()
    assert inputs.assumptions_version.startswith("sf-benefits")


def _counterfactual_baseline(history: pd.DataFrame, la: str, from_year: int) -> pd.DataFrame:
    """Baseline = what the LA's CLA would have been (the unplanted history), ±5%."""
    mine = history[(history["la_code"] == la) & (history["measure"] == "cla_31_march")
                   & (history["year"] >= from_year)]
    rows = []
    for series, factor in (("baseline", 1.0), ("scenario", 0.95)):
        for year, value in zip(mine["year"], mine["value"], strict=True):
            rows.append((series, int(year), "cla_31_march", "all", value * factor * 0.95,
                         value * factor, value * factor * 1.05))
    return pd.DataFrame(rows, columns=["series", "year", "measure", "placement", "p10", "p50",
                                       "p90"])


def test_realised_and_programme_view_end_to_end(store: Store) -> None:
    history = synthetic_history(seed=11)
    la = "E99000004"
    planted = plant_effect(history, la, 2019, -0.08)
    imp = record_implementation(store, la, "Synthetic Borough", "no_wrong_door",
                                date(2018, 6, 1), "NWD case")
    lock_baseline(store, imp.implementation_id, _counterfactual_baseline(history, la, 2018),
                  {"all": 60_000.0}, price_base_year="2024-25", data_vintage="synthetic 2018",
                  assumptions_version="test", method="synthetic counterfactual", seed=None)
    import_dfe_release(store, la, planted, "synthetic release")
    realised = realised_for(store, imp.implementation_id)
    periods = realised.periods
    assert list(periods["period"])[0] == "2018-19"
    cla = planted[(planted["la_code"] == la) & (planted["measure"] == "cla_31_march")
                  & (planted["year"] == 2024)]["value"].item()
    assert periods["children_avoided"].iloc[-1] == pytest.approx(cla / 0.92 - cla)
    assert realised.status == "ahead"

    effects = effects_for(store, imp.implementation_id, history=planted)
    assert effects.did is not None and effects.synthetic_control is not None
    assert effects.did.interval_pct[0] < -0.08 < effects.did.interval_pct[1]
    assert effects.did.children_effect_per_year < 0
    low, high = effects.did.children_interval
    assert low <= effects.did.children_effect_per_year <= high
    assert effects.synthetic_control.children_effect_per_year < 0

    view = programme_view(store, history=planted)
    row = view.table.set_index("la_code").loc[la]
    assert row["status"] == "ahead" and row["baseline_locked"]
    assert row["cumulative_saving_gbp"] == pytest.approx(
        periods["cumulative_saving_gbp"].iloc[-1])
    assert row["did_effect_pct"] == pytest.approx(effects.did.effect_pct)
    frames = view.to_frames()
    assert frames["programme_by_model"]["implementations"].sum() == 1


@pytest.mark.parametrize(("go_live", "year"), [
    (date(2022, 3, 31), 2022), (date(2022, 3, 30), 2021), (date(2022, 1, 15), 2021),
    (date(2022, 4, 1), 2022), (date(2022, 12, 31), 2022)])
def test_the_baseline_uses_counts_taken_on_or_before_go_live(go_live: date, year: int) -> None:
    assert last_count_before(go_live) == year
