"""Sign-in rules: passwords (argon2), throttling, TOTP second factor, recovery codes, password
reset links and personal API tokens. Every function takes the session and flushes; the request
commits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import ApiToken, LoginAttempt, Role, User
from mediation.errors import DomainError, ValidationFailed
from mediation.types import utcnow

hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
TOTP_ISSUER = "Médiation numérique"
API_SCOPES = {
    "directory:read": "Lire l'annuaire (structures, communes)",
    "activities:read": "Lire les activités",
    "activities:write": "Enregistrer et modifier des activités",
    "beneficiaries:read": "Lire les bénéficiaires",
    "beneficiaries:write": "Enregistrer et modifier des bénéficiaires",
}


class LoginLocked(DomainError):
    status_code = 429


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


def set_password(session: Session, user: User, password: str, *, actor=None) -> None:
    check_password_strength(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
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

def session_id_for(user: User) -> str:
    """Flask-Login id: changing the password (or 2FA) ends every other session of the account."""
    stamp = f"{user.password_hash}|{user.totp_secret}|{user.is_active_account}"
    fingerprint = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    return f"{user.id}:{fingerprint}"


def user_from_session_id(session: Session, session_id: str) -> User | None:
    user_id, _, fingerprint = (session_id or "").partition(":")
    if not user_id.isdigit():
        return None
    user = session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(session_id_for(user), session_id):
        return None
    return user


# --- throttling ----------------------------------------------------------------------------

def _attempt_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def lock_remaining(session: Session, email: str) -> timedelta | None:
    """How long the account stays locked after too many failures in the lock window."""
    cfg = current_app.config
    window = timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
    since = utcnow() - window
    key = _attempt_key(email)
    last_success = session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(LoginAttempt.key == key, LoginAttempt.success)
    )
    if last_success is not None and last_success.tzinfo is None:
        from datetime import UTC

        last_success = last_success.replace(tzinfo=UTC)
    start = max(since, last_success) if last_success else since
    failures = session.scalars(
        sa.select(LoginAttempt.at)
        .where(LoginAttempt.key == key, ~LoginAttempt.success, LoginAttempt.at > start)
        .order_by(LoginAttempt.at.desc())
    ).all()
    if len(failures) < cfg["LOGIN_MAX_FAILURES"]:
        return None
    newest = failures[0]
    if newest.tzinfo is None:
        from datetime import UTC

        newest = newest.replace(tzinfo=UTC)
    return max(newest + window - utcnow(), timedelta(seconds=1))


def _locked_message(remaining: timedelta) -> str:
    minutes = max(1, round(remaining.total_seconds() / 60))
    return (
        "Trop de tentatives de connexion échouées : par sécurité, ce compte est bloqué pendant "
        f"{minutes} minute{'s' if minutes > 1 else ''}. Réessayez plus tard ou réinitialisez votre "
        "mot de passe."
    )


def authenticate(session: Session, email: str, password: str) -> User:
    """Check e-mail and password. Raises LoginLocked or DomainError (same message for an unknown
    account and a wrong password). Does not open the session: the second factor may follow."""
    remaining = lock_remaining(session, email)
    if remaining:
        raise LoginLocked(_locked_message(remaining))
    user = session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    ok = _verify(user, password) and user.is_active_account
    if not ok:
        session.add(LoginAttempt(key=_attempt_key(email), success=False))
        session.flush()
        record(session, "auth.login_failed", actor=user, object_type="users",
               object_id=user.id if user else None)
        remaining = lock_remaining(session, email)
        if remaining:
            record(session, "auth.locked", actor=user, object_type="users",
                   object_id=user.id if user else None)
            raise LoginLocked(_locked_message(remaining))
        raise DomainError("Adresse e-mail ou mot de passe incorrect.")
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def record_failed_second_factor(session: Session, user: User) -> None:
    """A wrong second-factor code counts as a failed sign-in (same throttling)."""
    session.add(LoginAttempt(key=_attempt_key(user.email), success=False))
    record(session, "auth.login_failed", actor=user, obj=user, details={"step": "totp"})


def complete_login(session: Session, user: User, *, method: str) -> None:
    user.last_login_at = utcnow()
    session.add(LoginAttempt(key=_attempt_key(user.email), success=True))
    record(session, "auth.login", actor=user, obj=user, details={"method": method})


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
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(10)]
    user.recovery_codes = [_hash_code(c) for c in codes]
    record(session, "auth.totp_enabled", actor=user, obj=user)
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


# --- API tokens ----------------------------------------------------------------------------

def _token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(session: Session, user: User, name: str, scopes: list[str],
                     days: int | None = 365) -> tuple[ApiToken, str]:
    """Returns the token row and the raw secret, shown once to its owner."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Donnez un nom au jeton (par exemple : « Tableur de suivi »).", field="name")
    unknown = set(scopes) - set(API_SCOPES)
    if unknown or not scopes:
        raise ValidationFailed("Choisissez au moins une permission valide.", field="scopes")
    if user.role in (Role.FUNDER, Role.BENEFICIARY):
        raise DomainError("Votre rôle ne permet pas de créer de jeton d'API.")
    raw = "med_" + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=raw[:12], token_hash=_token_digest(raw), scopes=sorted(scopes),
        expires_at=(utcnow() + timedelta(days=days)) if days else None,
    )
    session.add(token)
    session.flush()
    record(session, "auth.token_created", actor=user, obj=token, details={"scopes": token.scopes})
    return token, raw


def revoke_api_token(session: Session, token: ApiToken, *, actor: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, "auth.token_revoked", actor=actor, obj=token)


def user_for_api_token(session: Session, raw: str) -> tuple[User, ApiToken] | None:
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_digest(raw or "")))
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    if not token.user.is_active_account:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return token.user, token


def token_is_expired(token: ApiToken, now: datetime | None = None) -> bool:
    return token.expires_at is not None and token.expires_at <= (now or utcnow())
