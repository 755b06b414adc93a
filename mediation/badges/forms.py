"""Forms of badges (staff) and of the wallet (public). Rules live in the services; their errors
are attached back to the fields with ``mediation.forms.show_domain_error``."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from mediation.badges.services import BadgeClassInput, IssuerInput
from mediation.forms import BaseForm, CheckboxListField


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

    def to_input(self) -> IssuerInput:
        return IssuerInput(self.name.data, self.description.data, self.email.data, self.url.data,
                           self.telephone.data)


class BadgeClassForm(BaseForm):
    description = TextAreaField("Ce que le badge atteste")
    criteria = TextAreaField("Critères d'obtention")
    tags = StringField("Mots-clés", description="Séparés par des virgules.")

    def to_input(self) -> BadgeClassInput:
        return BadgeClassInput(self.description.data, self.criteria.data, self.tags.data)


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
    contact = StringField(_l("L’e-mail de la personne, ou l’adresse de son carnet"),
                          description=_l("Pour savoir si ce badge est bien à cette personne."))


# --- wallet (public) ----------------------------------------------------------------------------

# The forms a person fills in « Mon carnet »: plain words, in the person's language (lazy_gettext:
# translated when the page is drawn, see mediation.i18n).
class CardCodeForm(BaseForm):
    code = StringField(_l("Le code de votre carte"), description=_l("8 lettres et chiffres. Par exemple : ABCD-2345."))


class ContactForm(BaseForm):
    contact = StringField(_l("Votre e-mail ou votre numéro de portable"),
                          description=_l("Celui que vous avez donné à la personne qui vous aide."))


class OneTimeCodeForm(BaseForm):
    contact = StringField(_l("Votre e-mail ou votre numéro de portable"))
    code = StringField(_l("Le code reçu"), description=_l("6 chiffres. Il marche pendant 15 minutes."))


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


YES_NO_UNSURE = _choices([("oui", _l("Oui")), ("non", _l("Non")), ("", _l("Je préfère ne pas répondre"))])


class WalletFollowUpForm(BaseForm):
    """The follow-up questionnaire, answered by the person from their wallet. Choices are checked in
    the view (French message); every question may be left without an answer, not all of them."""

    online_alone = RadioField(_l("Avez-vous fait une démarche sur internet sans aide ?"),
                              choices=YES_NO_UNSURE, default="", validate_choice=False)
    job_or_training = RadioField(_l("Avez-vous trouvé un travail ou une formation ?"),
                                 choices=_choices([("oui", _l("Oui")), ("non", _l("Non")),
                                                   ("", _l("Je ne cherche pas. Ou je préfère ne pas répondre."))]),
                                 default="", validate_choice=False)
    less_isolated = RadioField(_l("Vous sentez-vous moins seul ou moins seule ?"), choices=YES_NO_UNSURE, default="",
                               validate_choice=False)
    comfort_now = RadioField(_l("Aujourd’hui, faites-vous vos démarches sur internet facilement ?"),
                             choices=_choices([("1", _l("1 — Pas du tout")), ("2", _l("2 — Un peu")),
                                               ("3", _l("3 — Moyennement")), ("4", _l("4 — Facilement")),
                                               ("5", _l("5 — Très facilement")), ("", _l("Je préfère ne pas répondre"))]),
                             default="", validate_choice=False)

    def yes_no(self, name: str) -> bool | None:
        return {"oui": True, "non": False}.get(getattr(self, name).data or "")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for name in ("online_alone", "job_or_training", "less_isolated"):
            field = getattr(self, name)
            if (field.data or "") not in ("oui", "non", ""):
                field.errors.append(_("Choisissez « Oui » ou « Non ». Ou ne répondez pas."))
                valid = False
        comfort = self.comfort_now.data or ""
        if comfort and not comfort.isdigit():
            self.comfort_now.errors.append(_("Choisissez un chiffre de 1 à 5."))
            valid = False
        if valid and not any(getattr(self, n).data for n in ("online_alone", "job_or_training", "less_isolated",
                                                              "comfort_now")):
            self.form_errors.append(_("Répondez à une question au moins. Puis envoyez vos réponses."))
            valid = False
        return valid


class WalletRevocationForm(BaseForm):
    """The person asks the structure to stop acting for them, for some démarches or all of them."""

    demarches = CheckboxListField(
        _l("Pour quelles démarches ?"),
        description=_l("Laissez tout coché pour tout arrêter."),
        validators=[DataRequired(_l("Cochez au moins une démarche."))],
    )
