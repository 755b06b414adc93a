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
