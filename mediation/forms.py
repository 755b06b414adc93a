"""Base form: CSRF on, French messages for the built-in validators."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import has_request_context, request
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Form, SelectMultipleField, widgets
from wtforms.fields.choices import SelectChoice

from mediation.config import setting
from mediation.errors import DomainError
from mediation.search import contains_folded

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

    def validate_on_submit(self, extra_validators=None) -> bool:
        """False after a « Rechercher » button of a pick-list: the form is shown again as it was typed."""
        if searching(self):
            return False
        return super().validate_on_submit(extra_validators)


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


# --- pick-lists that become a search --------------------------------------------------------------

PICK_MATCHES = 50  # at most this many matches listed after a search
SEARCH_BUTTON = "rechercher_choix"  # the name of the « Rechercher » buttons: the form is shown again, not saved


@dataclass(frozen=True)
class PickSource:
    """The choices of a pick-list, read by SQL: ``query`` selects ``value`` and ``label`` (in the
    order to list them) among what the person may pick; ``searched`` are the columns the words
    typed are looked for in (each word in one of them, case and accents ignored); ``prefix`` is put
    before the value (« commune: » when one list offers several kinds of places)."""

    query: sa.Select
    value: sa.ColumnElement
    label: sa.ColumnElement
    searched: tuple = ()
    prefix: str = ""
    format: Callable | None = None  # the label from the row, when more than one column makes it

    def _select(self):
        return self.query.with_only_columns(self.value, self.label, *self.searched)

    def _choice(self, row) -> SelectChoice:
        label = self.format(row) if self.format else row[1]
        return SelectChoice(f"{self.prefix}{row[0]}", label)

    def count(self, session) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(self._select().order_by(None).subquery()))

    def all(self, session) -> list[SelectChoice]:
        return [self._choice(row) for row in session.execute(self._select())]

    def _matching(self, query: sa.Select, words: list[str]) -> sa.Select:
        for word in words:
            query = query.where(sa.or_(*(contains_folded(column, word) for column in (self.label, *self.searched))))
        return query

    def matching(self, session, words: list[str], limit: int) -> list[SelectChoice]:
        return [self._choice(row) for row in session.execute(self._matching(self._select(), words).limit(limit))]

    def values_matching(self, words: list[str]) -> sa.Select:
        """The values (ids) of the choices matching ``words``: a filter of a list (« structure : mairie »)."""
        return self._matching(self.query.with_only_columns(self.value).order_by(None), words)

    def chosen(self, session, values: list[str]) -> list[SelectChoice]:
        ids = [int(v[len(self.prefix):]) for v in values
               if v.startswith(self.prefix) and v[len(self.prefix):].isdigit()]
        if not ids:
            return []
        return [self._choice(row) for row in session.execute(self._select().where(self.value.in_(ids)))]


@dataclass
class PickSearch:
    """What the page says about a pick-list that is a search (``field.search``)."""

    name: str  # the text box's name
    words: str  # what was typed
    total: int  # choices in all
    found: int | None  # matches listed (None: nothing searched yet)
    more: bool  # more matches than listed


def pick_list_limit() -> int:
    """Up to this many choices, a plain list; above, a search (setting MEDIATION_PICK_LIST_LIMIT)."""
    return int(setting("MEDIATION_PICK_LIST_LIMIT"))


@dataclass
class Candidates:
    """The choices a pick-list offers (:func:`candidates`): every one (``listed``) up to
    ``pick_list_limit()``, otherwise none listed and those matching the words typed (``found``, at
    most PICK_MATCHES; ``more`` when there were more)."""

    total: int
    listed: list[SelectChoice] | None  # None: too many, a search
    found: list[SelectChoice]
    more: bool = False


def candidates(session, sources: Sequence[PickSource], words: str) -> Candidates:
    """The one rule of every pick-list: a plain list up to ``pick_list_limit()`` choices, above it a
    search by the words typed (at most PICK_MATCHES matches listed)."""
    total = sum(source.count(session) for source in sources)
    if total <= pick_list_limit():
        return Candidates(total, [c for source in sources for c in source.all(session)], [])
    found: list[SelectChoice] = []
    if words:
        for source in sources:
            found += source.matching(session, words.split(), PICK_MATCHES + 1 - len(found))
            if len(found) > PICK_MATCHES:
                break
    return Candidates(total, None, found[:PICK_MATCHES], len(found) > PICK_MATCHES)


def pick_list(field, session, *sources: PickSource, blank: str | None = None, noun: str = "choix") -> None:
    """Fill ``field.choices`` (a select or a list of checkboxes) from ``sources``: every choice when
    there are at most ``pick_list_limit()``, otherwise those matching the words typed in the field's
    search box (at most PICK_MATCHES; a single match of a select is chosen) and those already chosen,
    with ``field.search`` set for the page to show the box and its « Rechercher » button
    (templates/macros/forms.html). A value outside the sources is never a choice, so it fails the
    field's validation as before."""
    head = [SelectChoice("", blank)] if blank is not None else []
    name = f"{field.name}-recherche"
    words = (request.values.get(name) or "").strip()[:100] if has_request_context() else ""
    offered = candidates(session, sources, words)
    if offered.listed is not None:
        field.choices = head + offered.listed
        return
    data = field.data if isinstance(field.data, list | tuple) else [field.data]
    values = [str(v) for v in data if v not in (None, "")]
    chosen = [c for source in sources for c in source.chosen(session, values)]
    found = offered.found
    if len(found) == 1 and not values and not isinstance(field, SelectMultipleField):
        field.data = found[0].value  # the one match, chosen: the page shows it, nothing is saved yet
    seen = {c.value for c in chosen}
    field.choices = head + chosen + [c for c in found if c.value not in seen]
    field.search = PickSearch(name=name, words=words, total=offered.total, found=len(found) if words else None,
                              more=offered.more)
    field.search_noun = noun


def searching(form: Form) -> bool:
    """Whether the form came back from a « Rechercher » button: show it again, neither check nor save."""
    return has_request_context() and request.method == "POST" and SEARCH_BUTTON in request.form


@dataclass
class ListFilter:
    """The filter of a list by one of its structures (or referents…), in a GET form: a list of the
    choices when there are at most ``pick_list_limit()``, otherwise a part of the name
    (``<name>_nom``), which matches every choice containing each word. A link with the id
    (``<name>=12``) filters by that one in both cases. Shown by the ``list_filter`` macro."""

    name: str
    label: str
    all_label: str
    chosen: int | None
    words: str
    choices: list[SelectChoice] | None  # None: too many, a text box instead
    source: PickSource
    hint: str = "Une partie du nom."

    @property
    def words_name(self) -> str:
        return f"{self.name}_nom"

    def matching(self) -> sa.Select | None:
        """The ids whose names hold the words typed (None: nothing typed)."""
        return self.source.values_matching(self.words.split()) if self.words else None

    def clauses(self, column: sa.ColumnElement) -> list:
        """The conditions on ``column`` (an id column) that the filter sets."""
        clauses = []
        if self.chosen:
            clauses.append(column == self.chosen)
        if self.words:
            clauses.append(column.in_(self.matching()))
        return clauses

    def args(self) -> dict:
        """The filter's URL parameters (for the links to the other pages and the exports)."""
        return {k: v for k, v in ((self.name, self.chosen), (self.words_name, self.words)) if v}


def list_filter(session, source: PickSource, args, *, name: str, label: str, all_label: str,
                hint: str = "Une partie du nom.") -> ListFilter:
    raw = args.get(name) or ""
    chosen = int(raw) if raw.isdigit() and len(raw) < 18 else None
    words = (args.get(f"{name}_nom") or "").strip()[:100]
    many = source.count(session) > pick_list_limit()
    return ListFilter(name=name, label=label, all_label=all_label, chosen=chosen, words=words, source=source,
                      choices=None if many else source.all(session), hint=hint)
