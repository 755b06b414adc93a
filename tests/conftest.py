"""Test fixtures: a real database (SQLite by default, PostgreSQL when TEST_DATABASE_URL says so),
built by running the Alembic migrations once, and each test isolated in a transaction that is
rolled back at the end (services may commit: commits release a SAVEPOINT only)."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from mediation import create_app
from mediation.auth import services as auth_services
from mediation.auth.models import Role, User
from mediation.directory.models import Commune, StaffMembership, Structure, Territory, TerritoryKind
from mediation.extensions import Session as AppSession
from mediation.extensions import db

# One audit anchor key for every app the tests create and for bare sessions outside any app (which
# read the environment's settings): a chain sealed by one can be verified by another.
os.environ.setdefault("MEDIATION_AUDIT_ANCHOR_KEY", "test-audit-anchor-key")
# A fixed Open Badges 3.0 signing key (32-byte seed, base64url): no key file written by the tests.
os.environ.setdefault("MEDIATION_OB3_SIGNING_KEY", "dGVzdC1vYjMtc2lnbmluZy1rZXktMzItYnl0ZXMhISE")

# Cheap hashes in tests; production keeps argon2-cffi's defaults.
auth_services.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PASSWORD = "mot-de-passe-de-test-123"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TMP = Path(tempfile.mkdtemp(prefix="mediation-tests-"))


def database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{TMP / 'test.sqlite3'}"
    from mediation.config import normalise_database_url

    return normalise_database_url(url)


def is_postgres() -> bool:
    return database_url().startswith("postgresql")


def _prepare_postgres(url: str) -> str:
    """Use a dedicated database next to the one given (created if needed), emptied."""
    base = sa.engine.make_url(url)
    name = f"mediation_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = base.set(database=name)
    engine = sa.create_engine(target)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return target.render_as_string(hide_password=False)


def recreate_postgres_database(prefix: str) -> str:
    """A new, empty PostgreSQL database ``<prefix>_<xdist worker>`` next to TEST_DATABASE_URL, for
    tests that need committed data seen by other connections or processes; returns its URL."""
    base = sa.engine.make_url(database_url())
    name = f"{prefix}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def app():
    url = database_url()
    if url.startswith("postgresql"):
        url = _prepare_postgres(url)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "test-secret",
            "MEDIATION_PUBLIC_BASE_URL": "https://mediation.example.org",
            "SESSION_COOKIE_SECURE": False,
            "MEDIATION_OUTBOX_DIR": str(TMP / "outbox"),
            "MEDIATION_ENV": "test",
            # No dashboard is kept unless a test asks for it (tests/evaluation/test_snapshots.py):
            # a slow run would otherwise serve a copy to a test that has just written.
            "MEDIATION_SNAPSHOT_MIN_MS": 10**9,
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()

    # The test body holds an app context (for its database session), and Flask reuses it for
    # the test client's requests: start each request with a clean ``g`` as in production.
    def fresh_g():
        from flask import g

        for key in list(g.__dict__):
            delattr(g, key)

    app.before_request_funcs.setdefault(None, []).insert(0, fresh_g)
    yield app
    with app.app_context():
        db.engine.dispose()


class BoundSession(AppSession):
    """The app's session (its events: what a request wrote) pinned to the test's connection (the
    app's picks an engine per model, or the read replica)."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture
def session(app):
    """The test's database session; everything it does is rolled back after the test."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": BoundSession}
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()
    app.extensions["outbox"] = []


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture
def every_one_kept(app):
    """Every dashboard and statistics page counts as long to compute, hence kept
    (mediation.snapshots): the tests' take a few milliseconds, and none is kept otherwise."""
    kept = app.config["MEDIATION_SNAPSHOT_MIN_MS"]
    app.config["MEDIATION_SNAPSHOT_MIN_MS"] = 0
    yield
    app.config["MEDIATION_SNAPSHOT_MIN_MS"] = kept


@pytest.fixture
def searches(app):
    """Every pick-list and list filter is a search, as in a network of thousands of places
    (mediation.forms.pick_list, MEDIATION_PICK_LIST_LIMIT)."""
    kept = app.config["MEDIATION_PICK_LIST_LIMIT"]
    app.config["MEDIATION_PICK_LIST_LIMIT"] = 0
    yield
    app.config["MEDIATION_PICK_LIST_LIMIT"] = kept


@pytest.fixture
def outbox(app, session):
    app.extensions["outbox"] = []
    return app.extensions["outbox"]


# --- factories ------------------------------------------------------------------------------

@pytest.fixture
def make_territory(session):
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, kind=TerritoryKind.METROPOLE) -> Territory:
        territory = Territory(name=name or f"Territoire {next(counter)}", kind=kind)
        session.add(territory)
        session.flush()
        return territory

    return make


@pytest.fixture
def make_commune(session, make_territory):
    counter = iter(range(10_000, 99_999))

    def make(territory: Territory | None = None, name: str | None = None, insee: str | None = None,
             **fields) -> Commune:
        n = next(counter)
        commune = Commune(territory=territory or make_territory(), insee_code=insee or f"{n:05d}",
                          name=name or f"Commune {n}", population=fields.pop("population", 10_000),
                          latitude=fields.pop("latitude", 49.4), longitude=fields.pop("longitude", 1.09),
                          postal_code=fields.pop("postal_code", "76000"), **fields)
        session.add(commune)
        session.flush()
        return commune

    return make


@pytest.fixture
def make_structure(session, make_commune):
    counter = iter(range(1, 10_000))

    def make(commune: Commune | None = None, name: str | None = None, **fields) -> Structure:
        structure = Structure(commune=commune or make_commune(), name=name or f"Structure {next(counter)}",
                              address=fields.pop("address", "1 place de la Mairie"), **fields)
        session.add(structure)
        session.flush()
        return structure

    return make


@pytest.fixture
def make_user(session):
    counter = iter(range(1, 100_000))
    password_hash = auth_services.hash_password(PASSWORD)

    def make(role: Role = Role.MEDIATOR, *, structures=(), territory: Territory | None = None,
             totp: bool | None = None, email: str | None = None, **fields) -> User:
        n = next(counter)
        trained_on = fields.pop("aidant_trained_on", None)  # the habilitation: an Aidants Connect record
        user = User(email=email or f"user{n}@test.example", first_name=fields.pop("first_name", "Prénom"),
                    last_name=fields.pop("last_name", f"Nom{n}"), role=role, password_hash=password_hash,
                    territory=territory, **fields)
        session.add(user)
        session.flush()
        if trained_on is not None:
            from mediation.training.models import TrainingKind, TrainingRecord

            session.add(TrainingRecord(user_id=user.id, kind=TrainingKind.AIDANTS_CONNECT, obtained_on=trained_on,
                                       expires_on=trained_on.replace(year=trained_on.year + 3)))
        for structure in structures:
            session.add(StaffMembership(user=user, structure=structure, started_on=date(2024, 1, 1)))
        if totp if totp is not None else user.requires_totp:
            auth_services.enrol_totp_with_secret(session, user, TOTP_SECRET)
        session.flush()
        return user

    return make


@pytest.fixture
def make_beneficiary(session, network):
    """A followed beneficiary created through the cases service (by ``network.mediator`` for
    structure A unless told), with a numbered last name."""
    from mediation.cases import services as cases_services

    counter = iter(range(1, 100_000))

    def make(actor=None, structure=None, **fields):
        actor = actor or network.mediator
        structure = structure or network.structure_a
        n = next(counter)
        data = cases_services.BeneficiaryInput(first_name=fields.pop("first_name", "Jeanne"),
                                               last_name=fields.pop("last_name", f"Martin{n}"), **fields)
        return cases_services.create_beneficiary(session, actor, structure.id, data)

    return make


@pytest.fixture
def template(session, network):
    """The default pathway template of the test territory (4 levels × 2 steps)."""
    from mediation.pathways import versions

    return versions.create_default_template(session, network.coordinator, network.territory.id)


@pytest.fixture
def steps(session, template):
    """The steps of ``template``'s current version, in order."""
    from mediation.pathways import versions

    version = versions.load_version(session, template.current_version.id)
    return [m for level in version.levels for m in level.steps]


@pytest.fixture
def login(session):
    """Sign ``user`` in through the real forms (password, then TOTP when enrolled)."""

    def do_login(client, user: User):
        response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        if response.headers["Location"].endswith("/connexion/verification"):
            user.totp_last_step = None
            session.flush()
            response = client.post("/connexion/verification", data={"code": pyotp.TOTP(TOTP_SECRET).now()})
            assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do_login


@pytest.fixture
def network(make_territory, make_commune, make_structure, make_user):
    """A small network: one territory with two communes and three structures, a second territory,
    and one account per role. Returns a simple namespace."""

    class Network:
        pass

    n = Network()
    n.territory = make_territory("Métropole Test")
    n.other_territory = make_territory("Département Ailleurs", kind=TerritoryKind.DEPARTEMENT)
    n.commune_a = make_commune(n.territory, name="Ville-A")
    n.commune_b = make_commune(n.territory, name="Ville-B")
    n.commune_far = make_commune(n.other_territory, name="Ville-Lointaine")
    n.structure_a = make_structure(n.commune_a, name="France Services A")
    n.structure_b = make_structure(n.commune_b, name="Médiathèque B")
    n.structure_far = make_structure(n.commune_far, name="CCAS Lointain")
    n.admin = make_user(Role.ADMIN, email="admin@test.example")
    n.coordinator = make_user(Role.COORDINATOR, territory=n.territory, email="coord@test.example")
    n.other_coordinator = make_user(Role.COORDINATOR, territory=n.other_territory, email="coord2@test.example")
    n.mediator = make_user(Role.MEDIATOR, structures=[n.structure_a], email="med@test.example",
                           is_conseiller_numerique=True)
    n.mediator_b = make_user(Role.MEDIATOR, structures=[n.structure_b], email="medb@test.example")
    n.mediator_far = make_user(Role.MEDIATOR, structures=[n.structure_far], email="medfar@test.example")
    n.aidant = make_user(Role.MEDIATOR, structures=[n.structure_a], email="aidant@test.example",
                         is_aidant=True, aidant_trained_on=date(2025, 1, 1))
    n.funder = make_user(Role.FUNDER, email="funder@test.example", organisation="Département")
    return n


# --- rate limits: database or Redis storage ---------------------------------------------------

RATELIMIT_REDIS_URL = os.environ.get("TEST_RATELIMIT_REDIS_URL", "redis://127.0.0.1:6379/14")


def _redis_answers(url: str) -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture(params=["database", "redis"])
def ratelimit_backend(request, app, monkeypatch):
    """Run the test twice: rate-limit counters in the database, then in Redis (a dedicated db
    number, keys under a prefix of this test process, deleted before and after the test so that
    other people's runs on the same Redis are left alone). Redis silent: skipped (CI: failure)."""
    app.extensions.pop("ratelimit", None)
    if request.param == "redis":
        if not _redis_answers(RATELIMIT_REDIS_URL):
            message = f"Redis ne répond pas sur {RATELIMIT_REDIS_URL} : tests des limites sur Redis ignorés."
            if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        monkeypatch.setitem(app.config, "REDIS_URL", RATELIMIT_REDIS_URL)
        monkeypatch.setitem(app.config, "MEDIATION_RATELIMIT_REDIS_PREFIX",
                            f"mediation-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}:rl:")
        if app.config.get("MEDIATION_JOBS_BACKEND") is None:
            monkeypatch.setitem(app.config, "MEDIATION_JOBS_BACKEND", "thread")  # REDIS_URL alone would pick RQ
        _clear_ratelimit_keys(app)
    yield request.param
    if request.param == "redis":
        _clear_ratelimit_keys(app)
        fell_back = "down_until" in app.extensions.get("ratelimit", {})
        app.extensions.pop("ratelimit", None)
        assert not fell_back, "Redis a échoué pendant le test : les compteurs sont passés dans la base"
    app.extensions.pop("ratelimit", None)


def _ratelimit_redis(app):
    from redis import Redis

    return Redis.from_url(app.config["REDIS_URL"])


def _clear_ratelimit_keys(app) -> None:
    client = _ratelimit_redis(app)
    keys = list(client.scan_iter(app.config["MEDIATION_RATELIMIT_REDIS_PREFIX"] + "*"))
    if keys:
        client.delete(*keys)


def ratelimit_redis_entries(app) -> dict[str, list[tuple[bytes, float]]]:
    """What the Redis storage holds for this test: key → [(member, time)]; empty without Redis."""
    if not app.config.get("REDIS_URL") or not app.config.get("MEDIATION_RATELIMIT_REDIS_PREFIX"):
        return {}
    client = _ratelimit_redis(app)
    return {key.decode(): client.zrange(key, 0, -1, withscores=True)
            for key in client.scan_iter(app.config["MEDIATION_RATELIMIT_REDIS_PREFIX"] + "*")}


def move_ratelimit_entries_back(app, seconds: float) -> None:
    """Redis storage: every try recorded so far happened ``seconds`` earlier (time moves on)."""
    client = _ratelimit_redis(app) if ratelimit_redis_entries(app) else None
    for key, entries in ratelimit_redis_entries(app).items():
        client.zadd(key, {member: score - seconds for member, score in entries})
