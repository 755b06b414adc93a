"""In-app notices: the one list of kinds (:class:`NotificationKind`, structures', aidants' and the
coordination's notices), the notices for the staff of a structure (a case received or gone, referral
news, a mediator lent) and those for the coordination of a territory (an aidant's habilitation
expired).

Written by the services in the same transaction as the change; read on the pathways home page.
In the directory (structures and their staff), below every domain that notifies.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from mediation.auth.models import Role
from mediation.directory.models import StaffMembership
from mediation.directory.scopes import active_membership_clause
from mediation.extensions import db
from mediation.types import LabelledEnum, UTCDateTime, enum_column, utcnow


class NotificationKind(LabelledEnum):
    """Every kind of in-app notice, one list: a structure's (cases, referrals, loans) and an aidant's
    (mandates, :class:`mediation.mandates.models.MandateNotification`)."""

    DOSSIER_RECU = ("dossier_recu", "Dossier confié à votre structure")
    DOSSIER_PARTI = ("dossier_parti", "Dossier transféré à une autre structure")
    DOSSIER_REAFFECTE = ("dossier_reaffecte", "Dossier confié à un autre médiateur de votre structure")
    ORIENTATION_RECUE = ("orientation_recue", "Nouvelle orientation reçue")
    ORIENTATION_ACCEPTEE = ("orientation_acceptee", "Orientation acceptée")
    ORIENTATION_REFUSEE = ("orientation_refusee", "Orientation refusée")
    ORIENTATION_ANNULEE = ("orientation_annulee", "Orientation annulée")
    ORIENTATION_HONOREE = ("orientation_honoree", "Orientation honorée")
    MISE_A_DISPOSITION = ("mise_a_disposition", "Médiateur mis à disposition")
    EXPIRATION_PROCHE = ("expiration_proche", "Mandat bientôt expiré")
    DEMANDE_REVOCATION = ("demande_revocation", "Demande de révocation à traiter")
    HABILITATION_EXPIREE = ("habilitation_expiree", "Habilitation d’aidant expirée")


# The kinds of an aidant's notices (mandates); HABILITATION_EXPIREE is the coordination's
# (:class:`CoordinationNotification`); every other kind is a structure's notice.
MANDATE_KINDS = frozenset({NotificationKind.EXPIRATION_PROCHE, NotificationKind.DEMANDE_REVOCATION})


class StructureNotification(db.Model):
    """An in-app notice for the staff of a structure (case received or gone, referral news)."""

    __tablename__ = "structure_notifications"
    __table_args__ = (
        sa.Index("ix_structure_notifications_unread", "structure_id", "read_at"),
        sa.CheckConstraint("count >= 1", name="count_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(sa.ForeignKey("structures.id", ondelete="RESTRICT"), index=False, nullable=False)  # ix_structure_notifications_unread
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind, 30))
    other_structure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("structures.id", ondelete="RESTRICT"), index=True, nullable=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="RESTRICT"), index=True, nullable=True)
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id", ondelete="RESTRICT"), index=True, nullable=True)
    count: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True, nullable=True)

    structure = relationship("Structure", foreign_keys=[structure_id])
    other_structure = relationship("Structure", foreign_keys=[other_structure_id])


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
    return query.where(StructureNotification.structure_id.in_(
        sa.select(StaffMembership.structure_id).where(active_membership_clause(user.id))))


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


# --- the coordination of a territory ------------------------------------------------------------

class CoordinationNotification(db.Model):
    """An in-app notice for the coordinators of a territory (and the administrators): about a staff
    member (``user_id``) working in one of its structures, e.g. an aidant whose habilitation expired."""

    __tablename__ = "coordination_notifications"
    __table_args__ = (sa.Index("ix_coordination_notifications_unread", "territory_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int] = mapped_column(sa.ForeignKey("territories.id", ondelete="RESTRICT"), index=False)  # ix_coordination_notifications_unread
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind, 30))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    message: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)

    territory = relationship("Territory")
    user = relationship("User", foreign_keys=[user_id])


def notify_coordination(session: Session, territory_id: int, kind: NotificationKind, message: str, *,
                        user_id: int | None = None) -> CoordinationNotification:
    notification = CoordinationNotification(territory_id=territory_id, kind=kind, message=message, user_id=user_id)
    session.add(notification)
    return notification


def _coordination(user) -> sa.Select:
    query = sa.select(CoordinationNotification)
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.COORDINATOR:
        return query.where(CoordinationNotification.territory_id == user.territory_id)
    return query.where(sa.false())


def unread_for_coordination(session: Session, user, limit: int = 50) -> list[CoordinationNotification]:
    """Unread notices of the coordinator's territory (every territory for administrators), newest first."""
    return list(session.scalars(
        _coordination(user).where(CoordinationNotification.read_at.is_(None))
        .options(joinedload(CoordinationNotification.territory))
        .order_by(CoordinationNotification.created_at.desc(), CoordinationNotification.id.desc()).limit(limit)))


def mark_coordination_read(session: Session, user) -> int:
    """Mark every unread notice the coordinator sees as read (by them); returns how many."""
    ids = [n.id for n in session.scalars(_coordination(user).where(CoordinationNotification.read_at.is_(None)))]
    if ids:
        session.execute(sa.update(CoordinationNotification).where(CoordinationNotification.id.in_(ids))
                        .values(read_at=utcnow(), read_by_id=user.id).execution_options(synchronize_session=False))
    return len(ids)
