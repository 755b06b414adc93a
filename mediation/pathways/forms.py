"""Forms of pathway design, diagnosis, validation, referral, reassignment and loans.

Parsing is lenient; the rules live in the services whose errors are attached back to the fields
(:func:`mediation.forms.show_domain_error`). Choices are set by the views.
"""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from mediation.cases.enums import Autonomie, Thematique
from mediation.cases.forms import SENSITIVE_WARNING, DateTextField, NumberField
from mediation.directory.loans import LoanInput
from mediation.directory.national_schema import PRISE_EN_CHARGE, SERVICES
from mediation.forms import BaseForm, CheckboxListField
from mediation.pathways.enums import (
    COMFORT_LABELS,
    COORDINATOR_TRANSFER_REASONS,
    DIGCOMP,
    PIX,
    AssessmentMoment,
    AutonomyDomain,
    DeclineReason,
    Equipment,
)
from mediation.pathways.referrals import ReferralInput
from mediation.pathways.services import AssessmentInput, ValidationInput
from mediation.pathways.versions import MilestoneInput, parse_alignments


def opts(pairs, optgroup: str | None = None) -> list[SelectChoice]:
    """``[(value, label), …]`` → WTForms choices (optionally in one ``<optgroup>``)."""
    return [SelectChoice(str(value), label, optgroup=optgroup) for value, label in pairs]


def _select(label: str, choices=(), **kwargs) -> SelectField:
    return SelectField(label, choices=opts(choices), validate_choice=False, **kwargs)


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


CHOOSE = ("", "— Choisir —")
LEVEL_CHOICES = [("", "Non précisé")] + [(str(n), f"Niveau {n}") for n in range(1, 9)]


class TemplateForm(BaseForm):
    name = StringField("Nom du parcours")
    description = TextAreaField("Présentation", description="À qui s'adresse ce parcours, ce qu'il permet.")


class LevelForm(BaseForm):
    title = StringField("Titre du niveau", description="Par exemple « Premiers pas ».")
    description = TextAreaField("Objectif du niveau")


class MilestoneForm(BaseForm):
    title = StringField("Titre de l'étape", description="Une capacité concrète : « Envoyer un document en pièce "
                                                         "jointe ».")
    criteria = TextAreaField("Critères observables",
                             description="Ce que la personne sait faire, seule, quand l'étape est validée.")
    service = _select("Service nécessaire (schéma national)", [("", "Aucun en particulier"),
                                                                *[(s, s) for s in SERVICES]],
                      description="Sert à proposer des structures qui offrent ce service pour une orientation.")
    awards_badge = BooleanField("Délivre un badge numérique (Open Badge) à la validation", default=True)
    prerequisite_ids = CheckboxListField("Prérequis", choices=[], validate_choice=False,
                                         description="Étapes (ou niveaux) à valider avant celle-ci.")
    pix_codes = CheckboxListField("Compétences Pix", choices=opts((c, f"{c} {x.label}") for c, x in PIX.competences.items()),
                                  validate_choice=False)
    pix_level = _select("Niveau Pix visé", LEVEL_CHOICES)
    digcomp_codes = CheckboxListField("Compétences DigComp 2.2",
                                      choices=opts((c, f"{c} {x.label}") for c, x in DIGCOMP.competences.items()),
                                      validate_choice=False)
    digcomp_level = _select("Niveau de maîtrise DigComp visé", LEVEL_CHOICES,
                            description="1–2 fondamental, 3–4 intermédiaire, 5–6 avancé, 7–8 hautement spécialisé.")

    ALIASES = {"alignments": "pix_codes"}

    def fill(self, milestone) -> None:
        self.title.data = milestone.title
        self.criteria.data = milestone.criteria or ""
        self.service.data = milestone.service or ""
        self.awards_badge.data = milestone.awards_badge
        self.prerequisite_ids.data = [str(m.id) for m in milestone.prerequisites]
        self.pix_codes.data = [a.code for a in milestone.alignments if a.framework == PIX.key]
        self.digcomp_codes.data = [a.code for a in milestone.alignments if a.framework == DIGCOMP.key]
        levels = {a.framework: a.level for a in milestone.alignments if a.level}
        self.pix_level.data = str(levels.get(PIX.key) or "")
        self.digcomp_level.data = str(levels.get(DIGCOMP.key) or "")

    def to_input(self) -> MilestoneInput:
        codes = [f"pix:{c}" for c in self.pix_codes.data or []] + [f"digcomp:{c}" for c in self.digcomp_codes.data or []]
        levels = {PIX.key: _int(self.pix_level.data), DIGCOMP.key: _int(self.digcomp_level.data)}
        return MilestoneInput(
            title=self.title.data, criteria=self.criteria.data, service=self.service.data,
            awards_badge=bool(self.awards_badge.data),
            prerequisite_ids=[i for i in (_int(v) for v in self.prerequisite_ids.data or []) if i is not None],
            alignments=parse_alignments(codes, levels))


class EnrolForm(BaseForm):
    template_id = _select("Parcours")
    structure_id = _select("Structure pour laquelle vous intervenez")


class AssessmentForm(BaseForm):
    structure_id = _select("Structure pour laquelle vous intervenez")
    moment = _select("Moment du diagnostic", [(m.value, m.label) for m in AssessmentMoment])
    equipment = CheckboxListField("Équipement de la personne", choices=opts(Equipment.choices()), validate_choice=False)
    autonomy_appareils = RadioField(AutonomyDomain.APPAREILS.label, choices=opts(Autonomie.choices()), validate_choice=False)
    autonomy_internet = RadioField(AutonomyDomain.INTERNET.label, choices=opts(Autonomie.choices()), validate_choice=False)
    autonomy_communication = RadioField(AutonomyDomain.COMMUNICATION.label, choices=opts(Autonomie.choices()),
                                        validate_choice=False)
    autonomy_demarches = RadioField(AutonomyDomain.DEMARCHES.label, choices=opts(Autonomie.choices()), validate_choice=False)
    autonomy_securite = RadioField(AutonomyDomain.SECURITE.label, choices=opts(Autonomie.choices()), validate_choice=False)
    comfort = RadioField("Aisance ressentie par la personne", choices=opts((k, v) for k, v in COMFORT_LABELS.items()),
                         validate_choice=False, description="C'est la personne qui répond, de 1 à 5.")
    needs = CheckboxListField("Besoins et priorités", choices=opts(Thematique.choices()), validate_choice=False)
    language = StringField("Langue parlée", description="Par exemple « français », « arabe », « dari ».")
    language_support = BooleanField("A besoin d'un accompagnement dans sa langue ou d'un interprète")
    accessibility = CheckboxListField("Besoins liés à un handicap ou à l'illettrisme",
                                      choices=opts((v, v) for v in PRISE_EN_CHARGE), validate_choice=False)

    AUTONOMY_FIELDS = [f"autonomy_{d.value}" for d in AutonomyDomain]

    def to_input(self) -> AssessmentInput:
        return AssessmentInput(
            moment=self.moment.data or None, structure_id=_int(self.structure_id.data),
            equipment=list(self.equipment.data or []),
            autonomy={d.value: getattr(self, f"autonomy_{d.value}").data or None for d in AutonomyDomain},
            comfort=_int(self.comfort.data), needs=list(self.needs.data or []), language=self.language.data,
            language_support=bool(self.language_support.data), accessibility=list(self.accessibility.data or []))

    def fill_from(self, assessment) -> None:
        """Start from the previous diagnosis (same grid, so the mediator changes what moved)."""
        self.equipment.data = list(assessment.equipment or [])
        for d in AutonomyDomain:
            value = assessment.autonomy(d)
            getattr(self, f"autonomy_{d.value}").data = value.value if value else None
        self.comfort.data = str(assessment.comfort)
        self.needs.data = list(assessment.needs or [])
        self.language.data = assessment.language or ""
        self.language_support.data = assessment.language_support
        self.accessibility.data = list(assessment.accessibility or [])


class ValidationForm(BaseForm):
    structure_id = _select("Structure pour laquelle vous intervenez")
    activity_id = _select("Activité où l'étape a été observée",
                          description="Un accompagnement ou un atelier de la personne, dans n'importe quelle structure.")
    narrative = TextAreaField("Ce que la personne a réalisé",
                              description="Quelques mots, obligatoires si vous ne choisissez pas d'activité. "
                                          + SENSITIVE_WARNING)
    pix_score = NumberField("Score Pix (facultatif)", description="De 0 à 1 024 pix, si la personne a passé un test Pix.")

    def to_input(self, milestone_id: int) -> ValidationInput:
        return ValidationInput(milestone_id=milestone_id, structure_id=_int(self.structure_id.data),
                               activity_id=_int(self.activity_id.data), narrative=self.narrative.data,
                               pix_score=self.pix_score.number)


class ReferralForm(BaseForm):
    from_structure_id = _select("Structure qui oriente")
    service = _select("Service recherché", [("", "Tous les services"), *[(s, s) for s in SERVICES]])
    milestone_id = _select("Étape du parcours visée")
    to_structure_id = RadioField("Structure proposée", choices=[], validate_choice=False)
    other_structure_id = _select("Ou une autre structure du réseau")
    motive = TextAreaField("Message pour la structure d'accueil",
                           description="Ce que la personne vient faire, ses disponibilités. " + SENSITIVE_WARNING)
    network_consent = BooleanField("La personne accepte le partage au sein du réseau",
                                   description="Demandez-le-lui maintenant : son consentement (portée « réseau ») "
                                               "est enregistré avec l’orientation, comme sur la page du dossier.")

    ALIASES = {"to_structure_id": "to_structure_id"}

    def chosen_structure(self) -> int | None:
        return _int(self.other_structure_id.data) or _int(self.to_structure_id.data)

    def to_input(self) -> ReferralInput:
        return ReferralInput(
            to_structure_id=self.chosen_structure(), from_structure_id=_int(self.from_structure_id.data),
            service=self.service.data, milestone_id=_int(self.milestone_id.data), motive=self.motive.data,
            network_consent=bool(self.network_consent.data))


class DeclineForm(BaseForm):
    decline_reason = _select("Motif du refus", [CHOOSE, *DeclineReason.choices()])
    decline_comment = TextAreaField("Précisions", description="Obligatoire pour « Autre motif ». " + SENSITIVE_WARNING)


class ReassignForm(BaseForm):
    version = HiddenField()
    target = _select("Nouvelle structure et référent")
    reason = _select("Motif", [CHOOSE, *[(r.value, r.label) for r in COORDINATOR_TRANSFER_REASONS]])
    comment = TextAreaField("Précisions", description="Obligatoire pour « Autre motif ». " + SENSITIVE_WARNING)


class SingleReassignForm(ReassignForm):
    network_consent = BooleanField("La personne accepte le partage au sein du réseau",
                                   description="Demandez-le-lui : son consentement (portée « réseau ») est enregistré "
                                               "avec la réaffectation, comme sur la page du dossier.")


class BulkReassignForm(ReassignForm):
    cases = CheckboxListField("Dossiers à réaffecter", choices=[], validate_choice=False)

    def seen_versions(self) -> dict[int, int]:
        """``{case_id: version}`` from the ``id:version`` values of the ticked boxes."""
        seen = {}
        for value in self.cases.data or []:
            case_id, _, version = str(value).partition(":")
            if case_id.isdigit() and version.isdigit():
                seen[int(case_id)] = int(version)
        return seen


class LoanForm(BaseForm):
    mediator_id = _select("Médiateur mis à disposition")
    place = _select("Commune ou structure d'accueil")
    starts_on = DateTextField("Du")
    ends_on = DateTextField("Au (inclus)")
    note = StringField("Précisions", description="Par exemple « permanence le mardi matin en mairie ».")

    def to_input(self) -> LoanInput:
        return LoanInput(mediator_id=_int(self.mediator_id.data), place=self.place.data,
                         starts_on=self.starts_on.date, ends_on=self.ends_on.date, note=self.note.data)
