"""API of activities and beneficiaries: the token owner's scope (another structure's id is a 404),
scopes (403), validation errors per field in French (422), pagination, OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.auth import services as auth_services
from mediation.cases.enums import ActivityType
from mediation.cases.models import Activity, Beneficiary
from mediation.types import local_today

YESTERDAY = (local_today() - timedelta(days=1)).isoformat()


@pytest.fixture
def token(session):
    def make(user, scopes=("activities:read", "activities:write", "beneficiaries:read", "beneficiaries:write")):
        _, raw = auth_services.create_api_token(session, user, "Tests", list(scopes))
        # Release the test's SAVEPOINT: a refused request rolls back to here, not past the setup.
        session.commit()
        return {"Authorization": f"Bearer {raw}"}

    return make


def individual(network, **extra) -> dict:
    body = {"type": "individuel", "structure_id": network.structure_a.id, "date": YESTERDAY, "duree": 30,
            "type_lieu": "lieu_activite", "lieu_structure_id": network.structure_a.id, "thematiques": ["email"]}
    body.update(extra)
    return body


def test_create_list_and_update_an_activity(client, network, session, token, make_beneficiary):
    headers = token(network.mediator)
    person = make_beneficiary(first_name="Api", last_name="Personne")
    response = client.post("/api/v1/activites", headers=headers, json=individual(
        network, beneficiaire_id=person.id, notes="Vu en API", autonomie="autonome"))
    assert response.status_code == 201, response.json
    created = response.json
    assert created["beneficiaires_ids"] == [person.id] and created["participants"] == 1
    assert created["notes"] == "Vu en API" and created["source"] == "saisie"
    workshop = client.post("/api/v1/activites", headers=headers, json={
        "type": "collectif", "structure_id": network.structure_a.id, "date": YESTERDAY, "duree": 90,
        "type_lieu": "a_distance", "thematiques": ["aide_aux_demarches_administratives", "logement"],
        "nom_demarche": "APL", "titre_atelier": "Démarches", "niveau_atelier": "debutant",
        "participants_ids": [person.id], "anonymes": {"total": 4, "genres": {"feminin": 2}}})
    assert workshop.status_code == 201, workshop.json
    assert workshop.json["participants"] == 5

    listing = client.get("/api/v1/activites?per_page=1&type=collectif", headers=headers).json
    assert listing["total"] == 1 and listing["items"][0]["id"] == workshop.json["id"]
    page2 = client.get("/api/v1/activites?per_page=1&page=2", headers=headers).json
    assert page2["page"] == 2 and len(page2["items"]) == 1 and page2["total"] == 2

    response = client.patch(f"/api/v1/activites/{created['id']}", headers=headers, json={"duree": 60})
    assert response.status_code == 200, response.json
    assert response.json["duree"] == 60 and response.json["beneficiaires_ids"] == [person.id]
    assert session.get(Activity, created["id"]).duration_min == 60


def test_validation_errors_are_422_per_field_in_french(client, network, session, token):
    headers = token(network.mediator)
    before = session.scalar(sa.select(sa.func.count(Activity.id)))
    response = client.post("/api/v1/activites", headers=headers, json=individual(
        network, date="2024-13-45", duree="trente", thematiques=[], inconnu=1))
    assert response.status_code == 422
    errors = response.json["error"]["errors"]
    assert errors == {"date": "Date invalide (attendu AAAA-MM-JJ)", "duree": "Nombre entier attendu",
                      "inconnu": "Champ inconnu"}
    response = client.post("/api/v1/activites", headers=headers, json=individual(
        network, date=(local_today() + timedelta(days=2)).isoformat(), thematiques=[], type_lieu="domicile"))
    errors = response.json["error"]["errors"]
    assert errors["date"] == "La date ne peut pas être dans le futur"
    assert errors["thematiques"] == "Veuillez renseigner au moins une thématique"
    assert errors["lieu_commune_insee"] == "Veuillez renseigner la commune"
    response = client.post("/api/v1/activites", headers=headers, json=individual(
        network, structure_id=network.structure_far.id))
    assert response.json["error"]["errors"]["structure_id"] == "Vous n'intervenez pas pour cette structure à cette date"
    response = client.post("/api/v1/activites", headers=headers, data="pas du json",
                           content_type="application/json")
    assert response.status_code == 422 and "objet JSON" in response.json["error"]["message"]
    assert session.scalar(sa.select(sa.func.count(Activity.id))) == before
    bad = client.post("/api/v1/beneficiaires", headers=headers, json={"prenom": "", "email": "x@", "annee_naissance": 1800})
    assert bad.status_code == 422
    assert bad.json["error"]["errors"] == {
        "prenom": "Veuillez renseigner un prénom", "nom": "Veuillez renseigner un nom",
        "email": "Veuillez renseigner une adresse e-mail valide",
        "annee_naissance": f"Veuillez renseigner une année de naissance entre 1900 et {local_today().year}"}


def test_other_structures_are_not_found(client, network, session, token, make_beneficiary, log_activity):
    far_person = make_beneficiary(structure=network.structure_far, actor=network.mediator_far)
    far_activity = log_activity(user=network.mediator_far, structure=network.structure_far)
    headers = token(network.mediator)
    assert client.get(f"/api/v1/activites/{far_activity.id}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/activites/{far_activity.id}", headers=headers, json={"duree": 5}).status_code == 404
    assert client.get(f"/api/v1/beneficiaires/{far_person.id}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/beneficiaires/{far_person.id}", headers=headers,
                        json={"nom": "X"}).status_code == 404
    response = client.post("/api/v1/activites", headers=headers, json=individual(network, beneficiaire_id=far_person.id))
    assert response.json["error"]["errors"] == {"beneficiaire_id": "Bénéficiaire introuvable"}
    ids = [a["id"] for a in client.get("/api/v1/activites", headers=headers).json["items"]]
    assert far_activity.id not in ids
    # A colleague of the same structure sees it but cannot change it.
    mine = log_activity()
    colleague = token(network.aidant)
    assert client.get(f"/api/v1/activites/{mine.id}", headers=colleague).status_code == 200
    assert client.patch(f"/api/v1/activites/{mine.id}", headers=colleague, json={"duree": 5}).status_code == 403


def test_scopes_and_roles(client, network, token):
    read_only = token(network.mediator, scopes=["activities:read"])
    assert client.get("/api/v1/activites", headers=read_only).status_code == 200
    response = client.post("/api/v1/activites", headers=read_only, json=individual(network))
    assert response.status_code == 403 and "activities:write" in response.json["error"]["message"]
    assert client.get("/api/v1/beneficiaires", headers=read_only).status_code == 403
    assert client.get("/api/v1/activites").status_code == 401
    coordinator = token(network.coordinator)
    assert client.post("/api/v1/activites", headers=coordinator, json=individual(network)).status_code == 403


def test_beneficiaries_identity_for_mediators_only(client, network, session, token, log_activity):
    mediator = token(network.mediator)
    response = client.post("/api/v1/beneficiaires", headers=mediator, json={
        "prenom": "Nina", "nom": "Api", "telephone": "06 01 02 03 04", "annee_naissance": 1990,
        "commune_insee": network.commune_a.insee_code, "genre": "feminin"})
    assert response.status_code == 201, response.json
    created = response.json
    assert created["telephone"] == "0601020304" and created["commune_insee"] == network.commune_a.insee_code
    assert created["tranche_age"] in ("vingt_cinq_trente_neuf", "quarante_cinquante_neuf")
    log_activity(beneficiary_id=created["id"])
    response = client.patch(f"/api/v1/beneficiaires/{created['id']}", headers=mediator, json={"email": "nina@example.org"})
    assert response.status_code == 200 and response.json["email"] == "nina@example.org"
    assert response.json["prenom"] == "Nina"  # fields not sent are kept
    assert client.get("/api/v1/beneficiaires?q=nin", headers=mediator).json["total"] == 1

    coordinator = token(network.coordinator)
    seen = client.get(f"/api/v1/beneficiaires/{created['id']}", headers=coordinator).json
    assert "nom" not in seen and "email" not in seen and seen["nombre_accompagnements"] == 1
    assert client.get("/api/v1/beneficiaires?q=nin", headers=coordinator).status_code == 400
    activity = client.get("/api/v1/activites", headers=coordinator).json["items"][0]
    assert "notes" not in activity
    assert client.get(f"/api/v1/beneficiaires/{created['id']}", headers=token(network.other_coordinator)).status_code == 404
    assert session.scalar(sa.select(Beneficiary.email).where(Beneficiary.id == created["id"])) == "nina@example.org"


def test_openapi_documents_the_routes(client):
    document = client.get("/api/v1/openapi.json").json
    assert {"get", "post"} <= set(document["paths"]["/activites"])
    assert {"get", "patch"} <= set(document["paths"]["/beneficiaires/{beneficiary_id}"])
    assert "ActivityInput" in document["components"]["schemas"]
    from openapi_spec_validator import validate

    validate(document)


def test_type_cannot_change(client, network, token, log_activity):
    activity = log_activity(type=ActivityType.COLLECTIF)
    response = client.patch(f"/api/v1/activites/{activity.id}", headers=token(network.mediator),
                            json={"type": "individuel"})
    assert response.status_code == 422
    assert response.json["error"]["errors"]["type"] == "Le type d’une activité ne peut pas être modifié"
