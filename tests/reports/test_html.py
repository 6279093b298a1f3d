"""The HTML report: one self-contained file, a data table under each chart, escaped text."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sf_benefits.reports import ReportInput, build_document, build_report
from sf_benefits.reports.document import Chart
from tests.reports.fixtures import make_benchmark, make_projection

URL_ATTRIBUTES = {"src", "href", "action", "data", "poster", "srcset", "xlink:href", "formaction",
                  "background", "manifest", "ping"}
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


class _Scan(HTMLParser):
    """Every URL-bearing attribute, every stylesheet link, and the order of charts and tables."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.order: list[tuple[str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.lower() in URL_ATTRIBUTES and value is not None:
                self.urls.append((tag, name, value))
        ids = dict(attrs).get("id") or ""
        if tag == "div" and ids.startswith("chart-"):
            self.order.append(("chart", ids))
        if tag == "table" and ids.startswith("table-"):
            self.order.append(("table", ids))
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


@pytest.fixture(scope="module")
def html_file(report_input: ReportInput, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(report_input, "html", tmp_path_factory.mktemp("html") / "report.html")


def test_no_external_references(html_file: Path) -> None:
    scan = _Scan()
    scan.feed(html_file.read_text(encoding="utf-8"))
    assert scan.urls, "the contents links should have been seen"
    external = [u for u in scan.urls if EXTERNAL.match(u[2])]
    assert external == []
    assert not any("url(" in s or "@import" in s for s in scan.styles)
    assert "default-src 'none'" in html_file.read_text(encoding="utf-8")


def test_plotly_is_inlined_once_and_every_chart_has_its_table(
        html_file: Path, report_input: ReportInput) -> None:
    text = html_file.read_text(encoding="utf-8")
    assert text.count("plotly.js v") >= 1
    assert len(re.findall(r"<script[^>]+src=", text)) == 0
    scan = _Scan()
    scan.feed(text)
    charts = [b for s in build_document(report_input).sections for b in s.blocks
              if isinstance(b, Chart)]
    assert [k for k, _ in scan.order].count("chart") == len(charts) >= 4
    for position, (kind, _) in enumerate(scan.order):
        if kind == "chart":
            assert scan.order[position + 1][0] == "table"


def test_figures_and_price_base_are_shown(html_file: Path, report_input: ReportInput) -> None:
    text = html_file.read_text(encoding="utf-8")
    projection = report_input.projection
    npv = f"£{projection.net_present_value.p50:,.0f}".replace("£-", "-£")
    assert npv in text
    assert "£ 2024-25 prices" in text
    assert report_input.benchmark.la.la_name in text


def test_text_from_files_is_escaped(tmp_path: Path) -> None:
    name = "<script>alert('la')</script>"
    report = ReportInput(make_benchmark(la_name=name), make_projection(),
                         generated_on=date(2026, 11, 23))
    text = build_report(report, "html", tmp_path / "escaped.html").read_text(encoding="utf-8")
    assert name not in text
    assert "&lt;script&gt;alert(&#39;la&#39;)&lt;/script&gt;" in text


def _chromium() -> str | None:
    """Debian's chromium, else Playwright's own download, else None. Any other fault of the
    browser or of Playwright is raised, so it fails the test instead of skipping it."""
    if DEBIAN_CHROMIUM.exists():
        return str(DEBIAN_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = playwright.chromium.executable_path
    return path if path and Path(path).exists() else None


@pytest.mark.browser
def test_opens_in_headless_chromium_without_any_request(html_file: Path) -> None:
    executable = _chromium()
    if executable is None:
        pytest.skip("Chromium is not installed (`apt-get install -y chromium`); "
                    "test_no_external_references covers the file by parsing it")
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                             headless=True)
        page = browser.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))

        def block(route, request) -> None:  # type: ignore[no-untyped-def]
            if request.url.startswith(("data:", "blob:", "about:")) or request.url == (
                    html_file.as_uri()):
                route.continue_()
            else:
                requested.append(request.url)
                route.abort()

        page.route("**/*", block)
        page.goto(html_file.as_uri(), wait_until="load")
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        drawn = page.locator(".js-plotly-plot .main-svg").count()
        traces = page.locator(".js-plotly-plot .trace").count()
        browser.close()
    assert requested == []
    assert errors == []
    assert drawn >= 4
    assert traces >= 4
