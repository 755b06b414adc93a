"""Our exports are La Coop's: the expected cells below are re-derived from the national tool's builders
(``buildAccompagnementsWorksheet.ts``, ``addExportMetadata.ts``, ``buildWorksheetHelpers.ts``
``addFilters``, ``build-beneficiaires-worksheet.ts``), not from our code, and compared with the XLSX
that our pages produce, read with openpyxl."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from mediation.cases.activities import AnonymousCounters
from mediation.cases.enums import ActivityType, DataSource, Genre, TagScope, Thematique
from mediation.cases.models import Tag
from tests.cases_exchange.conftest import YESTERDAY

# addFilters: the rows of the « Filtres » block, in order (no « Bénéficiaires »/« Médiateurs » rows
# unless those filters are used).
COOP_FILTER_LABELS = ["Période", "Source", "Lieux d’accompagnement", "Communes", "Départements",
                      "Type d’accompagnement", "Rôle", "Thématiques non administratives",
                      "Thématiques administratives", "Tags"]
# activitesTableHeaders with isSelfExport = true and hasCraV1 = true.
COOP_SELF_HEADERS = [
    "Date", "Enregistré le", "Dernière modification le", "Type", "Participants", "Bénéficiaire",
    "Canaux d’accompagnement", "Nom du lieu", "Adresse", "Commune", "Code postal", "Code Insee", "Durée (min)",
    "Nom de l’atelier", "Matériel numérique utilisé", "Thématique(s) d’accompagnement", "Tags",
    "Nom de la démarche administrative", "Niveau d’autonomie (ou de l’atelier)", "Bénéficiaire réorienté",
    "Structure de redirection", "Commune du bénéficiaire", "Code postal du bénéficiaire",
    "Code Insee du bénéficiaire", "Genre du bénéficiaire", "Tranche d’âge du bénéficiaire",
    "Statut du bénéficiaire", "Notes supplémentaires", "Source de la donnée", "ID CRA",
]
COOP_TEAM_HEADERS = (COOP_SELF_HEADERS[:3] + ["Prénom du médiateur", "Nom du médiateur", "Rôle", "ID - Conum"]
                     + [h for h in COOP_SELF_HEADERS[3:] if h not in ("Bénéficiaire", "Notes supplémentaires")])


def _sheet(content: bytes):
    return load_workbook(io.BytesIO(content))["Activités"]


def _values(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


@pytest.fixture
def coop_data(session, network, make_beneficiary, log_activity):
    """A followed person's session (with notes, a tag and thématiques given out of order), a workshop
    of 3 (one followed, two anonymous), and a session imported from the first Coop (V1)."""
    tag = Tag(name="Pass numérique", scope=TagScope.PERSONNEL, owner_id=network.mediator.id)
    session.add(tag)
    session.flush()
    person = make_beneficiary(first_name="Solange", last_name="Martin", genre=Genre.FEMININ.value,
                              birth_year=1950, residence_commune_id=network.commune_a.id)
    individual = log_activity(beneficiary_id=person.id, notes="Première visite", autonomie="autonome",
                              thematiques=[Thematique.SANTE.value, Thematique.EMAIL.value], tag_ids=[tag.id],
                              materiel=["ordinateur", "telephone"])
    workshop = log_activity(type=ActivityType.COLLECTIF, participant_ids=[person.id], workshop_title="Tablettes",
                            workshop_level="intermediaire", counters=AnonymousCounters(total=2))
    imported = log_activity(thematiques=[Thematique.EMAIL.value])
    imported.data_source = DataSource.COOP_V1
    imported.recorded_at = datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    imported.external_id = "0c6d2f1e-coop-v1"
    session.flush()
    return person, individual, workshop, imported


def test_mediator_export_has_the_coop_layout(client, login, network, coop_data):
    person, individual, workshop, imported = coop_data
    login(client, network.mediator)
    response = client.post("/echanges/export/activites", data={"format": "xlsx", "type": ""})
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="coop-numerique_accompagnements_')
    assert disposition.rstrip('"').endswith(".xlsx")
    ws = _sheet(response.get_data())
    rows = _values(ws)

    # addExportMetadata: title (bold), six rows, an empty row.
    assert rows[0][0] == "Informations export" and ws["A1"].font.b
    assert [r[0] for r in rows[1:7]] == ["Nom", "Prénom", "Rôle", "Total", "Date d'export", "Heure d'export"]
    assert rows[1][1] == network.mediator.last_name and rows[2][1] == network.mediator.first_name
    assert rows[3][1] == "Conseiller Numérique"  # getUserRoleLabel
    assert rows[4][1] == 5  # accompagnements: 1 + 3 + 1
    assert len(rows[5][1]) == 10 and rows[5][1][2] == "/" and len(rows[6][1]) == 5 and rows[6][1][2] == ":"
    assert not any(rows[7])
    # addFilters: title (bold), ten rows « - » when unused, an empty row; then the separator row.
    assert rows[8][0] == "Filtres" and ws["A9"].font.b
    assert [r[:2] for r in rows[9:19]] == [[label, "-"] for label in COOP_FILTER_LABELS]
    assert not any(rows[19]) and not any(rows[20])
    # The Excel table « Activités » starts on row 22 (a mediator's own export).
    table = ws.tables["Activités"]
    assert table.ref.startswith("A22:") and table.ref.endswith(str(22 + 5))
    assert [c.name for c in table.tableColumns] == COOP_SELF_HEADERS
    assert rows[21] == COOP_SELF_HEADERS
    data = [dict(zip(COOP_SELF_HEADERS, r, strict=True)) for r in rows[22:]]
    assert len(data) == 5

    by_id = {}
    for row in data:
        by_id.setdefault(row["ID CRA"], []).append(row)
    solo = by_id[f"med-{individual.id}"][0]
    assert solo["Date"] == datetime(YESTERDAY.year, YESTERDAY.month, YESTERDAY.day)
    assert ws.cell(row=23 + data.index(solo), column=1).number_format == "dd/mm/yyyy"
    assert " à " in solo["Enregistré le"] and solo["Dernière modification le"] is None
    assert solo["Type"] == "Accompagnement individuel" and solo["Participants"] == 1
    assert solo["Bénéficiaire"] == "Solange Martin"
    assert solo["Canaux d’accompagnement"] == "Lieu d’activité" and solo["Nom du lieu"] == network.structure_a.name
    assert solo["Durée (min)"] == 45 and solo["Nom de l’atelier"] is None
    assert solo["Matériel numérique utilisé"] == "Ordinateur\nTéléphone"
    assert solo["Thématique(s) d’accompagnement"] == "E-mail\nSanté"  # the Coop's display order
    assert solo["Tags"] == "Pass numérique"
    assert solo["Niveau d’autonomie (ou de l’atelier)"] == "3/3"
    assert solo["Genre du bénéficiaire"] == "Féminin" and solo["Tranche d’âge du bénéficiaire"] == "70 ans et plus"
    assert solo["Statut du bénéficiaire"] == "Non communiqué ou hétérogène"
    assert solo["Notes supplémentaires"] == "Première visite"
    assert solo["Source de la donnée"] == "La Coop de la médiation numérique (V2)"

    group = by_id[f"med-{workshop.id}"]
    assert [r["Participants"] for r in group] == ["1/3", "2/3", "3/3"]
    assert [r["Bénéficiaire"] for r in group] == ["Solange Martin", "Bénéficiaire anonyme", "Bénéficiaire anonyme"]
    assert {r["Type"] for r in group} == {"Atelier collectif"}
    assert {r["Niveau d’autonomie (ou de l’atelier)"] for r in group} == {"2/3"}
    assert {r["Genre du bénéficiaire"] for r in group[1:]} == {"Non communiqué"}

    v1 = by_id["0c6d2f1e-coop-v1"][0]
    assert v1["Source de la donnée"] == "Espace coop (V1)"
    assert v1["Enregistré le"] == "05/03/2024 à 10:30"  # recorded_at, Paris time
    assert v1["Bénéficiaire"] == "Bénéficiaire anonyme"


def test_the_applied_filters_are_in_the_coop_rows(client, login, network, coop_data):
    login(client, network.mediator)
    response = client.post("/echanges/export/activites", data={
        "format": "xlsx", "du": "2024-01-01", "au": YESTERDAY.isoformat(), "type": "individuel",
        "thematique": "sante"})
    rows = _values(_sheet(response.get_data()))
    filters = {r[0]: r[1] for r in rows[9:19]}
    assert filters["Période"] == f"01.01.2024 - {YESTERDAY:%d.%m.%Y}"  # dateAsDay
    assert filters["Type d’accompagnement"] == "Accompagnement individuel"
    assert filters["Thématiques non administratives"] == "Santé"
    assert filters["Thématiques administratives"] == "-"


def test_team_export_has_the_mediators_columns_and_no_names_nor_notes(client, login, network, coop_data):
    login(client, network.coordinator)
    response = client.post("/echanges/export/activites", data={"format": "xlsx"})
    assert 'filename="coop-numerique_accompagnements_' in response.headers["Content-Disposition"]
    ws = _sheet(response.get_data())
    rows = _values(ws)
    assert rows[3][1] == "Coordinateur"
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "Date" and r[1] == "Enregistré le")
    assert rows[header_at] == COOP_TEAM_HEADERS
    assert ws.tables["Activités"].ref.startswith(f"A{header_at + 1}:")
    data = [dict(zip(COOP_TEAM_HEADERS, r, strict=True)) for r in rows[header_at + 1:]]
    assert len(data) == 5
    first = data[0]
    assert first["Prénom du médiateur"] == network.mediator.first_name
    assert first["Rôle"] == "Conseiller Numérique"
    assert first["ID - Conum"] is True  # the Coop writes its conseiller numérique flag there
    flat = " ".join(str(c) for r in rows for c in r if c is not None)
    assert "Solange" not in flat and "Première visite" not in flat


def test_without_v1_records_there_is_no_source_column(client, login, network, log_activity):
    log_activity()
    login(client, network.mediator)
    rows = _values(_sheet(client.post("/echanges/export/activites", data={"format": "xlsx"}).get_data()))
    assert rows[21] == [h for h in COOP_SELF_HEADERS if h != "Source de la donnée"]


def test_beneficiaries_export_has_the_coop_layout_and_scope(client, login, network, make_beneficiary,
                                                            log_activity):
    make_beneficiary(first_name="Marcel", last_name="Dupont", genre=Genre.MASCULIN.value, birth_year=1980,
                     residence_commune_id=network.commune_a.id)
    make_beneficiary(first_name="Nadia", last_name="Benali", genre=Genre.FEMININ.value)
    # Someone else's person, in the same structure, never accompanied by this mediator: not theirs.
    make_beneficiary(actor=network.aidant, first_name="Autre", last_name="Personne")
    login(client, network.mediator)
    response = client.post("/echanges/export/beneficiaires", data={"format": "xlsx"})
    assert 'filename="coop-numerique_export-beneficiaires_' in response.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.get_data()))["Bénéficiaires"]
    rows = _values(ws)
    assert rows[0][0] == "Informations export" and rows[4][:2] == ["Total", 2]
    assert rows[8][0] == "Filtres" and rows[9][:2] == ["Recherche", "-"]
    assert not any(rows[10]) and not any(rows[11])
    header = ["Nom", "Prénom", "Année de naissance", "Nom de la commune", "Code INSEE", "Code postal",
              "N° de téléphone", "E-mail", "Genre", "Tranche d’âge", "Statut", "Nombre d’accompagnements",
              "Notes supplémentaires"]
    assert rows[12] == header
    table = next(iter(ws.tables.values()))
    assert table.ref.startswith("A13:")
    data = {r[1]: dict(zip(header, r, strict=True)) for r in rows[13:]}
    assert set(data) == {"Marcel", "Nadia"}
    marcel, nadia = data["Marcel"], data["Nadia"]
    assert marcel["Genre"] == "Homme" and nadia["Genre"] == "Femme"
    assert marcel["Année de naissance"] == 1980 and marcel["Nom de la commune"] == network.commune_a.name
    assert nadia["Année de naissance"] == "-" and nadia["Nom de la commune"] == "-" and nadia["Code INSEE"] == "-"
    assert nadia["Code postal"] == "-" and nadia["N° de téléphone"] == "-" and nadia["E-mail"] == "-"
    assert nadia["Tranche d’âge"] == "Non communiqué" and nadia["Statut"] == "Non communiqué ou hétérogène"
    assert nadia["Nombre d’accompagnements"] == 0 and nadia["Notes supplémentaires"] is None
