import pytest
import sqlalchemy as sa

from mediation.audit import services
from mediation.audit.models import AuditEvent


def test_events_are_chained_and_verifiable(session, network):
    services.record(session, "structure.updated", actor=network.admin, obj=network.structure_a,
                    details={"fields": ["name"]})
    services.record(session, "structure.updated", actor=network.admin, obj=network.structure_b)
    check = services.verify_chain(session)
    assert check.ok and check.checked >= 2


def test_audit_rows_cannot_be_updated_or_deleted(session, network):
    event = services.record(session, "structure.updated", actor=network.admin, obj=network.structure_a)
    with pytest.raises(sa.exc.DatabaseError), session.begin_nested():
        session.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id).values(action="x"))
    with pytest.raises(sa.exc.DatabaseError), session.begin_nested():
        session.execute(sa.delete(AuditEvent).where(AuditEvent.id == event.id))


def test_admin_reads_the_log_with_filters(client, login, network, session):
    services.record(session, "structure.updated", actor=network.admin, obj=network.structure_a)
    login(client, network.admin)
    page = client.get("/admin/journal/?action=structure.updated").get_data(as_text=True)
    assert "Structure modifiée" in page
    assert "Connexion" not in page.split("<tbody>")[1]


def test_only_admins_read_the_log(client, login, network):
    login(client, network.mediator)
    assert client.get("/admin/journal/").status_code == 403


def test_events_are_sealed_into_the_chain_when_the_transaction_commits(session, network):
    first = services.record(session, "structure.updated", actor=network.admin, obj=network.structure_a)
    second = services.record(session, "structure.updated", actor=network.admin, obj=network.structure_b)
    assert first.hash is None and second.seq is None  # recorded, visible, not yet in the chain
    assert session.scalar(sa.select(sa.func.count()).where(  # a query of the transaction sees them
        AuditEvent.action == "structure.updated", AuditEvent.hash.is_(None),
        AuditEvent.object_id.in_([str(network.structure_a.id), str(network.structure_b.id)]))) == 2
    session.commit()
    assert (second.seq, second.prev_hash) == (first.seq + 1, first.hash)
    assert first.hash and second.hash
    assert services.verify_chain(session).ok


def test_a_lone_event_is_written_once_already_sealed(session, network):
    """The transaction's only event, never flushed: the seal writes it (on PostgreSQL in the same
    statement as the anchor); one row, the object is that row."""
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    event = services.record(session, "structure.updated", actor=network.admin, obj=network.structure_a,
                            details={"fields": ["name"]})
    session.commit()
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before + 1
    row = session.get(AuditEvent, event.id)
    assert (row.seq, row.hash, row.details, row.object_id) == (event.seq, event.hash, {"fields": ["name"]},
                                                               str(network.structure_a.id))
    assert row.hash is not None
    assert services.stored_anchor(session).seq == row.seq
    assert services.verify_chain(session).ok


def test_a_rolled_back_event_is_never_sealed(session, network):
    with pytest.raises(RuntimeError), session.begin_nested():  # a failure midway: rolled back
        services.record(session, "structure.updated", actor=network.admin, obj=network.structure_a)
        raise RuntimeError
    kept = services.record(session, "structure.updated", actor=network.admin, obj=network.structure_b)
    session.commit()
    assert kept.hash is not None
    assert services.verify_chain(session).ok


def test_sealing_is_the_only_update_the_database_allows(session, network):
    event = services.record(session, "structure.updated", actor=network.admin, obj=network.structure_a)
    # changing the event while sealing it is refused
    with pytest.raises(sa.exc.DatabaseError), session.begin_nested():
        session.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id)
                        .values(seq=10**9, hash="f" * 64, action="x"))
    session.commit()  # sealed now
    # a sealed event cannot be sealed again (rewritten history)
    with pytest.raises(sa.exc.DatabaseError), session.begin_nested():
        session.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id).values(hash="0" * 64))
    # an event committed without its seal is reported
    assert services.verify_chain(session).ok


def test_the_log_page_shows_french_labels_not_raw_values(client, login, network, session):
    services.record(session, "user.updated", actor=network.admin, obj=network.mediator,
                    details={"fields": ["first_name"], "renewed_from": None, "automatic": True})
    login(client, network.admin)
    page = client.get("/admin/journal/?action=user.updated").get_data(as_text=True)
    row = page.split("<tbody>")[1].split("</tr>")[0]
    assert f"Compte n° {network.mediator.id}" in row and "users n°" not in row
    assert "renouvelle le mandat : —" in row and "None" not in row
    assert "automatique : oui" in row and "champs : first_name" in row
    assert "Compte modifié" in row
