"""Base form: CSRF on, French messages for the built-in validators."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, widgets


class BaseForm(FlaskForm):
    class Meta:
        locales = ["fr_FR", "fr"]

    def add_domain_error(self, error) -> None:
        """Attach a service's DomainError to its field (or to the form as a whole)."""
        field = getattr(self, error.field, None) if getattr(error, "field", None) else None
        if field is not None:
            field.errors = [*field.errors, error.message] if isinstance(field.errors, list) else [error.message]
        else:
            self.form_errors.append(error.message)
        for name, message in (getattr(error, "errors", None) or {}).items():
            target = getattr(self, name, None)
            if target is not None:
                target.errors = [*target.errors, message] if isinstance(target.errors, list) else [message]


class CheckboxListField(SelectMultipleField):
    """A list of checkboxes in a fieldset (accessible alternative to a multiple select)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()
