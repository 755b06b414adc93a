"""Pathways across structures: templates, diagnosis, progress, referrals, reassignment (and the
pages of mediator loans, whose rules live in mediation.directory.loans)."""

# Subscribe to the signals of the domains below (see the module).
from mediation.pathways import subscribers as _subscribers  # noqa: E402,F401 (honour referrals)
