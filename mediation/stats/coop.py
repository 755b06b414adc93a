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

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

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
from mediation.types import local_today

NON_COMMUNIQUE = "Non communiqué"

# The Coop's duration buckets (half-open, minutes).
DURATION_BUCKETS = (
    ("moins_30", "Moins de 30 min", 0, 30),
    ("30_60", "30min à 1 h", 30, 60),
    ("60_120", "1 h à 2 h", 60, 120),
    ("120_plus", "2 h et plus", 120, None),
)

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
    return math.floor(Fraction(100_000 * count, total) + Fraction(1, 2)) / 1000


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


def coop_statistics(session: Session, user: User, filters: CoopFilters, *,
                    today: date | None = None) -> CoopStatistics:
    """The Coop's « Mes statistiques » for ``user`` over ``filters`` (see the module)."""
    today = today or local_today()
    stats = CoopStatistics(filters=filters)
    where = [Activity.deleted_at.is_(None), Activity.date >= filters.start, Activity.date <= filters.end]
    clause = scope_clause(user, filters)
    if clause is not None:
        where.append(clause)
    if filters.types:
        where.append(Activity.type.in_(list(filters.types)))
    ids = sa.select(Activity.id).where(*where)

    weights = (sa.select(Participation.activity_id, sa.func.count().label("n"))
               .where(Participation.activity_id.in_(ids)).group_by(Participation.activity_id).subquery())
    place = aliased(Structure)
    place_commune = aliased(Commune)
    own_structure = aliased(Structure)
    rows = session.execute(
        sa.select(Activity.id, Activity.type, Activity.date, Activity.duration_min, Activity.place_type,
                  Activity.materiel, sa.func.coalesce(weights.c.n, 0),
                  place.id, place.name, place_commune.name, place_commune.postal_code)
        .select_from(Activity)
        .outerjoin(weights, weights.c.activity_id == Activity.id)
        .outerjoin(place, place.id == Activity.place_structure_id)
        .outerjoin(own_structure, own_structure.id == Activity.structure_id)
        # the commune of the place: the lieu's, else the one named on the activity, else (à distance
        # without a commune) the structure's
        .outerjoin(place_commune, place_commune.id == sa.func.coalesce(
            place.commune_id, Activity.place_commune_id, own_structure.commune_id))
        .where(*where)
    ).all()

    by_id_weight: dict[int, int] = {}
    months: Counter = Counter()
    channels: Counter = Counter()
    durations: Counter = Counter()
    materiel: Counter = Counter()
    places: Counter = Counter()
    place_names: dict[int, str] = {}
    communes: Counter = Counter()
    for (activity_id, kind, day, duration, place_type, materials, weight, place_id, place_name,
         commune_name, commune_postal) in rows:
        stats.activities += 1
        by_id_weight[activity_id] = weight
        if kind == ActivityType.INDIVIDUEL:
            stats.individual_activities += 1
        else:
            stats.workshops += 1
            stats.workshop_participants += weight
        stats.accompaniments += weight
        months[(day.year, day.month)] += weight
        channels[PlaceType(place_type).value] += weight
        for key, _label, low, high in DURATION_BUCKETS:
            if duration >= low and (high is None or duration < high):
                durations[key] += weight
        for code in set(materials or []):
            materiel[code] += weight
        if place_type == PlaceType.LIEU_ACTIVITE and place_id is not None:
            places[place_id] += weight
            place_names[place_id] = place_name
        communes[_label_commune(commune_name, commune_postal)] += weight
    stats.individual_accompaniments = stats.individual_activities  # the Coop: 1 per individual session
    stats.activity_shares = _shares([("Accompagnements individuels", stats.individual_activities),
                                     ("Ateliers collectifs", stats.workshops)])
    stats.accompaniment_shares = _shares([("Accompagnements individuels", stats.individual_accompaniments),
                                          ("Participants aux ateliers", stats.workshop_participants)])

    # months of the period, in order, including the empty ones
    cursor = date(filters.start.year, filters.start.month, 1)
    month_items = []
    while cursor <= filters.end:
        month_items.append((f"{cursor.month:02d}/{cursor.year % 100:02d}", months[(cursor.year, cursor.month)]))
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    stats.by_month = _shares(month_items)

    # thématiques of each family, weighted
    thematique_counts: Counter = Counter()
    for activity_id, code in session.execute(
            sa.select(ActivityThematique.activity_id, ActivityThematique.code)
            .where(ActivityThematique.activity_id.in_(ids))):
        thematique_counts[code] += by_id_weight.get(activity_id, 0)
    stats.thematiques = _shares([(t.label, thematique_counts[t.value]) for t in Thematique])
    stats.demarches = _shares([(t.label, thematique_counts[t.value]) for t in DemarcheThematique])
    # tags (live ones), weighted by accompaniments, largest first (the Coop's getActiviteTags)
    tag_counts: Counter = Counter()
    tag_names: dict[int, str] = {}
    for activity_id, tag_id, tag_name in session.execute(
            sa.select(ActivityTag.activity_id, Tag.id, Tag.name).join(Tag, Tag.id == ActivityTag.tag_id)
            .where(ActivityTag.activity_id.in_(ids), Tag.deleted_at.is_(None))):
        tag_counts[tag_id] += by_id_weight.get(activity_id, 0)
        tag_names[tag_id] = tag_name
    stats.tags = _shares(sorted(((tag_names[i], n) for i, n in tag_counts.items() if n),
                                key=lambda item: (-item[1], item[0])))
    stats.materiel = _shares([(m.label, materiel[m.value]) for m in Materiel])
    stats.channels = _shares([(p.label, channels[p.value]) for p in PlaceType])
    stats.durations = _shares([(label, durations[key]) for key, label, _low, _high in DURATION_BUCKETS])
    stats.places = _shares(sorted(((place_names[i], count) for i, count in places.items()),
                                  key=lambda item: (-item[1], item[0])))
    stats.communes = _shares(_sorted(communes))

    # beneficiaries: distinct records reached through the participations
    people = session.execute(
        sa.select(Beneficiary.id, Beneficiary.anonymous, Beneficiary.genre, Beneficiary.birth_year,
                  Beneficiary.tranche_age, Beneficiary.statut_social, Commune.name, Commune.postal_code)
        .outerjoin(Commune, Commune.id == Beneficiary.residence_commune_id)
        .where(Beneficiary.id.in_(sa.select(Participation.beneficiary_id)
                                  .where(Participation.activity_id.in_(ids))))
    ).all()
    genres: Counter = Counter()
    ages: Counter = Counter()
    statuts: Counter = Counter()
    residences: Counter = Counter()
    for _id, anonymous, genre, birth_year, declared, statut, commune_name, commune_postal in people:
        stats.beneficiaries += 1
        if anonymous:
            stats.anonymous_beneficiaries += 1
        else:
            stats.followed_beneficiaries += 1
        genres[Genre(genre).value if genre else Genre.NON_COMMUNIQUE.value] += 1
        declared_value = TrancheAge(declared).value if declared else None
        ages[coop_age_band(birth_year, declared_value, today.year).value] += 1
        statuts[StatutSocial(statut).value if statut else StatutSocial.NON_COMMUNIQUE.value] += 1
        residences[_label_commune(commune_name, commune_postal)] += 1
    stats.genres = _shares([(g.label, genres[g.value]) for g in Genre])
    stats.age_bands = _shares([(t.label, ages[t.value]) for t in TrancheAge])
    stats.statuts = _shares([(s.label, statuts[s.value]) for s in StatutSocial])
    stats.residences = _shares(_sorted(residences))

    stats.new_beneficiaries = session.scalar(
        sa.select(sa.func.count()).select_from(Participation)
        .where(Participation.activity_id.in_(ids), Participation.first_accompaniment.is_(True))) or 0
    return stats


def mediator_choices(session: Session, user: User) -> list[tuple[int, str]]:
    """Mediators a coordinator (their territory's, mediation.directory's rule) or an administrator
    (all) may filter on; none for the others."""
    if user.role not in (Role.COORDINATOR, Role.ADMIN):
        return []
    visible = visible_users(user).where(User.role == Role.MEDIATOR).subquery()
    query = (sa.select(visible.c.id, visible.c.first_name, visible.c.last_name)
             .order_by(visible.c.last_name, visible.c.first_name, visible.c.id))
    return [(uid, f"{first} {last}") for uid, first, last in session.execute(query)]
