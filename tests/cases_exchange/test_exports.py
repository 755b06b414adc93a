"""Exports: national column order, header block, one row per accompagnement, no names nor notes for
coordinators and administrators, beneficiaries for mediators only, a person's own data."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.cases import exports
from mediation.cases.activities import AnonymousCounters
from mediation.cases.enums import ActivityType, Genre, Thematique
from mediation.cases.services import add_case_note, live_case
from tests.cases_exchange.conftest import read_csv, read_xlsx, table_after_header
from tests.helpers import count_queries

NATIONAL_SELF = [
    "Date", "Enregistré le", "Dernière modification le", "Type", "Participants", "Bénéficiaire",
    "Canaux d’accompagnement", "Nom du lieu", "Adresse", "Commune", "Code postal", "Code Insee", "Durée (min)",
    "Nom de l’atelier", "Matériel numérique utilisé", "Thématique(s) d’accompagnement", "Tags",
    "Nom de la démarche administrative", "Niveau d’autonomie (ou de l’atelier)", "Bénéficiaire réorienté",
    "Structure de redirection", "Commune du bénéficiaire", "Code postal du bénéficiaire",
    "Code Insee du bénéficiaire", "Genre du bénéficiaire", "Tranche d’âge du bénéficiaire", "Statut du bénéficiaire",
    "Notes supplémentaires", "ID CRA",
]
NATIONAL_OTHERS = (NATIONAL_SELF[:3] + ["Prénom du médiateur", "Nom du médiateur", "Rôle", "ID - Conum"]
                   + [c for c in NATIONAL_SELF[3:] if c not in ("Bénéficiaire", "Notes supplémentaires")])


@pytest.fixture
def logged(network, make_beneficiary, log_activity):
    """An individual session of a followed person (with notes) and a 3-person workshop."""
    person = make_beneficiary(first_name="Solange", last_name="Secrète", genre=Genre.FEMININ.value,
                              birth_year=1950, residence_commune_id=network.commune_a.id)
    individual = log_activity(beneficiary_id=person.id, notes="Note confidentielle", autonomie="autonome",
                              thematiques=[Thematique.EMAIL.value, Thematique.SANTE.value])
    workshop = log_activity(type=ActivityType.COLLECTIF, participant_ids=[person.id], workshop_title="Tablettes",
                            workshop_level="intermediaire", counters=AnonymousCounters(total=2), notes="Atelier noté")
    return person, individual, workshop


def test_mediator_export_is_the_self_export(client, login, network, session, logged):
    person, individual, workshop = logged
    login(client, network.mediator)
    response = client.post("/echanges/export/activites", data={"format": "xlsx"})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=\"coop-numerique_accompagnements_")
    rows = read_xlsx(response.get_data())["Activités"]
    assert rows[0][0] == "Informations export"
    block = {r[0]: r[1] for r in rows[1:8] if r and r[0]}
    assert block["Nom"] == network.mediator.last_name and block["Rôle"] == "Conseiller Numérique"
    assert block["Total"] == 4  # accompaniments, not activities
    assert ["Filtres"] in [r[:1] for r in rows]
    header, data = table_after_header(rows, "Date")
    assert header == NATIONAL_SELF
    assert len(data) == 4
    by_cra = {}
    for row in data:
        by_cra.setdefault(row[-1], []).append(dict(zip(header, row, strict=True)))
    solo = by_cra[f"med-{individual.id}"][0]
    assert solo["Bénéficiaire"] == "Solange Secrète" and solo["Notes supplémentaires"] == "Note confidentielle"
    assert solo["Participants"] == 1 and solo["Niveau d’autonomie (ou de l’atelier)"] == "3/3"
    assert solo["Thématique(s) d’accompagnement"] == "E-mail\nSanté"
    assert solo["Genre du bénéficiaire"] == "Féminin" and solo["Commune du bénéficiaire"] == network.commune_a.name
    assert solo["Date"].date() == individual.date
    group = by_cra[f"med-{workshop.id}"]
    assert [r["Participants"] for r in group] == ["1/3", "2/3", "3/3"]
    assert {r["Nom de l’atelier"] for r in group} == {"Tablettes"}
    assert {r["Niveau d’autonomie (ou de l’atelier)"] for r in group} == {"2/3"}
    assert [r["Notes supplémentaires"] for r in group].count("Atelier noté") == 1  # on the first row only
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export.activities"))
    assert event.actor_id == network.mediator.id and "Solange" not in json.dumps(event.details)


@pytest.mark.parametrize("role", ["coordinator", "admin"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_coordinator_and_admin_exports_hold_no_names_nor_notes(role, fmt, client, login, network, logged):
    login(client, getattr(network, role))
    response = client.post("/echanges/export/activites", data={"format": fmt})
    assert response.status_code == 200
    content = response.get_data()
    rows = read_csv(content) if fmt == "csv" else read_xlsx(content)["Activités"]
    header, data = table_after_header(rows, "Date")
    assert header == NATIONAL_OTHERS
    assert len(data) == 4
    flat = " ".join(str(c) for row in rows for c in row if c is not None)
    for secret in ("Solange", "Secrète", "Note confidentielle", "Atelier noté"):
        assert secret not in flat
    row = dict(zip(header, data[0], strict=True))
    assert row["Prénom du médiateur"] == network.mediator.first_name
    assert row["Rôle"] == "Conseiller Numérique"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_evaluation_activity_export_never_names_anyone_even_for_a_mediator(fmt, client, login, network, logged):
    """The mediator's own export (above) names the person; the anonymised export of the evaluation
    pages does not, for the same mediator and the same activities."""
    login(client, network.mediator)
    response = client.get(f"/evaluation/activites.{fmt}")
    assert response.status_code == 200
    content = response.get_data()
    rows = read_csv(content) if fmt == "csv" else read_xlsx(content)["Activités"]
    header, data = table_after_header(rows, "Date")
    assert header == NATIONAL_OTHERS
    assert len(data) == 4
    flat = " ".join(str(c) for row in rows for c in row if c is not None)
    for secret in ("Solange", "Secrète", "Note confidentielle", "Atelier noté"):
        assert secret not in flat
    block = {r[0]: r[1] for r in rows[1:8] if r and r[0]}
    assert block["Rôle"] == exports.coop_role_label(network.mediator)  # the exporting user as they are


def test_export_function_includes_identity_only_when_asked(session, network, logged):
    from mediation.cases import policy

    def table(include_identity: bool):
        export = exports.export_activities(session, network.mediator, policy.visible_activities(network.mediator),
                                           [], include_identity=include_identity)
        return export.columns, [list(r) for r in export.rows]

    columns, rows = table(True)
    assert columns == NATIONAL_SELF
    assert "Solange Secrète" in {str(c) for row in rows for c in row}
    columns, rows = table(False)
    assert columns == NATIONAL_OTHERS
    assert not {"Solange Secrète", "Note confidentielle", "Atelier noté"} & {str(c) for row in rows for c in row}


def test_export_filters_are_applied_and_listed(client, login, network, logged):
    login(client, network.coordinator)
    response = client.post("/echanges/export/activites", data={"format": "csv", "type": "collectif",
                                                               "structure": str(network.structure_a.id)})
    rows = read_csv(response.get_data())
    assert ["Type d’accompagnement", "Atelier collectif"] in rows and ["Structure", network.structure_a.name] in rows
    _, data = table_after_header(rows, "Date")
    assert len(data) == 3
    page = client.post("/echanges/export/activites", data={"format": "csv", "du": "pas une date"})
    assert page.status_code == 200 and "Date invalide (attendu AAAA-MM-JJ)" in page.get_data(as_text=True)


def test_another_territory_sees_none_of_it(client, login, network, logged):
    login(client, network.other_coordinator)
    rows = read_csv(client.post("/echanges/export/activites", data={"format": "csv"}).get_data())
    _, data = table_after_header(rows, "Date")
    assert data == []


def test_export_reads_in_batches_with_a_fixed_number_of_queries(app, session, network, log_activity):
    for _ in range(12):
        log_activity(type=ActivityType.COLLECTIF)
    from mediation.cases import policy

    with count_queries() as statements:
        export = exports.export_activities(session, network.mediator, policy.visible_activities(network.mediator), [],
                                           include_identity=True)
        rows = list(export.rows)
    assert len(rows) == 24
    assert len(statements) <= 8, len(statements)


def test_beneficiaries_export_for_mediators_only(client, login, network, make_beneficiary):
    make_beneficiary(first_name="Marcel", last_name="Export", phone="0612345678", email="m@example.org",
                     birth_year=1980, statut_social="en_emploi", notes="Préfère le matin")
    make_beneficiary(structure=network.structure_far, actor=network.mediator_far, first_name="Loin",
                     last_name="Tain")
    login(client, network.mediator)
    rows = read_csv(client.post("/echanges/export/beneficiaires", data={"format": "csv"}).get_data())
    header, data = table_after_header(rows, "Nom")
    assert header == ["Nom", "Prénom", "Année de naissance", "Nom de la commune", "Code INSEE", "Code postal",
                      "N° de téléphone", "E-mail", "Genre", "Tranche d’âge", "Statut", "Nombre d’accompagnements",
                      "Notes supplémentaires"]
    marcel = [r for r in data if r[1] == "Marcel"][0]
    assert marcel[:3] == ["Export", "Marcel", "1980"] and marcel[6:8] == ["0612345678", "m@example.org"]
    assert marcel[8:] == ["Non communiqué", "40 - 59 ans", "En emploi", "0", "Préfère le matin"]
    assert not [r for r in data if r[1] == "Loin"]
    for role in ("coordinator", "admin"):
        other = client.application.test_client()
        login(other, getattr(network, role))
        assert other.post("/echanges/export/beneficiaires", data={"format": "csv"}).status_code == 403


def test_a_persons_own_data(client, login, network, session, logged):
    person, individual, _ = logged
    add_case_note(session, network.mediator, live_case(session, person.id), "A trouvé un emploi")
    login(client, network.mediator)
    response = client.post(f"/echanges/beneficiaires/{person.id}/donnees", data={"format": "json"})
    data = json.loads(response.get_data())
    assert data["Identité"]["Nom"] == "Secrète" and data["Identité"]["Nombre d’accompagnements"] == 2
    assert [n["Note"] for n in data["Notes de dossier"]] == ["A trouvé un emploi"]
    assert len(data["Accompagnements"]) == 2 and len(data["Dossiers"]) == 1
    assert {a["Notes"] for a in data["Accompagnements"]} == {"Note confidentielle", None}
    workbook = read_xlsx(client.post(f"/echanges/beneficiaires/{person.id}/donnees", data={"format": "xlsx"}).get_data())
    assert list(workbook) == ["Identité", "Consentements", "Dossiers", "Notes de dossier", "Accompagnements"]
    assert ["Prénom", "Solange"] in workbook["Identité"]
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export.personal_data"))
    assert event.object_id == str(person.id) and "Solange" not in json.dumps(event.details)
    # Out of scope: another structure's mediator, and coordinators (no identity).
    far = client.application.test_client()
    login(far, network.mediator_far)
    assert far.get(f"/echanges/beneficiaires/{person.id}/donnees").status_code == 404
    coordinator = client.application.test_client()
    login(coordinator, network.coordinator)
    assert coordinator.post(f"/echanges/beneficiaires/{person.id}/donnees", data={"format": "json"}).status_code == 403
