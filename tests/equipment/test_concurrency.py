"""Two mediators lend the same device at the same instant, each through its own connection and
transaction, with committed data: the database lets exactly one loan through, on SQLite and on
PostgreSQL (the partial unique index ``uq_equipment_handovers_device_out``), and the loser gets the
service's French conflict message."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation import create_app
from mediation.auth.models import Role, User
from mediation.cases.models import Beneficiary
from mediation.directory.models import Commune, StaffMembership, Structure, Territory, TerritoryKind
from mediation.equipment.enums import DeviceCondition, DeviceKind, DeviceOrigin
from mediation.equipment.models import Device, Handover
from mediation.errors import Conflict
from tests.conftest import TMP, drop_postgres_database, is_postgres, recreate_postgres_database


@pytest.fixture
def committed_app(app):
    """An application on its own migrated database (SQLite file or PostgreSQL), where data is committed."""
    from flask_migrate import upgrade

    from mediation.extensions import db

    if is_postgres():
        url = recreate_postgres_database("mediation_equipment_race")
    else:
        path = TMP / "equipment-race.sqlite3"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    second = create_app({**{k: app.config[k] for k in ("TESTING", "SECRET_KEY", "MEDIATION_PUBLIC_BASE_URL",
                                                        "MEDIATION_OUTBOX_DIR", "MEDIATION_ENV")},
                         "SQLALCHEMY_DATABASE_URI": url})
    with second.app_context():
        upgrade()
    try:
        yield second
    finally:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()
        if is_postgres():
            drop_postgres_database(url)


def _seed(second) -> dict:
    from mediation.extensions import db

    with second.app_context():
        territory = Territory(name="Course", kind=TerritoryKind.METROPOLE)
        commune = Commune(territory=territory, insee_code="99002", name="Ville-Course")
        structure = Structure(commune=commune, name="Tiers-lieu Course", address="2 rue")
        users = [User(email=f"med{i}@course.test", first_name=f"Med{i}", last_name="Course", role=Role.MEDIATOR)
                 for i in (1, 2)]
        db.session.add_all([territory, commune, structure, *users])
        db.session.flush()
        for user in users:
            db.session.add(StaffMembership(user=user, structure=structure, started_on=date(2024, 1, 1)))
        people = [Beneficiary(owner_structure_id=structure.id, first_name="Jo", last_name=f"Course{i}")
                  for i in (1, 2)]
        device = Device(structure_id=structure.id, kind=DeviceKind.TABLETTE, model="Galaxy Tab A",
                        asset_number="TAB-1", condition=DeviceCondition.BON, origin=DeviceOrigin.ACHAT,
                        created_by_id=users[0].id)
        db.session.add_all([*people, device])
        db.session.commit()
        ids = {"users": [u.id for u in users], "people": [p.id for p in people], "device": device.id,
               "structure": structure.id}
        db.session.remove()
    return ids


def _together(targets) -> list:
    barrier = threading.Barrier(len(targets))
    results = [None] * len(targets)

    def run(i, target):
        barrier.wait()
        try:
            results[i] = target()
        except Exception as error:  # noqa: BLE001 — reported to the test
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _open_loans(second, device_id) -> int:
    engine = sa.create_engine(second.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as conn:
        count = conn.scalar(sa.select(sa.func.count(Handover.id)).where(Handover.device_id == device_id,
                                                                      Handover.returned_at.is_(None)))
    engine.dispose()
    return count


def test_two_raw_inserts_at_once_leave_one_open_loan(committed_app):
    """Without any application check at all: the second transaction waits for the first, then
    its insert fails on the index."""
    ids = _seed(committed_app)
    url = committed_app.config["SQLALCHEMY_DATABASE_URI"]
    engine = sa.create_engine(url, connect_args={"timeout": 60} if url.startswith("sqlite") else {})

    def insert(i):
        def target():
            with Session(engine) as s:
                if url.startswith("sqlite"):
                    s.execute(sa.text("BEGIN IMMEDIATE"))  # SQLite: one writer; the other waits its turn
                s.add(Handover(device_id=ids["device"], structure_id=ids["structure"], beneficiary_id=ids["people"][i],
                               kind="pret", started_on=date.today(), due_on=date.today() + timedelta(days=7),
                               conditions_accepted=True, condition_at_start=DeviceCondition.BON,
                               created_by_id=ids["users"][i]))
                s.flush()
                s.commit()
                return "lent"
        return target

    results = _together([insert(0), insert(1)])
    engine.dispose()
    assert sorted(r if isinstance(r, str) else type(r).__name__ for r in results) == ["IntegrityError", "lent"]
    assert _open_loans(committed_app, ids["device"]) == 1


def test_two_mediators_lending_at_once_through_the_service(committed_app):
    """The whole service, twice in parallel (each in its own application context and connection):
    one loan, one French conflict or « not available » refusal, never two loans."""
    from mediation.cases import policy as cases_policy
    from mediation.equipment import services
    from mediation.errors import ValidationFailed
    from mediation.extensions import db

    ids = _seed(committed_app)

    def lend(i):
        def target():
            with committed_app.app_context(), committed_app.test_request_context():
                try:
                    actor = db.session.get(User, ids["users"][i])
                    handover = services.hand_over(
                        db.session, actor, services.HandoverInput(
                            device_id=ids["device"], beneficiary_id=ids["people"][i], kind="pret",
                            due_on=date.today() + timedelta(days=7), conditions_accepted=True),
                        visible_beneficiary=cases_policy.beneficiary_loader(db.session, actor))
                    db.session.commit()
                    return handover.id
                except Exception:
                    db.session.rollback()
                    raise
                finally:
                    db.session.remove()
        return target

    results = _together([lend(0), lend(1)])
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert len(losers) == 1 and isinstance(losers[0], Conflict | ValidationFailed | sa.exc.OperationalError), results
    if isinstance(losers[0], Conflict):
        assert "vient d’être remis" in losers[0].message
    assert _open_loans(committed_app, ids["device"]) == 1
