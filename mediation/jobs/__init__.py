"""One job abstraction for long work.

- ``MEDIATION_JOBS_BACKEND="rq"`` (set automatically when ``REDIS_URL`` is set): jobs go to an RQ queue on
  Redis, run by ``flask --app mediation worker`` processes on any machine.
- ``"thread"`` (embedded default): an in-process worker thread.
- ``"eager"`` (tests): the job runs at once in the caller's session and transaction.

A handler is ``fn(session, job, progress)``; it raises DomainError for a user-facing failure.
Everything it writes is committed together at the end, or not at all.
"""

from mediation.jobs.services import enqueue, register, retry, run_job  # noqa: F401
