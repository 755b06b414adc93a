"""Tags as La Coop de la médiation numérique has them: managed on « Mes tags » (a mediator their own and
their structure's, a coordinator their territory's), chosen on the activity form (checkboxes, no
JavaScript needed) and through the API, shown in lists and details, filtered on, counted in the
statistics (weighted by accompaniments, deleted tags left out) and exported."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from mediation.auth import services as auth_services
from mediation.cases import tags
from mediation.cases.activities import AnonymousCounters
from mediation.cases.enums import ActivityType, TagScope
from mediation.cases.models import Activity, Tag
from mediation.cases.services import Errors
from mediation.errors import ValidationFailed
from mediation.stats.coop import CoopFilters, coop_statistics
from tests.cases_exchange.conftest import YESTERDAY, read_xlsx, table_after_header


@pytest.fixture
def tag(session):
    def make(name, scope, **owner):
        made = Tag(name=name, scope=scope, **owner)
        session.add(made)
        session.flush()
        return made

    return make


@pytest.fixture
def some_tags(network, tag):
    """The mediator's own tag, structure A's team tag, the territory's tag, and three the mediator
    must never be offered: another mediator's, structure B's, another territory's."""
    return {
        "mine": tag("Fracture numérique", TagScope.PERSONNEL, owner_id=network.mediator.id),
        "team": tag("Équipe France Services", TagScope.STRUCTURE, structure_id=network.structure_a.id),
        "territory": tag("Pass numérique", TagScope.TERRITOIRE, territory_id=network.territory.id),
        "other": tag("Tag de B", TagScope.PERSONNEL, owner_id=network.mediator_b.id),
        "team_b": tag("Équipe B", TagScope.STRUCTURE, structure_id=network.structure_b.id),
        "far": tag("Ailleurs", TagScope.TERRITOIRE, territory_id=network.other_territory.id),
    }


def test_each_role_manages_the_tags_of_its_place(session, network, some_tags):
    names = {t.name for t in tags.manageable_tags(session, network.mediator)}
    assert names == {"Fracture numérique", "Équipe France Services"}
    assert {t.name for t in tags.manageable_tags(session, network.coordinator)} == {"Pass numérique"}
    assert {t.name for t in tags.offered_tags(session, network.mediator)} == {
        "Fracture numérique", "Équipe France Services", "Pass numérique"}
    assert tags.offered_tags(session, network.coordinator) == []


def test_create_rename_and_delete_through_the_page(client, login, network, session):
    login(client, network.mediator)
    page = client.get("/tags").get_data(as_text=True)
    assert "Créer un tag" in page and "Équipe de la structure" in page
    response = client.post("/tags", data={"name": "Atelier CAF", "description": "Les ateliers avec la CAF",
                                          "scope": "personnel"})
    assert response.status_code == 302
    mine = session.scalar(sa.select(Tag).where(Tag.name == "Atelier CAF"))
    assert mine.scope == TagScope.PERSONNEL and mine.owner_id == network.mediator.id
    response = client.post("/tags", data={"name": "Équipe A", "scope": "structure",
                                          "structure_id": str(network.structure_a.id)})
    assert response.status_code == 302
    team = session.scalar(sa.select(Tag).where(Tag.name == "Équipe A"))
    assert team.structure_id == network.structure_a.id and team.owner_id is None

    # Refused: too short, a duplicate (case-insensitive), another structure's team. Nothing written.
    for data, message in (
        ({"name": "ab", "scope": "personnel"}, "Le nom du tag doit faire au moins 3 caractères"),
        ({"name": "atelier caf", "scope": "personnel"}, "Un tag porte déjà ce nom"),
        ({"name": "Intrus", "scope": "structure", "structure_id": str(network.structure_b.id)},
         "Veuillez choisir la structure de l’équipe"),
        ({"name": "x" * 81, "scope": "personnel"}, "Le nom du tag doit faire moins de 80 caractères"),
    ):
        refused = client.post("/tags", data=data)
        assert refused.status_code == 422 and message in refused.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Tag)) == 2

    assert client.post(f"/tags/{mine.id}/modifier", data={"name": "Ateliers CAF", "description": ""}).status_code == 302
    session.refresh(mine)
    assert mine.name == "Ateliers CAF" and mine.description is None
    assert client.post(f"/tags/{mine.id}/supprimer").status_code == 302
    session.refresh(mine)
    assert mine.deleted_at is not None
    assert "<td>Ateliers CAF</td>" not in client.get("/tags").get_data(as_text=True)
    assert client.get(f"/tags/{mine.id}/modifier").status_code == 404


def test_a_coordinator_creates_territory_tags_a_mediator_cannot_touch_them(client, login, network, session):
    login(client, network.coordinator)
    assert client.post("/tags", data={"name": "Conseillers numériques 2026"}).status_code == 302
    made = session.scalar(sa.select(Tag))
    assert made.scope == TagScope.TERRITOIRE and made.territory_id == network.territory.id
    other = client.application.test_client()
    login(other, network.mediator)
    assert other.get(f"/tags/{made.id}/modifier").status_code == 404
    assert other.post(f"/tags/{made.id}/supprimer").status_code == 404
    assert made.deleted_at is None


def test_tags_on_the_form_without_javascript_list_filter_and_detail(client, login, network, session, some_tags):
    login(client, network.mediator)
    form = client.get("/activites/nouvelle").get_data(as_text=True)
    assert "Tags spécifiques" in form
    for key in ("mine", "team", "territory"):
        assert re.search(rf'<input[^>]*name="tag_ids"[^>]*value="{some_tags[key].id}"', form)
    for key in ("other", "team_b", "far"):
        assert f'value="{some_tags[key].id}"' not in form.split("Tags spécifiques", 1)[1].split("</fieldset>", 2)[0]
    response = client.post("/activites/nouvelle", data={
        "structure_id": str(network.structure_a.id), "date": YESTERDAY.isoformat(), "duration": "30",
        "place_type": "lieu_activite", "place_structure_id": str(network.structure_a.id),
        "thematiques": ["email"], "tag_ids": [str(some_tags["mine"].id), str(some_tags["territory"].id)],
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    activity = session.scalar(sa.select(Activity))
    assert {t.name for t in activity.tags} == {"Fracture numérique", "Pass numérique"}
    # Another mediator's tag is refused with a French message, nothing written.
    refused = client.post("/activites/nouvelle", data={
        "structure_id": str(network.structure_a.id), "date": YESTERDAY.isoformat(), "duration": "30",
        "place_type": "lieu_activite", "place_structure_id": str(network.structure_a.id),
        "thematiques": ["email"], "tag_ids": [str(some_tags["other"].id)],
    })
    assert refused.status_code == 422 and "Tag inconnu" in refused.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1

    listing = client.get("/activites").get_data(as_text=True)
    assert "Fracture numérique, Pass numérique" in listing
    filtered = client.get(f"/activites?tag={some_tags['team'].id}").get_data(as_text=True)
    assert "0 activité" in filtered
    filtered = client.get(f"/activites?tag={some_tags['mine'].id}").get_data(as_text=True)
    assert "1 activité" in filtered
    assert "Pass numérique" in client.get(f"/activites/{activity.id}").get_data(as_text=True)


def test_a_deleted_tag_stays_on_past_activities_and_leaves_the_statistics(session, network, some_tags,
                                                                          log_activity):
    mine, team = some_tags["mine"], some_tags["team"]
    individual = log_activity(tag_ids=[mine.id, team.id])
    log_activity(type=ActivityType.COLLECTIF, counters=AnonymousCounters(total=3), tag_ids=[mine.id])
    log_activity()  # no tag
    stats = coop_statistics(session, network.mediator, CoopFilters.default())
    # The Coop's getActiviteTags: COUNT over accompagnements, by tag, largest first.
    assert [(s.label, s.count, s.proportion) for s in stats.tags] == [
        ("Fracture numérique", 4, 80.0), ("Équipe France Services", 1, 20.0)]
    assert [key for key, *_ in stats.blocks()][:4] == ["thematiques", "demarches", "tags", "materiel"]

    tags.delete_tag(session, network.mediator, team)
    assert team not in tags.offered_tags(session, network.mediator)
    stats = coop_statistics(session, network.mediator, CoopFilters.default())
    assert [(s.label, s.count) for s in stats.tags] == [("Fracture numérique", 4)]
    # Editing the activity keeps the deleted tag it carries (the form no longer shows it).
    from mediation.cases import activities, policy

    data = activities.input_from_activity(individual)
    assert data.tag_ids == [mine.id]
    activities.update_activity(session, network.mediator, individual, data,
                               visible_beneficiary=policy.beneficiary_loader(session, network.mediator))
    assert {t.name for t in individual.tags} == {"Fracture numérique", "Équipe France Services"}


def test_check_tags_refuses_what_is_not_offered(session, network, some_tags):
    errors = Errors()
    assert tags.check_tags(session, network.mediator, [some_tags["far"].id], errors) == []
    assert errors.by_field == {"tag_ids": tags.UNKNOWN_TAG}
    with pytest.raises(ValidationFailed):
        errors.raise_if_any()


def test_api_takes_and_gives_tags(client, network, session, some_tags):
    _, raw = auth_services.create_api_token(session, network.mediator, "Tests",
                                            ["activities:read", "activities:write"])
    headers = {"Authorization": f"Bearer {raw}"}
    body = {"type": "individuel", "structure_id": network.structure_a.id, "date": YESTERDAY.isoformat(),
            "duree": 45, "type_lieu": "lieu_activite", "lieu_structure_id": network.structure_a.id,
            "thematiques": ["email"], "tags_ids": [some_tags["team"].id]}
    response = client.post("/api/v1/activites", headers=headers, json=body)
    assert response.status_code == 201, response.json
    assert response.json["tags"] == [{"id": some_tags["team"].id, "nom": "Équipe France Services"}]
    refused = client.post("/api/v1/activites", headers=headers, json={**body, "tags_ids": [some_tags["other"].id]})
    assert refused.status_code == 422 and "tags_ids" in str(refused.json)


def test_statistics_workbook_has_the_tags_block_after_the_demarches(client, login, network, some_tags, log_activity):
    from openpyxl import load_workbook

    log_activity(tag_ids=[some_tags["mine"].id])
    login(client, network.mediator)
    content = client.get("/statistiques/export.xlsx").get_data()
    rows = [list(r) for r in load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]
    titles = [r[0] for r in rows if r and r[0] in ("Thématiques Démarches administratives", "Tags",
                                                   "Matériel utilisés")]
    assert titles == ["Thématiques Démarches administratives", "Tags", "Matériel utilisés"]
    at = [r[0] for r in rows].index("Tags")
    assert rows[at + 1][:3] == ["Fracture numérique", 1, "100\u202f%"]
    page = client.get("/statistiques/").get_data(as_text=True)
    assert "Fracture numérique" in page


def test_export_carries_tags_and_the_tags_filter(client, login, network, some_tags, log_activity):
    log_activity(tag_ids=[some_tags["mine"].id, some_tags["territory"].id])
    log_activity(tag_ids=[some_tags["team"].id])
    login(client, network.mediator)
    response = client.post("/echanges/export/activites", data={"format": "xlsx",
                                                              "tag": [str(some_tags["territory"].id)]})
    rows = read_xlsx(response.get_data())["Activités"]
    assert ["Tags", "Pass numérique"] in [r[:2] for r in rows]
    header, data = table_after_header(rows, "Date")
    assert len(data) == 1
    assert dict(zip(header, data[0], strict=True))["Tags"] == "Fracture numérique\nPass numérique"
