"""Every download of the evaluation and directory areas, through their routes: a structure renamed by
a coordinator into a formula reaches a funder's CSV neutralised (and the XLSX as a text cell); the
national-format activity CSV streams to its end; file names keep their accents (RFC 6266) and every
CSV says ``text/csv; charset=utf-8`` exactly once."""

from __future__ import annotations

import csv
import io
from datetime import date

import sqlalchemy as sa
from openpyxl import load_workbook

from mediation.evaluation.models import ReportFile
from mediation.jobs.models import Job, JobStatus
from tests.evaluation.conftest import YEAR

PAYLOAD = '=HYPERLINK("http://x","click")'
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cells(text: str, delimiter: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
            for c in row]


def _rename_as_coordinator(client, login, network, name: str) -> None:
    login(client, network.coordinator)
    response = client.post(f"/annuaire/structures/{network.structure_a.id}/modifier", data={
        "name": name, "commune": str(network.commune_a.id), "address": "1 place du Marché"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert network.structure_a.name == name
    client.post("/deconnexion")


def test_a_structure_renamed_by_a_coordinator_reaches_the_funders_files_neutralised(
        app, client, login, network, build, funder_setup, session):
    people = [build.person() for _ in range(6)]
    for day in range(1, 7):
        build.activity(date(YEAR, 3, day), people[:1 + day % 3])
    build.done()
    _rename_as_coordinator(client, login, network, PAYLOAD)

    login(client, network.funder)
    query = f"du={YEAR}-01-01&au={YEAR}-12-31&programme={funder_setup.p1.id}"
    response = client.get(f"/evaluation/export.csv?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CSV_TYPE
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="indicateurs-{YEAR}-01-01-{YEAR}-12-31.csv"; '
        f"filename*=UTF-8''indicateurs-{YEAR}-01-01-{YEAR}-12-31.csv")
    text = response.get_data(as_text=True)
    cells = _cells(text, ";")
    assert "'" + PAYLOAD in cells and PAYLOAD not in cells
    assert '"\'=HYPERLINK(""http://x"",""click"")"' in text

    workbook = load_workbook(io.BytesIO(client.get(f"/evaluation/export.xlsx?{query}").data))
    found = [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row if c.value == PAYLOAD]
    assert found and all(c.data_type == "s" for c in found)  # a text cell, not a formula

    app.config["MEDIATION_JOBS_BACKEND"] = "eager"
    try:
        assert client.post("/evaluation/rapports", data={"format": "csv", "filters": query}).status_code == 302
    finally:
        app.config["MEDIATION_JOBS_BACKEND"] = None
    job = session.scalar(sa.select(Job).order_by(Job.id.desc()).limit(1))
    assert job.status == JobStatus.DONE, job.error
    report = session.scalar(sa.select(ReportFile).where(ReportFile.job_id == job.id))
    download = client.get(f"/evaluation/rapports/{report.id}.csv")
    assert download.headers["Content-Type"] == CSV_TYPE
    stem = f"rapport-d-impact-conseillers-num{{}}riques-{YEAR}-01-01-{YEAR}-12-31.csv"
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="{stem.format("e")}"; filename*=UTF-8\'\'{stem.format("%C3%A9")}')
    assert "'" + PAYLOAD in _cells(download.get_data(as_text=True), ";")


def test_open_data_csv_header_and_neutralised_commune(client, login, network, build, session):
    network.commune_a.name = "+Ville piégée"
    people = [build.person() for _ in range(5)]
    build.activity(date(YEAR, 3, 3), people)
    build.done()
    login(client, network.coordinator)
    response = client.get(f"/evaluation/donnees-ouvertes.csv?du={YEAR}-01-01&au={YEAR}-12-31")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CSV_TYPE
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    communes = {row[3]: row for row in rows[1:]}
    assert "'+Ville piégée" in communes
    assert communes["'+Ville piégée"][2] == network.commune_a.insee_code


def test_national_activity_csv_streams_to_its_end(client, login, network, build, session):
    """Read through the test client after the request is over: every row is there (the rows used to be
    read from the database while the body streamed, after the request had ended)."""
    person = build.person()
    total = 2600  # more than one batch of the export
    for n in range(total):
        build.activity(date(YEAR, 1 + n % 12, 1 + n % 28), [person], notes=PAYLOAD)
    network.structure_a.name = "@Lieu"
    session.flush()
    login(client, network.coordinator)
    response = client.get(f"/evaluation/activites.csv?du={YEAR}-01-01&au={YEAR}-12-31")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CSV_TYPE
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="activites-anonymisees-{YEAR}-01-01-{YEAR}-12-31.csv"; filename*=UTF-8\'\'')
    assert response.is_streamed
    body = b"".join(response.response).decode("utf-8")  # the whole body, chunk by chunk
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"), newline=""), delimiter=";"))
    header_index = next(i for i, row in enumerate(rows) if row[:1] == ["Date"] and len(row) > 5)
    data = [row for row in rows[header_index + 1:] if any(row)]
    assert len(data) == total
    place = rows[header_index].index("Nom du lieu")
    assert {row[place] for row in data} == {"'@Lieu"}
    assert PAYLOAD not in body  # no notes in this export, and nothing raw

    xlsx = client.get(f"/evaluation/activites.xlsx?du={YEAR}-01-01&au={YEAR}-12-31")
    assert xlsx.headers["Content-Type"] == XLSX_TYPE
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.response))).worksheets[0]
    assert sum(1 for row in sheet.iter_rows(values_only=True) if row and row[0] and "/" in str(row[0])
               or (row and hasattr(row[0], "year"))) >= total


def test_directory_export_neutralises_a_renamed_structure(client, login, network, session):
    _rename_as_coordinator(client, login, network, "-2+3*cmd|' /C calc'!A0")
    network.structure_a.latitude = -21.1151
    session.flush()
    login(client, network.mediator)
    response = client.get("/annuaire/structures/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CSV_TYPE
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="lieux-mediation-numerique-')
    assert "filename*=UTF-8''lieux-mediation-numerique-" in disposition
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    mine = next(r for r in rows if r["id"] == str(network.structure_a.id))
    assert mine["nom"] == "'-2+3*cmd|' /C calc'!A0"
    assert mine["latitude"] == "-21.1151"  # a number stays a number
