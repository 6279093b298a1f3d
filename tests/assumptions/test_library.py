"""Shipped assumptions are sourced and strict; overrides replace values and record who made them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from sf_benefits.assumptions import (
    AssumptionError,
    MissingAssumptionError,
    Parameter,
    apply_overrides,
    assumptions_for,
    list_models,
    load_defaults,
    load_model,
    load_overrides,
    override_template,
    parameter_table,
)

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "sf_benefits" / "assumptions"


def shipped_parameters() -> list[tuple[str, dict]]:
    """Every parameter as written in the shipped YAML files (group files and model files)."""
    found = []
    for path in sorted((PACKAGE / "parameters").glob("*/*.yaml")):
        found.append((str(path.relative_to(PACKAGE)), yaml.safe_load(path.read_text())))
    for path in sorted((PACKAGE / "models").glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text())["parameters"]:
            found.append((f"{path.name}:{entry['id']}", entry))
    return found


def test_every_shipped_parameter_has_a_source_or_is_marked_not_found() -> None:
    entries = shipped_parameters()
    assert len(entries) > 20
    for where, raw in entries:
        status = raw.get("status", "sourced")
        if status in ("not_found", "not_verified"):
            assert raw.get("values") is None, f"{where}: not found but has a value"
            assert raw["confidence"] == "X", where
            continue
        assert raw.get("values"), f"{where}: no value"
        refs = raw.get("references") or []
        complete = all(r.get("title") and r.get("publisher") and r.get("year") for r in refs)
        assert refs and complete, f"{where}: value without a source"
        assert raw["confidence"] in ("A", "B", "C", "D"), where
        assert raw.get("unit"), where
        if str(raw["unit"]).startswith("GBP"):
            assert raw.get("price_base_year"), f"{where}: money without a price base"


def test_defaults_and_models_load() -> None:
    defaults = load_defaults()
    assert defaults.value_at("discount_rate") == pytest.approx(0.035)
    assert defaults["unit_cost_foster_weekly"].price_base_year == "2016-17"
    assert not defaults["gdp_deflator_index"].has_value
    assert set(list_models()) == {"family_safeguarding", "family_valued", "no_wrong_door"}
    for name in list_models():
        model = load_model(name)
        assert model.parameters, name
        params = assumptions_for(model)
        assert all(pid in params for pid in model.referenced_ids())


def test_table_lists_id_value_unit_price_base_source_and_grade() -> None:
    table = assumptions_for("family_valued").table()
    assert {"id", "value", "unit", "price_base_year", "source", "confidence"} <= set(table.columns)
    row = table.set_index("id").loc["fv_fgc_reduction_looked_after_12m"]
    assert row["value"] == pytest.approx(0.086)
    assert row["confidence"] == "A"
    assert "British Journal of Social Work" in row["source"]
    missing = table.set_index("id").loc["fv_cost_per_fgc"]
    assert missing["status"] == "not_found"
    assert parameter_table(load_defaults()).shape[0] == len(load_defaults())


def valid(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "unit_cost_test_weekly", "description": "A weekly cost", "unit": "GBP per week",
        "price_base_year": "2023-24", "values": {date(2023, 4, 1): 100.0},
        "references": [{"title": "A report", "publisher": "NAO", "year": 2024}],
        "confidence": "B",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(("changes", "message"), [
    ({"colour": "red"}, "Extra inputs are not permitted"),
    ({"references": []}, "source"),
    ({"price_base_year": None}, "price_base_year"),
    ({"price_base_year": "2023-25"}, "financial year"),
    ({"unit": ""}, "unit"),
    ({"status": "not_found"}, "values: null"),
    ({"confidence": "X"}, "confidence X"),
    ({"distribution": {"kind": "triangular", "low": 120.0, "high": 150.0}}, "outside"),
    ({"distribution": {"kind": "normal"}}, "positive sd"),
])
def test_loader_is_strict(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Parameter.model_validate(valid(**changes))


def test_value_at_follows_effective_dates() -> None:
    param = Parameter.model_validate(valid(values={date(2020, 4, 1): 1.0, date(2023, 4, 1): 2.0}))
    assert param.value_at(date(2021, 1, 1)) == 1.0
    assert param.value_at(date(2023, 4, 1)) == 2.0
    assert param.value_at(date(2019, 1, 1)) == 1.0


def test_override_from_dict_is_applied_and_recorded() -> None:
    params = assumptions_for("family_safeguarding")
    changed = apply_overrides(params, {
        "fs_reduction_in_starts": {"value": 0.12, "source": "board paper 2025",
                                   "distribution": {"kind": "triangular", "low": 0.05, "high": 0.2},
                                   "confidence": "C"},
        "unit_cost_foster_weekly": {"value": 900, "price_base_year": "2024-25"},
        "discount_rate": 0.03,
    }, by="Anytown finance")
    reduction = changed["fs_reduction_in_starts"]
    assert reduction.value == pytest.approx(0.12)
    assert reduction.status == "override"
    assert reduction.confidence == "C"
    assert reduction.references[0].title == "LA override by Anytown finance: board paper 2025"
    assert reduction.low_high == (0.05, 0.2)
    foster = changed["unit_cost_foster_weekly"]
    assert (foster.value, foster.price_base_year, foster.confidence) == (900, "2024-25", "D")
    assert "PSSRU" in (foster.notes or "")
    assert changed.value_at("discount_rate") == pytest.approx(0.03)
    assert params["fs_reduction_in_starts"].value is None


def test_override_refuses_bad_input() -> None:
    params = assumptions_for("family_safeguarding")
    with pytest.raises(AssumptionError, match="unknown parameter id 'fs_reducton'"):
        apply_overrides(params, {"fs_reducton": 0.1})
    with pytest.raises(AssumptionError, match="price_base_year"):
        apply_overrides(params, {"unit_cost_other_weekly": 100})
    with pytest.raises(AssumptionError, match="unit"):
        apply_overrides(params, {"fs_reduction_in_starts": {"value": 0.1, "unit": "per cent"}})
    with pytest.raises(AssumptionError, match="not a number"):
        apply_overrides(params, {"fs_reduction_in_starts": "a lot"})


def test_override_files_yaml_and_csv(tmp_path: Path) -> None:
    yaml_file = tmp_path / "mine.yaml"
    yaml_file.write_text(
        "by: Anytown finance team\n"
        "overrides:\n"
        "  fs_reduction_in_starts: {value: 0.15, source: local evaluation}\n"
        "  gdp_deflator_index:\n"
        "    values: {2016-04-01: 80.0, 2024-04-01: 104.0}\n"
        "    source: ONS L8GG, test vintage\n"
    )
    data, by = load_overrides(yaml_file)
    assert by == "Anytown finance team"
    params = apply_overrides(assumptions_for("family_safeguarding"), yaml_file)
    deflator = params["gdp_deflator_index"]
    assert deflator.values == {date(2016, 4, 1): 80.0, date(2024, 4, 1): 104.0}
    assert deflator.references[0].publisher == "Anytown finance team"

    csv_file = tmp_path / "mine.csv"
    csv_file.write_text(
        "id,value,effective_from,price_base_year,low,high,source\n"
        "unit_cost_other_weekly,250,,2024-25,,,LA ledger\n"
        "fs_reduction_in_starts,0.1,,,0.05,0.2,LA estimate\n"
    )
    params = apply_overrides(assumptions_for("family_safeguarding"), csv_file, by="Anytown")
    assert params["unit_cost_other_weekly"].value == 250
    assert params["unit_cost_other_weekly"].price_base_year == "2024-25"
    assert params["fs_reduction_in_starts"].distribution.kind == "triangular"
    title = params["fs_reduction_in_starts"].references[0].title
    assert title == "LA override by Anytown: LA estimate"


def test_missing_value_refuses_naming_the_parameter() -> None:
    params = assumptions_for("family_safeguarding")
    with pytest.raises(MissingAssumptionError, match="fs_reduction_in_starts") as caught:
        params.require(["discount_rate", "fs_reduction_in_starts", "deadweight"])
    assert caught.value.parameter_ids == ["fs_reduction_in_starts", "deadweight"]
    with pytest.raises(MissingAssumptionError, match="gdp_deflator_index"):
        params.value_at("gdp_deflator_index")


def test_custom_model_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(
        "model: edge_of_care_team\ntitle: Edge of care team\norigin: Anytown\n"
        "summary: A local edge-of-care team.\n"
        "mechanisms:\n  ramp_up_years: eoc_ramp\n  starts_reduction: eoc_reduction\n"
        "  running_costs:\n    - {label: team, product_of: [eoc_cost]}\n"
        "parameters:\n"
        "  - {id: eoc_ramp, description: ramp-up years, unit: years, values: {2025-04-01: 1},"
        " references: [{title: plan, publisher: Anytown, year: 2025}], confidence: D}\n"
        "  - {id: eoc_reduction, description: reduction in starts, unit: proportion,"
        " values: {2025-04-01: 0.05}, references: [{title: plan, publisher: Anytown, year: 2025}],"
        " confidence: D}\n"
        "  - {id: eoc_cost, description: team cost, unit: GBP per year, price_base_year: 2024-25,"
        " values: null, status: not_found, confidence: X}\n"
    )
    model = load_model(path)
    assert model.name == "edge_of_care_team"
    assert model.referenced_ids() == ["eoc_ramp", "eoc_reduction", "eoc_cost"]

    path.write_text(path.read_text().replace("product_of: [eoc_cost]", "product_of: [eoc_typo]"))
    with pytest.raises(AssumptionError, match="eoc_typo"):
        load_model(path)
    with pytest.raises(AssumptionError, match="unknown model"):
        load_model("family_safe")


def test_optional_only_where_leaving_out_cannot_raise_the_benefit(tmp_path: Path) -> None:
    text = (PACKAGE / "models" / "family_safeguarding.yaml").read_text()
    broken = text.replace(
        "  - id: fs_running_cost_annual\n", "  - id: fs_running_cost_annual\n    required: false\n")
    path = tmp_path / "fs.yaml"
    path.write_text(broken)
    with pytest.raises(AssumptionError, match="fs_running_cost_annual"):
        load_model(path)


def test_override_template_lists_every_gap_and_refuses_until_filled(tmp_path: Path) -> None:
    params = assumptions_for("family_valued")
    text = override_template(params, by="Anytown")
    listed = [line.strip().rstrip(":") for line in text.splitlines()
              if line.startswith("  ") and not line.strip().startswith(("#", "value", "values",
                                                                          "source", "price"))]
    assert listed == [p.id for p in params if not p.has_value]
    path = tmp_path / "template.yaml"
    path.write_text(text)
    with pytest.raises(AssumptionError, match="could not be applied") as caught:
        apply_overrides(params, path)
    assert "fv_cost_per_fgc" in str(caught.value) and "deadweight" in str(caught.value)
    filled = text.replace("value: null", "value: 1").replace("price_base_year: null",
                                                             "price_base_year: 2024-25")
    filled = filled.replace("values: {}", "values: {2024-04-01: 100}")
    path.write_text(filled)
    applied = apply_overrides(params, path)
    assert all(p.has_value for p in applied)
    assert applied["fv_cost_per_fgc"].references[0].title == "LA override by Anytown"
