"""Configuration read from the environment.

Every setting has a safe default for the embedded demo (SQLite file in ``instance/``);
production sets ``MEDIATION_ENV=production`` and must provide its secrets.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("MEDIATION_INSTANCE_PATH", ROOT / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE / 'mediation.sqlite3'}"


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` / ``postgresql://`` spellings and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


# The service's own settings: one name each, the same in the environment and in ``app.config``
# (read them as ``current_app.config[NAME]``, or :func:`setting` where there may be no app).
# name: (parse, default). Listed with their meaning in README.md (a test checks).
SETTINGS: dict[str, tuple] = {
    "MEDIATION_PUBLIC_BASE_URL": (lambda v: v.rstrip("/"), None),  # default from PORT, below
    "MEDIATION_NETWORK_NAME": (str, "Réseau d'inclusion numérique"),
    # Sign-in throttling (mediation.auth.services): failures per (account, address), per address (all
    # accounts) and per account (all addresses, not on a known device of the account), within and
    # locking for MEDIATION_LOGIN_LOCK_MINUTES.
    "MEDIATION_LOGIN_MAX_FAILURES": (int, 5),
    "MEDIATION_LOGIN_ADDRESS_MAX_FAILURES": (int, 30),
    "MEDIATION_LOGIN_ACCOUNT_MAX_FAILURES": (int, 20),
    "MEDIATION_LOGIN_LOCK_MINUTES": (int, 15),
    # A signed-in session's last request time is written at most this often (idle timeout).
    "MEDIATION_SESSION_TOUCH_SECONDS": (int, 60),
    # Wrong wallet card codes from all client addresses together (mediation.carnet.wallet).
    "MEDIATION_WALLET_CARD_CODES_MAX_FAILURES": (int, 30),
    "MEDIATION_WALLET_CARD_CODES_WINDOW_MINUTES": (int, 15),
    # Key of the audit journal's anchor (HMAC of the chain's head), never stored in the database.
    # Unset: derived from SECRET_KEY (mediation.audit.services.anchor_key). Changing it (or
    # SECRET_KEY when it is unset) makes the stored anchor and exported heads unverifiable.
    "MEDIATION_AUDIT_ANCHOR_KEY": (str, None),
    # Ed25519 key signing the Open Badges 3.0 credentials (base64url seed or PKCS#8 PEM); unset: the
    # instance file ob3_signing_key.pem, generated once (mediation.badges.ob3). Never in the database.
    "MEDIATION_OB3_SIGNING_KEY": (str, None),
    "MEDIATION_OUTBOX_DIR": (str, str(INSTANCE / "outbox")),
    "MEDIATION_MAIL_FROM": (str, "ne-pas-repondre@mediation.local"),
    "MEDIATION_TRUSTED_PROXIES": (int, 0),
    "MEDIATION_JOBS_BACKEND": (str, None),
    "MEDIATION_JOBS_QUEUE": (str, "mediation"),
    "MEDIATION_RATELIMIT_REDIS_PREFIX": (str, None),
    "MEDIATION_BADGES_EMAIL": (str, None),
    "MEDIATION_OB_VALIDATOR_PYTHON": (str, None),
    "MEDIATION_OB_VALIDATOR_NETWORK": (str, None),
    "MEDIATION_REFERRAL_DELAY_DAYS": (int, 30),
    "MEDIATION_RETENTION_MONTHS": (int, 24),
    "MEDIATION_FOLLOW_UP_DELAY_DAYS": (int, 90),
    "MEDIATION_SUPPRESSION_THRESHOLD": (int, 5),
    # Figures computed in this many milliseconds or more (a national or regional dashboard) are kept
    # and served for MAX_AGE seconds, with their time of computation (mediation.snapshots).
    "MEDIATION_SNAPSHOT_MIN_MS": (int, 200),
    "MEDIATION_SNAPSHOT_MAX_AGE_SECONDS": (int, 900),
    # A pick-list (places, communes, mediators) of more choices than this becomes a search box
    # listing the matches (mediation.forms.pick_list).
    "MEDIATION_PICK_LIST_LIMIT": (int, 300),
    "MEDIATION_DEMO_PASSWORD": (str, None),
    "MEDIATION_DEMO_TOTP_SECRET": (str, None),
    "MEDIATION_DEMO_WALLET_CODE": (str, None),
    "REDIS_URL": (str, None),
    # A PostgreSQL streaming replica serving the read-only pages (dashboards, statistics, exports,
    # reports, the API's indicators): mediation.replica. Named after DATABASE_URL, whose replica it is.
    "DATABASE_REPLICA_URL": (normalise_database_url, None),
    # Beyond this delay (seconds) behind the primary, the replica is not read (the primary is).
    "MEDIATION_REPLICA_MAX_LAG_SECONDS": (float, 10.0),
}

# Names that earlier versions read and that now have another name: refused at start-up, so that a
# configuration (or a test) using them fails loudly instead of being ignored.
RENAMED = {
    "OUTBOX_DIR": "MEDIATION_OUTBOX_DIR", "JOBS_BACKEND": "MEDIATION_JOBS_BACKEND",
    "JOBS_QUEUE": "MEDIATION_JOBS_QUEUE", "TRUSTED_PROXIES": "MEDIATION_TRUSTED_PROXIES",
    "MAIL_FROM": "MEDIATION_MAIL_FROM", "RATELIMIT_REDIS_PREFIX": "MEDIATION_RATELIMIT_REDIS_PREFIX",
    "EVALUATION_SUPPRESSION_THRESHOLD": "MEDIATION_SUPPRESSION_THRESHOLD",
    "EVALUATION_FOLLOW_UP_DELAY_DAYS": "MEDIATION_FOLLOW_UP_DELAY_DAYS",
    "LOGIN_MAX_FAILURES": "MEDIATION_LOGIN_MAX_FAILURES", "LOGIN_LOCK_MINUTES": "MEDIATION_LOGIN_LOCK_MINUTES",
    "LOGIN_ADDRESS_MAX_FAILURES": "MEDIATION_LOGIN_ADDRESS_MAX_FAILURES",
    "LOGIN_ACCOUNT_MAX_FAILURES": "MEDIATION_LOGIN_ACCOUNT_MAX_FAILURES",
    "SESSION_TOUCH_SECONDS": "MEDIATION_SESSION_TOUCH_SECONDS",
    "WALLET_CARD_CODES_MAX_FAILURES": "MEDIATION_WALLET_CARD_CODES_MAX_FAILURES",
    "WALLET_CARD_CODES_WINDOW_MINUTES": "MEDIATION_WALLET_CARD_CODES_WINDOW_MINUTES",
}


def _parsed(name: str, raw: str | None):
    parse, default = SETTINGS[name]
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except ValueError as error:
        raise RuntimeError(f"{name} : valeur invalide ({raw!r}).") from error


def setting(name: str):
    """A setting of the service: from the current app's configuration, or (outside any app, as in a
    script) from the environment with the same default."""
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config.get(name, SETTINGS[name][1])
    return _parsed(name, os.environ.get(name))


def check_renamed(config) -> None:
    old = sorted(key for key in RENAMED if key in config)
    if old:
        raise RuntimeError("Réglages renommés : " + ", ".join(f"{key} → {RENAMED[key]}" for key in old))


def from_environment() -> dict:
    env = os.environ.get("MEDIATION_ENV", "development")
    production = env == "production"
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        if production:
            raise RuntimeError("SECRET_KEY doit être défini en production.")
        secret_file = INSTANCE / "secret_key"
        INSTANCE.mkdir(parents=True, exist_ok=True)
        if not secret_file.exists():
            secret_file.write_text(secrets.token_hex(32))
        secret = secret_file.read_text().strip()
    database_url = normalise_database_url(os.environ.get("DATABASE_URL") or default_database_url())
    own = {name: _parsed(name, os.environ.get(name)) for name in SETTINGS}
    if own["MEDIATION_PUBLIC_BASE_URL"] is None:
        own["MEDIATION_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"
    return {
        **own,
        "MEDIATION_ENV": env,
        # Flask's and its extensions' own names, derived from ours.
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Cookies: secure by default; the local demo over plain http turns it off explicitly.
        "SESSION_COOKIE_SECURE": _bool("MEDIATION_SECURE_COOKIES", production),
        "REMEMBER_COOKIE_SECURE": _bool("MEDIATION_SECURE_COOKIES", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "mediation_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=int(os.environ.get("MEDIATION_SESSION_MINUTES", "30"))
        ),
        "WTF_CSRF_TIME_LIMIT": None,
        # WTForms' own French messages (Flask-WTF's i18n needs Flask-Babel, which we do not use).
        "WTF_I18N_ENABLED": False,
        "MAX_CONTENT_LENGTH": int(os.environ.get("MEDIATION_MAX_UPLOAD_MB", "20")) * 1024 * 1024,
        "PAGE_SIZE": 25,
    }
