"""Exports and imports of the cases domain against formula injection, and their download headers:
formula-like text is neutralised in CSV, kept as text cells in XLSX, and imported as typed."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.cases.models import Beneficiary
from tests.cases_exchange.conftest import csv_bytes, read_csv, read_xlsx, table_after_header
from tests.cases_exchange.test_import import BEN_HEADER, apply_upload, ben_row, upload

PAYLOAD = '=HYPERLINK("http://x","click")'


def test_beneficiaries_export_neutralises_formulas_in_csv_and_keeps_text_in_xlsx(client, login, network,
                                                                                make_beneficiary):
    make_beneficiary(last_name=PAYLOAD, first_name="+Jeanne", notes="@SUM(1)")
    login(client, network.mediator)
    response = client.post("/echanges/export/beneficiaires", data={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="coop-numerique_export-beneficiaires_')
    assert "filename*=UTF-8''coop-numerique_export-beneficiaires_" in disposition
    raw = response.get_data(as_text=True)
    assert '"\'=HYPERLINK(""http://x"",""click"")"' in raw and '"\'@SUM(1)"' in raw
    header, data = table_after_header(read_csv(response.get_data()), "Nom")
    row = dict(zip(header, data[0], strict=True))
    assert (row["Nom"], row["Prénom"], row["Notes supplémentaires"]) == ("'" + PAYLOAD, "'+Jeanne", "'@SUM(1)")

    response = client.post("/echanges/export/beneficiaires", data={"format": "xlsx"})
    assert response.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    header, data = table_after_header(read_xlsx(response.get_data())["Bénéficiaires"], "Nom")
    assert data[0][:2] == [PAYLOAD, "+Jeanne"]  # text cells as typed (read_xlsx would see a formula's result)


def test_activities_export_neutralises_a_renamed_structure(client, login, network, session, log_activity):
    log_activity(notes="-1+1", duration_min=30)
    network.structure_a.name = "@Structure piégée"
    session.flush()
    login(client, network.coordinator)
    response = client.post("/echanges/export/activites", data={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    header, data = table_after_header(read_csv(response.get_data()), "Date")
    row = dict(zip(header, data[0], strict=True))
    assert row["Nom du lieu"] == "'@Structure piégée"
    assert row["Durée (min)"] == "30"  # numbers unchanged


def test_an_import_keeps_formula_like_names_as_typed(client, login, network, session, eager):
    names = [PAYLOAD, "@SUM(1)", "-Jo", "+Marie"]
    content = csv_bytes([BEN_HEADER] + [ben_row(Nom=name, **{"Prénom": "Jeanne"}) for name in names])
    login(client, network.mediator)
    page = upload(client, network, content, "beneficiaires").get_data(as_text=True)
    assert "Bénéficiaires à créer" in page
    apply_upload(client, session)
    stored = set(session.scalars(sa.select(Beneficiary.last_name).where(Beneficiary.last_name.in_(names))))
    assert stored == set(names)


def test_a_bomb_uploaded_is_refused_with_a_french_message(client, login, network, session):
    import io
    import zipfile

    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as stream:
            block = b"<row/>" * 100_000
            for _ in range(500):
                stream.write(block)
    login(client, network.mediator)
    page = upload(client, network, output.getvalue(), "beneficiaires", filename="bombe.xlsx").get_data(as_text=True)
    assert "Le classeur est refusé" in page
