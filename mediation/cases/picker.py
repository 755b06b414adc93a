"""The person picker: one way to choose a person everywhere one is chosen (individual session,
workshop participants, mandates…).

It searches with the one search rule (:mod:`mediation.cases.search`) within the user's scope
(:func:`mediation.cases.policy.visible_beneficiaries`), identified people only, and describes each
person by name, birth year and commune of residence — for roles that see names; the others read
« Bénéficiaire n° 123 » and nothing else.

The page renders it with ``templates/macros/person_picker.html``: without JavaScript, a search
field and a « Rechercher » button re-render the form (nothing is saved) with the matching people as
radio buttons (checkboxes for several people); ``static/js/person-picker.js`` turns the field into
an ARIA combobox fed by :func:`search_people` as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from mediation.auth.models import User
from mediation.cases import policy
from mediation.cases.models import Beneficiary
from mediation.cases.search import person_condition

MAX_RESULTS = 20
MAX_QUERY = 100
SEARCH_BUTTON = "rechercher_personne"  # the name of the no-JavaScript « Rechercher » button


@dataclass(frozen=True)
class PersonOption:
    id: int
    label: str
    birth_year: int | None = None
    commune: str | None = None

    @property
    def description(self) -> str:
        """« née en 2004 · Lyon »-like details, without gendered wording."""
        parts = []
        if self.birth_year:
            parts.append(str(self.birth_year))
        if self.commune:
            parts.append(self.commune)
        return " · ".join(parts)

    def as_json(self) -> dict:
        return {"id": self.id, "label": self.label, "birth_year": self.birth_year, "commune": self.commune}


@dataclass
class Picker:
    """What the macro renders: the field's name, what was typed, and the people offered."""

    name: str
    label: str
    search_label: str = "Rechercher une personne"
    q: str = ""
    multiple: bool = False
    options: list[PersonOption] = field(default_factory=list)
    selected: set[int] = field(default_factory=set)
    searched: bool = False  # a search was run (the no-JavaScript button)
    more: bool = False  # more people match than are shown
    hint: str = ""
    none_label: str | None = None  # single choice: the « nobody » radio button, if any
    error: str | None = None

    @property
    def input_id(self) -> str:
        return f"{self.name}-recherche"

    @property
    def query_name(self) -> str:
        return f"{self.name}_recherche"


def option_for(user: User, beneficiary: Beneficiary) -> PersonOption:
    if not policy.can_see_identity(user):
        return PersonOption(beneficiary.id, beneficiary.pseudonym)
    commune = beneficiary.residence_commune.name if beneficiary.residence_commune is not None else None
    return PersonOption(beneficiary.id, beneficiary.display_name, beneficiary.birth_year, commune)


def _people(user: User) -> sa.Select:
    return (policy.visible_beneficiaries(user).where(Beneficiary.anonymous.is_(False))
            .options(joinedload(Beneficiary.residence_commune))
            .order_by(Beneficiary.last_name, Beneficiary.first_name, Beneficiary.birth_year, Beneficiary.id))


def search_people(session: Session, user: User, q: str, *, limit: int = MAX_RESULTS,
                  within: sa.Select | None = None) -> tuple[list[PersonOption], bool]:
    """The identified people in scope matching ``q`` (names, birth year, phone for roles that see
    names; numbers for everyone), at most ``limit``, and whether more match. ``within``: an
    optional subquery of beneficiary ids narrowing the search further."""
    q = (q or "").strip()[:MAX_QUERY]
    if not q:
        return [], False
    query = _people(user).where(person_condition(q, identity=policy.can_see_identity(user),
                                                 ids=(Beneficiary.id,)))
    if within is not None:
        query = query.where(Beneficiary.id.in_(within))
    rows = session.scalars(query.limit(limit + 1)).unique().all()
    return [option_for(user, b) for b in rows[:limit]], len(rows) > limit


def people_by_ids(session: Session, user: User, ids) -> list[PersonOption]:
    """The people among ``ids`` that ``user`` may choose (others silently left out)."""
    wanted = set()
    for value in ids or ():
        try:
            wanted.add(int(value))
        except (TypeError, ValueError):
            continue
    if not wanted:
        return []
    rows = session.scalars(_people(user).where(Beneficiary.id.in_(wanted))).unique().all()
    return [option_for(user, b) for b in rows]


def build_picker(session: Session, user: User, *, name: str, label: str, selected, q: str = "",
                 search_label: str = "Rechercher une personne",
                 searched: bool = False, multiple: bool = False, suggested=(), hint: str = "",
                 none_label: str | None = None, error: str | None = None) -> Picker:
    """The picker for a form: the chosen people first, then the search results (when a search was
    run) or ``suggested`` people (e.g. those followed right now), at most :data:`MAX_RESULTS`."""
    chosen = people_by_ids(session, user, selected if isinstance(selected, list | tuple | set) else [selected])
    chosen_ids = {p.id for p in chosen}
    q = (q or "").strip()[:MAX_QUERY]
    more = False
    if searched and q:
        found, more = search_people(session, user, q)
    else:
        found = [option_for(user, b) if isinstance(b, Beneficiary) else b for b in suggested]
        more = len(found) > MAX_RESULTS
        found = found[:MAX_RESULTS]
    options = chosen + [p for p in found if p.id not in chosen_ids]
    return Picker(name=name, label=label, search_label=search_label, q=q, multiple=multiple, options=options, selected=chosen_ids,
                  searched=searched and bool(q), more=more, hint=hint, none_label=none_label, error=error)


def search_requested(form_data) -> bool:
    """The no-JavaScript « Rechercher » button was pressed: re-render, save nothing."""
    return SEARCH_BUTTON in form_data
