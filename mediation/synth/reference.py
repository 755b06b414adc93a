"""Reference lists and distributions of the synthetic data (docs/domain/activity-records.md §1–§3).

Weights are relative (they need not sum to 1). They are plausible orders of magnitude read from
the national tools' public statistics, not measurements: "Aide aux démarches administratives" is the
most frequent thématique, about 80 % of activities are individual sessions, workshops gather 3 to
15 people, activity is low in August and peaks in September–November and January–March.
"""

from __future__ import annotations

from datetime import date, timedelta

from mediation.cases.enums import (
    Autonomie,
    ClosureReason,
    DemarcheThematique,
    EquipmentKind,
    Genre,
    NiveauAtelier,
    StatutSocial,
    StructureRedirection,
    Thematique,
    TrancheAge,
)

# --- territories --------------------------------------------------------------------------------

# The 101 départements (INSEE code, name); a synthetic territory borrows one code for its communes.
DEPARTEMENTS: tuple[tuple[str, str], ...] = (
    ("01", "Ain"), ("02", "Aisne"), ("03", "Allier"), ("04", "Alpes-de-Haute-Provence"),
    ("05", "Hautes-Alpes"), ("06", "Alpes-Maritimes"), ("07", "Ardèche"), ("08", "Ardennes"),
    ("09", "Ariège"), ("10", "Aube"), ("11", "Aude"), ("12", "Aveyron"), ("13", "Bouches-du-Rhône"),
    ("14", "Calvados"), ("15", "Cantal"), ("16", "Charente"), ("17", "Charente-Maritime"), ("18", "Cher"),
    ("19", "Corrèze"), ("2A", "Corse-du-Sud"), ("2B", "Haute-Corse"), ("21", "Côte-d'Or"),
    ("22", "Côtes-d'Armor"), ("23", "Creuse"), ("24", "Dordogne"), ("25", "Doubs"), ("26", "Drôme"),
    ("27", "Eure"), ("28", "Eure-et-Loir"), ("29", "Finistère"), ("30", "Gard"), ("31", "Haute-Garonne"),
    ("32", "Gers"), ("33", "Gironde"), ("34", "Hérault"), ("35", "Ille-et-Vilaine"), ("36", "Indre"),
    ("37", "Indre-et-Loire"), ("38", "Isère"), ("39", "Jura"), ("40", "Landes"), ("41", "Loir-et-Cher"),
    ("42", "Loire"), ("43", "Haute-Loire"), ("44", "Loire-Atlantique"), ("45", "Loiret"), ("46", "Lot"),
    ("47", "Lot-et-Garonne"), ("48", "Lozère"), ("49", "Maine-et-Loire"), ("50", "Manche"), ("51", "Marne"),
    ("52", "Haute-Marne"), ("53", "Mayenne"), ("54", "Meurthe-et-Moselle"), ("55", "Meuse"),
    ("56", "Morbihan"), ("57", "Moselle"), ("58", "Nièvre"), ("59", "Nord"), ("60", "Oise"), ("61", "Orne"),
    ("62", "Pas-de-Calais"), ("63", "Puy-de-Dôme"), ("64", "Pyrénées-Atlantiques"), ("65", "Hautes-Pyrénées"),
    ("66", "Pyrénées-Orientales"), ("67", "Bas-Rhin"), ("68", "Haut-Rhin"), ("69", "Rhône"),
    ("70", "Haute-Saône"), ("71", "Saône-et-Loire"), ("72", "Sarthe"), ("73", "Savoie"),
    ("74", "Haute-Savoie"), ("75", "Paris"), ("76", "Seine-Maritime"), ("77", "Seine-et-Marne"),
    ("78", "Yvelines"), ("79", "Deux-Sèvres"), ("80", "Somme"), ("81", "Tarn"), ("82", "Tarn-et-Garonne"),
    ("83", "Var"), ("84", "Vaucluse"), ("85", "Vendée"), ("86", "Vienne"), ("87", "Haute-Vienne"),
    ("88", "Vosges"), ("89", "Yonne"), ("90", "Territoire de Belfort"), ("91", "Essonne"),
    ("92", "Hauts-de-Seine"), ("93", "Seine-Saint-Denis"), ("94", "Val-de-Marne"), ("95", "Val-d'Oise"),
    ("971", "Guadeloupe"), ("972", "Martinique"), ("973", "Guyane"), ("974", "La Réunion"), ("976", "Mayotte"),
)

# Territory kinds: (kind value, weight, communes range)
TERRITORY_KINDS = (
    ("departement", 60, (120, 360)),
    ("metropole", 20, (20, 60)),
    ("agglomeration", 12, (15, 40)),
    ("communaute_communes", 8, (10, 30)),
)

COMMUNE_ROOTS = (
    "Aubigny", "Blanzac", "Cerny", "Dampierre", "Épinay", "Fontenay", "Gournay", "Hauteville", "Issy",
    "Juvigny", "Lagny", "Marigny", "Neuvy", "Orvault", "Pontoise", "Quincy", "Rosny", "Savigny", "Tremblay",
    "Urcy", "Vernon", "Wissous", "Yerville", "Annecy", "Bellegarde", "Chaumont", "Dourdan", "Étampes",
    "Frouard", "Gisors", "Houdan", "Jarny", "Lunel", "Mauriac", "Nogent", "Oyonnax", "Pamiers", "Revel",
    "Sézanne", "Thiers", "Ussel", "Vitré", "Brion", "Corbie", "Digoin", "Évron", "Flers", "Guéret", "Hesdin",
    "Lisieux", "Millau", "Nérac", "Privas", "Riom", "Saumur", "Tulle", "Vierzon", "Barbezieux", "Cholet",
    "Decize", "Falaise", "Gaillac", "Landerneau", "Mayenne", "Montbard", "Paimpol", "Redon", "Sarlat",
    "Villeneuve", "Beaumont", "Fontaine", "Montigny", "Neuville", "Châteauneuf", "Rochefort", "Mesnil",
    "Plessis", "Vaux", "Bourg", "Champagne", "Mirebeau",
)
COMMUNE_PREFIXES = ("Saint-Martin-de-", "Sainte-Marie-de-", "Saint-Pierre-de-", "Le Grand-", "La Petite-")
COMMUNE_SUFFIXES = (
    "-sur-Loire", "-sur-Mer", "-en-Vexin", "-le-Château", "-les-Bains", "-la-Forêt", "-sur-Seine",
    "-d'Azergues", "-de-Bretagne", "-du-Lac", "-le-Vieux", "-la-Rivière", "-sur-Marne", "-en-Bray",
    "-les-Vignes", "-sous-Bois", "-la-Montagne", "-sur-Garonne", "-en-Forez", "-le-Bocage",
)

# --- structures ---------------------------------------------------------------------------------

# Frequent typologies of lieux de médiation numérique: (code, weight, name pattern, capacity).
# ``capacity`` weighs how many mediators a structure of that kind employs.
MAIN_TYPOLOGIES = (
    ("RFS", 18, "France Services {commune}", 1.6),
    ("EPN", 14, "Espace public numérique de {commune}", 1.2),
    ("BIB", 12, "Médiathèque de {commune}", 1.0),
    ("CCAS", 10, "CCAS de {commune}", 1.1),
    ("ASSO", 12, "Association Connect'{commune}", 1.0),
    ("CS", 8, "Centre social de {commune}", 1.0),
    ("MUNI", 6, "Mairie de {commune}", 0.8),
    ("TIERS_LIEUX", 4, "Tiers-lieu numérique {commune}", 0.9),
    ("PIMMS", 3, "Pimms Médiation {commune}", 1.4),
    ("ML", 3, "Mission locale de {commune}", 1.0),
    ("FABLAB", 2, "Fablab {commune}", 0.7),
    ("MDS", 2, "Maison des solidarités de {commune}", 1.0),
    ("CSC", 2, "Centre socioculturel de {commune}", 1.0),
    ("MQ", 2, "Maison de quartier de {commune}", 0.8),
    ("LA_POSTE", 1, "La Poste de {commune} – espace numérique", 0.6),
    ("CAF", 1, "Caf – point numérique de {commune}", 0.8),
)
OTHER_TYPOLOGY_PATTERN = "{label} – {commune}"

HORAIRES = ("Mo-Fr 09:00-12:30,13:30-17:30", "Tu-Sa 10:00-18:00", "Mo,We,Fr 09:00-12:00",
            "Mo-Th 08:30-12:00,13:30-17:00; Fr 08:30-12:00", "We 14:00-18:00; Sa 10:00-12:00")
STREETS = ("place de la Mairie", "rue de la République", "avenue Jean Jaurès", "rue Victor Hugo",
           "rue de la Gare", "boulevard Pasteur", "rue des Écoles", "place du Marché", "allée des Tilleuls")

# --- people -------------------------------------------------------------------------------------

FIRST_NAMES_F = (
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Françoise", "Monique", "Christine", "Martine",
    "Nicole", "Sandrine", "Valérie", "Céline", "Julie", "Aurélie", "Camille", "Léa", "Manon", "Chloé",
    "Inès", "Fatima", "Aïcha", "Yasmine", "Louise", "Jeanne", "Paulette", "Josiane", "Ginette", "Emma",
    "Sarah",
)
FIRST_NAMES_M = (
    "Jean", "Pierre", "Michel", "André", "Philippe", "Alain", "Bernard", "Jacques", "Daniel", "Patrick",
    "Christophe", "Nicolas", "Stéphane", "Laurent", "Thomas", "Julien", "Kevin", "Mohamed", "Karim",
    "Youssef", "Lucas", "Hugo", "Mathis", "Théo", "Gérard", "René", "Claude", "Serge", "Louis", "Ahmed",
)
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez",
    "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas",
    "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier",
    "Robin", "Benali", "Diallo", "Nguyen", "Traoré", "Haddad", "Le Gall", "Le Goff", "Da Silva",
)

GENRES_IDENTIFIED = ((Genre.FEMININ.value, 56), (Genre.MASCULIN.value, 38), (Genre.NON_COMMUNIQUE.value, 2),
                     (None, 4))
GENRES_ANONYMOUS = ((Genre.FEMININ.value, 42), (Genre.MASCULIN.value, 30), (None, 28))

# Age of the people accompanied (years) by band: (band, weight, min age, max age).
AGE_BANDS = (
    (TrancheAge.MOINS_DE_DOUZE_ANS.value, 1, 8, 11),
    (TrancheAge.DOUZE_DIX_HUIT.value, 3, 12, 17),
    (TrancheAge.DIX_HUIT_VINGT_QUATRE.value, 7, 18, 24),
    (TrancheAge.VINGT_CINQ_TRENTE_NEUF.value, 15, 25, 39),
    (TrancheAge.QUARANTE_CINQUANTE_NEUF.value, 25, 40, 59),
    (TrancheAge.SOIXANTE_SOIXANTE_NEUF.value, 21, 60, 69),
    (TrancheAge.SOIXANTE_DIX_PLUS.value, 28, 70, 92),
)


def statut_weights(age: int | None):
    """The social status, correlated with age (retired people are the largest group)."""
    if age is None:
        return ((StatutSocial.RETRAITE.value, 30), (StatutSocial.SANS_EMPLOI.value, 22),
                (StatutSocial.EN_EMPLOI.value, 15), (StatutSocial.SCOLARISE.value, 5),
                (StatutSocial.NON_COMMUNIQUE.value, 8), (None, 20))
    if age < 18:
        return ((StatutSocial.SCOLARISE.value, 90), (None, 10))
    if age < 25:
        return ((StatutSocial.SCOLARISE.value, 35), (StatutSocial.SANS_EMPLOI.value, 35),
                (StatutSocial.EN_EMPLOI.value, 20), (None, 10))
    if age < 62:
        return ((StatutSocial.SANS_EMPLOI.value, 45), (StatutSocial.EN_EMPLOI.value, 38),
                (StatutSocial.NON_COMMUNIQUE.value, 5), (None, 12))
    return ((StatutSocial.RETRAITE.value, 88), (StatutSocial.EN_EMPLOI.value, 2), (None, 10))


# --- activities ---------------------------------------------------------------------------------

INDIVIDUAL_SHARE = 0.8           # of activities
WORKSHOP_SIZE = (3, 15, 6)       # triangular(low, high, mode) participants
WORKSHOP_FOLLOWED_SHARE = 0.2    # of workshop participants who have a record
INDIVIDUAL_ANONYMOUS_SHARE = 0.4
NEW_FOLLOWED_SHARE = 0.4         # an identified individual session is a newcomer's
DELETED_SHARE = 0.01             # soft-deleted activities
IMPORTED_SHARE = 0.03            # activities that came from a file import

# Seasons (January … December) and weekdays (Monday … Sunday).
MONTH_WEIGHTS = (1.10, 1.05, 1.15, 0.95, 0.85, 0.95, 0.70, 0.35, 1.15, 1.25, 1.20, 0.80)
WEEKDAY_WEIGHTS = (1.00, 1.10, 0.95, 1.05, 0.85, 0.20, 0.02)
HOLIDAY_WEIGHT = 0.05


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def public_holidays(year: int) -> set[date]:
    sunday = easter(year)
    fixed = {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}
    days = {date(year, m, d) for m, d in fixed}
    days |= {sunday + timedelta(days=1), sunday + timedelta(days=39), sunday + timedelta(days=50)}
    return days


INDIVIDUAL_DURATIONS = ((15, 8), (30, 26), (45, 22), (60, 28), (90, 8), (120, 4), (20, 1), (40, 1), (75, 1),
                        (150, 1))
WORKSHOP_DURATIONS = ((60, 20), (90, 34), (120, 34), (180, 8), (150, 4))

PLACES_INDIVIDUAL = (("lieu_activite", 82), ("a_distance", 8), ("domicile", 5), ("autre", 5))
PLACES_WORKSHOP = (("lieu_activite", 88), ("autre", 10), ("a_distance", 2))
OTHER_PLACE_SHARE = 0.15  # "lieu d'activité" that is not the acting structure

# "Médiation numérique" thématiques: (code, weight in individual sessions, weight in workshops)
THEMATIQUES = (
    (Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES.value, 42, 6),
    (Thematique.PRENDRE_EN_MAIN_DU_MATERIEL.value, 20, 16),
    (Thematique.NAVIGATION_SUR_INTERNET.value, 16, 12),
    (Thematique.EMAIL.value, 17, 9),
    (Thematique.GERER_SES_CONTENUS_NUMERIQUES.value, 9, 8),
    (Thematique.BUREAUTIQUE.value, 7, 10),
    (Thematique.SANTE.value, 8, 6),
    (Thematique.BANQUE_ET_ACHATS_EN_LIGNE.value, 6, 4),
    (Thematique.SECURITE_NUMERIQUE.value, 5, 12),
    (Thematique.INSERTION_PROFESSIONNELLE.value, 6, 5),
    (Thematique.RESEAUX_SOCIAUX.value, 4, 7),
    (Thematique.DIAGNOSTIC_NUMERIQUE.value, 5, 2),
    (Thematique.MAINTENANCE_DE_MATERIEL.value, 3, 2),
    (Thematique.CULTURE_NUMERIQUE.value, 2, 9),
    (Thematique.PARENTALITE.value, 1.5, 4),
    (Thematique.SCOLARITE_ET_NUMERIQUE.value, 2, 3),
    (Thematique.CREER_AVEC_LE_NUMERIQUE.value, 1, 6),
    (Thematique.INTELLIGENCE_ARTIFICIELLE.value, 1, 5),
    (Thematique.ENTREPRENEURIAT.value, 1, 1),
)
THEMATIQUE_COUNTS = ((1, 58), (2, 29), (3, 10), (4, 3))

DEMARCHES = (
    (DemarcheThematique.SOCIAL_SANTE.value, 22),
    (DemarcheThematique.PAPIERS_ELECTIONS_CITOYENNETE.value, 18),
    (DemarcheThematique.ARGENT_IMPOTS.value, 15),
    (DemarcheThematique.TRAVAIL_FORMATION.value, 14),
    (DemarcheThematique.FAMILLE_SCOLARITE.value, 12),
    (DemarcheThematique.LOGEMENT.value, 8),
    (DemarcheThematique.TRANSPORTS_MOBILITE.value, 4),
    (DemarcheThematique.ETRANGERS_EUROPE.value, 3),
    (DemarcheThematique.JUSTICE.value, 2),
    (DemarcheThematique.LOISIRS_SPORTS_CULTURE.value, 1),
    (DemarcheThematique.ASSOCIATIONS.value, 1),
)
DEMARCHE_COUNTS = ((0, 12), (1, 70), (2, 18))
DEMARCHE_NAMES = (
    "Déclaration de revenus", "Demande de RSA", "Prise de rendez-vous en préfecture",
    "Renouvellement de carte d'identité", "Création du compte ameli", "Actualisation France Travail",
    "Dossier CAF", "Demande de logement social", "Complémentaire santé solidaire", "Permis de conduire (ANTS)",
    "Carte grise (ANTS)", "Demande de retraite", "Inscription sur les listes électorales", "Dossier MDPH",
    "Pass Navigo / abonnement transport", "Titre de séjour (ANEF)",
)

# Workshop titles by leading thématique (a generic one otherwise).
WORKSHOP_TITLES = {
    Thematique.PRENDRE_EN_MAIN_DU_MATERIEL.value: ("Découvrir sa tablette", "Bien utiliser son smartphone"),
    Thematique.SECURITE_NUMERIQUE.value: ("Se protéger des arnaques en ligne", "Mots de passe : les bons réflexes"),
    Thematique.EMAIL.value: ("Créer et gérer sa messagerie",),
    Thematique.NAVIGATION_SUR_INTERNET.value: ("Premiers pas sur internet",),
    Thematique.BUREAUTIQUE.value: ("Traitement de texte : les bases", "Tableur pour débutants"),
    Thematique.SANTE.value: ("Mon Espace Santé",),
    Thematique.INTELLIGENCE_ARTIFICIELLE.value: ("L'IA au quotidien",),
    Thematique.RESEAUX_SOCIAUX.value: ("Réseaux sociaux : garder le contrôle",),
    Thematique.CULTURE_NUMERIQUE.value: ("Café numérique",),
    Thematique.PARENTALITE.value: ("Les écrans en famille",),
    Thematique.CREER_AVEC_LE_NUMERIQUE.value: ("Retouche photo", "Atelier impression 3D"),
}
GENERIC_WORKSHOP_TITLES = ("Atelier numérique", "Rendez-vous du numérique", "Atelier collectif")
WORKSHOP_LEVELS = ((NiveauAtelier.DEBUTANT.value, 60), (NiveauAtelier.INTERMEDIAIRE.value, 25),
                   (NiveauAtelier.AVANCE.value, 5), (None, 10))

MATERIELS = ((("ordinateur",), 36), (("telephone",), 30), (("ordinateur", "telephone"), 10), (("tablette",), 7),
             (("telephone", "tablette"), 2), (("autre",), 2), (("aucun",), 8), ((), 5))
AUTONOMIE = ((Autonomie.ENTIEREMENT_ACCOMPAGNE.value, 40), (Autonomie.PARTIELLEMENT_AUTONOME.value, 33),
             (Autonomie.AUTONOME.value, 15), (None, 12))
ORIENTED = ((True, 12), (False, 60), (None, 28))
REDIRECTIONS = (
    (StructureRedirection.OPERATEUR.value, 28), (StructureRedirection.ADMINISTRATION.value, 20),
    (StructureRedirection.AIDE_SOCIALE.value, 16), (StructureRedirection.AIDE_AUX_DEMARCHES.value, 14),
    (StructureRedirection.MEDIATION_NUMERIQUE.value, 10), (StructureRedirection.INSERTION_PROFESSIONNELLE.value, 8),
    (StructureRedirection.AUTRE.value, 4),
)
EQUIPMENT_SHARE = 0.02
EQUIPMENT_KINDS = ((EquipmentKind.DON.value, 50), (EquipmentKind.PRET.value, 30),
                   (EquipmentKind.ACHAT_SOLIDAIRE.value, 20))
NOTES_SHARE = 0.12
ACTIVITY_NOTES = (
    "Suite du travail sur la messagerie.", "À revoir la semaine prochaine.", "Démarche terminée.",
    "Il reste des démarches à finaliser en autonomie.", "Orientation proposée, à confirmer.",
    "Bonne progression depuis la dernière séance.",
)
CASE_NOTES = (
    "Point d'étape : objectifs revus ensemble.", "Rendez-vous de suivi fixé.",
    "Progrès sur l'utilisation de la messagerie.", "Démarches en ligne réalisées en autonomie.",
)

CLOSURE_REASONS = ((ClosureReason.NE_VIENT_PLUS.value, 45), (ClosureReason.AUTONOMIE_ATTEINTE.value, 30),
                   (ClosureReason.ORIENTE.value, 12), (ClosureReason.DEMENAGEMENT.value, 6),
                   (ClosureReason.DECES.value, 2), (ClosureReason.AUTRE.value, 5))
