"""End to end in headless Chromium: sign in, pick an LA, benchmark, run a scenario, fan chart,
Excel download; another LA's user cannot reach that scenario or the uploads. Screenshots of every
page go to test-artifacts/screenshots/."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import uvicorn

from sf_benefits.store import Store
from sf_benefits.web.app import create_app
from tests.web.conftest import LA_A, PASSWORD, app_settings, email, runnable_overrides

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

BROWSER_MODEL = "family_valued"
pytestmark = [pytest.mark.browser, pytest.mark.embedded_store_only]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(web_store: Store) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 (its own job pool), on the embedded store."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): "
                    "apt-get install -y chromium")
    port = _free_port()
    config = uvicorn.Config(create_app(web_store, app_settings()), host="127.0.0.1", port=port,
                            log_level="warning")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started:
        if time.monotonic() > deadline:
            raise AssertionError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uvicorn_server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, timeout=120_000,
                    animations="disabled")


def sign_in(page: Any, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email(role))
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state("networkidle")


def test_analyst_journey_and_other_la_locked_out(server: str, browser: Any,
                                                 tmp_path: Path) -> None:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "404" not in message.text
            and "403" not in message.text else None)

    page.goto(f"{server}/la")
    assert "/login" in page.url
    shot(page, "01-sign-in")
    sign_in(page, server, "analyst_a")

    page.goto(f"{server}/la")
    assert page.url.rstrip("/").endswith(f"/la/{LA_A}"), "an LA user lands on their LA"
    assert page.locator("h1").inner_text() == "Overview and benchmark"
    shot(page, "03-la-overview-benchmark")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2 * 900, f"the overview is {height} px tall: a summary fits about a screen"
    page.click(f"a[href='/la/{LA_A}/indicators/cla_rate_per_10k']")
    page.wait_for_selector("#nb-cla_rate_per_10k .main-svg")
    assert page.locator("#nb-cla_rate_per_10k-figure table").count() == 1
    shot(page, "03b-indicator-detail")
    page.goto(f"{server}/la/{LA_A}")

    page.click("nav.tabs a:has-text('Scenarios')")
    held = [True]  # the job API says "running" until the form below is filled in

    def hold_job(route: Any) -> None:
        if held[0]:
            route.fulfill(json={"status": "running", "progress": 0.5, "message": "Held"})
        else:
            route.continue_()

    page.route("**/api/jobs/*", hold_job)
    page.click("button:has-text('Run a backtest')")
    page.wait_for_selector("#backtest-progress")
    page.fill("#name", "Browser business case")
    page.select_option("#model", BROWSER_MODEL)
    page.fill("#n_draws", "300")
    held[0] = False
    page.wait_for_selector("[data-job-finished] button:has-text('Show the results')", timeout=60_000)
    assert page.input_value("#name") == "Browser business case", "a finished job kept the form"
    page.unroute("**/api/jobs/*")
    with page.expect_navigation():
        page.click("button:has-text('Show the results')")
    page.wait_for_selector("#backtest .main-svg", timeout=60_000)
    assert page.locator("[data-job-url]").count() == 0, "the finished backtest shows as running"
    shot(page, "04-scenarios-and-backtest")
    page.fill("#name", "Browser business case")
    page.select_option("#model", BROWSER_MODEL)
    page.fill("#n_draws", "300")
    page.click("button:has-text('Create scenario')")
    page.wait_for_selector("h1:has-text('Browser business case')", timeout=60_000)
    scenario_url = page.url.split("?")[0]
    shot(page, "05-scenario-builder")

    for parameter_id, value in runnable_overrides(BROWSER_MODEL).items():
        if isinstance(value, dict):  # a series by year, typed into its box as a user would
            page.fill(f"#ovs-{parameter_id}", "\n".join(
                f"{day}, {number}" for day, number in value["values"].items()))
        else:
            page.fill(f"#ov-{parameter_id}", str(value))
    page.click("button:has-text('Save settings and assumptions')")
    page.wait_for_selector("text=Your changes have been saved.")

    page.click("#run-projection")
    page.wait_for_selector("#fan-cla-details", state="attached", timeout=60_000)
    assert "prices" in page.locator(".price-base").inner_text()
    assert page.locator("#assumptions form").first.is_hidden(), "settings a click away"
    shot(page, "06-scenario-summary")
    summary_end = page.evaluate(
        "document.querySelector('table:has(td)').closest('.table-wrap').getBoundingClientRect()"
        ".bottom")
    assert summary_end < 900, f"the P10/P50/P90 table ends {summary_end} px down: off screen"
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 1.75 * 900, f"the scenario page is {height} px tall: details a click away"
    page.click("a:has-text(\"Each assumption's source and grade\")")
    assert page.locator("#run-assumptions-details table").is_visible()
    page.click("#fan-cla-details > summary")
    page.wait_for_selector("#fan-cla .main-svg", timeout=60_000)
    width = page.evaluate("document.querySelector('#fan-cla .main-svg').getBoundingClientRect()"
                          ".width")
    assert width > 900, f"the fan chart, opened, is {width} px wide: it fills the page"
    assert page.locator("#fan-cla-figure table tbody tr").count() >= 5
    shot(page, "06-scenario-fan-chart")

    with page.expect_download() as download_info:
        page.click("a:has-text('Excel workbook')")
    workbook_path = tmp_path / "scenario.xlsx"
    download_info.value.save_as(workbook_path)
    workbook = openpyxl.load_workbook(workbook_path, read_only=True)
    assert len(workbook.sheetnames) >= 2
    page.click("nav.tabs a:has-text('Downloads')")
    assert page.locator("th a:has-text('Browser business case')").count() == 1
    shot(page, "06b-downloads")

    page.click("nav.tabs a:has-text('Tracking')")
    page.set_input_files("#file", files=[{
        "name": "leeds-browser-actuals.csv", "mimeType": "text/csv",
        "buffer": b"period,measure,placement,count,spend_gbp\n"
                  b"2025-26 Q1,cla,all,1031,\n"}])
    page.click("button:has-text('Check and upload')")
    page.wait_for_selector("text=Your actuals have been checked and loaded.")
    page.fill("#go_live_date", "2025-04-01")
    page.click("button:has-text('Record go-live and lock the baseline')")
    section = "section:has(h3:has-text('Family Valued'))"
    page.wait_for_selector(f"{section} [id$='-saving'] .main-svg", timeout=60_000)
    assert page.locator(f"{section} [id$='-cla-figure'] table tbody tr").count() == 1
    for chart, lines in (("cla", 3), ("saving", 2)):  # one period: each line is a marker
        points = page.locator(f"{section} [id$='-{chart}'] .scatterlayer path.point")
        assert points.count() == lines, f"the {chart} chart of a single period lacks markers"
        assert points.first.bounding_box() is not None
    shot(page, "07-tracking-realised-benefit")
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/login")

    sign_in(page, server, "analyst_b")
    denied = page.goto(scenario_url)
    assert denied is not None and denied.status == 404
    assert "Browser business case" not in page.content()
    shot(page, "08-other-la-denied")
    uploads = page.goto(f"{server}/la/{LA_A}/tracking")
    assert uploads is not None and uploads.status == 403
    assert "leeds-browser-actuals.csv" not in page.content()
    api = page.request.get(f"{server}/api/scenarios/{scenario_url.rsplit('/', 1)[-1]}/result")
    assert api.status == 404
    api_tracking = page.request.get(f"{server}/api/las/{LA_A}/tracking")
    assert api_tracking.status == 403
    context.close()
    assert not errors, errors


def test_programme_and_admin_pages(server: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, server, "programme")
    page.goto(f"{server}/programme")
    assert page.locator("h1").inner_text() == "Programme view"
    shot(page, "09-programme")
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, server, "admin")
    page.goto(f"{server}/admin/users")
    shot(page, "10-admin-users")
    page.goto(f"{server}/admin/audit")
    assert page.locator("td:has-text('scenario.create')").count() >= 1
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 60 * 120, f"the audit log is {height} px tall: a table a page at a time"
    assert page.locator("table tbody tr").count() <= 50
    shot(page, "11-audit-log")
    page.goto(f"{server}/api/docs")
    shot(page, "12-api-docs")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert "skip-link" in focused
    context.close()
