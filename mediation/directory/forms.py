"""Directory forms. They convert and require; the rules (formats, uniqueness, scope) are in the
services, whose French messages the views attach to these fields."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from mediation.directory.models import TerritoryKind
from mediation.directory.national_schema import LIST_FIELDS
from mediation.forms import BaseForm, CheckboxListField

DECIMAL = {"inputmode": "decimal", "autocomplete": "off"}


def options(pairs) -> list[SelectChoice]:
    """``[(value, label), …]`` as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class Required:
    """Marks a field as required (label and ``required`` attribute) and leaves the check to the
    service, so that every error of the form is reported at once."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


class Select(SelectField):
    """A select whose value the view resolves through the user's scope (and reports in French)."""

    def __init__(self, label, **kwargs):
        super().__init__(label, choices=kwargs.pop("choices", []), validate_choice=False, **kwargs)


class Date(DateField):
    """A date (browser date picker, or typed as jj/mm/aaaa) with a French error message."""

    def __init__(self, label, **kwargs):
        super().__init__(label, format=["%Y-%m-%d", "%d/%m/%Y"], **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Date invalide : saisissez-la au format jj/mm/aaaa.") from None


class ConfirmForm(BaseForm):
    """POST-only buttons (archive, deactivate…): CSRF only."""


class TerritoryForm(BaseForm):
    name = StringField("Nom du territoire", validators=[DataRequired("Saisissez le nom du territoire.")],
                       description="Par exemple : Métropole Rouen Normandie.")
    kind = Select("Type de territoire", choices=options(TerritoryKind.choices()))
    code = StringField("Code officiel", validators=[Optional()],
                       description="Facultatif : SIREN de l'intercommunalité ou numéro du département.")


class CommuneForm(BaseForm):
    insee_code = StringField("Code INSEE", validators=[DataRequired("Saisissez le code INSEE.")],
                             description="5 caractères, par exemple 76540 (ou 2A004 en Corse).",
                             render_kw={"autocomplete": "off", "maxlength": 5})
    name = StringField("Nom de la commune", validators=[DataRequired("Saisissez le nom de la commune.")])
    postal_code = StringField("Code postal", description="5 chiffres.",
                              render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 5})
    population = StringField("Population", description="Nombre d'habitants (entier positif).",
                             render_kw={"inputmode": "numeric", "autocomplete": "off"})
    latitude = StringField("Latitude", description="Entre -90 et 90, par exemple 49,4431.", render_kw=DECIMAL)
    longitude = StringField("Longitude", description="Entre -180 et 180, par exemple 1,0993.",
                            render_kw=DECIMAL)
    territory = Select("Territoire")


class StructureForm(BaseForm):
    name = StringField("Nom de la structure", validators=[Required()])
    siret = StringField("SIRET", description="14 chiffres, sans espace. Facultatif pour les lieux sans SIRET.",
                        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 17})
    rna = StringField("Numéro RNA", description="Associations : W suivi de 9 chiffres. Facultatif.",
                      render_kw={"autocomplete": "off", "maxlength": 10})
    commune = Select("Commune", validators=[Required()])
    address = StringField("Adresse", validators=[Required()],
                          description="Numéro et voie, par exemple : 12 rue Henri Gadeau de Kerville.",
                          render_kw={"autocomplete": "off"})
    complement_address = StringField("Complément d'adresse", description="Bâtiment, étage… Facultatif.")
    postal_code = StringField("Code postal", description="5 chiffres ; celui de la commune si vide.",
                              render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 5})
    latitude = StringField("Latitude", description="Entre -90 et 90, par exemple 49,4431.", render_kw=DECIMAL)
    longitude = StringField("Longitude", description="Entre -180 et 180, par exemple 1,0993.",
                            render_kw=DECIMAL)
    telephone = StringField("Téléphone", description="10 chiffres ou format international (+33…).",
                            render_kw={"inputmode": "tel", "autocomplete": "off"})
    courriels = StringField("Adresses e-mail de contact",
                            description="Séparez plusieurs adresses par une virgule.",
                            render_kw={"autocomplete": "off"})
    site_web = StringField("Sites web", description="Adresse complète, commençant par https:// ; séparez "
                                                    "plusieurs adresses (site, réseaux sociaux) par « | ».",
                           render_kw={"inputmode": "url", "autocomplete": "off"})
    prise_rdv = StringField("Lien de prise de rendez-vous", description="Adresse complète, commençant par https://.",
                            render_kw={"inputmode": "url", "autocomplete": "off"})
    horaires = TextAreaField("Horaires d'ouverture",
                             description="Texte libre ou format OpenStreetMap, par exemple : "
                                         "Mo-Fr 09:00-12:30,13:30-17:30. 500 caractères au plus.")
    presentation_resume = TextAreaField("Présentation", description="280 caractères au plus.")
    presentation_detail = TextAreaField("Présentation détaillée", description="Facultatif.")
    fiche_acces_libre = StringField("Fiche Acceslibre", description="Adresse complète de la fiche d'accessibilité "
                                                                  "sur acceslibre.beta.gouv.fr. Facultatif.",
                                    render_kw={"inputmode": "url", "autocomplete": "off"})
    structure_parente = StringField("Structure parente", description="Réseau ou structure dont le lieu fait "
                                                                     "partie. Facultatif.")
    source = StringField("Source des données", description="Structure qui a collecté ces informations. Facultatif.")
    autres_formations_labels = StringField("Autres formations et labels",
                                           description="Ceux qui ne figurent pas dans la liste. Facultatif.")


for _field in LIST_FIELDS:
    setattr(StructureForm, _field.attr, CheckboxListField(_field.label, choices=options(_field.choices())))

STRUCTURE_FIELDSETS = (
    ("Identification", ("name", "siret", "rna")),
    ("Adresse", ("commune", "address", "complement_address", "postal_code", "latitude", "longitude")),
    ("Contact", ("telephone", "courriels", "site_web", "prise_rdv", "horaires", "presentation_resume",
                 "presentation_detail", "fiche_acces_libre")),
    ("Offre de médiation numérique", (*(f.attr for f in LIST_FIELDS), "autres_formations_labels")),
    ("Réseau et source", ("structure_parente", "source")),
)


class _ProfileFields(BaseForm):
    first_name = StringField("Prénom", validators=[DataRequired("Saisissez le prénom.")],
                             render_kw={"autocomplete": "off"})
    last_name = StringField("Nom", validators=[DataRequired("Saisissez le nom.")],
                            render_kw={"autocomplete": "off"})
    email = StringField("Adresse e-mail", validators=[DataRequired("Saisissez l'adresse e-mail.")],
                        description="Elle sert d'identifiant de connexion.",
                        render_kw={"inputmode": "email", "autocomplete": "off"})
    organisation = StringField("Organisme", description="Facultatif (financeurs : leur organisme).")
    is_conseiller_numerique = BooleanField("Conseiller·ère numérique",
                                           description="Médiateur·rices uniquement.")
    is_aidant = BooleanField("Aidant·e habilité·e (mandats de type Aidants Connect)",
                             description="Médiateur·rices uniquement ; exige la double authentification. "
                             "L’habilitation n’est effective que tant que la formation Aidants Connect, "
                             "enregistrée dans les formations de la personne, est en cours de validité.")


class UserCreateForm(_ProfileFields):
    role = Select("Rôle")
    territory = Select("Territoire (coordinateur·rices)")
    structure = Select("Structure", choices=[],
                            description="Pour un·e médiateur·rice : la structure où la personne travaille.")
    started_on = Date("Dans cette structure depuis le", validators=[Optional()],
                           description="Aujourd'hui si vide.")
    job_title = StringField("Fonction", description="Facultatif, par exemple : conseillère numérique.")


class UserEditForm(_ProfileFields):
    pass


class RoleForm(BaseForm):
    role = Select("Nouveau rôle")
    territory = Select("Territoire (coordinateur·rices)")


class MembershipForm(BaseForm):
    structure = Select("Structure", validators=[DataRequired("Choisissez la structure.")])
    started_on = Date("Date de début", validators=[DataRequired("Indiquez la date de début (jj/mm/aaaa).")])
    job_title = StringField("Fonction", description="Facultatif.")


class MembershipEndForm(BaseForm):
    ended_on = Date("Date de fin", validators=[DataRequired("Indiquez la date de fin (jj/mm/aaaa).")],
                         description="Dernier jour de travail dans la structure.")


class ImportForm(BaseForm):
    file = FileField("Fichier CSV", validators=[FileRequired("Choisissez un fichier CSV.")],
                     description="UTF-8, séparateur virgule, valeurs multiples séparées par « | », colonnes du "
                                 "schéma national des lieux de médiation numérique.",
                     render_kw={"accept": ".csv,text/csv"})
    dry_run = BooleanField("Vérifier seulement, sans rien enregistrer")


class NeedsImportForm(BaseForm):
    file = FileField("Fichier CSV", validators=[FileRequired("Choisissez un fichier CSV.")],
                     description="UTF-8, séparateur virgule ou point-virgule, une ligne par commune : code_insee "
                                 "puis une ou plusieurs colonnes d'indicateur.",
                     render_kw={"accept": ".csv,text/csv"})
    dry_run = BooleanField("Vérifier seulement, sans rien enregistrer")
