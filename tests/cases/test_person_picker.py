"""The one person picker (mediation/cases/picker.py, macros/person_picker.html): search in scope,
the no-JavaScript flow (search, choose, submit), the JSON suggestions, and probable duplicates shown
before creating a person."""

from __future__ import annotations

import re

import sqlalchemy as sa

from mediation.cases import picker, services
from mediation.cases.models import Activity, Beneficiary, Participation
from tests.cases.test_pages import individual_form


def _claude(make_beneficiary, network, **fields):
    return make_beneficiary(first_name="Claude", last_name="Bertrand", birth_year=2004,
                            residence_commune_id=network.commune_a.id, **fields)


def test_search_stays_in_scope_and_coordinators_get_no_names(session, network, make_beneficiary):
    ours = _claude(make_beneficiary, network)
    far = make_beneficiary(actor=network.mediator_far, structure=network.structure_far, first_name="Claude",
                           last_name="Bertrand", birth_year=1960)
    found, more = picker.search_people(session, network.mediator, "cl ber")
    assert [p.id for p in found] == [ours.id] and not more
    assert found[0].label == "Claude Bertrand" and found[0].birth_year == 2004 and found[0].commune == "Ville-A"
    # Accents and case ignored; a birth year narrows homonyms.
    assert [p.id for p in picker.search_people(session, network.mediator, "BÉRTRAND 2004")[0]] == [ours.id]
    assert picker.search_people(session, network.mediator, "Bertrand 1960")[0] == []  # another structure's
    assert [p.id for p in picker.search_people(session, network.mediator_far, "Claude")[0]] == [far.id]
    # Coordinators never search by name and never read one: numbers only, pseudonyms.
    assert picker.search_people(session, network.coordinator, "Claude")[0] == []
    by_number = picker.search_people(session, network.coordinator, f"n° {ours.id}")[0]
    assert by_number == [picker.PersonOption(ours.id, f"Bénéficiaire n° {ours.id}")]


def test_search_returns_at_most_twenty_people(session, network, make_beneficiary):
    for i in range(25):
        make_beneficiary(first_name="Camille", last_name=f"Durand{i:02d}")
    found, more = picker.search_people(session, network.mediator, "ca du")
    assert len(found) == picker.MAX_RESULTS and more


def test_json_suggestions_in_scope_with_birth_year_and_commune(client, login, session, network, make_beneficiary):
    ours = _claude(make_beneficiary, network)
    make_beneficiary(actor=network.mediator_far, structure=network.structure_far, first_name="Claude",
                     last_name="Bertrand")
    login(client, network.mediator)
    response = client.post("/beneficiaires/recherche", data={"q": "cl"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == [{"id": ours.id, "label": "Claude Bertrand", "birth_year": 2004,
                                    "commune": "Ville-A"}]
    assert client.post("/beneficiaires/recherche", data={"q": ""}).get_json() == []
    # Only POST: the typed query never travels in a URL.
    assert client.get("/beneficiaires/recherche?q=cl").status_code == 405
    coordinator = client.application.test_client()
    login(coordinator, network.coordinator)
    assert coordinator.post("/beneficiaires/recherche", data={"q": "cl"}).status_code == 403


def test_without_javascript_search_then_choose_then_submit(client, login, session, network, make_beneficiary):
    ours = _claude(make_beneficiary, network)
    homonym = make_beneficiary(first_name="Claude", last_name="Bertrand", birth_year=1971)
    login(client, network.mediator)
    typed = individual_form(network, notes="Séance sur la messagerie")
    typed.pop("place_structure_id")
    before = session.scalar(sa.select(sa.func.count()).select_from(Activity))
    # 1. The « Rechercher » button re-renders the form: nothing saved, everything typed kept.
    page = client.post("/activites/nouvelle", data={**typed, "beneficiary_id_recherche": "cl be",
                                                    picker.SEARCH_BUTTON: "beneficiary_id"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == before
    assert "2 personnes trouvées pour « cl be »" in html
    assert re.search(rf'type="radio" name="beneficiary_id" id="beneficiary_id-{ours.id}" value="{ours.id}"', html)
    assert "Claude Bertrand <span class=\"hint\">(2004 · Ville-A)</span>" in html
    assert "Claude Bertrand <span class=\"hint\">(1971)</span>" in html  # homonyms told apart
    assert "Séance sur la messagerie" in html and 'value="cl be"' in html
    assert "Le formulaire contient" not in html  # a search is not a failed submission
    # 2. Choose the 2004 one and submit: the session is saved with that person.
    response = client.post("/activites/nouvelle", data={**typed, "place_structure_id": str(network.structure_a.id),
                                                        "beneficiary_id_recherche": "cl be",
                                                        "beneficiary_id": str(ours.id)})
    assert response.status_code == 302
    activity = session.scalars(sa.select(Activity).order_by(Activity.id.desc())).first()
    assert [p.beneficiary_id for p in activity.participations] == [ours.id]
    assert homonym.id not in {p.beneficiary_id for p in session.scalars(sa.select(Participation))}


def test_a_search_never_offers_another_structures_person_and_a_forged_choice_is_refused(
        client, login, session, network, make_beneficiary):
    far = make_beneficiary(actor=network.mediator_far, structure=network.structure_far, first_name="Claude",
                           last_name="Lointain")
    login(client, network.mediator)
    html = client.post("/activites/nouvelle", data={"beneficiary_id_recherche": "Claude",
                                                    picker.SEARCH_BUTTON: "beneficiary_id"}).get_data(as_text=True)
    assert "Lointain" not in html and "Aucune personne ne correspond à « Claude »." in html
    before = session.scalar(sa.select(sa.func.count()).select_from(Activity))
    response = client.post("/activites/nouvelle", data=individual_form(network, beneficiary_id=str(far.id)))
    assert response.status_code == 422  # refused, nothing saved
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == before
    assert "Lointain" not in response.get_data(as_text=True)


def test_workshop_participants_are_searched_and_ticked_people_are_kept(client, login, session, network,
                                                                          make_beneficiary):
    people = [make_beneficiary(first_name="Odile", last_name=f"Atelier{i:02d}") for i in range(30)]
    ticked = people[25]
    login(client, network.mediator)
    # Without a search: at most 20 of the people followed, not 30 checkboxes.
    html = client.get("/activites/atelier/nouveau").get_data(as_text=True)
    assert html.count('type="checkbox" name="participant_ids"') == picker.MAX_RESULTS
    assert "Seules les premières personnes sont affichées" in html
    # A search keeps who was already ticked, and offers the matching people.
    html = client.post("/activites/atelier/nouveau", data={
        "participant_ids": [str(ticked.id)], "participant_ids_recherche": "Atelier07",
        picker.SEARCH_BUTTON: "participant_ids", "workshop_title": "Tablettes"}).get_data(as_text=True)
    assert re.search(rf'type="checkbox" name="participant_ids" id="participant_ids-{ticked.id}" value="{ticked.id}" checked', html)
    assert f'id="participant_ids-{people[7].id}"' in html and html.count('type="checkbox" name="participant_ids"') == 2
    assert 'value="Tablettes"' in html
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_creating_a_probable_duplicate_shows_the_existing_person_first(client, login, session, network,
                                                                           make_beneficiary):
    existing = _claude(make_beneficiary, network)
    make_beneficiary(actor=network.mediator_far, structure=network.structure_far, first_name="Claude",
                     last_name="Bertrand", birth_year=1950)  # out of scope: never shown
    login(client, network.mediator)
    typed = {"structure_id": str(network.structure_a.id), "first_name": "Claude", "last_name": "Bertrand",
             "birth_year": "2004", "phone": "06 11 22 33 44"}
    response = client.post("/beneficiaires/nouveau", data=typed)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    count = sa.select(sa.func.count()).select_from(Beneficiary).where(Beneficiary.last_name == "Bertrand")
    assert session.scalar(count) == 2  # ours and the far one: nothing created
    assert "Cette personne existe peut-être déjà" in html and "Rien n’a encore été créé" in html
    assert "<strong>Claude Bertrand</strong> (2004 · Ville-A)" in html and "1950" not in html
    assert f"/activites/nouvelle?beneficiaire={existing.id}" in html  # take the existing person
    case_id = re.search(r'href="/dossiers/(\d+)"', html).group(1)
    assert int(case_id) == services.live_case(session, existing.id).id
    assert '<input type="hidden" name="confirme" value="1">' in html and 'value="06 11 22 33 44"' in html
    assert "Créer quand même une nouvelle personne" in html
    # Confirmed: created.
    response = client.post("/beneficiaires/nouveau", data={**typed, "confirme": "1"})
    assert response.status_code == 302 and "/dossiers/" in response.headers["Location"]
    assert session.scalar(count) == 3


def test_no_duplicate_no_detour(client, login, session, network, make_beneficiary):
    _claude(make_beneficiary, network)
    login(client, network.mediator)
    response = client.post("/beneficiaires/nouveau", data={"first_name": "Rose", "last_name": "Blanc"})
    assert response.status_code == 302
