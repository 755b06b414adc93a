"""The job abstraction: same handler, three backends (eager in tests, a thread, RQ on Redis).
Nothing a failed job wrote is kept; a failed job can be retried."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from mediation.directory.models import Territory, TerritoryKind
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.jobs import enqueue, register, retry
from mediation.jobs.models import Job, JobStatus

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
    app.config["JOBS_BACKEND"] = "eager"
    yield
    app.config["JOBS_BACKEND"] = None


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

@pytest.fixture
def committed_app(tmp_path):
    """An app on its own SQLite file so that another thread or process sees committed data."""
    from flask_migrate import upgrade

    from mediation import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
                      "SECRET_KEY": "x", "MEDIATION_ENV": "test"})
    with app.app_context():
        upgrade()
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
    committed_app.config["JOBS_BACKEND"] = "thread"
    with committed_app.app_context():
        job = enqueue(db.session, "test.create_territories", params={"names": ["Thread 1", "Thread 2"]})
        job_id = job.id
        assert job.status == JobStatus.QUEUED
        db.session.commit()
    assert _wait_done(committed_app, job_id) == JobStatus.DONE
    with committed_app.app_context():
        assert count(db.session, ["Thread 1", "Thread 2"]) == 2


def _redis_available() -> bool:
    try:
        from redis import Redis

        return Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1).ping()
    except Exception:
        return False


@pytest.mark.skipif(not _redis_available(), reason="Redis injoignable sur 127.0.0.1:6379")
def test_rq_backend_runs_in_a_worker(committed_app):
    from redis import Redis
    from rq import Queue, SimpleWorker

    import mediation.jobs.worker as worker_module

    url = "redis://127.0.0.1:6379/15"
    committed_app.config.update(JOBS_BACKEND="rq", REDIS_URL=url, JOBS_QUEUE="mediation-test")
    connection = Redis.from_url(url)
    queue = Queue("mediation-test", connection=connection)
    queue.empty()
    with committed_app.app_context():
        job = enqueue(db.session, "test.create_territories", params={"names": ["RQ 1", "RQ 2", "RQ 3"]})
        job_id = job.id
        db.session.commit()
    assert queue.count == 1
    worker_module._app = committed_app
    try:
        SimpleWorker([queue], connection=connection).work(burst=True)
    finally:
        worker_module._app = None
    assert _wait_done(committed_app, job_id) == JobStatus.DONE
    with committed_app.app_context():
        assert count(db.session, ["RQ 1", "RQ 2", "RQ 3"]) == 3
        assert db.session.get(Job, job_id).progress == 3


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
