"""RQ entry point: ``flask --app mediation worker`` starts a worker; RQ calls :func:`run`."""

from __future__ import annotations

_app = None


def _get_app():
    global _app
    if _app is None:
        from mediation import create_app

        _app = create_app()
    return _app


def run(job_id: int) -> None:
    from mediation.jobs.services import run_job

    run_job(_get_app(), job_id)
