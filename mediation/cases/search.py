"""Finding a person: one rule for every place a mediator types a few letters (case list, person
picker, API, exports). Each word must match, ignoring case and accents: a name (prénom or nom), a
birth year (four digits), a phone number (at least six digits, any spelling: « 06 29 27 31 15 »,
« +33629273115 ») or a number (« n° 5331 », the person's or the case's)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from mediation.cases.models import Beneficiary
from mediation.search import contains_folded

MAX_WORDS = 4
_NUMBER = re.compile(r"^(?:n°|no|n)?\s*(\d{1,9})$", re.IGNORECASE)


def phone_digits(value: str) -> str | None:
    """The national digits of a French phone number typed in any spelling (« 06 29 27 31 15 »,
    « +33 6 29 27 31 15 », « 0033629273115 »), as stored after « +33 »; ``None`` if not a phone."""
    digits = re.sub(r"[\s.\-()]", "", value)
    if digits.startswith("+33"):
        digits = digits[3:]
    elif digits.startswith("0033"):
        digits = digits[4:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return digits if digits.isdigit() and len(digits) >= 5 else None


def words(q: str) -> list[str]:
    """The words of a search, phone numbers typed with spaces kept together."""
    q = re.sub(r"(?i)(?<!\w)(n°|no|n)\s+(?=\d)", r"\1", q.strip())  # « n° 5331 » is one word
    if phone_digits(q) and len(re.sub(r"\D", "", q)) >= 6:
        return [q]
    return q.split()[:MAX_WORDS]


def word_condition(word: str, *, identity: bool, ids=()):
    """The SQL condition for one word. ``ids``: the number columns a number may match (the
    beneficiary's id, the case's id). Without ``identity`` (coordinators), only numbers match."""
    number = _NUMBER.match(word)
    conditions = []
    if number:
        conditions += [column == int(number.group(1)) for column in ids]
    if identity:
        if re.fullmatch(r"(19|20)\d\d", word):
            conditions.append(Beneficiary.birth_year == int(word))
        phone = phone_digits(word)
        if phone and len(phone) >= 6:
            conditions.append(Beneficiary.phone.like(f"%{phone}"))
        if not number:
            conditions.append(sa.or_(contains_folded(Beneficiary.first_name, word),
                                     contains_folded(Beneficiary.last_name, word)))
    return sa.or_(*conditions) if conditions else sa.false()


def person_condition(q: str, *, identity: bool, ids=()):
    """Every word of ``q`` matches (see :func:`word_condition`)."""
    return sa.and_(*(word_condition(word, identity=identity, ids=ids) for word in words(q)))
