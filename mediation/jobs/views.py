"""Progress page of a job: a <progress> bar refreshed by the browser (no JavaScript needed)."""

from __future__ import annotations

import sqlalchemy as sa
from babel.numbers import format_decimal
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from mediation.auth.forms import EmptyForm
from mediation.auth.models import Role
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.jobs import services
from mediation.jobs.models import Job
from mediation.policy import AUTHENTICATED, access, found_or_404

bp = Blueprint("jobs", __name__, url_prefix="/taches")


def _own_job(job_id: int) -> Job:
    query = sa.select(Job).where(Job.id == job_id)
    if current_user.role != Role.ADMIN:
        query = query.where(Job.created_by_id == current_user.id)
    job = found_or_404(db.session.scalar(query))
    return job


@bp.route("/<int:job_id>")
@access(AUTHENTICATED)
def job_detail(job_id: int):
    job = services.live_progress(_own_job(job_id))
    db.session.expunge(job)  # the overlay is for display only
    return render_template("jobs/detail.html", job=job, form=EmptyForm(), progress_label=_label(job))


def _label(job: Job) -> str:
    label = f"Avancement : {job.percent} %"
    if job.total:
        label += f" ({format_decimal(job.progress, locale='fr_FR')} sur {format_decimal(job.total, locale='fr_FR')})"
    return label


@bp.route("/<int:job_id>/etat")
@access(AUTHENTICATED)
def job_status(job_id: int):
    """The same figures as the page, as JSON, for the progressive-enhancement script."""
    job = services.live_progress(_own_job(job_id))
    db.session.expunge(job)
    return {"status": job.status.value, "finished": job.finished, "percent": job.percent,
            "progress": job.progress, "total": job.total, "label": _label(job)}


@bp.route("/<int:job_id>/relancer", methods=["POST"])
@access(AUTHENTICATED)
def job_retry(job_id: int):
    job = _own_job(job_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            services.retry(db.session, job)
        except DomainError as error:
            flash(error.message, "error")
    return redirect(url_for("jobs.job_detail", job_id=job.id))
