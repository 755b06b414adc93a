"""One filter object for every figure: period, territory or commune, structure, programme and
mediator; read from the query string (``du``, ``au``, ``territoire``, ``commune``, ``structure``,
``programme``, ``mediateur``), checked against what the user may see, then compiled into the SQL
clauses every indicator uses (:class:`Scope`).

Attribution rules:

- an activity counts where it was done: its structure (and that structure's commune and
  territory) and its mediator, whatever happened to the case afterwards;
- an activity belongs to a programme when its date is inside the programme's period and its
  structure or its mediator is covered, or when it was attributed to it explicitly;
- events that are not activities (diagnoses, validations, referrals, mandates) count for the
  structure that recorded them and the staff member who did, with the same rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role, User
from mediation.cases.models import Activity, Beneficiary, Participation
from mediation.directory.models import Commune, StaffMembership, Structure, Territory
from mediation.directory.scopes import territory_communes, territory_structures
from mediation.errors import Forbidden, NotFound, ValidationFailed
from mediation.evaluation import policy
from mediation.evaluation.models import (
    Programme,
    programme_activities,
    programme_mediators,
    programme_structures,
)
from mediation.types import LOCAL_TIMEZONE as PARIS
from mediation.types import in_ids, local_today

# Query-string name → attribute.
PARAMS = {
    "du": "start",
    "au": "end",
    "territoire": "territory_id",
    "commune": "commune_id",
    "structure": "structure_id",
    "programme": "programme_id",
    "mediateur": "mediator_id",
}
ID_FIELDS = ("territory_id", "commune_id", "structure_id", "programme_id", "mediator_id")
ID_LABELS = {
    "territory_id": "Territoire", "commune_id": "Commune", "structure_id": "Structure",
    "programme_id": "Programme", "mediator_id": "Médiateur·rice",
}
MAX_YEARS = 10


@dataclass(frozen=True)
class EvaluationFilter:
    """The filters of a dashboard, a report, an export or an API call (dates inclusive)."""

    start: date
    end: date
    territory_id: int | None = None
    commune_id: int | None = None
    structure_id: int | None = None
    programme_id: int | None = None
    mediator_id: int | None = None
    # The period was not asked for: a programme's own period replaces the default one.
    default_dates: bool = field(default=False, compare=False)
    # The period asked for, when it was widened to whole months (funders, open data).
    asked: tuple[date, date] | None = field(default=None, compare=False)

    def query_args(self) -> dict[str, str]:
        """The query string that reproduces these figures (shareable, bookmarkable)."""
        values = asdict(self)
        out = {}
        for name, attribute in PARAMS.items():
            value = values[attribute]
            if value is not None:
                out[name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    @classmethod
    def from_params(cls, params: dict) -> EvaluationFilter:
        values = {}
        for name, attribute in PARAMS.items():
            raw = params.get(name)
            if raw in (None, ""):
                continue
            values[attribute] = date.fromisoformat(raw) if attribute in ("start", "end") else int(raw)
        return cls(**values)


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last twelve months: from the first day of the month eleven months ago to today."""
    today = today or local_today()
    month = today.month - 11
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1), today


def parse_filter(args, *, today: date | None = None) -> EvaluationFilter:
    """Read the filters from a query string (a mapping). Raises ValidationFailed with one French
    message per bad parameter (the parameter's name as the field); nothing is guessed."""
    errors: dict[str, str] = {}
    default_start, default_end = default_period(today)
    values: dict = {"start": default_start, "end": default_end}
    for name, attribute in PARAMS.items():
        raw = (args.get(name) or "").strip()
        if not raw:
            continue
        if attribute in ("start", "end"):
            try:
                values[attribute] = date.fromisoformat(raw)
            except ValueError:
                errors[name] = "Saisissez une date au format AAAA-MM-JJ (par exemple 2026-01-31)."
            continue
        if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**31:
            errors[name] = f"{ID_LABELS[attribute]} : identifiant invalide."
            continue
        values[attribute] = int(raw)
    if "du" not in errors and "au" not in errors:
        if values["start"] > values["end"]:
            errors["au"] = "La date de fin doit être postérieure ou égale à la date de début."
        elif values["end"] - values["start"] > timedelta(days=366 * MAX_YEARS):
            errors["au"] = f"La période ne peut pas dépasser {MAX_YEARS} ans."
        elif values["start"].year < 2000:
            errors["du"] = "La période commence au plus tôt en 2000."
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    return EvaluationFilter(**values, default_dates=not (args.get("du") or "").strip()
                            and not (args.get("au") or "").strip())


# --- what the user may see ---------------------------------------------------------------------

def authorise(session: Session, user: User, f: EvaluationFilter) -> EvaluationFilter:
    """Check every id of ``f`` against the user's scope and add what the role imposes.

    Coordinators are held to their territory; mediators to their structures (the ``mediateur``
    filter may only name themselves); funders to one of their funder's programmes (the first
    one when none is given) and never filter by mediator. An id the user may not see raises
    NotFound (as if it did not exist); a filter the role may not use raises Forbidden.
    """
    if user.role not in policy.DASHBOARD_ROLES:
        raise Forbidden("Votre rôle ne donne pas accès aux indicateurs.")
    changes: dict = {}
    if user.role == Role.COORDINATOR:
        if f.territory_id not in (None, user.territory_id):
            raise NotFound("Ce territoire n'existe pas ou n'est pas le vôtre.")
        changes["territory_id"] = user.territory_id
    if f.mediator_id is not None and not policy.can_filter_by_mediator(user):
        raise Forbidden("Les financeurs consultent les indicateurs par programme, pas par médiateur.")
    if user.role == Role.FUNDER and f.programme_id is None:
        first = session.scalar(policy.visible_programmes(user).with_only_columns(Programme.id)
                               .order_by(Programme.starts_on.desc(), Programme.id.desc()).limit(1))
        if first is None:
            raise NotFound("Aucun programme n'est rattaché à votre compte : contactez l'administration.")
        changes["programme_id"] = first
    if user.role == Role.MEDIATOR and f.mediator_id not in (None, user.id):
        raise NotFound("Vous ne consultez que vos propres indicateurs ou ceux de votre structure.")
    f = replace(f, **changes)

    programme = policy.get_programme(session, user, f.programme_id) if f.programme_id is not None else None
    if f.programme_id is not None and programme is None:
        raise NotFound("Ce programme n'existe pas ou ne vous est pas accessible.")
    if programme is not None and f.default_dates:
        f = replace(f, start=programme.starts_on, end=programme.ends_on, default_dates=False)
    if user.role == Role.FUNDER:
        f = whole_months(f)
        # Within a programme, a funder may look at one commune or one structure it covers.
        covered = Scope(session, user, f).covered_structure_ids()
        if f.structure_id is not None and f.structure_id not in covered:
            raise NotFound("Cette structure n'est pas couverte par le programme.")
        if f.commune_id is not None and not session.scalar(
                sa.select(sa.func.count()).select_from(Structure)
                .where(Structure.commune_id == f.commune_id, Structure.id.in_(covered or [-1]))):
            raise NotFound("Cette commune n'est pas couverte par le programme.")
        if f.territory_id is not None and not session.get(Territory, f.territory_id):
            raise NotFound("Ce territoire n'existe pas.")
        return f
    visible_structures = policy.dashboard_structures(user)
    if f.territory_id is not None and session.get(Territory, f.territory_id) is None:
        raise NotFound("Ce territoire n'existe pas.")
    if f.commune_id is not None:
        commune = session.get(Commune, f.commune_id)
        if commune is None or (user.role == Role.COORDINATOR and commune.territory_id != user.territory_id):
            raise NotFound("Cette commune n'existe pas ou n'est pas dans votre territoire.")
        if user.role == Role.MEDIATOR and not session.scalar(
                sa.select(sa.func.count()).select_from(Structure)
                .where(Structure.commune_id == commune.id, Structure.id.in_(visible_structures))):
            raise NotFound("Aucune de vos structures n'est dans cette commune.")
    if f.structure_id is not None:
        query = sa.select(Structure.id).where(Structure.id == f.structure_id)
        if visible_structures is not None:
            query = query.where(Structure.id.in_(visible_structures))
        if session.scalar(query) is None:
            raise NotFound("Cette structure n'existe pas ou n'est pas dans votre périmètre.")
    if f.mediator_id is not None:
        mediator = session.get(User, f.mediator_id)
        if mediator is None or mediator.role != Role.MEDIATOR:
            raise NotFound("Ce médiateur n'existe pas.")
        if user.role == Role.COORDINATOR and not session.scalar(
                sa.select(sa.func.count()).select_from(StaffMembership)
                .where(StaffMembership.user_id == mediator.id,
                       StaffMembership.structure_id.in_(territory_structures(user.territory_id)))):
            raise NotFound("Ce médiateur ne travaille pas dans votre territoire.")
    return f


# --- whole months (funders and open data) -------------------------------------------------------

def month_end(day: date) -> date:
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def whole_months(f: EvaluationFilter, *, today: date | None = None) -> EvaluationFilter:
    """The filter's period widened to whole calendar months and ending at the latest with the last
    complete month (the period a funder and the open data receive).

    Two periods that differ by a few days would otherwise publish two totals whose difference is
    the activity of those days — a small count recovered by subtraction although every table shows
    it « < 5 ». Widened this way, two requests a day apart give the same months, hence the very
    same figures; and a month still in progress (whose figures grow every day) is never published.
    Raises ValidationFailed (French message, field ``au``) when no complete month is left."""
    from mediation.evaluation.method import fmt_date

    today = today or local_today()
    last_complete = today.replace(day=1) - timedelta(days=1)
    start, end = f.start.replace(day=1), min(month_end(f.end), last_complete)
    if start > end:
        raise ValidationFailed(
            "Les financeurs et les données ouvertes ne reçoivent que des mois entiers et terminés, et le mois en "
            "cours ne l'est pas : choisissez une période qui se termine au plus tard le "
            f"{fmt_date(last_complete)}.", errors={"au": "Choisissez une période qui se termine au plus tard le "
                                                       f"{fmt_date(last_complete)} (mois entiers et terminés)."})
    if (start, end) == (f.start, f.end):
        return f
    return replace(f, start=start, end=end, asked=f.asked or (f.start, f.end))


# --- the compiled scope -------------------------------------------------------------------------

def utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00) in Paris, as UTC datetimes (for timestamp columns)."""
    low = datetime.combine(start, time.min, tzinfo=PARIS).astimezone(UTC)
    high = datetime.combine(end + timedelta(days=1), time.min, tzinfo=PARIS).astimezone(UTC)
    return low, high


@dataclass
class Scope:
    """The SQL clauses of a filter for a user (already authorised with :func:`authorise`)."""

    session: Session
    user: User
    filter: EvaluationFilter
    programme: Programme | None = field(default=None, init=False)
    start: date = field(init=False)
    end: date = field(init=False)
    empty: bool = field(default=False, init=False)
    # Aggregates shared by several indicators of one computation (read once per scope).
    cache: dict = field(default_factory=dict, init=False, repr=False)
    # False: every figure from the raw tables (the reference the tests compare the rollups to).
    use_rollups: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        f = self.filter
        self.start, self.end = f.start, f.end
        if f.programme_id is not None:
            self.programme = self.session.get(Programme, f.programme_id)
            self.start = max(self.start, self.programme.starts_on)
            self.end = min(self.end, self.programme.ends_on)
            if self.start > self.end:
                self.empty = True
                self.start, self.end = f.start, f.end
        self._programme_structures = self._programme_mediators = None
        self._programme_explicit = False
        self._programme_activities: list[int] = []
        if self.programme is not None:
            pid = self.programme.id
            self._programme_structures = list(self.session.scalars(
                sa.select(programme_structures.c.structure_id).where(programme_structures.c.programme_id == pid)))
            self._programme_mediators = list(self.session.scalars(
                sa.select(programme_mediators.c.user_id).where(programme_mediators.c.programme_id == pid)))
            # The activities attributed one by one, as a list: an ``IN`` of ids is served by the primary
            # key, also inside the ``OR`` with the programme's places and posts (a subquery there
            # made PostgreSQL read every activity of the period).
            self._programme_activities = sorted(self.session.scalars(
                sa.select(programme_activities.c.activity_id).where(programme_activities.c.programme_id == pid)))
            self._programme_explicit = bool(self._programme_activities)

    # period
    @property
    def utc_start(self) -> datetime:
        return utc_bounds(self.start, self.end)[0]

    @property
    def utc_end(self) -> datetime:
        """Exclusive upper bound."""
        return utc_bounds(self.start, self.end)[1]

    def period_clause(self, column):
        """``column`` (a UTC timestamp) inside the period (Paris days)."""
        return sa.and_(column >= self.utc_start, column < self.utc_end)

    def until_end_clause(self, column):
        return column < self.utc_end

    # structures and people
    def structure_ids(self) -> sa.Select | None:
        """Structures allowed by the territory, commune, structure filters and the user's scope
        (the programme aside); None when nothing restricts them."""
        f = self.filter
        clauses = []
        if f.territory_id is not None:
            clauses.append(Structure.commune_id.in_(territory_communes(f.territory_id)))
        if f.commune_id is not None:
            clauses.append(Structure.commune_id == f.commune_id)
        if f.structure_id is not None:
            clauses.append(Structure.id == f.structure_id)
        visible = policy.dashboard_structures(self.user)
        if visible is not None:
            clauses.append(Structure.id.in_(visible))
        if not clauses:
            return None
        return sa.select(Structure.id).where(*clauses)

    def covered_structure_ids(self) -> list[int]:
        """Structures where the programme's activities may happen (its structures, those of its
        mediators' activities and of its explicit activities); every structure without programme."""
        if self.programme is None:
            return list(self.session.scalars(sa.select(Structure.id)))
        ids = set(self._programme_structures or [])
        conditions = []
        if self._programme_mediators:
            conditions.append(in_ids(Activity.mediator_id, self._programme_mediators))
        if self._programme_explicit:
            conditions.append(in_ids(Activity.id, self._programme_activities))
        if conditions:
            ids |= set(self.session.scalars(sa.select(Activity.structure_id).distinct().where(sa.or_(*conditions))))
        return sorted(ids)

    def _programme_clause(self, structure_column, actor_column, activity_id_column=None):
        if self.programme is None:
            return None
        options = []
        if self._programme_structures:
            options.append(in_ids(structure_column, self._programme_structures))
        if self._programme_mediators and actor_column is not None:
            options.append(in_ids(actor_column, self._programme_mediators))
        if self._programme_explicit and activity_id_column is not None:
            options.append(in_ids(activity_id_column, self._programme_activities))
        return sa.or_(*options) if options else sa.false()

    def unit_clause(self, structure_column, actor_column=None, activity_id_column=None):
        """Restrictions (territory, commune, structure, mediator, programme, user's scope) on the
        structure and the staff member that did something."""
        clauses = []
        if self.empty:
            clauses.append(sa.false())
        structures = self.structure_ids()
        if structures is not None:
            clauses.append(structure_column.in_(structures))
        if self.filter.mediator_id is not None:
            clauses.append(actor_column == self.filter.mediator_id if actor_column is not None else sa.false())
        programme = self._programme_clause(structure_column, actor_column, activity_id_column)
        if programme is not None:
            clauses.append(programme)
        return sa.and_(sa.true(), *clauses)

    def activity_clause(self):
        """Live activities of the period that the filters select."""
        return sa.and_(
            Activity.deleted_at.is_(None), Activity.date >= self.start, Activity.date <= self.end,
            self.unit_clause(Activity.structure_id, Activity.mediator_id, Activity.id),
        )

    def people(self) -> sa.Select:
        """Identified people accompanied in scope during the period (one column, ``beneficiary_id``):
        from the rollups when the filter allows it (:meth:`rollup_ids`), else :meth:`people_raw`."""
        ids = self.rollup_ids()
        if ids is None:
            return self.people_raw()
        if "people" not in self.cache:
            from mediation.stats.people import identified_people

            people = identified_people(self.start, self.end, **ids)
            self.cache["people"] = self.read_once(people)
        return self.cache["people"]

    def read_once(self, ids: sa.Select, *, otherwise: sa.Select | None = None) -> sa.Select:
        """``ids`` (a select of one column of record ids) for ``IN (…)`` clauses of several queries.
        On SQLite the ids are read here, once, then handed to each query as one JSON parameter
        (``beneficiary_id`` of ``json_each``): SQLite otherwise computes the subquery again in every
        query that uses it (the distinct people of the rollups: ~3.5 ms each at 100 000
        accompaniments). PostgreSQL plans the subquery within each query: ``ids`` is returned as is,
        or ``otherwise``, a broader set the queries narrow down themselves to the same rows (reading
        the narrower one first would only add a join to each of them)."""
        if self.session.get_bind().dialect.name != "sqlite":
            return ids if otherwise is None else otherwise
        read = ids.subquery("ids")
        # The JSON array built by SQLite (json_group_array) rather than from a list of Python ints.
        found = self.session.scalar(sa.select(sa.func.json_group_array(list(read.c)[0]))) or "[]"
        values = sa.func.json_each(found).table_valued(sa.column("value", sa.Integer))
        return sa.select(values.c.value.label("beneficiary_id"))

    def people_raw(self) -> sa.Select:
        """The same people, from the participations of the scope's activities."""
        return (
            sa.select(Participation.beneficiary_id.label("beneficiary_id")).distinct()
            .join(Activity, Activity.id == Participation.activity_id)
            .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
            .where(self.activity_clause(), sa.not_(Beneficiary.counted_per_participation))
        )

    # rollups
    def rollup_restrictions(self) -> dict | None:
        """What the scope adds up, as the keyword arguments of :func:`mediation.stats.dashboard.means`:
        the rollups' cells (``structure_ids``, ``mediator_ids``: a select, a list or None; ``either``:
        a programme's structures and mediators, a cell of either counts) and ``attributed``, the
        activities attributed one by one to the programme (those outside the cells are read from the
        raw tables). None: every figure from the raw tables (:attr:`use_rollups` off)."""
        if not self.use_rollups:
            return None
        nothing = {"structure_ids": [], "mediator_ids": [], "either": None, "attributed": None}
        if self.empty:
            return nothing
        structures = self.structure_ids()
        mediators = [self.filter.mediator_id] if self.filter.mediator_id is not None else None
        either = attributed = None
        if self.programme is not None:
            programme_structures, programme_mediators = self._programme_structures, self._programme_mediators
            if self._programme_explicit:
                attributed = self._programme_activities
                either = (programme_structures or [], programme_mediators or [])
            elif programme_structures and programme_mediators:
                either = (programme_structures, programme_mediators)
            elif programme_structures:
                covered = sa.select(Structure.id).where(Structure.id.in_(programme_structures))
                structures = covered if structures is None else covered.where(Structure.id.in_(structures))
            elif programme_mediators:
                mediators = [m for m in programme_mediators if mediators is None or m in mediators]
            else:
                return nothing
        return {"structure_ids": structures, "mediator_ids": mediators, "either": either, "attributed": attributed}

    def rollup_ids(self) -> dict | None:
        """:meth:`rollup_restrictions` with lists of ids (read once per scope): the planner then uses
        the rollups' (structure, month) keys."""
        if "rollup_ids" not in self.cache:
            restrictions = self.rollup_restrictions()
            if restrictions is not None:
                def listed(ids):
                    if ids is None:
                        return None
                    return sorted(ids) if isinstance(ids, list | tuple | set) else sorted(self.session.scalars(ids))

                either = restrictions["either"]
                restrictions = {"structure_ids": listed(restrictions["structure_ids"]),
                                "mediator_ids": listed(restrictions["mediator_ids"]),
                                "either": None if either is None else (listed(either[0]), listed(either[1])),
                                "attributed": listed(restrictions["attributed"])}
            self.cache["rollup_ids"] = restrictions
        return self.cache["rollup_ids"]

    # labels
    def describe(self) -> list[tuple[str, str]]:
        """The filters in words, printed on every page, report and export."""
        from mediation.evaluation.method import fmt_date

        f = self.filter
        rows = [("Période", f"du {fmt_date(self.start)} au {fmt_date(self.end)}")]
        if f.asked is not None:
            rows.append(("Période demandée", f"du {fmt_date(f.asked[0])} au {fmt_date(f.asked[1])}, étendue aux mois "
                         "entiers et terminés (secret statistique : une différence de quelques jours entre deux "
                         "périodes révélerait de petits effectifs)"))
        if self.programme is not None:
            rows.append(("Programme", f"{self.programme.name} ({self.programme.funder.name})"))
        if f.territory_id is not None:
            rows.append(("Territoire", self.session.get(Territory, f.territory_id).name))
        if f.commune_id is not None:
            rows.append(("Commune", self.session.get(Commune, f.commune_id).name))
        if f.structure_id is not None:
            rows.append(("Structure", self.session.get(Structure, f.structure_id).name))
        if f.mediator_id is not None:
            rows.append(("Médiateur·rice", self.session.get(User, f.mediator_id).full_name))
        return rows

    def territory(self) -> Territory | None:
        """The territory the coverage table describes."""
        f = self.filter
        if f.territory_id is not None:
            return self.session.get(Territory, f.territory_id)
        if f.commune_id is not None:
            return self.session.get(Commune, f.commune_id).territory
        if self.programme is not None and self.programme.territory_id:
            return self.programme.territory
        if f.structure_id is not None:
            return self.session.get(Structure, f.structure_id).commune.territory
        return None

