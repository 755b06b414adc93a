"""The habilitation to act under a mandate, DERIVED from the training records (one source of
truth): a staff member designated as aidant (``User.is_aidant``) is habilitated on a day when a
record of the Aidants Connect kind is in force (obtained on or before that day, expiring on or after
it). The mandates' policy asks :func:`habilitation_problem`; nothing else stores a habilitation."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from babel.dates import format_date
from sqlalchemy.orm import Session, aliased, object_session

from mediation.auth.models import User
from mediation.extensions import db
from mediation.training.models import HABILITATION_KIND, TrainingRecord
from mediation.types import local_today


def _session(user: User) -> Session:
    return object_session(user) or db.session


def long_date(day: date) -> str:
    """« 3 novembre 2026 »."""
    return format_date(day, format="long", locale="fr_FR")


def habilitation_records(user_id) -> sa.Select:
    """The user's Aidants Connect records, the latest expiry first."""
    return (sa.select(TrainingRecord)
            .where(TrainingRecord.user_id == user_id, TrainingRecord.kind == HABILITATION_KIND)
            .order_by(TrainingRecord.expires_on.desc(), TrainingRecord.id.desc()))


def in_force_clause(day: date, entity=TrainingRecord):
    return sa.and_(entity.obtained_on <= day, sa.or_(entity.expires_on.is_(None), entity.expires_on >= day))


def habilitated_users(day: date | None = None) -> sa.Select:
    """Ids of the users holding an Aidants Connect habilitation in force on ``day``, as a subquery
    (on its own alias: usable inside a query on the records themselves)."""
    held = aliased(TrainingRecord)
    return sa.select(held.user_id).where(held.kind == HABILITATION_KIND, in_force_clause(day or local_today(), held))


# Pages ask many times per request (each mandate of a list): the answer is kept in the session's
# ``info`` by (user, day), forgotten whenever a training record is flushed and at the end of each
# transaction (commit or rollback).
_CACHE = "mediation.training.habilitations"


@sa.event.listens_for(Session, "after_flush")
def _forget_on_change(session, _flush_context):
    if any(isinstance(o, TrainingRecord) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_CACHE, None)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, _previous_transaction):
    session.info.pop(_CACHE, None)


@sa.event.listens_for(Session, "after_commit")
def _forget_on_commit(session):
    session.info.pop(_CACHE, None)


def current_habilitation(user: User, day: date | None = None) -> TrainingRecord | None:
    """The habilitation record in force on ``day`` (the one expiring last), or None."""
    day = day or local_today()
    session = _session(user)
    cache = session.info.setdefault(_CACHE, {})
    key = (user.id, day)
    if key not in cache:
        cache[key] = session.scalar(habilitation_records(user.id).where(in_force_clause(day)).limit(1))
    return cache[key]


def habilitation_problem(user: User, day: date | None = None) -> str | None:
    """Why the training records do not habilitate ``user`` on ``day`` (French), or None."""
    day = day or local_today()
    if current_habilitation(user, day) is not None:
        return None
    latest = _session(user).scalar(habilitation_records(user.id).where(TrainingRecord.obtained_on <= day).limit(1))
    if latest is not None and latest.expires_on is not None and latest.expires_on < day:
        return (f"Votre habilitation Aidants Connect a expiré le {long_date(latest.expires_on)} : vous ne pouvez "
                "plus créer ni utiliser de mandats. Suivez la formation de renouvellement, puis faites enregistrer "
                "la nouvelle attestation dans vos formations. La coordination de votre territoire en est informée.")
    return ("Votre habilitation n’est pas enregistrée : aucune formation Aidants Connect en cours de validité "
            "ne figure dans vos formations. Demandez à la coordination de l’enregistrer avec son attestation.")
