"""Structures in the national schema: CSV export, import (all rows validated first, errors per
line and column, nothing changed if any row is invalid), round trip."""

import io

import pytest
import sqlalchemy as sa

from mediation.directory import exchange
from mediation.directory.models import Structure
from mediation.directory.national_schema import CSV_HEADER
from mediation.errors import Forbidden
from tests.directory.conftest import csv_document, parse_csv


def snapshot(session):
    return session.execute(sa.select(Structure.id, Structure.name, Structure.siret, Structure.services,
                                     Structure.commune_id).order_by(Structure.id)).all()


@pytest.fixture
def described(network, session):
    s = network.structure_a
    s.siret, s.typologies = "21760540400011", ["RFS", "MUNI"]
    s.services = ["Aide aux démarches administratives", "Maîtrise des outils numériques du quotidien"]
    s.dispositifs = ["France Services", "Point d'accès numérique CAF"]
    s.modalites_acces = ["Se présenter", "Ce lieu n’accueille pas de public"]
    s.courriels = ["accueil@exemple.fr", "direction@exemple.fr"]
    s.horaires = "Mo-Fr 09:00-12:30,13:30-17:30"
    s.latitude, s.longitude, s.telephone = 49.4431, 1.0993, "+33235000000"
    session.flush()
    return s


# --- export -------------------------------------------------------------------------------

def test_export_follows_the_national_schema(described, network, session):
    rows = parse_csv(exchange.export_csv([described, network.structure_b]))
    assert list(rows[0]) == list(CSV_HEADER)
    assert list(CSV_HEADER[:6]) == ["id", "pivot", "nom", "commune", "code_postal", "code_insee"]
    row = rows[0]
    assert row["pivot"] == "21760540400011" and row["nom"] == "France Services A"
    assert row["code_insee"] == network.commune_a.insee_code and row["commune"] == "Ville-A"
    assert row["typologie"] == "RFS|MUNI"
    assert row["services"] == "Aide aux démarches administratives|Maîtrise des outils numériques du quotidien"
    assert row["courriels"] == "accueil@exemple.fr|direction@exemple.fr"
    assert row["horaires"] == "Mo-Fr 09:00-12:30,13:30-17:30"  # commas inside a quoted field
    assert row["latitude"] == "49.4431" and row["date_maj"] == described.date_maj.isoformat()
    assert rows[1]["pivot"] == "00000000000000" and rows[1]["services"] == ""  # no SIRET: the schema's pivot


def test_export_page_downloads_utf8_csv_of_visible_structures(client, login, network, described):
    network.structure_b.archived_at = network.structure_a.created_at
    login(client, network.mediator)
    response = client.get(f"/annuaire/structures/export.csv?commune={network.commune_a.insee_code}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = parse_csv(response.get_data().decode("utf-8"))
    assert [r["nom"] for r in rows] == ["France Services A"]
    all_rows = parse_csv(client.get("/annuaire/structures/export.csv").get_data(as_text=True))
    assert "Médiathèque B" not in {r["nom"] for r in all_rows}  # archived


# --- import -------------------------------------------------------------------------------

def test_valid_import_creates_and_updates_and_is_audited(session, network, described, events, new_siret):
    siret = new_siret()
    report = exchange.import_structures(session, network.coordinator, csv_document([
        {"pivot": "21760540400011", "nom": "France Services A (mairie)", "code_insee": network.commune_a.insee_code,
         "adresse": "1 place de la Mairie", "services": "Aide aux démarches administratives"},
        {"pivot": siret, "nom": "Tiers-lieu du Port", "code_insee": network.commune_b.insee_code,
         "adresse": "Quai 4", "typologie": "TIERS_LIEUX|FABLAB", "frais_a_charge": "Gratuit sous condition",
         "itinerance": "Fixe", "latitude": "49.41", "longitude": "1.05", "date_maj": "2026-09-01",
         "telephone": "02 35 11 22 33", "courriels": "contact@port.fr"},
    ], header=["pivot", "nom", "code_insee", "adresse", "services", "typologie", "frais_a_charge", "itinerance",
               "latitude", "longitude", "date_maj", "telephone", "courriels"]))
    assert report.ok and report.applied, report.errors
    assert (report.rows, report.created, report.updated) == (2, 1, 1)
    assert described.name == "France Services A (mairie)"
    assert described.services == ["Aide aux démarches administratives"]
    assert described.dispositifs == ["France Services", "Point d'accès numérique CAF"]  # column absent: kept
    created = session.scalar(sa.select(Structure).where(Structure.siret == siret))
    assert created.typologies == ["TIERS_LIEUX", "FABLAB"] and created.telephone == "+33235112233"
    assert created.commune_id == network.commune_b.id and str(created.date_maj) == "2026-09-01"
    event = events("structure.imported")[-1]
    assert event.details == {"rows": 2, "created": 1, "updated": 1, "unchanged": 0}
    assert event.actor_id == network.coordinator.id


def test_one_bad_row_changes_nothing_and_every_error_names_its_line_and_column(session, network, described):
    before = snapshot(session)
    report = exchange.import_structures(session, network.admin, csv_document([
        {"pivot": "21760540400011", "nom": "Renommée", "code_insee": network.commune_a.insee_code,
         "adresse": "1 rue"},
        {"pivot": "21760540400012", "nom": "SIRET faux", "code_insee": network.commune_a.insee_code,
         "adresse": "2 rue", "services": "Cours de cuisine"},
        {"nom": "Commune inconnue", "code_insee": "99999", "adresse": "3 rue"},
        {"nom": "", "code_insee": network.commune_b.insee_code, "adresse": "4 rue", "latitude": "200"},
    ]))
    assert not report.ok and not report.applied
    found = {(e.line, e.column) for e in report.errors}
    assert found == {(3, "pivot"), (3, "services"), (4, "code_insee"), (5, "nom"), (5, "latitude")}
    messages = {(e.line, e.column): e.message for e in report.errors}
    assert "clé de contrôle" in messages[(3, "pivot")]
    assert "« Cours de cuisine »" in messages[(3, "services")]
    assert "« 99999 »" in messages[(4, "code_insee")]
    assert snapshot(session) == before
    assert described.name == "France Services A"


def test_coordinator_imports_only_into_their_territory(session, network, described):
    network.structure_far.siret = "21760157300017"
    session.flush()
    before = snapshot(session)
    report = exchange.import_structures(session, network.coordinator, csv_document([
        {"nom": "Hors territoire", "code_insee": network.commune_far.insee_code, "adresse": "1 rue"},
        {"pivot": "21760157300017", "nom": "Piratée", "code_insee": network.commune_a.insee_code,
         "adresse": "1 rue"},
    ]))
    assert [(e.line, e.column) for e in report.errors] == [(2, "code_insee"), (3, "pivot")]
    assert "n'est pas dans votre territoire" in report.errors[0].message
    assert snapshot(session) == before
    with pytest.raises(Forbidden):
        exchange.import_structures(session, network.mediator, csv_document([]))


def test_file_level_problems(session, network):
    report = exchange.import_structures(session, network.admin, b"adresse\nB\n")
    assert report.errors[0].line == 1 and "nom" in report.errors[0].message
    # code_insee is optional in schema v1.0.2, but a row must name its commune somehow.
    report = exchange.import_structures(session, network.admin, b"nom;adresse\nA;B\n")
    assert (report.errors[0].line, report.errors[0].column) == (2, "code_insee")
    assert "code INSEE, ou la commune et le code postal" in report.errors[0].message
    report = exchange.import_structures(session, network.admin, "nom,code_insee\né,1".encode("latin-1"))
    assert "UTF-8" in report.errors[0].message
    report = exchange.import_structures(session, network.admin, b"")
    assert "vide" in report.errors[0].message
    report = exchange.import_structures(session, network.admin, b"nom,code_insee,adresse\nA,76540\n")
    assert (report.errors[0].line, report.errors[0].message) == (
        2, "La ligne compte 2 colonnes au lieu de 3 : vérifiez les séparateurs et les guillemets.")


def test_duplicate_rows_and_missing_address(session, network, new_siret):
    siret = new_siret()
    report = exchange.import_structures(session, network.admin, csv_document([
        {"pivot": siret, "nom": "Un", "code_insee": network.commune_a.insee_code, "adresse": "1 rue"},
        {"pivot": siret, "nom": "Deux", "code_insee": network.commune_a.insee_code, "adresse": "2 rue"},
    ]))
    assert [(e.line, e.message) for e in report.errors] == [
        (3, "Cette ligne désigne la même structure que la ligne 2.")]
    report = exchange.import_structures(session, network.admin,
                                        csv_document([{"nom": "Sans adresse", "code_insee": network.commune_a.insee_code}],
                                                     header=["nom", "code_insee"]))
    assert report.errors[0].column == "adresse"


def test_rows_without_siret_match_by_name_and_commune(session, network):
    count = session.scalar(sa.select(sa.func.count(Structure.id)))
    report = exchange.import_structures(session, network.admin, csv_document([
        {"nom": "médiathèque b", "code_insee": network.commune_b.insee_code, "adresse": "Nouvelle adresse"},
    ]))
    assert report.applied and (report.created, report.updated) == (0, 1)
    assert network.structure_b.address == "Nouvelle adresse"
    assert session.scalar(sa.select(sa.func.count(Structure.id))) == count


def test_dry_run_reports_without_saving(session, network, new_siret):
    before = snapshot(session)
    report = exchange.import_structures(session, network.admin, csv_document([
        {"pivot": new_siret(), "nom": "Nouveau lieu", "code_insee": network.commune_a.insee_code, "adresse": "1 rue"},
    ]), dry_run=True)
    assert report.ok and not report.applied and report.created == 1
    assert snapshot(session) == before


def test_export_then_import_round_trip_changes_nothing(session, network, described, make_structure, events):
    make_structure(network.commune_b, name="Sans SIRET", horaires="Tu 14:00-18:00\nSa 10:00-12:00",
                   modalites_accompagnement=["À distance"])
    structures = session.scalars(sa.select(Structure).order_by(Structure.id)).all()
    document = exchange.export_csv(structures)
    before = snapshot(session)
    report = exchange.import_structures(session, network.admin, document.encode())
    assert report.ok and report.applied, report.errors
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(structures))
    assert snapshot(session) == before
    assert not events("structure.updated")
    assert exchange.export_csv(session.scalars(sa.select(Structure).order_by(Structure.id)).all()) == document


# --- the page -----------------------------------------------------------------------------

def test_import_page_lists_errors_and_changes_nothing(client, login, network, session):
    login(client, network.coordinator)
    before = snapshot(session)
    document = csv_document([
        {"nom": "Bon lieu", "code_insee": network.commune_a.insee_code, "adresse": "1 rue"},
        {"nom": "Mauvais lieu", "code_insee": network.commune_a.insee_code, "adresse": "2 rue",
         "pivot": "123"},
    ])
    response = client.post("/annuaire/structures/import", data={"file": (io.BytesIO(document), "lieux.csv")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Aucune modification n'a été enregistrée" in page
    assert "<td>3</td><td>pivot</td><td>Le SIRET doit comporter exactement 14 chiffres.</td>" in page
    assert snapshot(session) == before


def test_import_page_imports_a_valid_file(client, login, network, session, new_siret):
    login(client, network.admin)
    document = csv_document([{"pivot": new_siret(), "nom": "Lieu importé", "code_insee": network.commune_far.insee_code,
                              "adresse": "1 rue", "services": "Compréhension du monde numérique"}])
    response = client.post("/annuaire/structures/import", data={"file": (io.BytesIO(document), "lieux.csv")},
                           content_type="multipart/form-data")
    assert "1 structure(s) créée(s)" in response.get_data(as_text=True)
    assert session.scalar(sa.select(Structure).where(Structure.name == "Lieu importé")) is not None


def test_import_page_needs_a_file(client, login, network):
    login(client, network.admin)
    response = client.post("/annuaire/structures/import", data={}, content_type="multipart/form-data")
    assert "Choisissez un fichier CSV." in response.get_data(as_text=True)
