"""The request's transaction seen from a view: one request = one transaction, committed once by
``mediation.web`` after the view returns — and rolled back instead when the view raised, answered
an error status (≥ 400) or flashed a refusal (category ``"error"``).

Lives below every domain so that views need not import ``mediation.web`` (the app layer)."""

from __future__ import annotations

from mediation.extensions import db


def keep_despite_error() -> None:
    """Commit now what the request has written so far, although it ends in an error.

    The one exception to "any exception, error status or refusal rolls the request back": a
    failed attempt that must count (a wrong password or second-factor code feeding sign-in
    throttling, a wrong wallet code) is written by the service, which then raises. The handler
    calls this in its ``except`` block, right after that service: the attempt (and its audit
    record) is committed; the services record it before writing anything else, and whatever the
    request writes after this call follows the default rule (rolled back)."""
    db.session.commit()
