"""« Mes statistiques » as La Coop de la médiation numérique computes them, on a mediator's own
activities or a coordinator's territory (docs/domain/activity-records.md §3, docs/domain/coop-exchange.md).

These are the Coop's figures and definitions, unsuppressed, so that mediators find here the numbers
they know. The network's impact dashboard (mediation.evaluation) uses other definitions on purpose;
:data:`DIFFERENCES` lists them for the page.

Rules (read in the Coop's ``mes-statistiques/_queries``):

- scope: a mediator's own activities (``mediator_id``); a coordinator's, the activities of the
  structures of their territory (optionally one mediator); soft-deleted activities count nowhere;
- unit: the accompagnement (one participation); an activity weighs its number of participations;
  an individual session counts 1 accompagnement (the Coop counts the individual activities);
- bénéficiaires: distinct beneficiary records reached through the participations (each anonymous
  participant is a record of its own); « nouveaux »: participations marked first accompaniment;
- tags: weighted by accompagnements, deleted tags left out, largest first;
- thématiques, démarches, matériel, durations, channels, places: weighted by accompagnements; a
  thématique's share is over the total of its own family; every share is over the sum of its block;
- places and communes: the place of the activity (lieu d'activité, or the commune of « autre lieu »,
  « à domicile », « à distance »), not the recording structure;
- genre, age band, statut: distinct people; the age band from the birth year relative to the
  current year, else the stored band, else « Non communiqué »;
- shares: percentages to 3 decimals (shown with one), each block over its own sum, not forced to
  100 (the Coop's ``allocatePercentages`` despite its name);
- no default period in the Coop (all time, « nouveaux bénéficiaires » then not computed; the
  monthly chart over the last 12 months): here the period defaults to that chart's 12 months.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role, User
from mediation.cases.enums import (
    AGE_THRESHOLDS,
    ActivityType,
    DemarcheThematique,
    Genre,
    Materiel,
    PlaceType,
    StatutSocial,
    Thematique,
    TrancheAge,
)
from mediation.cases.models import Activity, ActivityTag, ActivityThematique, Beneficiary, Participation, Tag
from mediation.cases.policy import activity_scope_clause
from mediation.directory.models import Commune, Structure
from mediation.directory.policy import visible_users
from mediation.directory.scopes import structure_scope
from mediation.forms import PickSource
from mediation.stats import coop_rollups, rollups
from mediation.stats.coop_rollups import DURATION_BUCKETS
from mediation.stats.models import ActivityRollup, CoopPersonRollup, CoopRollup, ThematiqueRollup
from mediation.types import bytewise, in_ids, local_today

NON_COMMUNIQUE = "Non communiqué"


# Where the network's impact indicators (mediation/evaluation) differ, and why.
DIFFERENCES = (
    "Secret statistique : le tableau de bord d’impact masque les petits effectifs, car ses chiffres "
    "partent chez les financeurs ; ici, ce sont vos propres données, rien n’est masqué.",
    "Communes : le tableau de bord d’impact compte les accompagnements dans la commune de la "
    "structure qui a enregistré l’activité ; ici, comme dans la Coop, dans la commune du lieu où "
    "elle a eu lieu (lieu d’activité, domicile ou autre lieu).",
    "Tranches d’âge : le tableau de bord d’impact les calcule à l’année de fin de la période, pour "
    "qu’un rapport passé ne change pas ; ici, comme dans la Coop, à l’année en cours.",
    "Bénéficiaires suivis ou anonymes : une personne anonymisée au terme de la durée de "
    "conservation compte ici parmi les anonymes (c’est une fiche anonyme), comme dans la Coop ; le "
    "tableau de bord d’impact la compte toujours comme une personne suivie.",
)


def proportion(count: int, total: int) -> float:
    """The Coop's share (``allocatePercentages.ts``): a percentage rounded to 3 decimals, half up;
    0 when the total is 0. Shares are not forced to sum to 100."""
    if total <= 0:
        return 0.0
    # floor(100 000 × count / total + 1/2), in integers (exact, as Fraction; thousands per page)
    return (200_000 * count + total) // (2 * total) / 1000


def format_percentage(value: float) -> str:
    """As the Coop shows and writes it (``numberToPercentage``): at most one decimal, French
    comma, « 33,3 % » (narrow no-break space before %)."""
    rounded = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    text = f"{rounded:f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text}\u202f%"


@dataclass
class Share:
    label: str
    count: int
    proportion: float = 0.0

    @property
    def percentage(self) -> str:
        return format_percentage(self.proportion)


PAGE_ROWS = 25  # rows of a breakdown shown on the page; the workbook has them all


def shortened(shares: list[Share], limit: int | None = None) -> list[Share]:
    """The first ``limit`` shares (they come largest first), then one « Autres » line adding up
    the rest: a network's 2,000 communes are a workbook's job, not a page's."""
    limit = PAGE_ROWS if limit is None else limit
    if len(shares) <= limit + 1:
        return shares
    rest = shares[limit:]
    return shares[:limit] + [Share(f"Autres ({len(rest):,} lignes, détail dans le classeur)".replace(",", "\u202f"),
                                   sum(s.count for s in rest), sum(s.proportion for s in rest))]


def _shares(items: list[tuple[str, int]]) -> list[Share]:
    total = sum(count for _, count in items)
    return [Share(label, count, proportion(count, total)) for label, count in items]


@dataclass(frozen=True)
class CoopFilters:
    start: date
    end: date
    types: tuple[ActivityType, ...] = ()   # empty: both
    mediator_id: int | None = None          # coordinators and administrators: one mediator

    @classmethod
    def default(cls, today: date | None = None) -> CoopFilters:
        """The last 12 months: from the first day of the month 11 months ago to today, the window
        of the Coop's monthly chart (« Accompagnements sur les 12 derniers mois »)."""
        today = today or local_today()
        months = today.year * 12 + today.month - 1 - 11
        return cls(start=date(months // 12, months % 12 + 1, 1), end=today)


@dataclass
class CoopStatistics:
    filters: CoopFilters
    activities: int = 0
    individual_activities: int = 0
    workshops: int = 0
    activity_shares: list[Share] = field(default_factory=list)      # individuels / ateliers (activities)
    accompaniments: int = 0
    individual_accompaniments: int = 0
    workshop_participants: int = 0
    accompaniment_shares: list[Share] = field(default_factory=list)  # individuels / participants
    beneficiaries: int = 0
    new_beneficiaries: int = 0
    followed_beneficiaries: int = 0
    anonymous_beneficiaries: int = 0
    by_month: list[Share] = field(default_factory=list)
    thematiques: list[Share] = field(default_factory=list)
    demarches: list[Share] = field(default_factory=list)
    tags: list[Share] = field(default_factory=list)
    materiel: list[Share] = field(default_factory=list)
    channels: list[Share] = field(default_factory=list)
    durations: list[Share] = field(default_factory=list)
    places: list[Share] = field(default_factory=list)
    communes: list[Share] = field(default_factory=list)
    genres: list[Share] = field(default_factory=list)
    age_bands: list[Share] = field(default_factory=list)
    statuts: list[Share] = field(default_factory=list)
    residences: list[Share] = field(default_factory=list)

    def sections(self) -> list[tuple[str, str, list[Share]]]:
        """(key, title, shares) of every breakdown, in the order of the Coop's workbook."""
        return [(key, title, shares) for key, title, _workbook, shares in self.blocks()]

    def blocks(self) -> list[tuple[str, str, str, list[Share]]]:
        """(key, page title, workbook title as the Coop writes it, shares)."""
        return [
            ("thematiques", "Thématiques Médiation numérique", "Thématiques Médiation numérique", self.thematiques),
            ("demarches", "Thématiques Démarches administratives", "Thématiques Démarches administratives",
             self.demarches),
            ("tags", "Tags", "Tags", self.tags),
            ("materiel", "Matériel utilisé lors des accompagnements", "Matériel utilisés", self.materiel),
            ("canaux", "Canaux des activités", "Canaux des activités", self.channels),
            ("durees", "Durées des activités", "Durées des activités", self.durations),
            ("lieux", "Nombre d’accompagnements par lieux d’activité", "Nombre d’activités par lieux", self.places),
            ("communes", "Nombre d’accompagnements par communes", "Nombre d’accompagnements par communes",
             self.communes),
            ("genres", "Genre", "Genre", self.genres),
            ("ages", "Tranches d’âge", "Tranches d’âge", self.age_bands),
            ("statuts", "Statuts", "Statuts", self.statuts),
            ("residences", "Commune de résidence des bénéficiaires", "Commune de résidence des bénéficiaires",
             self.residences),
        ]


def coop_age_band(birth_year: int | None, declared: str | None, current_year: int) -> TrancheAge:
    """The Coop's rule: from the birth year (current year − birth year) when it is plausible,
    otherwise the stored band, otherwise « Non communiqué »."""
    if birth_year is not None and birth_year <= current_year:
        age = current_year - birth_year
        for bound, band in AGE_THRESHOLDS:
            if age < bound:
                return band
        return TrancheAge.SOIXANTE_DIX_PLUS
    return TrancheAge(declared) if declared else TrancheAge.NON_COMMUNIQUE


def scope_clause(user: User, filters: CoopFilters):
    """Which activities ``user`` counts: a mediator their own; a coordinator their territory's
    (an administrator everything), optionally one mediator's. None: no restriction."""
    if user.role == Role.MEDIATOR:
        return Activity.mediator_id == user.id
    if user.role not in (Role.COORDINATOR, Role.ADMIN):
        return sa.false()
    clause = activity_scope_clause(user)
    if filters.mediator_id is not None:
        own = Activity.mediator_id == filters.mediator_id
        clause = own if clause is None else sa.and_(clause, own)
    return clause


def _label_commune(name: str | None, postal_code: str | None) -> str:
    if not name:
        return NON_COMMUNIQUE
    return f"{name} · {postal_code}" if postal_code else name


def _sorted(counter: Counter) -> list[tuple[str, int]]:
    """By count, largest first, then label (« Non communiqué » last among equals)."""
    return sorted(counter.items(), key=lambda item: (-item[1], item[0] == NON_COMMUNIQUE, item[0]))


@dataclass
class _Sums:
    """What every part of the period adds (or, for days taken out of a month's rollups, removes)."""
    activities: Counter = field(default_factory=Counter)       # type → activities
    accompaniments: Counter = field(default_factory=Counter)   # type → participations
    first: int = 0
    months: Counter = field(default_factory=Counter)           # first day of month → participations
    thematiques: Counter = field(default_factory=Counter)      # code → participations
    present: Counter = field(default_factory=Counter)          # (dimension, value) → activities
    weight: Counter = field(default_factory=Counter)           # (dimension, value) → participations
    people: list = field(default_factory=list)                 # selects of the people counted once


def _base_where(user: User, filters: CoopFilters) -> list:
    where = [Activity.deleted_at.is_(None)]
    clause = scope_clause(user, filters)
    if clause is not None:
        where.append(clause)
    if filters.types:
        where.append(Activity.type.in_(list(filters.types)))
    return where


def _period(ranges: list[tuple[date, date]]):
    return sa.or_(*[sa.and_(Activity.date >= a, Activity.date <= b) for a, b in ranges])


def _raw_into(session: Session, sums: _Sums, where: list, sign: int) -> None:
    """Add (``sign`` 1) or remove (-1) the activities matching ``where``, read row by row."""
    ids = sa.select(Activity.id).where(*where)
    weights = (sa.select(Participation.activity_id, sa.func.count().label("n"))
               .where(Participation.activity_id.in_(ids)).group_by(Participation.activity_id).subquery())
    tags: dict[int, list[int]] = {}
    for activity_id, tag_id in session.execute(
            sa.select(ActivityTag.activity_id, ActivityTag.tag_id).where(ActivityTag.activity_id.in_(ids))):
        tags.setdefault(activity_id, []).append(tag_id)
    by_id_weight: dict[int, int] = {}
    for (activity_id, kind, day, duration, place_type, materials, weight, place_id, place_commune_id,
         structure_id) in session.execute(
        sa.select(Activity.id, Activity.type, Activity.date, Activity.duration_min, Activity.place_type,
                  Activity.materiel, sa.func.coalesce(weights.c.n, 0), Activity.place_structure_id,
                  Activity.place_commune_id, Activity.structure_id)
        .select_from(Activity).outerjoin(weights, weights.c.activity_id == Activity.id).where(*where)
    ):
        by_id_weight[activity_id] = weight
        kind = ActivityType(kind)
        sums.activities[kind] += sign
        sums.accompaniments[kind] += sign * weight
        sums.months[date(day.year, day.month, 1)] += sign * weight
        for key in coop_rollups.activity_dimensions(place_type, duration, place_id, place_commune_id,
                                                    structure_id, materials, tags.get(activity_id, ())):
            sums.present[key] += sign
            sums.weight[key] += sign * weight
    for activity_id, code in session.execute(
            sa.select(ActivityThematique.activity_id, ActivityThematique.code)
            .where(ActivityThematique.activity_id.in_(ids))):
        sums.thematiques[code] += sign * by_id_weight.get(activity_id, 0)
    sums.first += sign * (session.scalar(
        sa.select(sa.func.count()).select_from(Participation)
        .where(Participation.activity_id.in_(ids), Participation.first_accompaniment.is_(True))) or 0)
    # participants counted per participation: their profile, one each
    for genre, band, statut, commune_id, count in session.execute(
        sa.select(Beneficiary.genre, Beneficiary.tranche_age, Beneficiary.statut_social,
                  Beneficiary.residence_commune_id, sa.func.count())
        .join(Participation, Participation.beneficiary_id == Beneficiary.id)
        .where(Participation.activity_id.in_(ids), Beneficiary.counted_per_participation)
        .group_by(Beneficiary.genre, Beneficiary.tranche_age, Beneficiary.statut_social,
                  Beneficiary.residence_commune_id)
    ):
        for key in coop_rollups.person_dimensions(genre, band, statut, commune_id):
            sums.present[key] += sign * count
            sums.weight[key] += sign * count


def _raw_people(where: list) -> sa.Select:
    """The people counted once reached by the activities matching ``where``, with their profile."""
    return (sa.select(*_bytewise_profile([Participation.beneficiary_id.label("beneficiary_id"),
                                           *coop_rollups.profile_sql()]))
            .join(Activity, Activity.id == Participation.activity_id)
            .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
            .where(*where, sa.not_(Beneficiary.counted_per_participation)))


def _rollups_into(session: Session, sums: _Sums, scope, months) -> None:
    """Add the rollups of the whole months ``months`` (a callable giving a table's month clauses)."""
    r = ActivityRollup
    for month_value, kind, activities, accompaniments, firsts in session.execute(
        sa.select(r.month, r.type, sa.func.sum(r.activities), sa.func.sum(r.accompaniments),
                  sa.func.sum(r.first_accompaniments))
        .where(*scope(r), *months(r)).group_by(r.month, r.type)
    ):
        kind = ActivityType(kind)
        month_value = rollups.as_date(month_value)
        sums.activities[kind] += activities
        sums.accompaniments[kind] += accompaniments
        sums.first += firsts
        sums.months[month_value] += accompaniments
    t = ThematiqueRollup
    for code, accompaniments in session.execute(
            sa.select(t.code, sa.func.sum(t.accompaniments)).where(*scope(t), *months(t)).group_by(t.code)):
        sums.thematiques[code] += accompaniments
    c = CoopRollup
    for dimension, value, activities, accompaniments in session.execute(
        sa.select(c.dimension, c.value, sa.func.sum(c.activities), sa.func.sum(c.accompaniments))
        .where(*scope(c), *months(c)).group_by(c.dimension, c.value)
    ):
        key = (dimension, value)
        sums.present[key] += activities
        sums.weight[key] += accompaniments


def _parts(start: date, end: date) -> tuple[list[date], list[tuple[date, list, list]]]:
    """The whole months of [start, end], and for each month it covers in part: (month, the days of
    the period in it, the days of the month outside the period)."""
    whole, partial = [], []
    month = rollups.first_of_month(start)
    while month <= end:
        last = rollups.next_month(month) - timedelta(days=1)
        inside = (max(start, month), min(end, last))
        if inside == (month, last):
            whole.append(month)
        else:
            outside = [(a, b) for a, b in ((month, inside[0] - timedelta(days=1)),
                                           (inside[1] + timedelta(days=1), last)) if a <= b]
            partial.append((month, [inside], outside))
        month = rollups.next_month(month)
    return whole, partial


def _rollup_scope(session: Session, user: User, filters: CoopFilters):
    """The clauses selecting the rollup cells of ``user``'s scope (a callable on a rollup table)."""
    structure_ids = None
    mediator_ids = []
    if user.role == Role.MEDIATOR:
        mediator_ids.append(user.id)
    else:
        scope = structure_scope(user)
        if scope is not None:
            structure_ids = sorted(session.scalars(scope))
        if filters.mediator_id is not None:
            mediator_ids.append(filters.mediator_id)

    def clauses(table):
        found = []
        if structure_ids is not None:
            found.append(table.structure_id.in_(structure_ids))
        found += [table.mediator_id == m for m in mediator_ids]
        if filters.types:
            found.append(table.type.in_(list(filters.types)))
        return found
    return clauses


def coop_statistics(session: Session, user: User, filters: CoopFilters, *,
                    today: date | None = None, use_rollups: bool = True) -> CoopStatistics:
    """The Coop's « Mes statistiques » for ``user`` over ``filters`` (see the module).

    Whole months come from the rollups (:mod:`mediation.stats.coop_rollups`); a month the period
    covers in part from its days in the period read row by row, or, when the days left out are
    fewer, from the month's rollups minus those days. ``use_rollups=False`` reads every day row by
    row (the reference the tests compare with)."""
    today = today or local_today()
    where = _base_where(user, filters)
    sums = _Sums()
    if not use_rollups or user.role not in (Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN):
        period = [*where, _period([(filters.start, filters.end)])]
        _raw_into(session, sums, period, 1)
        sums.people.append(_raw_people(period))
    else:
        scope = _rollup_scope(session, user, filters)
        whole, partial = _parts(filters.start, filters.end)
        if whole:
            def months(table):
                return [table.month >= whole[0], table.month <= whole[-1]]
            _rollups_into(session, sums, scope, months)
            p = CoopPersonRollup
            sums.people.append(sa.select(*_bytewise_profile(_person_columns())).where(*scope(p), *months(p)))
        for month, inside, outside in partial:
            days_inside = sum((b - a).days + 1 for a, b in inside)
            days_outside = sum((b - a).days + 1 for a, b in outside)
            if days_inside <= days_outside:
                period = [*where, _period(inside)]
                _raw_into(session, sums, period, 1)
                sums.people.append(_raw_people(period))
                continue
            def one_month(table, month=month):
                return [table.month == month]
            _rollups_into(session, sums, scope, one_month)
            excluded = [*where, _period(outside)]
            _raw_into(session, sums, excluded, -1)
            taken_out = (sa.select(Participation.beneficiary_id.label("id"), sa.func.count().label("n"))
                         .join(Activity, Activity.id == Participation.activity_id).where(*excluded)
                         .group_by(Participation.beneficiary_id).subquery())
            p = CoopPersonRollup
            sums.people.append(
                sa.select(*_bytewise_profile(_person_columns()))
                .outerjoin(taken_out, taken_out.c.id == p.beneficiary_id)
                .where(*scope(p), p.month == month).group_by(*_person_columns())
                .having(sa.func.sum(p.accompaniments) > sa.func.coalesce(sa.func.max(taken_out.c.n), 0)))
    return _statistics(session, filters, sums, today)


def _person_columns() -> list:
    p = CoopPersonRollup
    return [p.beneficiary_id, p.anonymous, p.genre, p.birth_year, p.tranche_age, p.statut_social,
            p.residence_commune_id]


_TEXT_PROFILE = frozenset({"genre", "tranche_age", "statut_social"})


def _bytewise_profile(columns: list) -> list:
    """The person columns (:func:`_person_columns` or :func:`_raw_people`'s) for the UNION that
    counts people once: its text compared byte by byte (:class:`mediation.types.bytewise`)."""
    found = []
    for column in columns:
        if column.key in _TEXT_PROFILE:
            inner = column.element if isinstance(column, sa.sql.elements.Label) else column
            column = bytewise(inner).label(column.key)
        found.append(column)
    return found


def _age_band_sql(year: int, birth_year, tranche_age) -> sa.ColumnElement:
    """:func:`coop_age_band` in SQL."""
    age = sa.literal(year) - birth_year
    bands = [(age < bound, band.value) for bound, band in AGE_THRESHOLDS]
    return sa.case(
        (sa.and_(birth_year.is_not(None), birth_year <= year),
         sa.case(*bands, else_=TrancheAge.SOIXANTE_DIX_PLUS.value)),
        else_=sa.func.coalesce(tranche_age, TrancheAge.NON_COMMUNIQUE.value))


_PEOPLE_DIMENSIONS = ("anonymous", "genre", "age", "statut", "residence")


def _people_counts(session: Session, union, year: int):
    """(dimension, value, people) of the people counted once (``union``: one row per person and
    profile), for each of :data:`_PEOPLE_DIMENSIONS` apart: the page shows each breakdown alone.
    PostgreSQL counts them in one pass (``GROUPING SETS``: a few thousand rows, hashed); elsewhere
    the people are counted by whole profile and the breakdowns added up here."""
    u = union.c
    people = sa.select(u.anonymous, u.genre,
                       sa.type_coerce(_age_band_sql(year, u.birth_year, u.tranche_age), sa.String).label("age"),
                       u.statut_social, u.residence_commune_id).subquery()
    columns = list(people.c)
    if session.get_bind().dialect.name == "postgresql":
        # GROUPING(…) has one bit per column, the first the highest, 0 for the column grouped on
        last = len(columns) - 1
        sets = {(1 << len(columns)) - 1 - (1 << (last - i)): i for i in range(len(columns))}
        for grouping, *values, count in session.execute(
            sa.select(sa.func.grouping(*columns), *columns, sa.func.count())
            .group_by(sa.func.grouping_sets(*[sa.tuple_(c) for c in columns]))
        ):
            i = sets[grouping]
            yield _PEOPLE_DIMENSIONS[i], values[i], count
        return
    for *values, count in session.execute(sa.select(*columns, sa.func.count()).group_by(*columns)):
        for dimension, value in zip(_PEOPLE_DIMENSIONS, values, strict=True):
            yield dimension, value, count


def _statistics(session: Session, filters: CoopFilters, sums: _Sums, today: date) -> CoopStatistics:
    stats = CoopStatistics(filters=filters)
    individual, collectif = ActivityType.INDIVIDUEL, ActivityType.COLLECTIF
    stats.individual_activities = sums.activities[individual]
    stats.workshops = sums.activities[collectif]
    stats.activities = stats.individual_activities + stats.workshops
    stats.workshop_participants = sums.accompaniments[collectif]
    stats.accompaniments = sums.accompaniments[individual] + sums.accompaniments[collectif]
    stats.individual_accompaniments = stats.individual_activities  # the Coop: 1 per individual session
    stats.activity_shares = _shares([("Accompagnements individuels", stats.individual_activities),
                                     ("Ateliers collectifs", stats.workshops)])
    stats.accompaniment_shares = _shares([("Accompagnements individuels", stats.individual_accompaniments),
                                          ("Participants aux ateliers", stats.workshop_participants)])
    # months of the period, in order, including the empty ones
    cursor = date(filters.start.year, filters.start.month, 1)
    month_items = []
    while cursor <= filters.end:
        month_items.append((f"{cursor.month:02d}/{cursor.year % 100:02d}", sums.months[cursor]))
        cursor = rollups.next_month(cursor)
    stats.by_month = _shares(month_items)
    stats.thematiques = _shares([(t.label, sums.thematiques[t.value]) for t in Thematique])
    stats.demarches = _shares([(t.label, sums.thematiques[t.value]) for t in DemarcheThematique])

    dims: dict[str, Counter] = {}
    for (dimension, value), present in sums.present.items():
        if present > 0:  # a key of activities (or people) left in the period, even of weight 0
            dims.setdefault(dimension, Counter())[value] = sums.weight[(dimension, value)]

    def one(dimension: str) -> Counter:
        return dims.get(dimension, Counter())

    # tags (live ones), weighted by accompaniments, largest first (the Coop's getActiviteTags)
    tag_counts = {int(value): count for value, count in one(coop_rollups.TAG).items() if count}
    tag_names = dict(session.execute(sa.select(Tag.id, Tag.name).where(
        in_ids(Tag.id, sorted(tag_counts)), Tag.deleted_at.is_(None))).all()) if tag_counts else {}
    stats.tags = _shares(sorted(((tag_names[i], n) for i, n in tag_counts.items() if i in tag_names),
                                key=lambda item: (-item[1], item[0])))
    materiel, channels, durations = one(coop_rollups.MATERIEL), one(coop_rollups.CANAL), one(coop_rollups.DUREE)
    stats.materiel = _shares([(m.label, materiel[m.value]) for m in Materiel])
    stats.channels = _shares([(p.label, channels[p.value]) for p in PlaceType])
    stats.durations = _shares([(label, durations[key]) for key, label, _low, _high in DURATION_BUCKETS])
    places = {int(value): count for value, count in one(coop_rollups.LIEU).items()}
    structures: dict[int, tuple[str, int | None]] = {}
    communes_keys = one(coop_rollups.COMMUNE)
    wanted = set(places) | {int(value[2:]) for value in communes_keys if value[0] in "so"}
    if wanted:
        structures = {i: (name, commune_id) for i, name, commune_id in session.execute(
            sa.select(Structure.id, Structure.name, Structure.commune_id)
            .where(in_ids(Structure.id, sorted(wanted))))}
    stats.places = _shares(sorted(((structures[i][0], count) for i, count in places.items()),
                                  key=lambda item: (-item[1], item[0])))
    place_communes: Counter = Counter()
    for value, count in communes_keys.items():
        source, number = value[0], int(value[2:])
        place_communes[number if source == "c" else structures[number][1]] += count

    # people counted once: distinct, their profile from their record
    genres: Counter = Counter()
    ages: Counter = Counter()
    statuts: Counter = Counter()
    residence_ids: Counter = Counter()
    if sums.people:
        union = (sums.people[0].distinct() if len(sums.people) == 1 else sa.union(*sums.people)).subquery()
        # one row per person (the UNION of person and profile: the rollups' copy is the record's)
        for dimension, value, count in _people_counts(session, union, today.year):
            if dimension == "anonymous":
                stats.beneficiaries += count
                if value:
                    stats.anonymous_beneficiaries += count
                else:
                    stats.followed_beneficiaries += count
            elif dimension == "genre":
                genres[value or Genre.NON_COMMUNIQUE.value] += count
            elif dimension == "age":
                ages[value] += count
            elif dimension == "statut":
                statuts[value or StatutSocial.NON_COMMUNIQUE.value] += count
            else:
                residence_ids[value or 0] += count
    # participants counted per participation (one record each): from the sums
    counted = sum(one(coop_rollups.GENRE).values())
    stats.beneficiaries += counted
    stats.anonymous_beneficiaries += counted
    genres.update(one(coop_rollups.GENRE))
    ages.update(one(coop_rollups.AGE))
    statuts.update(one(coop_rollups.STATUT))
    residence_ids.update({int(value): count for value, count in one(coop_rollups.RESIDENCE).items()})
    stats.genres = _shares([(g.label, genres[g.value]) for g in Genre])
    stats.age_bands = _shares([(t.label, ages[t.value]) for t in TrancheAge])
    stats.statuts = _shares([(s.label, statuts[s.value]) for s in StatutSocial])

    labels = {i: _label_commune(name, postal) for i, name, postal in session.execute(
        sa.select(Commune.id, Commune.name, Commune.postal_code)
        .where(in_ids(Commune.id, sorted((set(place_communes) | set(residence_ids)) - {0}))))}
    communes: Counter = Counter()
    for commune_id, count in place_communes.items():
        communes[labels.get(commune_id, NON_COMMUNIQUE)] += count
    stats.communes = _shares(_sorted(communes))
    residences: Counter = Counter()
    for commune_id, count in residence_ids.items():
        if count:
            residences[labels.get(commune_id, NON_COMMUNIQUE)] += count
    stats.residences = _shares(_sorted(residences))
    stats.new_beneficiaries = sums.first
    return stats


def mediator_source(user: User) -> PickSource | None:
    """Mediators a coordinator (their territory's, mediation.directory's rule) or an administrator
    (all) may filter on, « Prénom Nom » by last name, as a pick-list source (a list up to the
    pick-list limit, a search above: mediation.forms); None for the others."""
    if user.role not in (Role.COORDINATOR, Role.ADMIN):
        return None
    visible = visible_users(user).where(User.role == Role.MEDIATOR).subquery()
    query = sa.select(visible.c.id).order_by(visible.c.last_name, visible.c.first_name, visible.c.id)
    return PickSource(query, visible.c.id, visible.c.last_name, searched=(visible.c.first_name,),
                      format=lambda row: f"{row[2]} {row[1]}")


def mediator_allowed(session: Session, user: User, mediator_id: int) -> str | None:
    """The name of mediator ``mediator_id`` if ``user`` may filter on them, else None."""
    source = mediator_source(user)
    found = source.chosen(session, [str(mediator_id)]) if source is not None else []
    return found[0].label if found else None
