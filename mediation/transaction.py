"""The request's transaction seen from a view: one request = one transaction, committed once by
``mediation.web`` after the view returns, unless the view called :func:`rollback_only`.

Lives below every domain so that views need not import ``mediation.web`` (the app layer)."""

from __future__ import annotations

from flask import g

from mediation.extensions import db


def rollback_only() -> None:
    """Mark the request so that nothing it flushed is committed (used after a DomainError)."""
    db.session.rollback()
    g.rollback_only = True
