"""Forms of the training pages (checks of substance are the services')."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.validators import Optional

from mediation.directory.forms import Date, Required, options
from mediation.forms import BaseForm
from mediation.uploads import SCAN_MAX_BYTES

CERTIFICATE_LABEL = f"Attestation ou certificat (PDF, JPEG ou PNG, {SCAN_MAX_BYTES // (1024 * 1024)} Mo au plus)"


class TrainingForm(BaseForm):
    kind = SelectField("Formation ou certification", validate_choice=False, validators=[Required()])
    title = StringField("Intitulé", description="Obligatoire pour « Autre formation » (par exemple : "
                        "« Accompagner les démarches de santé en ligne »).")
    organisation = StringField("Organisme de formation", description="Facultatif.")
    obtained_on = Date("Date d’obtention", validators=[Required(), Optional()], description="Par exemple : 14/03/2025.")
    expires_on = Date("Fin de validité", validators=[Optional()], description="Si l’attestation en indique une. Pour l’habilitation "
                      "Aidants Connect, trois ans après la formation si vous la laissez vide.")
    certificate = FileField(CERTIFICATE_LABEL, description="Facultatif ; le fichier est reconnu par son contenu.")

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = options([("", "Choisissez…")] + [(k.value, k.label) for k in kinds])

    def to_input(self) -> dict:
        upload = self.certificate.data
        data = upload.read(SCAN_MAX_BYTES + 1) if upload and hasattr(upload, "read") else None
        return {"kind": self.kind.data, "title": self.title.data, "organisation": self.organisation.data,
                "obtained_on": self.obtained_on.data, "expires_on": self.expires_on.data, "certificate": data}


class CertificateForm(BaseForm):
    certificate = FileField(CERTIFICATE_LABEL, description="Remplace l’attestation précédente, s’il y en a une.")


class ConfirmForm(BaseForm):
    """POST-only buttons: CSRF only."""
