"""A funder never reaches personal data — names, contact details, notes, single records, small
cells — through any page, export, report or API call, and never another funder's programme."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from mediation.auth.services import create_api_token
from mediation.cases.enums import ActivityType, Genre
from mediation.errors import ValidationFailed
from mediation.evaluation.models import ReportFile
from tests.evaluation.conftest import YEAR

SECRETS = ["Zéphyrine", "Confidentielle", "zephyrine@exemple.test", "0611223344", "NOTE-SECRETE-ACTIVITE",
           "NOTE-SECRETE-PERSONNE", "Médiateur-Secret", "Médiatrice-Secrète"]
COUNT_COLUMNS = {"Accompagnements", "Bénéficiaires", "Personnes", "Inscrits", "Niveau atteint", "Parcours terminé",
                 "Orientations", "Validations", "Badges", "Bénéficiaires résidents", "Enregistrements", "Renseignés",
                 "Nouveaux bénéficiaires", "Ateliers", "Total"}


@pytest.fixture
def private_data(build, network, funder_setup, session):
    n = network
    n.mediator.last_name, n.mediator_b.last_name = "Médiateur-Secret", "Médiatrice-Secrète"
    session.flush()
    people = []
    for i in range(9):
        people.append(build.person(first_name="Zéphyrine" if i == 0 else "Jeanne",
                                   last_name="Confidentielle" if i == 0 else f"Martin{i}",
                                   email="zephyrine@exemple.test" if i == 0 else None,
                                   phone="0611223344" if i == 0 else None,
                                   notes="NOTE-SECRETE-PERSONNE" if i == 0 else None, genre=Genre.FEMININ,
                                   birth_year=1950 + i))
    for i, person in enumerate(people):
        build.activity(date(YEAR, 1 + i, 3), [person], notes="NOTE-SECRETE-ACTIVITE" if i == 0 else None)
    # One person alone at structure B with mediator B (programme P2): a single record.
    lonely = build.person(n.structure_b, first_name="Zéphyrine", last_name="Confidentielle")
    build.activity(date(YEAR, 5, 5), [lonely], structure=n.structure_b, mediator=n.mediator_b,
                   notes="NOTE-SECRETE-ACTIVITE")
    build.activity(date(YEAR, 6, 6), people[:6], type=ActivityType.COLLECTIF, workshop_title="Atelier e-mail")
    build.done()
    return people


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} found in {where}"


def _assert_no_small_counts(payload: dict, threshold: int = 5) -> None:
    for section in payload["sections"]:
        for figure in section["chiffres"]:
            for part in ("numerateur", "denominateur"):
                cell = figure[part]
                if cell and cell["valeur"] is not None:
                    assert not 0 < cell["valeur"] < threshold, (figure["code"], part, cell)
            if figure["unite"] in ("accompagnements", "personnes", "ateliers", "diagnostics", "mandats",
                                   "inscriptions", "validations", "démarches") and isinstance(figure["valeur"], int):
                assert not 0 < figure["valeur"] < threshold, figure
        for table in section["tableaux"]:
            for row in table["lignes"] + ([table["total"]] if table["total"] else []):
                for column, value in zip(table["colonnes"], row["valeurs"], strict=True):
                    if column in COUNT_COLUMNS and value is not None:
                        assert not 0 < value < threshold, (table["code"], row["libelle"], column, value)


def test_funder_pages_exports_reports_and_api_hold_no_personal_data(app, client, login, session, network,
                                                                   funder_setup, private_data):
    app.config["MEDIATION_JOBS_BACKEND"] = "eager"
    try:
        login(client, network.funder)
        query = f"du={YEAR}-01-01&au={YEAR}-12-31&programme={funder_setup.p1.id}"
        texts = {}
        for url in (f"/evaluation/?{query}", "/evaluation/programmes",
                    f"/evaluation/programmes/{funder_setup.p1.id}", f"/evaluation/export.csv?{query}",
                    f"/evaluation/donnees-ouvertes.csv?{query}", "/evaluation/rapports"):
            response = client.get(url)
            assert response.status_code == 200, url
            texts[url] = response.get_data(as_text=True)
        workbook = load_workbook(io.BytesIO(client.get(f"/evaluation/export.xlsx?{query}").data))
        texts["xlsx"] = " ".join(str(v) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)
                                 for v in row if v is not None)
        assert client.post("/evaluation/rapports", data={"format": "pdf", "filters": query}).status_code == 302
        report = session.scalar(sa.select(ReportFile).order_by(ReportFile.id.desc()).limit(1))
        pdf = client.get(f"/evaluation/rapports/{report.id}.pdf").data
        texts["pdf"] = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        _, raw = create_api_token(session, network.funder, "Financeur", ["indicators:read"])
        session.commit()  # keeps the token when a refused request rolls back
        api = client.get(f"/api/v1/indicateurs?{query}", headers={"Authorization": f"Bearer {raw}"})
        assert api.status_code == 200
        texts["api"] = api.get_data(as_text=True)
        for where, text in texts.items():
            _assert_clean(text, where)
        # Staff names too: the funder reads how many mediators a programme funds, never who.
        p2_page = client.get(f"/evaluation/programmes/{funder_setup.p1.id}").get_data(as_text=True)
        assert "Médiatrice-Secrète" not in p2_page
        _assert_no_small_counts(api.json)

        # The programme of the lonely record: everything about one person is hidden.
        p2 = f"du={YEAR}-01-01&au={YEAR}-12-31&programme={funder_setup.p2.id}"
        assert client.get(f"/evaluation/?{p2}").status_code == 404  # another funder's programme
        assert client.get(f"/api/v1/indicateurs?{p2}", headers={"Authorization": f"Bearer {raw}"}).status_code == 404
    finally:
        app.config["MEDIATION_JOBS_BACKEND"] = None


def test_a_single_person_is_never_visible_in_a_funders_programme(client, login, session, network, funder_setup,
                                                                 private_data):
    """P2 (mediator B) holds one person: linked to that funder, its account sees only « < 5 »."""
    other = funder_setup.other_funder_user
    _, raw = create_api_token(session, other, "Métropole", ["indicators:read"])
    response = client.get(f"/api/v1/indicateurs?du={YEAR}-01-01&au={YEAR}-12-31",
                          headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert response.json["filtres"]["programme"] == str(funder_setup.p2.id)
    figures = {f["code"]: f for s in response.json["sections"] for f in s["chiffres"]}
    assert figures["moyens.accompagnements"]["valeur"] is None
    assert figures["moyens.accompagnements"]["affichage"] == "< 5"
    _assert_no_small_counts(response.json)
    _assert_clean(response.get_data(as_text=True), "api p2")


def test_funder_is_refused_records_and_mediator_filters(client, login, network, funder_setup, private_data, session):
    login(client, network.funder)
    query = f"du={YEAR}-01-01&au={YEAR}-12-31&programme={funder_setup.p1.id}"
    assert client.get(f"/evaluation/activites.csv?{query}").status_code == 403
    assert client.get(f"/evaluation/activites.xlsx?{query}").status_code == 403
    assert client.get("/evaluation/relances").status_code == 403
    assert client.get(f"/evaluation/?{query}&mediateur={network.mediator.id}").status_code == 403
    assert client.get(f"/evaluation/?{query}&comparer=mediateurs").status_code == 400
    assert client.get(f"/evaluation/?{query}&structure={network.structure_far.id}").status_code == 404
    for url in ("/activites", "/beneficiaires", "/dossiers"):
        assert client.get("/api/v1" + url).status_code in (401, 404)
    with pytest.raises(ValidationFailed):
        create_api_token(session, network.funder, "Trop large", ["activities:read"])
    _, raw = create_api_token(session, network.funder, "Indicateurs", ["indicators:read"])
    session.commit()  # keeps the token when a refused request rolls back
    for path in ("/api/v1/structures", "/api/v1/activites", "/api/v1/beneficiaires"):
        response = client.get(path, headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code in (403, 404), path


def test_funder_token_page_offers_the_indicators_permission_only(client, login, network, funder_setup):
    login(client, network.funder)
    page = client.get("/compte/jetons/nouveau").get_data(as_text=True)
    assert 'value="indicators:read"' in page
    assert not re.search(r'value="(activities|beneficiaries|directory|mandates|pathways|badges):', page)
