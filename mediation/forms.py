"""Base form: CSRF on, French messages for the built-in validators."""

from __future__ import annotations

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Form, SelectMultipleField, widgets

from mediation.errors import DomainError

UNPROCESSABLE = 422  # a form re-rendered after a refusal: the request is rolled back (mediation.web)


class Select(widgets.Select):
    """WTForms' select, each plain option written directly, with the same markup (``selected``
    then ``value``, both escaped): through ``html_params`` an option cost a third of a millisecond,
    and an administrator's forms list a network's thousands of places or mediators."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw or isinstance(choice.value, bool):
            return super().render_option(choice, **kwargs)
        selected = "selected " if choice.selected else ""
        label = choice.label or choice.value
        return Markup(f'<option {selected}value="{escape(choice.value)}">{escape(label)}</option>')  # noqa: S704 (escaped)


SELECTS = {False: Select(), True: Select(multiple=True)}


class BaseForm(FlaskForm):
    class Meta:
        locales = ["fr_FR", "fr"]

        def render_field(self, field, render_kw):
            if type(field.widget) is widgets.Select:  # WTForms' own: the same one, faster (above)
                field.widget = SELECTS[field.widget.multiple]
            return super().render_field(field, render_kw)


def show_domain_error(form: Form, error: DomainError, aliases: dict[str, str] | None = None) -> int:
    """Put a service's refusal on the form and return the status to answer with.

    ``error.errors`` (field name -> message) go on their fields, or else ``error.message`` on
    ``error.field``; ``aliases`` maps a service's name to the form's field ("" for the form as a
    whole). What names no field of the form goes to the form-level errors (never lost). The status
    is 422 (429 when sign-in is locked), so the request is rolled back (mediation.web)."""
    aliases = aliases or {}
    items = dict(error.errors)
    if not items or (error.field and error.field not in items):
        items.setdefault(error.field or "", error.message)
    for name, message in items.items():
        name = aliases.get(name, name)
        target = form[name] if name and name in form else None
        if target is None:
            if message not in form.form_errors:
                form.form_errors.append(message)
        else:
            target.errors = [*target.errors, message]
    return error.status_code if error.status_code == 429 else UNPROCESSABLE


class CheckboxListField(SelectMultipleField):
    """A list of checkboxes in a fieldset (accessible alternative to a multiple select)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()
