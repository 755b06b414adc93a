"""Authorization matrix: job progress pages (the job's creator and admins only)."""

from mediation.extensions import db
from mediation.jobs.models import Job, JobStatus
from tests.authz.roles import expect


def _job_of_mediator(n, status=JobStatus.DONE) -> int:
    job = Job(kind="test.matrix", created_by_id=n.mediator.id, status=status, error="échec")
    db.session.add(job)
    db.session.flush()
    return job.id


ROUTES = {
    "jobs.job_detail": {
        "url": lambda n: f"/taches/{_job_of_mediator(n)}",
        "expect": expect(404, anonymous=302, admin=200, mediator=200),
    },
    "jobs.job_status": {
        "url": lambda n: f"/taches/{_job_of_mediator(n, JobStatus.RUNNING)}/etat",
        "expect": expect(404, anonymous=302, admin=200, mediator=200),
    },
    "jobs.job_retry": {
        "url": lambda n: f"/taches/{_job_of_mediator(n, JobStatus.DONE)}/relancer",
        "method": "POST",
        "expect": expect(404, anonymous=302, admin=302, mediator=302),
        "note": "a finished job cannot be retried: the creator is sent back with a message",
    },
}
