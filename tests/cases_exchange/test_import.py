"""Imports of beneficiaries and activities in the national export columns: analysis with errors
per line and column, then an atomic job with a progress bar; idempotent on external ids."""

from __future__ import annotations

import io

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from mediation.cases import exchange, exports
from mediation.cases.enums import ActivityType, CaseState, Genre, PlaceType, RecordSource, StatutSocial
from mediation.cases.exchange_models import ImportKind, ImportUpload
from mediation.cases.models import Activity, Beneficiary, Case, Participation
from mediation.jobs import enqueue
from mediation.jobs.models import Job, JobStatus
from mediation.stats import rollups
from tests.cases_exchange.conftest import csv_bytes, xlsx_bytes

BEN_HEADER = [c.label for c in exchange.B.EXPORT]
ACT_HEADER = exports.activity_columns(self_export=True, with_source=False)


def ben_row(**values) -> list:
    return [values.get(h, "") for h in BEN_HEADER]


def act_row(network, **values) -> list:
    defaults = {
        "Date": "15/03/2025", "Type": "Accompagnement individuel", "Participants": "1", "Bénéficiaire": "Anonyme",
        "Canaux d’accompagnement": "Lieu d’activité", "Nom du lieu": network.structure_a.name,
        "Durée (min)": "45", "Thématique(s) d’accompagnement": "E-mail\nNavigation sur internet",
        "Genre du bénéficiaire": "Féminin", "Tranche d’âge du bénéficiaire": "60 - 69 ans",
        "Statut du bénéficiaire": "Retraité", "ID CRA": "cra-1",
    }
    defaults.update(values)
    return [defaults.get(h, "") for h in ACT_HEADER]


def upload(client, network, content: bytes, kind: str, filename: str = "fichier.csv", structure=None):
    # The body is encoded in memory (the test client would spool a large file to an unclosed temp file).
    boundary, body = encode_multipart(MultiDict({
        "kind": kind, "structure_id": str((structure or network.structure_a).id),
        "file": FileStorage(io.BytesIO(content), filename=filename)}))
    return client.post("/echanges/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def count(session, model, *where) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def apply_upload(client, session):
    pending = session.scalar(sa.select(ImportUpload).order_by(ImportUpload.id.desc()))
    assert pending is not None, "the analysis kept no file"
    response = client.post(f"/echanges/import/{pending.id}/appliquer")
    assert response.status_code == 302 and "/taches/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return response.headers["Location"], page


# --- beneficiaries ------------------------------------------------------------------------------

def test_beneficiaries_analysed_then_imported_once(client, login, network, session, eager):
    commune = network.commune_a
    content = csv_bytes([
        BEN_HEADER,
        ben_row(Nom="Dupont", **{"Prénom": "Marie", "Année de naissance": "1950", "Nom de la commune": commune.name,
                                 "Code INSEE": commune.insee_code, "Code postal": commune.postal_code,
                                 "N° de téléphone": "06 12 34 56 78", "E-mail": "Marie@Example.org",
                                 "Genre": "Féminin", "Statut": "Retraité", "Notes supplémentaires": "Vient le mardi"}),
        ben_row(Nom="Durand", **{"Prénom": "Paul", "Genre": "Homme", "Tranche d’âge": "70 ans et plus"}),
    ])
    login(client, network.mediator)
    page = upload(client, network, content, "beneficiaires").get_data(as_text=True)
    assert "Bénéficiaires à créer" in page and "Importer" in page
    assert count(session, Beneficiary, Beneficiary.source == RecordSource.IMPORT) == 0  # analysis writes nothing

    _, job_page = apply_upload(client, session)
    assert "<progress" in job_page and "Terminée" in job_page and "Bénéficiaires créés" in job_page
    marie = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Dupont"))
    assert (marie.first_name, marie.birth_year, marie.phone, marie.email) == ("Marie", 1950, "0612345678",
                                                                              "marie@example.org")
    assert marie.genre == Genre.FEMININ and marie.statut_social == StatutSocial.RETRAITE
    assert marie.residence_commune_id == commune.id and marie.notes == "Vient le mardi"
    assert marie.source == RecordSource.IMPORT and marie.external_id.startswith("h:")
    assert marie.owner_structure_id == network.structure_a.id
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == marie.id))
    assert case.structure_id == network.structure_a.id and case.state == CaseState.OPEN
    assert "Dossiers ouverts" in job_page
    paul = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Durand"))
    assert paul.genre == Genre.MASCULIN and paul.birth_year is None  # the age band column is derived, ignored

    # The same file again: recognised, nothing created.
    page = upload(client, network, content, "beneficiaires").get_data(as_text=True)
    assert "Déjà importés (ignorés)" in page and "Rien de nouveau à importer" in page
    assert count(session, ImportUpload) == 0
    assert count(session, Beneficiary, Beneficiary.source == RecordSource.IMPORT) == 2


def test_comma_separated_csv_without_bom_and_an_id_column(client, login, network, session, eager):
    content = csv_bytes([["Nom", "Prénom", "ID"], ["Leroy", "Anne", "A-1"], ["Leroy", "Anne", "A-2"]],
                        delimiter=",", bom=False)
    login(client, network.mediator)
    page = upload(client, network, content, "beneficiaires").get_data(as_text=True)
    assert "Bénéficiaires à créer" in page
    apply_upload(client, session)
    ids = set(session.scalars(sa.select(Beneficiary.external_id).where(Beneficiary.last_name == "Leroy")))
    assert ids == {"A-1", "A-2"}


def test_one_bad_row_changes_nothing_and_names_its_line_and_column(client, login, network, session, eager):
    content = csv_bytes([
        BEN_HEADER,
        ben_row(Nom="Bon", **{"Prénom": "Élève"}),
        ben_row(Nom="", **{"Prénom": "Sansnom", "Année de naissance": "19x0", "E-mail": "pas-une-adresse"}),
        ben_row(Nom="Autre", **{"Prénom": "Ligne", "Code INSEE": network.commune_a.insee_code,
                                "Code postal": "99999"}),
    ])
    before = count(session, Beneficiary)
    login(client, network.mediator)
    page = upload(client, network, content, "beneficiaires").get_data(as_text=True)
    assert "Rien ne sera importé" in page
    assert "Ligne 3, colonne « Nom » : veuillez renseigner un nom" in page
    assert "Ligne 3, colonne « Année de naissance » : année de naissance invalide (attendu AAAA)" in page
    assert "Ligne 3, colonne « E-mail » : veuillez renseigner une adresse e-mail valide" in page
    assert "Ligne 4, colonne « Code postal » : le code postal de la commune ne correspond pas" in page
    assert count(session, Beneficiary) == before
    assert count(session, ImportUpload) == 0


def test_file_level_errors(session, network):
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.BENEFICIARIES,
                                "Nom;Prénom\nCafé;Noël\n".encode("latin-1"), "x.csv")
    assert "n'est pas encodé en UTF-8" in analysis.errors[0].message
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.ACTIVITIES,
                                csv_bytes([["Date", "Type", "ID CRA"], ["01/01/2025", "Atelier collectif", "x"]]),
                                "x.csv")
    assert any("Colonne obligatoire absente : « Durée (min) »" in e.message for e in analysis.errors)
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.BENEFICIARIES,
                                b"PK\x03\x04 not really a workbook", "x.xlsx")
    assert "classeur Excel" in analysis.errors[0].message
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.BENEFICIARIES,
                                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "x.xls")
    assert ".xls (ancien format Excel)" in analysis.errors[0].message


def test_a_structure_the_mediator_does_not_work_for_is_refused(client, login, network, session):
    login(client, network.mediator)
    response = upload(client, network, csv_bytes([["Nom", "Prénom"], ["A", "B"]]), "beneficiaires",
                      structure=network.structure_b)
    assert response.status_code == 200
    assert count(session, ImportUpload) == 0


# --- activities ---------------------------------------------------------------------------------

def test_activities_xlsx_grouped_by_cra_linked_to_followed_people(client, login, network, session, eager,
                                                                  make_beneficiary):
    jeanne = make_beneficiary(first_name="Jeanne", last_name="Importée")
    header_block = [["Informations export"], ["Nom", "Coop"], [], ["Filtres"], ["Du", "-"], []]
    rows = [
        ACT_HEADER,
        act_row(network, **{"ID CRA": "w-1", "Type": "Atelier collectif", "Participants": "1/3",
                            "Bénéficiaire": "Jeanne Importée", "Nom de l’atelier": "Premiers pas",
                            "Niveau d’autonomie (ou de l’atelier)": "1/3", "Matériel numérique utilisé": "Tablette"}),
        act_row(network, **{"ID CRA": "w-1", "Type": "Atelier collectif", "Participants": "2/3",
                            "Nom de l’atelier": "Premiers pas", "Genre du bénéficiaire": "Masculin"}),
        act_row(network, **{"ID CRA": "w-1", "Type": "Atelier collectif", "Participants": "3/3",
                            "Nom de l’atelier": "Premiers pas", "Genre du bénéficiaire": "Non communiqué"}),
        act_row(network, **{"ID CRA": "i-1", "Date": "2025-02-01", "Canaux d’accompagnement": "À domicile",
                            "Code Insee": network.commune_b.insee_code, "Bénéficiaire réorienté": "Oui",
                            "Structure de redirection": "Autre", "Niveau d’autonomie (ou de l’atelier)": "3/3",
                            "Thématique(s) d’accompagnement": "Aide aux démarches administratives\nLogement",
                            "Nom de la démarche administrative": "APL", "Notes supplémentaires": "RAS"}),
    ]
    content = xlsx_bytes(header_block + rows, sheet="Activités")
    login(client, network.mediator)
    page = upload(client, network, content, "activites", filename="activites.xlsx").get_data(as_text=True)
    assert "Activités à créer" in page, page
    _, job_page = apply_upload(client, session)
    assert "Accompagnements créés" in job_page

    workshop = session.scalar(sa.select(Activity).where(Activity.external_id == "w-1"))
    assert workshop.type == ActivityType.COLLECTIF and workshop.participants_count == 3
    assert workshop.workshop_title == "Premiers pas" and workshop.workshop_level.value == "debutant"
    assert workshop.source == RecordSource.IMPORT and workshop.structure_id == network.structure_a.id
    assert workshop.place_structure_id == network.structure_a.id and workshop.materiel == ["tablette"]
    assert set(workshop.thematiques) == {"email", "navigation_sur_internet"}
    people = [p.beneficiary for p in workshop.participations]
    assert jeanne in people and sum(1 for b in people if b.anonymous) == 2
    session.refresh(jeanne)
    assert jeanne.accompaniments_count == 1
    participation = session.scalar(sa.select(Participation).where(Participation.beneficiary_id == jeanne.id))
    assert participation.first_accompaniment is True
    assert participation.case_id == session.scalar(sa.select(Case.id).where(Case.beneficiary_id == jeanne.id))

    individual = session.scalar(sa.select(Activity).where(Activity.external_id == "i-1"))
    assert individual.place_type == PlaceType.DOMICILE and individual.place_commune_id == network.commune_b.id
    assert individual.oriented is True and individual.redirection.value == "autre"
    assert individual.autonomie.value == "autonome" and individual.demarche_name == "APL"
    assert individual.notes == "RAS" and individual.date.isoformat() == "2025-02-01"
    anonymous = individual.participations[0].beneficiary
    assert anonymous.anonymous and anonymous.genre == Genre.FEMININ and anonymous.tranche_age.value == \
        "soixante_soixante_neuf"

    # Idempotent: the same file again creates nothing.
    before = count(session, Activity)
    page = upload(client, network, content, "activites", filename="activites.xlsx").get_data(as_text=True)
    assert "Activités déjà importées (ignorées)" in page and "Rien de nouveau à importer" in page
    assert count(session, Activity) == before
    # Even a job started with that file creates nothing.
    job = enqueue(session, "cases.import", user=network.mediator,
                  params={"kind": "activites", "structure_id": network.structure_a.id}, input_name="a.xlsx",
                  input_data=content)
    assert job.status == JobStatus.DONE and job.result["Activités créées"] == 0
    assert count(session, Activity) == before
    assert rollups.differences(session) == {}  # imported activities are in the dashboard's rollups


def test_activity_rows_are_checked_one_by_one_and_as_groups(session, network):
    content = csv_bytes([
        ACT_HEADER,
        act_row(network, **{"ID CRA": "a", "Date": "32/13/2024"}),
        act_row(network, **{"ID CRA": "b", "Durée (min)": "une heure", "Canaux d’accompagnement": "Sur la lune"}),
        act_row(network, **{"ID CRA": "c", "Thématique(s) d’accompagnement": "Logement"}),
        act_row(network, **{"ID CRA": "d"}),
        act_row(network, **{"ID CRA": "d"}),
        act_row(network, **{"ID CRA": "e", "Type": "Atelier collectif", "Participants": "1/3"}),
        act_row(network, **{"ID CRA": "e", "Type": "Atelier collectif", "Participants": "2/3", "Durée (min)": "90"}),
        act_row(network, **{"ID CRA": "", "Canaux d’accompagnement": "Autre lieu", "Code Insee": "00000"}),
    ])
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.ACTIVITIES, content, "a.csv")
    messages = {str(e) for e in analysis.errors}
    assert "Ligne 2, colonne « Date » : date invalide (attendu JJ/MM/AAAA)" in messages
    assert "Ligne 3, colonne « Durée (min) » : durée invalide (attendu un nombre de minutes)" in messages
    assert any(m.startswith("Ligne 3, colonne « Canaux d’accompagnement » : canal inconnu") for m in messages)
    assert any(m.startswith("Ligne 4, colonne « Thématique(s) d’accompagnement »") for m in messages)
    assert any(m.startswith("Ligne 6, colonne « ID CRA » : un accompagnement individuel ne compte") for m in messages)
    assert "Ligne 8, colonne « Durée (min) » : valeur différente de la ligne 7 pour le même CRA (même « ID CRA »)" \
        in messages
    assert "Ligne 7, colonne « Participants » : le CRA compte 3 participants mais 2 lignes" in messages
    assert "Ligne 9, colonne « Code Insee » : commune inconnue" in messages  # the form's words
    assert "Ligne 9, colonne « ID CRA » : identifiant du CRA obligatoire" in messages
    assert not analysis.ok


def test_the_apply_job_validates_again_and_writes_nothing_on_error(session, network, eager):
    """The job re-reads the file: a bad row fails it with its line, and nothing is written."""
    content = csv_bytes([ACT_HEADER, act_row(network, **{"ID CRA": "ok-1"}),
                         act_row(network, **{"ID CRA": "ko-1", "Date": "hier"})])
    before = count(session, Activity)
    job = enqueue(session, "cases.import", user=network.mediator,
                  params={"kind": "activites", "structure_id": network.structure_a.id}, input_name="a.csv",
                  input_data=content)
    assert job.status == JobStatus.FAILED
    assert "Ligne 3, colonne « Date » : date invalide (attendu JJ/MM/AAAA)" in job.error
    assert count(session, Activity) == before


def test_our_own_export_imports_back_as_already_there(client, login, network, session, eager, log_activity):
    log_activity()
    log_activity(type=ActivityType.COLLECTIF)
    login(client, network.mediator)
    response = client.post("/echanges/export/activites", data={"format": "csv"})
    assert response.status_code == 200
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.ACTIVITIES,
                                response.get_data(), "export.csv")
    assert analysis.ok, [str(e) for e in analysis.errors]
    assert analysis.summary["Activités à créer"] == 0
    assert analysis.summary["Activités déjà importées (ignorées)"] == 2


def test_ten_thousand_rows_import_with_a_progress_bar(client, login, network, session, eager):
    rows = [ACT_HEADER]
    for n in range(8000):
        rows.append(act_row(network, **{"ID CRA": f"ind-{n}", "Date": f"{n % 28 + 1:02d}/0{n % 9 + 1}/2024",
                                        "Genre du bénéficiaire": ("Féminin", "Masculin")[n % 2]}))
    for n in range(500):
        for i in range(4):
            rows.append(act_row(network, **{"ID CRA": f"atelier-{n}", "Type": "Atelier collectif",
                                            "Participants": f"{i + 1}/4", "Nom de l’atelier": "Smartphone"}))
    assert len(rows) == 10_001
    login(client, network.mediator)
    page = upload(client, network, csv_bytes(rows), "activites").get_data(as_text=True)
    assert "Activités à créer" in page and "8\u202f500" in page
    location, job_page = apply_upload(client, session)
    assert '<progress id="job-progress" max="100" value="100">' in job_page
    assert "Accompagnements créés</dt><dd>10000<" in job_page
    assert "Activités créées</dt><dd>8500<" in job_page
    job = session.get(Job, int(location.rstrip("/").rsplit("/", 1)[1]))
    assert (job.status, job.progress, job.total) == (JobStatus.DONE, 10_000, 10_000)
    assert job.input_data is None  # the file is not kept once imported
    assert count(session, Activity, Activity.source == RecordSource.IMPORT) == 8500
    assert count(session, Participation) == 10_000
