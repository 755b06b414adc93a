"""Enumerations of mandates, with the French labels users know (see docs/domain/mandates.md §1–§2).

Each label is defined here, once.
"""

from __future__ import annotations

from mediation.types import LabelledEnum


class Demarche(LabelledEnum):
    """The 10 procedure scopes ("démarches") a mandate may cover, with the exact Aidants Connect titles."""

    PAPIERS = ("papiers", "Papiers - Citoyenneté - Élections")
    FAMILLE = ("famille", "Famille - Scolarité")
    SOCIAL = ("social", "Social - Santé")
    TRAVAIL = ("travail", "Travail - Formation")
    LOGEMENT = ("logement", "Logement")
    TRANSPORTS = ("transports", "Transports - Mobilité")
    ARGENT = ("argent", "Argent - Impôts - Consommation")
    JUSTICE = ("justice", "Justice")
    ETRANGER = ("etranger", "Étranger - Europe")
    LOISIRS = ("loisirs", "Loisirs - Sport - Culture")

    @property
    def description(self) -> str:
        return DEMARCHE_DESCRIPTIONS[self]


DEMARCHE_DESCRIPTIONS: dict[Demarche, str] = {
    Demarche.PAPIERS: "État-civil, Passeport, Élections, Papiers à conserver, Carte d'identité…",
    Demarche.FAMILLE: "Allocations familiales, Naissance, Mariage, Pacs, Scolarité…",
    Demarche.SOCIAL: "Carte vitale, Chômage, Handicap, RSA, Personnes âgées…",
    Demarche.TRAVAIL: "CDD, Concours, Retraite, Démission, Période d'essai…",
    Demarche.LOGEMENT: "Allocations logement, Permis de construire, Logement social, Fin de bail…",
    Demarche.TRANSPORTS: "Carte grise, Permis de conduire, Contrôle technique, Infractions…",
    Demarche.ARGENT: "Crédit immobilier, Impôts, Consommation, Livret A, Assurance, Surendettement…",
    Demarche.JUSTICE: "Casier judiciaire, Plainte, Aide juridictionnelle, Saisie…",
    Demarche.ETRANGER: "Titres de séjour, Attestation d'accueil, Regroupement familial…",
    Demarche.LOISIRS: "Animaux, Permis bateau, Tourisme, Permis de chasser…",
}

# Shown whenever ``argent`` is chosen (Code de la consommation, art. R.721-2 and R.761-1).
OVER_INDEBTEDNESS_WARNING = (
    "Attention : pour un dossier de surendettement, l'aidant peut seulement aider à saisir le dossier. "
    "La personne doit le signer elle-même (Code de la consommation, articles R.721-2 et R.761-1)."
)


class MandateDuration(LabelledEnum):
    """Durations counted from the exact creation time (not the end of the day)."""

    SHORT = ("short", "Mandat court – expire demain")
    MONTH = ("month", "Mandat d'un mois")
    SEMESTER = ("semester", "Mandat de 6 mois")
    LONG = ("long", "Mandat long – 12 mois")

    @property
    def days(self) -> int:
        return DURATION_DAYS[self]


DURATION_DAYS: dict[MandateDuration, int] = {
    MandateDuration.SHORT: 1,
    MandateDuration.MONTH: 31,
    MandateDuration.SEMESTER: 182,
    MandateDuration.LONG: 365,
}


class IdentityCheck(LabelledEnum):
    """How the aidant checked the person's identity. No copy of any document is ever stored."""

    PIECE_IDENTITE = ("piece_identite", "Pièce d'identité ou titre de séjour présenté (non copié)")
    FRANCE_CONNECT = ("france_connect", "Connexion FranceConnect de la personne devant l'aidant")
    DEJA_VERIFIEE = ("deja_verifiee", "Identité déjà vérifiée par la structure lors d'un précédent mandat")


class RevocationReason(LabelledEnum):
    DEMANDE_BENEFICIAIRE = ("demande_beneficiaire", "À la demande de la personne")
    FIN_ACCOMPAGNEMENT = ("fin_accompagnement", "Fin de l'accompagnement")
    ERREUR = ("erreur", "Erreur lors de la création")
    MESURE_PROTECTION = ("mesure_protection", "Mesure de protection juridique (tutelle, curatelle…)")
    AUTRE = ("autre", "Autre motif")
    # Set by the application only: a newer mandate took over the same démarche.
    REMPLACEE = ("remplacee", "Remplacée par un nouveau mandat")


# The reasons an aidant may choose (REMPLACEE is automatic).
CHOSEN_REVOCATION_REASONS = [r for r in RevocationReason if r != RevocationReason.REMPLACEE]


class AuthorizationStatus(LabelledEnum):
    EN_VIGUEUR = ("en_vigueur", "En vigueur")
    EXPIREE = ("expiree", "Expirée")
    REVOQUEE = ("revoquee", "Révoquée")
    REMPLACEE = ("remplacee", "Remplacée")


class MandateStatus(LabelledEnum):
    EN_VIGUEUR = ("en_vigueur", "En vigueur")
    PARTIELLEMENT_REVOQUE = ("partiellement_revoque", "En vigueur (partiellement révoqué)")
    EXPIRE = ("expire", "Expiré")
    REVOQUE = ("revoque", "Révoqué")
    REMPLACE = ("remplace", "Remplacé par un nouveau mandat")
    ANONYMISE = ("anonymise", "Anonymisé (durée de conservation écoulée)")


class RevocationRequestStatus(LabelledEnum):
    EN_ATTENTE = ("en_attente", "En attente de traitement")
    TRAITEE = ("traitee", "Traitée : autorisations révoquées")
    CLOSE = ("close", "Close sans révocation")


class RevocationChannel(LabelledEnum):
    PORTEFEUILLE = ("portefeuille", "Depuis son portefeuille en ligne")
    ACCUEIL = ("accueil", "À l'accueil de la structure")
    COURRIER = ("courrier", "Par courrier ou e-mail")
