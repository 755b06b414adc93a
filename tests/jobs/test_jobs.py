"""The job abstraction: same handler, three backends (eager in tests, a thread, RQ on Redis).
Nothing a failed job wrote is kept; a failed job can be retried."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa

from mediation.directory.models import Territory, TerritoryKind
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.jobs import enqueue, register, retry
from mediation.jobs.models import Job, JobStatus
from tests.conftest import drop_postgres_database, is_postgres, recreate_postgres_database

CALLS = {"fail_once": 0}


@register("test.create_territories")
def create_territories(session, job, progress):
    names = job.params["names"]
    for i, name in enumerate(names, start=1):
        session.add(Territory(name=name, kind=TerritoryKind.DEPARTEMENT))
        session.flush()
        progress(i, len(names))
        if job.params.get("crash_at") == i and CALLS["fail_once"] == 0:
            CALLS["fail_once"] += 1
            raise RuntimeError("simulated crash midway")
        if job.params.get("refuse_at") == i:
            raise DomainError("Ligne 2 : valeur refusée.")
    return {"créés": len(names)}


@pytest.fixture
def eager(app):
    app.config["MEDIATION_JOBS_BACKEND"] = "eager"
    yield
    app.config["MEDIATION_JOBS_BACKEND"] = None


def count(session, names):
    return session.scalar(sa.select(sa.func.count()).select_from(Territory).where(Territory.name.in_(names)))


def test_job_runs_and_reports_progress(session, eager):
    names = ["Job A1", "Job A2", "Job A3"]
    job = enqueue(session, "test.create_territories", params={"names": names})
    assert job.status == JobStatus.DONE
    assert (job.progress, job.total, job.percent) == (3, 3, 100)
    assert job.result == {"créés": 3}
    assert count(session, names) == 3


def test_a_crash_midway_leaves_nothing_and_the_job_can_be_retried(session, eager):
    CALLS["fail_once"] = 0
    names = ["Job B1", "Job B2", "Job B3"]
    job = enqueue(session, "test.create_territories", params={"names": names, "crash_at": 2})
    assert job.status == JobStatus.FAILED
    assert "rien n'a été enregistré" in job.error
    assert count(session, names) == 0
    retry(session, job)
    assert job.status == JobStatus.DONE and job.attempts == 2
    assert count(session, names) == 3


def test_a_refused_row_fails_with_the_french_message(session, eager):
    names = ["Job C1", "Job C2"]
    job = enqueue(session, "test.create_territories", params={"names": names, "refuse_at": 2})
    assert job.status == JobStatus.FAILED
    assert job.error == "Ligne 2 : valeur refusée."
    assert count(session, names) == 0


def test_progress_page_is_only_for_its_owner(client, login, network, session, eager):
    job = enqueue(session, "test.create_territories", user=network.mediator, params={"names": ["Job D1"]})
    login(client, network.mediator_b)
    assert client.get(f"/taches/{job.id}").status_code == 404
    other = client.application.test_client()
    login(other, network.mediator)
    page = other.get(f"/taches/{job.id}").get_data(as_text=True)
    assert "Terminée" in page and "<progress" in page


# --- real backends: a separate database, real commits -------------------------------------

@pytest.fixture(scope="module")
def committed_url(tmp_path_factory):
    """A database of their own for the real backends, migrated once: a SQLite file, or on PostgreSQL
    ``mediation_jobs_*`` next to TEST_DATABASE_URL, so that another thread or process sees what is
    committed (test names never collide: each test creates its own rows)."""
    from flask_migrate import upgrade

    from mediation import create_app

    if is_postgres():
        url = recreate_postgres_database("mediation_jobs")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('jobs') / 'jobs.sqlite3'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "MEDIATION_ENV": "test"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    if is_postgres():
        drop_postgres_database(url)


@pytest.fixture
def committed_app(committed_url):
    from mediation import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": committed_url, "SECRET_KEY": "x",
                      "MEDIATION_ENV": "test"})
    yield app
    with app.app_context():
        db.engine.dispose()


def _wait_done(app, job_id, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(Job, job_id)
            status = job.status
            db.session.remove()
        if status in (JobStatus.DONE, JobStatus.FAILED):
            return status
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_thread_backend_runs_after_commit(committed_app):
    committed_app.config["MEDIATION_JOBS_BACKEND"] = "thread"
    with committed_app.app_context():
        job = enqueue(db.session, "test.create_territories", params={"names": ["Thread 1", "Thread 2"]})
        job_id = job.id
        assert job.status == JobStatus.QUEUED
        db.session.commit()
    assert _wait_done(committed_app, job_id) == JobStatus.DONE
    with committed_app.app_context():
        assert count(db.session, ["Thread 1", "Thread 2"]) == 2


REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_available() -> bool:
    try:
        from redis import Redis

        return Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False


@pytest.fixture
def rq_queue(committed_app, monkeypatch):
    """``committed_app`` on RQ, with a queue of its own (PYTEST_XDIST_WORKER: other runs may share
    this Redis), emptied, then deleted; the worker module is left as it was found."""
    if not _redis_available():
        pytest.skip("Redis injoignable sur 127.0.0.1:6379")
    from redis import Redis
    from rq import Queue

    import mediation.worker as worker_module

    monkeypatch.setattr(worker_module, "_app", None)
    monkeypatch.setattr(worker_module, "_app_pid", None)
    name = f"mediation-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    committed_app.config.update(MEDIATION_JOBS_BACKEND="rq", REDIS_URL=REDIS_URL, MEDIATION_JOBS_QUEUE=name)
    queue = Queue(name, connection=Redis.from_url(REDIS_URL))
    queue.empty()
    yield queue
    queue.delete(delete_jobs=True)
    for key in queue.connection.scan_iter(match=f"rq:*:{name}"):  # registries of finished jobs…
        queue.connection.delete(key)


def test_rq_backend_runs_in_a_worker(committed_app, rq_queue):
    from rq import SimpleWorker

    from mediation.worker import use_app

    with committed_app.app_context():
        job = enqueue(db.session, "test.create_territories", params={"names": ["RQ 1", "RQ 2", "RQ 3"]})
        job_id = job.id
        db.session.commit()
    assert rq_queue.count == 1
    use_app(committed_app)
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    assert _wait_done(committed_app, job_id) == JobStatus.DONE
    with committed_app.app_context():
        assert count(db.session, ["RQ 1", "RQ 2", "RQ 3"]) == 3
        assert db.session.get(Job, job_id).progress == 3


@register("test.report_process")
def report_process(session, job, progress):
    """Where the job ran: its process, and the process that opened its database connection."""
    progress(1, 1)
    return {"pid": os.getpid(), "connection_opened_by": session.connection().connection.info.get("opened_by")}


def test_rq_worker_builds_the_app_once_and_each_forked_job_opens_its_own_connections(
        committed_app, rq_queue, monkeypatch, tmp_path):
    """``flask worker``: RQ forks a process per job; none of them runs create_app again (the
    worker's app is inherited), none uses a database connection of the worker process, and the
    worker's own connection is left working (dropped in the child, not closed)."""
    import mediation

    calls = tmp_path / "create_app_calls"
    real_create_app = mediation.create_app

    def counting_create_app(*args, **kwargs):
        with calls.open("a") as log:  # a file: the jobs run in other processes
            log.write(f"{os.getpid()}\n")
        return real_create_app(*args, **kwargs)

    monkeypatch.setattr(mediation, "create_app", counting_create_app)
    with committed_app.app_context():
        sa.event.listen(db.engine, "connect",
                        lambda _dbapi, record: record.info.setdefault("opened_by", os.getpid()))
        first = enqueue(db.session, "test.report_process")
        second = enqueue(db.session, "test.report_process")
        refused = enqueue(db.session, "test.create_territories",
                          params={"names": ["Fork 1", "Fork 2"], "refuse_at": 2})
        db.session.commit()
        ids = [first.id, second.id, refused.id]
        with db.engine.connect() as connection:
            parent_connection = connection.connection.dbapi_connection
            assert connection.connection.info["opened_by"] == os.getpid()
        db.session.remove()
    assert rq_queue.count == 3

    with committed_app.app_context():  # as `flask` does for every command
        result = committed_app.test_cli_runner().invoke(args=["worker", "--burst"])

    assert result.exit_code == 0, result.output
    assert not calls.exists(), f"create_app appelé dans les processus {calls.read_text().split()}"
    assert [_wait_done(committed_app, job_id) for job_id in ids] == [JobStatus.DONE, JobStatus.DONE,
                                                                     JobStatus.FAILED]
    with committed_app.app_context():
        done = [db.session.get(Job, job_id) for job_id in ids[:2]]
        pids = {job.result["pid"] for job in done}
        assert len(pids) == 2 and os.getpid() not in pids  # one forked process per job
        for job in done:
            assert job.result["connection_opened_by"] == job.result["pid"]
            assert (job.progress, job.total, job.attempts) == (1, 1, 1)
        failed = db.session.get(Job, ids[2])
        assert failed.error == "Ligne 2 : valeur refusée." and count(db.session, ["Fork 1", "Fork 2"]) == 0
        with db.engine.connect() as connection:  # the worker process's connection still works
            assert connection.connection.dbapi_connection is parent_connection
            assert connection.scalar(sa.text("SELECT 1")) == 1
        db.session.remove()


def test_stalled_jobs_are_marked_failed(session):
    from datetime import timedelta

    from mediation.jobs.services import recover_stalled
    from mediation.types import utcnow

    job = Job(kind="test.create_territories", status=JobStatus.RUNNING,
              started_at=utcnow() - timedelta(hours=1), heartbeat_at=utcnow() - timedelta(hours=1))
    session.add(job)
    session.flush()
    assert recover_stalled(session, minutes=10) >= 1
    assert job.status == JobStatus.FAILED and "relancer" in job.error


def test_running_job_page_has_no_meta_refresh_and_a_status_endpoint(client, login, network, session):
    """WCAG 2.2.1: no automatic refresh; a link refreshes by hand, a script polls the JSON status."""
    job = Job(kind="test.create_territories", created_by_id=network.mediator.id, status=JobStatus.RUNNING,
              progress=250, total=1000)
    session.add(job)
    session.flush()
    login(client, network.mediator)
    page = client.get(f"/taches/{job.id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page
    assert "Actualiser l'avancement" in page and "job-progress.js" in page
    assert "Avancement : 25 % (250 sur 1\u202f000)" in page or "Avancement : 25 % (250 sur 1 000)" in page
    status = client.get(f"/taches/{job.id}/etat").get_json()
    assert status["percent"] == 25 and status["finished"] is False and status["total"] == 1000
