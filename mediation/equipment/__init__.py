"""Equipment library (matériel): the structures' devices, lent, given or sold at a solidarity price to
the people they accompany, with reminders, returns, transfers and write-offs. See docs/materiel.md."""
