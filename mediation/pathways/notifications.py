"""In-app notices for the staff of a structure: a case received or gone, referral news.

Written by the services in the same transaction as the change; read on the pathways home page.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from mediation.auth.models import Role
from mediation.pathways import policy
from mediation.pathways.enums import NotificationKind
from mediation.pathways.models import StructureNotification
from mediation.types import utcnow


def notify(session: Session, structure_id: int, kind: NotificationKind, *, other_structure_id: int | None = None,
           case_id: int | None = None, referral_id: int | None = None, count: int = 1) -> StructureNotification:
    notification = StructureNotification(structure_id=structure_id, kind=kind, other_structure_id=other_structure_id,
                                         case_id=case_id, referral_id=referral_id, count=count)
    session.add(notification)
    return notification


def _mine(user) -> sa.Select:
    query = sa.select(StructureNotification)
    if user.role != Role.MEDIATOR:
        return query.where(sa.false())
    return query.where(StructureNotification.structure_id.in_(policy.my_structure_ids(user)))


def unread_for(session: Session, user, limit: int = 50) -> list[StructureNotification]:
    """Unread notices of the structures a mediator works for, newest first."""
    return list(session.scalars(
        _mine(user).where(StructureNotification.read_at.is_(None))
        .options(joinedload(StructureNotification.structure), joinedload(StructureNotification.other_structure))
        .order_by(StructureNotification.created_at.desc(), StructureNotification.id.desc()).limit(limit)))


def mark_all_read(session: Session, user) -> int:
    """Mark every unread notice of the user's structures as read (by them); returns how many."""
    ids = [n.id for n in session.scalars(_mine(user).where(StructureNotification.read_at.is_(None)))]
    if ids:
        session.execute(sa.update(StructureNotification).where(StructureNotification.id.in_(ids))
                        .values(read_at=utcnow(), read_by_id=user.id).execution_options(synchronize_session=False))
    return len(ids)
