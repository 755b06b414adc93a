"""How long a signed-in browser session lives.

- Idle timeout: ``PERMANENT_SESSION_LIFETIME`` (30 minutes by default). Flask refuses a session
  cookie whose signature is older than that; a signed-in user's cookie is signed again on every
  request, so the delay counts from their last request.
- Absolute maximum: ``SESSION_ABSOLUTE_LIFETIME`` (12 hours by default) after signing in, however
  active the session: the time of sign-in is kept in the session and checked on every request.

The cookie itself has no expiry date (it ends with the browser, useful on shared computers in
public places) so that a stale cookie still reaches the server, which says "your session has
expired" instead of a bare sign-in page. API requests (tokens, no cookie) are not concerned.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import logout_user
from itsdangerous import BadSignature

from mediation.policy import PUBLIC

LOGIN_AT_KEY = "login_at"
DEFAULT_ABSOLUTE_LIFETIME = timedelta(hours=12)


def absolute_lifetime() -> timedelta:
    return current_app.config.get("SESSION_ABSOLUTE_LIFETIME") or DEFAULT_ABSOLUTE_LIFETIME


def start() -> None:
    """Call right after ``login_user`` on a real sign-in: the absolute maximum counts from now."""
    session[LOGIN_AT_KEY] = int(time.time())


def _minutes(delay: timedelta) -> str:
    minutes = max(1, round(delay.total_seconds() / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} heure{'s' if hours > 1 else ''}"
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def _stale_cookie_was_signed_in() -> bool:
    """True when the browser sent a genuine session cookie that Flask refused only because it was
    too old, and that cookie belonged to a signed-in user."""
    raw = request.cookies.get(current_app.config["SESSION_COOKIE_NAME"])
    if not raw:
        return False
    serializer = current_app.session_interface.get_signing_serializer(current_app)
    if serializer is None:
        return False
    try:
        data = serializer.loads(raw)  # signature checked, age not
    except BadSignature:
        return False
    return isinstance(data, dict) and "_user_id" in data


def _expired(message: str):
    flash(message, "info")
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and PUBLIC in getattr(view, "access_roles", ()):
        return None  # a public page (the sign-in page itself) shows the message
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))


def enforce_lifetime():
    """``before_request`` hook: end sessions past their idle or absolute limit, with a message."""
    if request.path.startswith("/api/") or request.endpoint == "static":
        return None
    if "_user_id" not in session:
        if _stale_cookie_was_signed_in():
            idle = current_app.permanent_session_lifetime
            return _expired(f"Votre session a expiré après {_minutes(idle)} d'inactivité : "
                            "reconnectez-vous pour continuer.")
        return None
    login_at = session.get(LOGIN_AT_KEY)
    limit = absolute_lifetime()
    if not isinstance(login_at, int) or time.time() - login_at >= limit.total_seconds():
        logout_user()
        session.clear()
        return _expired(f"Votre session a expiré : par sécurité, une session dure au plus "
                        f"{_minutes(limit)}. Reconnectez-vous pour continuer.")
    session.modified = True  # sign the cookie again: the idle delay counts from this request
    return None
