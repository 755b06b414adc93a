"""The national schema of "lieux de médiation numérique" (LaMednum/standard-mediation-num): value
lists of its multi-valued fields, defined once here, and the CSV columns we exchange.

Values are the schema's own French values (they are also what users read), except ``typologie``
whose values are data·inclusion codes (``RFS``, ``BIB``…) shown with their French label.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICES = (
    "Aide aux démarches administratives",
    "Maîtrise des outils numériques du quotidien",
    "Insertion professionnelle via le numérique",
    "Utilisation sécurisée du numérique",
    "Parentalité et éducation avec le numérique",
    "Loisirs et créations numériques",
    "Compréhension du monde numérique",
    "Accès internet et matériel informatique",
    "Acquisition de matériel informatique à prix solidaire",
)
DEFAULT_SERVICE = "Maîtrise des outils numériques du quotidien"

PUBLICS = ("Jeunes", "Étudiants", "Familles et/ou enfants", "Seniors", "Femmes")

PRISE_EN_CHARGE = (
    "Surdité",
    "Handicaps moteurs",
    "Handicaps mentaux",
    "Illettrisme",
    "Langues étrangères (anglais)",
    "Langues étrangères (autres)",
    "Déficience visuelle",
)

FRAIS = ("Gratuit", "Gratuit sous condition", "Payant")

DISPOSITIFS = (
    "Aidants Connect",
    "Bibliothèques numérique de référence",
    "Certification PIX",
    "Conseillers numériques",
    "Emmaüs Connect",
    "France Services",
    "Grande école du numérique",
    "La Croix Rouge",
    "Point d'accès numérique CAF",
    "Promeneurs du net",
    "Relais numérique (Emmaüs Connect)",
)

# The exact strings of schema v1.0.2 (``Étapes numériques(La Poste)`` has no space in the schema).
FORMATIONS_LABELS = (
    "Formé à « Mon Espace Santé »",
    "Formé à « DUPLEX » (illettrisme)",
    "Arnia/MedNum BFC (Bourgogne-Franche-Comté)",
    "Collectif ressources et acteurs réemploi (Normandie)",
    "Étapes numériques(La Poste)",
    "Fabriques de Territoire",
    "Les Éclaireurs du numérique (Drôme)",
    "Mes Papiers (Métropole de Lyon)",
    "ORDI 3.0",
    "SUD LABS (PACA)",
)

ITINERANCE = ("Itinérant", "Fixe")

MODALITES_ACCES = (
    "Se présenter",
    "Téléphoner",
    "Contacter par mail",
    "Prendre un RDV en ligne",
    "Ce lieu n’accueille pas de public",
    "Envoyer un mail avec une fiche de prescription",
)

MODALITES_ACCOMPAGNEMENT = (
    "En autonomie",
    "Accompagnement individuel",
    "Dans un atelier collectif",
    "À distance",
)

# data·inclusion structure typologies (code → French label).
TYPOLOGIES: dict[str, str] = {
    "ACI": "Structures porteuses d'ateliers et chantiers d'insertion",
    "ACIPHC": "Atelier chantier d'insertion premières heures en chantier",
    "AFPA": "Agence nationale pour la formation professionnelle des adultes",
    "AI": "Associations intermédiaires",
    "ASE": "Aide sociale à l'enfance",
    "ASSO": "Associations",
    "ASSO_CHOMEUR": "Associations de chômeurs",
    "AVIP": "À vocation d'insertion professionnelle",
    "Autre": "Autre",
    "BIB": "Bibliothèque / Médiathèque",
    "CAARUD": "Centre d'accueil et d'accompagnement à la réduction de risques pour usagers de drogues",
    "CADA": "Centres d'accueil de demandeurs d'asile",
    "CAF": "Caisses d'allocations familiales",
    "CAP_EMPLOI": "Cap Emploi",
    "CAVA": "Centres d'adaptation à la vie active",
    "CC": "Communautés de communes",
    "CCAS": "Centres communaux d'action sociale",
    "CCONS": "Chambres consulaires (CCI, CMA, CA)",
    "CD": "Conseils départementaux",
    "CDAS": "Centre départemental d'action sociale",
    "CFP": "Centre des finances publiques",
    "CHRS": "Centres d'hébergement et de réinsertion sociale",
    "CHU": "Centres d'hébergement d'urgence",
    "CIAS": "Centres intercommunaux d'action sociale",
    "CIDFF": "Centres d'information sur les droits des femmes et des familles",
    "CITMET": "Cité des métiers",
    "CMP": "Centre médico-psychologique",
    "CMS": "Centre médico-social",
    "CPAM": "Caisse primaire d'assurance maladie",
    "CPH": "Centres provisoires d'hébergement",
    "CS": "Centre social",
    "CSAPA": "Centre de soins, d'accompagnement et de prévention en addictologie",
    "CSC": "Centre socioculturel",
    "DEETS": "Directions de l'économie, de l'emploi, du travail et des solidarités",
    "DEPT": "Services sociaux du conseil départemental",
    "DIPLP": "Délégation interministérielle à la prévention et à la lutte contre la pauvreté",
    "E2C": "École de la deuxième chance",
    "EA": "Entreprise adaptée",
    "EATT": "Entreprise adaptée de travail temporaire",
    "EI": "Entreprises d'insertion",
    "EITI": "Entreprises d'insertion par le travail indépendant",
    "ENM": "Espace numérique mobile",
    "EPCI": "Intercommunalité",
    "EPI": "Espace public internet",
    "EPIDE": "Établissement pour l'insertion dans l'emploi",
    "EPN": "Espace public numérique",
    "ES": "Épicerie solidaire",
    "ESAT": "Établissements ou services d'aide par le travail",
    "ESS": "Entreprise de l'économie sociale et solidaire",
    "ETTI": "Entreprises de travail temporaire d'insertion",
    "EVS": "Espace de vie sociale",
    "FABLAB": "Fablab",
    "FABRIQUE": "Fabrique de territoire",
    "FAIS": "Fédérations d'acteurs de l'insertion et de la solidarité",
    "FT": "France Travail",
    "GEIQ": "Groupements d'employeurs pour l'insertion et la qualification",
    "HUDA": "Hébergement d'urgence pour demandeurs d'asile",
    "LA_POSTE": "La Poste",
    "MDE": "Maison de l'emploi",
    "MDEF": "Maison de l'emploi et de la formation",
    "MDH": "Maison des habitants",
    "MDPH": "Maison départementale des personnes handicapées",
    "MDS": "Maison départementale des solidarités",
    "MJC": "Maison des jeunes et de la culture",
    "ML": "Mission locale",
    "MQ": "Maison de quartier",
    "MSA": "Mutualité sociale agricole",
    "MSAP": "Maison de services au public",
    "MUNI": "Municipalités",
    "OACAS": "Organisme d'accueil communautaire et d'activité solidaire",
    "ODC": "Organisation délégataire d'un conseil départemental",
    "OF": "Organisme de formation",
    "OIL": "Opérateur d'intermédiation locative",
    "OPCS": "Organisation porteuse de la clause sociale",
    "PAD": "Point d'accès au droit",
    "PENSION": "Pension de famille / résidence accueil",
    "PI": "Point info",
    "PIJ_BIJ": "Points et bureaux information jeunesse",
    "PIMMS": "Pimms Médiation",
    "PJJ": "Protection judiciaire de la jeunesse",
    "PLIE": "Plans locaux pour l'insertion et l'emploi",
    "PREF": "Préfecture, sous-préfecture",
    "PREVENTION": "Service ou club de prévention",
    "REG": "Région",
    "RELAIS_LECTURE": "Relais lecture",
    "RESSOURCERIE": "Ressourcerie",
    "RFS": "Réseau France Services",
    "RS_FJT": "Résidence sociale / FJT - Foyer de jeunes travailleurs",
    "SCP": "Services et clubs de prévention",
    "SPIP": "Services pénitentiaires d'insertion et de probation",
    "TIERS_LIEUX": "Tiers-lieu & coworking",
    "UDAF": "Union départementale d'aide aux familles",
}


@dataclass(frozen=True)
class ListField:
    """A multi-valued field: model attribute, CSV column, French label, allowed values."""

    attr: str
    column: str
    label: str
    values: tuple[str, ...]
    labels: dict[str, str] | None = None  # value → label when values are codes

    def label_of(self, value: str) -> str:
        return (self.labels or {}).get(value, value)

    def choices(self) -> list[tuple[str, str]]:
        return [(value, self.label_of(value)) for value in self.values]


LIST_FIELDS: tuple[ListField, ...] = (
    ListField("typologies", "typologie", "Typologie", tuple(TYPOLOGIES), TYPOLOGIES),
    ListField("services", "services", "Services", SERVICES),
    ListField("publics", "publics_specifiquement_adresses", "Publics spécifiquement adressés", PUBLICS),
    ListField("prise_en_charge", "prise_en_charge_specifique", "Prise en charge spécifique", PRISE_EN_CHARGE),
    ListField("frais", "frais_a_charge", "Frais à charge", FRAIS),
    ListField("dispositifs", "dispositif_programmes_nationaux", "Dispositifs et programmes nationaux",
              DISPOSITIFS),
    ListField("itinerance", "itinerance", "Itinérance", ITINERANCE),
    ListField("formations_labels", "formations_labels", "Formations et labels", FORMATIONS_LABELS),
    ListField("modalites_acces", "modalites_acces", "Modalités d'accès", MODALITES_ACCES),
    ListField("modalites_accompagnement", "modalites_accompagnement", "Modalités d'accompagnement",
              MODALITES_ACCOMPAGNEMENT),
)
LIST_FIELDS_BY_ATTR = {f.attr: f for f in LIST_FIELDS}

# CSV columns, in the order of schema v1.0.2 (LaMednum/standard-mediation-num, schema.json), and
# the model attribute each one maps to (None: computed on export, handled apart on import).
CSV_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("id", None),
    ("pivot", None),
    ("nom", "name"),
    ("commune", None),
    ("code_postal", "postal_code"),
    ("code_insee", None),
    ("adresse", "address"),
    ("complement_adresse", "complement_address"),
    ("latitude", "latitude"),
    ("longitude", "longitude"),
    ("typologie", "typologies"),
    ("telephone", "telephone"),
    ("courriels", "courriels"),
    ("site_web", "site_web"),
    ("horaires", "horaires"),
    ("presentation_resume", "presentation_resume"),
    ("presentation_detail", "presentation_detail"),
    ("source", "source"),
    ("itinerance", "itinerance"),
    ("structure_parente", "structure_parente"),
    ("date_maj", "date_maj"),
    ("services", "services"),
    ("publics_specifiquement_adresses", "publics"),
    ("prise_en_charge_specifique", "prise_en_charge"),
    ("frais_a_charge", "frais"),
    ("dispositif_programmes_nationaux", "dispositifs"),
    ("formations_labels", "formations_labels"),
    ("autres_formations_labels", "autres_formations_labels"),
    ("modalites_acces", "modalites_acces"),
    ("modalites_accompagnement", "modalites_accompagnement"),
    ("fiche_acces_libre", "fiche_acces_libre"),
    ("prise_rdv", "prise_rdv"),
)
# The pivot of a place without SIRET nor RNA (the schema requires one).
NO_PIVOT = "00000000000000"


def schema_spelling(value: str) -> str:
    """A value as the schema writes it: straight apostrophes (we show typographic ones)."""
    return value.replace("’", "'")


CSV_HEADER = tuple(column for column, _ in CSV_COLUMNS)
COLUMN_OF_ATTR = {attr: column for column, attr in CSV_COLUMNS if attr}
COLUMN_OF_ATTR.update({"siret": "pivot", "rna": "pivot"})
LIST_SEPARATOR = "|"
