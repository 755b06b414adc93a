"""The options of lists and checkbox lists are written directly (mediation.forms.Select, the macro
``field``) with the very markup of WTForms' widgets: same escaping, same order of attributes, the
selected ones selected; what they do not handle (attributes per option) still goes through WTForms."""

from __future__ import annotations

import re

from flask import render_template_string
from wtforms import Form, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice

from mediation.forms import BaseForm, CheckboxListField, Select

CHOICES = [SelectChoice(1, "Tours & Blois"), SelectChoice("a<b", 'L\'« atelier » "numérique"'), SelectChoice(3, ""),
           SelectChoice("x", "Sans accent")]


def _wtforms(field_class, data, **kwargs):
    class Plain(Form):
        f = field_class(choices=CHOICES, **kwargs)

    return Plain(data={"f": data}).f


def _ours(field_class, data, **kwargs):
    class Ours(BaseForm):
        class Meta:
            csrf = False

        f = field_class(choices=CHOICES, **kwargs)

    return Ours(data={"f": data}).f


def test_a_select_is_written_as_wtforms_writes_it(app):
    with app.test_request_context():
        for field_class, data in ((SelectField, "a<b"), (SelectField, 1), (SelectMultipleField, [1, "x"])):
            theirs, ours = _wtforms(field_class, data), _ours(field_class, data)
            assert str(ours()) == str(theirs()), field_class
            assert type(ours.widget) is Select
            assert "selected" in str(ours()) and "&lt;" in str(ours()) and "&#34;" in str(ours())


def test_options_with_their_own_attributes_go_through_wtforms(app):
    with app.test_request_context():
        choices = [SelectChoice(1, "Ouvert"), SelectChoice(2, "Fermé", render_kw={"disabled": True})]

        class Plain(Form):
            f = SelectField(choices=choices)

        class Ours(BaseForm):
            class Meta:
                csrf = False

            f = SelectField(choices=choices)

        assert str(Ours().f()) == str(Plain().f()) and "disabled" in str(Ours().f())


def _normalised(html) -> str:
    return re.sub(r"\s+", " ", str(html)).replace("> <", "><").strip()


def test_checkbox_and_radio_lists_are_written_as_wtforms_writes_them(app):
    from wtforms import RadioField
    from wtforms.validators import DataRequired

    template = '{% from "macros/forms.html" import field %}{{ field(f) }}'
    with app.test_request_context():
        for field_class, data, kwargs in ((CheckboxListField, [1, "x"], {}),
                                          (RadioField, "a<b", {"validators": [DataRequired()]})):
            fast = _ours(field_class, data, **kwargs)
            # The same field with an attribute for every option: the macro leaves it to WTForms.
            slow = _ours(field_class, data, render_kw={"data-x": "1"}, **kwargs)
            written = _normalised(render_template_string(template, f=fast))
            widgets_html = _normalised(render_template_string(template, f=slow)).replace(' data-x="1"', "")
            assert written == widgets_html, field_class
            assert written.count(" checked ") == (2 if field_class is CheckboxListField else 1)
            if field_class is RadioField:
                assert written.count(" required ") == len(CHOICES)
