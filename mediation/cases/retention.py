"""Retention: beneficiaries inactive for ``MEDIATION_RETENTION_MONTHS`` (24 by default) are anonymised.

A beneficiary is due when all of these hold:

- identified (not already anonymous) and created before the cut-off;
- no case in progress (every case closed, or none), and no case closed after the cut-off;
- no participation in a (non-deleted) activity dated on or after the cut-off day.

Merged records (soft-deleted, ``merged_into_id``) follow the same rule once merged for longer
than the delay (and at least the 30 days during which a merge can be undone): their copy of the
identity then serves nothing.

Anonymising erases the identity, contact details, birth year, notes and external id of the person
(``anonymous = true``, ``anonymised_at``), the notes of their cases and of their individual
sessions. It keeps the record itself (its id: the person still counts once, not once per
participation like a participant recorded anonymously), the participations, activities, genre,
status and commune of residence, and freezes the age band at the one derived from the birth year
today (the national rule: age = this year − birth year); the bands of the past years where it
differed go to ``anonymised_age_bands`` (the evaluation counts ages in the period's last year).
Every figure of every past period therefore stays the same. Audited per person and per run,
without personal data.

Run it with ``flask --app mediation retention --dry-run`` / ``--apply`` (cron), or as the job
``cases.retention`` (page « Conservation des données »).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.cases import signals
from mediation.cases.duplicates import UNDO_DAYS
from mediation.cases.enums import ActivityType, CaseState
from mediation.cases.models import (
    Activity,
    AnonymisedAgeBand,
    Beneficiary,
    Case,
    CaseNote,
    Participation,
    tranche_age_for,
)
from mediation.jobs import register
from mediation.types import LOCAL_TIMEZONE, utcnow

DEFAULT_MONTHS = 24
BATCH = 500


def retention_months(app=None) -> int:
    """``MEDIATION_RETENTION_MONTHS`` (24 by default)."""
    app = app or current_app
    return max(1, int(app.config.get("MEDIATION_RETENTION_MONTHS") or DEFAULT_MONTHS))


def months_before(moment: datetime, months: int) -> datetime:
    """The same day ``months`` earlier (clamped to the end of shorter months)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass
class RetentionReport:
    months: int
    cutoff: datetime
    due: int = 0
    anonymised: int = 0
    case_notes_erased: int = 0
    activity_notes_erased: int = 0
    applied: bool = False

    def as_result(self) -> dict:
        """For the job page (French labels, counts only)."""
        return {
            "Délai d'inactivité (mois)": self.months,
            "Inactifs depuis le": self.cutoff.date().strftime("%d/%m/%Y"),
            "Bénéficiaires anonymisés": self.anonymised,
            "Notes de dossier effacées": self.case_notes_erased,
            "Notes d'accompagnement effacées": self.activity_notes_erased,
        }


def due_for_anonymisation(months: int, now: datetime | None = None) -> sa.Select:
    """Ids of the beneficiaries due for anonymisation (see the module docstring).

    Driven by the identified records created before the cut-off (``NOT anonymous``: the partial
    index ``ix_beneficiaries_identified_created_at``), each checked by key for a case or a
    participation that keeps it (``NOT EXISTS``): ``NOT IN`` read every participation since the
    cut-off (nearly all of them) for a few hundred candidates."""
    now = now or utcnow()
    cutoff = months_before(now, months)
    # A merged record keeps its identity as long as the merge can be undone (30 days).
    merge_cutoff = min(cutoff, now - timedelta(days=UNDO_DAYS))
    kept_by_case = sa.exists().where(Case.beneficiary_id == Beneficiary.id,
                                     sa.or_(Case.state != CaseState.CLOSED, Case.closed_at >= cutoff))
    recent_activity = sa.exists().where(
        Participation.beneficiary_id == Beneficiary.id, Activity.id == Participation.activity_id,
        Activity.date >= cutoff.date(), Activity.deleted_at.is_(None))
    return sa.select(Beneficiary.id).where(
        sa.not_(Beneficiary.anonymous),
        Beneficiary.created_at < cutoff,
        sa.or_(Beneficiary.deleted_at.is_(None), Beneficiary.deleted_at < merge_cutoff),
        sa.not_(kept_by_case),
        sa.not_(recent_activity),
    )


def _anonymise_batch(session: Session, ids: list[int], today: date, report: RetentionReport) -> None:
    first_years = dict(session.execute(
        sa.select(Participation.beneficiary_id, sa.func.min(Activity.date))
        .join(Activity, Activity.id == Participation.activity_id)
        .where(Participation.beneficiary_id.in_(ids)).group_by(Participation.beneficiary_id)).all())
    birth_years = dict(session.execute(sa.select(Beneficiary.id, Beneficiary.birth_year)
                                       .where(Beneficiary.id.in_(ids))).all())
    by_band: dict[str | None, list[int]] = {}
    past_bands = []
    for beneficiary_id, birth_year in birth_years.items():
        band = tranche_age_for(birth_year, today).value if birth_year is not None else None
        by_band.setdefault(band, []).append(beneficiary_id)
        first = first_years.get(beneficiary_id)
        if birth_year is None or first is None:
            continue
        first_year = first.year if isinstance(first, date) else date.fromisoformat(str(first)[:10]).year
        # The evaluation counts ages in the last year of the period: keep the band of each past year
        # (from the first accompaniment on) where it differs from the frozen one.
        for year in range(first_year, today.year):
            past = tranche_age_for(birth_year, year).value
            if past != band:
                past_bands.append({"beneficiary_id": beneficiary_id, "year": year, "tranche_age": past})
    now = utcnow()
    erased = {"first_name": None, "last_name": None, "email": None, "phone": None, "no_phone": False,
              "birth_year": None, "notes": None, "external_id": None, "anonymous": True,
              "random_attributes": False, "anonymised_at": now, "updated_at": now}
    if past_bands:
        session.execute(sa.insert(AnonymisedAgeBand), past_bands)
    for band, band_ids in by_band.items():
        values = dict(erased)
        if band is not None:  # people without birth year keep their (empty) band
            values["tranche_age"] = band
        session.execute(sa.update(Beneficiary).where(Beneficiary.id.in_(band_ids)).values(**values)
                        .execution_options(synchronize_session=False))
    # Anonymised people keep counting once (``counted_per_participation`` is false for them): the
    # rollups do not change; refreshed all the same (by the statistics' subscriber), so that they
    # stay exact by construction.
    signals.beneficiaries_changed.send(session, beneficiary_ids=ids)
    case_ids = sa.select(Case.id).where(Case.beneficiary_id.in_(ids))
    report.case_notes_erased += session.execute(
        sa.delete(CaseNote).where(CaseNote.case_id.in_(case_ids)).execution_options(synchronize_session=False)
    ).rowcount or 0
    individual = (
        sa.select(Participation.activity_id).join(Activity, Activity.id == Participation.activity_id)
        .where(Participation.beneficiary_id.in_(ids), Activity.type == ActivityType.INDIVIDUEL)
    )
    report.activity_notes_erased += session.execute(
        sa.update(Activity).where(Activity.id.in_(individual), Activity.notes.is_not(None))
        .values(notes=None).execution_options(synchronize_session=False)
    ).rowcount or 0
    for beneficiary_id in ids:
        record(session, "beneficiary.anonymised", object_type=Beneficiary.__tablename__, object_id=beneficiary_id,
               details={"reason": "retention", "months": report.months})
    report.anonymised += len(ids)


def run_retention(session: Session, *, months: int, apply: bool, actor=None, now: datetime | None = None,
                  progress=None) -> RetentionReport:
    """Count (``apply=False``) or anonymise the beneficiaries due. Flushes only."""
    now = now or utcnow()
    report = RetentionReport(months=months, cutoff=months_before(now, months))
    due = due_for_anonymisation(months, now)
    if not apply:  # the page and the dry run: a count, no ids loaded
        report.due = session.scalar(sa.select(sa.func.count()).select_from(due.subquery())) or 0
        return report
    ids = list(session.scalars(due.order_by(Beneficiary.id)))
    report.due = len(ids)
    session.flush()
    today = now.astimezone(LOCAL_TIMEZONE).date()  # the year of the age bands is a French year
    for start in range(0, len(ids), BATCH):
        _anonymise_batch(session, ids[start:start + BATCH], today, report)
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))
    report.applied = True
    record(session, "retention.run", actor=actor, object_type="system",
           details={"months": months, "cutoff": report.cutoff.date().isoformat(), "anonymised": report.anonymised,
                    "case_notes_erased": report.case_notes_erased,
                    "activity_notes_erased": report.activity_notes_erased})
    session.expire_all()
    return report


@register("cases.retention")
def retention_job(session: Session, job, progress):
    """Job handler: anonymise what is due (``params["months"]`` or the configured delay)."""
    months = int(job.params.get("months") or retention_months())
    actor = job.created_by_id
    report = run_retention(session, months=months, apply=True, actor=actor, progress=progress)
    progress(report.anonymised, report.anonymised)
    result = report.as_result()
    if job.params.get("return_url"):
        result["url"] = job.params["return_url"]
    return result
