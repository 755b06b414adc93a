"""Mandate API: list, read, create and revoke within the aidant's structures, with the code."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.auth import services as auth_services
from mediation.auth.models import LoginAttempt
from mediation.mandates.enums import Demarche
from mediation.mandates.models import Mandate


@pytest.fixture
def token(session):
    def make(user, scopes=("mandates:read", "mandates:write")):
        _, raw = auth_services.create_api_token(session, user, "Mandats", list(scopes))
        session.commit()  # releases the test's savepoint only: an API error's rollback keeps the setup
        return {"Authorization": f"Bearer {raw}"}

    return make


def test_list_and_read_within_the_aidant_s_structures(client, session, network, make_mandate, make_person,
                                                     aidant_far, token):
    mine = make_mandate(demarches=[Demarche.SOCIAL])
    make_mandate(beneficiary=make_person(), duration=mine.duration, days_ago=40)  # ended
    headers = token(network.aidant)
    response = client.get("/api/v1/mandats", headers=headers)
    assert response.status_code == 200, response.json
    assert [item["id"] for item in response.json["items"]] == [mine.id]
    item = response.json["items"][0]
    assert item["etat"] == "en_vigueur" and item["autorisations"][0]["demarche"] == "social"
    assert item["url_verification"] == f"https://mediation.example.org/mandats/verifier/{mine.public_token}"
    assert client.get("/api/v1/mandats?etat=tous", headers=headers).json["total"] == 2
    assert client.get("/api/v1/mandats?etat=bof", headers=headers).status_code == 400
    assert client.get(f"/api/v1/mandats/{mine.id}", headers=headers).json["reference"] == mine.reference

    far = token(aidant_far)
    assert client.get("/api/v1/mandats", headers=far).json["items"] == []
    assert client.get(f"/api/v1/mandats/{mine.id}", headers=far).status_code == 404


def test_create_and_revoke_with_the_code(client, session, network, person, token, code):
    headers = token(network.aidant)
    body = {"structure_id": network.structure_a.id, "beneficiaire_id": person.id, "demarches": ["papiers", "social"],
            "duree": "month", "verification_identite": "piece_identite", "consentement": True,
            "code_totp": code(network.aidant)}
    session.commit()
    created = client.post("/api/v1/mandats", json=body, headers=headers)
    assert created.status_code == 201, created.json
    mandate_id = created.json["id"]
    assert created.json["duree_libelle"] == "Mandat d'un mois"

    revoked = client.post(f"/api/v1/mandats/{mandate_id}/revocation", headers=headers,
                          json={"demarches": ["social"], "motif": "autre", "code_totp": code(network.aidant)})
    assert revoked.status_code == 200, revoked.json
    assert [a["etat"] for a in revoked.json["autorisations"]] == ["en_vigueur", "revoquee"]
    assert revoked.json["etat"] == "partiellement_revoque"


def test_refusals_are_french_json(client, session, network, person, token, make_mandate, aidant_far, code):
    headers = token(network.aidant)
    body = {"structure_id": network.structure_a.id, "beneficiaire_id": person.id, "demarches": ["justice"],
            "duree": "month", "verification_identite": "piece_identite", "consentement": True,
            "code_totp": "000000"}
    wrong_code = client.post("/api/v1/mandats", json=body, headers=headers)
    assert wrong_code.status_code == 422
    assert "code_totp" in wrong_code.json["error"]["errors"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Mandate)) == 0
    # The failed code is kept: it counts towards the sign-in lock, as on the web pages.
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt).where(~LoginAttempt.success)) == 3  # one failure, three counters (per account and address, address, account)

    no_consent = client.post("/api/v1/mandats", json={**body, "consentement": "oui"}, headers=headers)
    assert no_consent.status_code == 422 and "consent" in no_consent.json["error"]["errors"]
    bad = client.post("/api/v1/mandats", json={"demarches": "tout"}, headers=headers)
    assert bad.status_code == 422
    assert {"structure_id", "beneficiary_id", "demarches", "duration"} <= set(bad.json["error"]["errors"])
    assert client.post("/api/v1/mandats", data="x", headers=headers).status_code == 400

    mandate = make_mandate()
    session.commit()
    far = client.post(f"/api/v1/mandats/{mandate.id}/revocation", headers=token(aidant_far),
                      json={"motif": "autre", "code_totp": code(aidant_far)})
    assert far.status_code == 404
    plain = client.get("/api/v1/mandats", headers=token(network.mediator))
    assert plain.status_code == 403 and "aidants habilités" in plain.json["error"]["message"]
    read_only = client.post("/api/v1/mandats", json=body, headers=token(network.aidant, ["mandates:read"]))
    assert read_only.status_code == 403


def test_the_openapi_document_describes_the_mandate_routes(client):
    document = client.get("/api/v1/openapi.json").json
    assert {"/mandats", "/mandats/{mandate_id}", "/mandats/{mandate_id}/revocation"} <= set(document["paths"])
    assert set(document["paths"]["/mandats"]) == {"get", "post"}
    assert "Mandat" in document["components"]["schemas"]
