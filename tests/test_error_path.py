"""The error path (mediation.web): a request commits only if it succeeded. An unexpected exception,
a form shown again after a service's refusal (422) or a refusal flashed before a redirect leaves
nothing in the database, even when the service had already flushed its changes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.directory import services as directory_services
from mediation.directory.models import Structure, Territory
from mediation.errors import DomainError, ValidationFailed
from tests.row_counts import added_rows, row_counts

NAME = "Territoire à moitié créé"


@pytest.fixture
def admin_client(client, login, network, session):
    login(client, network.admin)
    session.commit()  # releases the test's savepoint only: a refused request's rollback keeps the setup
    return client


def create_then(exception: Exception):
    """``create_territory`` that really creates (and flushes) the territory, then raises."""
    real = directory_services.create_territory

    def create(session, actor, data):
        territory = real(session, actor, data)
        session.flush()
        assert session.scalar(sa.select(Territory.id).where(Territory.name == NAME)) == territory.id
        raise exception

    return create


def post_territory(client):
    return client.post("/annuaire/territoires/nouveau", data={"name": NAME, "kind": "departement"})


def test_a_successful_request_commits(admin_client, session):
    """The control of the tests below: the same request without the failure is saved."""
    before = row_counts(session)
    response = post_territory(admin_client)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Territory).where(Territory.name == NAME)) == 1
    assert added_rows(session, before)["territories"] == 1


def test_an_unexpected_exception_after_a_flush_leaves_nothing(admin_client, session, monkeypatch):
    monkeypatch.setattr(directory_services, "create_territory", create_then(RuntimeError("panne imprévue")))
    before = row_counts(session)
    response = post_territory(admin_client)
    assert response.status_code == 500
    assert "rien n'a été enregistré" in response.get_data(as_text=True).replace("&#39;", "'")
    assert added_rows(session, before) == {}


def test_a_form_shown_again_after_a_refusal_leaves_nothing(admin_client, session, monkeypatch):
    refusal = ValidationFailed("Ce nom est réservé.", field="name")
    monkeypatch.setattr(directory_services, "create_territory", create_then(refusal))
    before = row_counts(session)
    response = post_territory(admin_client)
    assert response.status_code == 422
    assert "Ce nom est réservé." in response.get_data(as_text=True)
    assert added_rows(session, before) == {}


def test_a_refusal_flashed_before_a_redirect_leaves_nothing(admin_client, session, network, monkeypatch):
    real = directory_services.archive_structure

    def archive_then_refuse(session, actor, structure):
        real(session, actor, structure)
        session.flush()
        raise DomainError("Cette structure a des activités en cours.")

    monkeypatch.setattr(directory_services, "archive_structure", archive_then_refuse)
    before = row_counts(session)
    response = admin_client.post(f"/annuaire/structures/{network.structure_b.id}/archiver")
    assert response.status_code == 302
    assert "Cette structure a des activités en cours." in admin_client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert added_rows(session, before) == {}
    assert session.get(Structure, network.structure_b.id).archived_at is None
