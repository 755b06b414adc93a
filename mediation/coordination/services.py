"""Logging and counting coordinators' activities (the national tool's ``CraAnimationValidation``,
``CraEvenementValidation``, ``CraPartenariatValidation``).

Rules, per type (as the Coop):
- every type: a date; duration optional (1 to 1 440 minutes); name, notes, territorial level and tags
  optional (tags: those the coordinator manages, see mediation.cases.tags);
- animation: a type of animation (« Autre » must be specified), at least one thématique d’animation
  (« Autre thématique » must be specified), at least one mediator, structure or other actor;
- évènement: a number of participants (0 or more), a type of évènement (« Autre » specified), at least
  one organiser (« Autre » specified);
- partenariat: at least one nature (« Autre » specified), at least one partner structure with a name
  and a type (« Autre » specified).
Only coordinators log them; each coordinator sees and deletes their own (administrators see all).
They never enter the beneficiary or accompaniment statistics.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import Role, User
from mediation.cases.models import Tag
from mediation.cases.services import Errors, clean_text
from mediation.cases.tags import manageable_clause
from mediation.coordination.enums import (
    AnimationTheme,
    AnimationType,
    CoordinationType,
    EventType,
    Initiative,
    Organiser,
    PartnershipNature,
    PartnerType,
    TerritorialLevel,
)
from mediation.coordination.models import CoordinationActivity
from mediation.errors import DomainError
from mediation.types import local_today, utcnow


@dataclass
class Partner:
    name: str | None = None
    type: str | None = None
    type_other: str | None = None


@dataclass
class CoordinationInput:
    """What the form or the API gives (values of the enums in mediation.coordination.enums)."""

    type: str | None = None
    date: date | None = None
    duration_min: int | None = None
    name: str | None = None
    notes: str | None = None
    territorial_level: str | None = None
    tag_ids: list[int] = field(default_factory=list)
    mediators_count: int | None = None
    structures_count: int | None = None
    other_actors_count: int | None = None
    animation_type: str | None = None
    animation_type_other: str | None = None
    initiative: str | None = None
    animation_themes: list[str] = field(default_factory=list)
    animation_theme_other: str | None = None
    participants: int | None = None
    event_type: str | None = None
    event_type_other: str | None = None
    organisers: list[str] = field(default_factory=list)
    organiser_other: str | None = None
    partnership_natures: list[str] = field(default_factory=list)
    partnership_nature_other: str | None = None
    partners: list[Partner] = field(default_factory=list)


def can_log(user: User) -> bool:
    return user.role == Role.COORDINATOR


def visible_clause(user: User):
    """A coordinator their own; an administrator all; nobody else any."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.COORDINATOR:
        return CoordinationActivity.coordinator_id == user.id
    return sa.false()


def get_activity(session: Session, user: User, activity_id: int) -> CoordinationActivity | None:
    return session.scalar(sa.select(CoordinationActivity).where(
        CoordinationActivity.id == activity_id, CoordinationActivity.deleted_at.is_(None), visible_clause(user)))


def list_query(user: User, start: date | None = None, end: date | None = None,
               kind: str | None = None) -> sa.Select:
    query = sa.select(CoordinationActivity).where(CoordinationActivity.deleted_at.is_(None), visible_clause(user))
    if start:
        query = query.where(CoordinationActivity.date >= start)
    if end:
        query = query.where(CoordinationActivity.date <= end)
    if kind in {t.value for t in CoordinationType}:
        query = query.where(CoordinationActivity.type == kind)
    return query.order_by(CoordinationActivity.date.desc(), CoordinationActivity.id.desc())


def offered_tags(session: Session, user: User) -> list[Tag]:
    """Tags a coordinator may put on their activities: their territory's."""
    if user.role != Role.COORDINATOR:
        return []
    return list(session.scalars(sa.select(Tag).where(manageable_clause(user), Tag.deleted_at.is_(None))
                                .order_by(Tag.name)))


# --- rules --------------------------------------------------------------------------------------

def _enum(enum_cls, value, errors: Errors, name: str, message: str):
    if value in (None, ""):
        return None
    try:
        return enum_cls(value)
    except ValueError:
        errors.add(name, message)
        return None


def _enums(enum_cls, values, errors: Errors, name: str) -> list[str]:
    values = list(dict.fromkeys(values or []))
    allowed = {m.value for m in enum_cls}
    if any(v not in allowed for v in values):
        errors.add(name, "Valeur inconnue")
    return [v for v in values if v in allowed]


def _count(value, errors: Errors, name: str) -> int | None:
    if value is None:
        return None
    if value < 0:
        errors.add(name, "Le nombre doit être positif")
    elif value > 100_000:
        errors.add(name, "Nombre trop grand")
    return value


def _other(chosen: bool, value: str | None, errors: Errors, name: str, message: str) -> str | None:
    value = clean_text(value)
    if chosen and not value:
        errors.add(name, message)
    if value and len(value) > 200:
        errors.add(name, "200 caractères au maximum")
    return value if chosen else None


def validate(session: Session, user: User, data: CoordinationInput, today: date | None = None) -> dict:
    """Every rule at once; returns the column values (ValidationFailed carries the errors by field)."""
    errors = Errors()
    kind = _enum(CoordinationType, data.type, errors, "type", "Type d’activité inconnu")
    if kind is None and "type" not in errors.by_field:
        errors.add("type", "Veuillez choisir le type d’activité (animation, évènement ou partenariat)")
    if data.date is None:
        errors.add("date", "Veuillez renseigner une date")
    elif data.date > (today or local_today()):
        errors.add("date", "La date ne peut pas être dans le futur")
    if data.duration_min is not None and not 0 < data.duration_min <= 1440:
        errors.add("duration_min", "La durée doit être comprise entre 1 minute et 24 heures")
    name = clean_text(data.name)
    if name and len(name) > 200:
        errors.add("name", "200 caractères au maximum")
    values = {
        "type": kind, "date": data.date, "duration_min": data.duration_min, "name": name,
        "notes": clean_text(data.notes),
        "territorial_level": _enum(TerritorialLevel, data.territorial_level, errors, "territorial_level",
                                   "Échelon territorial inconnu"),
        "mediators_count": None, "structures_count": None, "other_actors_count": None, "animation_type": None,
        "animation_type_other": None, "initiative": None, "animation_themes": [], "animation_theme_other": None,
        "participants": None, "event_type": None, "event_type_other": None, "organisers": [],
        "organiser_other": None, "partnership_natures": [], "partnership_nature_other": None, "partners": [],
    }
    if kind == CoordinationType.ANIMATION:
        values["mediators_count"] = _count(data.mediators_count, errors, "mediators_count")
        values["structures_count"] = _count(data.structures_count, errors, "structures_count")
        values["other_actors_count"] = _count(data.other_actors_count, errors, "other_actors_count")
        if not any((values[k] or 0) > 0 for k in ("mediators_count", "structures_count", "other_actors_count")):
            errors.add("mediators_count", "Veuillez renseigner au moins un médiateur, une structure ou un autre acteur")
        animation_type = _enum(AnimationType, data.animation_type, errors, "animation_type", "Type d’animation inconnu")
        if animation_type is None:
            errors.add("animation_type", "Veuillez renseigner un type d’animation")
        values["animation_type"] = animation_type
        values["animation_type_other"] = _other(animation_type == AnimationType.AUTRE, data.animation_type_other,
                                                errors, "animation_type_other", "Veuillez préciser le type d’animation")
        values["initiative"] = _enum(Initiative, data.initiative, errors, "initiative", "Valeur inconnue")
        themes = _enums(AnimationTheme, data.animation_themes, errors, "animation_themes")
        if not themes:
            errors.add("animation_themes", "Veuillez renseigner au moins une thématique d’animation")
        values["animation_themes"] = themes
        values["animation_theme_other"] = _other(
            AnimationTheme.AUTRE.value in themes, data.animation_theme_other, errors, "animation_theme_other",
            "Veuillez préciser la thématique d’animation")
    elif kind == CoordinationType.EVENEMENT:
        if data.participants is None:
            errors.add("participants", "Veuillez renseigner le nombre de participants")
        values["participants"] = _count(data.participants, errors, "participants")
        event_type = _enum(EventType, data.event_type, errors, "event_type", "Type d’évènement inconnu")
        if event_type is None:
            errors.add("event_type", "Veuillez renseigner un type d’événement")
        values["event_type"] = event_type
        values["event_type_other"] = _other(event_type == EventType.AUTRE, data.event_type_other, errors,
                                            "event_type_other", "Veuillez préciser le type d’événement")
        organisers = _enums(Organiser, data.organisers, errors, "organisers")
        if not organisers:
            errors.add("organisers", "Veuillez renseigner au moins un organisateur")
        values["organisers"] = organisers
        values["organiser_other"] = _other(Organiser.AUTRE.value in organisers, data.organiser_other, errors,
                                           "organiser_other", "Veuillez préciser l’organisateur")
    elif kind == CoordinationType.PARTENARIAT:
        natures = _enums(PartnershipNature, data.partnership_natures, errors, "partnership_natures")
        if not natures:
            errors.add("partnership_natures", "Veuillez renseigner au moins une nature de partenariat")
        values["partnership_natures"] = natures
        values["partnership_nature_other"] = _other(
            PartnershipNature.AUTRE.value in natures, data.partnership_nature_other, errors,
            "partnership_nature_other", "Veuillez préciser la nature du partenariat")
        partners = []
        for partner in data.partners:
            partner_name = clean_text(partner.name)
            if not partner_name and not partner.type:
                continue
            if not partner_name:
                errors.add("partners", "Veuillez renseigner le nom de la structure partenaire")
            partner_type = _enum(PartnerType, partner.type, errors, "partners", "Type de structure inconnu")
            if partner_type is None:
                errors.add("partners", "Veuillez renseigner le type de la structure partenaire")
            other = _other(partner_type == PartnerType.AUTRE, partner.type_other, errors, "partners",
                           "Veuillez préciser le type de structure")
            partners.append({"nom": partner_name, "type": partner_type.value if partner_type else None,
                             "type_autre": other})
        if not partners:
            errors.add("partners", "Au moins une structure partenaire est requise")
        values["partners"] = partners
    wanted = list(dict.fromkeys(data.tag_ids or []))
    chosen = {t.id: t for t in offered_tags(session, user) if t.id in wanted}
    if len(chosen) != len(wanted):
        errors.add("tag_ids", "Tag inconnu : choisissez parmi les tags de votre territoire")
    values["_tags"] = [chosen[i] for i in wanted if i in chosen]
    errors.raise_if_any()
    return values


def log_activity(session: Session, user: User, data: CoordinationInput) -> CoordinationActivity:
    """Record a coordinator's animation, évènement or partenariat. Raises ValidationFailed (nothing
    written) or DomainError for anyone but a coordinator."""
    if not can_log(user):
        raise DomainError("Seuls les coordinateurs enregistrent des activités de coordination.")
    values = validate(session, user, data)
    tags = values.pop("_tags")
    activity = CoordinationActivity(coordinator_id=user.id, territory_id=user.territory_id, tags=tags, **values)
    session.add(activity)
    session.flush()
    record(session, "coordination_activity.created", actor=user, obj=activity,
           details={"type": activity.type.value})
    return activity


def delete_activity(session: Session, user: User, activity: CoordinationActivity) -> None:
    if activity.coordinator_id != user.id:
        raise DomainError("Seul le coordinateur qui l’a enregistrée peut supprimer cette activité.")
    activity.deleted_at = utcnow()
    session.flush()
    record(session, "coordination_activity.deleted", actor=user, obj=activity)


# --- counting -----------------------------------------------------------------------------------

@dataclass
class CoordinationSummary:
    """The coordinator's own block of « Statistiques »: activities by type, time spent, people reached."""

    total: int = 0
    by_type: list[tuple[str, int]] = field(default_factory=list)
    minutes: int = 0
    animation_mediators: int = 0
    animation_structures: int = 0
    animation_other_actors: int = 0
    event_participants: int = 0
    partners: int = 0
    animation_themes: list[tuple[str, int]] = field(default_factory=list)


def summary(session: Session, user: User, start: date, end: date) -> CoordinationSummary:
    """Counts of the coordinator's activities between ``start`` and ``end`` (an administrator: all)."""
    rows = session.scalars(list_query(user, start, end)).all()
    out = CoordinationSummary(total=len(rows))
    kinds = Counter(r.type for r in rows)
    out.by_type = [(t.label, kinds[t]) for t in CoordinationType]
    themes: Counter = Counter()
    for r in rows:
        out.minutes += r.duration_min or 0
        out.animation_mediators += r.mediators_count or 0
        out.animation_structures += r.structures_count or 0
        out.animation_other_actors += r.other_actors_count or 0
        out.event_participants += r.participants or 0
        out.partners += len(r.partners or [])
        themes.update(r.animation_themes or [])
    out.animation_themes = [(t.label, themes[t.value]) for t in AnimationTheme if themes[t.value]]
    return out
