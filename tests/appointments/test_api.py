"""API: public places (cacheable, ETag), slots, booking and the last seat's message, appointments in scope."""

from __future__ import annotations

from datetime import timedelta

from mediation.auth import services as auth_services
from mediation.types import local_today
from tests.appointments.conftest import SERVICE


def _headers(session, user):
    _, raw = auth_services.create_api_token(session, user, "Rendez-vous", ["appointments:read", "appointments:write"])
    return {"Authorization": f"Bearer {raw}"}


def test_public_places_are_cacheable_with_an_etag(client, session, network, offer):
    offer()
    first = client.get("/api/v1/lieux", query_string={"commune": "Ville-B", "service": SERVICE})
    assert first.status_code == 200 and "public" in first.headers["Cache-Control"]
    assert [p["nom"] for p in first.json["items"]] == ["Médiathèque B"]
    again = client.get("/api/v1/lieux", query_string={"commune": "Ville-B", "service": SERVICE},
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/api/v1/lieux", query_string={"commune": "Ville-B", "rayon": 7}).status_code == 400


def test_a_mediator_books_through_the_api_and_the_full_slot_is_a_409_in_french(client, session, network, offer, person):
    place_offer = offer(capacity=1)
    headers = _headers(session, network.mediator)
    slots = client.get(f"/api/v1/lieux/{network.structure_b.id}/creneaux", headers=headers).json["items"][0]
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    start = next(s["debut"] for s in slots["creneaux"] if s["debut"].startswith(tomorrow))
    body = {"offre_id": place_offer.id, "debut": start, "dossier_id": person(network_consent=True).id}
    created = client.post("/api/v1/rendez-vous", json=body, headers=headers)
    assert created.status_code == 201 and created.json["etat"] == "reserve"
    body["dossier_id"] = person(network_consent=True).id
    full = client.post("/api/v1/rendez-vous", json=body, headers=headers)
    assert full.status_code == 409 and "complet" in full.json["error"]["message"]
    listed = client.get("/api/v1/rendez-vous", headers=_headers(session, network.mediator_b)).json
    assert [a["id"] for a in listed["items"]] == [created.json["id"]]
    assert client.get("/api/v1/rendez-vous", headers=_headers(session, network.mediator_far)).json["items"] == []
