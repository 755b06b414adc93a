"""Bulk badge issuing for a workshop (issue 4): the ``badges.workshop`` job
(:func:`mediation.badges.bulk.run`) for the participants of one collective workshop, all enrolled in
the default pathway, against a plain Core executemany INSERT of the same number of assertion rows.

Set-up through the services (as the demo does): the default pathway template of the structure's
territory (:func:`mediation.pathways.versions.create_default_template`), its badge classes published
(:func:`mediation.badges.services.publish_classes`), ``n`` open cases of the structure enrolled
(:func:`mediation.pathways.services.enrol`), one workshop with those people. Everything happens in one
transaction rolled back at the end: the job is measured up to its flush, without the commit, and the
benchmark database is left as it was.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from bench.common import Results
from bench.database import BenchDatabase
from mediation.extensions import db


def _structure(session):
    """(structure, mediator, coordinator): the structure with the most open cases among those with a
    current mediator, and a coordinator of its territory."""
    from mediation.auth.models import Role, User
    from mediation.cases.models import Case
    from mediation.directory.models import Commune, StaffMembership, Structure

    mediators = (sa.select(StaffMembership.structure_id).join(User, User.id == StaffMembership.user_id)
                 .where(StaffMembership.ended_on.is_(None), User.role == Role.MEDIATOR))
    structure_id = session.scalar(
        sa.select(Case.structure_id).where(Case.state != "clos", Case.structure_id.in_(mediators))
        .group_by(Case.structure_id).order_by(sa.func.count().desc()).limit(1))
    structure = session.get(Structure, structure_id)
    mediator = session.scalar(
        sa.select(User).join(StaffMembership, StaffMembership.user_id == User.id)
        .where(StaffMembership.structure_id == structure_id, StaffMembership.ended_on.is_(None),
               User.role == Role.MEDIATOR).order_by(User.id).limit(1))
    territory_id = session.scalar(sa.select(Commune.territory_id).where(Commune.id == structure.commune_id))
    coordinator = session.scalar(sa.select(User).where(User.role == Role.COORDINATOR).order_by(User.id).limit(1))
    return structure, mediator, coordinator, territory_id


def _workshop(session, structure, mediator, cases):
    from mediation.cases.enums import ActivityType, PlaceType
    from mediation.cases.models import Activity, Participation
    from mediation.types import local_today

    activity = Activity(type=ActivityType.COLLECTIF, mediator_id=mediator.id, structure_id=structure.id,
                        date=local_today() - timedelta(days=1), duration_min=120, place_type=PlaceType.LIEU_ACTIVITE,
                        place_structure_id=structure.id, materiel=[], workshop_title="Atelier du banc d'essai",
                        participants_count=len(cases), created_by_id=mediator.id)
    session.add(activity)
    session.flush()
    session.execute(sa.insert(Participation), [
        {"activity_id": activity.id, "beneficiary_id": case.beneficiary_id, "case_id": case.id,
         "first_accompaniment": False} for case in cases])
    session.flush()
    return activity


def bench_badges(database: BenchDatabase, results: Results, n: int) -> None:
    from mediation.badges import bulk
    from mediation.badges import services as badge_services
    from mediation.badges.models import Assertion
    from mediation.cases.models import Case
    from mediation.pathways import services as pathway_services
    from mediation.pathways import versions
    from mediation.pathways.models import Milestone

    prefix = f"{database.backend}.badges"
    with database.app.app_context(), database.app.test_request_context():
        session = db.session
        try:
            structure, mediator, coordinator, territory_id = _structure(session)
            t0 = time.perf_counter()
            template = versions.create_default_template(session, coordinator, territory_id)
            badge_services.publish_classes(session, coordinator, template)
            cases = list(session.scalars(sa.select(Case).where(Case.structure_id == structure.id, Case.state != "clos")
                                         .order_by(Case.id).limit(n)))
            enrolled = []
            for case in cases:
                try:
                    with session.begin_nested():
                        pathway_services.enrol(session, mediator, case, template, structure_id=structure.id)
                    enrolled.append(case)
                except Exception:  # noqa: BLE001 - a case the mediator may not act on: left out
                    continue
            activity = _workshop(session, structure, mediator, cases)
            # The first step of the first level (the others wait for their prerequisites).
            milestone_id = session.scalar(
                sa.select(Milestone.id).where(Milestone.id.in_([c.milestone_id for c in bulk.step_choices(
                    session, activity)])).order_by(Milestone.level_id, Milestone.position).limit(1))
            results.add(f"{prefix}.setup_s", time.perf_counter() - t0)

            job = SimpleNamespace(id=None, created_by_id=mediator.id,
                                  params={"activity_id": activity.id, "milestone_id": milestone_id,
                                          "structure_id": structure.id})
            t0 = time.perf_counter()
            outcome = bulk.run(session, job, lambda *args: None)
            session.flush()
            job_s = time.perf_counter() - t0
            issued = outcome["Badges délivrés"]
            for label, count in outcome.items():
                if label.startswith("Ignorés"):
                    reason = label.split(": ", 1)[1].replace(" ", "_")
                    results.add(f"{prefix}.skipped.{reason}", count)

            # Baseline: the same number of assertion rows, one executemany (copies of the issued ones,
            # new uid, no validation: the live-validation unique index would refuse a second copy).
            columns = [c for c in Assertion.__table__.c if c.name not in ("id", "uid", "validation_id")]
            rows = [dict(zip([c.name for c in columns], row, strict=True)) for row in session.execute(
                sa.select(*columns).where(Assertion.activity_id == activity.id))]
            for row in rows:
                row["uid"] = secrets.token_hex(16)
            t0 = time.perf_counter()
            if rows:
                session.execute(sa.insert(Assertion), rows)
            session.flush()
            plain_s = time.perf_counter() - t0
        finally:
            session.rollback()

    results.add(f"{prefix}.participants", len(cases))
    results.add(f"{prefix}.enrolled", len(enrolled))
    results.add(f"{prefix}.validated", outcome["Étapes validées"])
    results.add(f"{prefix}.issued", issued)
    results.add(f"{prefix}.seconds", job_s)
    results.add(f"{prefix}.badges_per_s", issued / job_s if job_s else 0.0)
    results.add(f"{prefix}.plain_insert.rows", len(rows))
    results.add(f"{prefix}.plain_insert.seconds", plain_s)
    results.add(f"{prefix}.plain_insert.rows_per_s", len(rows) / plain_s if plain_s else 0.0)
    ratio = results.ratio(f"{prefix}.ratio_vs_plain", job_s / max(issued, 1), plain_s / max(len(rows), 1))
    results.verdict(f"{database.backend} — délivrance groupée de badges ({len(cases)} participants d'un atelier)",
                    f"{issued / job_s if job_s else 0:.0f} badges/s, {job_s:.1f} s, ×{ratio:.0f} vs INSERT",
                    issued > 0)
