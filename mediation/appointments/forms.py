"""Forms of the appointments pages (CSRF on; choices given by the views)."""

from __future__ import annotations

from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from mediation.appointments.assessments import AssessmentInput
from mediation.appointments.models import AssessmentLevel
from mediation.appointments.services import OfferInput
from mediation.directory.national_schema import PRISE_EN_CHARGE, PUBLICS, SERVICES
from mediation.forms import BaseForm, CheckboxListField
from mediation.pathways.forms import opts
from mediation.pathways.referrals import ReferralInput

SERVICE_CHOICES = [("", "Choisir un service"), *[(s, s) for s in SERVICES]]



class BookForm(BaseForm):
    from_structure_id = SelectField("Structure qui oriente", choices=[], validate_choice=False)
    slot = RadioField("Créneau", choices=[], validate_choice=False)
    motive = TextAreaField("Message pour le lieu d’accueil",
                           description="Ce que la personne vient faire. N’écrivez rien de sensible.")
    network_consent = BooleanField("La personne accepte le partage au sein du réseau")

    def to_input(self, *, to_structure_id: int, service: str) -> ReferralInput:
        """The referral of the booking (the place and service come from the first step)."""
        try:
            from_id = int(self.from_structure_id.data)
        except (TypeError, ValueError):
            from_id = None
        return ReferralInput(to_structure_id=to_structure_id, from_structure_id=from_id, service=service,
                             motive=self.motive.data, network_consent=bool(self.network_consent.data))


class SlotForm(BaseForm):
    slot = RadioField("Nouveau créneau", choices=[], validate_choice=False)


class OfferForm(BaseForm):
    service = SelectField("Service", choices=opts(SERVICE_CHOICES))
    duration_min = IntegerField("Durée d’un rendez-vous (minutes)", default=30, validators=[Optional()])
    capacity = IntegerField("Personnes par créneau", default=1, validators=[Optional()])
    hours = StringField("Horaires des rendez-vous (si différents de ceux du lieu)",
                        description="Format du schéma national, par exemple « Mo-Fr 09:00-12:00,14:00-17:00 ».")

    def to_input(self) -> OfferInput:
        return OfferInput(service=self.service.data, duration_min=self.duration_min.data,
                          capacity=self.capacity.data, hours=self.hours.data)


class BlockForm(BaseForm):
    day = StringField("Jour (JJ/MM/AAAA)")
    start = StringField("De (HH:MM)")
    end = StringField("À (HH:MM)")
    reason = StringField("Motif (facultatif)")


class AssessmentForm(BaseForm):
    service = SelectField("Service", choices=opts(SERVICE_CHOICES))
    level = SelectField("Niveau proposé", choices=opts([("", "Choisir un niveau"), *AssessmentLevel.choices()]))
    publics = CheckboxListField("Publics accueillis en particulier", choices=opts((p, p) for p in PUBLICS))
    accessibility = CheckboxListField("Accessibilité et prise en charge", choices=opts((p, p) for p in PRISE_EN_CHARGE))
    free_of_charge = BooleanField("Gratuit", default=True)
    details = TextAreaField("Précisions (facultatif)")

    def to_input(self) -> AssessmentInput:
        return AssessmentInput(service=self.service.data, level=self.level.data, publics=self.publics.data or [],
                               accessibility=self.accessibility.data or [], free_of_charge=bool(self.free_of_charge.data),
                               details=self.details.data)
