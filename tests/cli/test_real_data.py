"""Commands on the real published data in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sf_benefits.cli.main import app
from sf_benefits.store import Store

pytestmark = pytest.mark.shared_data
runner = CliRunner()


@pytest.mark.parametrize("command", [
    ["history"],
    ["project", "--draws", "10"],
    ["report", "--model", "family_safeguarding", "--draws", "10", "--format", "html"],
])
def test_an_la_formed_after_the_data_says_why_it_has_no_history(
        real_data_store: Store, command: list[str]) -> None:
    """Cumberland was formed in April 2023, after the last published year: no 'run data load'
    (the data are loaded) but the reorganisation, and what to project instead."""
    result = runner.invoke(app, [*command, "--la", "Cumberland", "--database-url",
                                 real_data_store.url])
    assert result.exit_code == 1
    assert "Cumbria split" in result.output and "data load" not in result.output
