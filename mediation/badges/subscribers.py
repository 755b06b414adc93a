"""What badges do when something happens below them (subscribed when the package is imported):
a validated milestone issues its badges (and those of the levels it completed) when the pathway's
template issues badges automatically."""

from __future__ import annotations

from mediation.badges import services
from mediation.pathways import signals as pathways_signals


@pathways_signals.milestone_validated.connect
def _issue_badges(session, *, actor, validation, **_):
    services.issue_for_validation(session, actor, validation)
