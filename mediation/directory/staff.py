"""Staff of the network: accounts (role, flags, territory), role changes, deactivation, and
memberships (who works for which structure, from when to when).

Same contract as ``directory.services``: take the session and the acting user, check
``directory.policy``, raise DomainError subclasses with French messages, flush, audit.
Audit details hold ids, roles and field names only, never names or e-mail addresses.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_request_context, url_for
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import Role, User
from mediation.auth.services import end_user_sessions
from mediation.directory import policy
from mediation.directory.models import StaffMembership, Structure, Territory
from mediation.directory.services import FieldError, clean_text, fail
from mediation.errors import DomainError, Forbidden, ValidationFailed
from mediation.types import local_today


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _clean_email(session: Session, email: str | None, user: User | None = None) -> str:
    if not email or not email.strip():
        raise FieldError("L'adresse e-mail est obligatoire.")
    try:
        normalised = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise FieldError("Adresse e-mail invalide.") from None
    query = sa.select(User.id).where(sa.func.lower(User.email) == normalised)
    if user is not None:
        query = query.where(User.id != user.id)
    if session.scalar(query) is not None:
        raise FieldError("Un compte existe déjà avec cette adresse e-mail.")
    return normalised


def _clean_profile(session: Session, user: User | None, *, role: Role, email, first_name, last_name,
                   organisation, is_conseiller_numerique, is_aidant) -> dict:
    values, errors = {}, {}
    checks = {
        "email": lambda: _clean_email(session, email, user),
        "first_name": lambda: clean_text(first_name, max_length=100, label="Le prénom",
                                         required="Le prénom est obligatoire."),
        "last_name": lambda: clean_text(last_name, max_length=100, label="Le nom",
                                        required="Le nom est obligatoire."),
        "organisation": lambda: clean_text(organisation, max_length=200, label="L'organisme"),
    }
    for key, check in checks.items():
        try:
            values[key] = check()
        except FieldError as error:
            errors[key] = str(error)
    values["is_conseiller_numerique"] = bool(is_conseiller_numerique)
    values["is_aidant"] = bool(is_aidant)
    if role != Role.MEDIATOR:
        if is_conseiller_numerique:
            errors["is_conseiller_numerique"] = "Seul·es les médiateur·rices peuvent être conseiller·ères numériques."
        if is_aidant:
            errors["is_aidant"] = "Seul·es les médiateur·rices peuvent être aidant·es habilité·es."
    fail(errors)
    return values


def _resolve_territory(actor: User, role: Role, territory: Territory | None) -> Territory | None:
    if role != Role.COORDINATOR:
        return None
    if actor.role == Role.COORDINATOR:
        if territory is not None and territory.id != actor.territory_id:
            raise Forbidden("Vous ne pouvez pas nommer de coordinateur·rice hors de votre territoire.")
        return actor.territory
    if territory is None:
        raise ValidationFailed("Choisissez le territoire de ce·tte coordinateur·rice.",
                               errors={"territory": "Choisissez le territoire de ce·tte coordinateur·rice."})
    return territory


def _check_role_allowed(actor: User, role: Role) -> None:
    if role not in policy.assignable_roles(actor):
        raise Forbidden(f"Votre rôle ne vous permet pas d'attribuer le rôle « {role.label} ».")


def create_user(session: Session, actor: User, *, email: str, first_name: str, last_name: str,
                role: Role | str, territory: Territory | None = None, organisation: str | None = None,
                is_conseiller_numerique: bool = False, is_aidant: bool = False, structure: Structure | None = None,
                started_on: date | None = None, job_title: str | None = None,
                notify: bool = True) -> User:
    """Create a staff account (admin: any staff role; coordinator: mediators, with a structure of
    their territory, and coordinators of their territory). The account has no password: an
    e-mail invites the person to choose one. Raises Forbidden, ValidationFailed."""
    if not policy.can_create_user(actor):
        raise Forbidden("Votre rôle ne permet pas de créer de compte.")
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed("Choisissez un rôle.", errors={"role": "Choisissez un rôle."}) from None
    _check_role_allowed(actor, role)
    territory = _resolve_territory(actor, role, territory)
    values = _clean_profile(session, None, role=role, email=email, first_name=first_name,
                            last_name=last_name, organisation=organisation,
                            is_conseiller_numerique=is_conseiller_numerique, is_aidant=is_aidant)
    if structure is None and role == Role.MEDIATOR and actor.role == Role.COORDINATOR:
        fail({"structure": "Choisissez la structure où travaille cette personne."})
    if structure is not None and role != Role.MEDIATOR:
        fail({"structure": "Seul·es les médiateur·rices sont rattaché·es à une structure."})
    if structure is not None and not policy.can_edit_structure(actor, structure):
        raise Forbidden("Cette structure n'est pas dans votre territoire.")
    user = User(role=role, territory=territory, password_hash=None, **values)
    session.add(user)
    session.flush()
    record(session, "user.created", actor=actor, obj=user,
           details={"role": role.value, **({"territory": territory.id} if territory else {})})
    if structure is not None:
        _add_membership(session, actor, user, structure, started_on or local_today(), job_title)
    if notify:
        send_invitation(user)
    return user


def send_invitation(user: User) -> None:
    """E-mail a link to choose a password (the password-reset link of the auth package)."""
    from mediation.auth.services import password_reset_token
    from mediation.mail import send_mail

    def link() -> str:
        return url_for("auth.password_reset", token=password_reset_token(user))

    if has_request_context():
        path = link()
    else:
        with current_app.test_request_context():
            path = link()
    base = current_app.config["MEDIATION_PUBLIC_BASE_URL"]
    send_mail(
        user.email,
        "Votre compte sur le back office de médiation numérique",
        f"Bonjour {user.first_name},\n\nUn compte « {user.role_label} » vient d'être créé pour vous. "
        f"Pour choisir votre mot de passe, ouvrez ce lien (valable une heure) :\n{base}{path}\n\n"
        "Passé ce délai, utilisez « Mot de passe oublié » sur la page de connexion avec cette "
        "adresse e-mail.\n",
    )


def update_user(session: Session, actor: User, user: User, *, email: str, first_name: str, last_name: str,
                organisation: str | None = None, is_conseiller_numerique: bool = False,
                is_aidant: bool = False) -> list[str]:
    """Edit an account's identity and flags (role and territory: :func:`change_role`)."""
    _check_can_manage(session, actor, user, allow_self=True)
    values = _clean_profile(session, user, role=user.role, email=email, first_name=first_name,
                            last_name=last_name, organisation=organisation,
                            is_conseiller_numerique=is_conseiller_numerique, is_aidant=is_aidant)
    changed = sorted(k for k, v in values.items() if getattr(user, k) != v)
    if changed:
        for key, value in values.items():
            setattr(user, key, value)
        session.flush()
        record(session, "user.updated", actor=actor, obj=user, details={"fields": changed})
    return changed


def _check_can_manage(session: Session, actor: User, user: User, *, allow_self: bool = False) -> None:
    if actor.id == user.id and not allow_self:
        raise Forbidden("Vous ne pouvez pas faire cette action sur votre propre compte.")
    if not policy.user_in_scope(session, actor, user):
        raise Forbidden("Ce compte n'est pas dans votre périmètre.")


def change_role(session: Session, actor: User, user: User, role: Role | str,
                *, territory: Territory | None = None) -> None:
    """Give ``user`` another role (never one's own). A coordinator needs a territory; leaving the
    mediator role clears the conseiller numérique and aidant flags. Audited ``user.role_changed``."""
    _check_can_manage(session, actor, user)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed("Choisissez un rôle.", errors={"role": "Choisissez un rôle."}) from None
    _check_role_allowed(actor, role)
    territory = _resolve_territory(actor, role, territory)
    new_territory_id = territory.id if territory else None
    if role == user.role and new_territory_id == user.territory_id:
        raise ValidationFailed("Ce compte a déjà ce rôle.", errors={"role": "Ce compte a déjà ce rôle."})
    old = user.role
    details = {"from": old.value, "to": role.value}
    if new_territory_id:
        details["territory"] = new_territory_id
    if role != Role.MEDIATOR and (user.is_aidant or user.is_conseiller_numerique):
        user.is_aidant = user.is_conseiller_numerique = False
        details["flags_cleared"] = True
    user.role = role
    user.territory = territory
    session.flush()
    end_user_sessions(session, user, "role_changed")  # signed in again, with the new rights only
    record(session, "user.role_changed", actor=actor, obj=user, details=details)


def deactivate_user(session: Session, actor: User, user: User) -> None:
    """Close an account: sign-in, sessions and API tokens stop working; history stays."""
    _check_can_manage(session, actor, user)
    if not user.is_active_account:
        raise DomainError("Ce compte est déjà désactivé.")
    user.is_active_account = False
    session.flush()
    end_user_sessions(session, user, "deactivated")
    record(session, "user.deactivated", actor=actor, obj=user)


def reactivate_user(session: Session, actor: User, user: User) -> None:
    _check_can_manage(session, actor, user)
    if user.is_active_account:
        raise DomainError("Ce compte est déjà actif.")
    user.is_active_account = True
    session.flush()
    record(session, "user.reactivated", actor=actor, obj=user)


# --- memberships -----------------------------------------------------------------------------

def _add_membership(session: Session, actor: User, user: User, structure: Structure, started_on: date,
                    job_title: str | None) -> StaffMembership:
    errors = {}
    if user.role != Role.MEDIATOR:
        errors["user"] = "Seul·es les médiateur·rices numériques sont rattaché·es à des structures."
    if structure.archived_at is not None:
        errors["structure"] = "Cette structure est archivée : on ne peut plus y rattacher personne."
    if started_on is None:
        errors["started_on"] = "Indiquez la date de début."
    try:
        job_title = clean_text(job_title, max_length=120, label="La fonction")
    except FieldError as error:
        errors["job_title"] = str(error)
    fail(errors)
    overlapping = session.scalar(
        sa.select(StaffMembership).where(
            StaffMembership.user_id == user.id,
            StaffMembership.structure_id == structure.id,
            sa.or_(StaffMembership.ended_on.is_(None), StaffMembership.ended_on >= started_on),
        )
    )
    if overlapping is not None:
        fail({"started_on": "Cette personne est déjà rattachée à cette structure à cette date "
                            f"(depuis le {_fr(overlapping.started_on)})."})
    membership = StaffMembership(user=user, structure=structure, started_on=started_on, job_title=job_title)
    session.add(membership)
    session.flush()
    record(session, "membership.created", actor=actor, obj=membership, structure_id=structure.id,
           details={"user": user.id, "started_on": started_on.isoformat()})
    return membership


def add_membership(session: Session, actor: User, user: User, structure: Structure, started_on: date,
                   job_title: str | None = None) -> StaffMembership:
    """``user`` (a mediator in the actor's scope) works for ``structure`` from ``started_on``.
    Raises Forbidden (structure or person out of scope), ValidationFailed (overlap, dates)."""
    if not policy.can_edit_structure(actor, structure):
        raise Forbidden("Cette structure n'est pas dans votre territoire.")
    if not policy.user_in_scope(session, actor, user):
        raise Forbidden("Ce compte n'est pas dans votre périmètre.")
    return _add_membership(session, actor, user, structure, started_on, job_title)


def end_membership(session: Session, actor: User, membership: StaffMembership, ended_on: date) -> None:
    """The person stops working for the structure on ``ended_on`` (inclusive, ≥ start date)."""
    if not policy.can_manage_membership(actor, membership):
        raise Forbidden("Ce rattachement concerne une structure hors de votre territoire.")
    if membership.ended_on is not None:
        raise DomainError(f"Ce rattachement est déjà terminé (le {_fr(membership.ended_on)}).")
    if ended_on is None:
        fail({"ended_on": "Indiquez la date de fin."})
    if ended_on < membership.started_on:
        fail({"ended_on": "La date de fin ne peut pas précéder la date de début "
                          f"({_fr(membership.started_on)})."})
    membership.ended_on = ended_on
    session.flush()
    end_user_sessions(session, membership.user_id, "membership_ended")  # rights recomputed at sign-in
    record(session, "membership.ended", actor=actor, obj=membership, structure_id=membership.structure_id,
           details={"user": membership.user_id, "ended_on": ended_on.isoformat()})
