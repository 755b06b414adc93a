"""Personal API tokens from « Mon compte »: list, create (shown once), revoke."""

import html
from datetime import timedelta

import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.auth import services
from mediation.auth.models import ApiToken, Role
from mediation.types import utcnow


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def create(client, **data):
    form = {"name": "Tableur de suivi", "scopes": ["directory:read"], "days": "90"}
    form.update(data)
    return client.post("/compte/jetons/nouveau", data=form)


def raw_token_in(body: str) -> str:
    start = body.index('value="med_') + len('value="')
    return body[start:body.index('"', start)]


def test_token_list_starts_empty(client, network, login):
    login(client, network.mediator)
    page = text(client.get("/compte/jetons"))
    assert "Vous n'avez encore créé aucun jeton." in page
    assert 'href="/compte/jetons/nouveau"' in page


def test_new_token_form_lists_scopes_in_french_and_the_three_durations(client, network, login):
    login(client, network.mediator)
    page = text(client.get("/compte/jetons/nouveau"))
    for label in services.API_SCOPES.values():
        assert label in page
    for days in (30, 90, 365):
        assert f"{days} jours" in page
    assert page.count('type="checkbox"') == len(services.API_SCOPES)


def test_created_token_is_shown_once_stored_hashed_and_works(client, network, login, session):
    login(client, network.mediator)
    response = create(client, scopes=["directory:read", "activities:read"], days="30")
    assert response.status_code == 200
    body = text(response)
    assert "il ne sera plus jamais affiché" in body
    raw = raw_token_in(body)
    token = session.scalars(sa.select(ApiToken).where(ApiToken.user_id == network.mediator.id)).one()
    assert token.name == "Tableur de suivi"
    assert token.scopes == ["activities:read", "directory:read"]
    assert token.token_hash != raw and raw not in (token.token_hash, token.prefix)
    assert raw.startswith(token.prefix)
    assert timedelta(days=29, hours=23) < token.expires_at - utcnow() <= timedelta(days=30)
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.token_created")).one()
    assert event.actor_id == network.mediator.id and raw not in str(event.details)

    listing = text(client.get("/compte/jetons"))
    assert raw not in listing
    assert token.prefix in listing
    assert "Tableur de suivi" in listing
    assert "Lire l'annuaire (structures, communes)" in listing and "Lire les activités" in listing
    assert "Actif" in listing and "Jamais" in listing

    api = client.get("/api/v1/moi", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 200
    assert api.json["utilisateur"]["id"] == network.mediator.id
    session.refresh(token)
    assert token.last_used_at is not None
    assert "Jamais" not in text(client.get("/compte/jetons"))


def test_bad_token_input_gets_french_messages_and_creates_nothing(client, network, login, session):
    login(client, network.coordinator)
    cases = [
        ({"name": ""}, "Donnez un nom au jeton."),
        ({"name": "x" * 101}, "Le nom ne doit pas dépasser 100 caractères."),
        ({"scopes": []}, "Choisissez au moins une permission."),
        ({"scopes": ["admin:all"]}, "Choisissez des permissions de la liste."),
        ({"scopes": ["directory:read", "admin:all"]}, "Choisissez des permissions de la liste."),
        ({"days": "7"}, "Choisissez une durée de validité de 30, 90 ou 365 jours."),
        ({"days": "jamais"}, "Choisissez une durée de validité de 30, 90 ou 365 jours."),
    ]
    for data, message in cases:
        response = create(client, **data)
        body = text(response)
        assert response.status_code == 200
        assert "Le formulaire contient" in body, data
        assert message in body, (data, message)
        assert "med_" not in body
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auth.token_created")) == 0


def test_revoking_a_token_is_post_only_audited_and_stops_the_api(client, network, login, session):
    login(client, network.mediator)
    raw = raw_token_in(text(create(client)))
    token = session.scalars(sa.select(ApiToken)).one()
    url = f"/compte/jetons/{token.id}/revocation"
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302 and response.headers["Location"].endswith("/compte/jetons")
    listing = text(client.get("/compte/jetons"))
    assert "Le jeton « Tableur de suivi » est révoqué" in listing
    assert "Révoqué" in listing and "aria-label=\"Révoquer" not in listing
    session.refresh(token)
    assert token.revoked_at is not None
    assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auth.token_revoked")) == 1
    api = client.get("/api/v1/moi", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 401
    # Revoking twice changes nothing and writes no second event.
    client.post(url)
    assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auth.token_revoked")) == 1


def test_nobody_sees_or_revokes_someone_elses_token(client, network, login, session):
    theirs, _ = services.create_api_token(session, network.mediator_b, "Jeton de B", ["directory:read"])
    session.flush()
    for user in (network.mediator, network.admin, network.coordinator):
        login(client, user)
        assert "Jeton de B" not in text(client.get("/compte/jetons"))
        assert client.post(f"/compte/jetons/{theirs.id}/revocation").status_code == 404
        assert client.post("/compte/jetons/999999/revocation").status_code == 404
        client.post("/deconnexion")
    session.refresh(theirs)
    assert theirs.revoked_at is None


def test_expired_token_is_listed_as_expired(client, network, login, session):
    token, _ = services.create_api_token(session, network.mediator, "Ancien", ["directory:read"], days=30)
    token.expires_at = utcnow() - timedelta(days=1)
    session.flush()
    login(client, network.mediator)
    listing = text(client.get("/compte/jetons"))
    assert "Expiré" in listing and "aria-label=\"Révoquer" not in listing


def test_funders_hold_indicator_tokens_only(client, network, login, session):
    login(client, network.funder)
    assert client.get("/compte/jetons").status_code == 200
    assert "directory:read" not in client.get("/compte/jetons/nouveau").get_data(as_text=True)
    refused = create(client)  # directory:read is not offered to funders
    assert refused.status_code == 200 and "Choisissez des permissions de la liste" in text(refused)
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    assert raw_token_in(text(create(client, scopes=["indicators:read"])))
    assert session.scalar(sa.select(ApiToken.scopes)) == ["indicators:read"]


def test_token_service_refuses_beneficiaries_and_limits_funders(session, make_user):
    import pytest

    from mediation.errors import DomainError, ValidationFailed

    with pytest.raises(DomainError, match="Votre rôle ne permet pas"):
        services.create_api_token(session, make_user(Role.BENEFICIARY), "x", ["directory:read"])
    funder = make_user(Role.FUNDER)
    with pytest.raises(ValidationFailed, match="permission valide"):
        services.create_api_token(session, funder, "x", ["directory:read"])
    token, _ = services.create_api_token(session, funder, "x", ["indicators:read"])
    assert token.scopes == ["indicators:read"]
