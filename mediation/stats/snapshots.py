"""« Statistiques » kept a few minutes (mediation.snapshots: the store and its rules).

An administrator's figures (every structure) and a coordinator's (their territory's) depend on the
filters and on that access only: those who share both share a copy. A mediator's figures are their
own activities: computed on each view, never kept. The page and the workbook say when a copy was
computed. On refresh, the last viewer's mediator filter is checked again against those they may
still choose (:func:`~mediation.stats.coop.mediator_allowed`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from mediation import snapshots
from mediation.auth.models import Role, User
from mediation.cases.enums import ActivityType
from mediation.stats import coop
from mediation.stats.coop import CoopFilters, CoopStatistics, coop_statistics
from mediation.types import utcnow

KIND = "statistiques"
FORMAT = snapshots.fields_digest(coop)


def access_of(user: User) -> str | None:
    if user.role == Role.ADMIN:
        return "tout"
    if user.role == Role.COORDINATOR and user.territory_id is not None:
        return f"territoire:{user.territory_id}"
    return None


def _params(filters: CoopFilters) -> dict:
    return {"du": filters.start.isoformat(), "au": filters.end.isoformat(),
            "type": [t.value for t in filters.types], "mediateur": filters.mediator_id}


def _key(filters: CoopFilters, access: str) -> str:
    return snapshots.key_of(KIND, filtres=_params(filters), acces=access, format=FORMAT)


def statistics(session: Session, user: User, filters: CoopFilters, *, wrote_at: float | None = None,
               fresh: bool = False) -> snapshots.Served:
    """``user``'s statistics over ``filters``: a recent copy when one is kept for the same figures
    (:func:`mediation.snapshots.get_or_compute`), else computed now. ``Served.kept`` says which."""
    access = access_of(user)
    if access is None:
        computed_at = utcnow()
        return snapshots.Served(coop_statistics(session, user, filters), computed_at, kept=False)
    return snapshots.get_or_compute(
        session, kind=KIND, key=_key(filters, access), params=_params(filters), user_id=user.id,
        compute=lambda: coop_statistics(session, user, filters), expected=CoopStatistics,
        wrote_at=wrote_at, fresh=fresh)


def refresh(session: Session, *, after_each=None) -> dict[str, int]:
    """Compute again the statistics kept and still viewed (:func:`mediation.snapshots.refresh`)."""
    return snapshots.refresh(session, KIND, lambda row: _recompute(session, row), after_each=after_each)


def _recompute(session: Session, row) -> CoopStatistics | None:
    user = session.get(User, row.user_id)
    access = access_of(user) if user is not None and user.is_active_account else None
    if access is None:
        return None
    params = row.params
    try:
        filters = CoopFilters(start=date.fromisoformat(params["du"]), end=date.fromisoformat(params["au"]),
                              types=tuple(ActivityType(t) for t in params.get("type") or ()),
                              mediator_id=params.get("mediateur"))
    except (KeyError, ValueError, TypeError):
        return None
    if _key(filters, access) != row.key:
        return None  # the viewer's access or the format changed: another copy
    if filters.mediator_id is not None and coop.mediator_allowed(session, user, filters.mediator_id) is None:
        return None
    return coop_statistics(session, user, filters)
