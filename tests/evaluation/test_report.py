"""The same filters give the same figures in the dashboard page, the impact PDF (text extracted with
pypdf), the XLSX and CSV exports and the API; reports run as a job and are kept for download."""

from __future__ import annotations

import html
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from mediation.cases.enums import ActivityType, Genre, StatutSocial
from mediation.evaluation import indicators
from mediation.evaluation.models import ReportFile
from mediation.jobs.models import Job, JobStatus
from tests.evaluation.conftest import YEAR


@pytest.fixture
def eager_jobs(app):
    previous = app.config.get("MEDIATION_JOBS_BACKEND")
    app.config["MEDIATION_JOBS_BACKEND"] = "eager"
    yield
    app.config["MEDIATION_JOBS_BACKEND"] = previous


@pytest.fixture
def busy_year(build, network):
    """40 people at structure A over the year (some twice), 12 at B, weekly workshops: enough for
    most figures to be published with the default threshold."""
    n = network
    genres = [Genre.FEMININ, Genre.MASCULIN, Genre.FEMININ, None]
    people_a = [build.person(genre=genres[i % 4], birth_year=1940 + i, statut_social=list(StatutSocial)[i % 5],
                             residence_commune_id=n.commune_a.id if i % 3 else n.commune_b.id) for i in range(40)]
    people_b = [build.person(n.structure_b, genre=Genre.FEMININ) for _ in range(12)]
    for i, person in enumerate(people_a):
        build.activity(date(YEAR, 1 + i % 12, 1 + i % 27), [person], duration=30 + 15 * (i % 4))
        if i % 2:
            build.activity(date(YEAR, 1 + (i + 3) % 12, 2 + i % 25), [person], duration=60)
    for i, person in enumerate(people_b):
        build.activity(date(YEAR, 1 + i % 12, 10), [person], structure=n.structure_b, mediator=n.mediator_b)
    for week in range(10):
        group = people_a[week * 3: week * 3 + 6]
        anonymous = [build.person(anonymous=True, genre=Genre.FEMININ) for _ in range(3)]
        build.activity(date(YEAR, 2 + week % 10, 15), group + anonymous, type=ActivityType.COLLECTIF, duration=120)
    build.done()


def pdf_text(content: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return text.replace("\u202f", " ").replace("\xa0", " ")


def normal(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def page_figures(page: str) -> dict[str, str]:
    """{dom id: displayed value} of the key figures of a dashboard page."""
    found = re.findall(r'<li class="figure[^"]*" id="(f-[^"]+)">\s*<span class="figure-label">[^<]*</span>\s*'
                       r'<span class="figure-value">([^<]*)', page)
    return {ident: normal(html.unescape(value)).strip() for ident, value in found}


def test_pdf_dashboard_export_and_api_agree(app, client, login, session, network, funder_setup, busy_year,
                                           eager_jobs):
    """The funder's programme P1 (structure A) for the year: every key figure of the page is in the
    PDF and equals the XLSX value; the main tables too."""
    login(client, network.funder)
    query = f"du={YEAR}-01-01&au={YEAR}-12-31&programme={funder_setup.p1.id}"
    page = client.get(f"/evaluation/?{query}")
    assert page.status_code == 200
    shown = page_figures(page.get_data(as_text=True))
    assert shown["f-moyens-accompagnements"] == "150"  # 40 + 20 individual sessions, 10 workshops × (6 + 3)

    response = client.post("/evaluation/rapports", data={"format": "pdf", "filters": query})
    assert response.status_code == 302
    job = session.scalar(__import__("sqlalchemy").select(Job).order_by(Job.id.desc()).limit(1))
    assert job.status == JobStatus.DONE, job.error
    report = session.scalar(__import__("sqlalchemy").select(ReportFile).where(ReportFile.job_id == job.id))
    download = client.get(f"/evaluation/rapports/{report.id}.pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    text = pdf_text(download.data)
    assert "Conseillers numériques" in text and "État — ANCT" in text
    assert re.search(r"Page 1 sur \d+", text)
    flat = re.sub(r"\s+", " ", text)

    xlsx = client.get(f"/evaluation/export.xlsx?{query}")
    workbook = load_workbook(io.BytesIO(xlsx.data))
    exported = {}
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(values_only=True):
            if row and isinstance(row[0], str) and "." in row[0] and row[1] is not None and len(row) >= 3:
                exported[row[0]] = row[2]

    from mediation.evaluation.scope import EvaluationFilter, Scope, authorise

    scope = Scope(session, network.funder, authorise(session, network.funder, EvaluationFilter(
        start=date(YEAR, 1, 1), end=date(YEAR, 12, 31), programme_id=funder_setup.p1.id)))
    dashboard = indicators.compute_dashboard(scope)
    for figure in dashboard.figures():
        ident = figure.dom_id
        assert shown[ident] == normal(figure.display), ident
        assert f"{figure.label} {normal(figure.display)}" in flat, figure.code
        expected = figure.display if figure.mask or figure.value is None else figure.value
        assert exported[figure.code] == expected, figure.code
    for table in (dashboard.table("moyens.par_mois"), dashboard.table("moyens.par_genre"),
                  dashboard.table("moyens.par_duree")):
        for row in table.rows:
            line = " ".join([row.label] + [normal(c.display) for c in row.cells])
            assert line in flat, line

    csv_text = client.get(f"/evaluation/export.csv?{query}").get_data(as_text=True)
    assert "moyens.accompagnements;Accompagnements;150;" in csv_text

    token_response = client.post("/compte/jetons/nouveau", data={"name": "Tableur", "scopes": ["indicators:read"],
                                                                "days": 90})
    raw = re.search(r"med_[A-Za-z0-9_\-]+", token_response.get_data(as_text=True)).group(0)
    api = client.get(f"/api/v1/indicateurs?{query}", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 200
    figures = {f["code"]: f for s in api.json["sections"] for f in s["chiffres"]}
    assert figures["moyens.accompagnements"]["valeur"] == 150
    assert figures["moyens.accompagnements"]["affichage"] == "150"


def test_report_from_the_command_line(app, session, network, funder_setup, busy_year, tmp_path):
    from mediation.evaluation.report import report_command

    output = tmp_path / "rapport.pdf"
    runner = app.test_cli_runner()
    result = runner.invoke(report_command, ["--du", f"{YEAR}-01-01", "--au", f"{YEAR}-12-31", "--programme",
                                            str(funder_setup.p1.id), "--compte", network.admin.email,
                                            "--sortie", str(output)])
    assert result.exit_code == 0, result.output
    assert "Accompagnements" in pdf_text(output.read_bytes())
    refused = runner.invoke(report_command, ["--du", f"{YEAR}-12-31", "--au", f"{YEAR}-01-01"])
    assert refused.exit_code != 0 and "postérieure" in refused.output


def test_open_data_csv_is_suppressed(client, login, network, busy_year):
    login(client, network.coordinator)
    response = client.get(f"/evaluation/donnees-ouvertes.csv?du={YEAR}-01-01&au={YEAR}-12-31")
    assert response.status_code == 200
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("date_debut,date_fin,code_insee,commune,population")
    rows = {line.split(",")[3]: line.split(",") for line in lines[1:]}
    assert rows["Ville-A"][6] == "150"  # accompagnements by the structure of Ville-A
    assert rows["Ville-B"][6] == "12"
    # Residents of Ville-B accompanied: 14 people of A + anonymous none → shown; never a value from 1 to 4.
    for values in rows.values():
        for value in values[6:8]:
            assert value in ("", "< 5", "s") or not value.isdigit() or int(value) == 0 or int(value) >= 5
