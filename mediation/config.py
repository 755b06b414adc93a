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
    return {
        "MEDIATION_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MEDIATION_PUBLIC_BASE_URL": os.environ.get(
            "MEDIATION_PUBLIC_BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"
        ).rstrip("/"),
        "MEDIATION_NETWORK_NAME": os.environ.get("MEDIATION_NETWORK_NAME", "Réseau d'inclusion numérique"),
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
        "LOGIN_MAX_FAILURES": int(os.environ.get("MEDIATION_LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("MEDIATION_LOGIN_LOCK_MINUTES", "15")),
        "OUTBOX_DIR": os.environ.get("MEDIATION_OUTBOX_DIR", str(INSTANCE / "outbox")),
        "PAGE_SIZE": 25,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "TRUSTED_PROXIES": int(os.environ.get("MEDIATION_TRUSTED_PROXIES", "0")),
        "JOBS_BACKEND": os.environ.get("MEDIATION_JOBS_BACKEND") or None,
        # Key of the audit journal's anchor (HMAC of the chain's head): not stored in the database.
        # Unset: derived from SECRET_KEY (mediation.audit.services.anchor_key). Changing it (or
        # SECRET_KEY when it is unset) makes the stored anchor and exported heads unverifiable.
        "MEDIATION_AUDIT_ANCHOR_KEY": os.environ.get("MEDIATION_AUDIT_ANCHOR_KEY") or None,
    }
