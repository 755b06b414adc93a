"""Coordinators' own activities, as La Coop de la médiation numérique records them
(``ActiviteCoordination``): animations, évènements and partenariats. They are not accompaniments of
beneficiaries: counted apart, never in the beneficiary or accompaniment statistics."""
