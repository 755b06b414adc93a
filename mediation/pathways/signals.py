"""What happens on pathways, announced to the domains above (blinker signals, sent synchronously
in the caller's session and transaction; see :mod:`mediation.cases.signals`).

- badges (:mod:`mediation.badges.subscribers`) issue the badges of a validated milestone.
"""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

#: A step was validated by a mediator (and the levels/pathway it completed were recorded as
#: automatic validations after it): ``actor``, ``validation``.
milestone_validated = _events.signal("milestone-validated")
