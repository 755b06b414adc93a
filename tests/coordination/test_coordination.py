"""Coordinators' activities as the Coop defines them (animation, évènement, partenariat): logged through
the form (no JavaScript needed) and the API with the Coop's rules and messages, listed, and counted
apart — never in the beneficiary or accompaniment statistics."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.auth import services as auth_services
from mediation.cases.enums import TagScope
from mediation.cases.models import Tag
from mediation.coordination import services
from mediation.coordination.enums import CoordinationType
from mediation.coordination.models import CoordinationActivity
from mediation.coordination.services import CoordinationInput, Partner
from mediation.errors import DomainError, ValidationFailed
from mediation.stats.coop import CoopFilters, coop_statistics
from mediation.types import local_today

YESTERDAY = local_today() - timedelta(days=1)


def _animation(**overrides) -> dict:
    data = {"type": "animation", "date": YESTERDAY.isoformat(), "duration_min": "120", "name": "Comité de pilotage",
            "animation_type": "comite", "initiative": "demande", "animation_themes": ["reseau", "partage"],
            "mediators_count": "6", "structures_count": "3"}
    data.update(overrides)
    return data


def test_a_coordinator_logs_an_animation_through_the_form(client, login, network, session):
    tag = Tag(name="France Services 76", scope=TagScope.TERRITOIRE, territory_id=network.territory.id)
    session.add(tag)
    session.flush()
    login(client, network.coordinator)
    form = client.get("/coordination/activites/nouvelle?type=animation").get_data(as_text=True)
    assert "Comité technique / de pilotage" in form and "Maillage territorial - faire réseau / créer du lien" in form
    assert "France Services 76" in form
    response = client.post("/coordination/activites/nouvelle", data=_animation(tag_ids=[str(tag.id)]))
    assert response.status_code == 302, response.get_data(as_text=True)
    activity = session.scalar(sa.select(CoordinationActivity))
    assert activity.type == CoordinationType.ANIMATION and activity.coordinator_id == network.coordinator.id
    assert activity.animation_themes == ["reseau", "partage"] and activity.mediators_count == 6
    assert [t.name for t in activity.tags] == ["France Services 76"]
    detail = client.get(f"/coordination/activites/{activity.id}").get_data(as_text=True)
    assert "Comité technique / de pilotage" in detail and "Réponse à un besoin/une problématique" in detail
    listing = client.get("/coordination/activites").get_data(as_text=True)
    assert "Comité de pilotage" in listing and "1 activité de coordination" in listing


@pytest.mark.parametrize(("data", "field", "message"), [
    (_animation(mediators_count="", structures_count=""), "mediators_count",
     "Veuillez renseigner au moins un médiateur, une structure ou un autre acteur"),
    (_animation(animation_type="autre"), "animation_type_other", "Veuillez préciser le type d’animation"),
    (_animation(animation_themes=[]), "animation_themes", "Veuillez renseigner au moins une thématique d’animation"),
    (_animation(animation_themes=["autre"]), "animation_theme_other", "Veuillez préciser la thématique d’animation"),
    ({"type": "evenement", "date": YESTERDAY.isoformat(), "participants": "30", "event_type": "nec_local"},
     "organisers", "Veuillez renseigner au moins un organisateur"),
    ({"type": "evenement", "date": YESTERDAY.isoformat(), "event_type": "national", "organisers": ["hub"]},
     "participants", "Veuillez renseigner le nombre de participants"),
    ({"type": "partenariat", "date": YESTERDAY.isoformat(), "partnership_natures": ["subvention"]},
     "partner_1_name", "Au moins une structure partenaire est requise"),
    (_animation(date=""), "date", "Veuillez renseigner une date"),
])
def test_the_coops_rules_refuse_with_its_messages(client, login, network, session, data, field, message):
    login(client, network.coordinator)
    response = client.post("/coordination/activites/nouvelle", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(CoordinationActivity)) == 0


def test_events_and_partnerships_and_their_counts_apart(session, network, log_activity_for_stats):
    coordinator = network.coordinator
    services.log_activity(session, coordinator, CoordinationInput(
        type="evenement", date=YESTERDAY, duration_min=180, participants=45, event_type="grand_public",
        organisers=["ma_structure", "autre"], organiser_other="Bibliothèque", territorial_level="departemental"))
    services.log_activity(session, coordinator, CoordinationInput(
        type="partenariat", date=YESTERDAY, partnership_natures=["parcours_usager"],
        partners=[Partner(name="CAF de Seine-Maritime", type="autre", type_other="Caisse"),
                  Partner(name="Ville-A", type="commune")]))
    services.log_activity(session, coordinator, CoordinationInput(
        type="animation", date=YESTERDAY, animation_type="webinaire", animation_themes=["soutien"],
        other_actors_count=12))
    summary = services.summary(session, coordinator, YESTERDAY, YESTERDAY)
    assert summary.total == 3
    assert summary.by_type == [("Animation", 1), ("Évènement", 1), ("Partenariat", 1)]
    assert (summary.minutes, summary.event_participants, summary.partners) == (180, 45, 2)
    # Never in the accompaniment or beneficiary figures: the coordinator's territory has one session.
    stats = coop_statistics(session, coordinator, CoopFilters.default())
    assert (stats.activities, stats.accompaniments, stats.beneficiaries) == (1, 1, 1)
    # Each coordinator sees their own; mediators log none.
    assert services.summary(session, network.other_coordinator, YESTERDAY, YESTERDAY).total == 0
    with pytest.raises(DomainError):
        services.log_activity(session, network.mediator, CoordinationInput(type="evenement", date=YESTERDAY))
    with pytest.raises(ValidationFailed):
        services.log_activity(session, coordinator, CoordinationInput(type="partenariat", date=YESTERDAY,
                                                                       partnership_natures=["autre"],
                                                                       partners=[Partner(name="X", type="hub")]))


@pytest.fixture
def log_activity_for_stats(session, network):
    """One individual session in the coordinator's territory (structure A)."""
    from mediation.cases import activities, policy
    from mediation.cases.activities import ActivityInput
    from mediation.cases.enums import ActivityType, PlaceType

    return activities.log_activity(session, network.mediator, ActivityInput(
        type=ActivityType.INDIVIDUEL, structure_id=network.structure_a.id, date=YESTERDAY, duration_min=30,
        place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=network.structure_a.id,
        thematiques=["email"]), visible_beneficiary=policy.beneficiary_loader(session, network.mediator))


def test_the_statistics_page_shows_the_coordinators_own_block(client, login, network, session):
    services.log_activity(session, network.coordinator, CoordinationInput(
        type="evenement", date=YESTERDAY, participants=20, event_type="nec_local", organisers=["commune"]))
    login(client, network.coordinator)
    page = client.get("/statistiques/").get_data(as_text=True)
    assert "Vos activités de coordination" in page and "Participants aux évènements" in page
    mediator = client.application.test_client()
    login(mediator, network.mediator)
    assert "Vos activités de coordination" not in mediator.get("/statistiques/").get_data(as_text=True)


def test_the_api_logs_and_lists(client, network, session):
    _, raw = auth_services.create_api_token(session, network.coordinator, "Tests",
                                            ["activities:read", "activities:write"])
    headers = {"Authorization": f"Bearer {raw}"}
    body = {"type": "partenariat", "date": YESTERDAY.isoformat(), "nature_partenariat": ["rdv_elu"],
            "structures_partenaires": [{"nom": "Mairie de Ville-A", "type": "commune"}],
            "echelon_territorial": "communal"}
    created = client.post("/api/v1/activites-coordination", headers=headers, json=body)
    assert created.status_code == 201, created.json
    assert created.json["structures_partenaires"] == [{"nom": "Mairie de Ville-A", "type": "commune",
                                                       "type_autre": None}]
    refused = client.post("/api/v1/activites-coordination", headers=headers,
                          json={**body, "nature_partenariat": []})
    assert refused.status_code == 422 and "nature_partenariat" in refused.json["error"]["errors"]
    listing = client.get("/api/v1/activites-coordination", headers=headers).json
    assert listing["total"] == 1 and listing["items"][0]["type"] == "partenariat"
