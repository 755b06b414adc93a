"""Forms of the mandate pages. They only parse what was typed; the rules live in the services,
whose errors are attached back to the fields (``mediation.forms.show_domain_error``)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from mediation.forms import BaseForm, CheckboxListField
from mediation.mandates.enums import CHOSEN_REVOCATION_REASONS, IdentityCheck, MandateDuration

CODE_HINT = "Le code à 6 chiffres affiché par votre application d'authentification."


def _code_field(label: str = "Code de double authentification"):
    return StringField(
        label,
        validators=[DataRequired("Saisissez le code affiché par votre application."),
                    Length(max=10, message="Ce code est trop long.")],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
        description=CODE_HINT,
    )


def options(pairs) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def _to_int(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class MandateForm(BaseForm):
    """Step 1 of the creation wizard (and of a renewal, with structure and person fixed)."""

    structure_id = SelectField("Structure qui reçoit le mandat", coerce=_to_int,
                               validate_choice=False,
                               description="Le mandat est confié à la structure, pas à vous personnellement.")
    beneficiary_id = SelectField("Personne qui donne le mandat", coerce=_to_int, validate_choice=False,
                                 description="Seules les personnes identifiées suivies par vos structures "
                                 "sont proposées.")
    demarches = CheckboxListField("Démarches couvertes par le mandat", validate_choice=False,
                                  description="Ne cochez que les domaines nécessaires à la personne.")
    duration = RadioField("Durée du mandat", choices=options(MandateDuration.choices()), validate_choice=False,
                          description="Le mandat expire à la date et à l'heure exactes de sa création, "
                          "augmentées de la durée choisie.")
    identity_check = RadioField("Vérification de l'identité", choices=options(IdentityCheck.choices()),
                                validate_choice=False,
                                description="Comment avez-vous vérifié que la personne est bien celle qu'elle "
                                "dit être ? Ne photocopiez ni ne photographiez aucun document.")


class ConfirmMandateForm(BaseForm):
    """Step 2: the aidant re-enters a code and confirms the person's informed consent."""

    consent = BooleanField(
        "J'ai informé la personne de l'objet du mandat, des données enregistrées, de leur durée de conservation "
        "et de ses droits ; elle consent au mandat et le signera en deux exemplaires.",
        validators=[InputRequired("Confirmez que la personne a été informée et qu'elle consent au mandat.")],
    )
    totp_code = _code_field()


class UseForm(BaseForm):
    demarche = SelectField("Démarche réalisée", validate_choice=False)
    description = StringField(
        "Ce que vous allez faire",
        validators=[DataRequired("Décrivez en quelques mots la démarche réalisée (par exemple : « déclaration "
                                 "de revenus »)."), Length(max=200, message="200 caractères au plus.")],
        description="Quelques mots, sans information sensible (par exemple : « déclaration de revenus 2026 »).",
    )


class RevokeForm(BaseForm):
    demarches = CheckboxListField("Démarches à révoquer", validate_choice=False,
                                  description="Cochez toutes les démarches pour révoquer le mandat entier.")
    reason = RadioField("Motif", choices=options((r.value, r.label) for r in CHOSEN_REVOCATION_REASONS),
                        validate_choice=False)
    request_id = HiddenField()
    totp_code = _code_field()


class ScanForm(BaseForm):
    scan = FileField("Mandat signé numérisé (PDF, JPEG ou PNG, 5 Mo au plus)",
                     description="Le document signé par la personne et par vous. Il remplace la copie "
                     "précédente, s'il y en a une.")


class TransferForm(BaseForm):
    structure_id = SelectField("Structure qui reprend le mandat", coerce=_to_int, validate_choice=False)
    totp_code = _code_field()


class ActivityCheckForm(BaseForm):
    code = _code_field("Code à 6 chiffres")


class CloseRequestForm(BaseForm):
    note = TextAreaField("Pourquoi la demande est close sans révocation",
                         validators=[DataRequired("Expliquez pourquoi la demande est close sans révocation."),
                                     Length(max=300, message="300 caractères au plus.")])


class StructureScopesForm(BaseForm):
    demarches = CheckboxListField("Démarches que les aidants de la structure peuvent inclure dans un mandat",
                                  validate_choice=False,
                                  description="Les mandats déjà signés ne changent pas ; la restriction vaut pour "
                                  "les nouveaux mandats, les renouvellements et les transferts.")


class EmptyForm(BaseForm):
    """POST-only buttons: CSRF only."""
