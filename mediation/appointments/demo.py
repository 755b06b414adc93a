"""Demo data of appointments: two places take appointments, with a blocked period, appointments in
every state (booked, cancelled, moved, attended, missed) and self-assessed services (published and
waiting for review)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.appointments import assessments, services
from mediation.auth.models import Role
from mediation.cases.enums import CaseState
from mediation.cases.models import Case
from mediation.directory.models import StaffMembership
from mediation.types import local_today, to_paris, utcnow

SERVICE = "Aide aux démarches administratives"


def load_appointments_demo(session: Session, *, territory, structures, users, **_) -> dict:
    coordinator = next(u for u in users if u.role == Role.COORDINATOR)
    staffed = {}
    for m in session.scalars(sa.select(StaffMembership).where(StaffMembership.ended_on.is_(None))
                             .order_by(StaffMembership.id)):
        if m.user.role == Role.MEDIATOR:
            staffed.setdefault(m.structure_id, m.user)
    places = [s for s in structures if s.id in staffed][:2]
    booked = []
    for place in places:
        mediator = staffed[place.id]
        place.services = sorted(set(place.services or []) | {SERVICE})
        place.horaires = "Mo-Fr 09:00-12:30,13:30-17:30"
        offer = services.save_offer(session, mediator, place, services.OfferInput(service=SERVICE, duration_min=30,
                                                                                  capacity=2))
        start = utcnow() + timedelta(days=2)
        services.block_time(session, mediator, place, start.replace(hour=8, minute=0, second=0, microsecond=0),
                            start.replace(hour=9, minute=0, second=0, microsecond=0), "Réunion d’équipe")
        for level, status_published in (("plusieurs_seances", True), ("information", False)):
            item = assessments.save(session, mediator, place, assessments.AssessmentInput(
                service=SERVICE if status_published else "Maîtrise des outils numériques du quotidien",
                level=level, publics=["Seniors"], accessibility=["Illettrisme"]))
            if status_published:
                assessments.publish(session, coordinator, item)
        cases = list(session.scalars(sa.select(Case).where(Case.structure_id == place.id, Case.state == CaseState.OPEN)
                                     .order_by(Case.id).limit(5)))
        free = services.next_free_slots(session, offer, limit=10)
        for n, case in enumerate(cases):
            booked.append((mediator, services.book(session, mediator, offer=offer, starts_at=free[n * 2].starts_at,
                                                   case=case, notify_person=False), free))
    if len(booked) >= 5:
        (m0, a0, _), (m1, a1, free1), (m2, a2, _), (m3, a3, _), (m4, a4, _) = booked[:5]
        services.cancel(session, m1, a1)
        services.move(session, m2, a2, next(s.starts_at for s in free1 if s.starts_at != a2.starts_at
                                            and s.free and s.starts_at not in {a.starts_at for _, a, _ in booked}))
        for appointment, came in ((a3, True), (a4, False)):
            shift = (to_paris(appointment.starts_at).date() - local_today()).days + 1
            appointment.starts_at -= timedelta(days=shift)
            appointment.ends_at -= timedelta(days=shift)
            session.flush()
            services.record_attendance(session, m3 if came else m4, appointment, came)
    return {"appointments": len(booked)}
