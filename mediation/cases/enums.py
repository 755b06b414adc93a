"""Enumerations of beneficiaries, cases and activity records, with the French labels users know.

Keys and labels follow the national tool (La Coop de la médiation numérique): see
docs/domain/activity-records.md §1.3 and §2.1. Each label is defined here, once.
"""

from __future__ import annotations

from mediation.types import LabelledEnum


class ActivityType(LabelledEnum):
    INDIVIDUEL = ("individuel", "Accompagnement individuel")
    COLLECTIF = ("collectif", "Atelier collectif")


class PlaceType(LabelledEnum):
    LIEU_ACTIVITE = ("lieu_activite", "Lieu d’activité")
    AUTRE = ("autre", "Autre lieu")
    DOMICILE = ("domicile", "À domicile")
    A_DISTANCE = ("a_distance", "À distance")


class Thematique(LabelledEnum):
    """The 19 "Médiation numérique" thématiques."""

    DIAGNOSTIC_NUMERIQUE = ("diagnostic_numerique", "Diagnostic numérique")
    PRENDRE_EN_MAIN_DU_MATERIEL = ("prendre_en_main_du_materiel", "Prendre en main du matériel")
    MAINTENANCE_DE_MATERIEL = ("maintenance_de_materiel", "Maintenance de matériel")
    GERER_SES_CONTENUS_NUMERIQUES = ("gerer_ses_contenus_numeriques", "Gérer ses contenus numériques")
    NAVIGATION_SUR_INTERNET = ("navigation_sur_internet", "Navigation sur internet")
    EMAIL = ("email", "E-mail")
    BUREAUTIQUE = ("bureautique", "Bureautique")
    RESEAUX_SOCIAUX = ("reseaux_sociaux", "Réseaux sociaux communication")
    SANTE = ("sante", "Santé")
    BANQUE_ET_ACHATS_EN_LIGNE = ("banque_et_achats_en_ligne", "Banque et achats en ligne")
    ENTREPRENEURIAT = ("entrepreneuriat", "Accompagner un professionnel")
    INSERTION_PROFESSIONNELLE = ("insertion_professionnelle", "Insertion professionnelle")
    SECURITE_NUMERIQUE = ("securite_numerique", "Prévention en sécurité numérique")
    PARENTALITE = ("parentalite", "Parentalité")
    SCOLARITE_ET_NUMERIQUE = ("scolarite_et_numerique", "Scolarité et numérique")
    CREER_AVEC_LE_NUMERIQUE = ("creer_avec_le_numerique", "Créer avec le numérique")
    CULTURE_NUMERIQUE = ("culture_numerique", "Culture numérique")
    INTELLIGENCE_ARTIFICIELLE = ("intelligence_artificielle", "Intelligence artificielle (IA)")
    AIDE_AUX_DEMARCHES_ADMINISTRATIVES = ("aide_aux_demarches_administratives", "Aide aux démarches administratives")


class DemarcheThematique(LabelledEnum):
    """The 11 "Démarches administratives" thématiques, allowed only with
    :attr:`Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES`."""

    PAPIERS_ELECTIONS_CITOYENNETE = ("papiers_elections_citoyennete", "Papiers - Élections - Citoyenneté")
    FAMILLE_SCOLARITE = ("famille_scolarite", "Famille - Scolarité")
    SOCIAL_SANTE = ("social_sante", "Social - Santé")
    TRAVAIL_FORMATION = ("travail_formation", "Travail - Formation - Entreprise")
    LOGEMENT = ("logement", "Logement")
    TRANSPORTS_MOBILITE = ("transports_mobilite", "Transports - Mobilité")
    ARGENT_IMPOTS = ("argent_impots", "Argent - Impôts")
    JUSTICE = ("justice", "Justice")
    ETRANGERS_EUROPE = ("etrangers_europe", "Étrangers - Europe")
    LOISIRS_SPORTS_CULTURE = ("loisirs_sports_culture", "Loisirs - Sports - Culture")
    ASSOCIATIONS = ("associations", "Associations")


# Hints shown under some démarche thématiques (the operators people know).
DEMARCHE_HINTS = {
    DemarcheThematique.PAPIERS_ELECTIONS_CITOYENNETE: "ANTS, carte d’identité, passeport, permis",
    DemarcheThematique.FAMILLE_SCOLARITE: "CAF, EduConnect",
    DemarcheThematique.SOCIAL_SANTE: "ameli, MSA, complémentaire santé solidaire",
    DemarcheThematique.TRAVAIL_FORMATION: "France Travail, CPF",
    DemarcheThematique.ARGENT_IMPOTS: "impots.gouv.fr",
}

THEMATIQUE_CODES = frozenset(m.value for m in Thematique)
DEMARCHE_CODES = frozenset(m.value for m in DemarcheThematique)


def thematique_label(code: str) -> str:
    """French label of a code of either family (codes are unique across both)."""
    if code in THEMATIQUE_CODES:
        return Thematique(code).label
    return DemarcheThematique.label_of(code)


class Materiel(LabelledEnum):
    ORDINATEUR = ("ordinateur", "Ordinateur")
    TELEPHONE = ("telephone", "Téléphone")
    TABLETTE = ("tablette", "Tablette")
    AUTRE = ("autre", "Autre")
    AUCUN = ("aucun", "Pas de matériel")


class Autonomie(LabelledEnum):
    """Niveau d'autonomie (individual sessions only), shown as 1 to 3 stars."""

    ENTIEREMENT_ACCOMPAGNE = ("entierement_accompagne", "Avec guidage")
    PARTIELLEMENT_AUTONOME = ("partiellement_autonome", "Autonome avec guidage en cas de besoin")
    AUTONOME = ("autonome", "Autonome")

    @property
    def stars(self) -> int:
        return list(type(self)).index(self) + 1


class StructureRedirection(LabelledEnum):
    ADMINISTRATION = ("administration", "Administration (mairie, préfecture…)")
    MEDIATION_NUMERIQUE = ("mediation_numerique", "Autre structure de médiation numérique")
    OPERATEUR = ("operateur", "Opérateur ou organisme en charge de la démarche administrative")
    AIDE_SOCIALE = ("aide_sociale", "Structure d’aide sociale (maison des solidarités, centre social…)")
    INSERTION_PROFESSIONNELLE = (
        "insertion_professionnelle",
        "Structure d’insertion professionnelle (France Travail, mission locale, chambre de commerce…)",
    )
    AIDE_AUX_DEMARCHES = (
        "aide_aux_demarches",
        "Structure d’aide aux démarches administratives (France Services…)",
    )
    AUTRE = ("autre", "Autre")


class NiveauAtelier(LabelledEnum):
    DEBUTANT = ("debutant", "Débutant")
    INTERMEDIAIRE = ("intermediaire", "Intermédiaire")
    AVANCE = ("avance", "Avancé")

    @property
    def stars(self) -> int:
        return list(type(self)).index(self) + 1


class Genre(LabelledEnum):
    MASCULIN = ("masculin", "Masculin")
    FEMININ = ("feminin", "Féminin")
    NON_COMMUNIQUE = ("non_communique", "Non communiqué")


class TrancheAge(LabelledEnum):
    """Derived from the birth year (never typed in for identified beneficiaries)."""

    MOINS_DE_DOUZE_ANS = ("moins_de_douze_ans", "Moins de 12 ans")
    DOUZE_DIX_HUIT = ("douze_dix_huit", "12 - 17 ans")
    DIX_HUIT_VINGT_QUATRE = ("dix_huit_vingt_quatre", "18 - 24 ans")
    VINGT_CINQ_TRENTE_NEUF = ("vingt_cinq_trente_neuf", "25 - 39 ans")
    QUARANTE_CINQUANTE_NEUF = ("quarante_cinquante_neuf", "40 - 59 ans")
    SOIXANTE_SOIXANTE_NEUF = ("soixante_soixante_neuf", "60 - 69 ans")
    SOIXANTE_DIX_PLUS = ("soixante_dix_plus", "70 ans et plus")
    NON_COMMUNIQUE = ("non_communique", "Non communiqué")


# (exclusive upper bound of the age, band) in order; 70 and more is the last band.
AGE_THRESHOLDS = (
    (12, TrancheAge.MOINS_DE_DOUZE_ANS),
    (18, TrancheAge.DOUZE_DIX_HUIT),
    (25, TrancheAge.DIX_HUIT_VINGT_QUATRE),
    (40, TrancheAge.VINGT_CINQ_TRENTE_NEUF),
    (60, TrancheAge.QUARANTE_CINQUANTE_NEUF),
    (70, TrancheAge.SOIXANTE_SOIXANTE_NEUF),
)


class StatutSocial(LabelledEnum):
    RETRAITE = ("retraite", "Retraité")
    SANS_EMPLOI = ("sans_emploi", "Sans emploi")
    EN_EMPLOI = ("en_emploi", "En emploi")
    SCOLARISE = ("scolarise", "Scolarisé")
    NON_COMMUNIQUE = ("non_communique_ou_heterogene", "Non communiqué ou hétérogène")


class EquipmentKind(LabelledEnum):
    DON = ("don", "Don")
    PRET = ("pret", "Prêt")
    ACHAT_SOLIDAIRE = ("achat_solidaire", "Achat solidaire")


class CaseState(LabelledEnum):
    OPEN = ("ouvert", "Ouvert")
    PAUSED = ("en_pause", "En pause")
    CLOSED = ("clos", "Clos")
    # Former member names (same stored values), kept as aliases until the branches written
    # before the rename are merged; new code uses the English names (docs/naming.md).
    OUVERT = ("ouvert", "Ouvert")
    EN_PAUSE = ("en_pause", "En pause")
    CLOS = ("clos", "Clos")


class ClosureReason(LabelledEnum):
    AUTONOMIE_ATTEINTE = ("autonomie_atteinte", "Autonomie atteinte")
    ORIENTE = ("oriente", "Orienté vers une autre structure")
    NE_VIENT_PLUS = ("ne_vient_plus", "Ne vient plus")
    DEMENAGEMENT = ("demenagement", "Déménagement")
    DECES = ("deces", "Décès")
    AUTRE = ("autre", "Autre")


class ConsentScope(LabelledEnum):
    STRUCTURE = ("structure", "Suivi au sein de la structure")
    RESEAU = ("reseau", "Partage au sein du réseau du territoire")


class RecordSource(LabelledEnum):
    """Where an activity or a beneficiary comes from."""

    SAISIE = ("saisie", "Saisie")
    IMPORT = ("import", "Import")


class DataSource(LabelledEnum):
    """The national tool's « Source de la donnée » of an imported activity (its export's labels):
    the first Coop (« Espace coop (V1) ») or the current one. Empty for activities logged here."""

    COOP_V1 = ("coop_v1", "Espace coop (V1)")
    COOP_V2 = ("coop_v2", "La Coop de la médiation numérique")


class TagScope(LabelledEnum):
    """Who a tag belongs to, as in the national tool: a mediator's own tags, a structure's team,
    or a territory's (the Coop's « départemental » tags, shared by the coordination)."""

    PERSONNEL = ("personnel", "Personnel")
    STRUCTURE = ("structure", "Équipe de la structure")
    TERRITOIRE = ("territoire", "Territoire")


DURATION_PRESETS = (15, 30, 45, 60, 90, 120)
