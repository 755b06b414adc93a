"""Logging activity records (CRA) the national way: individual sessions and workshops.

Rules (docs/domain/activity-records.md §1): a date, a duration, a place, at least one
thématique (démarche thématiques only with "Aide aux démarches administratives"), at least one
beneficiary, followed or anonymous. Anonymous workshop participants become anonymous
:class:`Beneficiary` rows whose genre, age band and status are drawn from the counters, so that
every statistic works per person. Each change recomputes ``first_accompaniment`` and
``accompaniments_count`` and writes an ``activity.*`` audit event.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached, scoped_session

from mediation.audit.services import record
from mediation.cases import services, signals, tags
from mediation.cases.enums import (
    DEMARCHE_CODES,
    THEMATIQUE_CODES,
    ActivityType,
    Autonomie,
    EquipmentKind,
    Genre,
    Materiel,
    NiveauAtelier,
    PlaceType,
    RecordSource,
    StatutSocial,
    StructureRedirection,
    Thematique,
    TrancheAge,
)
from mediation.cases.models import Activity, ActivityTag, ActivityThematique, Beneficiary, Participation
from mediation.cases.services import BeneficiaryInput, Errors
from mediation.directory.models import Commune, StaffMembership, Structure
from mediation.directory.scopes import active_membership_clause
from mediation.errors import DomainError, ValidationFailed
from mediation.types import local_today, utcnow

DEFAULT_DURATION = 60
AIDE_DEMARCHES = Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES.value

# Genre, age band and status values that workshop counters count (non communiqué is the remainder).
COUNTED_GENRES = [Genre.MASCULIN, Genre.FEMININ]
COUNTED_AGES = [t for t in TrancheAge if t != TrancheAge.NON_COMMUNIQUE]
COUNTED_STATUTS = [s for s in StatutSocial if s != StatutSocial.NON_COMMUNIQUE]


@dataclass
class AnonymousInput:
    """Optional information on an anonymous individual beneficiary."""

    residence_commune_id: int | None = None
    genre: str | None = None
    tranche_age: str | None = None
    statut_social: str | None = None
    already_accompanied: bool = False


@dataclass
class AnonymousCounters:
    """Anonymous participants of a workshop: a total and breakdowns (the rest is "Non communiqué")."""

    total: int = 0
    already_accompanied: int = 0
    genres: dict[str, int] = field(default_factory=dict)
    ages: dict[str, int] = field(default_factory=dict)
    statuts: dict[str, int] = field(default_factory=dict)


@dataclass
class ActivityInput:
    type: ActivityType
    structure_id: int | None = None
    date: date | None = None
    duration_min: int | None = None
    place_type: str | None = None
    place_structure_id: int | None = None
    place_commune_id: int | None = None
    thematiques: list[str] = field(default_factory=list)
    demarche_name: str | None = None
    materiel: list[str] = field(default_factory=list)
    autonomie: str | None = None
    oriented: bool | None = None
    redirection: str | None = None
    equipment_kind: str | None = None
    equipment_count: int | None = None
    notes: str | None = None
    workshop_title: str | None = None
    workshop_level: str | None = None
    # individual: a followed beneficiary, a new one created inline, or anonymous
    beneficiary_id: int | None = None
    new_beneficiary: BeneficiaryInput | None = None
    anonymous: AnonymousInput = field(default_factory=AnonymousInput)
    # workshop: followed participants and anonymous counters
    participant_ids: list[int] = field(default_factory=list)
    counters: AnonymousCounters = field(default_factory=AnonymousCounters)
    # tags (ids) among those offered to the mediator (mediation.cases.tags)
    tag_ids: list[int] = field(default_factory=list)


# --- the mediator's structures and defaults -----------------------------------------------------

def mediator_structures(session: Session, user, day: date | None = None) -> list[Structure]:
    """Structures ``user`` works for on ``day`` (today by default), by name."""
    ids = sa.select(StaffMembership.structure_id).where(active_membership_clause(user.id, day))
    return list(session.scalars(sa.select(Structure).where(Structure.id.in_(ids)).order_by(Structure.name)))


def mediator_structure_ids(session: Session, user, day: date | None = None) -> set[int]:
    """Ids of the structures ``user`` works for on ``day`` (a check needs no whole structure)."""
    return set(session.scalars(sa.select(StaffMembership.structure_id).where(active_membership_clause(user.id, day))))


@dataclass
class Defaults:
    structure_id: int | None
    place_type: str
    place_structure_id: int | None
    place_commune_id: int | None
    duration_min: int


def activity_defaults(session: Session, user, activity_type: ActivityType | None = None) -> Defaults:
    """The mediator's usual place and duration: the place of the last activity they logged here
    (not an imported one: its place may be one the form does not offer, such as an unlisted place of
    the national tool's history), else their structure (when they have only one); 1 h for an
    individual session (the common case, whatever the last one lasted), the last workshop's duration
    for a workshop, else 1 h. The acting structure defaults to their only active one."""
    structures = mediator_structures(session, user)
    only = structures[0].id if len(structures) == 1 else None
    query = (sa.select(Activity).where(Activity.mediator_id == user.id, Activity.deleted_at.is_(None),
                                       Activity.source == RecordSource.SAISIE)
             .order_by(Activity.created_at.desc(), Activity.id.desc()).limit(1))
    last = session.scalar(query.where(Activity.type == activity_type)) if activity_type else None
    same_type = last is not None or activity_type is None
    last = last or session.scalar(query)
    allowed = {s.id for s in structures}
    if last is not None:
        return Defaults(
            structure_id=last.structure_id if last.structure_id in allowed else only,
            place_type=last.place_type.value, place_structure_id=last.place_structure_id,
            place_commune_id=last.place_commune_id,
            duration_min=(last.duration_min if same_type and activity_type == ActivityType.COLLECTIF
                          else DEFAULT_DURATION),
        )
    return Defaults(structure_id=only, place_type=PlaceType.LIEU_ACTIVITE.value,
                    place_structure_id=only, place_commune_id=None, duration_min=DEFAULT_DURATION)


FREQUENT_TOPICS = 6  # thématiques offered first on the session form; the others are folded
FREQUENT_WINDOW = 100  # over the mediator's last activities (their structures' when they have none)


def frequent_thematiques(session: Session, user, activity_type: ActivityType | None = None,
                         limit: int = FREQUENT_TOPICS) -> list[str]:
    """The "Médiation numérique" thématiques the mediator chooses most, most chosen first (at most
    ``limit``): over their last activities, or their structures' when they have logged none yet.
    Empty for a network with no history (the form then shows the 19 thématiques unfolded)."""
    def top(where) -> list[str]:
        recent = (sa.select(Activity.id).where(Activity.deleted_at.is_(None), where)
                  .order_by(Activity.created_at.desc(), Activity.id.desc()).limit(FREQUENT_WINDOW))
        if activity_type is not None:
            recent = recent.where(Activity.type == activity_type)
        count = sa.func.count().label("n")
        rows = session.execute(
            sa.select(ActivityThematique.code, count)
            .where(ActivityThematique.activity_id.in_(recent.scalar_subquery()),
                   ActivityThematique.code.in_(sorted(THEMATIQUE_CODES)))
            .group_by(ActivityThematique.code).order_by(count.desc(), ActivityThematique.code)
        )
        return [code for code, _ in rows][:limit]

    codes = top(Activity.mediator_id == user.id)
    if not codes:
        structure_ids = mediator_structure_ids(session, user)
        if structure_ids:
            codes = top(Activity.structure_id.in_(structure_ids))
    return codes


# --- validation ---------------------------------------------------------------------------------

def _enum_or_error(enum_cls, value, errors: Errors, name: str, message: str):
    if value in (None, ""):
        return None
    try:
        return enum_cls(value)
    except ValueError:
        errors.add(name, message)
        return None


# --- the rules, one function per field -----------------------------------------------------------
# The form, the API (through ActivityInput) and the import (mediation.cases.exchange) call these same
# functions: the same input is refused under the same field name with the same French message. Each
# one adds at most one error per field to ``errors`` (the first one wins) and returns the clean value.
# What stays with the import is reading a cell (a date, a number, a label of the national export).

UNKNOWN_THEMATIQUE = "Thématique inconnue"
UNKNOWN_MATERIEL = "Matériel inconnu"
UNKNOWN_REDIRECTION = "Structure de redirection inconnue"
UNKNOWN_TRANCHE = "Tranche d’âge inconnue"
UNKNOWN_STATUT = "Statut inconnu"
DEMARCHES_ONLY_WITH_AIDE = ("Les thématiques de démarches administratives ne sont possibles qu’avec "
                            "la thématique « Aide aux démarches administratives »")


def check_date(day: date | None, errors: Errors, today: date) -> date | None:
    if day is None:
        errors.add("date", "Veuillez renseigner une date")
    elif day > today:
        errors.add("date", "La date ne peut pas être dans le futur")
    elif day.year < 2000:
        errors.add("date", "Veuillez renseigner une date valide")
    return day


def check_duration(minutes: int | None, errors: Errors) -> int | None:
    if not minutes:
        errors.add("duration_min", "Veuillez renseigner une durée")
    elif not 0 < minutes <= 24 * 60:
        errors.add("duration_min", "La durée doit être comprise entre 1 minute et 24 heures")
    return minutes


def check_place_type(value: str | None, errors: Errors) -> PlaceType | None:
    place_type = _enum_or_error(PlaceType, value, errors, "place_type", "Lieu inconnu")
    if place_type is None:
        errors.add("place_type", "Veuillez renseigner un lieu d’accompagnement")
    return place_type


def check_place_structure(reference, found_id: int | None, errors: Errors, *,
                          fallback_id: int | None = None) -> int | None:
    """The lieu d'activité: ``reference`` as given (an id, a name), ``found_id`` what it resolved to.

    ``fallback_id``: instead of refusing a missing or unknown place, keep this structure. The import
    passes the importing structure, as the Coop's export names places our directory may not hold (it
    warns the user); the form and the API pass nothing and refuse.
    """
    if found_id is not None:
        return found_id
    if fallback_id is not None:
        return fallback_id
    if not reference:
        errors.add("place_structure_id", "Veuillez renseigner le lieu d’activité")
    else:
        errors.add("place_structure_id", "Lieu d’activité inconnu")
    return None


def check_place_commune(reference, found_id: int | None, errors: Errors, *, known: bool | None = None) -> int | None:
    """The commune of a place "autre" or "à domicile": ``reference`` as given (an id, an INSEE
    code), ``found_id`` the commune it resolved to. ``known``: whether it resolved, when that is
    not ``found_id``'s being set — an import's analysis resolves communes of the official reference
    that are stored (and get an id) only when the import is applied."""
    if not reference:
        errors.add("place_commune_id", "Veuillez renseigner la commune")
    elif not (found_id is not None if known is None else known):
        errors.add("place_commune_id", "Commune inconnue")
    return found_id if reference else None


def check_thematiques(codes: list[str], errors: Errors) -> tuple[list[str], bool]:
    """At least one thématique; démarche thématiques only with « Aide aux démarches
    administratives ». Returns the codes kept and whether démarches are possible."""
    codes = list(dict.fromkeys(codes or []))
    if any(c not in THEMATIQUE_CODES and c not in DEMARCHE_CODES for c in codes):
        errors.add("thematiques", UNKNOWN_THEMATIQUE)
    if not [c for c in codes if c in THEMATIQUE_CODES]:
        errors.add("thematiques", "Veuillez renseigner au moins une thématique")
    has_demarches = AIDE_DEMARCHES in codes
    if not has_demarches and any(c in DEMARCHE_CODES for c in codes):
        errors.add("demarches", DEMARCHES_ONLY_WITH_AIDE)
    kept = [c for c in codes if c in THEMATIQUE_CODES or (has_demarches and c in DEMARCHE_CODES)]
    return kept, has_demarches


def check_demarche_name(name: str | None, has_demarches: bool, errors: Errors) -> str | None:
    name = services.clean_text(name)
    if name and not has_demarches:
        errors.add("demarche_name", "Le nom de la démarche n’est possible qu’avec la thématique "
                                    "« Aide aux démarches administratives »")
    if name and len(name) > 200:
        errors.add("demarche_name", "200 caractères au maximum")
    return name if has_demarches else None


MATERIEL_CODES = frozenset(m.value for m in Materiel)
_NO_MATERIEL = Materiel.AUCUN.value


def check_materiel(materiel: list[str], errors: Errors) -> list[str]:
    materiel = list(dict.fromkeys(materiel or []))
    if not MATERIEL_CODES.issuperset(materiel):
        errors.add("materiel", UNKNOWN_MATERIEL)
    if _NO_MATERIEL in materiel and len(materiel) > 1:
        errors.add("materiel", "« Pas de matériel » ne peut pas être combiné avec un autre matériel")
    return materiel


def check_redirection(oriented: bool | None, value: str | None, errors: Errors) -> StructureRedirection | None:
    """The structure a beneficiary was redirected to: required when they were."""
    if not oriented:
        return None
    redirection = _enum_or_error(StructureRedirection, value, errors, "redirection", UNKNOWN_REDIRECTION)
    if redirection is None:
        errors.add("redirection", "Veuillez renseigner la structure de redirection")
    return redirection


def check_workshop_title(title: str | None, errors: Errors) -> str | None:
    title = services.clean_text(title)
    if title and len(title) > 200:
        errors.add("workshop_title", "200 caractères au maximum")
    return title


@functools.cache
def _memberships_and_place_statement() -> sa.CompoundSelect:
    """Built once, with parameters: building the statement on every save cost four times running it
    (0.5 ms of CPU against 0.13 ms: the logging request is the busiest write)."""
    return (sa.select(StaffMembership.structure_id, sa.literal(False))
            .where(active_membership_clause(sa.bindparam("user_id"), sa.bindparam("day", type_=sa.Date)))
            .union_all(sa.select(Structure.id, sa.literal(True)).where(Structure.id == sa.bindparam("place_id"))))


def _memberships_and_place(session: Session, user, day: date | None, place_id: int | None) -> tuple[set[int], bool]:
    """The structures ``user`` works for on ``day`` and whether the structure ``place_id`` exists,
    in one query (one round trip of the logging request instead of two)."""
    rows = session.execute(_memberships_and_place_statement(),
                           {"user_id": user.id, "day": day or local_today(), "place_id": place_id or None}).all()
    return {row[0] for row in rows if not row[1]}, any(row[1] for row in rows)


def _validate(session: Session, user, data: ActivityInput, errors: Errors, today: date) -> dict:
    """Common rules of both kinds of activity; returns the column values."""
    wanted_place = data.place_structure_id or None if data.place_type == PlaceType.LIEU_ACTIVITE.value else None
    allowed, place_found = _memberships_and_place(session, user, data.date if data.date else None, wanted_place)
    if not allowed:
        allowed = mediator_structure_ids(session, user)
    if not data.structure_id:
        errors.add("structure_id", "Veuillez choisir la structure pour laquelle vous intervenez")
    elif data.structure_id not in allowed:
        errors.add("structure_id", "Vous n'intervenez pas pour cette structure à cette date")
    check_date(data.date, errors, today)
    check_duration(data.duration_min, errors)

    place_type = check_place_type(data.place_type, errors)
    place_structure_id = place_commune_id = None
    if place_type == PlaceType.LIEU_ACTIVITE:
        reference = data.place_structure_id or None
        found = reference if reference and place_found else None
        place_structure_id = check_place_structure(reference, found, errors)
        place_structure_id = place_structure_id or reference
    elif place_type in (PlaceType.AUTRE, PlaceType.DOMICILE):
        reference = data.place_commune_id or None
        found = reference if reference and session.get(Commune, reference) is not None else None
        place_commune_id = check_place_commune(reference, found, errors)
        place_commune_id = place_commune_id or reference
    elif place_type == PlaceType.A_DISTANCE and data.structure_id in allowed:
        # As the national tool does: the commune of the structure the mediator acts for.
        place_commune_id = session.get(Structure, data.structure_id).commune_id

    codes, has_demarches = check_thematiques(data.thematiques, errors)
    demarche_name = check_demarche_name(data.demarche_name, has_demarches, errors)
    materiel = check_materiel(data.materiel, errors)

    equipment_kind = _enum_or_error(EquipmentKind, data.equipment_kind, errors, "equipment_kind",
                                    "Type d’équipement inconnu")
    equipment_count = data.equipment_count
    if equipment_kind and not equipment_count:
        errors.add("equipment_count", "Veuillez renseigner le nombre d’équipements remis")
    elif equipment_count and not equipment_kind:
        errors.add("equipment_kind", "Veuillez renseigner le type d’équipement remis (don, prêt ou achat solidaire)")
    elif equipment_count is not None and not 0 < equipment_count <= 1000:
        errors.add("equipment_count", "Le nombre d’équipements remis doit être compris entre 1 et 1 000")
    if not equipment_kind:
        equipment_count = None
    return {
        "structure_id": data.structure_id,
        "date": data.date,
        "duration_min": data.duration_min,
        "place_type": place_type,
        "place_structure_id": place_structure_id,
        "place_commune_id": place_commune_id,
        "demarche_name": demarche_name,
        "materiel": materiel,
        "equipment_kind": equipment_kind,
        "equipment_count": equipment_count,
        "notes": services.clean_text(data.notes),
        "_codes": codes,
    }


def _validate_individual(session: Session, user, data: ActivityInput, errors: Errors, values: dict,
                         visible_beneficiary) -> dict:
    values["autonomie"] = _enum_or_error(Autonomie, data.autonomie, errors, "autonomie", "Niveau inconnu")
    values["oriented"] = data.oriented
    values["redirection"] = check_redirection(data.oriented, data.redirection, errors)
    values["workshop_title"] = values["workshop_level"] = None
    new = data.new_beneficiary
    if data.beneficiary_id:
        beneficiary = visible_beneficiary(data.beneficiary_id)
        if beneficiary is None or beneficiary.anonymous or beneficiary.deleted_at is not None:
            errors.add("beneficiary_id", "Bénéficiaire introuvable")
        values["_beneficiary"] = beneficiary
    elif new is not None and (services.clean_text(new.first_name) or services.clean_text(new.last_name)):
        values["_new_beneficiary"] = services.validate_beneficiary(session, new, errors, prefix="new_")
    else:
        anon = data.anonymous
        values["_anonymous"] = {
            "residence_commune_id": anon.residence_commune_id or None,
            "genre": _enum_or_error(Genre, anon.genre, errors, "anon_genre", "Genre inconnu"),
            "tranche_age": _enum_or_error(TrancheAge, anon.tranche_age, errors, "anon_tranche_age",
                                          UNKNOWN_TRANCHE),
            "statut_social": _enum_or_error(StatutSocial, anon.statut_social, errors, "anon_statut_social",
                                            UNKNOWN_STATUT),
            "already_accompanied": bool(anon.already_accompanied),
        }
        commune_id = values["_anonymous"]["residence_commune_id"]
        if commune_id and session.get(Commune, commune_id) is None:
            errors.add("anon_residence_commune_id", "Commune inconnue")
    return values


def _breakdown_error(counts: dict[str, int], allowed, total: int, label: str, name: str, errors: Errors) -> dict:
    clean = {}
    for key, value in (counts or {}).items():
        if not value:
            continue
        if key not in {m.value for m in allowed}:
            errors.add(name, f"{label} : valeur inconnue")
            continue
        if value < 0:
            errors.add(name, "Les nombres ne peuvent pas être négatifs")
            continue
        clean[key] = int(value)
    if sum(clean.values()) > total:
        errors.add(name, f"La répartition par {label} ({sum(clean.values())}) dépasse le nombre de "
                         f"bénéficiaires anonymes ({total})")
    return clean


def _validate_workshop(session: Session, user, data: ActivityInput, errors: Errors, values: dict,
                       visible_beneficiary) -> dict:
    values["autonomie"] = values["oriented"] = values["redirection"] = None
    values["workshop_title"] = check_workshop_title(data.workshop_title, errors)
    values["workshop_level"] = _enum_or_error(NiveauAtelier, data.workshop_level, errors, "workshop_level",
                                              "Niveau inconnu")
    participants = []
    for beneficiary_id in dict.fromkeys(data.participant_ids or []):
        beneficiary = visible_beneficiary(beneficiary_id)
        if beneficiary is None or beneficiary.anonymous or beneficiary.deleted_at is not None:
            errors.add("participant_ids", "Bénéficiaire introuvable")
        else:
            participants.append(beneficiary)
    values["_participants"] = participants
    counters = data.counters
    total = counters.total or 0
    if total < 0:
        errors.add("anon_total", "Les nombres ne peuvent pas être négatifs")
        total = 0
    if total > 500:
        errors.add("anon_total", "500 bénéficiaires anonymes au maximum par atelier")
    if not participants and total == 0 and "participant_ids" not in errors.by_field:
        errors.add("participant_ids", "Veuillez renseigner au moins un bénéficiaire suivi ou anonyme")
    already = counters.already_accompanied or 0
    if already < 0:
        errors.add("anon_already", "Les nombres ne peuvent pas être négatifs")
    elif already > total:
        errors.add("anon_already", f"Le nombre de bénéficiaires déjà accompagnés ({already}) dépasse le "
                                   f"nombre de bénéficiaires anonymes ({total})")
    values["_counters"] = AnonymousCounters(
        total=total, already_accompanied=max(already, 0),
        genres=_breakdown_error(counters.genres, COUNTED_GENRES, total, "genre", "anon_genres", errors),
        ages=_breakdown_error(counters.ages, COUNTED_AGES, total, "tranche d’âge", "anon_ages", errors),
        statuts=_breakdown_error(counters.statuts, COUNTED_STATUTS, total, "statut", "anon_statuts", errors),
    )
    return values


def validate_activity(session: Session, user, data: ActivityInput, *, visible_beneficiary,
                      today: date | None = None, activity: Activity | None = None) -> dict:
    """All the rules, with every error at once (ValidationFailed carries them by field).
    ``activity``: the one being edited (its tags deleted since are kept)."""
    errors = Errors()
    values = _validate(session, user, data, errors, today or local_today())
    values["_tags"] = tags.check_tags(session, user, data.tag_ids, errors, activity)
    if data.type == ActivityType.INDIVIDUEL:
        _validate_individual(session, user, data, errors, values, visible_beneficiary)
    else:
        _validate_workshop(session, user, data, errors, values, visible_beneficiary)
    errors.raise_if_any()
    return values


# --- participants -------------------------------------------------------------------------------

def _draw(counts: dict[str, int], total: int, rest, rng: random.Random) -> list:
    pool = [key for key, n in counts.items() for _ in range(n)]
    pool += [rest] * (total - len(pool))
    rng.shuffle(pool)
    return pool


def anonymous_participants(counters: AnonymousCounters, *, structure_id: int, created_by_id: int | None,
                           rng: random.Random | None = None) -> list[tuple[dict, bool]]:
    """Rows (beneficiary values, first accompaniment) for the anonymous participants of a workshop,
    their attributes drawn from the counters exactly (the remainder is "Non communiqué")."""
    rng = rng or random.Random()  # noqa: S311 - not security sensitive
    total = counters.total
    genres = _draw(counters.genres, total, None, rng)
    ages = _draw(counters.ages, total, None, rng)
    statuts = _draw(counters.statuts, total, None, rng)
    already = [True] * counters.already_accompanied + [False] * (total - counters.already_accompanied)
    rng.shuffle(already)
    return [
        ({"owner_structure_id": structure_id, "created_by_id": created_by_id, "anonymous": True,
          "random_attributes": True, "accompaniments_count": 1, "genre": genres[i] and Genre(genres[i]),
          "tranche_age": ages[i] and TrancheAge(ages[i]),
          "statut_social": statuts[i] and StatutSocial(statuts[i])},
         not already[i])
        for i in range(total)
    ]


def workshop_counters(activity: Activity) -> AnonymousCounters:
    """The counters of a saved workshop, read back from its anonymous participants."""
    anonymous = [p for p in activity.participations if p.beneficiary.random_attributes]
    return AnonymousCounters(
        total=len(anonymous),
        already_accompanied=sum(1 for p in anonymous if not p.first_accompaniment),
        genres=dict(Counter(str(p.beneficiary.genre) for p in anonymous if p.beneficiary.genre)),
        ages=dict(Counter(str(p.beneficiary.tranche_age) for p in anonymous if p.beneficiary.tranche_age)),
        statuts=dict(Counter(str(p.beneficiary.statut_social) for p in anonymous if p.beneficiary.statut_social)),
    )


def _participation_for(session: Session, user, activity: Activity, beneficiary: Beneficiary,
                       first: bool = False) -> Participation:
    case_id = None
    if not beneficiary.anonymous:
        case = services.live_case(session, beneficiary.id)
        if case is None:
            case = services.open_case_for(session, user, beneficiary, structure_id=activity.structure_id,
                                          mediator_id=user.id)
        case_id = case.id
    participation = Participation(beneficiary=beneficiary, case_id=case_id, first_accompaniment=first)
    activity.participations.append(participation)
    activity.participants_count = len(activity.participations)
    return participation


def _drop_participation(session: Session, activity: Activity, participation: Participation) -> None:
    beneficiary = participation.beneficiary
    activity.participations.remove(participation)
    session.flush()
    if beneficiary.anonymous:
        # Anonymous rows exist only for this one participation.
        session.delete(beneficiary)


def _anonymous_values(anon: dict, structure_id: int, user) -> dict:
    return {"owner_structure_id": structure_id, "created_by_id": user.id, "anonymous": True,
            "random_attributes": False, "accompaniments_count": 1, "residence_commune_id": anon["residence_commune_id"],
            "genre": anon["genre"], "tranche_age": anon["tranche_age"], "statut_social": anon["statut_social"]}


def _set_individual_beneficiary(session: Session, user, activity: Activity, values: dict) -> set[int]:
    """Attach the individual session's one beneficiary; returns ids whose counters must change."""
    touched = {p.beneficiary_id for p in activity.participations}
    current = activity.participations[0] if activity.participations else None
    if "_anonymous" in values:
        anon = values["_anonymous"]
        if current is not None and current.beneficiary.anonymous:
            for key, value in _anonymous_values(anon, activity.structure_id, user).items():
                if key not in ("created_by_id",):
                    setattr(current.beneficiary, key, value)
            current.first_accompaniment = not anon["already_accompanied"]
            return touched
        if current is not None:
            _drop_participation(session, activity, current)
        beneficiary = Beneficiary(**_anonymous_values(anon, activity.structure_id, user))
        session.add(beneficiary)
        _participation_for(session, user, activity, beneficiary, first=not anon["already_accompanied"])
        session.flush()
        return touched | {beneficiary.id}
    if "_new_beneficiary" in values:
        beneficiary = Beneficiary(owner_structure_id=activity.structure_id, created_by_id=user.id,
                                  **values["_new_beneficiary"])
        session.add(beneficiary)
        session.flush()
        record(session, "beneficiary.created", actor=user, obj=beneficiary, structure_id=activity.structure_id,
               details={"fields": sorted(k for k, v in values["_new_beneficiary"].items() if v not in (None, False)),
                        "from_activity": True})
    else:
        beneficiary = values["_beneficiary"]
    if current is not None and current.beneficiary_id == beneficiary.id:
        return touched
    if current is not None:
        _drop_participation(session, activity, current)
    _participation_for(session, user, activity, beneficiary)
    session.flush()
    return touched | {beneficiary.id}


def _set_workshop_participants(session: Session, user, activity: Activity, values: dict,
                               rng: random.Random | None = None) -> set[int]:
    touched = {p.beneficiary_id for p in activity.participations}
    wanted = {b.id: b for b in values["_participants"]}
    for participation in list(activity.participations):
        if not participation.beneficiary.anonymous and participation.beneficiary_id not in wanted:
            _drop_participation(session, activity, participation)
    present = {p.beneficiary_id for p in activity.participations}
    for beneficiary in values["_participants"]:
        if beneficiary.id not in present:
            _participation_for(session, user, activity, beneficiary)
    counters: AnonymousCounters = values["_counters"]
    if activity.id is None or workshop_counters(activity) != counters:
        for participation in [p for p in activity.participations if p.beneficiary.anonymous]:
            _drop_participation(session, activity, participation)
        for beneficiary_values, first in anonymous_participants(
                counters, structure_id=activity.structure_id, created_by_id=user.id, rng=rng):
            beneficiary = Beneficiary(**beneficiary_values)
            session.add(beneficiary)
            _participation_for(session, user, activity, beneficiary, first=first)
    session.flush()
    return touched | {p.beneficiary_id for p in activity.participations}


def _new_participants(session: Session, user, activity: Activity, values: dict,
                      rng: random.Random | None = None) -> None:
    """The participations of a new ``activity`` (not yet in the session): its followed people (their
    live case found or opened), new anonymous people, or a new identified person (created and
    audited first)."""
    if activity.type == ActivityType.INDIVIDUEL:
        if "_anonymous" in values:
            anon = values["_anonymous"]
            beneficiary = Beneficiary(**_anonymous_values(anon, activity.structure_id, user))
            _participation_for(session, user, activity, beneficiary, first=not anon["already_accompanied"])
            return
        if "_new_beneficiary" in values:
            beneficiary = Beneficiary(owner_structure_id=activity.structure_id, created_by_id=user.id,
                                      **values["_new_beneficiary"])
            session.add(beneficiary)
            session.flush()
            record(session, "beneficiary.created", actor=user, obj=beneficiary, structure_id=activity.structure_id,
                   details={"fields": sorted(k for k, v in values["_new_beneficiary"].items()
                                             if v not in (None, False)), "from_activity": True})
        else:
            beneficiary = values["_beneficiary"]
        _participation_for(session, user, activity, beneficiary)
        return
    for beneficiary in values["_participants"]:
        _participation_for(session, user, activity, beneficiary)
    for beneficiary_values, first in anonymous_participants(
            values["_counters"], structure_id=activity.structure_id, created_by_id=user.id, rng=rng):
        _participation_for(session, user, activity, Beneficiary(**beneficiary_values), first=first)


def _apply(activity: Activity, values: dict) -> list[str]:
    changed = []
    for name, value in values.items():
        if name.startswith("_"):
            continue
        if getattr(activity, name) != value:
            setattr(activity, name, value)
            changed.append(name)
    codes = values["_codes"]
    if sorted(activity.thematiques) != sorted(codes):
        activity.thematique_rows = [ActivityThematique(code=c) for c in codes]
        changed.append("thematiques")
    chosen = values.get("_tags", [])
    if {t.id for t in activity.tags} != {t.id for t in chosen}:
        activity.tags = list(chosen)
        changed.append("tags")
    return changed


def _finish(session: Session, activity: Activity, touched: set[int]) -> None:
    session.flush()
    activity.participants_count = len(activity.participations)
    services.recompute_first_accompaniments(session, touched)
    services.recompute_counts(session, touched)


# --- inserting a new activity in one statement (PostgreSQL) -------------------------------------

# Above these, the unit of work inserts the activity (a large workshop is not the frequent case and
# would make too many statement shapes to keep compiled).
INSERT_AT_ONCE_MAX_PEOPLE = 12
INSERT_AT_ONCE_MAX_ROWS = 40
_INSERT_AT_ONCE: dict[tuple, sa.Select] = {}


def _row_values(obj) -> dict:
    """Every column of a new ``obj`` (primary key left out), its Python defaults applied as a flush
    applies them (the models give every column that has a server default a Python one too); the
    values are also set on ``obj``."""
    values = {}
    for prop in sa.inspect(type(obj)).column_attrs:
        column = prop.columns[0]
        if column.primary_key:
            continue
        value = getattr(obj, prop.key)
        if value is None and column.default is not None:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
        setattr(obj, prop.key, value)  # every column held: none is reloaded later
        values[column.name] = value
    return values


def _insert_at_once_statement(shape: tuple) -> sa.Select:
    """``WITH b0 AS (INSERT INTO beneficiaries … RETURNING id), a AS (INSERT INTO activities …
    RETURNING id), t0 AS (INSERT INTO activity_thematiques SELECT a.id, …), p AS (INSERT INTO
    participations SELECT … ORDER BY position RETURNING id, beneficiary_id) SELECT p.id,
    p.beneficiary_id, a.id, b0.id, … FROM p, a, b0, …``: the rows a flush would insert one table after
    the other, in one round trip (participations numbered in the order given, as a flush numbers
    them). Built once per shape (which participants are new people, thématiques, tags) with named
    parameters, so that SQLAlchemy keeps its compiled form."""
    pattern, codes, tag_count = shape
    activities, beneficiaries = Activity.__table__, Beneficiary.__table__
    participations, thematiques = Participation.__table__, ActivityThematique.__table__

    def columns(table, skip=()) -> list:
        return [c for c in table.columns if not c.primary_key and c.name not in skip]

    def params(table, prefix: str, skip=()) -> list:
        return [sa.bindparam(f"{prefix}_{c.name}", type_=c.type) for c in columns(table, skip)]

    people = {i: sa.insert(beneficiaries).from_select(columns(beneficiaries), sa.select(*params(beneficiaries, f"b{i}")))
              .returning(beneficiaries.c.id).cte(f"b{i}") for i, new in enumerate(pattern) if new}
    activity = (sa.insert(activities).from_select(columns(activities), sa.select(*params(activities, "a")))
                .returning(activities.c.id).cte("a"))
    rows = [sa.insert(thematiques).from_select(
        ["activity_id", "code"], sa.select(activity.c.id, sa.bindparam(f"t{i}", type_=thematiques.c.code.type)))
        .cte(f"t{i}") for i in range(codes)]
    rows += [sa.insert(ActivityTag.__table__).from_select(
        ["activity_id", "tag_id"], sa.select(activity.c.id, sa.bindparam(f"g{i}", type_=sa.Integer))).cte(f"g{i}")
        for i in range(tag_count)]
    linked = ("activity_id", "beneficiary_id")
    rest = columns(participations, linked)
    sources = []
    for i, new in enumerate(pattern):
        person = people[i].c.id if new else sa.bindparam(f"p{i}_beneficiary_id", type_=sa.Integer)
        source = sa.select(activity.c.id.label("activity_id"), person.label("beneficiary_id"),
                           *(sa.bindparam(f"p{i}_{c.name}", type_=c.type).label(c.name) for c in rest),
                           sa.literal(i).label("position"))
        sources.append(source.select_from(activity.join(people[i], sa.true())) if new else source)
    listed = sa.union_all(*sources).subquery("listed") if len(sources) > 1 else sources[0].subquery("listed")
    links = (sa.insert(participations)
             .from_select(["activity_id", "beneficiary_id", *(c.name for c in rest)],
                          sa.select(listed.c.activity_id, listed.c.beneficiary_id, *(listed.c[c.name] for c in rest))
                          .order_by(listed.c.position))
             .returning(participations.c.id, participations.c.beneficiary_id).cte("p"))
    # One row per participation (the single-row CTEs joined to it on TRUE).
    joined = links
    for part in (activity, *(people[i] for i in sorted(people))):
        joined = joined.join(part, sa.true())
    return (sa.select(links.c.id, links.c.beneficiary_id, activity.c.id.label("activity_id"),
                      *(people[i].c.id.label(f"b{i}") for i in sorted(people)))
            .select_from(joined).add_cte(*rows))


def _in_savepoint(session) -> bool:
    """Whether ``session`` (or the session behind a scoped session) is inside ``begin_nested()``."""
    target = session() if isinstance(session, scoped_session) else session
    return target.in_nested_transaction()


def _insert_new_activity(session: Session, activity: Activity) -> None:
    """Insert a new ``activity`` with its new anonymous participants, participations, thématiques
    and tags — one statement on PostgreSQL, instead of one per table, and no unit-of-work pass —,
    then add them to ``session`` as persistent objects holding exactly the values written
    (``make_transient_to_detached``: what a flush leaves, without a reload). Other cases (SQLite, a
    large workshop, a new participant other than an anonymous one, a savepoint) go through the
    session's flush."""
    participations = list(activity.participations)
    people = [p.beneficiary for p in participations]
    if not (session.get_bind().dialect.name == "postgresql"
            # In a savepoint (a job, a bulk action) the flush keeps its rollback exact: the objects it
            # inserted are expunged when the savepoint is rolled back.
            and not _in_savepoint(session)
            and 0 < len(participations) <= INSERT_AT_ONCE_MAX_PEOPLE
            and len(activity.thematique_rows) + len(activity.tags) <= INSERT_AT_ONCE_MAX_ROWS
            and all(sa.inspect(b).persistent or (sa.inspect(b).transient and b.anonymous) for b in people)):
        session.add(activity)
        session.flush()
        return
    pattern = tuple(sa.inspect(b).transient for b in people)
    shape = (pattern, len(activity.thematique_rows), len(activity.tags))
    statement = _INSERT_AT_ONCE.get(shape)
    if statement is None:
        if len(_INSERT_AT_ONCE) >= 256:  # shapes are few in practice; never let them pile up
            _INSERT_AT_ONCE.clear()
        statement = _INSERT_AT_ONCE[shape] = _insert_at_once_statement(shape)
    values = {f"a_{k}": v for k, v in _row_values(activity).items()}
    for i, (participation, person) in enumerate(zip(participations, people, strict=True)):
        if pattern[i]:
            values.update({f"b{i}_{k}": v for k, v in _row_values(person).items()})
        else:
            values[f"p{i}_beneficiary_id"] = person.id
        values.update({f"p{i}_{k}": v for k, v in _row_values(participation).items()
                       if k not in ("activity_id", "beneficiary_id")})
    values.update({f"t{i}": row.code for i, row in enumerate(activity.thematique_rows)})
    values.update({f"g{i}": tag.id for i, tag in enumerate(activity.tags)})
    rows = session.execute(statement, values).all()
    activity.id = rows[0].activity_id
    for i, new in enumerate(pattern):
        if new:
            people[i].id = getattr(rows[0], f"b{i}")
    by_person = {row.beneficiary_id: row.id for row in rows}
    for participation, person in zip(participations, people, strict=True):
        participation.id, participation.activity_id = by_person[person.id], activity.id
        participation.beneficiary_id = person.id
    for row in activity.thematique_rows:
        row.activity_id = activity.id
    for obj in (*(b for b, new in zip(people, pattern, strict=True) if new), activity, *participations,
                *activity.thematique_rows):
        make_transient_to_detached(obj)
    session.add(activity)  # cascades to its participations, their new people and its thématiques


# --- mutations ----------------------------------------------------------------------------------

def log_activity(session: Session, user, data: ActivityInput, *, visible_beneficiary,
                 rng: random.Random | None = None) -> Activity:
    """Create an individual session or a workshop logged by ``user`` (a mediator).

    ``visible_beneficiary(id)`` loads a beneficiary through the user's scope (policy) or returns
    None. Raises ValidationFailed with every field error; nothing is written then.
    """
    values = validate_activity(session, user, data, visible_beneficiary=visible_beneficiary)
    # An empty collection from the start: no lazy load of a new activity's participations.
    activity = Activity(type=data.type, mediator_id=user.id, created_by_id=user.id, participations=[], tags=[])
    _apply(activity, values)
    _new_participants(session, user, activity, values, rng)
    activity.participants_count = len(activity.participations)
    _insert_new_activity(session, activity)  # with its participants, in one statement on PostgreSQL
    # Targeted upkeep (a new activity only adds): the counters of its participants, and the
    # statistics of its own cell plus those of the first accompaniments it displaced.
    moved = services.count_new_participations(session, activity, activity.participations)
    # Statistics add it to its cell; pathways honour the referrals towards this place.
    signals.activity_logged.send(session, activity=activity, displaced=moved)
    record(session, "activity.created", actor=user, obj=activity, structure_id=activity.structure_id,
           details={"type": activity.type.value, "participants": activity.participants_count})
    return activity


def update_activity(session: Session, user, activity: Activity, data: ActivityInput, *,
                    visible_beneficiary, rng: random.Random | None = None) -> list[str]:
    """Edit an activity (its type cannot change); recompute the derived counters; audited with the
    names of the fields that changed."""
    if activity.deleted_at is not None:
        raise DomainError("Cette activité a été supprimée.")
    if data.type != activity.type:
        raise ValidationFailed("Le type d’une activité ne peut pas être modifié", field="type")
    signals.activity_changing.send(session, activity=activity)
    values = validate_activity(session, user, data, visible_beneficiary=visible_beneficiary, activity=activity)
    before = {(p.beneficiary_id, p.first_accompaniment) for p in activity.participations}
    changed = _apply(activity, values)
    session.flush()
    if activity.type == ActivityType.INDIVIDUEL:
        touched = _set_individual_beneficiary(session, user, activity, values)
    else:
        touched = _set_workshop_participants(session, user, activity, values, rng)
    _finish(session, activity, touched)
    signals.activity_changed.send(session, activity=activity)
    after = {(p.beneficiary_id, p.first_accompaniment) for p in activity.participations}
    if before != after:
        changed.append("participants")
    if changed:
        activity.updated_at = utcnow()
        session.flush()
        record(session, "activity.updated", actor=user, obj=activity, structure_id=activity.structure_id,
               details={"fields": sorted(set(changed)), "participants": activity.participants_count})
    return changed


def delete_activity(session: Session, user, activity: Activity) -> Activity:
    """Soft-delete: the activity counts nowhere any more; counters are recomputed; audited."""
    if activity.deleted_at is not None:
        raise DomainError("Cette activité a déjà été supprimée.")
    activity.deleted_at = utcnow()
    ids = {p.beneficiary_id for p in activity.participations}
    session.flush()
    services.recompute_first_accompaniments(session, ids)
    services.recompute_counts(session, ids)
    signals.activity_deleted.send(session, activity=activity)
    record(session, "activity.deleted", actor=user, obj=activity, structure_id=activity.structure_id,
           details={"type": activity.type.value, "participants": activity.participants_count})
    return activity


def restore_activity(session: Session, user, activity: Activity) -> Activity:
    """Undo a soft delete; counters are recomputed; audited."""
    if activity.deleted_at is None:
        raise DomainError("Cette activité n’est pas supprimée.")
    activity.deleted_at = None
    ids = {p.beneficiary_id for p in activity.participations}
    session.flush()
    services.recompute_first_accompaniments(session, ids)
    services.recompute_counts(session, ids)
    signals.activity_restored.send(session, activity=activity)
    record(session, "activity.restored", actor=user, obj=activity, structure_id=activity.structure_id)
    return activity


def input_from_activity(activity: Activity, *, for_copy: bool = False) -> ActivityInput:
    """The form values of a saved activity (to edit it, or to duplicate it with today's date)."""
    data = ActivityInput(
        type=activity.type, structure_id=activity.structure_id,
        date=local_today() if for_copy else activity.date, duration_min=activity.duration_min,
        place_type=activity.place_type.value, place_structure_id=activity.place_structure_id,
        place_commune_id=activity.place_commune_id if activity.place_type != PlaceType.A_DISTANCE else None,
        thematiques=list(activity.thematiques), demarche_name=activity.demarche_name,
        materiel=list(activity.materiel or []),
        autonomie=activity.autonomie.value if activity.autonomie else None, oriented=activity.oriented,
        redirection=activity.redirection.value if activity.redirection else None,
        equipment_kind=activity.equipment_kind.value if activity.equipment_kind else None,
        equipment_count=activity.equipment_count, notes=None if for_copy else activity.notes,
        workshop_title=activity.workshop_title,
        workshop_level=activity.workshop_level.value if activity.workshop_level else None,
        tag_ids=[t.id for t in activity.tags if t.deleted_at is None],
    )
    if activity.type == ActivityType.INDIVIDUEL:
        participation = activity.participations[0] if activity.participations else None
        if participation is not None and not participation.beneficiary.anonymous:
            data.beneficiary_id = participation.beneficiary_id
        elif participation is not None and not for_copy:
            b = participation.beneficiary
            data.anonymous = AnonymousInput(
                residence_commune_id=b.residence_commune_id, genre=b.genre.value if b.genre else None,
                tranche_age=b.tranche_age.value if b.tranche_age else None,
                statut_social=b.statut_social.value if b.statut_social else None,
                already_accompanied=not participation.first_accompaniment)
    else:
        data.participant_ids = [p.beneficiary_id for p in activity.participations if not p.beneficiary.anonymous]
        data.counters = workshop_counters(activity)
    return data
