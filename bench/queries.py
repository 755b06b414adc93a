"""Read-side benchmarks, each against a baseline measured in the same run on the same data:

- case list and search through the cases domain's own list query (``search_cases`` + pagination +
  the page's last-activity query), against a hand-written indexed SQL select returning the same ids;
- the territory dashboard ("means") from the rollups, against the raw ``GROUP BY`` queries that
  produce the same numbers (``means_raw``), for the busiest territory and for the whole country;
- the incremental rollup refresh that logging an activity costs.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from bench.common import Results, measure
from bench.database import BenchDatabase
from mediation.auth.models import Role, User
from mediation.cases.models import Activity, Case
from mediation.directory.scopes import structure_scope
from mediation.extensions import db
from mediation.pagination import paginate
from mediation.stats import dashboard, rollups

PAGE = 25
DASHBOARD_TARGET_MS = 300


def _ids(session, select) -> list[int]:
    return [row[0] for row in session.execute(select)]


def _busiest_users(session):
    """A mediator of the structure with the most cases, the coordinator of the territory with the
    most activity, an administrator."""
    structure_id = session.scalar(sa.select(Case.structure_id).group_by(Case.structure_id)
                                  .order_by(sa.func.count().desc()).limit(1))
    mediator = session.scalar(sa.text(
        "SELECT u.id FROM users u JOIN staff_memberships m ON m.user_id = u.id "
        "WHERE u.role = 'mediator' AND NOT u.is_aidant AND m.structure_id = :s AND m.ended_on IS NULL "
        "ORDER BY u.id LIMIT 1"), {"s": structure_id})
    territory_id = session.scalar(sa.text(
        "SELECT c.territory_id FROM activities a JOIN structures s ON s.id = a.structure_id "
        "JOIN communes c ON c.id = s.commune_id GROUP BY c.territory_id ORDER BY count(*) DESC LIMIT 1"))
    coordinator = session.scalar(sa.select(User.id).where(User.role == Role.COORDINATOR,
                                                          User.territory_id == territory_id).limit(1))
    admin = session.scalar(sa.select(User.id).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
    return (session.get(User, mediator), session.get(User, coordinator), session.get(User, admin), territory_id)


# --- case list and search -----------------------------------------------------------------------

def _raw_case_page(scope_ids, *, page=1, name=None, number=None, state=None):
    where, params = ["1 = 1"], {"limit": PAGE, "offset": (page - 1) * PAGE}
    join = ""
    if scope_ids is not None:
        where.append("c.structure_id IN :scope")
        params["scope"] = scope_ids
    if state:
        where.append("c.state = :state")
        params["state"] = state
    if name:
        join = "JOIN beneficiaries b ON b.id = c.beneficiary_id"
        where.append("(lower(b.first_name) LIKE :w OR lower(b.last_name) LIKE :w)")
        params["w"] = f"%{name.lower()}%"
    if number:
        where.append("(c.id = :n OR c.beneficiary_id = :n)")
        params["n"] = number
    condition = " AND ".join(where)
    page_sql = sa.text(
        f"SELECT c.id FROM cases c {join} WHERE {condition} "  # noqa: S608 - fixed fragments
        "ORDER BY (c.state = 'clos'), c.updated_at DESC, c.id DESC "
        "LIMIT :limit OFFSET :offset")
    count_sql = sa.text(f"SELECT count(*) FROM cases c {join} WHERE {condition}")  # noqa: S608
    if scope_ids is not None:
        page_sql = page_sql.bindparams(sa.bindparam("scope", expanding=True))
        count_sql = count_sql.bindparams(sa.bindparam("scope", expanding=True))
    return page_sql, count_sql, params


def bench_case_lists(database: BenchDatabase, results: Results, repeat: int) -> None:
    try:
        from mediation.cases.case_views import search_cases
        source = "cases.case_views.search_cases + paginate + dernière activité (requêtes de la page)"
    except ImportError:  # the pages are not there: the policy-scoped select
        search_cases = None
        source = "cases.policy.visible_cases (les pages des dossiers n'existent pas encore)"
    from mediation.cases import policy
    from mediation.cases.models import Participation

    prefix = f"{database.backend}.cases"
    results.note(f"{database.backend} : listes de dossiers mesurées par {source}")
    with database.app.app_context():
        session = db.session
        mediator, coordinator, admin, _ = _busiest_users(session)
        a_name = session.scalar(sa.text(
            "SELECT b.last_name FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id "
            "WHERE c.structure_id IN (SELECT structure_id FROM staff_memberships WHERE user_id = :u) "
            "ORDER BY c.id LIMIT 1"), {"u": mediator.id})
        a_number = session.scalar(sa.select(Case.id).where(Case.structure_id.in_(structure_scope(coordinator)))
                                  .order_by(Case.id.desc()).limit(1))
        cases = [
            ("mediator.list", mediator, dict()),
            ("mediator.search_name", mediator, dict(name=a_name[:4].lower())),
            ("coordinator.list", coordinator, dict()),
            ("coordinator.list_page_20", coordinator, dict(page=20)),
            ("coordinator.search_number", coordinator, dict(number=a_number)),
            ("admin.list", admin, dict()),
            ("admin.list_open", admin, dict(state="ouvert")),
        ]
        for label, user, options in cases:
            scope = structure_scope(user)
            scope_ids = None if scope is None else _ids(session, scope)
            page = options.get("page", 1)

            def app_page(user=user, options=options, page=page):
                q = options.get("name") or (str(options["number"]) if options.get("number") else "")
                if search_cases is not None:
                    query = search_cases(user, q, options.get("state"), False)
                else:
                    query = policy.visible_cases(user).order_by(Case.updated_at.desc(), Case.id.desc())
                result = paginate(session, query, page, PAGE)
                ids = [c if isinstance(c, int) else c.id for c in result.items]
                if ids and isinstance(result.items[0], int):  # ids first, then the page's rows (as the view)
                    session.scalars(sa.select(Case).where(Case.id.in_(ids)).options(
                        joinedload(Case.beneficiary), joinedload(Case.structure), joinedload(Case.mediator))).all()
                if ids:
                    session.execute(sa.select(Participation.case_id, sa.func.max(Activity.date))
                                    .join(Activity, Activity.id == Participation.activity_id)
                                    .where(Participation.case_id.in_(ids), Activity.deleted_at.is_(None))
                                    .group_by(Participation.case_id)).all()
                session.expunge_all()
                return ids, result.total

            page_sql, count_sql, params = _raw_case_page(scope_ids, **options)

            def raw_page(page_sql=page_sql, count_sql=count_sql, params=params):
                return _ids(session, page_sql.params(**params)), session.scalar(count_sql.params(**params))

            app_ids, app_total = app_page()
            raw_ids, raw_total = raw_page()
            same = app_ids == raw_ids and app_total == raw_total
            results.add(f"{prefix}.{label}.rows_total", app_total)
            results.add(f"{prefix}.{label}.same_ids_as_raw", "oui" if same else "NON")
            app_timing = measure(app_page, repeat=repeat, budget_s=30)
            raw_timing = measure(raw_page, repeat=repeat, budget_s=30)
            results.timing(f"{prefix}.{label}.app", app_timing)
            results.timing(f"{prefix}.{label}.raw", raw_timing)
            results.ratio(f"{prefix}.{label}.ratio_app_over_raw_p95", app_timing.p95, raw_timing.p95)
        session.rollback()


# --- dashboard ----------------------------------------------------------------------------------

def _last_twelve_months(end: date) -> tuple[date, date]:
    start = end.replace(day=1)
    for _ in range(11):
        start = (start - timedelta(days=1)).replace(day=1)
    return start, end


def bench_dashboard(database: BenchDatabase, results: Results, repeat: int) -> None:
    prefix = f"{database.backend}.dashboard"
    with database.app.app_context():
        session = db.session
        _, coordinator, _, territory_id = _busiest_users(session)
        end = date.fromisoformat(database.end)
        start, end = _last_twelve_months(end)
        scopes = [
            ("territory", {"structure_ids": structure_scope(coordinator)}),
            ("national", {}),
            ("territory_unaligned", {"structure_ids": structure_scope(coordinator)}),
        ]
        for label, scope in scopes:
            period = (start + timedelta(days=9), end - timedelta(days=12)) if label.endswith("unaligned") else (start, end)

            def fast(scope=scope, period=period):
                return dashboard.means(session, *period, **scope)

            def raw(scope=scope, period=period):
                return dashboard.means_raw(session, *period, **scope)

            numbers = fast()
            same = numbers == raw()
            results.add(f"{prefix}.{label}.period", f"{period[0].isoformat()}..{period[1].isoformat()}")
            results.add(f"{prefix}.{label}.accompaniments", numbers.accompaniments)
            results.add(f"{prefix}.{label}.beneficiaries", numbers.beneficiaries)
            results.add(f"{prefix}.{label}.new_beneficiaries", numbers.new_beneficiaries)
            results.add(f"{prefix}.{label}.same_numbers_as_raw", "oui" if same else "NON")
            fast_timing = measure(fast, repeat=repeat, budget_s=60)
            raw_timing = measure(raw, repeat=repeat, budget_s=90)
            results.timing(f"{prefix}.{label}.rollups", fast_timing)
            results.timing(f"{prefix}.{label}.raw_group_by", raw_timing)
            ratio = results.ratio(f"{prefix}.{label}.ratio_raw_over_rollups_p95", raw_timing.p95, fast_timing.p95)
            if label == "territory":
                results.verdict(
                    f"{database.backend} {database.accompaniments:,} — tableau de bord d'un territoire : p95 "
                    f"≤ GROUP BY brut et < {DASHBOARD_TARGET_MS} ms".replace(",", " "),
                    f"p95 {fast_timing.p95:.1f} ms (brut {raw_timing.p95:.1f} ms, ×{ratio:.1f})",
                    same and fast_timing.p95 <= raw_timing.p95 and fast_timing.p95 < DASHBOARD_TARGET_MS)
        session.rollback()


def bench_rollup_refresh(database: BenchDatabase, results: Results, repeat: int) -> None:
    """What the refresh hook adds to one activity change (measured in a transaction rolled back)."""
    prefix = f"{database.backend}.rollups"
    with database.app.app_context():
        session = db.session
        top = session.scalar(sa.select(sa.func.max(Activity.id)))
        rng = random.Random(5)
        ids = iter([rng.randint(1, top) for _ in range(repeat * 3)])

        def refresh():
            savepoint = session.begin_nested()
            rollups.refresh_rollups(session, [next(ids)])
            savepoint.rollback()

        results.timing(f"{prefix}.refresh_one_activity", measure(refresh, repeat=repeat, budget_s=30))
        session.rollback()
