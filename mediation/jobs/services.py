"""Enqueue, run and retry jobs. See mediation/jobs/__init__.py."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from mediation.errors import DomainError
from mediation.jobs.models import Job, JobStatus
from mediation.types import utcnow

log = logging.getLogger("mediation.jobs")

HANDLERS: dict[str, Callable] = {}
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def register(kind: str):
    """Decorator: ``@register("cases.import_activities") def handler(session, job, progress)``."""

    def decorator(fn):
        HANDLERS[kind] = fn
        return fn

    return decorator


def backend(app: Flask | None = None) -> str:
    app = app or current_app
    return app.config.get("MEDIATION_JOBS_BACKEND") or ("rq" if app.config.get("REDIS_URL") else "thread")


def enqueue(session: Session, kind: str, *, user=None, structure_id: int | None = None,
            params: dict | None = None, input_name: str | None = None,
            input_data: bytes | None = None, total: int | None = None) -> Job:
    """Create the job row and hand it to the backend once the request's transaction commits."""
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind}")
    job = Job(kind=kind, created_by_id=getattr(user, "id", None), structure_id=structure_id,
              params=params or {}, input_name=input_name, input_data=input_data, total=total)
    session.add(job)
    session.flush()
    mode = backend()
    if mode == "eager":
        _run_in_session(session, job, eager=True)
        return job
    app = current_app._get_current_object()
    job_id = job.id

    @sa.event.listens_for(session, "after_commit", once=True)
    def dispatch(_session):
        _dispatch(app, job_id, mode)

    return job


def _dispatch(app: Flask, job_id: int, mode: str) -> None:
    if mode == "rq":
        from redis import Redis
        from rq import Queue

        queue = Queue(app.config["MEDIATION_JOBS_QUEUE"],
                      connection=Redis.from_url(app.config["REDIS_URL"]))
        queue.enqueue("mediation.worker.run", job_id, job_timeout=3600)
        return
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mediation-job")
    _executor.submit(run_job, app, job_id)


def retry(session: Session, job: Job) -> Job:
    if job.status != JobStatus.FAILED:
        raise DomainError("Seule une tâche en échec peut être relancée.")
    job.status = JobStatus.QUEUED
    job.error = None
    job.progress = 0
    session.flush()
    mode = backend()
    if mode == "eager":
        _run_in_session(session, job, eager=True)
    else:
        app = current_app._get_current_object()
        job_id = job.id
        sa.event.listens_for(session, "after_commit", once=True)(lambda _s: _dispatch(app, job_id, mode))
    return job


def _run_in_session(session: Session, job: Job, *, eager: bool) -> None:
    """Run the handler in a SAVEPOINT: its writes land together or not at all.

    In a worker (not eager), the job row was marked running and committed by :func:`run_job`, and
    it is not touched again in this transaction until the handler is done: progress goes through
    short transactions of its own on that row, which would otherwise wait for this transaction's
    row lock (a self-deadlock on PostgreSQL)."""
    handler = HANDLERS[job.kind]
    if eager:
        job.status = JobStatus.RUNNING
        job.started_at = utcnow()
        job.attempts += 1
        session.flush()
    reported = {"done": job.progress, "total": job.total}

    def progress(done: int, total: int | None = None) -> None:
        reported["done"] = done
        if total is not None:
            reported["total"] = total
        if eager:
            job.progress, job.total = reported["done"], reported["total"]
            session.flush()
        else:
            _publish_progress(job.id, done, total)

    try:
        with session.begin_nested():
            result = handler(session, job, progress)
    except DomainError as error:
        _mark_failed(session, job, error.message)
        return
    except Exception:  # noqa: BLE001 — any failure marks the job failed, never half-written
        log.exception("job %s (%s) failed", job.id, job.kind)
        _mark_failed(session, job, "La tâche a échoué de façon inattendue ; rien n'a été enregistré. "
                                   "Vous pouvez la relancer.")
        return
    job.progress = reported["done"]
    job.total = reported["total"] if reported["total"] is not None else reported["done"]
    job.status = JobStatus.DONE
    job.result = result or {}
    job.finished_at = utcnow()
    job.input_data = None
    session.flush()


def _mark_failed(session: Session, job: Job, message: str) -> None:
    job.status = JobStatus.FAILED
    job.error = message
    job.finished_at = utcnow()
    session.flush()


# SQLite has a single writer: while a job's transaction is open, its progress is kept in memory
# for the progress page of this process (the embedded default runs jobs in a thread).
LIVE_PROGRESS: dict[int, tuple[int, int | None]] = {}


def live_progress(job: Job) -> Job:
    """Overlay the in-memory progress of a running job (SQLite thread backend)."""
    if job.status == JobStatus.RUNNING and job.id in LIVE_PROGRESS:
        job.progress, total = LIVE_PROGRESS[job.id]
        job.total = total if total is not None else job.total
    return job


def _publish_progress(job_id: int, done: int, total: int | None) -> None:
    """Progress goes through its own short transaction so that the page polling it sees it."""
    from mediation.extensions import db

    if db.engine.dialect.name == "sqlite":
        previous = LIVE_PROGRESS.get(job_id, (0, None))
        LIVE_PROGRESS[job_id] = (done, total if total is not None else previous[1])
        return
    values = {"progress": done, "heartbeat_at": utcnow()}
    if total is not None:
        values["total"] = total
    with db.engine.begin() as connection:
        connection.execute(sa.update(Job).where(Job.id == job_id).values(**values))


def recover_stalled(session: Session, minutes: int = 10) -> int:
    """Jobs whose worker died (no heartbeat for ``minutes``) are marked failed, hence retryable.
    Nothing they wrote was committed: handlers commit only at the very end."""
    from datetime import timedelta

    limit = utcnow() - timedelta(minutes=minutes)
    stalled = session.scalars(
        sa.select(Job).where(
            Job.status == JobStatus.RUNNING,
            sa.func.coalesce(Job.heartbeat_at, Job.started_at) < limit,
        )
    ).all()
    for job in stalled:
        _mark_failed(session, job, "La tâche a été interrompue (arrêt du serveur) ; rien n'a été "
                                   "enregistré. Vous pouvez la relancer.")
    return len(stalled)


def run_job(app: Flask, job_id: int) -> None:
    """Entry point of the thread and RQ workers: one job, in its own session and transaction."""
    from mediation.extensions import db

    with app.app_context():
        session = db.session
        try:
            job = session.get(Job, job_id)
            if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
                return
            job.status = JobStatus.RUNNING
            job.started_at = job.heartbeat_at = utcnow()
            job.attempts += 1
            job.progress = 0
            session.commit()  # visible as "En cours" before the work starts; the row lock is released
            _run_in_session(session, job, eager=False)
            session.commit()
            LIVE_PROGRESS.pop(job_id, None)
        except Exception:
            log.exception("job %s could not run", job_id)
            session.rollback()
            with db.engine.begin() as connection:
                connection.execute(
                    sa.update(Job).where(Job.id == job_id).values(
                        status=JobStatus.FAILED.value, finished_at=utcnow(),
                        error="La tâche a été interrompue ; rien n'a été enregistré. Vous pouvez la relancer.",
                    )
                )
        finally:
            session.remove() if hasattr(session, "remove") else session.close()
