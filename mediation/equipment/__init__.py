"""Equipment library (matériel): the structures' devices, lent, given or sold at a solidarity price to
the people they accompany, with reminders, returns, transfers and write-offs. See docs/materiel.md."""

# Subscribe to the signals of the domains below (see the module).
from mediation.equipment import subscribers as _subscribers  # noqa: E402,F401 (erase documents on anonymisation)
