"""Values and labels of coordinators' activities, as in the national tool
(``prisma/schema.prisma`` enums, ``cra/{animation,evenement,partenariat}/labels.ts``)."""

from __future__ import annotations

from mediation.types import LabelledEnum


class CoordinationType(LabelledEnum):
    ANIMATION = ("animation", "Animation")
    EVENEMENT = ("evenement", "Évènement")
    PARTENARIAT = ("partenariat", "Partenariat")


class AnimationType(LabelledEnum):
    ASSEMBLEE = ("assemblee", "Assemblée / présentation officielle (Ex : conseil municipal, conseil communautaire, "
                              "conseil départemental, CA d’association)")
    COMITE = ("comite", "Comité technique / de pilotage")
    GROUPE_DE_TRAVAIL = ("groupe_de_travail", "Groupe de travail")
    ECHANGE = ("echange", "Moment d’échange / aide / soutien")
    REUNION_COORDINATION = ("reunion_coordination", "Réunion de coordination (coordinateurs, médiateurs et "
                                                    "conseillers numériques, préfectures, Hubs...)")
    WEBINAIRE = ("webinaire", "Webinaire")
    AUTRE = ("autre", "Autre")


class Initiative(LabelledEnum):
    INITIATIVE = ("initiative", "Intervention à mon initiative")
    DEMANDE = ("demande", "Réponse à un besoin/une problématique")


class AnimationTheme(LabelledEnum):
    PARTAGE = ("partage", "Échanges de bonnes pratiques / partage d’informations")
    RESEAU = ("reseau", "Maillage territorial - faire réseau / créer du lien")
    SOUTIEN = ("soutien", "Soutien technique et/ou organisationnel")
    PROFESSIONNEL = ("professionnel", "Projet / Parcours professionnel")
    RH = ("rh", "Soutien RH auprès des structures")
    AUTRE = ("autre", "Autre thématique")


class EventType(LabelledEnum):
    GRAND_PUBLIC = ("grand_public", "Évènement grand public (Ex : Forums, salons, journées départementales, "
                                    "ateliers collectifs...)")
    NATIONAL = ("national", "Évènement national (Ex : NEC, ANCTour, etc...)")
    INCLUSION_NUMERIQUE = ("inclusion_numerique", "Journée d’inclusion numérique (Ex : Séminaire, rencontre, "
                                                  "intervention...)")
    NEC_LOCAL = ("nec_local", "NEC local")
    AUTRE = ("autre", "Autre")


class Organiser(LabelledEnum):
    MA_STRUCTURE = ("ma_structure", "Ma structure (moi - même)")
    COMMUNE = ("commune", "Une commune")
    EPCI = ("epci", "Un EPCI")
    DEPARTEMENT = ("departement", "Le département")
    REGION = ("region", "La région")
    ASSOCIATION = ("association", "Une association")
    ENTREPRISE = ("entreprise", "Une entreprise")
    HUB = ("hub", "Un Hub")
    ETAT = ("etat", "État (Préfecture, ANCT, Opérateur...)")
    GROUPEMENT = ("groupement", "Un groupement (Syndicat mixte, consortium...)")
    AUTRE = ("autre", "Autre")


class PartnerType(LabelledEnum):
    """Types of partner structures (the Coop's ``TYPE_DE_STRUCTURE_PARTENAIRE_OPTIONS``)."""

    COMMUNE = ("commune", "Une commune")
    EPCI = ("epci", "Un EPCI")
    DEPARTEMENT = ("departement", "Le département")
    REGION = ("region", "La région")
    ASSOCIATION = ("association", "Une association")
    ENTREPRISE = ("entreprise", "Une entreprise")
    HUB = ("hub", "Un Hub")
    ETAT = ("etat", "État (Préfecture, ANCT, Opérateur...)")
    GROUPEMENT = ("groupement", "Un groupement (Syndicat mixte, consortium...)")
    AUTRE = ("autre", "Autre")


class TerritorialLevel(LabelledEnum):
    COMMUNAL = ("communal", "Communal")
    INTERCOMMUNAL = ("intercommunal", "Intercommunal")
    DEPARTEMENTAL = ("departemental", "Départemental")
    REGIONAL = ("regional", "Régional")
    NATIONAL = ("national", "National")


class PartnershipNature(LabelledEnum):
    PARCOURS_USAGER = ("parcours_usager", "Conception de parcours usager")
    SUBVENTION = ("subvention", "Recherche de subvention")
    COORDINATION_DEPARTEMENTALE = ("coordination_departementale", "Journée de coordination départementale")
    RDV_ELU = ("rdv_elu", "Rendez-vous avec un·e élu·e")
    AUTRE = ("autre", "Autre")
