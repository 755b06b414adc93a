"""The people of a scope over a period — who was accompanied, how often, their profile —, the
figures per unit (structure, commune, mediator) that count people, and the profile of the
activities (canal, duration), from the rollups for the whole months of the period and from the raw
tables for the days at its edges (added, or subtracted from a month read whole: see
:class:`mediation.stats.dashboard.Period`), like :func:`mediation.stats.dashboard.means`.

Same definitions as the raw queries of :mod:`mediation.evaluation` (which remain the reference):
identified people are counted once (``beneficiary_month_rollups``, their record read live from
``beneficiaries``); each anonymous participation counts as one person (the national rule), with
the profile ``anonymous_profile_rollups`` stores. Nothing here loads participations row by row:
whole months read rollup rows (one per person and cell at most), the edges a few days of
activities through the (structure, date) indexes.

``structure_ids``, ``mediator_ids`` and ``either`` restrict the cells as in
:func:`mediation.stats.dashboard.means` (:func:`~mediation.stats.dashboard.cell_clauses`: lists of
ids, or None for no restriction, all ANDed; ``either``: the cells of some structures or of some
mediators); ``attributed`` adds the activities of a programme attributed one by one that the cells
do not hold (:func:`~mediation.stats.dashboard.outside_cells`), from the raw tables over the whole
period.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date

import sqlalchemy as sa

from mediation.cases.enums import ActivityType
from mediation.cases.models import Activity, Beneficiary, Participation
from mediation.stats.dashboard import Period, cell_clauses, cell_parts, outside_cells
from mediation.stats.models import (
    ActivityProfileRollup,
    ActivityRollup,
    AnonymousProfileRollup,
    BeneficiaryMonthRollup,
)
from mediation.stats.rollups import activity_profile_select, anonymous_profile_sql

UNITS = ("structures", "communes", "mediateurs")


def _cells(table, period: Period, structure_ids, mediator_ids, either) -> list[list]:
    """The whole months' rows of ``table`` in the cells, as disjoint parts (:func:`cell_parts`): to
    read as a ``UNION ALL`` or one after the other."""
    first, last = period.months
    return [[table.month >= first, table.month <= last, *part]
            for part in cell_parts(table.structure_id, table.mediator_id, structure_ids, mediator_ids, either)]


def _edge_activities(period: Period, structure_ids, mediator_ids, either, *, excess: bool = False) -> list:
    """Live activities of the edge days (or, ``excess``, of the days to subtract) in the cells."""
    return [Activity.deleted_at.is_(None),
            sa.or_(*[sa.and_(Activity.date >= a, Activity.date <= b)
                     for a, b in (period.excess if excess else period.edges)]),
            *cell_clauses(Activity.structure_id, Activity.mediator_id, structure_ids, mediator_ids, either)]


def _attributed_activities(start: date, end: date, structure_ids, mediator_ids, either, attributed) -> list:
    """Live activities of the period attributed one by one, outside the cells
    (:func:`~mediation.stats.dashboard.outside_cells`)."""
    return [Activity.deleted_at.is_(None), Activity.date >= start, Activity.date <= end,
            *outside_cells(structure_ids, mediator_ids, either, attributed)]


def _raw_parts(period: Period, start: date, end: date, structure_ids, mediator_ids, either,
               attributed) -> list[tuple[list, int]]:
    """(clauses on activities, sign) of what the raw tables add to the cells: the edge days (+1), the
    days of the months read whole outside the period (−1), the attributed activities (+1)."""
    parts = []
    if period.edges:
        parts.append((_edge_activities(period, structure_ids, mediator_ids, either), 1))
    if period.excess:
        parts.append((_edge_activities(period, structure_ids, mediator_ids, either, excess=True), -1))
    if attributed:
        parts.append((_attributed_activities(start, end, structure_ids, mediator_ids, either, attributed), 1))
    return parts


def _participations_of(*columns, where: list) -> sa.Select:
    return (sa.select(*columns).select_from(Participation)
            .join(Activity, Activity.id == Participation.activity_id)
            .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
            .where(*where))


def _edge_participations(*columns, period: Period, structure_ids, mediator_ids, either,
                         excess: bool = False) -> sa.Select:
    return _participations_of(*columns, where=_edge_activities(period, structure_ids, mediator_ids, either,
                                                                excess=excess))


# --- identified people --------------------------------------------------------------------------

def identified_counts(start: date, end: date, *, structure_ids=None, mediator_ids=None, either=None, attributed=None,
                      with_none: bool = False, summed: bool = True) -> sa.Subquery:
    """One row per identified person accompanied in the scope during the period: ``beneficiary_id``
    and ``n``, their number of accompagnements there. ``with_none``: also the people of the months
    read whole whose accompagnements were all on the days subtracted (``n`` 0), for a caller that
    counts only ``n > 0`` itself — a ``HAVING`` the planner cannot size (it expected 67 people of
    71 000 and looked each one up by key). ``summed=False``: the rows before the sum per person
    (columns ``beneficiary_id``, ``n``; a person once per rollup cell and edge part)."""
    period = Period.of(start, end)
    parts = []
    if period.months is not None:
        b = BeneficiaryMonthRollup
        parts += [sa.select(b.beneficiary_id.label("beneficiary_id"), b.accompaniments.label("n")).where(*cells)
                  for cells in _cells(b, period, structure_ids, mediator_ids, either)]
    if period.edges:
        parts.append(_edge_participations(Participation.beneficiary_id.label("beneficiary_id"),
                                          sa.func.count().label("n"), period=period,
                                          structure_ids=structure_ids, mediator_ids=mediator_ids, either=either)
                     .where(sa.not_(Beneficiary.counted_per_participation)).group_by(Participation.beneficiary_id))
    if period.excess:  # days of the months read whole that are outside the period: subtracted
        parts.append(_edge_participations(Participation.beneficiary_id.label("beneficiary_id"),
                                          (-sa.func.count()).label("n"), period=period, structure_ids=structure_ids,
                                          mediator_ids=mediator_ids, either=either, excess=True)
                     .where(sa.not_(Beneficiary.counted_per_participation)).group_by(Participation.beneficiary_id))
    if attributed:
        parts.append(_participations_of(
            Participation.beneficiary_id.label("beneficiary_id"), sa.func.count().label("n"),
            where=_attributed_activities(start, end, structure_ids, mediator_ids, either, attributed))
            .where(sa.not_(Beneficiary.counted_per_participation)).group_by(Participation.beneficiary_id))
    rows = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("rows")
    if not summed:  # the rows themselves (a person once per rollup cell or edge part)
        return rows
    per_person = sa.select(rows.c.beneficiary_id, sa.func.sum(rows.c.n).label("n")).group_by(rows.c.beneficiary_id)
    if period.excess and not with_none:
        per_person = per_person.having(sa.func.sum(rows.c.n) > 0)
    return per_person.subquery("per_person")


def marginals(session, rows: sa.Select, keys: Sequence[str], values: Callable[[sa.ColumnCollection], list],
              by: Sequence[str] = ()) -> list[dict[tuple, tuple]]:
    """``rows`` grouped by each of its columns ``keys`` apart (with the columns ``by`` in every
    grouping), in one statement: for each key, a dict ``(value, *by values)`` → the aggregates
    ``values(columns)`` of its rows. A profile's breakdowns (by genre, by age band, …) are the
    marginals of its rows: grouping by every attribute at once gave one row per combination (13 000
    rows for 28 000 people of a national programme, 30 % of the dashboard's time in Python).

    PostgreSQL: ``GROUP BY GROUPING SETS``, one hashed pass over the rows (a plain ``GROUP BY`` of
    every key sorted them: the planner cannot size a scope's people). SQLite has no grouping sets:
    a ``UNION ALL`` of one ``GROUP BY`` per key over the rows materialized once."""
    found: list[dict[tuple, tuple]] = [{} for _ in keys]
    width, extra = len(keys), len(by)
    if session.get_bind().dialect.name == "postgresql":
        table = rows.subquery("rows")
        columns = [table.c[k] for k in keys]
        grouped_by = [table.c[b] for b in by]
        statement = (sa.select(sa.func.grouping(*columns), *columns, *grouped_by, *values(table.c))
                     .group_by(sa.func.grouping_sets(*[sa.tuple_(c, *grouped_by) for c in columns])))
        for row in session.execute(statement):
            # GROUPING(k0 … kn): bit (n − i) set when key i is not grouped; exactly one is.
            i = next(i for i in range(width) if not row[0] & (1 << (width - 1 - i)))
            found[i][(row[1 + i], *row[1 + width:1 + width + extra])] = tuple(row[1 + width + extra:])
        return found
    table = rows.cte("rows").prefix_with("MATERIALIZED")
    grouped_by = [table.c[b] for b in by]
    parts = [sa.select(sa.literal(i).label("grouping_set"),
                       *[table.c[k] if j == i else sa.type_coerce(sa.null(), table.c[k].type).label(k)
                         for j, k in enumerate(keys)],
                       *grouped_by, *values(table.c)).group_by(table.c[key], *grouped_by)
             for i, key in enumerate(keys)]
    for row in session.execute(sa.union_all(*parts)):
        i = row[0]
        found[i][(row[1 + i], *row[1 + width:1 + width + extra])] = tuple(row[1 + width + extra:])
    return found


def _person_sums(columns) -> list:
    """Accompagnements and people (``n > 0``: see ``with_none``) of per-person rows."""
    return [sa.func.sum(columns.n), sa.func.sum(sa.case((columns.n > 0, 1), else_=0))]


def identified_profile(session, start: date, end: date, attributes: Sequence[sa.ColumnElement], *,
                       structure_ids=None, mediator_ids=None, either=None, attributed=None) -> list[dict]:
    """Identified people by each of ``attributes`` (expressions on ``beneficiaries``) and by
    « accompanied at least twice » (last): :func:`marginals`, value → (accompagnements, people).

    On PostgreSQL, the people's records are read by key: ``id = ANY(ARRAY(people))``, the people
    counted once in a ``WITH``. Joined plainly, the planner, which cannot know how few people a
    scope holds (a few thousand of a million records), reads the whole of ``beneficiaries``; with
    an array it cannot size, it expects few and reads them by their primary key. Not for the whole
    network (no restriction): there the people are a large share of the records, and 68 000 lookups
    by key cost twice a hash join on the table read once (1 million accompaniments: 690 → 330 ms)."""
    restricted = structure_ids is not None or mediator_ids is not None or either is not None or bool(attributed)
    if not restricted:
        return _network_profile(start, end, attributes, session)
    per_person = identified_counts(start, end, structure_ids=structure_ids, mediator_ids=mediator_ids, either=either,
                                   attributed=attributed,
                                   with_none=True)
    counted_once = sa.not_(Beneficiary.counted_per_participation)  # who the rows are: see _network_profile
    joined = sa.and_(Beneficiary.id == per_person.c.beneficiary_id, counted_once)
    if session.get_bind().dialect.name == "postgresql":
        per_person = per_person.element.cte("per_person")
        joined = sa.and_(Beneficiary.id == per_person.c.beneficiary_id, counted_once, Beneficiary.id == sa.any_(
            sa.func.array(sa.select(per_person.c.beneficiary_id).scalar_subquery())))
    keys = [f"a{i}" for i in range(len(attributes))] + ["twice"]
    rows = (sa.select(*[a.label(k) for a, k in zip(attributes, keys, strict=False)],
                      (per_person.c.n >= 2).label("twice"), per_person.c.n)
            .select_from(per_person).join(Beneficiary, joined))
    return _counted(marginals(session, rows, keys, _person_sums))


def _counted(found: list[dict]) -> list[dict]:
    """value → (accompagnements, people) as ints, without the values of no one (people with no
    accompagnement left add nothing to either sum)."""
    return [{key[0]: (int(n or 0), int(people or 0)) for key, (n, people) in by_value.items() if people}
            for by_value in found]


def _network_profile(start: date, end: date, attributes: Sequence[sa.ColumnElement], session) -> list[dict]:
    """:func:`identified_profile` of the whole network. The rollup rows are joined to the records
    first and summed per record (``GROUP BY beneficiaries.id``: the attributes depend on the key),
    then grouped by attributes: the planner sizes the join by the rollup rows it reads. Summed per
    person before the join (the restricted shape), the union of months and edge days was estimated
    at 200 people of ~70 000 and joined by 70 000 key lookups, then sorted on disk."""
    rows = identified_counts(start, end, summed=False)
    keys = [f"a{i}" for i in range(len(attributes))]
    # The rows are those of people counted once (``NOT counted_per_participation``): said in the
    # join, it lets PostgreSQL read their attributes from the small covering index of those people
    # (ix_beneficiaries_counted_once_profile: 101 000 of 767 000 records at 1 million
    # accompaniments) instead of the whole table.
    per_person = (sa.select(*[a.label(k) for a, k in zip(attributes, keys, strict=False)],
                            sa.func.sum(rows.c.n).label("n")).select_from(rows)
                  .join(Beneficiary, sa.and_(Beneficiary.id == rows.c.beneficiary_id,
                                             sa.not_(Beneficiary.counted_per_participation)))
                  .group_by(Beneficiary.id).subquery("per_person"))
    grouped = sa.select(*[per_person.c[k] for k in keys], (per_person.c.n >= 2).label("twice"), per_person.c.n)
    return _counted(marginals(session, grouped, [*keys, "twice"], _person_sums))


def identified_people(start: date, end: date, *, structure_ids=None, mediator_ids=None,
                      either=None, attributed=None) -> sa.Select:
    """The identified people accompanied in the scope during the period (one column,
    ``beneficiary_id``, each person once): for ``IN (…)`` clauses."""
    period = Period.of(start, end)
    if period.excess:  # who is left once the days outside the period are subtracted
        counts = identified_counts(start, end, structure_ids=structure_ids, mediator_ids=mediator_ids, either=either,
                                   attributed=attributed)
        return sa.select(counts.c.beneficiary_id)
    parts = []
    if period.months is not None:
        b = BeneficiaryMonthRollup
        parts += [sa.select(b.beneficiary_id.label("beneficiary_id")).where(*cells)
                  for cells in _cells(b, period, structure_ids, mediator_ids, either)]
    if period.edges:
        parts.append(_edge_participations(Participation.beneficiary_id.label("beneficiary_id"), period=period,
                                          structure_ids=structure_ids, mediator_ids=mediator_ids, either=either)
                     .where(sa.not_(Beneficiary.counted_per_participation)))
    if attributed:
        parts.append(_participations_of(Participation.beneficiary_id.label("beneficiary_id"), where=_attributed_activities(
            start, end, structure_ids, mediator_ids, either, attributed))
            .where(sa.not_(Beneficiary.counted_per_participation)))
    return parts[0].distinct() if len(parts) == 1 else sa.union(*parts)


# --- anonymous people ---------------------------------------------------------------------------

ANONYMOUS_PROFILE = ("genre", "tranche_age", "statut_social", "commune_id")


def anonymous_profile(session, start: date, end: date, *, structure_ids=None, mediator_ids=None, either=None,
                      attributed=None) -> list[Counter]:
    """Anonymous accompagnements by genre, by age band, by statut and by commune of residence (None
    when unknown): four Counters (the :func:`marginals` of the profiles)."""
    period = Period.of(start, end)
    totals = [Counter() for _ in ANONYMOUS_PROFILE]

    def add(found, sign: int) -> None:
        for total, by_value in zip(totals, found, strict=True):
            for (value,), (n,) in by_value.items():
                total[value] += sign * int(n or 0)

    if period.months is not None:
        r = AnonymousProfileRollup
        # Stored values as plain strings (no enum member built per cell), as the edge rows below.
        columns = [*[sa.type_coerce(getattr(r, name), sa.String).label(name) for name in ANONYMOUS_PROFILE[:3]],
                   r.commune_id, r.accompaniments.label("n")]
        parts = [sa.select(*columns).where(*cells) for cells in _cells(r, period, structure_ids, mediator_ids, either)]
        rows = parts[0] if len(parts) == 1 else sa.union_all(*parts)
        add(marginals(session, rows, ANONYMOUS_PROFILE, lambda c: [sa.func.sum(c.n)]), 1)
    profile = [sa.type_coerce(expression, sa.String).label(name) if name != "commune_id" else expression.label(name)
               for name, expression in anonymous_profile_sql().items()]
    for where, sign in _raw_parts(period, start, end, structure_ids, mediator_ids, either, attributed):
        rows = _participations_of(*profile, where=where).where(Beneficiary.counted_per_participation)
        add(marginals(session, rows, ANONYMOUS_PROFILE, lambda c: [sa.func.count()]), sign)
    communes = Counter()
    for commune, n in totals[3].items():
        communes[commune or None] += n  # commune 0: how the rollups store « unknown »
    totals[3] = communes
    return [Counter({value: n for value, n in total.items() if n}) for total in totals]


# --- activities ---------------------------------------------------------------------------------

SUMMED = ("activities", "accompaniments", "autonomie_given", "materiel_given")  # the profile's sums


def activity_profile(session, start: date, end: date, bucket, *, structure_ids=None,
                     mediator_ids=None, either=None, attributed=None) -> list[tuple]:
    """Activities per (canal, duration band): ``(place_type, band, accompagnements, minutes,
    individual sessions, of which with autonomie, of which with matériel)``. ``bucket`` maps a
    duration column to its band (an SQL expression); the rollups keep exact durations."""
    period = Period.of(start, end)
    parts = []
    if period.months is not None:
        r = ActivityProfileRollup
        parts += [sa.select(r.type, r.place_type, r.duration, *[getattr(r, name) for name in SUMMED]).where(*cells)
                  for cells in _cells(r, period, structure_ids, mediator_ids, either)]
    for where, sign in _raw_parts(period, start, end, structure_ids, mediator_ids, either, attributed):
        raw = activity_profile_select(sa.and_(*where)).subquery()
        parts.append(sa.select(raw.c.type, raw.c.place_type, raw.c.duration,
                               *[(sign * raw.c[name]).label(name) for name in SUMMED]))
    rows = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("profile")
    band = bucket(rows.c.duration)
    individual = rows.c.type == ActivityType.INDIVIDUEL

    def individuals(column):
        return sa.func.sum(sa.case((individual, column), else_=0))

    return [(place, key, int(acc or 0), int(minutes or 0), int(n or 0), int(autonomie or 0), int(materiel or 0))
            for place, key, acc, minutes, n, autonomie, materiel in session.execute(
                sa.select(rows.c.place_type, band.label("band"), sa.func.sum(rows.c.accompaniments),
                          sa.func.sum(rows.c.duration * rows.c.activities), individuals(rows.c.activities),
                          individuals(rows.c.autonomie_given), individuals(rows.c.materiel_given))
                .group_by(rows.c.place_type, band))]


# --- per unit -----------------------------------------------------------------------------------

def per_unit(session, unit: str, start: date, end: date, *, structure_ids=None,
             mediator_ids=None, either=None, attributed=None) -> dict[int, list]:
    """Per unit (``structures``, ``communes`` of the structures, ``mediateurs``) with at least one
    accompagnement: [accompagnements, distinct identified people, anonymous accompagnements,
    first accompaniments, workshops, minutes]. A person accompanied by two units counts in each."""
    from mediation.directory.models import Structure

    if unit not in UNITS:
        raise ValueError(unit)
    period = Period.of(start, end)

    def keyed(table, query):
        """``query`` with the unit of ``table``'s rows as its first column."""
        if unit == "mediateurs":
            return query.add_columns(table.mediator_id.label("unit")), table.mediator_id
        if unit == "structures":
            return query.add_columns(table.structure_id.label("unit")), table.structure_id
        query = query.join(Structure, Structure.id == table.structure_id)
        return query.add_columns(Structure.commune_id.label("unit")), Structure.commune_id

    figures: dict[int, list] = {}

    def add(key, values):
        row = figures.setdefault(key, [0] * 6)
        for i, value in values:
            row[i] += int(value or 0)  # PostgreSQL's SUM of a bigint is a numeric

    people = []
    if period.months is not None:
        r = ActivityRollup
        query, key = keyed(r, sa.select().select_from(r))
        query = query.add_columns(
            sa.func.sum(r.accompaniments), sa.func.sum(r.anonymous_accompaniments), sa.func.sum(r.first_accompaniments),
            sa.func.sum(sa.case((r.type == ActivityType.COLLECTIF, r.activities), else_=0)), sa.func.sum(r.duration_min))
        for cells in _cells(r, period, structure_ids, mediator_ids, either):
            for key_value, acc, anonymous, first, workshops, minutes in session.execute(
                    query.where(*cells).group_by(key)):
                add(key_value, [(0, acc), (2, anonymous), (3, first), (4, workshops), (5, minutes)])
        b = BeneficiaryMonthRollup
        query, key = keyed(b, sa.select().select_from(b))
        people += [query.add_columns(b.beneficiary_id.label("beneficiary_id"), b.accompaniments.label("n"))
                   .where(*cells) for cells in _cells(b, period, structure_ids, mediator_ids, either)]
    # The edge days are added, the days of the months read whole outside the period subtracted, the
    # attributed activities outside the cells added.
    for edge, sign in _raw_parts(period, start, end, structure_ids, mediator_ids, either, attributed):
        query, key = keyed(Activity, sa.select().select_from(Activity))
        for key_value, workshops, minutes in session.execute(
                query.add_columns(sa.func.sum(sa.case((Activity.type == ActivityType.COLLECTIF, 1), else_=0)),
                                  sa.func.sum(Activity.duration_min)).where(*edge).group_by(key)):
            add(key_value, [(4, sign * (workshops or 0)), (5, sign * (minutes or 0))])
        base = (sa.select().select_from(Participation).join(Activity, Activity.id == Participation.activity_id)
                .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id))
        query, key = keyed(Activity, base)
        for key_value, acc, anonymous, first in session.execute(
                query.add_columns(sa.func.count(), sa.func.sum(sa.case((Beneficiary.counted_per_participation, 1), else_=0)),
                                  sa.func.sum(sa.case((Participation.first_accompaniment, 1), else_=0)))
                .where(*edge).group_by(key)):
            add(key_value, [(0, sign * acc), (2, sign * (anonymous or 0)), (3, sign * (first or 0))])
        people.append(query.add_columns(Participation.beneficiary_id.label("beneficiary_id"), sa.literal(sign).label("n"))
                      .where(*edge, sa.not_(Beneficiary.counted_per_participation)))
    if people and period.excess:  # a (unit, person) pair counts when its accompagnements add up to more than nothing
        rows = sa.union_all(*people).subquery("rows")
        pairs = (sa.select(rows.c.unit).group_by(rows.c.unit, rows.c.beneficiary_id)
                 .having(sa.func.sum(rows.c.n) > 0).subquery("pairs"))
        for key_value, n in session.execute(sa.select(pairs.c.unit, sa.func.count()).group_by(pairs.c.unit)):
            add(key_value, [(1, n)])
    elif people:
        people = [select.with_only_columns(*select.selected_columns[:2]) for select in people]
        pairs = (people[0].distinct() if len(people) == 1 else sa.union(*people)).subquery("pairs")
        for key_value, n in session.execute(sa.select(pairs.c.unit, sa.func.count()).group_by(pairs.c.unit)):
            add(key_value, [(1, n)])
    return {key: values for key, values in figures.items() if values[0]}
