"""Open Badges 2.0 at pathway milestones, the beneficiary's wallet (« mon carnet ») and badge
verification. See docs/domain/open-badges.md."""

# Subscribe to the signals of the domains below (see the module).
from mediation.badges import subscribers as _subscribers  # noqa: E402,F401 (badges at milestones)
