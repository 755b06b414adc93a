"""Forms of badges (staff) and of the wallet (public). Rules live in the services; their errors
are attached back to the fields with ``add_domain_error``."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField

from mediation.forms import BaseForm


class EmptyForm(BaseForm):
    """A POST button (CSRF only)."""


class IssueForm(BaseForm):
    validation_id = HiddenField()


class ReasonForm(BaseForm):
    reason = TextAreaField("Motif", description="Il figure dans la liste de révocation publique de l'émetteur : "
                                                "aucune donnée personnelle. Par exemple « Délivré par erreur ».")


class IssuerForm(BaseForm):
    name = StringField("Nom de l'émetteur")
    description = TextAreaField("Présentation")
    email = StringField("Adresse e-mail de contact", description="Publiée dans le profil Open Badges.")
    url = StringField("Site web", description="Adresse complète, commençant par https://")
    telephone = StringField("Téléphone", description="Facultatif.")


class BadgeClassForm(BaseForm):
    description = TextAreaField("Ce que le badge atteste")
    criteria = TextAreaField("Critères d'obtention")
    tags = StringField("Mots-clés", description="Séparés par des virgules.")


class EndorseForm(BaseForm):
    structure_id = SelectField("Structure qui approuve", choices=[], validate_choice=False)
    comment = TextAreaField("Ce que la structure reconnaît",
                            description="Par exemple « Nous reconnaissons ce badge pour l'accès à nos ateliers de "
                                        "niveau 2 ».")


class SettingsForm(BaseForm):
    auto_issue = BooleanField("Délivrer les badges automatiquement à la validation d'une étape",
                              description="Sinon, les médiateurs délivrent les badges eux-mêmes, un par un ou pour "
                                          "tout un atelier.")


class WorkshopForm(BaseForm):
    milestone_id = SelectField("Étape validée pendant l'atelier", choices=[], validate_choice=False)


class VerifyForm(BaseForm):
    url = StringField("Adresse du badge", description="L'adresse (URL) du badge, commençant par https://")
    image = FileField("Ou l'image du badge (PNG ou SVG)", description="Une image « cuite » contenant le badge, "
                                                                      "2 Mo au maximum.")
    recipient = StringField("Adresse e-mail ou téléphone du titulaire",
                            description="Facultatif : pour vérifier que le badge appartient bien à la personne.")


class ImportForm(BaseForm):
    url = HiddenField()


class RecipientCheckForm(BaseForm):
    contact = StringField("Adresse e-mail ou numéro de téléphone du titulaire",
                          description="Pour vérifier que ce badge appartient bien à la personne qui le présente.")


# --- wallet (public) ----------------------------------------------------------------------------

class CardCodeForm(BaseForm):
    code = StringField("Code de votre carte", description="8 lettres et chiffres, imprimés sur votre carte. "
                                                          "Par exemple ABCD-2345.")


class ContactForm(BaseForm):
    contact = StringField("Votre adresse e-mail ou votre numéro de téléphone portable",
                          description="Celui que vous avez donné à votre médiateur.")


class OneTimeCodeForm(BaseForm):
    contact = StringField("Votre adresse e-mail ou votre numéro de téléphone portable")
    code = StringField("Code reçu", description="6 chiffres, valable 15 minutes.")
