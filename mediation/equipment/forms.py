"""Forms of the equipment pages. They only parse what was typed; the rules live in the services,
whose errors are attached back to the fields (``mediation.forms.show_domain_error``)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from mediation.cases.enums import EquipmentKind
from mediation.directory.forms import Date
from mediation.equipment.enums import DeviceCondition, DeviceKind, DeviceOrigin
from mediation.equipment.services import DeviceInput, HandoverInput
from mediation.forms import BaseForm


def options(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _to_int(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class DeviceForm(BaseForm):
    structure_id = SelectField("Structure", coerce=_to_int, validate_choice=False)
    kind = RadioField("Type d’appareil", choices=options(DeviceKind.choices()), validate_choice=False)
    model = StringField("Modèle", description="Marque et référence, par exemple : Lenovo ThinkPad T480.")
    asset_number = StringField("Numéro de série ou d’inventaire",
                               description="Unique dans l’inventaire de la structure ; il figure sur la convention.")
    condition = RadioField("État", choices=options(DeviceCondition.choices()), validate_choice=False)
    origin = RadioField("Provenance", choices=options(DeviceOrigin.choices()), validate_choice=False)
    origin_name = StringField("Donateur, reconditionneur ou fournisseur",
                              description="Obligatoire pour un don ou un appareil reconditionné.")
    acquired_on = Date("Entré dans le parc le", validators=[Optional()], description="Facultatif ; format jj/mm/aaaa.")

    def to_input(self) -> DeviceInput:
        return DeviceInput(structure_id=self.structure_id.data, kind=self.kind.data, model=self.model.data,
                           asset_number=self.asset_number.data, condition=self.condition.data,
                           origin=self.origin.data, origin_name=self.origin_name.data,
                           acquired_on=self.acquired_on.data)


class HandoverForm(BaseForm):
    device_id = SelectField("Appareil", coerce=_to_int, validate_choice=False,
                            description="Les appareils disponibles et en état de la structure.")
    beneficiary_id = SelectField("Personne qui reçoit l’appareil", coerce=_to_int, validate_choice=False)
    kind = RadioField("Remise", choices=options(EquipmentKind.choices()), validate_choice=False)
    due_on = Date("Retour prévu le", validators=[Optional()], description="Pour un prêt seulement (au plus un an) ; format jj/mm/aaaa.")
    price = StringField("Prix payé (€)", description="Pour un achat solidaire seulement, par exemple 25 ou 25,50.",
                        render_kw={"inputmode": "decimal"})
    conditions_accepted = BooleanField(
        "La personne a lu et accepté les conditions de remise",
        description="Imprimez la convention après l’enregistrement : elle est signée sur papier, puis numérisée.")

    def to_input(self, activity_id: int | None = None) -> HandoverInput:
        return HandoverInput(device_id=self.device_id.data, beneficiary_id=self.beneficiary_id.data,
                             activity_id=activity_id, kind=self.kind.data, due_on=self.due_on.data,
                             price=self.price.data, conditions_accepted=bool(self.conditions_accepted.data))


class ReturnForm(BaseForm):
    condition = RadioField("État de l’appareil au retour", choices=options(DeviceCondition.choices()),
                           validate_choice=False)
    returned_on = Date("Rendu le", validators=[Optional()], description="Aujourd’hui si vous laissez vide ; format jj/mm/aaaa.")
    note = StringField("Remarque", description="Facultatif : ce qui manque ou ce qui est abîmé.")


class ScanForm(BaseForm):
    scan = FileField("Convention signée, numérisée",
                     description="PDF, JPEG ou PNG, 5 Mo au plus. Le format est vérifié d’après le contenu du fichier.")


class TransferForm(BaseForm):
    structure_id = SelectField("Structure qui reçoit l’appareil", coerce=_to_int, validate_choice=False)


class WriteOffForm(BaseForm):
    reason = StringField("Motif de la réforme", description="Panne irréparable, perte, vol…")


class ConditionForm(BaseForm):
    condition = RadioField("État de l’appareil", choices=options(DeviceCondition.choices()), validate_choice=False)
