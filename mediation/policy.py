"""Shared authorization primitives: who may reach a view (signed in, which role).

Each domain states its own rules in its ``policy.py`` on top of these and of the structure scopes
(:mod:`mediation.directory.scopes`). Every view declares who may reach it with :func:`access` (web)
— the app refuses to start if a route declares nothing.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from mediation.extensions import login_manager

PUBLIC = "public"
AUTHENTICATED = "authenticated"


def access(*roles: str):
    """Declare who may call a view: ``PUBLIC``, ``AUTHENTICATED`` or a list of roles (``Role``
    members, string enums).

    Anonymous users are sent to the sign-in page; signed-in users without the role get 403.
    """
    if not roles:
        raise ValueError("access() needs at least one role, PUBLIC or AUTHENTICATED")

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if PUBLIC not in roles:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if AUTHENTICATED not in roles and current_user.role not in roles:
                    abort(403)
            return view(*args, **kwargs)

        wrapper.access_roles = tuple(roles)
        return wrapper

    return decorator


def found_or_404(obj):
    """``obj``, or a 404 when it is None: the one way a view turns "not found or out of scope"
    (what the ``policy.get_*`` loaders return as None) into the 404 the house rule asks for."""
    if obj is None:
        abort(404)
    return obj
