"""Links into the badges pages: bulk issuing from a workshop's page, a person's badges and wallet
card from their pathway page."""

from __future__ import annotations

from mediation.cases import activities, policy
from mediation.cases.enums import ActivityType, PlaceType, Thematique
from mediation.types import local_today


def test_workshop_page_links_to_bulk_issuing_for_mediators(app, client, login, network, enrolled, workshop):
    people = [enrolled(email=f"w{n}@example.org").case for n in range(2)]
    activity = workshop(people)
    login(client, network.mediator)
    page = client.get(f"/activites/{activity.id}").get_data(as_text=True)
    assert f'href="/badges/ateliers/{activity.id}"' in page
    assert "Délivrer les badges aux participants de l’atelier" in page
    assert client.get(f"/badges/ateliers/{activity.id}").status_code == 200
    coordinator = app.test_client()
    login(coordinator, network.coordinator)
    page = coordinator.get(f"/activites/{activity.id}").get_data(as_text=True)
    assert "/badges/ateliers/" not in page  # coordinators do not issue badges


def test_individual_activity_page_has_no_bulk_issuing_link(client, login, network, session, enrolled):


    case = enrolled(email="solo@example.org").case
    data = activities.ActivityInput(
        type=ActivityType.INDIVIDUEL, structure_id=network.structure_a.id, date=local_today(), duration_min=30,
        place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=network.structure_a.id,
        thematiques=[Thematique.EMAIL.value], beneficiary_id=case.beneficiary_id)
    activity = activities.log_activity(session, network.mediator, data,
                                       visible_beneficiary=policy.beneficiary_loader(session, network.mediator))
    login(client, network.mediator)
    assert "/badges/ateliers/" not in client.get(f"/activites/{activity.id}").get_data(as_text=True)


def test_pathway_page_links_to_badges_and_wallet_card(client, login, network, enrolled):
    case = enrolled(email="parcours@example.org").case
    login(client, network.mediator)
    page = client.get(f"/parcours/dossiers/{case.id}").get_data(as_text=True)
    assert f'href="/badges/dossiers/{case.id}"' in page and "Badges de la personne" in page
    assert f'href="/badges/dossiers/{case.id}#carte"' in page
    person = client.get(f"/badges/dossiers/{case.id}").get_data(as_text=True)
    assert 'id="carte"' in person and "Imprimer la carte (PDF)" in person
