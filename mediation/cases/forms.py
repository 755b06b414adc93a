"""Forms of beneficiaries, cases and activity records.

Fields keep exactly what was typed when validation fails (they re-render from the submitted data);
parsing is lenient and the rules live in the services, whose errors are attached back to fields
with :func:`mediation.forms.show_domain_error`.
"""

from __future__ import annotations

from datetime import date

from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import DateInput, NumberInput

from mediation.cases.activities import (
    COUNTED_AGES,
    COUNTED_GENRES,
    COUNTED_STATUTS,
    ActivityInput,
    AnonymousCounters,
    AnonymousInput,
)
from mediation.cases.enums import (
    DEMARCHE_CODES,
    DEMARCHE_HINTS,
    DURATION_PRESETS,
    THEMATIQUE_CODES,
    ActivityType,
    Autonomie,
    ClosureReason,
    ConsentScope,
    DemarcheThematique,
    EquipmentKind,
    Genre,
    Materiel,
    NiveauAtelier,
    PlaceType,
    StatutSocial,
    StructureRedirection,
    Thematique,
    TrancheAge,
)
from mediation.cases.services import BeneficiaryInput
from mediation.forms import BaseForm, CheckboxListField
from mediation.text import duration_fr

SENSITIVE_WARNING = (
    "Il est interdit de stocker des informations sensibles (santé, opinions politiques, religieuses ou "
    "syndicales, origine, orientation sexuelle, infractions, numéro de sécurité sociale…)."
)
CUSTOM = "autre"


def _duration_label(minutes: int) -> str:
    return duration_fr(minutes)


class NumberField(StringField):
    """An integer typed as text: invalid input is kept as typed and reported in French."""

    widget = NumberInput(min=0)

    @property
    def number(self) -> int | None:
        try:
            return int((self.data or "").strip())
        except ValueError:
            return None

    def pre_validate(self, form):
        if (self.data or "").strip() and self.number is None:
            raise ValidationError("Veuillez saisir un nombre entier")


class DateTextField(StringField):
    """A date as ``<input type=date>`` (ISO); an unreadable value is kept as typed."""

    widget = DateInput()

    @property
    def date(self) -> date | None:
        try:
            return date.fromisoformat((self.data or "").strip())
        except ValueError:
            return None

    def pre_validate(self, form):
        if (self.data or "").strip() and self.date is None:
            raise ValidationError("Veuillez renseigner une date valide (jj/mm/aaaa)")

    def _value(self):
        return self.data.isoformat() if isinstance(self.data, date) else (self.data or "")


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _opts(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _select(label: str, **kwargs) -> SelectField:
    return SelectField(label, choices=[], validate_choice=False, **kwargs)


# --- activities ---------------------------------------------------------------------------------

class ActivityForm(BaseForm):
    """Fields common to individual sessions and workshops (rendered field by field)."""

    structure_id = _select("Structure pour laquelle vous intervenez")
    date = DateTextField("Date")
    duration = RadioField(
        "Durée", choices=_opts([(str(m), _duration_label(m)) for m in DURATION_PRESETS] + [(CUSTOM, "Personnaliser")]),
        validate_choice=False,
    )
    duration_custom = NumberField("Durée personnalisée, en minutes",
                                  description="Seulement si vous avez choisi « Personnaliser ».")
    place_type = RadioField("Lieu d’accompagnement", choices=_opts(PlaceType.choices()), validate_choice=False)
    place_structure_id = _select("Lieu d’activité", description="Pour « Lieu d’activité ».")
    place_commune_id = _select("Commune", description="Pour « Autre lieu » et « À domicile ».")
    thematiques = CheckboxListField("Thématiques d’accompagnement", choices=_opts(Thematique.choices()),
                                    validate_choice=False)
    demarches = CheckboxListField(
        "Démarches administratives",
        choices=_opts([(m.value, m.label + (f" ({DEMARCHE_HINTS[m]})" if m in DEMARCHE_HINTS else ""))
                 for m in DemarcheThematique]),
        description="Seulement avec la thématique « Aide aux démarches administratives ».",
        validate_choice=False,
    )
    demarche_name = StringField("Nom de la démarche administrative",
                                description="Seulement avec « Aide aux démarches administratives ».")
    materiel = CheckboxListField("Matériel numérique utilisé", choices=_opts(Materiel.choices()), validate_choice=False)
    equipment_kind = RadioField("Équipement remis", choices=_opts([("", "Aucun"), *EquipmentKind.choices()]),
                                default="", validate_choice=False)
    equipment_count = NumberField("Nombre d’équipements remis")
    notes = TextAreaField("Notes", description=SENSITIVE_WARNING)
    tag_ids = CheckboxListField("Tags spécifiques", choices=[], validate_choice=False,
                                description="Thématiques spécifiques, dispositifs locaux… Vous pouvez "
                                            "également créer vos tags personnalisés.")

    activity_type: ActivityType
    topics_focus = False  # the page opens on the first thématique (the person and defaults are set)

    ALIASES = {"duration_min": "duration", "thematiques": "thematiques", "demarches": "demarches"}

    def focus(self, name: str) -> None:
        """Put the keyboard focus on ``name`` when the page opens (only one field has it)."""
        for f in self:
            if f.render_kw and "autofocus" in f.render_kw:
                f.render_kw = {k: v for k, v in f.render_kw.items() if k != "autofocus"}
        target = getattr(self, name)
        target.render_kw = {**(target.render_kw or {}), "autofocus": True}

    def focus_topics(self) -> None:
        """Open the page on the first thématique: the rest of the common case is already filled in."""
        for f in self:
            if f.render_kw and "autofocus" in f.render_kw:
                f.render_kw = {k: v for k, v in f.render_kw.items() if k != "autofocus"}
        self.topics_focus = True

    def set_choices(self, *, structures, places, communes) -> None:
        self.structure_id.choices = _opts([("", "— Choisir —")] + [(str(s.id), s.name) for s in structures])
        self.place_structure_id.choices = _opts([("", "— Choisir —")] + [(str(s.id), s.name) for s in places])
        self.place_commune_id.choices = _opts([("", "— Choisir —")] + [(str(c.id), c.name) for c in communes])

    def set_tags(self, tags) -> None:
        """The tags offered to the mediator (mediation.cases.tags.offered_tags)."""
        self.tag_ids.choices = _opts([(str(t.id), t.name) for t in tags])

    @staticmethod
    def beneficiary_choices(beneficiaries) -> list[SelectChoice]:
        return [SelectChoice(str(b.id), f"{b.last_name} {b.first_name}" + (f" ({b.birth_year})" if b.birth_year else ""))
                for b in beneficiaries]

    def duration_minutes(self) -> int | None:
        if self.duration.data == CUSTOM:
            return self.duration_custom.number
        return _int_or_none(self.duration.data)

    def common_input(self) -> ActivityInput:
        return ActivityInput(
            type=self.activity_type,
            structure_id=_int_or_none(self.structure_id.data),
            date=self.date.date,
            duration_min=self.duration_minutes(),
            place_type=self.place_type.data or None,
            place_structure_id=_int_or_none(self.place_structure_id.data),
            place_commune_id=_int_or_none(self.place_commune_id.data),
            thematiques=list(self.thematiques.data or []) + list(self.demarches.data or []),
            demarche_name=self.demarche_name.data,
            materiel=list(self.materiel.data or []),
            equipment_kind=self.equipment_kind.data or None,
            equipment_count=self.equipment_count.number,
            notes=self.notes.data,
            tag_ids=[int(v) for v in (self.tag_ids.data or []) if str(v).isdigit()],
        )

    def fill_common(self, data: ActivityInput) -> None:
        self.structure_id.data = str(data.structure_id or "")
        self.date.data = data.date.isoformat() if data.date else ""
        if data.duration_min in DURATION_PRESETS:
            self.duration.data = str(data.duration_min)
        elif data.duration_min:
            self.duration.data = CUSTOM
            self.duration_custom.data = str(data.duration_min)
        self.place_type.data = data.place_type
        self.place_structure_id.data = str(data.place_structure_id or "")
        self.place_commune_id.data = str(data.place_commune_id or "")
        codes = data.thematiques or []
        self.thematiques.data = [c for c in codes if c in THEMATIQUE_CODES]
        self.demarches.data = [c for c in codes if c in DEMARCHE_CODES]
        self.demarche_name.data = data.demarche_name or ""
        self.materiel.data = list(data.materiel or [])
        self.equipment_kind.data = data.equipment_kind or ""
        self.equipment_count.data = str(data.equipment_count or "")
        self.notes.data = data.notes or ""
        self.tag_ids.data = [str(i) for i in data.tag_ids]

class IndividualActivityForm(ActivityForm):
    activity_type = ActivityType.INDIVIDUEL

    beneficiary_id = _select("Bénéficiaire suivi", render_kw={"autofocus": True},
                             description="Laissez vide pour un bénéficiaire anonyme ou pour en créer un.")
    new_first_name = StringField("Prénom", render_kw={"autocomplete": "off"})
    new_last_name = StringField("Nom", render_kw={"autocomplete": "off"})
    new_birth_year = NumberField("Année de naissance", description="Par exemple : 1958. Sert à la tranche d’âge.")
    new_phone = StringField("Téléphone", render_kw={"autocomplete": "off", "type": "tel"})
    new_residence_commune_id = _select("Commune de résidence")
    anon_residence_commune_id = _select("Commune de résidence du bénéficiaire")
    anon_genre = RadioField("Genre", choices=_opts([("", "Non renseigné"), *Genre.choices()]), default="",
                            validate_choice=False)
    anon_tranche_age = _select("Tranche d’âge")
    anon_statut_social = _select("Statut du bénéficiaire")
    anon_already = BooleanField("J’ai déjà accompagné ce bénéficiaire")
    autonomie = RadioField("Niveau d’autonomie du bénéficiaire",
                           choices=_opts([(m.value, f"{m.label} ({m.stars}/3)") for m in Autonomie]),
                           validate_choice=False)
    oriented = RadioField("Le bénéficiaire est-il orienté vers une autre structure ?",
                          choices=_opts([("oui", "Oui"), ("non", "Non")]), validate_choice=False)
    redirection = _select("Structure de redirection", description="Si le bénéficiaire est orienté.")
    notes = TextAreaField("Notes sur l’accompagnement", description=SENSITIVE_WARNING)

    ALIASES = {**ActivityForm.ALIASES, "new_first_name": "new_first_name", "new_last_name": "new_last_name",
               "new_birth_year": "new_birth_year", "new_phone": "new_phone",
               "new_residence_commune_id": "new_residence_commune_id", "anon_statut_social": "anon_statut_social"}

    def set_choices(self, *, structures, places, communes, beneficiaries=()) -> None:
        super().set_choices(structures=structures, places=places, communes=communes)
        self.beneficiary_id.choices = [SelectChoice("", "— Aucun : anonyme ou nouveau —"),
                                       *self.beneficiary_choices(beneficiaries)]
        communes_choices = [("", "Non renseignée")] + [(str(c.id), c.name) for c in communes]
        self.new_residence_commune_id.choices = _opts(communes_choices)
        self.anon_residence_commune_id.choices = _opts(communes_choices)
        self.anon_tranche_age.choices = _opts([("", "Non renseignée")] + [
            c for c in TrancheAge.choices() if c[0] != TrancheAge.NON_COMMUNIQUE])
        self.anon_statut_social.choices = _opts([("", "Non renseigné")] + StatutSocial.choices())
        self.redirection.choices = _opts([("", "— Choisir —")] + StructureRedirection.choices())

    def to_input(self) -> ActivityInput:
        data = self.common_input()
        data.beneficiary_id = _int_or_none(self.beneficiary_id.data)
        data.new_beneficiary = BeneficiaryInput(
            first_name=self.new_first_name.data, last_name=self.new_last_name.data,
            birth_year=self.new_birth_year.number, phone=self.new_phone.data,
            residence_commune_id=_int_or_none(self.new_residence_commune_id.data),
        )
        data.anonymous = AnonymousInput(
            residence_commune_id=_int_or_none(self.anon_residence_commune_id.data),
            genre=self.anon_genre.data or None, tranche_age=self.anon_tranche_age.data or None,
            statut_social=self.anon_statut_social.data or None, already_accompanied=bool(self.anon_already.data),
        )
        data.autonomie = self.autonomie.data or None
        data.oriented = {"oui": True, "non": False}.get(self.oriented.data or "")
        data.redirection = self.redirection.data or None
        return data

    def fill(self, data: ActivityInput) -> None:
        self.fill_common(data)
        self.beneficiary_id.data = str(data.beneficiary_id or "")
        anon = data.anonymous
        self.anon_residence_commune_id.data = str(anon.residence_commune_id or "")
        self.anon_genre.data = anon.genre or ""
        self.anon_tranche_age.data = anon.tranche_age or ""
        self.anon_statut_social.data = anon.statut_social or ""
        self.anon_already.data = anon.already_accompanied
        self.autonomie.data = data.autonomie
        self.oriented.data = {True: "oui", False: "non"}.get(data.oriented)
        self.redirection.data = data.redirection or ""

    @property
    def new_beneficiary_open(self) -> bool:
        return any(f.data or f.errors for f in (self.new_first_name, self.new_last_name, self.new_birth_year))

    @property
    def anonymous_open(self) -> bool:
        fields = (self.anon_residence_commune_id, self.anon_genre, self.anon_tranche_age, self.anon_statut_social,
                  self.anon_already)
        return any(f.data or f.errors for f in fields)


def _counter_name(group: str, value: str) -> str:
    return f"anon_{group}_{value}"


class WorkshopForm(ActivityForm):
    activity_type = ActivityType.COLLECTIF

    workshop_title = StringField("Titre de l’atelier", render_kw={"autofocus": True})
    notes = TextAreaField("Notes sur l’atelier", description=SENSITIVE_WARNING)
    workshop_level = RadioField("Niveau de l’atelier", choices=_opts([(m.value, f"{m.label} ({m.stars}/3)")
                                                                 for m in NiveauAtelier]),
                                validate_choice=False)
    participant_ids = CheckboxListField("Participants suivis", choices=[], validate_choice=False,
                                        description="Cochez les bénéficiaires suivis présents.")
    anon_total = NumberField("Bénéficiaires anonymes", description="Nombre de participants non enregistrés.")
    anon_already = NumberField("Bénéficiaires déjà accompagnés", description="Parmi les anonymes.")

    ALIASES = {**ActivityForm.ALIASES, "anon_genres": "anon_genre_masculin",
               "anon_ages": f"anon_age_{COUNTED_AGES[0].value}",
               "anon_statuts": f"anon_statut_{COUNTED_STATUTS[0].value}"}

    def set_choices(self, *, structures, places, communes, beneficiaries=()) -> None:
        super().set_choices(structures=structures, places=places, communes=communes)
        self.participant_ids.choices = self.beneficiary_choices(beneficiaries)

    def counter_fields(self, group: str) -> list:
        return [getattr(self, name) for name in COUNTER_FIELDS[group]]

    def to_input(self) -> ActivityInput:
        data = self.common_input()
        data.workshop_title = self.workshop_title.data
        data.workshop_level = self.workshop_level.data or None
        data.participant_ids = [i for i in (_int_or_none(v) for v in self.participant_ids.data or []) if i]

        def group(name, members):
            return {m.value: getattr(self, _counter_name(name, m.value)).number or 0 for m in members}

        data.counters = AnonymousCounters(
            total=self.anon_total.number or 0, already_accompanied=self.anon_already.number or 0,
            genres=group("genre", COUNTED_GENRES), ages=group("age", COUNTED_AGES),
            statuts=group("statut", COUNTED_STATUTS),
        )
        return data

    def fill(self, data: ActivityInput) -> None:
        self.fill_common(data)
        self.workshop_title.data = data.workshop_title or ""
        self.workshop_level.data = data.workshop_level
        self.participant_ids.data = [str(i) for i in data.participant_ids]
        counters = data.counters
        self.anon_total.data = str(counters.total or "")
        self.anon_already.data = str(counters.already_accompanied or "")
        for name, members, values in (("genre", COUNTED_GENRES, counters.genres),
                                      ("age", COUNTED_AGES, counters.ages),
                                      ("statut", COUNTED_STATUTS, counters.statuts)):
            for m in members:
                getattr(self, _counter_name(name, m.value)).data = str(values.get(m.value) or "")


COUNTER_FIELDS: dict[str, list[str]] = {"genre": [], "age": [], "statut": []}
for _group, _members in (("genre", COUNTED_GENRES), ("age", COUNTED_AGES), ("statut", COUNTED_STATUTS)):
    for _m in _members:
        _name = _counter_name(_group, _m.value)
        setattr(WorkshopForm, _name, NumberField(_m.label))
        COUNTER_FIELDS[_group].append(_name)


# --- beneficiaries, cases, consent --------------------------------------------------------------

class BeneficiaryForm(BaseForm):
    structure_id = _select("Structure qui suit le bénéficiaire")
    first_name = StringField("Prénom", render_kw={"autocomplete": "off", "autofocus": True})
    last_name = StringField("Nom", render_kw={"autocomplete": "off"})
    birth_year = NumberField("Année de naissance", description="Par exemple : 1958. Sert à calculer la tranche d’âge.")
    residence_commune_id = _select("Commune de résidence")
    phone = StringField("Téléphone", render_kw={"autocomplete": "off", "type": "tel"})
    no_phone = BooleanField("Pas de téléphone")
    email = StringField("Adresse e-mail", render_kw={"autocomplete": "off", "type": "email"})
    genre = RadioField("Genre", choices=_opts([("", "Non renseigné"), *Genre.choices()]), default="", validate_choice=False)
    statut_social = _select("Statut du bénéficiaire")
    notes = TextAreaField("Notes", description=SENSITIVE_WARNING)

    def set_choices(self, *, structures, communes) -> None:
        self.structure_id.choices = _opts([(str(s.id), s.name) for s in structures])
        self.residence_commune_id.choices = _opts([("", "Non renseignée")] + [(str(c.id), c.name) for c in communes])
        self.statut_social.choices = _opts([("", "Non renseigné")] + StatutSocial.choices())

    def to_input(self) -> BeneficiaryInput:
        return BeneficiaryInput(
            first_name=self.first_name.data, last_name=self.last_name.data, email=self.email.data,
            phone=self.phone.data, no_phone=bool(self.no_phone.data), birth_year=self.birth_year.number,
            residence_commune_id=_int_or_none(self.residence_commune_id.data), genre=self.genre.data or None,
            statut_social=self.statut_social.data or None, notes=self.notes.data,
        )

    def fill(self, data: BeneficiaryInput) -> None:
        self.first_name.data = data.first_name or ""
        self.last_name.data = data.last_name or ""
        self.email.data = data.email or ""
        self.phone.data = data.phone or ""
        self.no_phone.data = data.no_phone
        self.birth_year.data = str(data.birth_year or "")
        self.residence_commune_id.data = str(data.residence_commune_id or "")
        self.genre.data = str(data.genre or "")
        self.statut_social.data = str(data.statut_social or "")
        self.notes.data = data.notes or ""


class CaseStateForm(BaseForm):
    action = HiddenField()
    reason = SelectField("Motif de clôture", choices=_opts([("", "— Choisir —"), *ClosureReason.choices()]),
                         validate_choice=False)


class CaseNoteForm(BaseForm):
    body = TextAreaField("Nouvelle note", description=SENSITIVE_WARNING)


class ConsentForm(BaseForm):
    scope = RadioField("Portée du consentement", choices=_opts(ConsentScope.choices()), validate_choice=False)
    given_on = DateTextField("Date du consentement", description="Aujourd’hui si vous laissez vide.")


# --- tags ---------------------------------------------------------------------------------------

class TagForm(BaseForm):
    """Create, rename or describe a tag (mediation.cases.tags)."""

    name = StringField("Nom du tag", description="De 3 à 80 caractères.")
    description = TextAreaField("Description (facultatif)", description="280 caractères au maximum.")
    scope = RadioField("À qui appartient ce tag", choices=[], validate_choice=False)
    structure_id = SelectField("Structure de l’équipe", choices=[], validate_choice=False,
                               description="Pour un tag d’équipe : partagé avec les médiateurs de la structure.")

    def set_scopes(self, creatable) -> None:
        """``creatable``: (TagScope, structures) pairs from mediation.cases.tags.creatable_scopes."""
        self.scope.choices = _opts([(scope.value, scope.label) for scope, _ in creatable])
        structures = [s for _, group in creatable for s in group]
        self.structure_id.choices = _opts([("", "— Choisir —")] + [(str(s.id), s.name) for s in structures])
        if not self.scope.data and creatable:
            self.scope.data = creatable[0][0].value

    def to_input(self):
        from mediation.cases.tags import TagInput

        return TagInput(name=self.name.data, description=self.description.data, scope=self.scope.data or None,
                        structure_id=_int_or_none(self.structure_id.data))
