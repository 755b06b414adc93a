"""Two mediators book the last seat of a slot at the same moment, with two real connections on a
database of its own (committed data): one wins, the other is told in French, and the slot holds
one appointment.

PostgreSQL: both read the slot with its seat free before either writes (a barrier holds them
there), then both insert: the seat's unique index makes the second wait for the first and refuse
it. SQLite: a request that writes takes the write lock up front (BEGIN IMMEDIATE), so the second
booking reads the slot once the first is committed and finds it full.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation import create_app
from mediation.appointments import services
from mediation.appointments.models import Appointment, AppointmentOffer
from mediation.auth.models import Role, User
from mediation.cases import services as case_services
from mediation.cases.enums import ConsentScope
from mediation.cases.models import Case
from mediation.directory.models import Commune, StaffMembership, Structure, Territory, TerritoryKind
from mediation.errors import Conflict
from mediation.types import local_today
from tests.conftest import TMP, drop_postgres_database, is_postgres, recreate_postgres_database

SERVICE = "Aide aux démarches administratives"


@pytest.fixture(scope="module")
def app_and_engine():
    if is_postgres():
        url = recreate_postgres_database("mediation_appointments")
    else:
        url = f"sqlite:///{TMP / 'appointments-concurrency.sqlite3'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test",
                      "MEDIATION_OUTBOX_DIR": str(TMP / "outbox-appointments"), "MEDIATION_ENV": "test"})
    with app.app_context():
        from flask_migrate import upgrade

        from mediation.extensions import db

        upgrade()
        engine = db.engine
        yield app, engine
        engine.dispose()
    if is_postgres():
        drop_postgres_database(url)


def _data(engine) -> dict:
    with Session(engine) as s:
        territory = Territory(name="Métropole Créneaux", kind=TerritoryKind.METROPOLE)
        commune = Commune(territory=territory, insee_code="92001", name="Ville-Créneaux", latitude=49.4, longitude=1.1)
        a = Structure(commune=commune, name="Lieu A", address="1 rue")
        b = Structure(commune=commune, name="Lieu B", address="2 rue", horaires="Mo-Su 09:00-17:00", services=[SERVICE])
        mediators = [User(email=f"med{n}@creneaux.test", first_name=f"M{n}", last_name="Test", role=Role.MEDIATOR)
                     for n in (1, 2)]
        s.add_all([territory, commune, a, b, *mediators])
        s.flush()
        for mediator in mediators:
            s.add(StaffMembership(user=mediator, structure=a, started_on=date(2024, 1, 1)))
        s.flush()
        cases = []
        for n, mediator in enumerate(mediators):
            person = case_services.create_beneficiary(s, mediator, a.id, case_services.BeneficiaryInput(
                first_name="Personne", last_name=f"Course{n}"))
            case_services.record_consent(s, mediator, person, ConsentScope.RESEAU, a.id)
            cases.append(case_services.live_case(s, person.id).id)
        offer = AppointmentOffer(structure_id=b.id, service=SERVICE, duration_min=30, capacity=1)
        s.add(offer)
        s.commit()
        return {"mediators": [m.id for m in mediators], "cases": cases, "offer": offer.id}


def test_two_mediators_book_the_last_seat_at_the_same_moment(app_and_engine, monkeypatch):
    app, engine = app_and_engine
    ids = _data(engine)
    day = local_today() + timedelta(days=1)
    with Session(engine) as s:
        slot = services.slots(s, s.get(AppointmentOffer, ids["offer"]), day, day)[0]
    if is_postgres():
        both_read = threading.Barrier(2, timeout=30)
        real_free_seat = services.free_seat

        def free_seat_then_wait(*args):
            seat = real_free_seat(*args)
            both_read.wait()  # both mediators saw the seat free
            return seat

        monkeypatch.setattr(services, "free_seat", free_seat_then_wait)
    results: dict[int, str] = {}

    def book(index: int) -> None:
        with app.test_request_context(method="POST"), Session(engine) as s:
            mediator = s.get(User, ids["mediators"][index])
            try:
                services.book(s, mediator, offer=s.get(AppointmentOffer, ids["offer"]), starts_at=slot.starts_at,
                              case=s.get(Case, ids["cases"][index]), notify_person=False)
                s.commit()
                results[index] = "réservé"
            except Conflict as error:
                s.rollback()
                results[index] = error.message

    threads = [threading.Thread(target=book, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a mediator is still waiting: deadlock?"
    assert sorted(results) == [0, 1]
    winners = [i for i, outcome in results.items() if outcome == "réservé"]
    assert len(winners) == 1, results
    message = results[1 - winners[0]]
    if is_postgres():
        assert message == services.LAST_SEAT_TAKEN
    else:
        assert message == "Ce créneau est complet : choisissez-en un autre."
    with Session(engine) as s:
        held = s.scalars(sa.select(Appointment.case_id).where(Appointment.starts_at == slot.starts_at)).all()
        assert held == [ids["cases"][winners[0]]]
