"""Every indicator is a named, documented definition: code, French label, definition text,
numerator and denominator, unit and breakdowns. The report prints these definitions; the API
serves them; the computations (:mod:`mediation.evaluation.indicators`,
:mod:`mediation.evaluation.outcomes`) refer to them by code.

Families (docs/domain/impact-indicators.md): moyens (means), réalisations (outputs), résultats
(outcomes), maillage (coverage), plus the data-quality annex.
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILIES = {
    "moyens": "Moyens",
    "realisations": "Réalisations",
    "resultats": "Résultats",
    "maillage": "Maillage du territoire",
    "qualite": "Qualité des données",
}


@dataclass(frozen=True)
class Indicator:
    code: str
    family: str
    label: str
    definition: str
    unit: str
    numerator: str | None = None
    denominator: str | None = None
    breakdowns: tuple[str, ...] = ()
    follow_up: bool = False  # printed with the response rate of the follow-up survey

    @property
    def family_label(self) -> str:
        return FAMILIES[self.family]


ACCOMPAGNEMENT = ("L'unité est l'accompagnement : une personne × une activité ; un atelier collectif de 10 "
                  "participants compte pour 10 accompagnements. Les activités supprimées ne comptent nulle part.")
PEOPLE_IN_SCOPE = ("Personnes suivies (non anonymes) ayant eu au moins un accompagnement retenu par les filtres "
                   "pendant la période.")

_ALL = [
    # --- moyens -----------------------------------------------------------------------------
    Indicator("moyens.accompagnements", "moyens", "Accompagnements",
              "Nombre d'accompagnements réalisés pendant la période. " + ACCOMPAGNEMENT, "accompagnements",
              breakdowns=("type d'activité", "mois", "thématique", "canal", "durée", "structure", "commune",
                          "médiateur")),
    Indicator("moyens.accompagnements_individuels", "moyens", "Accompagnements individuels",
              "Nombre d'accompagnements individuels (une activité individuelle = un accompagnement).",
              "accompagnements"),
    Indicator("moyens.participants_ateliers", "moyens", "Participants aux ateliers",
              "Nombre total de participations aux ateliers collectifs (une personne venue à trois ateliers "
              "compte trois fois).", "accompagnements"),
    Indicator("moyens.ateliers", "moyens", "Ateliers collectifs",
              "Nombre d'ateliers collectifs tenus pendant la période (activités, pas participants).", "ateliers"),
    Indicator("moyens.beneficiaires", "moyens", "Bénéficiaires accompagnés",
              "Personnes suivies distinctes accompagnées pendant la période, plus les participants anonymes "
              "(chaque participant anonyme compte pour une personne à chaque accompagnement, règle nationale).",
              "personnes", breakdowns=("genre", "tranche d'âge", "statut")),
    Indicator("moyens.nouveaux_beneficiaires", "moyens", "Nouveaux bénéficiaires",
              "Accompagnements marqués comme premier accompagnement de la personne pendant la période : "
              "pour une personne suivie, son premier accompagnement ; un participant anonyme compte comme "
              "nouveau sauf s'il est marqué « déjà accompagné » (règle nationale).", "personnes"),
    Indicator("moyens.heures", "moyens", "Heures d'accompagnement",
              "Somme des durées des activités de la période, en heures (un atelier de deux heures compte deux "
              "heures quel que soit le nombre de participants).", "heures"),
    # --- réalisations ------------------------------------------------------------------------
    Indicator("realisations.diagnostics", "realisations", "Diagnostics initiaux réalisés",
              "Diagnostics initiaux (grille de lecture commune) réalisés pendant la période par les structures "
              "retenues.", "diagnostics"),
    Indicator("realisations.bilans", "realisations", "Points d'étape et bilans de fin de parcours",
              "Grilles de diagnostic reprises pendant la période (points d'étape et bilans de fin de parcours).",
              "diagnostics"),
    Indicator("realisations.inscriptions", "realisations", "Inscriptions à un parcours",
              "Inscriptions à un parcours de progression enregistrées pendant la période.", "inscriptions"),
    Indicator("realisations.etapes", "realisations", "Étapes validées",
              "Étapes de parcours validées pendant la période par un médiateur, avec leur preuve ; les niveaux "
              "atteints et les parcours terminés sont comptés à part.", "validations",
              breakdowns=("type de jalon",)),
    Indicator("realisations.badges", "realisations", "Badges délivrés",
              "Open Badges délivrés pendant la période et non révoqués depuis, par niveau.", "badges",
              breakdowns=("niveau",)),
    Indicator("realisations.orientations", "realisations", "Orientations",
              "Orientations vers une autre structure proposées pendant la période par les structures retenues, "
              "par état actuel (proposée, acceptée, refusée, honorée, non honorée, annulée).", "orientations",
              breakdowns=("état",)),
    Indicator("realisations.mandats_crees", "realisations", "Mandats créés",
              "Mandats (type Aidants Connect) créés pendant la période par les structures retenues.", "mandats"),
    Indicator("realisations.mandats_actifs", "realisations", "Mandats en vigueur en fin de période",
              "Mandats dont au moins une autorisation était en vigueur le dernier jour de la période.", "mandats"),
    Indicator("realisations.mandats_revoques", "realisations", "Mandats révoqués",
              "Mandats dont au moins une démarche a été révoquée pendant la période (hors remplacement par un "
              "nouveau mandat).", "mandats"),
    Indicator("realisations.demarches_mandat", "realisations", "Démarches réalisées sous mandat",
              "Utilisations d'un mandat enregistrées pendant la période (une par démarche réalisée).",
              "démarches"),
    Indicator("realisations.personnes_equipees", "realisations", "Personnes équipées",
              "Personnes ayant reçu un équipement pendant la période (don, prêt ou achat à prix solidaire), "
              "comptées comme les bénéficiaires.", "personnes", breakdowns=("type d'équipement",)),
    Indicator("realisations.appareils_pretes", "realisations", "Appareils prêtés",
              "Prêts d'appareils de l'inventaire (ordinateurs, tablettes, smartphones, clés 4G…) commencés "
              "pendant la période par les structures retenues ; un appareil prêté deux fois compte deux fois.",
              "prêts"),
    Indicator("realisations.appareils_donnes", "realisations", "Appareils donnés ou vendus à prix solidaire",
              "Appareils de l'inventaire donnés ou vendus à prix solidaire pendant la période par les structures "
              "retenues.", "appareils"),
    Indicator("realisations.prets_en_retard", "realisations", "Prêts en retard en fin de période",
              "Prêts dont la date de retour prévue était passée le dernier jour de la période sans que l'appareil "
              "ait été rendu ce jour-là (quelle que soit la date du prêt).", "prêts"),
    Indicator("realisations.personnes_equipees_parc", "realisations", "Personnes équipées par l'inventaire",
              "Personnes distinctes ayant reçu pendant la période un appareil de l'inventaire d'une structure "
              "retenue (prêt, don ou achat solidaire).", "personnes", breakdowns=("type de remise",)),
    # --- résultats ---------------------------------------------------------------------------
    Indicator("resultats.progression_autonomie", "resultats", "Progression de l'autonomie",
              "Parmi les personnes ayant au moins deux diagnostics au dernier jour de la période, part dont le "
              "niveau d'autonomie global a progressé entre le premier et le dernier diagnostic. Le niveau global "
              "est le niveau médian des cinq domaines de la grille (Avec guidage, Autonome avec guidage en cas "
              "de besoin, Autonome). " + PEOPLE_IN_SCOPE, "%",
              numerator="personnes dont le niveau global a progressé",
              denominator="personnes ayant au moins deux diagnostics", breakdowns=("niveau initial × niveau final",)),
    Indicator("resultats.gain_autonomie", "resultats", "Gain moyen d'autonomie",
              "Moyenne, sur les personnes ayant au moins deux diagnostics, de l'écart entre le dernier et le "
              "premier score d'autonomie (somme des niveaux des cinq domaines, de 5 à 15).", "points",
              numerator="somme des écarts de score", denominator="personnes ayant au moins deux diagnostics"),
    Indicator("resultats.aisance", "resultats", "Aisance ressentie",
              "Aisance ressentie lors des démarches en ligne (1 : pas du tout à l'aise … 5 : très à l'aise) au "
              "premier et au dernier diagnostic, et part des personnes dont l'aisance a progressé.", "%",
              numerator="personnes dont l'aisance a progressé",
              denominator="personnes ayant au moins deux diagnostics"),
    Indicator("resultats.niveaux_atteints", "resultats", "Niveaux de parcours atteints",
              "Parmi les personnes inscrites à un parcours, part ayant atteint chaque niveau au dernier jour de "
              "la période.", "%", numerator="personnes ayant atteint le niveau",
              denominator="personnes inscrites à un parcours", breakdowns=("niveau",)),
    Indicator("resultats.completion_cohorte", "resultats", "Parcours terminés par cohorte",
              "Parmi les personnes inscrites à un parcours, part l'ayant terminé (« Autonomie numérique ») au "
              "dernier jour de la période, par cohorte : le mois de leur premier accompagnement.", "%",
              numerator="personnes ayant terminé un parcours", denominator="personnes inscrites à un parcours",
              breakdowns=("cohorte (mois du premier accompagnement)",)),
    Indicator("resultats.delai_autonomie", "resultats", "Délai médian jusqu'à l'autonomie numérique",
              "Nombre médian de jours entre le premier accompagnement de la personne et la fin de son parcours "
              "(« Autonomie numérique »), pour les parcours terminés au dernier jour de la période.", "jours"),
    Indicator("resultats.orientations_honorees", "resultats", "Orientations honorées sous 30 jours",
              "Parmi les orientations proposées pendant la période (hors orientations annulées), part honorées "
              "— la personne s'est présentée — dans les 30 jours suivant la proposition.", "%",
              numerator="orientations honorées dans les 30 jours", denominator="orientations non annulées"),
    Indicator("resultats.delai_rendez_vous", "resultats", "Délai médian entre l'orientation et le rendez-vous",
              "Pour les rendez-vous pris avec une orientation et dont la date tombe dans la période (hors "
              "rendez-vous annulés ou déplacés), nombre médian de jours entre la proposition de l'orientation et "
              "le rendez-vous.", "jours", breakdowns=("service", "lieu")),
    Indicator("resultats.venue_rendez_vous", "resultats", "Taux de venue aux rendez-vous",
              "Parmi les rendez-vous de la période dont la venue a été indiquée par le lieu, part où la personne "
              "est venue.", "%", numerator="rendez-vous honorés (personne venue)",
              denominator="rendez-vous dont la venue est indiquée (venue ou absence)", breakdowns=("service", "lieu")),
    Indicator("resultats.usage_renouvele", "resultats", "Usage renouvelé des services en ligne",
              "À la relance (quelques mois après la fin du parcours ou du dossier), part des personnes ayant "
              "fait seules une démarche en ligne depuis. Dernière réponse de chaque personne relancée au plus "
              "tard le dernier jour de la période.", "%", numerator="réponses « oui »",
              denominator="personnes ayant répondu à la question", follow_up=True),
    Indicator("resultats.emploi_formation", "resultats", "Retour à l'emploi ou en formation",
              "À la relance, part des personnes sans emploi qui ont trouvé un emploi ou une formation.", "%",
              numerator="réponses « oui »", denominator="personnes sans emploi ayant répondu à la question",
              follow_up=True),
    Indicator("resultats.isolement", "resultats", "Isolement réduit",
              "À la relance, part des personnes qui se sentent moins isolées.", "%", numerator="réponses « oui »",
              denominator="personnes ayant répondu à la question", follow_up=True),
    Indicator("resultats.aisance_relance", "resultats", "Aisance ressentie à la relance",
              "Aisance moyenne (1 à 5) déclarée à la relance.", "sur 5", follow_up=True),
    Indicator("resultats.taux_reponse", "resultats", "Taux de réponse aux relances",
              "Part des personnes relancées (relance échue au plus tard le dernier jour de la période) qui ont "
              "répondu au questionnaire.", "%", numerator="personnes ayant répondu",
              denominator="personnes dont la relance était échue"),
    Indicator("resultats.taux_retour", "resultats", "Taux de retour",
              "Part des personnes suivies accompagnées au moins deux fois pendant la période. " + PEOPLE_IN_SCOPE,
              "%", numerator="personnes accompagnées au moins deux fois", denominator="personnes suivies accompagnées"),
    Indicator("resultats.accompagnements_par_beneficiaire", "resultats", "Accompagnements par bénéficiaire",
              "Nombre d'accompagnements divisé par le nombre de bénéficiaires accompagnés.", "accompagnements"),
    # --- maillage ----------------------------------------------------------------------------
    Indicator("maillage.communes", "maillage", "Activité par commune",
              "Pour chaque commune du territoire : structures implantées, accompagnements réalisés par ces "
              "structures et bénéficiaires qui y résident (rapportés à 1 000 habitants).", "accompagnements",
              breakdowns=("commune",)),
    Indicator("maillage.communes_sans_structure", "maillage", "Communes sans lieu de médiation",
              "Communes du territoire sans aucune structure (non archivée).", "communes"),
    Indicator("maillage.communes_sans_activite", "maillage", "Communes sans activité",
              "Communes du territoire où aucune structure retenue n'a d'accompagnement pendant la période.",
              "communes"),
    # --- qualité -----------------------------------------------------------------------------
    Indicator("qualite.champs", "qualite", "Champs renseignés",
              "Part des accompagnements (ou des activités, ou des personnes) dont chaque champ facultatif est "
              "renseigné : plus elle est basse, moins la répartition correspondante est fiable.", "%"),
]

INDICATORS: dict[str, Indicator] = {i.code: i for i in _ALL}


def indicator(code: str) -> Indicator:
    return INDICATORS[code]
