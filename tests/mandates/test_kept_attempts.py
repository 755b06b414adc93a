"""A wrong second-factor code on a mandate action is counted as a failed sign-in although the
request is rolled back (mediation.web.keep_despite_error); nothing else of the request is saved."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.auth import services as auth_services
from mediation.mandates.models import Mandate
from tests.row_counts import added_rows, row_counts

# The failure, counted by the three sign-in limits (account and address, address, account), and its
# « auth.login_failed » record.
COUNTED = {"login_attempts": 3, "audit_events": 1}


@pytest.fixture
def aidant_client(client, login, network, session):
    login(client, network.aidant)
    session.commit()  # releases the test's savepoint only: a refused request's rollback keeps the setup
    return client


def last_action(session) -> str:
    return session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1))


def authorizations(session, mandate) -> list:
    session.expire_all()
    return sorted((a.demarche.value, a.revoked_at) for a in session.get(Mandate, mandate.id).authorizations)


def test_creating_a_mandate_with_a_wrong_code(aidant_client, session, network, person):
    response = aidant_client.post("/mandats/nouveau", data={
        "structure_id": network.structure_a.id, "beneficiary_id": person.id, "demarches": ["social"],
        "duration": "month", "identity_check": "piece_identite"})
    assert response.status_code == 302
    before = row_counts(session)
    refused = aidant_client.post("/mandats/nouveau/confirmation", data={"consent": "y", "totp_code": "000000"})
    assert refused.status_code == 422
    assert added_rows(session, before) == COUNTED
    assert last_action(session) == "auth.login_failed"
    assert session.scalar(sa.select(sa.func.count()).select_from(Mandate)) == 0


def test_revoking_with_a_wrong_code(aidant_client, session, make_mandate):
    mandate = make_mandate()
    session.commit()
    before, kept = row_counts(session), authorizations(session, mandate)
    response = aidant_client.post(f"/mandats/{mandate.id}/revoquer", data={
        "demarches": ["social"], "reason": "autre", "totp_code": "111111"})
    assert response.status_code == 422
    assert added_rows(session, before) == COUNTED
    assert authorizations(session, mandate) == kept


def test_the_activity_check_with_a_wrong_code(aidant_client, session):
    before = row_counts(session)
    response = aidant_client.post("/mandats/verification?next=/mandats/nouveau", data={"code": "000000"})
    assert response.status_code == 422
    assert added_rows(session, before) == COUNTED


def test_transferring_with_a_wrong_code(client, login, session, network, make_mandate):
    mandate = make_mandate()
    login(client, network.coordinator)
    session.commit()
    before = row_counts(session)
    response = client.post(f"/mandats/{mandate.id}/transfert", data={
        "structure_id": network.structure_b.id, "totp_code": "000000"})
    assert response.status_code == 422
    assert added_rows(session, before) == COUNTED
    session.expire_all()
    assert session.get(Mandate, mandate.id).structure_id == network.structure_a.id


def test_the_api_with_a_wrong_code(client, session, network, person):
    _, raw = auth_services.create_api_token(session, network.aidant, "Mandats", ["mandates:read", "mandates:write"])
    session.commit()
    before = row_counts(session)
    response = client.post("/api/v1/mandats", headers={"Authorization": f"Bearer {raw}"}, json={
        "structure_id": network.structure_a.id, "beneficiaire_id": person.id, "demarches": ["social"],
        "duree": "month", "verification_identite": "piece_identite", "consentement": True, "code_totp": "000000"})
    assert response.status_code == 422
    assert added_rows(session, before) == COUNTED
    assert session.scalar(sa.select(sa.func.count()).select_from(Mandate)) == 0
