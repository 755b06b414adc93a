"""Sign-in rules: passwords (argon2), throttling, TOTP second factor, recovery codes, password
reset links and personal API tokens. Every function takes the session and flushes; the request
commits."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from mediation import ratelimit
from mediation.audit.services import record
from mediation.auth.devices import Origin, current_origin
from mediation.auth.models import ApiToken, LoginAttempt, Role, User, UserSession
from mediation.errors import DomainError, NotFound, ValidationFailed
from mediation.types import utcnow

hasher = PasswordHasher()
# Log lines name accounts by id only: never an e-mail address or a name.
log = logging.getLogger("mediation.auth")
MIN_PASSWORD_LENGTH = 12
TOTP_ISSUER = "Médiation numérique"
# Roles that may hold personal API tokens, and the validity periods offered (days).
API_TOKEN_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR, Role.FUNDER})
# Roles limited to some permissions (funders read their programmes' aggregated indicators only).
ROLE_API_SCOPES = {Role.FUNDER: ("indicators:read",)}
API_TOKEN_DAYS = (30, 90, 365)
API_SCOPES = {
    "directory:read": "Lire l'annuaire (structures, communes)",
    "indicators:read": "Lire les indicateurs d'impact agrégés (financeurs : leurs programmes seulement)",
    "activities:read": "Lire les activités",
    "activities:write": "Enregistrer et modifier des activités",
    "beneficiaries:read": "Lire les bénéficiaires",
    "beneficiaries:write": "Enregistrer et modifier des bénéficiaires",
    "mandates:read": "Lire les mandats de vos structures (aidants habilités)",
    "mandates:write": "Créer et révoquer des mandats (aidants habilités, code de double authentification requis)",
    "pathways:read": "Lire les parcours, validations d'étapes et orientations de vos structures",
    "pathways:write": "Inscrire à un parcours, valider des étapes, orienter et répondre aux orientations",
    "badges:read": "Lire les modèles de badges et les badges délivrés dans votre périmètre",
    "badges:write": "Délivrer et révoquer des badges (médiateurs)",
    "equipment:read": "Lire l'inventaire du matériel et ses prêts, dons et achats solidaires",
    "equipment:write": "Prêter, donner ou vendre un appareil et enregistrer son retour (médiateurs)",
    "trainings:read": "Lire les formations et certifications (les vôtres ; coordination : celles de votre territoire)",
    "appointments:read": "Lire les créneaux et les rendez-vous de vos lieux",
    "appointments:write": "Prendre et annuler des rendez-vous (médiateurs)",
}


class LoginLocked(DomainError):
    status_code = 429


class ReauthenticationFailed(ValidationFailed):
    """A wrong current password or code on the account page. It was recorded as a failed sign-in:
    the caller commits that record (it feeds throttling) although the action is refused."""


# --- passwords -----------------------------------------------------------------------------

def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"Le mot de passe doit contenir au moins {MIN_PASSWORD_LENGTH} caractères.", field="password"
        )


def set_password(session: Session, user: User, password: str, *, actor=None, keep_session: str | None = None) -> None:
    """Set a new password; every browser session of the account ends, except ``keep_session`` (the
    secret of the session making the change, when the owner changes it while signed in)."""
    check_password_strength(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    if user.id is not None:
        end_user_sessions(session, user, "password", keep=keep_session)
    record(session, "auth.password_changed", actor=actor or user, obj=user)


def _verify(user: User | None, password: str) -> bool:
    if user is None or not user.password_hash:
        hasher.hash(password or "")  # same cost whether or not the account exists
        return False
    try:
        return hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


# --- sessions ------------------------------------------------------------------------------

# Why a browser session was refused (see :func:`user_for_browser_session`).
SESSION_IDLE = "idle"
SESSION_EXPIRED = "expired"
SESSION_REVOKED = "revoked"
DEFAULT_SESSION_TOUCH_SECONDS = 60
SESSION_ROWS_KEPT = timedelta(days=7)  # ended sessions are deleted at the account's next sign-in


def session_id_for(user: User) -> str:
    """Flask-Login id: changing the password (or 2FA) ends every other session of the account."""
    stamp = f"{user.password_hash}|{user.totp_secret}|{user.is_active_account}"
    fingerprint = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    return f"{user.id}:{fingerprint}"


def _session_digest(raw: str) -> str:
    return hashlib.sha256(f"session:{raw}".encode()).hexdigest()


def open_browser_session(session: Session, user: User, lifetime: timedelta) -> str:
    """Record a new signed-in browser session of ``user`` lasting at most ``lifetime``; returns
    the secret the session cookie carries (only its hash is stored)."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    # The account's sessions ended or expired more than SESSION_ROWS_KEPT ago are not needed any more.
    old = now - SESSION_ROWS_KEPT
    session.execute(
        sa.delete(UserSession)
        .where(UserSession.user_id == user.id,
               sa.or_(UserSession.revoked_at < old, UserSession.expires_at < old))
        .execution_options(synchronize_session=False)
    )
    session.add(UserSession(token_hash=_session_digest(raw), user_id=user.id, created_at=now,
                            last_seen_at=now, expires_at=now + lifetime))
    session.flush()
    return raw


def user_for_browser_session(session: Session, session_id: str, raw: str | None, *, idle: timedelta,
                             touch_seconds: int = DEFAULT_SESSION_TOUCH_SECONDS
                             ) -> tuple[User | None, str | None]:
    """The signed-in user of a browser session, or (None, why): SESSION_REVOKED (signed out,
    ended from another device, password or rights changed, account deactivated, unknown),
    SESSION_EXPIRED (absolute maximum reached) or SESSION_IDLE (no request for ``idle``).

    One indexed read (the session row and its user together); ``last_seen_at`` is written only
    when older than ``touch_seconds``, so the idle delay is exact to within that many seconds."""
    if not raw or not isinstance(raw, str):
        return None, SESSION_REVOKED
    row = session.execute(
        sa.select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _session_digest(raw))
    ).first()
    if row is None:
        return None, SESSION_REVOKED
    record_, user = row
    if (record_.revoked_at is not None or not user.is_active_account
            or not hmac.compare_digest(session_id_for(user), session_id or "")):
        return None, SESSION_REVOKED
    now = utcnow()
    if now >= record_.expires_at:
        _revoke(record_, now, SESSION_EXPIRED)
        return None, SESSION_EXPIRED
    if now - record_.last_seen_at >= idle:
        _revoke(record_, now, SESSION_IDLE)
        return None, SESSION_IDLE
    if (now - record_.last_seen_at).total_seconds() >= touch_seconds:
        record_.last_seen_at = now
    return user, None


def _revoke(record_: UserSession, now, reason: str) -> None:
    record_.revoked_at = now
    record_.revoked_reason = reason


def end_browser_session(session: Session, raw: str | None, reason: str = "logout") -> None:
    """End one browser session (sign-out): every copy of its cookie stops working."""
    if not raw or not isinstance(raw, str):
        return
    session.execute(
        sa.update(UserSession)
        .where(UserSession.token_hash == _session_digest(raw), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )


def end_user_sessions(session: Session, user: User | int, reason: str, *, keep: str | None = None) -> int:
    """End every browser session of ``user`` (all devices, every copy of the cookies), except the
    one whose secret is ``keep`` (the device making the change). Returns how many were ended.
    Personal API tokens are not concerned."""
    user_id = user if isinstance(user, int) else user.id
    query = sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep:
        query = query.where(UserSession.token_hash != _session_digest(keep))
    result = session.execute(query.values(revoked_at=utcnow(), revoked_reason=reason)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


# --- throttling ----------------------------------------------------------------------------
#
# Three limits, counted on every failed sign-in (password or second-factor step, or a wrong
# current password / code on the account page), each MEDIATION_LOGIN_LOCK_MINUTES long:
# - per (account, address): MEDIATION_LOGIN_MAX_FAILURES (5) — the owner's own typos, or one attacker;
# - per address: MEDIATION_LOGIN_ADDRESS_MAX_FAILURES (30), whatever the accounts tried — one attacker
#   trying many accounts;
# - per account: MEDIATION_LOGIN_ACCOUNT_MAX_FAILURES (20), from every address together — a distributed
#   attack on one account. Not applied on a known device of the account (mediation.auth.devices),
#   so that nobody can lock the owner out of their usual computer or phone.
# A successful sign-in forgets the failures of its (account, address) only; a password reset
# also forgets the per-account ones.

def _limits() -> tuple[ratelimit.Limit, ratelimit.Limit, ratelimit.Limit]:
    cfg = current_app.config
    window = timedelta(minutes=cfg["MEDIATION_LOGIN_LOCK_MINUTES"])
    return (
        ratelimit.Limit("login", cfg["MEDIATION_LOGIN_MAX_FAILURES"], window, LoginAttempt),
        ratelimit.Limit("login-address", cfg["MEDIATION_LOGIN_ADDRESS_MAX_FAILURES"], window, LoginAttempt),
        ratelimit.Limit("login-account", cfg["MEDIATION_LOGIN_ACCOUNT_MAX_FAILURES"], window, LoginAttempt),
    )


def _attempt_keys(email: str, origin: Origin | None) -> list[tuple[ratelimit.Limit, str, bool]]:
    """(limit, key, applies) for each limit; ``applies`` is False for the per-account limit on a
    known device (its failures are still counted)."""
    email = normalise_email(email)
    origin = origin or current_origin()
    pair, per_address, per_account = _limits()
    return [
        (pair, ratelimit.key("login", f"{email}\n{origin.address}"), True),
        (per_address, ratelimit.key("login-address", origin.address), True),
        (per_account, ratelimit.key("login-account", email), not origin.knows(email)),
    ]


def _longest(delays) -> timedelta | None:
    found = [d for d in delays if d]
    return max(found) if found else None


def lock_remaining(session: Session, email: str, origin: Origin | None = None) -> timedelta | None:
    """How long sign-in stays locked for ``email`` from ``origin`` (default: the current
    request), or None.

    Rule, for each limit above: its number of failures within MEDIATION_LOGIN_LOCK_MINUTES of each other,
    with no successful sign-in since, lock for MEDIATION_LOGIN_LOCK_MINUTES counted from the last failure.
    Attempts refused while locked are not recorded, so they do not extend the lock. Counters are
    shared by every app server (database, or Redis when ``REDIS_URL`` is set: see
    :mod:`mediation.ratelimit`)."""
    return _longest(ratelimit.lock_remaining(session, limit, key)
                    for limit, key, applies in _attempt_keys(email, origin) if applies)


def _record_failure(session: Session, email: str, origin: Origin | None = None) -> timedelta | None:
    """Count a failed sign-in (password or second factor); returns the lock it caused, if any."""
    delays = [(ratelimit.record_failure(session, limit, key), applies)
              for limit, key, applies in _attempt_keys(email, origin)]
    return _longest(delay for delay, applies in delays if applies)


def _record_success(session: Session, email: str, origin: Origin | None = None, *,
                    whole_account: bool = False) -> None:
    pair, _, per_account = _attempt_keys(email, origin)
    ratelimit.record_success(session, pair[0], pair[1])
    if whole_account:
        ratelimit.record_success(session, per_account[0], per_account[1])


def _locked_message(remaining: timedelta) -> str:
    minutes = max(1, round(remaining.total_seconds() / 60))
    return (
        "Trop de tentatives de connexion échouées : par sécurité, ce compte est bloqué pendant "
        f"{minutes} minute{'s' if minutes > 1 else ''}. Réessayez plus tard ou réinitialisez votre "
        "mot de passe."
    )


def authenticate(session: Session, email: str, password: str, origin: Origin | None = None) -> User:
    """Check e-mail and password. Raises LoginLocked or DomainError (same message for an unknown
    account and a wrong password). Does not open the session: the second factor may follow.
    ``origin``: where the attempt comes from (default: the current request)."""
    remaining = lock_remaining(session, email, origin)
    if remaining:
        raise LoginLocked(_locked_message(remaining))
    user = session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    ok = _verify(user, password) and user.is_active_account
    if not ok:
        remaining = _record_failure(session, email, origin)
        record(session, "auth.login_failed", actor=user, object_type="users",
               object_id=user.id if user else None)
        log.info("sign-in failed (user %s)", user.id if user else "unknown")
        if remaining:
            record(session, "auth.locked", actor=user, object_type="users",
                   object_id=user.id if user else None)
            raise LoginLocked(_locked_message(remaining))
        raise DomainError("Adresse e-mail ou mot de passe incorrect.")
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def record_failed_second_factor(session: Session, user: User) -> timedelta | None:
    """A wrong second-factor code counts as a failed sign-in (same throttling). Returns how long
    sign-in is now locked, if this failure locked it."""
    remaining = _record_failure(session, user.email)
    record(session, "auth.login_failed", actor=user, obj=user, details={"step": "totp"})
    log.info("sign-in failed at the second-factor step (user %s)", user.id)
    if remaining:
        record(session, "auth.locked", actor=user, obj=user)
    return remaining


def locked_message(remaining: timedelta) -> str:
    return _locked_message(remaining)


def complete_login(session: Session, user: User, *, method: str) -> None:
    user.last_login_at = utcnow()
    _record_success(session, user.email)
    record(session, "auth.login", actor=user, obj=user, details={"method": method})
    log.info("sign-in succeeded (user %s, %s)", user.id, method)


# --- TOTP ----------------------------------------------------------------------------------

def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _matching_step(secret: str, code: str) -> int | None:
    code = (code or "").replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = utcnow()
    for offset in (0, -1, 1):
        at = now + timedelta(seconds=30 * offset)
        if hmac.compare_digest(totp.at(at), code):
            return totp.timecode(at)
    return None


def verify_totp(session: Session, user: User, code: str) -> bool:
    """A code is valid once (replay refused) within ±30 s."""
    if not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    session.flush()
    return True


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def enable_totp(session: Session, user: User, secret: str, code: str) -> list[str]:
    """Enrol the second factor once the user proved their app shows the right code.
    Returns ten recovery codes, shown once (stored hashed)."""
    step = _matching_step(secret, code)
    if step is None:
        raise ValidationFailed("Le code saisi ne correspond pas : vérifiez l'heure de votre téléphone "
                               "et saisissez le code à 6 chiffres affiché.", field="code")
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _new_recovery_codes(user)
    record(session, "auth.totp_enabled", actor=user, obj=user)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes by ten new ones; returns them in clear (shown once)."""
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(10)]
    user.recovery_codes = [_hash_code(c) for c in codes]
    return codes


def enrol_totp_with_secret(session: Session, user: User, secret: str) -> None:
    """Used by the demo loader only (MEDIATION_DEMO_TOTP_SECRET)."""
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.recovery_codes = []


def disable_totp(session: Session, user: User, *, actor: User) -> None:
    if user.requires_totp:
        raise DomainError("La double authentification est obligatoire pour ce rôle.")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes = []
    record(session, "auth.totp_disabled", actor=actor, obj=user)


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    digest = _hash_code(code or "")
    if digest not in (user.recovery_codes or []):
        return False
    user.recovery_codes = [c for c in user.recovery_codes if c != digest]
    record(session, "auth.recovery_code_used", actor=user, obj=user,
           details={"remaining": len(user.recovery_codes)})
    return True


# --- password reset ------------------------------------------------------------------------

def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def password_reset_token(user: User) -> str:
    # Bound to the current password hash: the link stops working once used.
    fingerprint = hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]
    return _reset_serializer().dumps({"u": user.id, "f": fingerprint})


def user_for_reset_token(session: Session, token: str, max_age: int = 3600) -> User:
    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise DomainError("Ce lien a expiré : demandez un nouveau lien de réinitialisation.") from None
    except BadSignature:
        raise DomainError("Ce lien n'est pas valide : demandez un nouveau lien de réinitialisation.") from None
    user = session.get(User, data.get("u"))
    fingerprint = hashlib.sha256(((user and user.password_hash) or "").encode()).hexdigest()[:16]
    if user is None or fingerprint != data.get("f"):
        raise DomainError("Ce lien a déjà été utilisé : demandez un nouveau lien de réinitialisation.")
    return user


def request_password_reset(session: Session, email: str) -> None:
    """Send a one-hour reset link if the account exists; say nothing either way."""
    from flask import url_for

    from mediation.mail import send_mail

    user = session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None or not user.is_active_account:
        return
    base = current_app.config["MEDIATION_PUBLIC_BASE_URL"]
    link = base + url_for("auth.password_reset", token=password_reset_token(user))
    send_mail(
        user.email,
        "Réinitialisation de votre mot de passe",
        f"Bonjour {user.first_name},\n\nPour choisir un nouveau mot de passe, ouvrez ce lien "
        f"(valable une heure) :\n{link}\n\nSi vous n'avez rien demandé, ignorez ce message.\n",
    )
    record(session, "auth.password_reset_requested", actor=user, obj=user)
    log.info("password reset link sent (user %s)", user.id)


# --- own account: overview ------------------------------------------------------------------

def current_memberships(session: Session, user: User) -> list:
    """The structures ``user`` works for today (StaffMembership rows with their structure)."""
    from sqlalchemy.orm import joinedload

    from mediation.directory.models import StaffMembership, Structure
    from mediation.directory.scopes import active_membership_clause

    return list(session.scalars(
        sa.select(StaffMembership)
        .join(StaffMembership.structure)
        .options(joinedload(StaffMembership.structure).joinedload(Structure.commune))
        .where(active_membership_clause(user.id))
        .order_by(Structure.name)
    ))


# --- own account: re-authentication, password change, second factor -----------------------

def _refuse_and_count(session: Session, user: User, message: str, field: str, step: str):
    remaining = _record_failure(session, user.email)
    record(session, "auth.login_failed", actor=user, obj=user, details={"step": step})
    log.info("re-authentication failed (user %s, %s)", user.id, step)
    if remaining:
        record(session, "auth.locked", actor=user, obj=user)
        raise LoginLocked(_locked_message(remaining), field=field)
    raise ReauthenticationFailed(message, field=field)


def confirm_password(session: Session, user: User, password: str, *, step: str,
                     field: str = "current_password") -> None:
    """Ask a signed-in user for their password again before a sensitive change.

    A wrong password counts as a failed sign-in (same throttling as the sign-in page). Raises
    LoginLocked while sign-in is locked, ReauthenticationFailed on a wrong password."""
    remaining = lock_remaining(session, user.email)
    if remaining:
        raise LoginLocked(_locked_message(remaining), field=field)
    if not _verify(user, password):
        _refuse_and_count(session, user, "Le mot de passe actuel est incorrect.", field, step)


def confirm_totp(session: Session, user: User, code: str, *, step: str, field: str = "code") -> None:
    """Ask a signed-in user for a current second-factor code (each code works once).
    Same throttling and errors as :func:`confirm_password`."""
    remaining = lock_remaining(session, user.email)
    if remaining:
        raise LoginLocked(_locked_message(remaining), field=field)
    if not verify_totp(session, user, code):
        _refuse_and_count(session, user, "Code incorrect ou déjà utilisé : saisissez le code à 6 "
                          "chiffres affiché par votre application.", field, step)


def change_password(session: Session, user: User, current: str, new: str, *,
                    keep_session: str | None = None) -> None:
    """A signed-in user changes their own password: the current one is required, the change is
    audited, and every other session of the account ends (their server records are revoked; the
    caller keeps ``keep_session``, its own, and signs it in again). Raises LoginLocked,
    ReauthenticationFailed, ValidationFailed."""
    confirm_password(session, user, current, step="password_change")
    if new == current:
        raise ValidationFailed("Choisissez un mot de passe différent de l'actuel.", field="password")
    set_password(session, user, new, keep_session=keep_session)
    log.info("password changed (user %s)", user.id)


def reset_password(session: Session, user: User, password: str) -> None:
    """Set a new password through an e-mailed reset link. Proving access to the mailbox counts as
    a successful sign-in for throttling: it lifts a lock caused by failed attempts (from this
    address, and the per-account one). Every browser session of the account ends."""
    set_password(session, user, password)
    _record_success(session, user.email, whole_account=True)
    log.info("password reset (user %s)", user.id)


def regenerate_recovery_codes(session: Session, user: User, code: str) -> list[str]:
    """Replace the ten recovery codes (the old ones stop working) after checking a current
    second-factor code. Returns the new codes, shown once. Raises DomainError when the second
    factor is not enrolled, LoginLocked or ReauthenticationFailed on a wrong code."""
    if not user.totp_enabled:
        raise DomainError("Activez d'abord la double authentification.")
    confirm_totp(session, user, code, step="recovery_codes")
    codes = _new_recovery_codes(user)
    record(session, "auth.recovery_codes_regenerated", actor=user, obj=user)
    return codes


def disable_own_totp(session: Session, user: User, password: str) -> None:
    """A user whose role does not require a second factor turns it off (password required).
    Raises DomainError for roles where it is compulsory, LoginLocked, ReauthenticationFailed."""
    if not user.totp_enabled:
        raise DomainError("La double authentification n'est pas activée sur ce compte.")
    if user.requires_totp:
        raise DomainError("La double authentification est obligatoire pour ce rôle.")
    confirm_password(session, user, password, step="totp_disable")
    disable_totp(session, user, actor=user)


# --- API tokens ----------------------------------------------------------------------------

def _token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(session: Session, user: User, name: str, scopes: list[str],
                     days: int = 90) -> tuple[ApiToken, str]:
    """Create a personal token for ``user`` (staff roles only: API_TOKEN_ROLES), valid ``days``
    days (one of API_TOKEN_DAYS). Returns the row and the raw secret, shown once to its owner;
    only a SHA-256 hash is stored. Raises DomainError (role), ValidationFailed (fields)."""
    if user.role not in API_TOKEN_ROLES:
        raise DomainError("Votre rôle ne permet pas de créer de jeton d'API.")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Donnez un nom au jeton (par exemple : « Tableur de suivi »).", field="name")
    if len(name) > 100:
        raise ValidationFailed("Le nom du jeton ne doit pas dépasser 100 caractères.", field="name")
    unknown = set(scopes or ()) - set(ROLE_API_SCOPES.get(user.role, API_SCOPES))
    if unknown or not scopes:
        raise ValidationFailed("Choisissez au moins une permission valide.", field="scopes")
    if days not in API_TOKEN_DAYS:
        raise ValidationFailed("Choisissez une durée de validité de 30, 90 ou 365 jours.", field="days")
    raw = "med_" + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=raw[:12], token_hash=_token_digest(raw), scopes=sorted(scopes),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    record(session, "auth.token_created", actor=user, obj=token,
           details={"scopes": token.scopes, "days": days})
    return token, raw


def own_api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's own tokens, newest first (nobody lists another person's tokens)."""
    return list(session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ))


def own_api_token(session: Session, user: User, token_id: int) -> ApiToken:
    """One of the user's own tokens; raises NotFound for anybody else's (same as a missing id)."""
    token = session.scalar(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise NotFound("Ce jeton n'existe pas.")
    return token


def revoke_api_token(session: Session, token: ApiToken, *, actor: User) -> None:
    """Revoke a token at once (idempotent; audited the first time)."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, "auth.token_revoked", actor=actor, obj=token)


def user_for_api_token(session: Session, raw: str) -> tuple[User, ApiToken] | None:
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_digest(raw or "")))
    if token is None or token.revoked_at is not None:
        return None
    if token_is_expired(token):
        return None
    if not token.user.is_active_account:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return token.user, token


def token_is_expired(token: ApiToken, now: datetime | None = None) -> bool:
    return token.expires_at is not None and token.expires_at <= (now or utcnow())
