"""Roles of the authorization matrix and a helper to write the expected statuses.

Columns: ``anonymous`` (no session, no token) and one account per role from the ``network``
fixture (tests/conftest.py): ``admin``, ``coordinator`` (territory « Métropole Test »),
``mediator`` (conseiller numérique of structure_a), ``aidant`` (mediator with the aidant flag,
structure_a), ``funder``.

Web routes run with the role's browser session (signed in once through the real forms). API
routes (``/api/``) run with a personal token of the role holding every scope (or the case's
``scopes``); a role that cannot hold a token (funder) calls without one.
"""

from __future__ import annotations

ROLES = ("anonymous", "admin", "coordinator", "mediator", "aidant", "funder")


def expect(default: int | None = None, **statuses: int) -> dict[str, int]:
    """``{role: status}`` for every role: the roles named get their status, the others ``default``.

    >>> expect(403, anonymous=302, admin=200)
    """
    unknown = set(statuses) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) in an expectation: {', '.join(sorted(unknown))}")
    result = {role: statuses.get(role, default) for role in ROLES}
    missing = [role for role, status in result.items() if status is None]
    if missing:
        raise ValueError(f"no expected status for: {', '.join(missing)}")
    return result


# Shorthands for the common cases.
EVERYONE_200 = expect(200)
SIGNED_IN_200 = expect(200, anonymous=302)
STAFF_200 = expect(200, anonymous=302, funder=403)  # admin, coordinator, mediators
ADMINS_200 = expect(403, anonymous=302, admin=200, coordinator=200)  # directory administrators
ADMIN_ONLY_200 = expect(403, anonymous=302, admin=200)


def refused(expectation: dict[str, int]) -> dict[str, int]:
    """The same roles reach the form, but the service refuses what was sent: the form is shown
    again with 422 instead of 200 (and the request is rolled back, mediation.web)."""
    return {role: 422 if status == 200 else status for role, status in expectation.items()}
