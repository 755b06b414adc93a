"""Forms of the evaluation pages. Choices are passed in by the views (from the user's scope)."""

from __future__ import annotations

from wtforms import DateField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from mediation.evaluation.models import FunderKind, ReportFormat
from mediation.evaluation.services import ProgrammeInput
from mediation.forms import BaseForm, CheckboxListField

YES_NO = [SelectChoice("oui", "Oui"), SelectChoice("non", "Non"), SelectChoice("", "Pas de réponse")]


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class FunderForm(BaseForm):
    name = StringField("Nom du financeur", validators=[DataRequired("Indiquez le nom du financeur."),
                                                       Length(max=200, message="200 caractères au maximum.")])
    kind = SelectField("Type de financeur", choices=choices(FunderKind.choices()),
                       validators=[DataRequired("Choisissez le type de financeur.")])


class LinkAccountForm(BaseForm):
    user_id = SelectField("Compte de financeur", coerce=int, validate_choice=False,
                          validators=[DataRequired("Choisissez un compte.")],
                          description="Le compte verra les indicateurs agrégés des programmes de ce financeur.")


class ProgrammeForm(BaseForm):
    name = StringField("Nom du programme", validators=[DataRequired("Indiquez le nom du programme."),
                                                       Length(max=200, message="200 caractères au maximum.")])
    funder_id = SelectField("Financeur", coerce=int, validate_choice=False,
                            validators=[DataRequired("Choisissez le financeur.")])
    starts_on = DateField("Début", validators=[DataRequired("Indiquez la date de début (AAAA-MM-JJ).")])
    ends_on = DateField("Fin", validators=[DataRequired("Indiquez la date de fin (AAAA-MM-JJ).")],
                        description="Incluse : une activité de ce jour compte dans le programme.")
    territory_id = SelectField("Territoire", coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                               validate_choice=False, validators=[Optional()])
    structure_ids = CheckboxListField("Structures couvertes", coerce=int, validate_choice=False,
                                      description="Les activités de ces structures pendant la période comptent dans "
                                      "le programme.")
    mediator_ids = CheckboxListField("Médiateurs couverts (postes financés)", coerce=int, validate_choice=False,
                                     description="Les activités de ces médiateurs comptent dans le programme, quelle "
                                     "que soit la structure.")
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000, message="2 000 caractères "
                                                                                                "au maximum.")])

    def to_input(self) -> ProgrammeInput:
        return ProgrammeInput(
            funder_id=self.funder_id.data, name=self.name.data, description=self.description.data,
            starts_on=self.starts_on.data, ends_on=self.ends_on.data, territory_id=self.territory_id.data,
            structure_ids=self.structure_ids.data or [], mediator_ids=self.mediator_ids.data or [])


class AttributionForm(BaseForm):
    activity_id = IntegerField("Numéro de l'activité", validators=[
        DataRequired("Indiquez le numéro de l'activité (visible sur sa fiche)."),
        NumberRange(min=1, message="Numéro invalide.")],
        description="L'activité compte alors dans ce programme, en plus de celles des structures et médiateurs "
                    "couverts.")


class FollowUpForm(BaseForm):
    status = RadioField("Résultat de l'appel", choices=choices([("repondu", "La personne a répondu"),
                                                                ("injoignable", "Personne injoignable"),
                                                                ("refus", "La personne ne souhaite pas répondre")]),
                        default="repondu", validators=[DataRequired("Choisissez le résultat de l'appel.")])
    online_alone = RadioField("Depuis l'accompagnement, avez-vous fait seul·e une démarche en ligne ?",
                              choices=YES_NO, default="", validate_choice=False)
    job_or_training = RadioField("Avez-vous trouvé un emploi ou une formation ?", choices=YES_NO, default="",
                                 validate_choice=False, description="À demander aux personnes sans emploi.")
    less_isolated = RadioField("Vous sentez-vous moins isolé·e ?", choices=YES_NO, default="", validate_choice=False)
    comfort_now = RadioField("Aujourd'hui, êtes-vous à l'aise pour faire vos démarches en ligne ?",
                             choices=choices([("1", "1 — Pas du tout à l'aise"), ("2", "2 — Peu à l'aise"),
                                              ("3", "3 — Moyennement à l'aise"), ("4", "4 — À l'aise"),
                                              ("5", "5 — Très à l'aise"), ("", "Pas de réponse")]),
                             default="", validate_choice=False)


class ReportRequestForm(BaseForm):
    format = RadioField("Document", choices=choices(ReportFormat.choices()),
                        validators=[DataRequired("Choisissez le document.")])
    filters = HiddenField()


def yes_no(value: str | None) -> bool | None:
    return {"oui": True, "non": False}.get(value or "")
