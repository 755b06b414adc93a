"""API: training records in the token owner's scope, and a person's habilitation derived from them."""

from __future__ import annotations

from datetime import date, timedelta

from mediation.auth import services as auth_services
from mediation.training import services
from mediation.types import local_today


def _headers(session, user) -> dict:
    _, raw = auth_services.create_api_token(session, user, "Formations", ["trainings:read"])
    return {"Authorization": f"Bearer {raw}"}


def test_records_in_scope_and_filters(client, session, network):
    services.record_training(session, network.coordinator, network.mediator, kind="pix", obtained_on=date(2025, 1, 5),
                             expires_on=date(2028, 1, 5))
    services.record_training(session, network.admin, network.mediator_far, kind="pix", obtained_on=date(2025, 1, 5))
    mediator = client.get("/api/v1/formations", headers=_headers(session, network.mediator)).json
    assert [item["personne_id"] for item in mediator["items"]] == [network.mediator.id]
    assert mediator["items"][0] | {"id": 0} == {
        "id": 0, "personne_id": network.mediator.id, "type": "pix", "libelle": "Certification Pix", "organisme": None,
        "obtenue_le": "2025-01-05", "valable_jusqu_au": "2028-01-05", "etat": "valide", "attestation": None}
    coordinator = _headers(session, network.coordinator)
    people = {item["personne_id"] for item in client.get("/api/v1/formations", headers=coordinator).json["items"]}
    assert people == {network.mediator.id, network.aidant.id}
    only = client.get("/api/v1/formations?type=aidants_connect", headers=coordinator).json
    assert [item["personne_id"] for item in only["items"]] == [network.aidant.id]
    assert client.get("/api/v1/formations?type=xyz", headers=coordinator).status_code == 400


def test_habilitation_is_derived_from_the_records(client, session, network, aidant_habilitation):
    headers = _headers(session, network.coordinator)
    url = f"/api/v1/personnes/{network.aidant.id}/habilitation"
    assert client.get(url, headers=headers).json["habilite"] is True
    aidant_habilitation.expires_on = local_today() - timedelta(days=1)
    session.flush()
    body = client.get(url, headers=headers).json
    assert body["habilite"] is False and "a expiré le" in body["motif"]
    assert client.get(f"/api/v1/personnes/{network.mediator_far.id}/habilitation", headers=headers).status_code == 404
