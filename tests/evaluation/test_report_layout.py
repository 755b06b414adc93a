"""The impact report's layout, on the real PDF (WeasyPrint) of the demo network: every text run
inside the printable width (no clipped column), no page printed twice, month labels of the charts
that never overlap, and partial first and last months marked as partial in the chart and the table."""

from __future__ import annotations

import gc
import io
import re
from datetime import timedelta
from xml.etree import ElementTree

import pdfplumber
import pytest
import sqlalchemy as sa

from mediation.auth.models import Role, User
from mediation.cases.demo import load_cases_demo
from mediation.demo import load_demo
from mediation.evaluation import charts, indicators, report
from mediation.evaluation.demo import load_evaluation_demo
from mediation.evaluation.models import Programme, ReportFormat
from mediation.evaluation.results import Cell, Row, Table
from mediation.evaluation.scope import EvaluationFilter, Scope, authorise, parse_filter
from mediation.types import local_today

MM = 72 / 25.4
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def demo_report(app, session, network):
    """The PDF of the coordinator's territory over the demo programme's period, shifted so that
    its first and last months are partial."""
    users = [network.admin, network.coordinator, network.mediator, network.mediator_b, network.aidant,
             network.funder]
    structures = [network.structure_a, network.structure_b]
    load_cases_demo(session, territory=network.territory, structures=structures, users=users, scale=0.4)
    load_evaluation_demo(session, territory=network.territory, structures=structures, users=users)
    programme = session.scalar(sa.select(Programme).where(Programme.funder_id == network.funder.funder_id))
    start, end = programme.starts_on + timedelta(days=9), programme.ends_on - timedelta(days=12)
    scope = Scope(session, network.coordinator, authorise(session, network.coordinator, parse_filter(
        {"du": start.isoformat(), "au": end.isoformat()})))
    dashboard = indicators.compute_dashboard(scope, compare="structures")
    pdf = report.render_pdf(report.render_html(dashboard, scope))
    return dashboard, pdf


def test_tables_fit_no_page_repeats_and_partial_months_are_marked(demo_report):
    dashboard, pdf = demo_report
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        assert len(document.pages) >= 4
        texts = []
        for number, page in enumerate(document.pages, start=1):
            left, right = 16 * MM, page.width - 16 * MM  # the @page margins
            outside = [(c["text"], round(c["x0"]), round(c["x1"])) for c in page.chars
                       if c["text"].strip() and (c["x0"] < left - 1 or c["x1"] > right + 1)]
            assert not outside, (number, outside[:10])
            texts.append(page.extract_text())
    # The coverage table is in the report, with its last column whole (a rate like « 5,4 »).
    coverage = next(t for s in dashboard.sections for t in s.tables if t.code == "maillage.communes")
    assert coverage.rows and len(coverage.columns) >= 4
    bodies = [re.sub(r"Page \d+ sur \d+", "", text).strip() for text in texts]
    # No Python value leaks into the print (an empty table's missing chart printed « None »).
    leaked = [(number + 1, line) for number, body in enumerate(bodies) for line in body.splitlines()
              if re.search(r"\b(None|True|False|nan)\b", line)]
    assert not leaked, leaked
    repeated = [(i + 1, j + 1) for i in range(len(bodies)) for j in range(i + 1, len(bodies)) if bodies[i] == bodies[j]]
    assert not repeated
    # Nor is the key-figures page printed again at the start of the means part (it was: page 3
    # repeated page 2's figures).
    key_page = next(i for i, body in enumerate(bodies) if body.splitlines()[1:2] == ["Chiffres clés"])
    key_lines = set(bodies[key_page].splitlines()[2:])
    for number, body in enumerate(bodies):
        if number != key_page:
            shared = key_lines & set(body.splitlines())
            assert len(shared) < len(key_lines) / 3, (number + 1, sorted(shared))

    # Partial first and last months are marked in the table and the chart.
    series = next(t for s in dashboard.sections for t in s.tables if t.code == "moyens.par_mois")
    assert series.rows[0].partial and series.rows[-1].partial
    assert not any(r.partial for r in series.rows[1:-1])
    assert series.rows[0].label.endswith("(partiel)") and not series.rows[1].label.endswith("(partiel)")
    svg = ElementTree.fromstring(str(charts.line_chart(series)))
    hollow = svg.findall(f"{SVG}circle[@class='partial']")
    assert len(hollow) == 2
    assert any((t.text or "") == "(partiel)" for t in svg.iter(f"{SVG}text"))
    assert any("Mois partiel" in (t.text or "") for t in svg.iter(f"{SVG}text"))
    assert any("stroke-dasharray" in p.attrib for p in svg.iter(f"{SVG}polyline"))
    text = "\n".join(texts)
    assert "(partiel)" in text  # the table rows (the chart is checked on its SVG above)


def _series(months: int, partial=()) -> Table:
    labels = [f"{indicators.MONTHS_FR[(m + 8) % 12]} {2024 + (m + 8) // 12}" for m in range(months)]
    rows = [Row(label, [Cell(10 + m, str(10 + m))], key=str(m), partial=m in partial) for m, label in enumerate(labels)]
    return Table("moyens.par_mois", "moyens.accompagnements", "Accompagnements par mois", "Mois", ["Accompagnements"],
                 rows, chart="line")


def _label_boxes(svg: ElementTree.Element) -> list[tuple[float, float]]:
    """(left, right) of every month label under the axis, from its anchor and its text."""
    boxes = []
    baseline = max(float(t.attrib["y"]) for t in svg.iter(f"{SVG}text") if t.attrib.get("text-anchor") != "end"
                   or t.text and t.text[0].isalpha())
    for text in svg.iter(f"{SVG}text"):
        if not text.text or not text.text[0].isalpha() or text.attrib.get("font-size"):
            continue
        x, width = float(text.attrib["x"]), charts.text_width(text.text)
        anchor = text.attrib.get("text-anchor", "start")
        left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
        boxes.append((left, left + width))
    assert baseline
    return sorted(boxes)


def test_a_table_without_data_is_named_in_a_sentence_not_drawn(demo_report):
    """A part's tables without any row are listed once, by title, under the part: five empty tables
    of « Réalisations » drew a page of their own, each a caption, a header and « Aucune donnée »."""
    dashboard, pdf = demo_report
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        text = " ".join((page.extract_text() or "").replace("\n", " ") for page in document.pages)
    text = re.sub(r"\s+", " ", text)
    listed = 0
    for section in dashboard.sections:
        if section.code == "qualite":
            continue
        empty = [t for t in section.tables if not t.rows and not t.note]
        for table in empty:
            assert f"« {table.title} »" in text, table.title
        listed += len(empty)
    assert listed >= 2  # the demo programme has some: the test would prove nothing without
    sentences = re.findall(r"Tableaux? sans donnée pour ces filtres : (.*?»\.)", text)
    assert sum(s.count("« ") for s in sentences) == listed
    # « Aucune donnée » is only printed in a table that is still drawn (the annex, or one with a note).
    drawn_empty = sum(1 for s in dashboard.sections for t in s.tables
                      if not t.rows and (t.note or s.code == "qualite"))
    assert text.count("Aucune donnée pour ces filtres.") == drawn_empty


@pytest.mark.parametrize("months", [1, 2, 5, 12, 13, 14, 19, 24, 25, 36, 48, 60])
def test_month_labels_never_overlap_and_the_last_month_is_labelled(months):
    table = _series(months, partial={0, months - 1})
    svg = ElementTree.fromstring(str(charts.line_chart(table)))
    boxes = _label_boxes(svg)
    assert boxes, months
    for (_, right), (left, _) in zip(boxes, boxes[1:], strict=False):
        assert left - right >= 4, (months, boxes)
    last = table.rows[-1].label
    assert any(t.text == last for t in svg.iter(f"{SVG}text"))
    assert all(a >= 0 and b <= charts.WIDTH for a, b in boxes)
    if months >= 12:
        assert len(boxes) >= 4  # thinned, not emptied


def test_the_collector_is_paused_while_rendering_and_restored_after():
    """The report pauses Python's cyclic garbage collector while WeasyPrint renders (issue 18): it
    is back on afterwards, even after an error, only the last of nested pauses turns it back on,
    and a collector that was off stays off."""
    assert gc.isenabled()
    with report.collector_paused():
        assert not gc.isenabled()
        with report.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), report.collector_paused():
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with report.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_render_pdf_runs_weasyprint_with_the_collector_paused(app, monkeypatch):
    import weasyprint

    seen = []
    write_pdf = weasyprint.HTML.write_pdf

    def spy(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return write_pdf(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", spy)
    with app.test_request_context():
        pdf = report.render_pdf("<!doctype html><html lang='fr'><body><p>Rapport</p></body></html>")
    assert seen == [False] and pdf.startswith(b"%PDF") and gc.isenabled()


def _structure(node, found):
    """The (type, /Alt) pairs of a tagged PDF's structure tree, depth first."""
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, list):
        for child in node:
            _structure(child, found)
    elif hasattr(node, "get"):
        if "/S" in node:
            found.append((str(node["/S"]), str(node.get("/Alt", ""))))
        if "/K" in node:
            _structure(node["/K"], found)
    return found


def test_charts_are_tagged_figures_named_by_their_title_and_description(demo_report):
    """Tagged PDF (accessibility): each chart is a /Figure whose alternative text gives the chart's
    title and description, and sends to the table that holds the exact values."""
    from pypdf import PdfReader

    dashboard, pdf = demo_report
    catalog = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert catalog["/MarkInfo"]["/Marked"]
    figures = [alt for kind, alt in _structure(catalog["/StructTreeRoot"], []) if kind == "/Figure"]
    charted = [t for s in dashboard.sections for t in s.tables if charts.report_chart(t) is not None]
    assert charted and len(figures) == len(charted) + (1 if dashboard.observatoire else 0)
    for table in charted:
        assert any(alt.startswith(f"{table.title}. ") and f"tableau « {table.title} »" in alt for alt in figures), table.title




def test_bar_chart_labels_are_printed_as_text_on_the_line_of_their_bar(app):
    """In the PDF, the bar chart of a wide table (the coverage table's accompaniments, say) is an
    image whose labels are HTML text beside the bars (WeasyPrint lays SVG text out letter by
    letter): each label is printed left of its bar, on its line, and the SVG draws the bars and
    their values but not the labels; the image keeps its text alternative."""
    import base64

    from flask import render_template_string

    labels = ["Prendre en main du matériel", "Aide aux démarches administratives en ligne et au guichet", "E-mail"]
    rows = [Row(label, [Cell(v, str(v)), Cell(1, "1"), Cell(v * 2, str(v * 2))], key=str(i))
            for i, (label, v) in enumerate(zip(labels, (30, 20, 10), strict=True))]
    table = Table("moyens.par_theme", "moyens.accompagnements", "Accompagnements par thématique", "Thématique",
                  ["Accompagnements", "Structures", "Bénéficiaires"], rows, chart="bar")
    assert charts.table_bars(table) is None  # too many columns to draw the bars in the table
    image = charts.report_image(table)
    source = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', str(image)).group(1)
    svg = ElementTree.fromstring(base64.b64decode(source))
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["30", "20", "10"]  # the values, no label
    assert 'alt="Accompagnements par thématique. Graphique en barres' in str(image)
    with app.test_request_context():
        pdf = report.render_pdf(render_template_string(
            "<!doctype html><html lang='fr'><head><style>{% include 'evaluation/_report.css' %}</style></head>"
            "<body><figure class='chart-figure'>{{ image }}</figure></body></html>", image=image))
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        lines = page.extract_text_lines()
        bars = sorted((r for r in page.rects if r["width"] > 5), key=lambda r: r["top"])
    assert len(bars) == 3
    for label, bar in zip(["Prendre en main du matériel", "Aide aux démarches", "E-mail"], bars, strict=True):
        line = next(line for line in lines if line["text"].startswith(label))
        assert bar["top"] <= (line["top"] + line["bottom"]) / 2 <= bar["bottom"], (label, line, bar)
        left = "".join(c["text"] for c in line["chars"] if c["x1"] <= bar["x0"] + 0.5)
        assert left.startswith(label.replace(" ", "")), (label, line["text"])  # its value is right of the bar


def test_breakdown_bars_are_drawn_in_their_table_on_the_line_of_each_row(app):
    """A breakdown (a count and its share) prints its bars in its own table, not as a second list of
    the same rows: each row's bar is on the line of its label, between the label and the value,
    its length proportional to the value; a hidden or zero value draws no bar; the value is never
    covered by its bar; the tagged PDF has the table (every value) and no figure for it."""
    from flask import render_template_string
    from pypdf import PdfReader

    values = [(1200, "1 200", None), (600, "600", None), (None, "< 5", "primary"), (0, "0", None), (300, "300", None)]
    rows = [Row(f"Thématique numéro {i}", [Cell(v, d, mask), Cell(None, "—")], key=str(i))
            for i, (v, d, mask) in enumerate(values)]
    table = Table("moyens.par_theme", "moyens.accompagnements", "Accompagnements par thématique", "Thématique",
                  ["Accompagnements", "Part"], rows, chart="bar")
    assert charts.table_bars(table) == [70.0, 35.0, 0, 0, 17.5]
    assert charts.report_image(table) is None and charts.report_chart(table) is None
    with app.test_request_context():
        pdf = report.render_pdf(render_template_string(
            "{% from 'evaluation/_blocks.html' import data_table %}<!doctype html><html lang='fr'><head>"
            "<title>Barres</title><style>{% include 'evaluation/_report.css' %}</style></head><body>"
            "{{ data_table(table, chart, bars=bars) }}</body></html>",
            table=table, chart=charts.report_image, bars=charts.table_bars))
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        lines = page.extract_text_lines()
        colour = tuple(int(charts.BAR[i:i + 2], 16) / 255 for i in (1, 3, 5))  # the charts' bars
        bars = sorted((r for r in page.rects if r["non_stroking_color"] and r["height"] < 4 * MM
                       and tuple(r["non_stroking_color"]) == pytest.approx(colour, abs=0.002)), key=lambda r: r["top"])
    drawn = [(v, d) for v, d, mask in values if v]
    assert len(bars) == len(drawn), bars
    lefts = {round(b["x0"], 1) for b in bars}
    assert len(lefts) == 1  # every bar starts at the same place
    for (value, display), bar in zip(drawn, bars, strict=True):
        line = next(line for line in lines if display in line["text"] and line["text"].startswith("Thématique"))
        assert bar["top"] <= (line["top"] + line["bottom"]) / 2 <= bar["bottom"], (display, line, bar)
        label_end = max(c["x1"] for c in line["chars"] if c["x1"] < bar["x0"] + 1)
        value_start = min(c["x0"] for c in line["chars"] if c["x0"] > bar["x0"])
        assert label_end <= bar["x0"] and bar["x1"] < value_start, (display, bar, line["text"])
        assert bar["width"] == pytest.approx(bars[0]["width"] * value / 1200, rel=0.02)
    catalog = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    kinds = [kind for kind, _ in _structure(catalog["/StructTreeRoot"], [])]
    assert "/Table" in kinds and "/Figure" not in kinds



def test_the_observatoire_keeps_its_last_notes_with_its_table(app, session):
    """The demo network's report, as ``flask report`` builds it: the observatoire (title,
    explanations, map, table of 8 communes, notes) is taller than a page. Kept whole, it was moved
    to a page of its own, then broke anyway, and its last notes were printed alone on one more page
    (« Colonnes données… », « Les taux pour 1 000 habitants… »)."""
    load_demo(session, password="mot-de-passe-demo-rapport")
    admin = session.scalar(sa.select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
    today = local_today()
    f = EvaluationFilter(start=today - timedelta(days=364), end=today)
    scope = Scope(session, admin, authorise(session, admin, f))
    observatoire = indicators.compute_dashboard(scope).observatoire
    assert observatoire is not None and len(observatoire.rows) >= 6  # else this proves nothing
    pdf, _, _ = report.build(session, admin, f, ReportFormat.PDF)
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        pages = [re.sub(r"\s+", " ", page.extract_text() or "") for page in document.pages]
    heading = next(i for i, text in enumerate(pages) if "Observatoire : besoin et couverture par commune" in text)
    last_row = max(i for i, text in enumerate(pages[heading:], start=heading)
                   if re.search(rf"{re.escape(observatoire.rows[-1].name)} (faible|moyen|élevé|non renseigné)", text))
    notes = [i for i, text in enumerate(pages) if "Les taux pour 1 000 habitants sont ceux du tableau" in text
             or "Colonnes données, pour les mêmes communes" in text]
    assert notes and set(notes) == {last_row}, (heading + 1, last_row + 1, [n + 1 for n in notes])
    # Its title, explanations and map are printed together (the map's legend, whose SVG text comes
    # out of the PDF without its spaces).
    assert "Lieudemédiation(structureactiveduréseau)" in pages[heading].replace(" ", "")
