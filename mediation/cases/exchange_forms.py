"""Forms of the import, export, duplicates and retention pages."""

from __future__ import annotations

from datetime import date

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import DateInput

from mediation.cases.enums import ActivityType, DemarcheThematique, Thematique
from mediation.cases.exchange_models import ImportKind
from mediation.forms import BaseForm, CheckboxListField, pick_list_limit


def _opts(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


FORMATS = [("xlsx", "Excel (.xlsx)"), ("csv", "CSV (séparateur point-virgule, UTF-8)")]


class ImportForm(BaseForm):
    kind = RadioField("Que contient le fichier ?", choices=_opts(ImportKind.choices()),
                      validators=[InputRequired("Choisissez ce que contient le fichier.")],
                      description="Les colonnes sont celles des exports de La Coop de la médiation numérique.")
    structure_id = SelectField("Structure dans laquelle importer", coerce=int,
                               validators=[InputRequired("Choisissez la structure.")])
    file = FileField("Fichier (XLSX ou CSV)", validators=[FileRequired("Choisissez un fichier.")],
                     description="Excel .xlsx, ou CSV en UTF-8 (avec ou sans BOM) séparé par des points-virgules "
                                 "ou des virgules. 20 Mo au maximum.")

    def set_structures(self, structures) -> None:
        self.structure_id.choices = _opts((s.id, s.name) for s in structures)
        if len(structures) == 1 and self.structure_id.data is None:
            self.structure_id.data = structures[0].id


class TeamImportForm(BaseForm):
    """A coordinator's team export of La Coop: each row goes to its mediator's structure."""

    file = FileField("Export « Activités » de votre équipe (XLSX ou CSV)",
                     validators=[FileRequired("Choisissez un fichier.")],
                     description="L’export d’équipe de La Coop de la médiation numérique (colonnes « Prénom du "
                                 "médiateur » et « Nom du médiateur »). 20 Mo au maximum.")


class ActivityExportForm(BaseForm):
    """Same filters as the activity list (their names too: du, au, type, thematique, structure)."""

    du = StringField("Du", validators=[Optional()], widget=DateInput(), description="Date de début (incluse)")
    au = StringField("Au", validators=[Optional()], widget=DateInput(), description="Date de fin (incluse)")
    type = SelectField("Type d’activité", choices=_opts([("", "Tous")] + ActivityType.choices()), validators=[Optional()])
    thematique = SelectField(
        "Thématique",
        choices=[SelectChoice("", "Toutes")]
        + [SelectChoice(v, label, optgroup="Médiation numérique") for v, label in Thematique.choices()]
        + [SelectChoice(v, label, optgroup="Démarches administratives") for v, label in DemarcheThematique.choices()],
        validators=[Optional()],
    )
    structure = SelectField("Structure", validators=[Optional()])
    # instead of ``structure`` in a network of thousands of structures (mediation.forms.ListFilter)
    structure_nom = StringField("Structure", validators=[Optional(), Length(max=100)],
                                description="Une partie du nom : les activités des structures dont le nom la contient.")
    tag = CheckboxListField("Tags", choices=[], validate_choice=False,
                            description="Les activités qui portent l’un des tags cochés.")
    format = RadioField("Format", choices=_opts(FORMATS), default="xlsx",
                        validators=[InputRequired("Choisissez un format.")])

    def _check_date(self, field) -> None:
        try:
            date.fromisoformat(field.data)
        except (TypeError, ValueError):
            raise ValidationError("Date invalide (attendu AAAA-MM-JJ)") from None

    def validate_du(self, field) -> None:
        self._check_date(field)

    def validate_au(self, field) -> None:
        self._check_date(field)

    def set_structures(self, session, source) -> None:
        """The structure as a list, or as a part of its name when there are too many to list."""
        if source.count(session) > pick_list_limit():
            del self.structure
        else:
            self.structure.choices = [SelectChoice("", "Toutes"), *source.all(session)]
            del self.structure_nom

    def set_tags(self, tags) -> None:
        self.tag.choices = _opts([(str(t.id), t.name) for t in tags])


class BeneficiaryExportForm(BaseForm):
    q = StringField("Recherche dans le nom ou le prénom", validators=[Optional(), Length(max=100)],
                    description="Laissez vide pour exporter tous les bénéficiaires de vos structures.")
    format = RadioField("Format", choices=_opts(FORMATS), default="xlsx",
                        validators=[InputRequired("Choisissez un format.")])


class PersonalDataForm(BaseForm):
    format = RadioField("Format", choices=_opts([("xlsx", "Excel (.xlsx), une feuille par type de données"),
                                                 ("json", "JSON (lisible par une machine)")]), default="xlsx",
                        validators=[InputRequired("Choisissez un format.")])


class MergeForm(BaseForm):
    keep = RadioField("Fiche à conserver", coerce=int,
                      validators=[InputRequired("Choisissez la fiche à conserver.")],
                      description="Les informations renseignées sur la fiche conservée sont gardées ; ses champs "
                                  "vides sont complétés avec ceux de l’autre fiche, dont les accompagnements, "
                                  "dossiers et consentements sont rattachés à la fiche conservée.")


class RetentionForm(BaseForm):
    confirm = BooleanField("Je confirme l’anonymisation définitive de ces bénéficiaires",
                           validators=[InputRequired("Cochez la case pour confirmer : l’anonymisation est "
                                                     "définitive.")])


class ConfirmForm(BaseForm):
    """POST-only buttons (apply or abandon an import, undo a merge, run the retention): CSRF only."""
