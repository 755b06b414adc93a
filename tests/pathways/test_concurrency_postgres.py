"""Two coordinators move the same case at the same moment, on PostgreSQL, with two real
connections: one wins, the other gets the conflict message, and nothing is half-moved.

The normal fixtures run each test inside one rolled-back transaction, where two connections
cannot see each other's work. This test uses its own database (``mediation_concurrency``, next to
the test database, migrated with Alembic) and committed data.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation import create_app
from mediation.audit.models import AuditEvent
from mediation.auth.models import Role, User
from mediation.cases import services as case_services
from mediation.cases.enums import ConsentScope
from mediation.cases.models import Case
from mediation.directory.models import Commune, StaffMembership, Structure, Territory, TerritoryKind
from mediation.directory.notifications import StructureNotification
from mediation.errors import Conflict
from mediation.pathways import reassignment
from mediation.pathways.models import CaseTransfer
from tests.conftest import TMP, database_url, is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="test de concurrence réservé à PostgreSQL")

DATABASE = "mediation_concurrency"


@pytest.fixture(scope="module")
def engine():
    base = sa.engine.make_url(database_url())
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DATABASE}):
            conn.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    url = base.set(database=DATABASE)
    fresh = sa.create_engine(url)
    with fresh.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    fresh.dispose()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
                      "SECRET_KEY": "test", "MEDIATION_OUTBOX_DIR": str(TMP / "outbox-concurrency"), "MEDIATION_ENV": "test"})
    with app.app_context():
        from flask_migrate import upgrade

        from mediation.extensions import db

        upgrade()
        db.engine.dispose()
    engine = sa.create_engine(url, pool_size=4)
    yield engine
    engine.dispose()


def _network(engine) -> dict:
    """Committed data: a territory, two communes, three structures, two coordinators, a person
    whose case is held by structure A, with a network consent."""
    with Session(engine) as s:
        territory = Territory(name="Métropole Concurrence", kind=TerritoryKind.METROPOLE)
        a = Commune(territory=territory, insee_code="91001", name="Ville-A")
        b = Commune(territory=territory, insee_code="91002", name="Ville-B")
        structures = [Structure(commune=c, name=name, address="1 rue") for c, name in
                      ((a, "France Services A"), (b, "Médiathèque B"), (b, "CCAS B"))]
        users = [User(email=f"{n}@concurrence.test", first_name=n, last_name="Test", role=role, territory=territory
                      if role == Role.COORDINATOR else None)
                 for n, role in (("coord1", Role.COORDINATOR), ("coord2", Role.COORDINATOR), ("med", Role.MEDIATOR))]
        s.add_all([territory, a, b, *structures, *users])
        s.flush()
        s.add(StaffMembership(user=users[2], structure=structures[0], started_on=date(2024, 1, 1)))
        s.flush()
        person = case_services.create_beneficiary(s, users[2], structures[0].id,
                                                  case_services.BeneficiaryInput(first_name="Jeanne", last_name="Course"))
        case_services.record_consent(s, users[2], person, ConsentScope.RESEAU, structures[0].id)
        case = case_services.live_case(s, person.id)
        s.commit()
        return {"case": case.id, "coordinators": [users[0].id, users[1].id],
                "targets": [structures[1].id, structures[2].id], "origin": structures[0].id}


def test_two_coordinators_moving_the_same_case_at_once(engine):
    ids = _network(engine)
    both_read = threading.Barrier(2, timeout=30)
    results: dict[int, str] = {}

    def move(index: int) -> None:
        with Session(engine) as s:
            coordinator = s.get(User, ids["coordinators"][index])
            case = s.get(Case, ids["case"])
            seen = case.version
            both_read.wait()  # both coordinators have the page with version `seen` open
            try:
                reassignment.reassign(s, coordinator, case, target=reassignment.Target(ids["targets"][index]),
                                      reason="effectifs", expected_version=seen)
                s.commit()
                results[index] = "moved"
            except Conflict as error:
                s.rollback()
                results[index] = error.message

    threads = [threading.Thread(target=move, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a coordinator is still waiting: deadlock?"

    assert sorted(results) == [0, 1]
    winners = [i for i, outcome in results.items() if outcome == "moved"]
    assert len(winners) == 1, results
    loser = 1 - winners[0]
    assert results[loser].startswith("Ce dossier vient d'être modifié par quelqu'un d'autre")

    with Session(engine) as s:
        case = s.get(Case, ids["case"])
        assert case.structure_id == ids["targets"][winners[0]] and case.version == 2
        transfers = s.scalars(sa.select(CaseTransfer).where(CaseTransfer.case_id == case.id)).all()
        assert [(t.from_structure_id, t.to_structure_id, t.transferred_by_id) for t in transfers] == [
            (ids["origin"], ids["targets"][winners[0]], ids["coordinators"][winners[0]])]
        notices = s.scalars(sa.select(StructureNotification.structure_id).where(
            StructureNotification.case_id == case.id)).all()
        assert sorted(notices) == sorted([ids["origin"], ids["targets"][winners[0]]])
        moves = s.scalars(sa.select(AuditEvent.actor_id).where(
            AuditEvent.action == "case.transferred", AuditEvent.object_id == str(case.id))).all()
        assert moves == [ids["coordinators"][winners[0]]]
