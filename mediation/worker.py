"""RQ entry point: ``flask --app mediation worker`` starts a worker; RQ calls :func:`run`.

RQ forks a "work horse" process for each job. The worker command hands its app to :func:`use_app`
before the first fork, so that every work horse inherits an app already built instead of running
``create_app`` again. A work horse first drops the database connections it inherited: they belong
to the worker process (a connection used by two processes is corrupted), so it opens its own; the
parent's are left open for the parent, not closed (SQLAlchemy: ``engine.dispose(close=False)``).
Without an app handed over (``rq worker`` started by hand), each work horse builds one, as before.
"""

from __future__ import annotations

import os

from flask import Flask

_app: Flask | None = None
_app_pid: int | None = None  # the process whose database connections the app's pools hold


def use_app(app: Flask) -> None:
    """Run the jobs of this process, and of the processes it forks, in ``app``."""
    global _app, _app_pid
    _app, _app_pid = app, os.getpid()


def _forget_inherited_connections(app: Flask) -> None:
    """In a forked process: new, empty pools; the inherited connections are dropped unclosed."""
    from mediation.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def _get_app() -> Flask:
    global _app_pid
    if _app is None:
        from mediation import create_app

        use_app(create_app())
    elif _app_pid != os.getpid():
        _forget_inherited_connections(_app)
        _app_pid = os.getpid()
    return _app


def run(job_id: int) -> None:
    from mediation.jobs.services import run_job

    run_job(_get_app(), job_id)
