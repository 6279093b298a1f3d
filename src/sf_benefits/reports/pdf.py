"""PDF board paper, four to six A4 pages: summary in plain words, benchmark chart, projection fan
chart, money table, assumptions and sources, caveats. Charts are matplotlib PNGs with mathtext off;
every piece of text is escaped before reportlab's paragraph markup sees it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from matplotlib import rc_context, transforms
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    ListFlowable,
    ListItem,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as PdfTable

from sf_benefits.disclosure import SUPPRESSED
from sf_benefits.reports.document import Chart, ColumnKind, ReportDocument, Section, Table
from sf_benefits.reports.formatting import (
    BAR_COLOURS,
    NUMERIC_KINDS,
    SERIES_COLOURS,
    format_value,
    is_missing,
    is_suppressed,
    price_base_note,
)

_MARGIN = 16 * mm
_WIDTH = A4[0] - 2 * _MARGIN


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontSize=10, leading=13.5)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=18, leading=22,
                                alignment=0),
        "h1": ParagraphStyle("h1", parent=base["Heading1"], fontSize=14, leading=17,
                             spaceBefore=4, spaceAfter=6, textColor=colors.HexColor("#0b0c0c")),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=11, leading=14,
                             spaceBefore=6, spaceAfter=3),
        "body": body,
        "meta": ParagraphStyle("meta", parent=body, textColor=colors.HexColor("#505a5f")),
        "note": ParagraphStyle("note", parent=body, fontSize=8, leading=10,
                               textColor=colors.HexColor("#505a5f"), fontName="Helvetica-Oblique"),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9),
        "cell_num": ParagraphStyle("cell_num", parent=body, fontSize=7.5, leading=9,
                                   alignment=2, splitLongWords=0),
        "head": ParagraphStyle("head", parent=body, fontSize=7.5, leading=9,
                               fontName="Helvetica-Bold", splitLongWords=0),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _axis_formatter(kind: ColumnKind) -> FuncFormatter:
    def fmt(value: float, _position: int) -> str:
        if kind == "money":
            sign = "-" if value < 0 else ""
            size = abs(value)
            if size >= 1_000_000:
                return f"{sign}£{size / 1_000_000:,.1f}m"
            if size >= 1_000:
                return f"{sign}£{size / 1_000:,.0f}k"
            return f"{sign}£{size:,.0f}"
        if kind == "percent":
            return f"{value:.0f}%"
        if kind == "fraction":
            return f"{value * 100:.0f}%"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"

    return FuncFormatter(fmt)


def _plot_values(values: Sequence[object]) -> list[float]:
    out: list[float] = []
    for value in values:
        if is_missing(value) or is_suppressed(value) or isinstance(value, str):
            out.append(float("nan"))
        else:
            out.append(float(value))  # type: ignore[arg-type]
    return out


@rc_context({"text.parse_math": False})
def chart_png(chart: Chart, width_in: float = 7.0, height_in: float = 3.6) -> bytes:
    """The chart drawn with matplotlib as PNG bytes; a suppressed point is marked "c" at the
    foot, a missing one is a gap, and text is drawn as typed (a "$" never starts mathtext)."""
    table = chart.table
    frame = table.frame
    x = [str(v) for v in frame[chart.x].tolist()]
    positions = list(range(len(x)))
    kind = table.column(chart.series[0]).kind if chart.series else "number"
    figure = Figure(figsize=(width_in, height_in), dpi=150)
    axes = figure.add_subplot()
    if chart.kind == "bar":
        values = _plot_values(frame[chart.series[0]].tolist())
        bar_colours = [BAR_COLOURS[chart.bar_role(v)] for v in x]
        if chart.horizontal:
            axes.barh(positions, values, color=bar_colours)
            axes.set_yticks(positions, x, fontsize=7)
            axes.invert_yaxis()
            axes.xaxis.set_major_formatter(_axis_formatter(kind))
            axes.set_xlabel(chart.y_label, fontsize=8)
        else:
            axes.bar(positions, values, color=bar_colours)
            axes.set_xticks(positions, x, fontsize=7, rotation=30, ha="right")
            axes.yaxis.set_major_formatter(_axis_formatter(kind))
            axes.set_ylabel(chart.y_label, fontsize=8)
    else:
        for number, (low, high) in enumerate(chart.bands):
            axes.fill_between(positions, _plot_values(frame[low].tolist()),
                              _plot_values(frame[high].tolist()),
                              color=SERIES_COLOURS[number % len(SERIES_COLOURS)], alpha=0.18,
                              linewidth=0,
                              label=f"{table.column(low).label} to {table.column(high).label}")
        for number, key in enumerate(chart.series):
            axes.plot(positions, _plot_values(frame[key].tolist()), marker="o", markersize=3,
                      color=SERIES_COLOURS[number % len(SERIES_COLOURS)], linewidth=2,
                      label=table.column(key).label)
        step = max(1, len(x) // 10)
        axes.set_xticks(positions[::step], x[::step], fontsize=7)
        axes.yaxis.set_major_formatter(_axis_formatter(kind))
        axes.set_ylabel(chart.y_label, fontsize=8)
        axes.legend(fontsize=7, frameon=False, loc="best")
    _mark_suppressed(axes, chart, positions)
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_title(chart.title, fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _mark_suppressed(axes: Any, chart: Chart, positions: list[int]) -> None:
    """A "c" at the foot of the axes (the left of horizontal bars) at each suppressed point."""
    horizontal = chart.kind == "bar" and chart.horizontal
    foot = (transforms.blended_transform_factory(axes.transAxes, axes.transData) if horizontal
            else transforms.blended_transform_factory(axes.transData, axes.transAxes))
    for number, key in enumerate(chart.series):
        colour = "#505a5f" if chart.kind == "bar" else SERIES_COLOURS[
            number % len(SERIES_COLOURS)]
        for position, value in zip(positions, chart.table.frame[key].tolist(), strict=True):
            if is_suppressed(value):
                where = (0.01, position) if horizontal else (position, 0.04)
                axes.text(*where, SUPPRESSED, transform=foot, fontsize=8, fontweight="bold",
                          color=colour, ha="left" if horizontal else "center", va="center")


def _image(chart: Chart, height_in: float = 3.6) -> Image:
    png = chart_png(chart, height_in=height_in)
    return Image(io.BytesIO(png), width=_WIDTH, height=_WIDTH * height_in / 7.0)


def _table(table: Table, styles: dict[str, ParagraphStyle], keys: Sequence[str] | None = None,
           weights: dict[str, float] | None = None) -> PdfTable:
    columns = [table.column(k) for k in keys] if keys else list(table.columns)
    head = [_p(c.label, styles["head"]) for c in columns]
    body: list[list[Any]] = [head]
    position = {c.key: table.columns.index(c) for c in columns}
    for i, record in enumerate(table.frame[[c.key for c in table.columns]].itertuples(
            index=False, name=None)):
        row: list[Any] = []
        for column in columns:
            kind = table.kind(column, i)
            text = format_value(record[position[column.key]], kind)
            row.append(_p(text, styles["cell_num" if kind in NUMERIC_KINDS else "cell"]))
        body.append(row)
    weight = [(weights or {}).get(c.key, 2.6 if c.kind == "text" else 1.0) for c in columns]
    pdf_table = PdfTable(body, colWidths=_fitted_widths(body, columns, weight, styles),
                         repeatRows=1)
    pdf_table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dee0e2")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b1b4b6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    return pdf_table


def _fitted_widths(body: list[list[Any]], columns: Sequence[Any], weight: list[float],
                   styles: dict[str, ParagraphStyle]) -> list[float]:
    """Column widths shared out by weight, but never narrower than a column's widest number
    or longest heading word, so no figure or word is split across lines; text columns give up
    the room."""
    padding = 7.0
    need = []
    for j, column in enumerate(columns):
        words = [w for w in body[0][j].getPlainText().split()]
        widest = max((stringWidth(w, "Helvetica-Bold", styles["head"].fontSize) for w in words),
                     default=0.0)
        if column.kind != "text":
            widest = max([widest, *(stringWidth(row[j].getPlainText(), "Helvetica",
                                                styles["cell_num"].fontSize)
                                    for row in body[1:])])
        need.append(widest + padding)
    widths = [_WIDTH * w / sum(weight) for w in weight]
    for _ in range(len(columns)):
        short = sum(max(0.0, n - w) for n, w in zip(need, widths, strict=True))
        if short <= 0:
            break
        widths = [max(w, n) for n, w in zip(need, widths, strict=True)]
        spare = [j for j, c in enumerate(columns) if c.kind == "text" and widths[j] > need[j]]
        room = sum(widths[j] - need[j] for j in spare)
        excess = sum(widths) - _WIDTH
        for j in spare:
            widths[j] -= excess * (widths[j] - need[j]) / room if room else 0.0
    return widths


def _block(section: Section, key: str) -> Table | Chart | None:
    for block in section.blocks:
        if block.key == key:
            return block
    return None


def _find(document: ReportDocument, section_key: str, block_key: str) -> Table | Chart | None:
    try:
        return _block(document.section(section_key), block_key)
    except KeyError:
        return None


def _story(document: ReportDocument) -> list[Flowable]:
    s = _styles()
    note = price_base_note(document.price_base_year)
    story: list[Flowable] = [
        _p(document.title, s["title"]),
        _p(f"{document.la_name} ({document.la_code}) · {document.model_name} · {note} · "
           f"produced {document.generated_on.isoformat()}", s["meta"]),
        _p(f"Scenario: {document.scenario}", s["meta"]),
        Spacer(1, 6 * mm),
        _p("Summary", s["h1"]),
    ]
    story += [_p(text, s["body"]) for text in document.summary]
    story.append(Spacer(1, 4 * mm))
    story.append(_p("Key figures", s["h2"]))
    figures = [[_p("Measure", s["head"]), _p("Value", s["head"]), _p("What it means", s["head"])]]
    for figure in document.key_figures:
        figures.append([_p(figure.label, s["cell"]),
                        _p(format_value(figure.value, figure.kind), s["cell_num"]),
                        _p(figure.explanation, s["cell"])])
    key_table = PdfTable(figures, colWidths=[_WIDTH * 0.34, _WIDTH * 0.18, _WIDTH * 0.48])
    key_table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dee0e2")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b1b4b6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(key_table)

    story += [PageBreak(), _p("Benchmark against statistical neighbours", s["h1"])]
    bar = _find(document, "benchmark", "benchmark_headline")
    if isinstance(bar, Chart):
        story += [_image(bar, height_in=3.8), _p(bar.table.note, s["note"])]
    indicators = _find(document, "benchmark", "benchmark_indicators")
    if isinstance(indicators, Table):
        story += [Spacer(1, 3 * mm), _p(indicators.title, s["h2"]),
                  _table(indicators, s, ["indicator", "year", "la_value", "neighbour_mean",
                                         "england_value", "rank", "quartile_band"],
                         {"indicator": 3.4, "year": 0.6, "la_value": 1.3,
                          "neighbour_mean": 1.3, "england_value": 1.3, "rank": 1.0,
                          "quartile_band": 0.8}),
                  _p(indicators.note, s["note"])]

    story += [CondPageBreak(90 * mm), _p("Projection: children looked after, with and without "
                              f"{document.model_name}", s["h1"])]
    fan = _find(document, "projections", "projection_fan")
    if isinstance(fan, Chart):
        story += [_image(fan, height_in=3.6), Spacer(1, 3 * mm), _p(fan.table.title, s["h2"]),
                  _table(fan.table, s)]
    story.append(_p("P10 to P90 is the range holding eight in ten Monte Carlo draws; P50 is "
                    "the central projection. Counts from 1 to 5 are shown as 'c'.", s["note"]))

    story += [CondPageBreak(70 * mm), _p(f"Money ({note})", s["h1"])]
    appraisal = _find(document, "money", "money_appraisal")
    if isinstance(appraisal, Table):
        story += [_p(appraisal.title, s["h2"]), _table(appraisal, s, weights={"measure": 2.0}),
                  _p(appraisal.note, s["note"])]
    by_year = _find(document, "money", "money_chart")
    if isinstance(by_year, Chart):
        story += [Spacer(1, 3 * mm), _p(by_year.table.title, s["h2"]),
                  _table(by_year.table, s, weights={"financial_year": 1.0}),
                  _p(f"{note}; undiscounted. P10 and P90 by year are in the Excel workbook.",
                     s["note"])]

    story += _tracking(document, s)
    story += [CondPageBreak(70 * mm), _p("Assumptions and sources", s["h1"])]
    assumptions = _find(document, "assumptions", "assumptions")
    if isinstance(assumptions, Table):
        cited = assumptions.frame["source"].astype(str).str.replace(
            r"^(.*?\(\d{4}\)).*$", r"\1", regex=True)  # "publisher (year)"; full text below
        assumptions = replace(assumptions, frame=assumptions.frame.assign(source=cited))
        story += [_table(assumptions, s, ["description", "value", "unit", "price_base_year",
                                          "source", "confidence"],
                         {"description": 3.0, "source": 3.4, "unit": 1.4,
                          "price_base_year": 0.9, "confidence": 1.2}),
                  _p(assumptions.note, s["note"])]
    if document.sources:
        story += [Spacer(1, 3 * mm), _p("Sources", s["h2"]), _bullets(document.sources, s["body"])]
    story += [Spacer(1, 4 * mm), _p("Caveats", s["h1"]), _bullets(document.caveats, s["body"])]
    return story


def _tracking(document: ReportDocument, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The tracking page, where the LA has implemented the model: realised against expected
    saving, the realised benefit by period and the effect estimates, as in the HTML report."""
    try:
        section = document.section("tracking")
    except KeyError:
        return []
    story: list[Flowable] = [CondPageBreak(90 * mm), _p(section.title, s["h1"])]
    story += [_p(text, s["body"]) for text in section.paragraphs]
    for block in section.blocks:
        if isinstance(block, Chart):
            story += [_image(block, height_in=3.0), _p(block.table.note, s["note"])]
        elif block.key == "tracking_realised":
            story += [_p(block.title, s["h2"]),
                      _table(block, s, [c for c in ("period", "actual_cla", "baseline_cla_p50",
                                                    "children_avoided", "saving_gbp",
                                                    "cumulative_saving_gbp", "status")
                                        if c in block.frame.columns],
                             {"saving_gbp": 1.3, "cumulative_saving_gbp": 1.5}),
                      _p(block.note, s["note"])]
        else:
            story += [_p(block.title, s["h2"]), _table(block, s), _p(block.note, s["note"])]
    return story


def _bullets(texts: Sequence[str], style: ParagraphStyle) -> ListFlowable:
    return ListFlowable([ListItem(_p(text, style), leftIndent=10) for text in texts],
                        bulletType="bullet", start="•", leftIndent=10)


def write_pdf(document: ReportDocument, path: Path) -> Path:
    """Write the board paper as a PDF at `path` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    footer = (f"{document.la_name} · {document.model_name} · "
              f"{price_base_note(document.price_base_year)}")

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.HexColor("#505a5f"))
        canvas.drawString(_MARGIN, 9 * mm, footer)
        canvas.drawRightString(A4[0] - _MARGIN, 9 * mm, f"Page {doc.page}")
        canvas.restoreState()

    pdf = SimpleDocTemplate(
        str(path), pagesize=A4, leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_MARGIN,
        bottomMargin=18 * mm, title=document.title, author="SF Benefits",
        subject=f"{document.la_name}: {document.model_name}",
    )
    pdf.build(_story(document), onFirstPage=on_page, onLaterPages=on_page)
    return path
