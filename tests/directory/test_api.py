"""Directory API: filters on structures and communes, one structure, OpenAPI description."""

import pytest

from mediation.auth import services


@pytest.fixture
def headers(session, network):
    _, raw = services.create_api_token(session, network.mediator, "Annuaire", ["directory:read"])
    session.commit()  # releases the test's savepoint only: an API error's rollback keeps the network
    return {"Authorization": f"Bearer {raw}"}


def names(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["nom"] for item in response.json["items"]}


def test_structures_filter_by_commune_and_text(client, network, headers):
    assert names(client.get("/api/v1/structures", headers=headers)) == {
        "France Services A", "Médiathèque B", "CCAS Lointain"}
    url = f"/api/v1/structures?commune={network.commune_b.insee_code}"
    assert names(client.get(url, headers=headers)) == {"Médiathèque B"}
    assert names(client.get("/api/v1/structures?q=lointain", headers=headers)) == {"CCAS Lointain"}


def test_archived_structures_only_on_request(client, network, headers, session):
    network.structure_b.archived_at = network.structure_b.created_at
    session.flush()
    assert "Médiathèque B" not in names(client.get("/api/v1/structures", headers=headers))
    assert "Médiathèque B" in names(client.get("/api/v1/structures?archivees=1", headers=headers))


def test_invalid_filters_get_a_french_400(client, headers):
    response = client.get("/api/v1/structures?commune=123", headers=headers)
    assert response.status_code == 400
    assert "commune" in response.json["error"]["message"]
    response = client.get("/api/v1/communes?territoire=abc", headers=headers)
    assert response.status_code == 400
    assert "territoire" in response.json["error"]["message"]


def test_one_structure(client, network, headers):
    response = client.get(f"/api/v1/structures/{network.structure_a.id}", headers=headers)
    assert response.status_code == 200 and response.json["nom"] == "France Services A"
    assert response.json["code_insee"] == network.commune_a.insee_code
    response = client.get("/api/v1/structures/999999", headers=headers)
    assert response.status_code == 404 and response.json["error"]["message"]


def test_communes_filter(client, network, headers):
    url = f"/api/v1/communes?territoire={network.other_territory.id}"
    assert {c["nom"] for c in client.get(url, headers=headers).json["items"]} == {"Ville-Lointaine"}
    url = "/api/v1/communes?q=ville-a"
    assert {c["nom"] for c in client.get(url, headers=headers).json["items"]} == {"Ville-A"}


def test_filters_are_documented(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    structure_params = {p["name"] for p in paths["/structures"]["get"]["parameters"]}
    assert {"commune", "q", "archivees", "page", "per_page"} <= structure_params
    assert {"q", "territoire"} <= {p["name"] for p in paths["/communes"]["get"]["parameters"]}
    assert "404" in paths["/structures/{structure_id}"]["get"]["responses"]
