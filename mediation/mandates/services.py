"""Rules and mutations of mandates. Every function takes the session, flushes and writes its audit
events in the same transaction; the request (or the CLI command) commits once.

Who may act is checked here too (:func:`require_aidant`), so views, the API and the CLI share it.
The functions named ``issue_*``/``revoke_authorizations``/``record_use`` are the building blocks
behind the checked entry points; they trust their caller (demo data, tests) to have checked the
habilitation and the second factor.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from babel.dates import format_datetime
from flask import current_app
from sqlalchemy.orm import Session, selectinload

from mediation.audit.services import record
from mediation.auth.models import User
from mediation.auth.services import confirm_totp
from mediation.cases import policy as cases_policy
from mediation.cases.models import Beneficiary
from mediation.directory.models import StaffMembership, Structure
from mediation.directory.notifications import NotificationKind
from mediation.errors import Conflict, DomainError, Forbidden, ValidationFailed
from mediation.mail import send_mail
from mediation.mandates import attestation, policy
from mediation.mandates.enums import (
    CHOSEN_REVOCATION_REASONS,
    Demarche,
    IdentityCheck,
    MandateDuration,
    RevocationChannel,
    RevocationReason,
    RevocationRequestStatus,
)
from mediation.mandates.models import (
    Authorization,
    Mandate,
    MandateNotification,
    MandateUse,
    RevocationRequest,
)
from mediation.text import de
from mediation.types import LOCAL_TIMEZONE, utcnow
from mediation.uploads import SCAN_MAX_BYTES, check_scan  # noqa: F401 (SCAN_MAX_BYTES: the views read it here)

log = logging.getLogger("mediation.mandates")
PARIS = LOCAL_TIMEZONE  # the one time zone of the service (mediation.types)

ACTIVITY_TIMEOUT = timedelta(minutes=15)  # idle aidants re-enter their code before a mandate action
EXPIRY_NOTICE = timedelta(days=30)
# Short mandates (1 and 31 days) are always "about to expire": only longer ones are announced.
NOTIFIED_DURATIONS = (MandateDuration.SEMESTER, MandateDuration.LONG)
RETENTION_YEARS = 6  # mandates are kept six years after they end, then anonymised
RENEWABLE_FOR = timedelta(days=365)  # a mandate ended more than a year ago is no longer renewable
DESCRIPTION_MAX = 200


class UnusableAuthorization(DomainError):
    """The authorization is expired, revoked or replaced: the aidant may not act."""

    status_code = 409


def when(value: datetime) -> str:
    """« 26 novembre 2026 à 14:05 » (Paris time), for messages."""
    return format_datetime(value.astimezone(PARIS), "d MMMM y 'à' HH:mm", locale="fr_FR")


def _labels(demarches: Iterable[Demarche]) -> str:
    return ", ".join(f"« {d.label} »" for d in demarches)


# --- habilitation ---------------------------------------------------------------------------

def require_aidant(session: Session, actor: User, structure_id: int) -> None:
    """Raise Forbidden unless ``actor`` is a habilitated aidant working today for the structure."""
    problem = policy.habilitation_problem(actor)
    if problem:
        raise Forbidden(problem)
    if not policy.can_act_for(session, actor, structure_id):
        raise Forbidden("Vous n'êtes pas aidant·e habilité·e pour la structure qui détient ce mandat.")


def allowed_demarches(structure: Structure) -> list[Demarche]:
    """The démarches the structure's aidants may use (all ten unless the structure restricts them)."""
    if structure.allowed_mandate_scopes is None:
        return list(Demarche)
    allowed = set(structure.allowed_mandate_scopes)
    return [d for d in Demarche if d.value in allowed]


def set_allowed_demarches(session: Session, actor: User, structure: Structure, values: list[str] | None) -> Structure:
    """An administrator, or a coordinator for a structure of their territory, chooses the démarches
    the structure's aidants may put in new mandates (and renewals, transfers). All ten means no
    restriction (stored as null); at least one is required. Existing mandates are left as they are."""
    if not policy.can_supervise(actor) or not policy.in_scope(session, actor, structure.id):
        raise Forbidden("Seules l'administration et la coordination du territoire choisissent les démarches "
                        "autorisées d'une structure.")
    chosen = []
    for value in dict.fromkeys(values or []):
        try:
            chosen.append(Demarche(value))
        except ValueError:
            raise ValidationFailed("Démarche inconnue.", field="demarches") from None
    if not chosen:
        raise ValidationFailed("Cochez au moins une démarche. Pour qu'une structure ne fasse plus de mandats, "
                               "retirez l'habilitation de ses aidants.", field="demarches")
    stored = None if set(chosen) == set(Demarche) else [d.value for d in Demarche if d in chosen]
    previous = structure.allowed_mandate_scopes
    if stored == previous:
        return structure
    structure.allowed_mandate_scopes = stored
    session.flush()
    record(session, "mandate.structure_scopes", actor=actor, obj=structure, structure_id=structure.id,
           details={"before": previous, "after": stored})
    return structure


# --- creation -------------------------------------------------------------------------------

@dataclass
class MandateDraft:
    """What the aidant chose in the wizard (kept in the session between the steps)."""

    structure_id: int | None = None
    beneficiary_id: int | None = None
    demarches: list[str] = field(default_factory=list)
    duration: str | None = None
    identity_check: str | None = None
    renewed_from_id: int | None = None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict | None) -> MandateDraft:
        data = data or {}
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


def _as_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@dataclass
class CheckedDraft:
    structure: Structure
    beneficiary: Beneficiary
    demarches: list[Demarche]
    duration: MandateDuration
    identity_check: IdentityCheck
    renewed_from: Mandate | None = None


def check_draft(session: Session, actor: User, draft: MandateDraft) -> CheckedDraft:
    """Validate the wizard's choices; raises ValidationFailed naming every wrong field."""
    problem = policy.habilitation_problem(actor)
    if problem:
        raise Forbidden(problem)
    errors: dict[str, str] = {}
    structure = None
    if _as_id(draft.structure_id) is not None:
        structure = session.get(Structure, _as_id(draft.structure_id))
    if structure is None or not policy.can_act_for(session, actor, structure.id):
        errors["structure_id"] = "Choisissez une structure pour laquelle vous êtes aidant·e habilité·e."
        structure = None
    beneficiary = None
    if _as_id(draft.beneficiary_id) is not None:
        beneficiary = cases_policy.get_beneficiary(session, actor, _as_id(draft.beneficiary_id))
    if beneficiary is None or beneficiary.anonymous:
        errors["beneficiary_id"] = "Choisissez la personne accompagnée (identifiée) qui donne le mandat."
        beneficiary = None
    demarches: list[Demarche] = []
    values = draft.demarches if isinstance(draft.demarches, list) else []
    for value in dict.fromkeys(str(v) for v in values):
        try:
            demarches.append(Demarche(value))
        except ValueError:
            errors["demarches"] = "Démarche inconnue."
    if not demarches and "demarches" not in errors:
        errors["demarches"] = "Choisissez au moins une démarche."
    if structure is not None and demarches:
        refused = [d for d in demarches if d not in allowed_demarches(structure)]
        if refused:
            errors["demarches"] = (f"Votre structure n'autorise pas les démarches {_labels(refused)} : "
                                   "retirez-les ou demandez à votre coordination.")
    try:
        duration = MandateDuration(draft.duration)
    except ValueError:
        errors["duration"] = "Choisissez la durée du mandat."
        duration = None
    try:
        identity_check = IdentityCheck(draft.identity_check)
    except ValueError:
        errors["identity_check"] = "Indiquez comment vous avez vérifié l'identité de la personne."
        identity_check = None
    renewed_from = None
    if draft.renewed_from_id is not None:
        renewed_from = policy.get_mandate(session, actor, _as_id(draft.renewed_from_id) or 0)
        if renewed_from is None or not is_renewable(renewed_from):
            errors["renewed_from_id"] = "Ce mandat ne peut plus être renouvelé : créez un nouveau mandat."
        elif beneficiary is not None and renewed_from.beneficiary_id != beneficiary.id:
            errors["beneficiary_id"] = "Un renouvellement concerne la même personne que le mandat renouvelé."
    if errors:
        first = next(iter(errors.values()))
        raise ValidationFailed(first if len(errors) == 1 else "Le mandat n'est pas complet : corrigez les "
                               "champs signalés.", errors=errors)
    return CheckedDraft(structure, beneficiary, demarches, duration, identity_check, renewed_from)


def create_mandate(session: Session, actor: User, draft: MandateDraft, *, totp_code: str | None,
                   consent: bool, now: datetime | None = None) -> Mandate:
    """Create (or renew) a mandate in person, in one transaction.

    Rules: a habilitated aidant of the structure; démarches allowed by the structure; the person
    informed and consenting (``consent``); the aidant re-enters a current TOTP code (step-up).
    Live authorizations of the same structure, person and démarches are revoked as replaced.
    Raises Forbidden, ValidationFailed, auth ReauthenticationFailed / LoginLocked (wrong code:
    recorded as a failed sign-in, which the caller commits)."""
    checked = check_draft(session, actor, draft)
    if not consent:
        raise ValidationFailed("Confirmez que la personne a été informée et qu'elle consent au mandat.",
                               field="consent")
    confirm_totp(session, actor, (totp_code or "").strip(), step="mandate.create", field="totp_code")
    return issue_mandate(session, actor, checked, now=now)


def _lock_beneficiary(session: Session, beneficiary_id: int) -> None:
    """Serialise mandate changes for one person (PostgreSQL row lock; SQLite locks the database)."""
    session.execute(sa.select(Beneficiary.id).where(Beneficiary.id == beneficiary_id).with_for_update())


def close_expired(session: Session, structure_id: int, beneficiary_id: int, now: datetime) -> None:
    """Close the expired, unrevoked authorizations of a (structure, person) pair, so that the unique
    index on open authorizations leaves room for new ones."""
    expired = session.scalars(sa.select(Authorization).where(
        Authorization.structure_id == structure_id, Authorization.beneficiary_id == beneficiary_id,
        Authorization.closed_at.is_(None), Authorization.expires_at <= now,
    )).all()
    for auth in expired:
        auth.closed_at = now
    if expired:
        session.flush()


def _open_authorizations(session: Session, structure_id: int, beneficiary_id: int,
                         demarches: Iterable[Demarche]) -> list[Authorization]:
    return list(session.scalars(sa.select(Authorization).where(
        Authorization.structure_id == structure_id, Authorization.beneficiary_id == beneficiary_id,
        Authorization.demarche.in_(list(demarches)), Authorization.closed_at.is_(None),
    ).order_by(Authorization.id)))


def issue_mandate(session: Session, actor: User, checked: CheckedDraft, *, now: datetime | None = None) -> Mandate:
    """Write the mandate, its authorizations, the frozen attestation and the audit events.
    Trusts the caller for habilitation, consent and the second factor (see :func:`create_mandate`)."""
    now = now or utcnow()
    structure, beneficiary = checked.structure, checked.beneficiary
    _lock_beneficiary(session, beneficiary.id)
    close_expired(session, structure.id, beneficiary.id, now)
    replaced = _open_authorizations(session, structure.id, beneficiary.id, checked.demarches)
    for old in replaced:
        _revoke(old, actor, RevocationReason.REMPLACEE, now)
    session.flush()  # the old rows are closed before the new ones take their place in the index

    token = secrets.token_urlsafe(24)
    expires_at = now + timedelta(days=checked.duration.days)
    mandate = Mandate(
        public_token=token, structure_id=structure.id, beneficiary_id=beneficiary.id, created_by_id=actor.id,
        created_at=now, expires_at=expires_at, duration=checked.duration, identity_check=checked.identity_check,
        template_version=attestation.CURRENT_TEMPLATE_VERSION,
        renewed_from_id=checked.renewed_from.id if checked.renewed_from else None,
    )
    data = attestation.attestation_data(
        reference=mandate.reference, token=token, beneficiary=beneficiary, structure=structure, aidant=actor,
        demarches=checked.demarches, duration=checked.duration, identity_check=checked.identity_check,
        created_at=now, expires_at=expires_at,
    )
    pdf = attestation.render_mandate_pdf(data, version=mandate.template_version)
    mandate.attestation_pdf = pdf
    mandate.attestation_sha256 = attestation.sha256(pdf)
    session.add(mandate)
    new_auths = {}
    for demarche in checked.demarches:
        new_auths[demarche] = Authorization(
            mandate=mandate, structure_id=structure.id, beneficiary_id=beneficiary.id, demarche=demarche,
            created_at=now, expires_at=expires_at,
        )
        session.add(new_auths[demarche])
    session.flush()
    for old in replaced:
        old.replaced_by_id = new_auths[old.demarche].id
    _close_fully_revoked(session, {old.mandate_id for old in replaced}, now)

    record(session, "mandate.renewed" if checked.renewed_from else "mandate.created", actor=actor, obj=mandate,
           structure_id=structure.id, details={
               "demarches": [d.value for d in checked.demarches], "duration": checked.duration.value,
               "expires_at": expires_at.isoformat(), "template": mandate.template_version,
               "attestation_sha256": mandate.attestation_sha256, "identity_check": checked.identity_check.value,
               "consent": True, "renewed_from": mandate.renewed_from_id,
           })
    for auth in new_auths.values():
        record(session, "mandate.authorization_created", actor=actor, obj=auth, structure_id=structure.id,
               details={"mandate_id": mandate.id, "demarche": auth.demarche.value})
    for old in replaced:
        record(session, "mandate.authorization_revoked", actor=actor, obj=old, structure_id=structure.id,
               details={"mandate_id": old.mandate_id, "demarche": old.demarche.value,
                        "reason": RevocationReason.REMPLACEE.value, "replaced_by": old.replaced_by_id})
    return mandate


def is_renewable(mandate: Mandate, now: datetime | None = None) -> bool:
    """Renewable: not anonymised, ended less than a year ago, and either still live or expired
    (a mandate whose every démarche was explicitly revoked is not renewed: create a new one)."""
    now = now or utcnow()
    if mandate.anonymised_at is not None or mandate.ended_at < now - RENEWABLE_FOR:
        return False
    if mandate.live_authorizations(now):
        return True
    explicitly_revoked = [a for a in mandate.authorizations
                          if a.revoked_at is not None and a.revocation_reason != RevocationReason.REMPLACEE
                          and a.revoked_at < a.expires_at]
    return mandate.is_expired(now) and len(explicitly_revoked) < len(mandate.authorizations)


def renewal_draft(mandate: Mandate) -> MandateDraft:
    """The wizard pre-filled from the mandate being renewed (same person and structure)."""
    return MandateDraft(
        structure_id=mandate.structure_id, beneficiary_id=mandate.beneficiary_id,
        demarches=[a.demarche.value for a in mandate.authorizations],
        duration=mandate.duration.value, identity_check=IdentityCheck.DEJA_VERIFIEE.value,
        renewed_from_id=mandate.id,
    )


# --- use ------------------------------------------------------------------------------------

def use_authorization(session: Session, actor: User, mandate: Mandate, demarche: str | None,
                      description: str | None, *, now: datetime | None = None) -> MandateUse:
    """Record, before acting, that the aidant uses the mandate for ``demarche``.

    Refused (UnusableAuthorization, with the date) when the authorization is revoked, replaced or
    expired; ValidationFailed for an unknown démarche or a missing description."""
    require_aidant(session, actor, mandate.structure_id)
    now = now or utcnow()
    try:
        wanted = Demarche(demarche)
    except ValueError:
        raise ValidationFailed("Choisissez la démarche que vous allez réaliser.", field="demarche") from None
    auth = next((a for a in mandate.authorizations if a.demarche == wanted), None)
    if auth is None:
        raise ValidationFailed(f"Ce mandat ne couvre pas la démarche « {wanted.label} ».", field="demarche")
    if auth.revoked_at is not None:
        if auth.revocation_reason == RevocationReason.REMPLACEE:
            raise UnusableAuthorization(
                f"L'autorisation « {wanted.label} » a été remplacée le {when(auth.revoked_at)} par un mandat plus "
                "récent : utilisez ce nouveau mandat.", field="demarche")
        raise UnusableAuthorization(
            f"L'autorisation « {wanted.label} » a été révoquée le {when(auth.revoked_at)} : vous ne pouvez plus "
            "agir au nom de cette personne pour cette démarche. Un nouveau mandat est nécessaire.", field="demarche")
    if auth.expires_at <= now:
        raise UnusableAuthorization(
            f"Ce mandat a expiré le {when(auth.expires_at)} : vous ne pouvez plus agir au nom de cette personne "
            f"pour « {wanted.label} ». Proposez-lui de renouveler le mandat.", field="demarche")
    text = " ".join((description or "").split())
    if not text:
        raise ValidationFailed("Décrivez en quelques mots la démarche réalisée (par exemple : « déclaration de "
                               "revenus »).", field="description")
    if len(text) > DESCRIPTION_MAX:
        raise ValidationFailed(f"La description ne doit pas dépasser {DESCRIPTION_MAX} caractères.",
                               field="description")
    return record_use(session, actor, auth, text, now=now)


def record_use(session: Session, actor: User, auth: Authorization, description: str, *,
               now: datetime | None = None) -> MandateUse:
    use = MandateUse(authorization_id=auth.id, mandate_id=auth.mandate_id, structure_id=auth.structure_id,
                     used_by_id=actor.id, used_at=now or utcnow(), demarche=auth.demarche, description=description)
    session.add(use)
    session.flush()
    # The description stays out of the audit log (it may name the person's situation).
    record(session, "mandate.used", actor=actor, obj=auth, structure_id=auth.structure_id,
           details={"mandate_id": auth.mandate_id, "demarche": auth.demarche.value, "use_id": use.id})
    return use


# --- revocation -----------------------------------------------------------------------------

def _revoke(auth: Authorization, actor: User | None, reason: RevocationReason, now: datetime) -> None:
    auth.revoked_at = now
    auth.closed_at = now
    auth.revocation_reason = reason
    auth.revoked_by_id = getattr(actor, "id", None)


def _close_fully_revoked(session: Session, mandate_ids: Iterable[int], now: datetime) -> None:
    for mandate_id in mandate_ids:
        mandate = session.get(Mandate, mandate_id)
        if mandate.closed_at is None and all(a.revoked_at is not None for a in mandate.authorizations):
            mandate.closed_at = now
    session.flush()


def revoke(session: Session, actor: User, mandate: Mandate, demarches: list[str] | None, reason: str | None, *,
           totp_code: str | None, request: RevocationRequest | None = None,
           now: datetime | None = None) -> list[Authorization]:
    """Revoke some démarches (``demarches``) or the whole mandate (``None`` or empty) with a reason,
    after the aidant re-entered a TOTP code. Raises Forbidden, ValidationFailed (nothing live to
    revoke, unknown reason), ReauthenticationFailed / LoginLocked."""
    require_aidant(session, actor, mandate.structure_id)
    now = now or utcnow()
    errors = {}
    try:
        chosen_reason = RevocationReason(reason)
        if chosen_reason not in CHOSEN_REVOCATION_REASONS:
            raise ValueError
    except ValueError:
        errors["reason"] = "Indiquez le motif de la révocation."
        chosen_reason = None
    live = {a.demarche: a for a in mandate.live_authorizations(now)}
    if not live:
        raise ValidationFailed("Ce mandat n'a plus aucune autorisation en vigueur : il n'y a rien à révoquer.")
    if demarches:
        targets = []
        for value in dict.fromkeys(demarches):
            try:
                wanted = Demarche(value)
            except ValueError:
                errors["demarches"] = "Démarche inconnue."
                continue
            if wanted not in live:
                errors["demarches"] = f"L'autorisation « {wanted.label} » n'est plus en vigueur : rien à révoquer."
                continue
            targets.append(live[wanted])
    else:
        targets = list(live.values())
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    confirm_totp(session, actor, (totp_code or "").strip(), step="mandate.revoke", field="totp_code")
    return revoke_authorizations(session, actor, mandate, targets, chosen_reason, request=request, now=now)


def revoke_authorizations(session: Session, actor: User | None, mandate: Mandate, targets: list[Authorization],
                          reason: RevocationReason, *, request: RevocationRequest | None = None,
                          now: datetime | None = None) -> list[Authorization]:
    now = now or utcnow()
    _lock_beneficiary(session, mandate.beneficiary_id)
    for auth in targets:
        _revoke(auth, actor, reason, now)
    session.flush()
    for auth in targets:
        record(session, "mandate.authorization_revoked", actor=actor, obj=auth, structure_id=mandate.structure_id,
               details={"mandate_id": mandate.id, "demarche": auth.demarche.value, "reason": reason.value})
    _close_fully_revoked(session, [mandate.id], now)
    if mandate.closed_at == now:
        record(session, "mandate.revoked", actor=actor, obj=mandate, structure_id=mandate.structure_id,
               details={"reason": reason.value})
    _settle_requests(session, actor, mandate, now, request)
    return targets


def revoked_by_the_structure(mandate: Mandate) -> list[Authorization]:
    """The authorizations explicitly revoked (not merely replaced), for the revocation attestation."""
    return [a for a in mandate.authorizations
            if a.revoked_at is not None and a.revocation_reason != RevocationReason.REMPLACEE]


def revocation_pdf(mandate: Mandate, now: datetime | None = None) -> bytes:
    revoked = revoked_by_the_structure(mandate)
    if not revoked:
        raise ValidationFailed("Aucune démarche de ce mandat n'a été révoquée.")
    return attestation.render_revocation_pdf(
        mandate, revoked, revoked_at=max(a.revoked_at for a in revoked),
        whole=not mandate.live_authorizations(now),
    )


# --- revocation requests from the beneficiary -----------------------------------------------

def mandates_in_force(session: Session, beneficiary: Beneficiary, now: datetime | None = None) -> list[Mandate]:
    """The mandates with at least one live authorization, for the beneficiary's wallet."""
    now = now or utcnow()
    live = sa.select(Authorization.mandate_id).where(
        Authorization.beneficiary_id == beneficiary.id, Authorization.revoked_at.is_(None),
        Authorization.expires_at > now,
    )
    return list(session.scalars(
        sa.select(Mandate).where(Mandate.id.in_(live), Mandate.anonymised_at.is_(None))
        .options(selectinload(Mandate.authorizations), selectinload(Mandate.structure))
        .order_by(Mandate.expires_at)
    ))


def request_revocation(session: Session, mandate: Mandate, *, channel: RevocationChannel | str,
                       demarches: list[str] | None = None, recorded_by: User | None = None,
                       now: datetime | None = None) -> RevocationRequest:
    """The person asks the structure to revoke (all, or some démarches): the request is tracked
    until an aidant acts on it, and the structure's aidants are told in the app."""
    now = now or utcnow()
    live = {a.demarche for a in mandate.live_authorizations(now)}
    if not live:
        raise ValidationFailed("Ce mandat n'est plus en vigueur : il n'y a rien à révoquer.")
    wanted = []
    for value in dict.fromkeys(demarches or []):
        try:
            demarche = Demarche(value)
        except ValueError:
            raise ValidationFailed("Démarche inconnue.", field="demarches") from None
        if demarche not in live:
            raise ValidationFailed(f"« {demarche.label} » n'est plus en vigueur.", field="demarches")
        wanted.append(demarche.value)
    request = RevocationRequest(mandate_id=mandate.id, requested_at=now, channel=RevocationChannel(channel),
                                demarches=wanted, recorded_by_id=getattr(recorded_by, "id", None))
    session.add(request)
    session.flush()
    for aidant in active_aidants(session, mandate.structure_id):
        session.add(MandateNotification(user_id=aidant.id, mandate_id=mandate.id,
                                        kind=NotificationKind.DEMANDE_REVOCATION, created_at=now))
    record(session, "mandate.revocation_requested", actor=recorded_by, obj=request,
           structure_id=mandate.structure_id,
           details={"mandate_id": mandate.id, "demarches": wanted, "channel": request.channel.value})
    return request


def pending_requests(session: Session, mandate: Mandate) -> list[RevocationRequest]:
    return list(session.scalars(sa.select(RevocationRequest).where(
        RevocationRequest.mandate_id == mandate.id, RevocationRequest.status == RevocationRequestStatus.EN_ATTENTE,
    ).order_by(RevocationRequest.requested_at)))


def _settle_requests(session: Session, actor: User | None, mandate: Mandate, now: datetime,
                     request: RevocationRequest | None) -> None:
    """Pending requests whose démarches are no longer live are handled by this revocation."""
    live = {a.demarche.value for a in mandate.live_authorizations(now)}
    for pending in pending_requests(session, mandate):
        asked = set(pending.demarches) or {a.demarche.value for a in mandate.authorizations}
        if pending is request or not (asked & live):
            pending.status = RevocationRequestStatus.TRAITEE
            pending.handled_at = now
            pending.handled_by_id = getattr(actor, "id", None)
            session.flush()
            record(session, "mandate.revocation_request_handled", actor=actor, obj=pending,
                   structure_id=mandate.structure_id, details={"mandate_id": mandate.id, "status": "traitee"})


def close_request(session: Session, actor: User, request: RevocationRequest, note: str | None, *,
                  now: datetime | None = None) -> RevocationRequest:
    """Close a request without revoking (e.g. the person changed their mind): a note is required."""
    require_aidant(session, actor, request.mandate.structure_id)
    if request.status != RevocationRequestStatus.EN_ATTENTE:
        raise Conflict("Cette demande a déjà été traitée.")
    text = " ".join((note or "").split())
    if not text:
        raise ValidationFailed("Expliquez pourquoi la demande est close sans révocation.", field="note")
    if len(text) > 300:
        raise ValidationFailed("L'explication ne doit pas dépasser 300 caractères.", field="note")
    request.status = RevocationRequestStatus.CLOSE
    request.handled_at = now or utcnow()
    request.handled_by_id = actor.id
    request.handling_note = text
    session.flush()
    record(session, "mandate.revocation_request_handled", actor=actor, obj=request,
           structure_id=request.mandate.structure_id, details={"mandate_id": request.mandate_id, "status": "close"})
    return request


# --- signed copy ----------------------------------------------------------------------------

def attach_signed_scan(session: Session, actor: User, mandate: Mandate, data: bytes | None, *,
                       now: datetime | None = None) -> Mandate:
    """Store the scan of the signed mandate (PDF, JPEG or PNG, checked by its first bytes)."""
    require_aidant(session, actor, mandate.structure_id)
    if mandate.anonymised_at is not None:
        raise Conflict("Ce mandat est anonymisé : on ne peut plus y joindre de document.")
    content_type = check_scan(data, field="scan", missing="Choisissez le fichier du mandat signé (PDF, JPEG ou PNG).",
                              too_big="numérisez le mandat en résolution plus faible.")
    replaced = mandate.signed_scan_type is not None
    mandate.signed_scan = data
    mandate.signed_scan_type = content_type
    mandate.signed_scan_sha256 = attestation.sha256(data)
    mandate.signed_scan_at = now or utcnow()
    session.flush()
    record(session, "mandate.scan_attached", actor=actor, obj=mandate, structure_id=mandate.structure_id,
           details={"content_type": content_type, "size": len(data), "sha256": mandate.signed_scan_sha256,
                    "replaced": replaced})
    return mandate


# --- transfer -------------------------------------------------------------------------------

def transfer(session: Session, actor: User, mandate: Mandate, target_structure_id, *, totp_code: str | None,
             now: datetime | None = None) -> Mandate:
    """Move a mandate (and its authorizations) to another structure: an administrator, or a
    coordinator for two structures of their territory, after re-entering a TOTP code. The audit
    event records the real previous and new structures. Refused when the new structure already
    holds a live authorization for the same person and démarche, or does not allow a démarche."""
    if not policy.can_transfer(actor) or not policy.in_scope(session, actor, mandate.structure_id):
        raise Forbidden("Seuls l'administration et la coordination du territoire transfèrent des mandats.")
    now = now or utcnow()
    target = session.get(Structure, int(target_structure_id)) if str(target_structure_id or "").isdigit() else None
    if target is None or target.archived_at is not None or not policy.in_scope(session, actor, target.id):
        raise ValidationFailed("Choisissez la structure qui reprend le mandat.", field="structure_id")
    if target.id == mandate.structure_id:
        raise ValidationFailed("Le mandat est déjà détenu par cette structure.", field="structure_id")
    if mandate.anonymised_at is not None:
        raise Conflict("Ce mandat est anonymisé : il ne peut plus être transféré.")
    _lock_beneficiary(session, mandate.beneficiary_id)
    live = mandate.live_authorizations(now)
    refused = [a.demarche for a in live if a.demarche not in allowed_demarches(target)]
    if refused:
        raise ValidationFailed(f"{target.name} n'autorise pas les démarches {_labels(refused)}.",
                               field="structure_id")
    close_expired(session, target.id, mandate.beneficiary_id, now)
    close_expired(session, mandate.structure_id, mandate.beneficiary_id, now)
    clashes = _open_authorizations(session, target.id, mandate.beneficiary_id, [a.demarche for a in live])
    if clashes:
        raise Conflict(f"{target.name} détient déjà un mandat en vigueur pour cette personne et les démarches "
                       f"{_labels(a.demarche for a in clashes)} : révoquez-le avant le transfert.")
    confirm_totp(session, actor, (totp_code or "").strip(), step="mandate.transfer", field="totp_code")
    previous = mandate.structure_id  # read BEFORE the change: the audit names the real previous holder
    mandate.structure_id = target.id
    for auth in mandate.authorizations:
        auth.structure_id = target.id
    session.flush()
    record(session, "mandate.transferred", actor=actor, obj=mandate, structure_id=target.id,
           details={"from_structure_id": previous, "to_structure_id": target.id,
                    "live_demarches": [a.demarche.value for a in live]})
    return mandate


# --- activity check -------------------------------------------------------------------------

def confirm_activity(session: Session, actor: User, code: str | None) -> None:
    """An idle aidant proves again, with a TOTP code, that they are at the keyboard."""
    confirm_totp(session, actor, (code or "").strip(), step="mandate.activity_check", field="code")
    record(session, "mandate.activity_check", actor=actor, obj=actor)


# --- notifications and retention (CLI) ------------------------------------------------------

def active_aidants(session: Session, structure_id: int) -> list[User]:
    """Habilitated aidants working for the structure today (the recipients of its notices)."""
    staff = sa.select(StaffMembership.user_id).where(StaffMembership.structure_id == structure_id)
    users = session.scalars(
        sa.select(User).where(User.id.in_(staff), User.is_aidant, User.is_active_account).order_by(User.id)
    ).all()
    return [u for u in users if policy.can_act_for(session, u, structure_id)]


def notify_expiring(session: Session, *, now: datetime | None = None) -> int:
    """Tell the active aidants of each structure, in the app and by e-mail, that a 6- or 12-month
    mandate with live authorizations expires within 30 days. Each mandate is announced once.
    E-mails name no one: they link to the mandate. Returns the number of mandates announced."""
    now = now or utcnow()
    live = sa.select(Authorization.mandate_id).where(Authorization.revoked_at.is_(None),
                                                     Authorization.expires_at > now)
    mandates = session.scalars(
        sa.select(Mandate).where(
            Mandate.duration.in_(NOTIFIED_DURATIONS), Mandate.expiry_notified_at.is_(None),
            Mandate.anonymised_at.is_(None), Mandate.expires_at > now, Mandate.expires_at <= now + EXPIRY_NOTICE,
            Mandate.id.in_(live),
        ).options(selectinload(Mandate.structure)).order_by(Mandate.id)
    ).all()
    base = current_app.config["MEDIATION_PUBLIC_BASE_URL"]
    for mandate in mandates:
        recipients = active_aidants(session, mandate.structure_id)
        link = base + current_app.url_map.bind("").build("mandates.detail", {"mandate_id": mandate.id})
        for aidant in recipients:
            session.add(MandateNotification(user_id=aidant.id, mandate_id=mandate.id,
                                            kind=NotificationKind.EXPIRATION_PROCHE, created_at=now))
            send_mail(
                aidant.email,
                f"Un mandat {de(mandate.structure.name)} expire le {when(mandate.expires_at)}",
                f"Bonjour,\n\nLe mandat {mandate.reference} détenu par {mandate.structure.name} expire le "
                f"{when(mandate.expires_at)}.\nSi la personne souhaite le prolonger, renouvelez-le avec elle, en "
                f"sa présence : {link}\n\nVous recevez ce message parce que vous êtes aidant·e habilité·e de la "
                "structure. Ce message est automatique, merci de ne pas y répondre.\n",
            )
        mandate.expiry_notified_at = now
        session.flush()
        record(session, "mandate.expiry_notified", obj=mandate, structure_id=mandate.structure_id,
               details={"recipients": len(recipients), "expires_at": mandate.expires_at.isoformat()})
    log.info("expiry notices: %s mandate(s)", len(mandates))
    return len(mandates)


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def anonymise_ended(session: Session, *, now: datetime | None = None) -> int:
    """Retention: six years after a mandate ended (expiry or full revocation), remove what
    identifies the person — the link to the beneficiary, the frozen attestation, the signed scan and
    the descriptions of uses. Dates, démarches, hashes and the audit trail stay. Returns the count."""
    now = now or utcnow()
    cutoff = years_before(now, RETENTION_YEARS)
    ended = sa.or_(Mandate.expires_at <= cutoff, sa.and_(Mandate.closed_at.is_not(None), Mandate.closed_at <= cutoff))
    mandates = session.scalars(
        sa.select(Mandate).where(Mandate.anonymised_at.is_(None), ended).order_by(Mandate.id)
    ).all()
    for mandate in mandates:
        for auth in mandate.authorizations:
            if auth.closed_at is None:
                auth.closed_at = now
            auth.beneficiary_id = None
        session.execute(sa.update(MandateUse).where(MandateUse.mandate_id == mandate.id).values(description=None))
        mandate.beneficiary_id = None
        mandate.attestation_pdf = None
        mandate.signed_scan = None
        mandate.signed_scan_type = None
        mandate.anonymised_at = now
        session.flush()
        record(session, "mandate.anonymised", obj=mandate, structure_id=mandate.structure_id,
               details={"ended_at": mandate.ended_at.isoformat()})
    log.info("retention: %s mandate(s) anonymised", len(mandates))
    return len(mandates)
