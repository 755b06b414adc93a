"""The "means" statistics of a scope (a territory, some structures, everything) over a period: what
the dashboard shows first (docs/domain/activity-records.md §3.1–§3.2).

Two implementations that must give the same numbers:

- :func:`means` reads the rollups (:mod:`mediation.stats.models`) for the whole months of the
  period and the raw tables only for the days at its edges (a period need not be month-aligned):
  the edge days are added, or, for a month the period mostly covers, the month is read whole and
  the days outside the period subtracted (:class:`Period`);
- :func:`means_raw` reads the raw tables with plain ``GROUP BY`` queries. It is the reference the
  tests and the benchmark compare against.

Counting rules: the unit is the accompagnement (participation); soft-deleted activities count
nowhere; "bénéficiaires accompagnés" are the distinct followed (identified) people plus one per
participation recorded anonymously (the national rule: each anonymous participant counts as one
beneficiary; a person anonymised by retention still counts once, see
``Beneficiary.counted_per_participation``); "nouveaux
bénéficiaires" are the accompagnements marked as a first accompaniment in the period.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.cases.enums import ActivityType
from mediation.cases.models import Activity, ActivityThematique, Beneficiary, Participation
from mediation.stats.models import ActivityRollup, BeneficiaryMonthRollup, ThematiqueRollup
from mediation.stats.rollups import first_of_month, month_start, next_month
from mediation.types import in_ids


@dataclass
class Means:
    activities: int = 0
    accompaniments: int = 0
    individual_accompaniments: int = 0
    workshop_participants: int = 0
    workshops: int = 0
    followed_beneficiaries: int = 0
    anonymous_beneficiaries: int = 0
    new_beneficiaries: int = 0
    by_month: dict[date, int] = field(default_factory=dict)
    by_thematique: dict[str, int] = field(default_factory=dict)
    by_structure: dict[int, int] = field(default_factory=dict)

    @property
    def beneficiaries(self) -> int:
        """"Bénéficiaires accompagnés": followed people (distinct) plus anonymous participants."""
        return self.followed_beneficiaries + self.anonymous_beneficiaries


def full_months(start: date, end: date) -> tuple[date, date] | None:
    """(first month, last month) of the whole months inside [start, end], or None."""
    first = start if start.day == 1 else next_month(first_of_month(start))
    last = first_of_month(end)
    if next_month(last) - timedelta(days=1) != end:
        last = first_of_month(last - timedelta(days=1))
    return (first, last) if first <= last else None


@dataclass(frozen=True)
class Period:
    """A period as the rollups read it: whole months (``months``: first and last, first days of
    months, or None), plus the days of a partial month at either end, either **added** from the raw
    tables (``edges``) or, when the month is mostly covered, the month read whole from the rollups
    and the days outside the period **subtracted** from the raw tables (``excess``) — whichever
    side has fewer days. The default period (twelve months to today) thus reads the days after
    today (none, or a few planned sessions) instead of every day of the current month so far."""

    months: tuple[date, date] | None
    edges: tuple[tuple[date, date], ...]  # inclusive day ranges added from the raw tables
    excess: tuple[tuple[date, date], ...] = ()  # inclusive day ranges of `months` outside the period

    @classmethod
    def of(cls, start: date, end: date) -> Period:
        whole, edges, excess = [], [], []
        month = first_of_month(start)
        while month <= end:
            last_day = next_month(month) - timedelta(days=1)
            a, b = max(start, month), min(end, last_day)
            inside = (b - a).days + 1
            outside = (last_day - month).days + 1 - inside
            if outside == 0:
                whole.append(month)
            elif outside < inside:
                whole.append(month)
                excess += [(x, y) for x, y in ((month, a - timedelta(days=1)), (b + timedelta(days=1), last_day))
                           if x <= y]
            else:
                edges.append((a, b))
            month = next_month(month)
        # Only the first and the last month can be partial: the months read whole are contiguous.
        return cls((whole[0], whole[-1]) if whole else None, tuple(edges), tuple(excess))


def _resolve(session: Session, ids):
    """A select of ids becomes a list: the planner then uses the (structure, date) indexes."""
    if ids is None or isinstance(ids, list | tuple | set | frozenset):
        return None if ids is None else sorted(ids)
    return [row[0] for row in session.execute(ids)]


def cell_clauses(structure_column, mediator_column, structure_ids=None, mediator_ids=None, either=None) -> list:
    """The restrictions of a scope on the structure and the mediator of a rollup cell or of an
    activity, all ANDed: ``structure_ids`` and ``mediator_ids`` (lists of ids, None for no
    restriction), and ``either``, a pair ``(structure_ids, mediator_ids)``: the cells of one of these
    structures **or** of one of these mediators (a programme that funds both places and posts). A
    cell has one structure and one mediator: it is read once even when it is of both."""
    clauses = []
    if structure_ids is not None:
        clauses.append(in_ids(structure_column, structure_ids))
    if mediator_ids is not None:
        clauses.append(in_ids(mediator_column, mediator_ids))
    if either is not None:
        structures, mediators = either
        clauses.append(sa.or_(in_ids(structure_column, structures), in_ids(mediator_column, mediators)))
    return clauses


def cell_parts(structure_column, mediator_column, structure_ids=None, mediator_ids=None, either=None) -> list[list]:
    """The rollup cells of :func:`cell_clauses` as disjoint parts (lists of ANDed clauses), to read
    one after the other and add up (or as a ``UNION ALL``): one part without ``either``; with it,
    the cells of its structures (whatever their mediator: the primary key, which starts with the
    structure) and the cells of its mediators outside those structures (the mediator index).
    On PostgreSQL each part is an index-only scan (both indexes carry the cells' columns,
    migrations 0033 and 0035), where the ``OR`` of one statement could only combine the two
    indexes into a bitmap and read one table page per row: at 10 million accompaniments, the
    thématiques of a territorial programme of places and posts, 49 → 8 ms."""
    clauses = cell_clauses(structure_column, mediator_column, structure_ids, mediator_ids)
    if either is None:
        return [clauses]
    structures, mediators = either
    return [[*clauses, in_ids(structure_column, structures)],
            [*clauses, in_ids(mediator_column, mediators), sa.not_(in_ids(structure_column, structures))]]


def outside_cells(structure_ids=None, mediator_ids=None, either=None, attributed=()) -> list:
    """The activities attributed one by one to a programme (``attributed``: their ids) that the cells
    of :func:`cell_clauses` do not hold: within the scope's structures and mediators, outside
    ``either``. Read from the raw tables over the whole period and added to the cells."""
    clauses = [in_ids(Activity.id, attributed),
               *cell_clauses(Activity.structure_id, Activity.mediator_id, structure_ids, mediator_ids)]
    if either is not None:
        structures, mediators = either
        clauses.append(sa.not_(sa.or_(in_ids(Activity.structure_id, structures), in_ids(Activity.mediator_id, mediators))))
    return clauses


def _resolve_either(either) -> tuple[list[int], list[int]] | None:
    return None if either is None else (sorted(either[0]), sorted(either[1]))


# --- raw ----------------------------------------------------------------------------------------

def _raw_into(session: Session, result: Means, ranges: list[tuple[date, date]], structure_ids,
              mediator_ids, either=None, sign: int = 1, extra=()) -> list:
    """Add (``sign`` 1) or subtract (−1) the raw aggregates of the date ranges to ``result``;
    returns the followed-beneficiary select for those ranges (``beneficiary_id``, ``n``: ``sign``
    per participation), for a count of people across sources."""
    period = sa.or_(*[sa.and_(Activity.date >= a, Activity.date <= b) for a, b in ranges])
    where = [Activity.deleted_at.is_(None), period,
             *cell_clauses(Activity.structure_id, Activity.mediator_id, structure_ids, mediator_ids, either), *extra]
    month = month_start(Activity.date)
    for structure_id, month_value, type_, activities, accompaniments in session.execute(
        sa.select(Activity.structure_id, month, Activity.type, sa.func.count(),
                  sa.func.sum(Activity.participants_count))
        .where(*where).group_by(Activity.structure_id, month, Activity.type)
    ):
        _add_cell(result, structure_id, month_value, type_, sign * activities, sign * (accompaniments or 0))
    thematiques = Counter(result.by_thematique)
    for code, accompaniments in session.execute(
        sa.select(ActivityThematique.code, sa.func.sum(Activity.participants_count))
        .join(Activity, Activity.id == ActivityThematique.activity_id)
        .where(*where).group_by(ActivityThematique.code)
    ):
        thematiques[code] += sign * (accompaniments or 0)
    result.by_thematique = dict(thematiques)
    anonymous, first = session.execute(
        sa.select(sa.func.sum(sa.case((Beneficiary.counted_per_participation, 1), else_=0)),
                  sa.func.sum(sa.case((Participation.first_accompaniment, 1), else_=0)))
        .select_from(Participation)
        .join(Activity, Activity.id == Participation.activity_id)
        .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
        .where(*where)
    ).one()
    result.anonymous_beneficiaries += sign * (anonymous or 0)
    result.new_beneficiaries += sign * (first or 0)
    return (
        sa.select(Participation.beneficiary_id.label("beneficiary_id"), sa.literal(sign).label("n"))
        .join(Activity, Activity.id == Participation.activity_id)
        .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
        .where(*where, sa.not_(Beneficiary.counted_per_participation))
    )


def _add_cell(result: Means, structure_id, month_value, type_, activities, accompaniments) -> None:
    month_value = month_value if isinstance(month_value, date) else date.fromisoformat(str(month_value)[:10])
    result.activities += activities
    result.accompaniments += accompaniments
    if ActivityType(type_) == ActivityType.INDIVIDUEL:
        result.individual_accompaniments += accompaniments
    else:
        result.workshop_participants += accompaniments
        result.workshops += activities
    result.by_month[month_value] = result.by_month.get(month_value, 0) + accompaniments
    if structure_id is not None:
        result.by_structure[structure_id] = result.by_structure.get(structure_id, 0) + accompaniments


def _distinct(session: Session, selects: list, subtracted: bool = False) -> int:
    """People in the union of ``selects`` (``beneficiary_id``, ``n``); with days ``subtracted``
    (negative ``n``), the people whose accompagnements add up to more than nothing."""
    if not selects:
        return 0
    if not subtracted:  # the ids alone (the rollup's are read from its primary key index)
        selects = [select.with_only_columns(select.selected_columns[0]) for select in selects]
    union = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    ids = union.subquery()
    if subtracted:
        present = (sa.select(ids.c.beneficiary_id).group_by(ids.c.beneficiary_id)
                   .having(sa.func.sum(ids.c.n) > 0).subquery())
        return session.scalar(sa.select(sa.func.count()).select_from(present)) or 0
    return session.scalar(sa.select(sa.func.count(sa.distinct(ids.c.beneficiary_id)))) or 0


def means_raw(session: Session, start: date, end: date, *, structure_ids=None, mediator_ids=None,
              either=None) -> Means:
    """The reference: plain GROUP BY over the raw tables. ``structure_ids``/``mediator_ids`` are
    selects or lists of ids (None: no restriction), ``either`` as in :func:`cell_clauses`."""
    result = Means()
    structure_ids, mediator_ids = _resolve(session, structure_ids), _resolve(session, mediator_ids)
    followed = _raw_into(session, result, [(start, end)], structure_ids, mediator_ids, _resolve_either(either))
    result.followed_beneficiaries = _distinct(session, [followed])
    return _sorted(result)


# --- rollups ------------------------------------------------------------------------------------

def means(session: Session, start: date, end: date, *, structure_ids=None, mediator_ids=None,
          either=None, attributed=None, count_people: bool = True) -> Means:
    """The same numbers as :func:`means_raw`, from the rollups for whole months and from the raw
    tables for the days at the edges of the period (and for the ``attributed`` activities outside
    the cells: :func:`outside_cells`). ``count_people`` False: ``followed_beneficiaries`` is left at
    0 for a caller that counts the same people itself (the impact dashboard, with their profile)."""
    result = Means()
    cells = (_resolve(session, structure_ids), _resolve(session, mediator_ids), _resolve_either(either))
    period = Period.of(start, end)
    followed = []
    if period.months is not None:
        followed += _rollups_into(session, result, *period.months, *cells)
    if period.edges:
        followed.append(_edges_into(session, result, list(period.edges), *cells))
    if period.excess:
        followed.append(_raw_into(session, result, list(period.excess), *cells, sign=-1))
    if attributed:
        followed.append(_raw_into(session, result, [(start, end)], None, None, extra=outside_cells(*cells, attributed)))
    if count_people:
        result.followed_beneficiaries = _distinct(session, followed, subtracted=bool(period.excess))
    return _sorted(result)


def _rollups_into(session: Session, result: Means, first: date, last: date, structure_ids, mediator_ids,
                  either) -> list[sa.Select]:
    """Two small GROUP BY on the activity rollups (by month and type, by structure), one on the
    thématique rollups, for each part of the cells (:func:`cell_parts`); returns the
    followed-beneficiary selects for the distinct count."""
    thematiques = Counter(result.by_thematique)
    followed = []
    parts = {table: cell_parts(table.structure_id, table.mediator_id, structure_ids, mediator_ids, either)
             for table in (ActivityRollup, ThematiqueRollup, BeneficiaryMonthRollup)}
    for i in range(len(parts[ActivityRollup])):
        def where(table, i=i):
            return [table.month >= first, table.month <= last, *parts[table][i]]

        r = ActivityRollup
        for month_value, type_, activities, accompaniments, anonymous, firsts in session.execute(
            sa.select(r.month, r.type, sa.func.sum(r.activities), sa.func.sum(r.accompaniments),
                      sa.func.sum(r.anonymous_accompaniments), sa.func.sum(r.first_accompaniments))
            .where(*where(r)).group_by(r.month, r.type)
        ):
            _add_cell(result, None, month_value, type_, activities, accompaniments)
            result.anonymous_beneficiaries += anonymous
            result.new_beneficiaries += firsts
        for structure_id, accompaniments in session.execute(
            sa.select(r.structure_id, sa.func.sum(r.accompaniments)).where(*where(r)).group_by(r.structure_id)
        ):
            result.by_structure[structure_id] = result.by_structure.get(structure_id, 0) + accompaniments
        t = ThematiqueRollup
        for code, accompaniments in session.execute(
            sa.select(t.code, sa.func.sum(t.accompaniments)).where(*where(t)).group_by(t.code)
        ):
            thematiques[code] += accompaniments
        b = BeneficiaryMonthRollup
        followed.append(sa.select(b.beneficiary_id.label("beneficiary_id"), b.accompaniments.label("n"))
                        .where(*where(b)))
    result.by_thematique = dict(thematiques)
    return followed


EDGE_ACTIVITIES_MAX = 5000


def _edges_into(session: Session, result: Means, ranges: list[tuple[date, date]], structure_ids, mediator_ids,
                either):
    """The days outside whole months, from the raw tables, driven by the activities found through
    the (structure, date) index: their ids then select thématiques, participations and people by
    key (joins let the planner scan those tables whole). Many activities: plain GROUP BY instead."""
    period = sa.or_(*[sa.and_(Activity.date >= a, Activity.date <= b) for a, b in ranges])
    where = [Activity.deleted_at.is_(None), period,
             *cell_clauses(Activity.structure_id, Activity.mediator_id, structure_ids, mediator_ids, either)]
    rows = session.execute(
        sa.select(Activity.id, Activity.structure_id, Activity.date, Activity.type, Activity.participants_count)
        .where(*where).limit(EDGE_ACTIVITIES_MAX + 1)
    ).all()
    if len(rows) > EDGE_ACTIVITIES_MAX:
        return _raw_into(session, result, ranges, structure_ids, mediator_ids, either)
    weights = {}
    for activity_id, structure_id, day, type_, participants in rows:
        weights[activity_id] = participants
        _add_cell(result, structure_id, first_of_month(day), type_, 1, participants)
    if not weights:
        return sa.select(Participation.beneficiary_id.label("beneficiary_id"), sa.literal(1).label("n")).where(sa.false())
    ids = sorted(weights)
    thematiques = Counter(result.by_thematique)
    for activity_id, code in session.execute(
        sa.select(ActivityThematique.activity_id, ActivityThematique.code)
        .where(in_ids(ActivityThematique.activity_id, ids))
    ):
        thematiques[code] += weights[activity_id]
    result.by_thematique = dict(thematiques)
    people = session.execute(sa.select(Participation.beneficiary_id, Participation.first_accompaniment)
                             .where(in_ids(Participation.activity_id, ids))).all()
    identified = set()
    if people:
        identified = set(session.scalars(sa.select(Beneficiary.id).where(
            in_ids(Beneficiary.id, sorted({b for b, _ in people})), sa.not_(Beneficiary.counted_per_participation))))
    result.anonymous_beneficiaries += sum(1 for b, _ in people if b not in identified)
    result.new_beneficiaries += sum(1 for _, first in people if first)
    return sa.select(Beneficiary.id.label("beneficiary_id"), sa.literal(1).label("n")).where(
        in_ids(Beneficiary.id, sorted(identified)))


def _sorted(result: Means) -> Means:
    result.by_month = dict(sorted(result.by_month.items()))
    result.by_thematique = dict(sorted(((k, v) for k, v in result.by_thematique.items() if v),
                                       key=lambda kv: (-kv[1], kv[0])))
    result.by_structure = dict(sorted((k, v) for k, v in result.by_structure.items() if v))
    result.by_month = {k: v for k, v in result.by_month.items() if v}
    return result
