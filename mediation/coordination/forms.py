"""The coordinator's activity form: one page, the type first; each type's fields are marked
``data-show-when`` (JavaScript hides the others; without it every block is shown and the service
keeps only the chosen type's)."""

from __future__ import annotations

from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from mediation.cases.forms import DateTextField, NumberField
from mediation.coordination.enums import (
    AnimationTheme,
    AnimationType,
    CoordinationType,
    EventType,
    Initiative,
    Organiser,
    PartnershipNature,
    PartnerType,
    TerritorialLevel,
)
from mediation.coordination.services import CoordinationInput, Partner
from mediation.forms import BaseForm, CheckboxListField

PARTNER_ROWS = 3


def _opts(pairs) -> list[SelectChoice]:
    return [SelectChoice(v, label) for v, label in pairs]


def _partner_fields(n: int) -> dict:
    return {
        f"partner_{n}_name": StringField(f"Structure partenaire {n} : nom"),
        f"partner_{n}_type": SelectField(f"Structure partenaire {n} : type",
                                         choices=_opts([("", "— Choisir —"), *PartnerType.choices()]),
                                         validate_choice=False),
        f"partner_{n}_type_other": StringField(f"Structure partenaire {n} : précisez le type",
                                               description="Si « Autre »."),
    }


class CoordinationForm(BaseForm):
    type = RadioField("Type d’activité", choices=_opts(CoordinationType.choices()), validate_choice=False)
    date = DateTextField("Date")
    duration_min = NumberField("Durée, en minutes (facultatif)")
    name = StringField("Nom de l’activité (facultatif)")
    territorial_level = RadioField("Échelon territorial (facultatif)",
                                   choices=_opts([("", "Non précisé"), *TerritorialLevel.choices()]),
                                   default="", validate_choice=False)
    # animation
    animation_type = RadioField("Type d’animation", choices=_opts(AnimationType.choices()), validate_choice=False)
    animation_type_other = StringField("Précisez le type d’animation", description="Si « Autre ».")
    initiative = RadioField("Initiative (facultatif)", choices=_opts([("", "Non précisé"), *Initiative.choices()]),
                            default="", validate_choice=False)
    animation_themes = CheckboxListField("Thématiques d’animation", choices=_opts(AnimationTheme.choices()),
                                         validate_choice=False)
    animation_theme_other = StringField("Précisez la thématique d’animation", description="Si « Autre thématique ».")
    mediators_count = NumberField("Nombre de médiateurs numériques")
    structures_count = NumberField("Nombre de structures")
    other_actors_count = NumberField("Nombre d’autres acteurs")
    # évènement
    participants = NumberField("Nombre de participants")
    event_type = RadioField("Type d’évènement", choices=_opts(EventType.choices()), validate_choice=False)
    event_type_other = StringField("Précisez le type d’évènement", description="Si « Autre ».")
    organisers = CheckboxListField("Organisateurs", choices=_opts(Organiser.choices()), validate_choice=False)
    organiser_other = StringField("Précisez l’organisateur", description="Si « Autre ».")
    # partenariat
    partnership_natures = CheckboxListField("Nature du partenariat", choices=_opts(PartnershipNature.choices()),
                                            validate_choice=False)
    partnership_nature_other = StringField("Précisez la nature du partenariat", description="Si « Autre ».")
    tag_ids = CheckboxListField("Tags", choices=[], validate_choice=False)
    notes = TextAreaField("Notes (facultatif)")

    ALIASES = {"partners": "partner_1_name"}

    def set_tags(self, tags) -> None:
        self.tag_ids.choices = _opts([(str(t.id), t.name) for t in tags])

    def partner_rows(self) -> list[tuple]:
        return [(self[f"partner_{n}_name"], self[f"partner_{n}_type"], self[f"partner_{n}_type_other"])
                for n in range(1, PARTNER_ROWS + 1)]

    def to_input(self) -> CoordinationInput:
        return CoordinationInput(
            type=self.type.data or None, date=self.date.date, duration_min=self.duration_min.number,
            name=self.name.data, notes=self.notes.data, territorial_level=self.territorial_level.data or None,
            tag_ids=[int(v) for v in (self.tag_ids.data or []) if str(v).isdigit()],
            mediators_count=self.mediators_count.number, structures_count=self.structures_count.number,
            other_actors_count=self.other_actors_count.number, animation_type=self.animation_type.data or None,
            animation_type_other=self.animation_type_other.data, initiative=self.initiative.data or None,
            animation_themes=list(self.animation_themes.data or []),
            animation_theme_other=self.animation_theme_other.data,
            participants=self.participants.number, event_type=self.event_type.data or None,
            event_type_other=self.event_type_other.data, organisers=list(self.organisers.data or []),
            organiser_other=self.organiser_other.data,
            partnership_natures=list(self.partnership_natures.data or []),
            partnership_nature_other=self.partnership_nature_other.data,
            partners=[Partner(name=n.data, type=t.data or None, type_other=o.data) for n, t, o in self.partner_rows()],
        )


# Three rows of partner structures (name, type, « Autre » specified), added to the form class.
for _n in range(1, PARTNER_ROWS + 1):
    for _name, _field in _partner_fields(_n).items():
        setattr(CoordinationForm, _name, _field)
