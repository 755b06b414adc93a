"""Fixtures of the read-replica tests: a PostgreSQL primary and hot standby of the test's own
(tests/replica/pg_cluster.py), the application on both, and a mediator with a few activities.

These tests do not use the suite's per-test rolled-back transaction: replication only carries
what is committed. They need PostgreSQL's server programs, not TEST_DATABASE_URL; without them
they are skipped with a clear message (in CI, a failure)."""

from __future__ import annotations

import os
from datetime import date

import pytest
import sqlalchemy as sa

from mediation import create_app
from mediation.extensions import db
from tests.conftest import PASSWORD, TMP
from tests.replica.pg_cluster import Cluster, server_binaries


@pytest.fixture(scope="module")
def cluster():
    bindir = server_binaries()
    if bindir is None:
        message = ("Programmes serveur de PostgreSQL (initdb, pg_ctl, pg_basebackup, postgres) introuvables : "
                   "tests de la réplique de lecture ignorés (installez postgresql, ou mettez son dossier bin "
                   "dans le PATH).")
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    pair = Cluster(bindir).start()
    try:
        admin = sa.create_engine(pair.url("primary"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE mediation"))
        admin.dispose()
        yield pair
    finally:
        pair.close()


@pytest.fixture(scope="module")
def replica_app(cluster):
    app = create_app({
        "TESTING": True, "SECRET_KEY": "replica-test", "MEDIATION_ENV": "test", "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": cluster.url("primary", "mediation"),
        "DATABASE_REPLICA_URL": cluster.url("standby", "mediation"),
        "MEDIATION_REPLICA_MAX_LAG_SECONDS": 60.0,
        "MEDIATION_PUBLIC_BASE_URL": "https://mediation.example.org", "SESSION_COOKIE_SECURE": False,
        "MEDIATION_OUTBOX_DIR": str(TMP / "outbox-replica"), "MEDIATION_JOBS_BACKEND": "eager",
    })
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
        from mediation import replica

        replica.current().engine.dispose()


class People:
    pass


@pytest.fixture(scope="module")
def people(replica_app, cluster):
    """A territory, a structure, a mediator (no second factor) with two logged activities and an
    API token reading the indicators; committed and replayed."""
    from mediation.auth import services as auth_services
    from mediation.auth.models import Role, User
    from mediation.directory.models import Commune, StaffMembership, Structure, Territory, TerritoryKind

    found = People()
    with replica_app.app_context():
        session = db.session
        territory = Territory(name="Métropole Réplique", kind=TerritoryKind.METROPOLE)
        commune = Commune(territory=territory, insee_code="76999", name="Ville-Réplique", population=10_000,
                          latitude=49.4, longitude=1.09, postal_code="76000")
        structure = Structure(commune=commune, name="France Services Réplique", address="1 place de la Mairie")
        mediator = User(email="med-replique@test.example", first_name="Camille", last_name="Réplique",
                        role=Role.MEDIATOR, password_hash=auth_services.hash_password(PASSWORD))
        session.add_all([territory, commune, structure, mediator])
        session.flush()
        session.add(StaffMembership(user=mediator, structure=structure, started_on=date(2024, 1, 1)))
        _, found.token = auth_services.create_api_token(session, mediator, "Indicateurs", ["indicators:read"])
        session.commit()
        found.mediator_id, found.structure_id, found.email = mediator.id, structure.id, mediator.email
    cluster.wait_replayed()
    return found
