"""Pages speak to finance officers: method ids and statistics jargon (stock_flow, ets, theta,
MASE) never reach the visible text; the technical names stay in tooltips and footnotes."""

from __future__ import annotations

import json
import re
from html import unescape

from sf_benefits.web.scenarios import DEMAND_METHODS
from tests.web.conftest import LA_A, Clients, RunScenario

JARGON = re.compile(r"\b(stock_flow|linear_trend|ets|theta|naive|arima|auto|MASE|MAPE)\b")


def visible_text(page: str) -> str:
    """What a reader sees: no tags, attributes, scripts or footnotes marked as such."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return unescape(page)


def test_scenario_pages_use_plain_words(clients: Clients, run_scenario: RunScenario,
                                        backtest_job: str) -> None:
    for path in (f"/la/{LA_A}/scenarios", f"/scenarios/{run_scenario.scenario_id}"):
        page = clients["analyst_a"].get(path).text
        shown = visible_text(re.sub(r'<p class="hint">[^<]*Statisticians call[^<]*</p>', " ",
                                    page))
        found = {m.group(1) for m in JARGON.finditer(shown)}
        assert not found, (path, found)
        assert 'title="exponential smoothing (ETS)"' in page
    scenarios = clients["analyst_a"].get(f"/la/{LA_A}/scenarios").text
    data = re.search(r'id="backtest-data">(.*?)</script>', scenarios, flags=re.S)
    assert data is not None
    names = {t["name"] for t in json.loads(data.group(1))["data"]}
    assert names and names <= set(DEMAND_METHODS.values())
    assert "Statisticians call this error MASE" in scenarios
