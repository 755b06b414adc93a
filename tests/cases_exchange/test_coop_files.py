"""La Coop's own files import as they are: a mediator's activities export, a coordinator's team export,
the beneficiaries export and the beneficiaries import template, built by tests/cases_exchange/coop_files.py
from the Coop's source. No error, nothing lost without a word, every field compared with the source."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from mediation.auth.models import Role
from mediation.cases import exchange
from mediation.cases.enums import (
    ActivityType,
    Autonomie,
    DataSource,
    Genre,
    NiveauAtelier,
    PlaceType,
    StatutSocial,
    TagScope,
    TrancheAge,
)
from mediation.cases.exchange_models import ImportKind
from mediation.cases.models import Activity, Beneficiary, Participation, Tag
from mediation.directory.models import Commune, Structure
from mediation.jobs import enqueue
from mediation.jobs.models import JobStatus
from tests.cases_exchange.coop_files import activities_workbook, beneficiaries_workbook, template_workbook

UUID = "0f8fad5b-d9cb-469f-a165-70867728{:04d}"


def uid(n: int) -> str:
    return UUID.format(n)


def run_import(session, user, kind, content, structure=None, resolutions=None, filename="coop.xlsx"):
    analysis = exchange.analyse(session, user, structure, kind, content, filename, resolutions=resolutions)
    assert analysis.ok, ([str(e) for e in analysis.errors], [c.label for c in analysis.unresolved])
    job = enqueue(session, "cases.import", user=user,
                  params={"kind": ImportKind(kind).value, "structure_id": structure.id if structure else None,
                          "resolutions": resolutions or {}}, input_name=filename, input_data=content)
    assert job.status == JobStatus.DONE, job.error
    return analysis, job


def activity(session, external_id) -> Activity:
    return session.scalar(sa.select(Activity).where(Activity.external_id == external_id))


def anon(genre="Feminin", tranche="SoixanteSoixanteNeuf", statut="Retraite", **commune):
    return {"beneficiaire": {"anonyme": True, "genre": genre, "trancheAge": tranche, "statutSocial": statut,
                             **commune}}


def followed(prenom, nom, **fields):
    return {"beneficiaire": {"prenom": prenom, "nom": nom, **fields}}


def mediator_activities(network, workshop_size=12):
    a = network.structure_a
    place_a = {"nom": a.name, "adresse": "1 place de la Mairie", "commune": a.commune.name,
               "codePostal": a.commune.postal_code, "codeInsee": a.commune.insee_code}
    return [
        {  # individual, a followed person, tags, autonomy, réorienté without a structure
            "id": uid(1), "date": date(2025, 3, 5), "creation": datetime(2025, 3, 5, 14, 30),
            "modification": datetime(2025, 3, 6, 9, 0), "type": "Individuel", "typeLieu": "LieuActivite",
            "structure": place_a, "duree": 45, "materiel": ["Ordinateur", "Telephone"],
            "thematiques": ["Email", "AideAuxDemarchesAdministratives", "SocialSante"],
            "precisionsDemarche": "Dossier CAF — prime d’activité", "tags": ["Projet été", "Séniors"],
            "autonomie": "PartiellementAutonome", "orienteVersStructure": True, "notes": "Revenir avec l’avis",
            "accompagnements": [followed("Jean", "Dupré")],
        },
        {  # a workshop of 12 (or 2): anonymous people with their bands, a followed one; a V1 activity
            "id": uid(2), "date": date(2024, 11, 20), "creation": datetime(2024, 11, 20, 18, 5),
            "type": "Collectif", "typeLieu": "LieuActivite", "structure": place_a, "duree": 120,
            "titreAtelier": "Sécurité en ligne", "niveau": "Intermediaire", "thematiques": ["SecuriteNumerique"],
            "materiel": [], "v1CraId": "v1-42", "tags": ["projet ete"],
            "accompagnements": [followed("Jean", "Dupré")] + [
                anon(genre=("Feminin", "Masculin", "NonCommunique")[i % 3], tranche="VingtCinqTrenteNeuf",
                     statut=("EnEmploi", "SansEmploi", "NonCommunique")[i % 3])
                for i in range(workshop_size - 1)],
        },
        {  # at home in Rouen (postal code 76100, outside the territory), resident of Rouen too
            "id": uid(3), "date": date(2025, 1, 10), "creation": datetime(2025, 1, 10, 10, 0),
            "type": "Individuel", "typeLieu": "Domicile", "lieuCommune": "Rouen", "lieuCodePostal": "76100",
            "lieuCodeInsee": "76540", "duree": 60, "thematiques": ["Sante"], "autonomie": "Autonome",
            "orienteVersStructure": False,
            "accompagnements": [anon(genre="Masculin", tranche="SoixanteDixPlus", statut="Retraite",
                                     commune="Rouen", communeCodePostal="76100", communeCodeInsee="76540")],
        },
        {  # a place the directory does not hold, outside the territory (Quimper)
            "id": uid(4), "date": date(2025, 2, 14), "creation": datetime(2025, 2, 14, 16, 45),
            "type": "Individuel", "typeLieu": "LieuActivite", "duree": 30, "thematiques": ["NavigationSurInternet"],
            "structure": {"nom": "Tiers-lieu Les Halles", "adresse": "3 rue des Halles", "commune": "Quimper",
                          "codePostal": "29000", "codeInsee": "29232"},
            "accompagnements": [anon(genre="NonCommunique", tranche="NonCommunique", statut="NonCommunique")],
        },
        {  # remote, a workshop of two, blank optional cells
            "id": uid(5), "date": date(2025, 4, 1), "creation": datetime(2025, 4, 1, 8, 0), "type": "Collectif",
            "typeLieu": "ADistance", "duree": 90, "titreAtelier": "", "thematiques": ["IntelligenceArtificielle"],
            "accompagnements": [anon(), anon(tranche="DixHuitVingtQuatre")],
        },
    ]


MEDIATOR_USER = {"firstName": "Prénom", "lastName": "Nom", "role": "Conseiller numérique"}


def import_people(session, network):
    content = beneficiaries_workbook([
        {"nom": "Dupré", "prenom": "Jean", "anneeNaissance": 1950, "genre": "Masculin",
         "communeResidence": {"commune": "Rouen", "codeInsee": "76540", "codePostal": "76100"},
         "telephone": "0612345678", "statutSocial": "Retraite", "trancheAge": "SoixanteDixPlus",
         "accompagnementsCount": 4, "notes": "Préfère le matin"},
    ], user=MEDIATOR_USER)
    run_import(session, network.mediator, ImportKind.BENEFICIARIES, content, network.structure_a)
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Dupré"))


def test_a_mediators_activities_export_imports_as_is_and_every_field_is_kept(session, network, eager):
    jean = import_people(session, network)
    content = activities_workbook(mediator_activities(network), user=MEDIATOR_USER, has_cra_v1=True)
    analysis, job = run_import(session, network.mediator, ImportKind.ACTIVITIES, content, network.structure_a)
    assert analysis.summary["Activités à créer"] == 5 and analysis.summary["Accompagnements à créer"] == 17
    assert analysis.summary["Lieux non répertoriés à créer"] == 1

    first = activity(session, uid(1))
    assert first.type == ActivityType.INDIVIDUEL and first.date == date(2025, 3, 5) and first.duration_min == 45
    assert first.recorded_at == datetime(2025, 3, 5, 13, 30, tzinfo=UTC)  # 14:30 in Paris (winter time)
    assert first.data_source == DataSource.COOP_V2 and first.mediator_id == network.mediator.id
    assert first.place_type == PlaceType.LIEU_ACTIVITE and first.place_structure_id == network.structure_a.id
    assert first.materiel == ["ordinateur", "telephone"]
    assert set(first.thematiques) == {"email", "aide_aux_demarches_administratives", "social_sante"}
    assert first.demarche_name == "Dossier CAF — prime d’activité" and first.autonomie == Autonomie.PARTIELLEMENT_AUTONOME
    assert first.oriented is True and first.redirection is None  # réorienté without a structure, as in the Coop
    assert first.notes == "Revenir avec l’avis"
    assert sorted(t.name for t in first.tags) == ["Projet été", "Séniors"]
    assert [p.beneficiary_id for p in first.participations] == [jean.id]

    workshop = activity(session, uid(2))
    assert workshop.data_source == DataSource.COOP_V1 and workshop.participants_count == 12
    assert workshop.workshop_title == "Sécurité en ligne" and workshop.workshop_level == NiveauAtelier.INTERMEDIAIRE
    assert workshop.recorded_at == datetime(2024, 11, 20, 17, 5, tzinfo=UTC)
    # « projet ete » is the tag « Projet été » (same name without accents or case): not created twice
    assert [t.name for t in workshop.tags] == ["Projet été"]
    people = [p.beneficiary for p in workshop.participations]
    assert sum(1 for b in people if not b.anonymous) == 1
    anonymous = [b for b in people if b.anonymous]
    assert sorted(b.genre.value for b in anonymous) == sorted(
        ["feminin", "masculin", "non_communique"][i % 3] for i in range(11))
    assert {b.tranche_age for b in anonymous} == {TrancheAge.VINGT_CINQ_TRENTE_NEUF}
    assert all(b.birth_year is None for b in anonymous)

    home = activity(session, uid(3))
    assert home.place_type == PlaceType.DOMICILE and home.place_commune.insee_code == "76540"
    resident = home.participations[0].beneficiary
    assert session.get(Commune, resident.residence_commune_id).name == "Rouen"
    assert resident.tranche_age == TrancheAge.SOIXANTE_DIX_PLUS and resident.statut_social == StatutSocial.RETRAITE
    assert resident.genre == Genre.MASCULIN and home.oriented is False

    far = activity(session, uid(4))
    place = far.place_structure
    assert place.name == "Tiers-lieu Les Halles" and place.address == "3 rue des Halles" and place.unlisted
    assert place.commune.insee_code == "29232" and place.id != network.structure_a.id

    remote = activity(session, uid(5))
    assert remote.place_type == PlaceType.A_DISTANCE and remote.participants_count == 2
    assert remote.workshop_title is None
    assert {p.beneficiary.tranche_age for p in remote.participations} == {TrancheAge.DIX_HUIT_VINGT_QUATRE,
                                                                          TrancheAge.SOIXANTE_SOIXANTE_NEUF}

    tags = session.scalars(sa.select(Tag)).all()
    assert sorted(t.name for t in tags) == ["Projet été", "Séniors"]
    assert all(t.scope == TagScope.PERSONNEL and t.owner_id == network.mediator.id for t in tags)
    # What the analysis changes is listed, grouped, with its lines.
    groups = {(column, reason): lines for column, reason, lines in analysis.warning_groups}
    assert any("lieu absent de l’annuaire" in reason for _, reason in groups)
    assert groups[("Dernière modification le", exchange.UNKEPT_COLUMNS[exchange.A.MODIFIED])] == [23]

    # The same file again creates nothing.
    again = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.ACTIVITIES, content, "c.xlsx")
    assert again.ok and again.to_create == 0 and again.summary["Activités déjà importées (ignorées)"] == 5
    assert session.scalar(sa.select(sa.func.count()).select_from(Structure).where(Structure.unlisted)) == 1


def test_existing_tags_are_reused_whatever_their_accents_or_case(session, network, eager):
    mine = Tag(name="SÉNIORS", scope=TagScope.PERSONNEL, owner_id=network.mediator.id)
    territory = Tag(name="Projet Ete", scope=TagScope.TERRITOIRE, territory_id=network.territory.id)
    session.add_all([mine, territory])
    session.flush()
    acts = mediator_activities(network)[:1]
    acts[0]["accompagnements"] = [anon()]
    run_import(session, network.mediator, ImportKind.ACTIVITIES, activities_workbook(acts, user=MEDIATOR_USER),
               network.structure_a)
    assert sorted(t.id for t in activity(session, uid(1)).tags) == sorted([mine.id, territory.id])
    assert session.scalar(sa.select(sa.func.count()).select_from(Tag)) == 2


def test_homonyms_are_chosen_on_the_analysis_page(session, network, eager, make_beneficiary):
    older = make_beneficiary(first_name="Léa", last_name="Martin", birth_year=1950)
    make_beneficiary(first_name="Léa", last_name="Martin", birth_year=1990)
    acts = mediator_activities(network)[:1]
    acts[0]["accompagnements"] = [followed("Léa", "Martin")]
    content = activities_workbook(acts, user=MEDIATOR_USER)
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.ACTIVITIES, content, "c.xlsx")
    assert not analysis.errors and not analysis.ok
    [choice] = analysis.unresolved
    assert choice.label == "Léa Martin" and choice.lines == [23]
    assert any("1950" in label for _, label in choice.options)
    resolutions = exchange.resolutions_from_form(analysis, {choice.field_name: str(older.id)})
    run_import(session, network.mediator, ImportKind.ACTIVITIES, content, network.structure_a, resolutions)
    assert [p.beneficiary_id for p in activity(session, uid(1)).participations] == [older.id]


def team_activities(network, homonym_name, unknown_name):
    base = mediator_activities(network)
    med_a = {"firstName": network.mediator.first_name, "lastName": network.mediator.last_name,
             "isConseillerNumerique": True}
    med_b = {"firstName": network.mediator_b.first_name, "lastName": network.mediator_b.last_name}
    base[0]["mediateur"] = med_a
    base[1]["mediateur"] = med_a
    base[2]["mediateur"] = {"firstName": homonym_name[0], "lastName": homonym_name[1]}
    base[3]["mediateur"] = {"firstName": unknown_name[0], "lastName": unknown_name[1]}
    base[4]["mediateur"] = med_b
    return base


def test_a_coordinators_team_export_goes_to_each_mediator_never_to_the_importer(session, network, eager,
                                                                                 make_user):
    # Two mediators of the territory share a name; another name is nobody's here.
    twin_1 = make_user(Role.MEDIATOR, structures=[network.structure_a], first_name="Camille", last_name="Petit")
    twin_2 = make_user(Role.MEDIATOR, structures=[network.structure_b], first_name="Camille", last_name="Petit")
    # The mediator imported their own file first: the team export must not create those again.
    own = mediator_activities(network)[1:2]
    run_import(session, network.mediator, ImportKind.ACTIVITIES, activities_workbook(own, user=MEDIATOR_USER),
               network.structure_a)
    content = activities_workbook(team_activities(network, ("Camille", "Petit"), ("Paul", "Inconnu")),
                                  user={"firstName": "Coord", "lastName": "Ination", "role": "Coordinateur"},
                                  mediateur={"firstName": "Équipe", "lastName": "", "scope": False})
    analysis = exchange.analyse(session, network.coordinator, None, ImportKind.ACTIVITIES, content, "e.xlsx")
    assert not analysis.errors and not analysis.ok
    labels = {c.label: c for c in analysis.unresolved}
    assert set(labels) == {"Camille Petit", "Paul Inconnu"}
    assert {v for v, _ in labels["Camille Petit"].options} == {str(twin_1.id), str(twin_2.id), "ignorer"}
    # The coordinator is never offered: only mediators of the territory.
    assert str(network.coordinator.id) not in {v for v, _ in labels["Paul Inconnu"].options}
    assert str(network.mediator_far.id) not in {v for v, _ in labels["Paul Inconnu"].options}
    resolutions = exchange.resolutions_from_form(analysis, {labels["Camille Petit"].field_name: str(twin_2.id),
                                                            labels["Paul Inconnu"].field_name: "ignorer"})
    analysis, _ = run_import(session, network.coordinator, ImportKind.ACTIVITIES, content, None, resolutions)
    assert analysis.summary["Activités déjà importées (ignorées)"] == 1
    assert activity(session, uid(1)).mediator_id == network.mediator.id
    assert activity(session, uid(1)).structure_id == network.structure_a.id
    assert activity(session, uid(3)).mediator_id == twin_2.id
    assert activity(session, uid(3)).structure_id == network.structure_b.id
    assert activity(session, uid(4)) is None  # left out by choice, and listed
    assert any("médiateur écarté" in reason for _, reason, _ in analysis.warning_groups)
    assert activity(session, uid(5)).mediator_id == network.mediator_b.id
    assert activity(session, uid(5)).structure_id == network.structure_b.id
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity).where(
        Activity.mediator_id == network.coordinator.id)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity).where(
        Activity.external_id == uid(2))) == 1
    # A tag the mediator already has is reused (theirs, from their own import); a new one is the territory's.
    assert {t.name: t.scope for t in activity(session, uid(1)).tags} == {"projet ete": TagScope.PERSONNEL,
                                                                         "Séniors": TagScope.TERRITOIRE}
    # Anonymous participants belong to the activity's structure.
    owners = {p.beneficiary.owner_structure_id for p in activity(session, uid(5)).participations}
    assert owners == {network.structure_b.id}


def test_a_mediators_own_file_cannot_be_imported_by_a_coordinator(session, network):
    content = activities_workbook(mediator_activities(network)[:1], user=MEDIATOR_USER)
    analysis = exchange.analyse(session, network.coordinator, None, ImportKind.ACTIVITIES, content, "c.xlsx")
    assert not analysis.ok and "c’est à lui de l’importer" in str(analysis.errors[0])


def test_the_coop_beneficiaries_export_imports_with_its_labels(session, network, eager):
    content = beneficiaries_workbook([
        {"nom": "Dupré", "prenom": "Jean", "anneeNaissance": 1950, "genre": "Masculin",
         "communeResidence": {"commune": "Rouen", "codeInsee": "76540", "codePostal": "76100"},
         "telephone": "0612345678", "email": "jean@example.org", "statutSocial": "Retraite",
         "trancheAge": "SoixanteDixPlus", "accompagnementsCount": 4, "notes": "Préfère le matin"},
        {"nom": "Nguyễn", "prenom": "Thị Ánh", "genre": "Feminin", "trancheAge": "QuaranteCinquanteNeuf",
         "statutSocial": "EnEmploi", "communeResidence": {"commune": "Quimper", "codeInsee": "29232",
                                                         "codePostal": "29000"}},
        {"nom": "Sans", "prenom": "Rien", "genre": "NonCommunique"},  # « - » everywhere
    ], user=MEDIATOR_USER)
    analysis, _ = run_import(session, network.mediator, ImportKind.BENEFICIARIES, content, network.structure_a)
    assert analysis.summary["Bénéficiaires à créer (avec leur dossier)"] == 3
    assert [(column, lines) for column, _, lines in analysis.warning_groups] == [("Nombre d’accompagnements", [14])]
    jean = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Dupré"))
    assert (jean.first_name, jean.birth_year, jean.genre, jean.phone, jean.email, jean.statut_social, jean.notes) == (
        "Jean", 1950, Genre.MASCULIN, "0612345678", "jean@example.org", StatutSocial.RETRAITE, "Préfère le matin")
    assert session.get(Commune, jean.residence_commune_id).insee_code == "76540"
    anh = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Nguyễn"))
    assert anh.first_name == "Thị Ánh" and anh.genre == Genre.FEMININ and anh.birth_year is None
    assert anh.tranche_age == TrancheAge.QUARANTE_CINQUANTE_NEUF  # the stored band, without a birth year
    assert session.get(Commune, anh.residence_commune_id).name == "Quimper"
    rien = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Sans"))
    assert (rien.birth_year, rien.phone, rien.email, rien.residence_commune_id, rien.notes) == (None,) * 5


def test_the_coop_beneficiaries_import_template_imports(session, network, eager):
    content = template_workbook([
        {"nom": "Durand", "prenom": "Éloïse", "anneeNaissance": 1985, "commune": "Rouen", "codeInsee": "76540",
         "codePostal": "76100", "telephone": "0601020304", "genre": "Féminin", "notes": "Vient le mardi"},
        {"nom": "Lefèvre", "prenom": "Marc", "commune": "Quimper", "codeInsee": "29232", "codePostal": "29000",
         "genre": "Masculin", "email": "marc@example.org"},
        {"nom": "Roux", "prenom": "Inès"},
    ])
    analysis, _ = run_import(session, network.mediator, ImportKind.BENEFICIARIES, content, network.structure_a)
    assert analysis.summary["Bénéficiaires à créer (avec leur dossier)"] == 3
    assert any("ligne d’exemple" in reason for _, reason, _ in analysis.warning_groups)
    eloise = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Durand"))
    assert (eloise.first_name, eloise.birth_year, eloise.phone, eloise.genre, eloise.notes) == (
        "Éloïse", 1985, "0601020304", Genre.FEMININ, "Vient le mardi")
    assert session.get(Commune, eloise.residence_commune_id).insee_code == "76540"
    marc = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Lefèvre"))
    assert marc.email == "marc@example.org" and session.get(Commune, marc.residence_commune_id).name == "Quimper"
    assert session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Exemple")) is None


def test_the_template_saved_without_recalculation_resolves_the_commune_by_its_name(session, network, eager):
    content = template_workbook([{"nom": "Durand", "prenom": "Éloïse", "commune": "Quimper"}], formulas=True)
    run_import(session, network.mediator, ImportKind.BENEFICIARIES, content, network.structure_a)
    eloise = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Durand"))
    assert session.get(Commune, eloise.residence_commune_id).insee_code == "29232"


def test_workshops_of_two_to_twelve(session, network, eager):
    for size in (2, 7, 12):
        acts = mediator_activities(network, workshop_size=size)[1:2]
        acts[0]["id"] = uid(100 + size)
        acts[0]["accompagnements"] = [anon() for _ in range(size)]
        run_import(session, network.mediator, ImportKind.ACTIVITIES, activities_workbook(acts, user=MEDIATOR_USER),
                   network.structure_a)
        assert activity(session, uid(100 + size)).participants_count == size
        assert session.scalar(sa.select(sa.func.count()).select_from(Participation).where(
            Participation.activity_id == activity(session, uid(100 + size)).id)) == size


def test_a_coordinator_resolves_names_on_the_analysis_page_then_imports(client, login, session, network, eager,
                                                                        make_user):
    import io
    import re

    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    from mediation.cases.exchange_models import ImportUpload

    twin_1 = make_user(Role.MEDIATOR, structures=[network.structure_a], first_name="Camille", last_name="Petit")
    make_user(Role.MEDIATOR, structures=[network.structure_b], first_name="Camille", last_name="Petit")
    content = activities_workbook(team_activities(network, ("Camille", "Petit"), ("Paul", "Inconnu")),
                                  user={"firstName": "Coord", "lastName": "Ination", "role": "Coordinateur"},
                                  mediateur={"firstName": "Équipe", "lastName": "", "scope": False})
    login(client, network.coordinator)
    boundary, body = encode_multipart(MultiDict({"file": FileStorage(io.BytesIO(content), filename="equipe.xlsx")}))
    page = client.post("/echanges/import/equipe", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}").get_data(as_text=True)
    assert "À choisir avant l'import (2)" in page and "« Camille Petit »" in page and "« Paul Inconnu »" in page
    assert "Confirmer l'import" not in page
    assert "lieu absent de l’annuaire" in page  # every change listed before applying
    upload = session.scalar(sa.select(ImportUpload).order_by(ImportUpload.id.desc()))
    # Applying before choosing changes nothing.
    assert client.post(f"/echanges/import/{upload.id}/appliquer").status_code == 302
    assert activity(session, uid(1)) is None
    fields = dict(re.findall(r'<label for="(choix-[a-z0-9-]+)">« ([^»]+) »', page))
    chosen = {name: (str(twin_1.id) if label.strip() == "Camille Petit" else "ignorer") for name, label in fields.items()}
    page = client.post(f"/echanges/import/{upload.id}/choix", data=chosen).get_data(as_text=True)
    assert "Confirmer l'import" in page and "Vos choix" in page
    upload = session.scalar(sa.select(ImportUpload).order_by(ImportUpload.id.desc()))
    response = client.post(f"/echanges/import/{upload.id}/appliquer")
    assert response.status_code == 302 and "/taches/" in response.headers["Location"]
    assert activity(session, uid(3)).mediator_id == twin_1.id
    assert activity(session, uid(1)).mediator_id == network.mediator.id
    assert activity(session, uid(4)) is None


def test_the_fast_xlsx_reader_reads_what_openpyxl_reads(network):
    """Coop files are read by calamine (much faster on 100,000 rows): same cells as openpyxl
    (strings, numbers, dates by their format, formula results, empty rows kept for the line numbers)."""
    from mediation import tabular as app_tabular
    from mediation.cases import tabular

    for content, sheet in ((activities_workbook(mediator_activities(network), user=MEDIATOR_USER, has_cra_v1=True),
                            "Activités"),
                           (template_workbook([{"nom": "Durand", "prenom": "Éloïse", "commune": "Quimper"}],
                                              formulas=True), "Bénéficiaires"),
                           (beneficiaries_workbook([{"nom": "A", "prenom": "B", "anneeNaissance": 1950}],
                                                   user=MEDIATOR_USER), "Bénéficiaires")):
        fast = tabular.fast_xlsx_rows(content, sheet, max_rows=1000, max_columns=200)
        slow = app_tabular.xlsx_rows(content, tabular.header_key, sheet, max_rows=1000, max_columns=200)
        assert fast == slow


def test_a_mediator_importing_a_team_export_keeps_their_own_rows_only(session, network, eager):
    content = activities_workbook(team_activities(network, ("Camille", "Petit"), ("Paul", "Inconnu")),
                                  user=MEDIATOR_USER, mediateur={"firstName": "Équipe", "lastName": "", "scope": False})
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.ACTIVITIES, content, "e.xlsx")
    assert not analysis.errors
    # Every other name can only be left out: nothing is credited to the importer by a choice either.
    assert all([v for v, _ in c.options] == ["ignorer"] for c in analysis.unresolved)
    resolutions = {c.key: "ignorer" for c in analysis.unresolved}
    run_import(session, network.mediator, ImportKind.ACTIVITIES, content, network.structure_a, resolutions)
    assert {activity(session, uid(n)).mediator_id for n in (1, 2)} == {network.mediator.id}
    assert all(activity(session, uid(n)) is None for n in (3, 4, 5))
