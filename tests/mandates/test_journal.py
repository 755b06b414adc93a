"""The journal of mandates is the append-only, hash-chained audit log: rows cannot be changed, and a
row changed anyway (trigger dropped by someone with database rights) breaks the chain, which
``verify_chain`` and ``flask audit verify`` report. A failure in the middle of a creation leaves
nothing behind: no mandate, no authorization, no journal row, the older mandate untouched."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.audit.services import verify_chain
from mediation.mandates.enums import Demarche
from mediation.mandates.models import Authorization, Mandate
from tests.conftest import is_postgres


def _drop_append_only_trigger(session):
    if is_postgres():
        session.execute(sa.text("DROP TRIGGER audit_events_append_only ON audit_events"))
    else:
        session.execute(sa.text("DROP TRIGGER audit_events_seal_only"))


def test_journal_rows_cannot_be_changed(session, make_mandate):
    make_mandate()
    event_id = session.scalar(sa.select(sa.func.max(AuditEvent.id)))
    with pytest.raises(sa.exc.DatabaseError), session.begin_nested():
        session.execute(sa.text("UPDATE audit_events SET action = 'x' WHERE id = :id"), {"id": event_id})


def test_the_chain_detects_a_modified_mandate_row(app, session, make_mandate):
    mandate = make_mandate(demarches=[Demarche.SOCIAL])
    assert verify_chain(session).ok
    created = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mandate.created",
                                                         AuditEvent.object_id == str(mandate.id)))
    # Someone with database rights removes the protection (inside this test's transaction only)
    # and rewrites history: the mandate would have covered "justice" too.
    _drop_append_only_trigger(session)
    session.execute(sa.text("UPDATE audit_events SET details = :d WHERE id = :id"),
                    {"d": '{"demarches": ["social", "justice"]}', "id": created.id})
    session.expire_all()

    check = verify_chain(session)
    assert not check.ok and check.broken_at == created.id
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code != 0
    assert f"Journal d'audit altéré à l'évènement n° {created.id}" in result.output


FAIL_SQLITE = """
CREATE TRIGGER test_authorizations_fail BEFORE INSERT ON mandate_authorizations
BEGIN SELECT RAISE(ABORT, 'panne simulée'); END
"""
FAIL_PG_FUNCTION = """
CREATE FUNCTION test_authorizations_fail() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'panne simulée'; END; $$ LANGUAGE plpgsql
"""
FAIL_PG_TRIGGER = """
CREATE TRIGGER test_authorizations_fail BEFORE INSERT ON mandate_authorizations
FOR EACH ROW EXECUTE FUNCTION test_authorizations_fail()
"""


def test_a_failure_midway_leaves_no_partial_mandate(client, login, session, network, person, make_mandate, code):
    """The database fails when the new authorizations are written — after the older one was
    replaced and the attestation rendered: the request answers 500 and nothing of it remains."""
    old = make_mandate(demarches=[Demarche.SOCIAL], days_ago=2)
    login(client, network.aidant)
    if is_postgres():
        session.execute(sa.text(FAIL_PG_FUNCTION))
        session.execute(sa.text(FAIL_PG_TRIGGER))
    else:
        session.execute(sa.text(FAIL_SQLITE))
    session.commit()  # the broken table is part of the test's transaction, rolled back at the end
    last_event = session.scalar(sa.select(sa.func.max(AuditEvent.id)))

    response = client.post("/mandats/nouveau", data={
        "structure_id": network.structure_a.id, "beneficiary_id": person.id, "demarches": ["social", "papiers"],
        "duration": "month", "identity_check": "piece_identite"})
    assert response.status_code == 302
    response = client.post("/mandats/nouveau/confirmation", data={"consent": "y", "totp_code": code(network.aidant)})
    assert response.status_code == 500
    assert "rien n&#39;a été enregistré" in response.get_data(as_text=True)

    session.expire_all()
    assert session.scalars(sa.select(Mandate.id)).all() == [old.id]
    auth = session.scalar(sa.select(Authorization).where(Authorization.mandate_id == old.id))
    assert auth.revoked_at is None and auth.closed_at is None and auth.is_live()  # not replaced
    assert session.scalar(sa.select(sa.func.max(AuditEvent.id))) == last_event
    assert verify_chain(session).ok
