"""Read side of activity statistics: exact pre-aggregated rollups and the territory dashboard."""

# Subscribe to the signals of the domains below (see the module).
from mediation.stats import subscribers as _subscribers  # noqa: E402,F401 (rollups kept exact)
