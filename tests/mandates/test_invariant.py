"""The database itself guarantees at most one live authorization per (structure, person, démarche),
on SQLite and PostgreSQL, and keeps "closed" meaningful (check constraints). On PostgreSQL, two
concurrent creations through real, separate connections cannot both leave live authorizations."""

from __future__ import annotations

import os
import threading
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mediation.mandates.enums import Demarche, MandateDuration, RevocationReason
from mediation.mandates.models import Authorization
from mediation.types import utcnow
from tests.conftest import database_url, is_postgres


def _clone(session, auth: Authorization, **changes) -> Authorization:
    other = Authorization(mandate_id=changes.pop("mandate_id", auth.mandate_id), structure_id=auth.structure_id,
                          beneficiary_id=auth.beneficiary_id, demarche=changes.pop("demarche", auth.demarche),
                          created_at=auth.created_at, expires_at=auth.expires_at, **changes)
    session.add(other)
    return other


def test_the_database_refuses_a_second_open_authorization(session, make_mandate, make_person):
    first = make_mandate(demarches=[Demarche.SOCIAL])
    second = make_mandate(beneficiary=make_person(), demarches=[Demarche.PAPIERS])
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        # Another mandate of the same structure for the same person and démarche, still open.
        _clone(session, first.authorizations[0], mandate_id=second.id)
        session.flush()


def test_closed_rows_do_not_count(session, make_mandate, make_person):
    first = make_mandate(demarches=[Demarche.SOCIAL])
    second = make_mandate(beneficiary=make_person(), demarches=[Demarche.PAPIERS])
    now = utcnow()
    with session.begin_nested():
        _clone(session, first.authorizations[0], mandate_id=second.id, revoked_at=now, closed_at=now,
               revocation_reason=RevocationReason.AUTRE)
        session.flush()


@pytest.mark.parametrize("changes", [
    {"closed_at": "now"},  # closed while valid, without a revocation
    {"revoked_at": "now", "revocation_reason": RevocationReason.AUTRE},  # revoked but left open
    {"revoked_at": "now", "closed_at": "now"},  # revoked without a reason
])
def test_closed_means_revoked_or_expired(session, make_mandate, changes):
    mandate = make_mandate(demarches=[Demarche.SOCIAL])
    now = utcnow()
    values = {k: (now if v == "now" else v) for k, v in changes.items()}
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        _clone(session, mandate.authorizations[0], demarche=Demarche.LOGEMENT, **values)
        session.flush()


# --- PostgreSQL: concurrent creations with committed data ---------------------------------

postgres = pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL (TEST_DATABASE_URL)")


@pytest.fixture
def committed_app(app):
    """A second application on a dedicated, migrated database where the data is really committed
    (the usual fixtures roll back): created for the test, dropped afterwards."""
    from flask_migrate import upgrade

    from mediation import create_app
    from mediation.extensions import db

    base = sa.engine.make_url(database_url())
    name = f"mediation_test_concurrency_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
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
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _seed(second):
    """A structure, a habilitated aidant and a person, committed."""
    from mediation.auth.models import Role, User
    from mediation.cases.models import Beneficiary
    from mediation.directory.models import Commune, StaffMembership, Structure, Territory, TerritoryKind
    from mediation.extensions import db
    from mediation.training.models import TrainingKind, TrainingRecord

    with second.app_context():
        territory = Territory(name="Concurrence", kind=TerritoryKind.METROPOLE)
        commune = Commune(territory=territory, insee_code="99001", name="Ville-C")
        structure = Structure(commune=commune, name="France Services C", address="1 rue")
        aidant = User(email="aidant-c@test.example", first_name="Ana", last_name="Aidant", role=Role.MEDIATOR,
                      is_aidant=True, totp_secret="JBSWY3DPEHPK3PXP", totp_enabled_at=utcnow())
        db.session.add_all([territory, commune, structure, aidant])
        db.session.flush()
        db.session.add(TrainingRecord(user_id=aidant.id, kind=TrainingKind.AIDANTS_CONNECT,
                                      obtained_on=date(2025, 1, 1), expires_on=date(2028, 1, 1)))
        db.session.add(StaffMembership(user=aidant, structure=structure, started_on=date(2024, 1, 1)))
        person = Beneficiary(owner_structure_id=structure.id, first_name="Jo", last_name="Concurrent")
        db.session.add(person)
        db.session.commit()
        ids = structure.id, aidant.id, person.id
        db.session.remove()
    return ids


def _run_together(targets):
    barrier = threading.Barrier(len(targets))
    results, threads = [None] * len(targets), []

    def runner(i, target):
        barrier.wait()
        try:
            results[i] = target()
        except Exception as error:  # noqa: BLE001 — reported to the test
            results[i] = error

    for i, target in enumerate(targets):
        threads.append(threading.Thread(target=runner, args=(i, target)))
        threads[-1].start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _open_authorizations(second, beneficiary_id):
    from mediation.extensions import db

    with second.app_context():
        rows = db.session.execute(sa.select(Authorization.mandate_id, Authorization.revocation_reason).where(
            Authorization.beneficiary_id == beneficiary_id, Authorization.demarche == Demarche.SOCIAL,
        ).order_by(Authorization.id)).all()
        db.session.remove()
    return rows


@postgres
def test_two_concurrent_creations_leave_one_live_authorization(committed_app):
    """Two requests create a mandate for the same person and démarche at the same moment, each
    in its own connection: the second waits for the first, then replaces its authorization."""
    from mediation.auth.models import User
    from mediation.cases.models import Beneficiary
    from mediation.directory.models import Structure
    from mediation.extensions import db
    from mediation.mandates import services
    from mediation.mandates.enums import IdentityCheck

    structure_id, aidant_id, person_id = _seed(committed_app)

    def create():
        started = time.monotonic()
        with committed_app.app_context():
            try:
                checked = services.CheckedDraft(db.session.get(Structure, structure_id),
                                                db.session.get(Beneficiary, person_id), [Demarche.SOCIAL],
                                                MandateDuration.MONTH, IdentityCheck.PIECE_IDENTITE)
                mandate = services.issue_mandate(db.session, db.session.get(User, aidant_id), checked)
                db.session.commit()
                return mandate.id, started, time.monotonic()
            finally:
                db.session.remove()

    results = _run_together([create, create])
    assert all(isinstance(r, tuple) for r in results), results
    assert max(r[1] for r in results) < min(r[2] for r in results)  # the two transactions overlapped
    rows = _open_authorizations(committed_app, person_id)
    assert len(rows) == 2
    live = [mandate_id for mandate_id, reason in rows if reason is None]
    assert len(live) == 1  # exactly one live authorization; the other was replaced
    assert [reason for _, reason in rows].count(RevocationReason.REMPLACEE) == 1


@postgres
def test_without_the_application_lock_the_index_still_refuses_the_second(committed_app):
    """Even code that forgot the lock cannot leave two live authorizations: the partial unique
    index makes the second transaction wait, then fail when the first commits."""
    from mediation.extensions import db
    from mediation.mandates.enums import IdentityCheck
    from mediation.mandates.models import Mandate

    structure_id, aidant_id, person_id = _seed(committed_app)
    first_inserted = threading.Event()

    def insert(hold: float):
        with committed_app.app_context():
            try:
                now = utcnow()
                mandate = Mandate(public_token=os.urandom(16).hex(), structure_id=structure_id,
                                  beneficiary_id=person_id, created_by_id=aidant_id, created_at=now,
                                  expires_at=now + timedelta(days=31), duration=MandateDuration.MONTH,
                                  identity_check=IdentityCheck.PIECE_IDENTITE, template_version="t",
                                  attestation_sha256="0" * 64, attestation_pdf=b"%PDF-")
                db.session.add(mandate)
                db.session.flush()
                db.session.add(Authorization(mandate_id=mandate.id, structure_id=structure_id,
                                             beneficiary_id=person_id, demarche=Demarche.SOCIAL,
                                             created_at=now, expires_at=mandate.expires_at))
                if hold:
                    db.session.flush()
                    first_inserted.set()
                    time.sleep(hold)  # the other transaction now tries to insert and must wait
                else:
                    first_inserted.wait(10)
                    db.session.flush()
                db.session.commit()
                return "committed"
            except sa.exc.IntegrityError as error:
                db.session.rollback()
                return type(error.orig).__name__
            finally:
                db.session.remove()

    results = _run_together([lambda: insert(1.0), lambda: insert(0)])
    assert sorted(results) == ["UniqueViolation", "committed"], results
    assert len(_open_authorizations(committed_app, person_id)) == 1
