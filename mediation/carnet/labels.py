"""Labels the person reads in their own language: the démarches of a mandate (their French titles
are Aidants Connect's, defined once in mediation.mandates.enums; translated here, for the carnet)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mediation.mandates.enums import Demarche

DEMARCHES = {
    Demarche.PAPIERS: _l("Papiers - Citoyenneté - Élections"),
    Demarche.FAMILLE: _l("Famille - Scolarité"),
    Demarche.SOCIAL: _l("Social - Santé"),
    Demarche.TRAVAIL: _l("Travail - Formation"),
    Demarche.LOGEMENT: _l("Logement"),
    Demarche.TRANSPORTS: _l("Transports - Mobilité"),
    Demarche.ARGENT: _l("Argent - Impôts - Consommation"),
    Demarche.JUSTICE: _l("Justice"),
    Demarche.ETRANGER: _l("Étranger - Europe"),
    Demarche.LOISIRS: _l("Loisirs - Sport - Culture"),
}


def demarche(value: Demarche) -> str:
    """The démarche's title in the page's language."""
    return str(DEMARCHES.get(value, value.label))
