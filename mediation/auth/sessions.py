"""How long a signed-in browser session lives, and how it ends.

Every signed-in browser session has a row in ``user_sessions`` (:class:`UserSession`), shared by
all app servers; the signed cookie only carries its secret (``SESSION_KEY``). Each request reads
the row (one indexed lookup, with the user) and refuses the cookie when the row is revoked —
sign-out, « Se déconnecter de tous les appareils », password change or reset, second factor
enrolled or removed, role change, end of a staff membership, deactivation — so a copied cookie
stops working at once everywhere.

- Idle timeout: ``PERMANENT_SESSION_LIFETIME`` (30 minutes by default) since the row's
  ``last_seen_at``, written at most every ``MEDIATION_SESSION_TOUCH_SECONDS`` (60 s by default, so the
  delay is exact to within a minute). Flask also refuses a cookie whose signature is older than
  that (the cookie is signed again on every request).
- Absolute maximum: ``SESSION_ABSOLUTE_LIFETIME`` (12 hours by default) after signing in, however
  active the session: the row's ``expires_at``.

The cookie itself has no expiry date (it ends with the browser, useful on shared computers in
public places) so that a stale cookie still reaches the server, which says "your session has
expired" instead of a bare sign-in page. API requests (tokens, no cookie) are not concerned.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user
from itsdangerous import BadSignature

from mediation.auth import services
from mediation.extensions import db
from mediation.policy import PUBLIC

LOGIN_AT_KEY = "login_at"  # sign-in time (epoch seconds), read by the mandates' step-up
SESSION_KEY = "sid"  # the secret of the server-side session row
DEFAULT_ABSOLUTE_LIFETIME = timedelta(hours=12)


def absolute_lifetime() -> timedelta:
    return current_app.config.get("SESSION_ABSOLUTE_LIFETIME") or DEFAULT_ABSOLUTE_LIFETIME


def start(user) -> None:
    """Call right after ``login_user`` on a real sign-in: records the session on the server; the
    absolute maximum counts from now."""
    session[SESSION_KEY] = services.open_browser_session(db.session, user, absolute_lifetime())
    session[LOGIN_AT_KEY] = int(time.time())


def current_secret() -> str | None:
    """The secret of this browser's session row (to keep it when ending the others)."""
    value = session.get(SESSION_KEY)
    return value if isinstance(value, str) else None


def end_current() -> None:
    """Sign-out: end this session on the server (every copy of the cookie) and in the browser."""
    services.end_browser_session(db.session, current_secret())
    logout_user()
    session.clear()


def load_user(session_id: str):
    """Flask-Login ``user_loader``: the user of a live server-side session, else None (the reason
    is kept for :func:`enforce_lifetime`'s message)."""
    user, problem = services.user_for_browser_session(
        db.session, session_id, session.get(SESSION_KEY),
        idle=current_app.permanent_session_lifetime,
        touch_seconds=current_app.config.get("MEDIATION_SESSION_TOUCH_SECONDS", services.DEFAULT_SESSION_TOUCH_SECONDS),
    )
    g.session_problem = problem
    return user


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
    if current_user.is_authenticated:  # loads the server-side session row (load_user)
        session.modified = True  # sign the cookie again: the idle delay counts from this request
        return None
    problem = g.get("session_problem")
    logout_user()
    session.clear()
    if problem == services.SESSION_EXPIRED:
        return _expired(f"Votre session a expiré : par sécurité, une session dure au plus "
                        f"{_minutes(absolute_lifetime())}. Reconnectez-vous pour continuer.")
    if problem == services.SESSION_IDLE:
        idle = current_app.permanent_session_lifetime
        return _expired(f"Votre session a expiré après {_minutes(idle)} d'inactivité : "
                        "reconnectez-vous pour continuer.")
    return _expired("Votre session a été fermée (déconnexion, changement de mot de passe ou de droits) : "
                    "reconnectez-vous pour continuer.")
