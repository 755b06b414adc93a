"""Several mediators log sessions at the same moment, on PostgreSQL, with real connections and
committed data: every session is saved once, with its audit event, and the derived data stay exact
(rollups added to by concurrent upserts, first accompaniments, counters, the audit hash chain).

Two of the threads are the same mediator (same rollup cell: the additive upserts must not lose an
increment) and the followed people are shared between threads (their counters and first
accompaniment are updated concurrently).
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation import create_app
from mediation.audit import services as audit
from mediation.audit.models import AuditEvent
from mediation.auth.models import Role, User
from mediation.cases import activities
from mediation.cases import services as case_services
from mediation.cases.activities import ActivityInput, AnonymousCounters
from mediation.cases.enums import ActivityType, PlaceType, Thematique
from mediation.cases.models import Activity, Beneficiary, Participation
from mediation.directory.models import Commune, StaffMembership, Structure, Territory, TerritoryKind
from mediation.stats import rollups
from mediation.types import local_today
from tests.conftest import TMP, drop_postgres_database, is_postgres, recreate_postgres_database

pytestmark = pytest.mark.skipif(not is_postgres(), reason="test de concurrence réservé à PostgreSQL")

DATABASE = "mediation_concurrent_logging"
THREADS = 6
PER_THREAD = 12


@pytest.fixture(scope="module")
def app():
    url = recreate_postgres_database(DATABASE)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test",
                      "MEDIATION_OUTBOX_DIR": str(TMP / "outbox-logging"), "MEDIATION_ENV": "test"})
    with app.app_context():
        from flask_migrate import upgrade

        from mediation.extensions import db

        upgrade()
        db.engine.dispose()
    yield app
    with app.app_context():
        from mediation.extensions import db

        db.session.remove()
        db.engine.dispose()
    drop_postgres_database(url)


def _network(engine) -> dict:
    """Committed: one structure, five mediators, four followed people."""
    with Session(engine) as s:
        territory = Territory(name="Métropole Concurrence", kind=TerritoryKind.METROPOLE)
        commune = Commune(territory=territory, insee_code="91001", name="Ville-A")
        structure = Structure(commune=commune, name="France Services A", address="1 rue")
        mediators = [User(email=f"med{i}@concurrence.test", first_name=f"M{i}", last_name="Test",
                          role=Role.MEDIATOR) for i in range(THREADS - 1)]
        s.add_all([territory, commune, structure, *mediators])
        s.flush()
        s.add_all([StaffMembership(user=m, structure=structure, started_on=date(2024, 1, 1)) for m in mediators])
        s.flush()
        people = [case_services.create_beneficiary(s, mediators[0], structure.id, case_services.BeneficiaryInput(
            first_name=f"Personne{i}", last_name="Suivie")).id for i in range(4)]
        s.commit()
        # thread 0 and thread 1 are the same mediator
        return {"structure": structure.id, "mediators": [mediators[max(0, i - 1)].id for i in range(THREADS)],
                "people": people}


def _input(ids: dict, thread: int, n: int) -> ActivityInput:
    day = local_today() - timedelta(days=(thread * 7 + n * 3) % 45)  # two months: several cells, displacements
    common = dict(structure_id=ids["structure"], date=day, duration_min=30 + n,
                  place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=ids["structure"],
                  thematiques=[Thematique.EMAIL.value, Thematique.NAVIGATION_SUR_INTERNET.value][: 1 + n % 2])
    person = ids["people"][(thread + n) % len(ids["people"])]
    if n % 3 == 0:
        return ActivityInput(type=ActivityType.INDIVIDUEL, beneficiary_id=person, **common)
    if n % 3 == 1:
        return ActivityInput(type=ActivityType.INDIVIDUEL, anonymous=activities.AnonymousInput(), **common)
    return ActivityInput(type=ActivityType.COLLECTIF, participant_ids=[person], workshop_title="Atelier",
                         counters=AnonymousCounters(total=2), **common)


def test_simultaneous_logging_loses_nothing_and_keeps_derived_data_exact(app):
    from mediation.extensions import db

    with app.app_context():
        engine = db.engine
        ids = _network(engine)
    start = threading.Barrier(THREADS, timeout=30)
    saved: dict[int, list[int]] = {i: [] for i in range(THREADS)}
    failures: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with app.app_context(), Session(engine) as s:
                user = s.get(User, ids["mediators"][index])
                start.wait()
                for n in range(PER_THREAD):
                    activity = activities.log_activity(s, user, _input(ids, index, n),
                                                       visible_beneficiary=lambda i, s=s: s.get(Beneficiary, i))
                    s.commit()
                    saved[index].append(activity.id)
        except BaseException as error:  # reported below, with the thread's traceback
            failures.append(error)
            raise

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a mediator is still waiting: deadlock?"
    assert not failures, failures

    ids_saved = sorted(i for values in saved.values() for i in values)
    assert len(ids_saved) == THREADS * PER_THREAD
    with app.app_context(), Session(engine) as s:
        assert sorted(s.scalars(sa.select(Activity.id))) == ids_saved
        logged = s.scalars(sa.select(AuditEvent.object_id).where(AuditEvent.action == "activity.created"))
        assert sorted(int(i) for i in logged) == ids_saved
        assert audit.verify_chain(s).ok
        assert rollups.differences(s) == {}
        stored = (dict(s.execute(sa.select(Participation.id, Participation.first_accompaniment)).all()),
                  dict(s.execute(sa.select(Beneficiary.id, Beneficiary.accompaniments_count)).all()))
        case_services.recompute_for(s, None)
        s.flush()
        s.expire_all()
        recomputed = (dict(s.execute(sa.select(Participation.id, Participation.first_accompaniment)).all()),
                      dict(s.execute(sa.select(Beneficiary.id, Beneficiary.accompaniments_count)).all()))
        assert stored == recomputed
        s.rollback()


def test_a_long_transaction_does_not_make_other_writers_wait_for_the_audit_chain(app):
    """A transaction that recorded events and is still working (a bulk badge issuing, say) holds no
    lock on the chain: another writer records and commits meanwhile; the chain then holds both, in
    commit order, and verifies."""
    from mediation.extensions import db

    with app.app_context():
        engine = db.engine
        with Session(engine) as long, Session(engine) as quick:
            slow_event = audit.record(long, "retention.run", details={"n": 1})  # not committed yet
            long.flush()  # written, as a transaction at work writes (its event takes the smaller id)
            quick.execute(sa.text("SET LOCAL lock_timeout = '3s'"))  # waiting would fail, not hang
            quick_event = audit.record(quick, "retention.run", details={"n": 2})
            quick.commit()
            long.commit()
            assert slow_event.id < quick_event.id and slow_event.seq > quick_event.seq
            assert slow_event.prev_hash == quick_event.hash
        with Session(engine) as s:
            assert audit.verify_chain(s).ok
