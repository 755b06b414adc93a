"""Enumerations and reference frameworks of pathways, diagnosis, referrals and reassignment, each
French label defined once, here.

- Competence frameworks: Pix (the French reference, 16 competences) and DigComp 2.2 (EU, 21
  competences), with their codes and labels (docs/domain/pathways.md).
- The diagnosis grid: equipment, autonomy per domain on the three national levels (reused from
  :class:`mediation.cases.enums.Autonomie`), comfort 1–5, needs (the national thématiques),
  language and accessibility needs (the national schema's « prise en charge spécifique »).
"""

from __future__ import annotations

from dataclasses import dataclass

from mediation.types import LabelledEnum

# --- competence frameworks ----------------------------------------------------------------------


@dataclass(frozen=True)
class Competence:
    framework: str
    code: str
    label: str  # French, what users read
    name: str  # the framework's own name (English for DigComp), for Open Badges alignments


@dataclass(frozen=True)
class Framework:
    key: str
    label: str
    url: str
    areas: dict[str, str]
    competences: dict[str, Competence]
    levels: tuple[int, int]

    def label_of(self, code: str) -> str:
        competence = self.competences.get(code)
        return f"{self.label} {code} — {competence.label}" if competence else f"{self.label} {code}"


def _framework(key: str, label: str, url: str, areas: dict[str, str], rows, levels=(1, 8)) -> Framework:
    competences = {code: Competence(key, code, french, english or french) for code, french, english in rows}
    return Framework(key, label, url, areas, competences, levels)


PIX = _framework(
    "pix", "Pix", "https://pix.fr/competences",
    {"1": "Informations et données", "2": "Communication et collaboration", "3": "Création de contenu",
     "4": "Protection et sécurité", "5": "Environnement numérique"},
    [
        ("1.1", "Mener une recherche et une veille d'information", None),
        ("1.2", "Gérer des données", None),
        ("1.3", "Traiter des données", None),
        ("2.1", "Interagir", None),
        ("2.2", "Partager et publier", None),
        ("2.3", "Collaborer", None),
        ("2.4", "S'insérer dans le monde numérique", None),
        ("3.1", "Développer des documents textuels", None),
        ("3.2", "Développer des documents multimédia", None),
        ("3.3", "Adapter les documents à leur finalité", None),
        ("3.4", "Programmer", None),
        ("4.1", "Sécuriser l'environnement numérique", None),
        ("4.2", "Protéger les données personnelles et la vie privée", None),
        ("4.3", "Protéger la santé, le bien-être et l'environnement", None),
        ("5.1", "Résoudre des problèmes techniques", None),
        ("5.2", "Construire un environnement numérique", None),
    ],
)

DIGCOMP = _framework(
    "digcomp", "DigComp 2.2", "https://publications.jrc.ec.europa.eu/repository/handle/JRC128415",
    {"1": "Culture de l'information et des données", "2": "Communication et collaboration",
     "3": "Création de contenus numériques", "4": "Sécurité", "5": "Résolution de problèmes"},
    [
        ("1.1", "Naviguer, rechercher et filtrer des données, des informations et des contenus numériques",
         "Browsing, searching and filtering data, information and digital content"),
        ("1.2", "Évaluer des données, des informations et des contenus numériques",
         "Evaluating data, information and digital content"),
        ("1.3", "Gérer des données, des informations et des contenus numériques",
         "Managing data, information and digital content"),
        ("2.1", "Interagir au moyen des technologies numériques", "Interacting through digital technologies"),
        ("2.2", "Partager au moyen des technologies numériques", "Sharing through digital technologies"),
        ("2.3", "S'engager dans la citoyenneté au moyen des technologies numériques",
         "Engaging in citizenship through digital technologies"),
        ("2.4", "Collaborer au moyen des technologies numériques", "Collaborating through digital technologies"),
        ("2.5", "Nétiquette", "Netiquette"),
        ("2.6", "Gérer son identité numérique", "Managing digital identity"),
        ("3.1", "Développer des contenus numériques", "Developing digital content"),
        ("3.2", "Intégrer et réélaborer des contenus numériques", "Integrating and re-elaborating digital content"),
        ("3.3", "Droits d'auteur et licences", "Copyright and licences"),
        ("3.4", "Programmer", "Programming"),
        ("4.1", "Protéger les appareils", "Protecting devices"),
        ("4.2", "Protéger les données personnelles et la vie privée", "Protecting personal data and privacy"),
        ("4.3", "Protéger la santé et le bien-être", "Protecting health and well-being"),
        ("4.4", "Protéger l'environnement", "Protecting the environment"),
        ("5.1", "Résoudre des problèmes techniques", "Solving technical problems"),
        ("5.2", "Identifier les besoins et les réponses technologiques",
         "Identifying needs and technological responses"),
        ("5.3", "Utiliser les technologies numériques de manière créative", "Creatively using digital technologies"),
        ("5.4", "Identifier les lacunes en matière de compétences numériques", "Identifying digital competence gaps"),
    ],
)

FRAMEWORKS: dict[str, Framework] = {PIX.key: PIX, DIGCOMP.key: DIGCOMP}

# DigComp 2.2 proficiency levels 1–8, in four bands.
DIGCOMP_BANDS = ((2, "Fondamental"), (4, "Intermédiaire"), (6, "Avancé"), (8, "Hautement spécialisé"))


def proficiency_label(framework: str, level: int | None) -> str:
    if level is None:
        return ""
    if framework == DIGCOMP.key:
        band = next(label for bound, label in DIGCOMP_BANDS if level <= bound)
        return f"niveau {level} ({band.lower()})"
    return f"niveau {level}"


# --- pathway structure --------------------------------------------------------------------------

class MilestoneKind(LabelledEnum):
    """A step is validated by a mediator; level and pathway completions are computed."""

    STEP = ("etape", "Étape")
    LEVEL = ("niveau", "Niveau atteint")
    PATHWAY = ("parcours", "Parcours terminé")


class EnrolmentState(LabelledEnum):
    EN_COURS = ("en_cours", "En cours")
    TERMINE = ("termine", "Terminé")
    ABANDONNE = ("abandonne", "Abandonné")


# --- diagnosis ----------------------------------------------------------------------------------

class Equipment(LabelledEnum):
    ORDINATEUR = ("ordinateur", "Ordinateur")
    SMARTPHONE = ("smartphone", "Smartphone")
    TABLETTE = ("tablette", "Tablette")
    CONNEXION = ("connexion_domicile", "Connexion internet à domicile")


class AutonomyDomain(LabelledEnum):
    """The domains of the common reading grid, each rated on the three national levels."""

    APPAREILS = ("appareils", "Utiliser un ordinateur, un smartphone ou une tablette")
    INTERNET = ("internet", "Naviguer et chercher sur internet")
    COMMUNICATION = ("communication", "Communiquer (e-mail, messagerie, pièces jointes)")
    DEMARCHES = ("demarches", "Faire ses démarches en ligne")
    SECURITE = ("securite", "Se protéger (mots de passe, arnaques, données personnelles)")


class AssessmentMoment(LabelledEnum):
    INITIAL = ("initial", "Diagnostic initial")
    ETAPE = ("etape", "Point d'étape")
    FINAL = ("final", "Bilan de fin de parcours")


COMFORT_LABELS = {
    1: "1 — Pas du tout à l'aise",
    2: "2 — Peu à l'aise",
    3: "3 — Moyennement à l'aise",
    4: "4 — À l'aise",
    5: "5 — Très à l'aise",
}


# --- referrals ----------------------------------------------------------------------------------

class ReferralStatus(LabelledEnum):
    PROPOSEE = ("proposee", "En attente de réponse")
    ACCEPTEE = ("acceptee", "Acceptée")
    REFUSEE = ("refusee", "Refusée")
    HONOREE = ("honoree", "Honorée")
    NON_HONOREE = ("non_honoree", "Non honorée")
    ANNULEE = ("annulee", "Annulée")

    @property
    def is_live(self) -> bool:
        return self in (ReferralStatus.PROPOSEE, ReferralStatus.ACCEPTEE)


LIVE_REFERRAL_STATUSES = (ReferralStatus.PROPOSEE, ReferralStatus.ACCEPTEE)


class DeclineReason(LabelledEnum):
    COMPLET = ("complet", "Plus de place disponible dans un délai raisonnable")
    SERVICE = ("service_non_propose", "Ce service n'est pas proposé par notre structure")
    SECTEUR = ("hors_secteur", "La personne n'habite pas notre secteur")
    PUBLIC = ("public_non_accueilli", "Nous n'accueillons pas ce public ou ce besoin spécifique")
    AUTRE = ("autre", "Autre motif")


# --- reassignment -------------------------------------------------------------------------------

class TransferReason(LabelledEnum):
    DEMENAGEMENT = ("demenagement", "La personne a déménagé")
    DEPART_MEDIATEUR = ("depart_mediateur", "Départ ou absence du médiateur")
    EFFECTIFS = ("effectifs", "Répartition de la charge entre structures")
    STRUCTURE_ADAPTEE = ("structure_adaptee", "Structure mieux adaptée aux besoins de la personne")
    ORIENTATION = ("orientation", "Orientation acceptée par la structure d'accueil")
    AUTRE = ("autre", "Autre motif")


# Reasons a coordinator picks (an accepted referral moves the case by itself).
COORDINATOR_TRANSFER_REASONS = [r for r in TransferReason if r != TransferReason.ORIENTATION]
