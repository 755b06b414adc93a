"""Training records: record, attach a certificate, remove; reminders before expiry and the report
of expired habilitations to the coordination (one daily job); the territory's skills table.

Services flush, never commit, and audit through :func:`mediation.audit.services.record`. They raise
Forbidden (role or scope), ValidationFailed (French, naming the field).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, selectinload

from mediation.audit.services import record
from mediation.auth.models import Role, User
from mediation.directory.models import Commune, StaffMembership, Structure
from mediation.directory.notifications import NotificationKind, notify_coordination
from mediation.directory.scopes import active_membership_clause, structure_scope
from mediation.directory.services import FieldError, clean_text, fail
from mediation.errors import Forbidden, ValidationFailed
from mediation.jobs import register
from mediation.mail import send_mail
from mediation.training import habilitation, policy
from mediation.training.models import HABILITATION_KIND, REFERENCE_KINDS, TrainingKind, TrainingRecord
from mediation.types import local_today, utcnow
from mediation.uploads import check_scan

log = logging.getLogger("mediation.training")

HABILITATION_DEFAULT_YEARS = 3  # when the certificate states no end (and in migration 0024)
REMINDER_DAYS = 60  # the person is reminded this many days before a training expires
SOON_DAYS = REMINDER_DAYS  # « expire bientôt » in the lists


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _kind(value) -> TrainingKind:
    try:
        return TrainingKind(value)
    except ValueError:
        raise ValidationFailed("Choisissez une formation de la liste, ou « Autre formation ».", field="kind") from None


def record_training(session: Session, actor: User, person: User, *, kind, obtained_on: date | None,
                    expires_on: date | None = None, title: str | None = None, organisation: str | None = None,
                    certificate: bytes | None = None, today: date | None = None) -> TrainingRecord:
    """Record a training or certification of ``person`` (loaded through the actor's scope).

    Rules: « Autre » needs a title; the date obtained is not in the future; the expiry follows it;
    the Aidants Connect habilitation always expires (three years after the training when the
    certificate gives no date) and is recorded by the coordination only; the certificate, optional,
    is a PDF, JPEG or PNG recognised by its content. Raises Forbidden, ValidationFailed."""
    today = today or local_today()
    kind = _kind(kind)
    if not policy.can_record(actor, person, kind):
        if kind == HABILITATION_KIND:
            raise Forbidden("Seule la coordination enregistre l’habilitation Aidants Connect : transmettez-lui "
                            "votre attestation.")
        raise Forbidden("Vous ne pouvez pas enregistrer de formation pour cette personne.")
    if person.role not in policy.TRAINED_ROLES:
        raise ValidationFailed("Seuls les médiateur·rices et coordinateur·rices ont des formations enregistrées.",
                               field="kind")
    errors = {}
    values = {}
    checks = {
        "title": lambda: clean_text(title, max_length=200, label="L’intitulé",
                                    required="Donnez l’intitulé de la formation." if kind == TrainingKind.AUTRE
                                    else None),
        "organisation": lambda: clean_text(organisation, max_length=200, label="L’organisme"),
    }
    for key, check in checks.items():
        try:
            values[key] = check()
        except FieldError as error:
            errors[key] = str(error)
    if kind != TrainingKind.AUTRE:
        values["title"] = None
    if obtained_on is None:
        errors["obtained_on"] = "Indiquez la date d’obtention (jj/mm/aaaa)."
    elif obtained_on > today:
        errors["obtained_on"] = "La date d’obtention ne peut pas être dans le futur."
    elif expires_on is not None and expires_on <= obtained_on:
        errors["expires_on"] = "La date de fin de validité doit suivre la date d’obtention."
    fail(errors)
    if kind == HABILITATION_KIND and expires_on is None:
        expires_on = years_later(obtained_on, HABILITATION_DEFAULT_YEARS)
    entry = TrainingRecord(user_id=person.id, kind=kind, obtained_on=obtained_on, expires_on=expires_on,
                           created_by_id=actor.id, **values)
    if certificate:
        _set_certificate(entry, certificate)
    session.add(entry)
    session.flush()
    record(session, "training.recorded", actor=actor, obj=entry,
           details={"user_id": person.id, "kind": kind.value, "obtained_on": obtained_on.isoformat(),
                    "expires_on": expires_on.isoformat() if expires_on else None,
                    "certificate": entry.certificate_sha256})
    return entry


def _set_certificate(entry: TrainingRecord, data: bytes | None) -> str:
    content_type = check_scan(data, field="certificate",
                              missing="Choisissez le fichier de l’attestation (PDF, JPEG ou PNG).",
                              too_big="numérisez l’attestation en résolution plus faible.")
    entry.certificate = data
    entry.certificate_type = content_type
    entry.certificate_sha256 = hashlib.sha256(data).hexdigest()
    return content_type


def attach_certificate(session: Session, actor: User, entry: TrainingRecord, data: bytes | None) -> TrainingRecord:
    """Attach (or replace) the scanned certificate of a record. Raises Forbidden, ValidationFailed."""
    if not policy.can_delete(actor, entry):
        raise Forbidden("Vous ne pouvez pas modifier cette formation.")
    replaced = entry.certificate_type is not None
    content_type = _set_certificate(entry, data)
    session.flush()
    record(session, "training.certificate_attached", actor=actor, obj=entry,
           details={"user_id": entry.user_id, "content_type": content_type, "size": len(data),
                    "sha256": entry.certificate_sha256, "replaced": replaced})
    return entry


def delete_training(session: Session, actor: User, entry: TrainingRecord) -> None:
    """Remove a record entered by mistake (the audit log keeps what it said). Raises Forbidden."""
    if not policy.can_delete(actor, entry):
        raise Forbidden("Vous ne pouvez pas supprimer cette formation.")
    details = {"user_id": entry.user_id, "kind": entry.kind.value, "title": entry.title,
               "obtained_on": entry.obtained_on.isoformat(),
               "expires_on": entry.expires_on.isoformat() if entry.expires_on else None,
               "certificate": entry.certificate_sha256}
    entry_id = entry.id
    session.delete(entry)
    session.flush()
    record(session, "training.deleted", actor=actor, object_type="training_records", object_id=entry_id,
           details=details)


def records_of(session: Session, person: User) -> list[TrainingRecord]:
    return list(session.scalars(sa.select(TrainingRecord).where(TrainingRecord.user_id == person.id)
                                .order_by(TrainingRecord.obtained_on.desc(), TrainingRecord.id.desc())))


def records_by_person(session: Session, user_ids: list[int]) -> dict[int, list[TrainingRecord]]:
    """Records of many people in one query (lists without N+1)."""
    found: dict[int, list[TrainingRecord]] = defaultdict(list)
    if user_ids:
        for entry in session.scalars(sa.select(TrainingRecord).where(TrainingRecord.user_id.in_(user_ids))
                                     .order_by(TrainingRecord.obtained_on.desc(), TrainingRecord.id.desc())):
            found[entry.user_id].append(entry)
    return found


def best_by_kind(entries: list[TrainingRecord], day: date) -> dict[TrainingKind, TrainingRecord]:
    """For each kind, the record in force that lasts longest (else the latest one)."""
    best: dict[TrainingKind, TrainingRecord] = {}
    for entry in entries:
        current = best.get(entry.kind)
        if current is None:
            best[entry.kind] = entry
            continue
        key = (entry.in_force(day), entry.expires_on or date.max, entry.obtained_on)
        if key > (current.in_force(day), current.expires_on or date.max, current.obtained_on):
            best[entry.kind] = entry
    return best


# --- reminders and the coordination (daily job) ------------------------------------------------

def _territories_of(session: Session, user_id: int, day: date) -> list[int]:
    return list(session.scalars(
        sa.select(Commune.territory_id).distinct()
        .join(Structure, Structure.commune_id == Commune.id)
        .join(StaffMembership, StaffMembership.structure_id == Structure.id)
        .where(active_membership_clause(user_id, day), Commune.territory_id.is_not(None))
        .order_by(Commune.territory_id)))


def _link(endpoint: str, **values) -> str:
    base = current_app.config["MEDIATION_PUBLIC_BASE_URL"]
    return base + current_app.url_map.bind("").build(endpoint, values)


def send_reminders(session: Session, *, today: date | None = None) -> dict:
    """Remind each active staff member, by e-mail, of their trainings that expire within
    :data:`REMINDER_DAYS` days (once per record); tell the coordination of each territory where an
    aidant works, in the app and by e-mail, that their Aidants Connect habilitation has expired and
    that they can no longer act under a mandate (once per record, unless a newer one is in force)."""
    today = today or local_today()
    now = utcnow()
    soon = list(session.scalars(
        sa.select(TrainingRecord).join(User, User.id == TrainingRecord.user_id)
        .where(TrainingRecord.reminded_at.is_(None), TrainingRecord.expires_on.is_not(None),
               TrainingRecord.expires_on >= today, TrainingRecord.expires_on <= today + timedelta(days=REMINDER_DAYS),
               User.is_active_account)
        .options(selectinload(TrainingRecord.user)).order_by(TrainingRecord.id)))
    for entry in soon:
        person = entry.user
        send_mail(
            person.email,
            f"Votre formation « {entry.name} » expire le {habilitation.long_date(entry.expires_on)}",
            f"Bonjour {person.first_name},\n\nVotre formation ou certification « {entry.name} » arrive à échéance "
            f"le {habilitation.long_date(entry.expires_on)}.\n"
            + ("Sans renouvellement, vous ne pourrez plus créer ni utiliser de mandats après cette date.\n"
               if entry.kind == HABILITATION_KIND else "")
            + f"Vos formations : {_link('training.person', person_id=person.id)}\n\n"
            "Ce message est automatique, merci de ne pas y répondre.\n",
        )
        entry.reminded_at = now
        session.flush()
        record(session, "training.reminded", obj=entry,
               details={"user_id": person.id, "kind": entry.kind.value, "expires_on": entry.expires_on.isoformat()})

    expired = list(session.scalars(
        sa.select(TrainingRecord).join(User, User.id == TrainingRecord.user_id)
        .where(TrainingRecord.kind == HABILITATION_KIND, TrainingRecord.expiry_reported_at.is_(None),
               TrainingRecord.expires_on < today, User.is_aidant, User.is_active_account,
               User.id.not_in(habilitation.habilitated_users(today)))
        .options(selectinload(TrainingRecord.user)).order_by(TrainingRecord.id)))
    reported = 0
    for entry in expired:
        person = entry.user
        message = (f"L’habilitation Aidants Connect de {person.full_name} a expiré le "
                   f"{habilitation.long_date(entry.expires_on)} : cette personne ne peut plus créer ni utiliser "
                   "de mandats tant qu’une nouvelle formation n’est pas enregistrée.")
        territories = _territories_of(session, person.id, today)
        for territory_id in territories:
            notify_coordination(session, territory_id, NotificationKind.HABILITATION_EXPIREE, message,
                                user_id=person.id)
        coordinators = session.scalars(sa.select(User).where(
            User.role == Role.COORDINATOR, User.territory_id.in_(territories), User.is_active_account)
            .order_by(User.id)).all() if territories else []
        for coordinator in coordinators:
            send_mail(coordinator.email, "Une habilitation d’aidant a expiré",
                      f"Bonjour,\n\n{message}\nSes formations : {_link('training.person', person_id=person.id)}\n\n"
                      "Ce message est automatique, merci de ne pas y répondre.\n")
        entry.expiry_reported_at = now
        session.flush()
        record(session, "training.habilitation_expired", obj=entry,
               details={"user_id": person.id, "expires_on": entry.expires_on.isoformat(),
                        "territories": territories, "coordinators": len(coordinators)})
        reported += 1
    result = {"rappels": len(soon), "habilitations_expirees": reported}
    if soon or reported:
        record(session, "training.reminders_run", details=result)
    log.info("training reminders: %s", result)
    return result


@register("training.reminders")
def reminders_job(session: Session, job, progress) -> dict:
    result = send_reminders(session)
    progress(1, 1)
    return result


# --- the territory's skills ---------------------------------------------------------------------

@dataclass
class SkillsRow:
    """People working today in a structure (or a commune's structures), and how many of them hold
    each reference training in force."""

    label: str
    commune: str
    structures: int = 0
    people: set = field(default_factory=set)
    # kind → people holding it, filled as found: a dict of empty sets per row cost 11 µs (an enum
    # member's hash is Python code), 0.14 s for a network's 6,000 places and their communes.
    trained: dict = field(default_factory=dict)

    @property
    def staff(self) -> int:
        return len(self.people)

    def count(self, kind: TrainingKind) -> int:
        return len(self.trained.get(kind, ()))

    @property
    def gaps(self) -> list[TrainingKind]:
        return [k for k in REFERENCE_KINDS if not self.trained.get(k)]


@dataclass
class Skills:
    service: str | None
    services: list[str]
    communes: list[SkillsRow]
    structures: list[SkillsRow]
    kinds: tuple = REFERENCE_KINDS

    def communes_without(self, kind: TrainingKind) -> list[str]:
        return [row.label for row in self.communes if not row.trained.get(kind)]


def skills(session: Session, actor: User, *, service: str | None = None, day: date | None = None,
           territory_id: int | None = None) -> Skills:
    """The skills table of the actor's scope (open structures), per commune and per structure,
    optionally only the structures offering ``service`` (a value of the national schema's
    « services ») or, within the scope, those of the communes of one territory. A habilitation
    counts only for a designated aidant, as for mandates."""
    if not policy.can_view_skills(actor):
        raise Forbidden("Le tableau des compétences est réservé à la coordination.")
    day = day or local_today()
    # The columns the table prints only, as rows (a network's thousands of places, read as objects,
    # decoded a dozen JSON columns each), and the places as a subquery rather than thousands of ids.
    in_scope = sa.select(Structure.id).where(Structure.archived_at.is_(None))
    scope = structure_scope(actor)
    if scope is not None:
        in_scope = in_scope.where(Structure.id.in_(scope))
    if territory_id is not None:
        in_scope = in_scope.where(Structure.commune_id.in_(
            sa.select(Commune.id).where(Commune.territory_id == territory_id)))
    structures = session.execute(
        sa.select(Structure.id, Structure.name, Structure.services, Commune.id.label("commune_id"),
                  Commune.name.label("commune"))
        .join(Commune, Commune.id == Structure.commune_id).where(Structure.id.in_(in_scope))
        .order_by(Structure.name, Structure.id)).all()
    services = sorted({s for structure in structures for s in (structure.services or [])})
    if service:
        if service not in services:
            raise ValidationFailed("Ce service n’est proposé par aucune structure de votre périmètre.", field="service")
        structures = [s for s in structures if service in (s.services or [])]
    ids = {s.id for s in structures}
    working = (StaffMembership.structure_id.in_(in_scope), StaffMembership.started_on <= day,
               sa.or_(StaffMembership.ended_on.is_(None), StaffMembership.ended_on >= day))
    staff: dict[int, set[int]] = defaultdict(set)
    aidants: set[int] = set()
    for structure_id, user_id, is_aidant in session.execute(
            sa.select(StaffMembership.structure_id, User.id, User.is_aidant)
            .join(User, User.id == StaffMembership.user_id)
            .where(*working, User.is_active_account, User.role == Role.MEDIATOR)):
        if structure_id in ids:
            staff[structure_id].add(user_id)
            if is_aidant:
                aidants.add(user_id)
    holds: dict[int, set[TrainingKind]] = defaultdict(set)
    if staff:
        for user_id, kind in session.execute(
                sa.select(TrainingRecord.user_id, TrainingRecord.kind)
                .where(TrainingRecord.user_id.in_(sa.select(StaffMembership.user_id).where(*working)),
                       habilitation.in_force_clause(day))):
            if kind in REFERENCE_KINDS and (kind != HABILITATION_KIND or user_id in aidants):
                holds[user_id].add(kind)
    by_commune: dict[int, SkillsRow] = {}
    by_structure = []
    for structure in structures:
        row = SkillsRow(label=structure.name, commune=structure.commune, structures=1)
        commune_row = by_commune.setdefault(structure.commune_id, SkillsRow(label=structure.commune,
                                                                            commune=structure.commune))
        commune_row.structures += 1
        for user_id in staff.get(structure.id, ()):
            for target in (row, commune_row):
                target.people.add(user_id)
                for kind in holds.get(user_id, ()):
                    target.trained.setdefault(kind, set()).add(user_id)
        by_structure.append(row)
    communes = sorted(by_commune.values(), key=lambda r: r.label)
    by_structure.sort(key=lambda r: (r.commune, r.label))
    return Skills(service=service, services=services, communes=communes, structures=by_structure)
