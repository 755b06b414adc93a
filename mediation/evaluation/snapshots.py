"""The impact dashboards kept a few minutes (mediation.snapshots: the store and its rules).

- **Who shares a copy.** Those whose authorised filters (:func:`~mediation.evaluation.scope.authorise`),
  comparison, suppression threshold and access are the same: they would compute the very same
  figures. Access: administrators and funders see every structure (a funder's filter names its
  programme), coordinators their territory's structures (the filter names the territory). A
  mediator's figures depend on the structures they work for today: computed on each view, never kept.
- **What a copy holds.** The :class:`~mediation.evaluation.results.Dashboard` as printed (aggregates,
  statistical disclosure control applied), without the true counts behind the cells that the
  disclosure control used (:func:`published_only`). The page, its XLSX and CSV tables and the open data use
  it, with its time (« Chiffres calculés le … », « Produit le ») ; the API and the PDF reports always
  compute.
- **Refresh.** The last viewer's filters are authorised again; a copy whose viewer has lost access,
  or whose filters their role now changes, is deleted.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session

from mediation import snapshots
from mediation.auth.models import Role, User
from mediation.errors import DomainError
from mediation.evaluation import definitions, indicators, observatoire, results
from mediation.evaluation.page import page_dashboard
from mediation.evaluation.scope import EvaluationFilter, Scope, authorise

KIND = "evaluation"
FORMAT = snapshots.fields_digest(results, observatoire, definitions)


def access_of(user: User) -> str | None:
    """What the user's figures depend on besides the filters; None: no shared copy (mediators)."""
    if user.role in (Role.ADMIN, Role.FUNDER):
        return "tout"
    if user.role == Role.COORDINATOR and user.territory_id is not None:
        return f"territoire:{user.territory_id}"
    return None


def _params(f: EvaluationFilter, compare: str | None) -> dict:
    return {**f.query_args(), **({"comparer": compare} if compare else {})}


def key_of(f: EvaluationFilter, compare: str | None, threshold: int, access: str, *, page: bool = False) -> str:
    """``page``: the web page's short copy (long tables cut as the page prints them,
    :func:`~mediation.evaluation.page.page_dashboard`), kept beside the complete one of the downloads:
    a national dashboard's complete copy (thousands of rows per table) took 0.3 s to read back."""
    return snapshots.key_of(KIND, filtres=_params(f, compare), seuil=threshold, acces=access, format=FORMAT,
                            forme="page" if page else "complet")


def published_only(dashboard: results.Dashboard) -> results.Dashboard:
    """``dashboard`` without the true counts behind its cells and figures (``count``: what the
    disclosure control used, already done; never printed, never kept): set to None in place."""
    seen: set[int] = set()

    def walk(value) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, results.Cell | results.Figure):
            value.count = None
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(dashboard)
    return dashboard


def dashboard(scope: Scope, *, compare: str | None = None, wrote_at: float | None = None,
              fresh: bool = False, page: bool = False) -> results.Dashboard:
    """The scope's dashboard: a recent copy when one is kept for these figures (see the module and
    :func:`mediation.snapshots.get_or_compute`), else computed now. ``page``: as the web page prints
    it (:func:`~mediation.evaluation.page.page_dashboard`), else complete (the downloads)."""
    threshold = indicators.suppression_threshold()
    access = access_of(scope.user)
    if access is None:
        computed = indicators.compute_dashboard(scope, threshold=threshold, compare=compare)
        return page_dashboard(computed) if page else computed
    complete, short = (key_of(scope.filter, compare, threshold, access, page=p) for p in (False, True))
    served = snapshots.get_or_compute(
        scope.session, kind=KIND, key=short if page else complete, params=_params(scope.filter, compare),
        user_id=scope.user.id, expected=results.Dashboard, shapes={complete: None, short: page_dashboard},
        compute=lambda: published_only(indicators.compute_dashboard(scope, threshold=threshold, compare=compare)),
        wrote_at=wrote_at, fresh=fresh)
    return dataclasses.replace(served.value, snapshot=True) if served.kept else served.value


def refresh(session: Session, *, after_each=None) -> dict[str, int]:
    """Compute again the impact dashboards kept and still viewed (:func:`mediation.snapshots.refresh`)."""
    return snapshots.refresh(session, KIND, lambda row: _recompute(session, row), after_each=after_each)


def _recompute(session: Session, row) -> results.Dashboard | None:
    user = session.get(User, row.user_id)
    if user is None or not user.is_active_account or access_of(user) is None:
        return None
    params = dict(row.params)
    compare = params.pop("comparer", None)
    try:
        f = EvaluationFilter.from_params(params)
        if authorise(session, user, f) != f:  # the role now imposes other filters: no longer theirs
            return None
    except (DomainError, ValueError):
        return None
    threshold = indicators.suppression_threshold()
    shapes = {key_of(f, compare, threshold, access_of(user), page=p): p for p in (False, True)}
    if row.key not in shapes:
        return None  # the threshold, the viewer's access or the format changed: another copy
    computed = published_only(indicators.compute_dashboard(Scope(session, user, f), threshold=threshold,
                                                           compare=compare))
    return page_dashboard(computed) if shapes[row.key] else computed
