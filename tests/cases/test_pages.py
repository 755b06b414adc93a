"""The activity and case pages, as a mediator or a coordinator uses them."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.auth.models import Role
from mediation.cases import activities
from mediation.cases.enums import ActivityType, CaseState
from mediation.cases.models import Activity, Beneficiary, Case, CaseNote, Participation
from mediation.types import local_today
from tests.helpers import count_queries

YESTERDAY = (local_today() - timedelta(days=1)).isoformat()


def individual_form(network, **overrides):
    data = {
        "structure_id": str(network.structure_a.id), "date": YESTERDAY, "duration": "30",
        "place_type": "lieu_activite", "place_structure_id": str(network.structure_a.id),
        "thematiques": ["email", "navigation_sur_internet"], "autonomie": "partiellement_autonome",
        "oriented": "non",
    }
    data.update(overrides)
    return data


def test_individual_form_is_ready_for_the_keyboard(client, login, network):
    login(client, network.mediator)
    page = client.get("/activites/nouvelle").get_data(as_text=True)
    # The person picker's search field (macros/person_picker.html) has the focus.
    assert re.search(r'<input[^>]*id="beneficiary_id-recherche"[^>]*autofocus', page)
    assert page.count("autofocus") == 1
    for minutes in ("15", "30", "45", "60", "90", "120"):
        assert f'type="radio" value="{minutes}"' in page or f'value="{minutes}" type="radio"' in page.replace(
            'id="duration-', 'x="')  # presets as radio buttons
    assert 'value="60" checked' in page or 'checked type="radio" value="60"' in page or re.search(
        r'<input[^>]*checked[^>]*value="60"', page)
    assert "Il est interdit de stocker des informations sensibles" in page
    assert "<legend>Thématiques d’accompagnement" in page


def test_form_keeps_typed_values_and_shows_national_messages(client, login, network, session):
    login(client, network.mediator)
    response = client.post("/activites/nouvelle", data={
        "structure_id": str(network.structure_a.id), "date": "", "duration": "45", "place_type": "",
        "notes": "Aide pour la messagerie", "demarche_name": "Carte grise", "new_first_name": "Léon",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Veuillez renseigner une date" in page
    assert "Veuillez renseigner un lieu d’accompagnement" in page
    assert "Veuillez renseigner au moins une thématique" in page
    assert "Veuillez renseigner un nom" in page
    assert "Aide pour la messagerie</textarea>" in page
    assert 'value="Carte grise"' in page and 'value="Léon"' in page
    assert re.search(r'<input[^>]*checked[^>]*value="45"', page)
    assert session.scalar(sa.select(sa.func.count(Activity.id))) == 0
    assert session.scalar(sa.select(sa.func.count(Beneficiary.id))) == 0


def test_log_an_anonymous_session_then_another_for_a_new_person(client, login, network, session):
    login(client, network.mediator)
    response = client.post("/activites/nouvelle", data=individual_form(network, anon_genre="feminin"))
    assert response.status_code == 302
    activity = session.scalar(sa.select(Activity))
    assert activity.participants_count == 1 and activity.participations[0].beneficiary.anonymous
    response = client.post("/activites/nouvelle", data=individual_form(
        network, new_first_name="Marcel", new_last_name="Dupont", new_birth_year="1949"))
    assert response.status_code == 302
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Dupont"))
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == person.id))
    detail = client.get(f"/dossiers/{case.id}").get_data(as_text=True)
    assert "Marcel Dupont" in detail and "Accompagnement individuel" in detail
    assert "70 ans et plus" in detail
    # "Enregistrer un autre accompagnement pour cette personne": the form comes preselected.
    form = client.get(f"/activites/nouvelle?beneficiaire={person.id}").get_data(as_text=True)
    assert re.search(rf'<input type="radio" name="beneficiary_id" id="beneficiary_id-{person.id}" value="{person.id}" checked', form)
    # The person, date, duration and place are set: the page opens on the first thématique.
    focused = re.findall(r'<[^>]*\bautofocus\b[^>]*>', form)
    assert len(focused) == 1 and 'name="thematiques"' in focused[0] and 'type="checkbox"' in focused[0]


def test_workshop_of_ten_from_the_form(client, login, network, session, make_beneficiary):
    followed = [make_beneficiary(first_name=f"P{i}") for i in range(3)]
    login(client, network.mediator)
    response = client.post("/activites/atelier/nouveau", data={
        "structure_id": str(network.structure_a.id), "workshop_title": "Découvrir sa tablette",
        "date": YESTERDAY, "duration": "120", "place_type": "lieu_activite",
        "place_structure_id": str(network.structure_a.id), "thematiques": ["prendre_en_main_du_materiel"],
        "workshop_level": "debutant", "participant_ids": [str(b.id) for b in followed],
        "anon_total": "7", "anon_already": "2", "anon_genre_feminin": "5",
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    workshop = session.scalar(sa.select(Activity).where(Activity.type == ActivityType.COLLECTIF))
    assert workshop.participants_count == 10
    assert session.scalar(sa.select(sa.func.count()).where(Participation.activity_id == workshop.id)) == 10
    detail = client.get(f"/activites/{workshop.id}").get_data(as_text=True)
    assert "7 bénéficiaires anonymes" in detail and "P0 " in detail


def test_workshop_breakdown_larger_than_total(client, login, network, session):
    login(client, network.mediator)
    page = client.post("/activites/atelier/nouveau", data={
        "structure_id": str(network.structure_a.id), "date": YESTERDAY, "duration": "60",
        "place_type": "a_distance", "thematiques": ["email"], "anon_total": "2", "anon_genre_feminin": "3",
    }).get_data(as_text=True)
    assert "La répartition par genre (3) dépasse le nombre de bénéficiaires anonymes (2)" in page
    assert 'value="3"' in page
    page = client.post("/activites/atelier/nouveau", data={
        "structure_id": str(network.structure_a.id), "date": YESTERDAY, "duration": "60",
        "place_type": "a_distance", "thematiques": ["email"], "anon_total": "",
    }).get_data(as_text=True)
    assert "Veuillez renseigner au moins un bénéficiaire suivi ou anonyme" in page


def test_edit_delete_and_duplicate(client, login, network, session, make_beneficiary):
    person = make_beneficiary()
    login(client, network.mediator)
    client.post("/activites/nouvelle", data=individual_form(network, beneficiary_id=str(person.id)))
    activity = session.scalar(sa.select(Activity))
    edit_page = client.get(f"/activites/{activity.id}/modifier").get_data(as_text=True)
    assert "Enregistrer les modifications" in edit_page
    response = client.post(f"/activites/{activity.id}/modifier", data=individual_form(
        network, beneficiary_id=str(person.id), duration="autre", duration_custom="75"))
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Activity, activity.id).duration_min == 75
    copy = client.get(f"/activites/{activity.id}/dupliquer")
    assert copy.status_code == 302 and f"dupliquer={activity.id}" in copy.headers["Location"]
    prefilled = client.get(copy.headers["Location"]).get_data(as_text=True)
    assert 'value="75"' in prefilled and f'value="{local_today().isoformat()}"' in prefilled
    assert client.post(f"/activites/{activity.id}/supprimer").status_code == 302
    session.expire_all()
    assert session.get(Activity, activity.id).deleted_at is not None
    assert session.get(Beneficiary, person.id).accompaniments_count == 0
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "activities")).all()
    assert actions == ["activity.created", "activity.updated", "activity.deleted"]
    assert client.get("/activites/").status_code in (200, 308, 404)
    assert f"/activites/{activity.id}\"" not in client.get("/activites").get_data(as_text=True)


def test_activity_list_filters_and_constant_query_count(client, login, network, session, log, activity_input,
                                                        make_beneficiary):
    def page_queries():
        with count_queries() as statements:
            assert client.get("/activites").status_code == 200
        return len(statements)

    login(client, network.mediator)
    for _ in range(3):
        log(activity_input(beneficiary_id=make_beneficiary().id))
    few = page_queries()
    for i in range(20):
        log(activity_input(thematiques=["sante"] if i % 2 else ["email"], beneficiary_id=make_beneficiary().id))
    log(activity_input(ActivityType.COLLECTIF, workshop_title="Atelier santé"))
    assert page_queries() == few
    page = client.get("/activites?thematique=sante&type=individuel").get_data(as_text=True)
    assert "10 activités" in page
    page = client.get(f"/activites?du={local_today().isoformat()}").get_data(as_text=True)
    assert "0 activité" in page


def test_case_list_search_and_constant_query_count(client, login, network, session, make_beneficiary):
    login(client, network.mediator)
    make_beneficiary(first_name="Odette", last_name="Lambert")

    def page_queries():
        with count_queries() as statements:
            assert client.get("/dossiers").status_code == 200
        return len(statements)

    few = page_queries()
    for i in range(15):
        make_beneficiary(first_name=f"Nom{i}")
    assert page_queries() == few
    page = client.get("/dossiers?q=lamb").get_data(as_text=True)
    assert "Odette Lambert" in page and "1 dossier" in page


def test_case_lifecycle_notes_and_consent(client, login, network, session, make_beneficiary):
    person = make_beneficiary()
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == person.id))
    login(client, network.mediator)
    client.post(f"/dossiers/{case.id}/notes", data={"body": "A besoin d’aide pour ameli"})
    client.post(f"/dossiers/{case.id}/consentements", data={"scope": "reseau"})
    assert client.post(f"/dossiers/{case.id}/etat", data={"action": "pause"}).status_code == 302
    client.post(f"/dossiers/{case.id}/etat", data={"action": "clore", "reason": ""})
    session.expire_all()
    assert session.get(Case, case.id).state == CaseState.PAUSED  # no reason: refused
    client.post(f"/dossiers/{case.id}/etat", data={"action": "clore", "reason": "autonomie_atteinte"})
    session.expire_all()
    assert session.get(Case, case.id).state == CaseState.CLOSED
    page = client.get(f"/dossiers/{case.id}").get_data(as_text=True)
    for text in ("A besoin d’aide pour ameli", "Partage au sein du réseau du territoire", "Dossier mis en pause",
                 "Dossier clos — Autonomie atteinte", "Rouvrir le dossier"):
        assert text in page
    consent_id = person.consents[0].id
    client.post(f"/dossiers/{case.id}/consentements/{consent_id}/retirer")
    session.expire_all()
    assert person.consents[0].withdrawn_at is not None
    actions = set(session.scalars(sa.select(AuditEvent.action)))
    assert {"case.opened", "case.paused", "case.closed", "case.note_added", "consent.recorded",
            "consent.withdrawn", "beneficiary.created"} <= actions


def test_coordinator_sees_without_names_or_notes(client, login, network, session, make_beneficiary, log,
                                                 activity_input):
    person = make_beneficiary(first_name="Gisèle", last_name="Fontaine", notes="Fiche note")
    activity = log(activity_input(beneficiary_id=person.id, notes="Note de séance"))
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == person.id))
    session.add(CaseNote(case_id=case.id, author_id=network.mediator.id, body="Note du dossier"))
    session.flush()
    login(client, network.coordinator)
    for url in ("/dossiers", f"/dossiers/{case.id}", "/activites", f"/activites/{activity.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "Gisèle" not in page and "Fontaine" not in page, url
        assert "Note de séance" not in page and "Note du dossier" not in page and "Fiche note" not in page, url
    assert f"Bénéficiaire n° {person.id}" in client.get("/dossiers").get_data(as_text=True)
    assert "1 dossier" in client.get(f"/dossiers?q={person.id}").get_data(as_text=True)
    assert "0 dossier" in client.get("/dossiers?q=Fontaine").get_data(as_text=True)
    assert client.get(f"/activites/{activity.id}/modifier").status_code == 403
    assert client.post(f"/dossiers/{case.id}/etat", data={"action": "pause"}).status_code == 403


def test_other_structure_cannot_see_or_guess(client, login, network, session, make_beneficiary, log, activity_input):
    person = make_beneficiary(first_name="Hubert", last_name="Caché")
    activity = log(activity_input(beneficiary_id=person.id))
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == person.id))
    login(client, network.mediator_b)
    assert client.get(f"/dossiers/{case.id}").status_code == 404
    assert client.get(f"/activites/{activity.id}").status_code == 404
    assert client.get(f"/activites/{activity.id}/modifier").status_code == 404
    assert client.post(f"/activites/{activity.id}/supprimer").status_code == 404
    assert client.post(f"/dossiers/{case.id}/notes", data={"body": "x"}).status_code == 404
    assert client.get(f"/beneficiaires/{person.id}/modifier").status_code == 404
    assert client.get(f"/activites/nouvelle?beneficiaire={person.id}").status_code == 404
    assert "0 dossier" in client.get("/dossiers?q=Hubert").get_data(as_text=True)
    assert "0 activité" in client.get("/activites").get_data(as_text=True)
    # and cannot slip the id into a form
    page = client.post("/activites/nouvelle", data=individual_form(
        network, structure_id=str(network.structure_b.id), place_structure_id=str(network.structure_b.id),
        beneficiary_id=str(person.id))).get_data(as_text=True)
    assert "Bénéficiaire introuvable" in page


def test_colleague_sees_but_does_not_edit(client, login, network, session, log, activity_input):
    activity = log(activity_input())
    login(client, network.aidant)  # same structure A
    assert client.get(f"/activites/{activity.id}").status_code == 200
    assert client.get(f"/activites/{activity.id}/modifier").status_code == 403


def test_funder_has_no_access(client, login, network):
    login(client, network.funder)
    for url in ("/activites", "/dossiers", "/activites/nouvelle"):
        assert client.get(url).status_code == 403


def test_beneficiary_create_and_edit(client, login, network, session):
    login(client, network.mediator)
    page = client.post("/beneficiaires/nouveau", data={"first_name": "Rose", "birth_year": "18",
                                                        "email": "pas-un-email"}).get_data(as_text=True)
    assert "Veuillez renseigner un nom" in page and "Veuillez renseigner une adresse e-mail valide" in page
    assert "Veuillez renseigner une année de naissance entre 1900" in page and 'value="Rose"' in page
    response = client.post("/beneficiaires/nouveau", data={"first_name": "Rose", "last_name": "Blanc",
                                                            "phone": "06 12 34 56 78"})
    assert response.status_code == 302 and "/dossiers/" in response.headers["Location"]
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Blanc"))
    assert person.phone == "0612345678"
    response = client.post(f"/beneficiaires/{person.id}/modifier", data={"first_name": "Rose", "last_name": "Blanc",
                                                                         "birth_year": "1960"})
    assert response.status_code == 302
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "beneficiary.updated")).one()
    assert event.details == {"fields": ["birth_year", "phone"]}


def test_people_offered_are_those_followed_now_plus_the_one_asked_for(client, login, network, session,
                                                                        make_beneficiary):
    from mediation.cases import services

    _current, former = make_beneficiary(last_name="Actuelle"), make_beneficiary(last_name="Ancienne")
    services.close_case(session, network.mediator, services.live_case(session, former.id), "autonomie_atteinte")
    login(client, network.mediator)
    page = client.get("/activites/nouvelle").get_data(as_text=True)
    assert "Actuelle" in page and "Ancienne" not in page
    page = client.get(f"/activites/nouvelle?beneficiaire={former.id}").get_data(as_text=True)
    assert re.search(rf'<input type="radio" name="beneficiary_id" id="beneficiary_id-{former.id}" value="{former.id}" checked', page)
    response = client.post("/activites/nouvelle", data=individual_form(network, beneficiary_id=str(former.id)))
    assert response.status_code == 302
    assert services.live_case(session, former.id).state == CaseState.OPEN


def test_a_mediator_attached_to_no_structure_is_told_so_and_nothing_is_saved(client, login, network, session,
                                                                              make_user):
    from mediation.auth.models import Role

    loner = make_user(Role.MEDIATOR)
    login(client, loner)
    before = session.scalar(sa.select(sa.func.count()).select_from(Activity))
    for send in (lambda: client.get("/activites/nouvelle"),
                 lambda: client.post("/activites/nouvelle", data=individual_form(network))):
        response = send()
        assert response.status_code == 302 and response.headers["Location"].endswith("/")
        page = client.get("/").get_data(as_text=True)
        assert "aucune structure" in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == before


def test_durations_are_shown_in_hours_and_minutes(client, login, network, log, activity_input):
    long = log(activity_input(duration_min=120))
    mixed = log(activity_input(duration_min=90))
    login(client, network.mediator)
    assert "<dd>2 h</dd>" in client.get(f"/activites/{long.id}").get_data(as_text=True)
    listing = client.get("/activites").get_data(as_text=True)
    assert "<td>1 h 30</td>" in listing and "<td>2 h</td>" in listing
    assert "120 min" not in listing and "90 min" not in listing
    assert mixed.duration_min == 90


def test_progressive_form_without_javascript_keeps_every_field(client, login, network, session, log, activity_input):
    """Without JavaScript nothing is out of reach: every field is on the page (the démarches,
    the commune, the custom duration; equipment and rare fields in <details> that open by
    themselves); the usual thématiques come first, the others folded but still sent."""
    for _ in range(2):
        log(activity_input(thematiques=["email", "navigation_sur_internet"]))
    log(activity_input(thematiques=["sante"]))
    login(client, network.mediator)
    page = client.get("/activites/nouvelle").get_data(as_text=True)
    assert '<script src="/static/js/activity-form.js" defer></script>' in page
    for name in ("demarches", "demarche_name", "place_commune_id", "place_structure_id", "duration_custom",
                 "equipment_kind", "equipment_count", "oriented", "redirection", "materiel", "notes"):
        assert f'name="{name}"' in page, name
    assert re.search(r"<details[^>]*>\s*<summary>Équipement remis", page)
    usual, others = page.split("<summary>Autres thématiques (16)</summary>")
    usual = usual[usual.index("<legend>Thématiques d’accompagnement"):]
    assert re.findall(r'name="thematiques"[^>]*value="(\w+)"', usual) == ["navigation_sur_internet", "email", "sante"]  # national order
    assert 'value="aide_aux_demarches_administratives"' in others
    assert " hidden" not in page.split('data-progressive')[1].split("</form>")[0].replace("type=\"hidden\"", "")

    # A folded thématique is sent; a commune typed before choosing the place of activity is ignored,
    # the démarche of a session without « Aide aux démarches administratives » is refused, in French.
    response = client.post("/activites/nouvelle", data=individual_form(
        network, thematiques=["email", "culture_numerique"], place_commune_id=str(network.commune_b.id),
        equipment_kind="pret", equipment_count="1"))
    assert response.status_code == 302
    saved = session.scalar(sa.select(Activity).order_by(Activity.id.desc()).limit(1))
    assert sorted(saved.thematiques) == ["culture_numerique", "email"]
    assert saved.place_commune_id is None and saved.place_structure_id == network.structure_a.id
    assert saved.equipment_count == 1
    page = client.post("/activites/nouvelle", data=individual_form(
        network, demarches=["logement"], demarche_name="APL")).get_data(as_text=True)
    assert "ne sont possibles qu’avec la thématique « Aide aux démarches administratives »" in page
    assert re.search(r"<details[^>]*open[^>]*>\s*<summary>Autres thématiques", page) is None  # nothing folded was ticked
    page = client.post("/activites/nouvelle", data=individual_form(
        network, thematiques=["parentalite"], oriented="oui")).get_data(as_text=True)
    assert "Veuillez renseigner la structure de redirection" in page
    assert re.search(r"<details[^>]*open[^>]*>\s*<summary>Autres thématiques", page)  # shows what was ticked
    assert re.search(r"<details[^>]*open[^>]*>\s*<summary>Orientation, matériel", page)  # and the error


def test_usual_thematiques_are_the_mediators_then_their_structures(session, network, log, activity_input,
                                                                   make_user):
    assert activities.frequent_thematiques(session, network.mediator) == []
    log(activity_input(thematiques=["sante", "email"]), user=network.mediator)
    log(activity_input(thematiques=["email", "aide_aux_demarches_administratives", "logement"]))
    # Most chosen first; only the 19 « Médiation numérique » thématiques (not the démarches).
    assert activities.frequent_thematiques(session, network.mediator) == [
        "email", "aide_aux_demarches_administratives", "sante"]
    # A colleague of the same structure with no history yet gets the structure's.
    colleague = make_user(Role.MEDIATOR, structures=[network.structure_a], email="collegue@test.example")
    assert activities.frequent_thematiques(session, colleague)[0] == "email"
    assert activities.frequent_thematiques(session, network.mediator_b) == []  # another structure
