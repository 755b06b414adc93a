"""Text search that ignores case and accents, the same on SQLite and PostgreSQL.

``fold_text`` folds a Python string (« Océane » → « oceane », « Œuvre » → « oeuvre »); ``folded(expr)``
is the same fold in SQL: a ``translate(lower(…))`` on PostgreSQL (no extension needed) and the
registered function ``mediation_fold`` (this module's ``fold_text``) on SQLite. Both agree on the
letters of French and of the Latin alphabets of Europe; a test compares them on the real database.
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

_LIGATURES = (("œ", "oe"), ("Œ", "oe"), ("æ", "ae"), ("Æ", "ae"), ("ß", "ss"))
# Letters without a decomposition in Unicode that still read as a base letter.
_STROKES = {"ı": "i", "ł": "l", "đ": "d", "ħ": "h", "ø": "o", "ŧ": "t"}
SQLITE_FUNCTION = "mediation_fold"


def fold_text(value: str | None) -> str | None:
    """Lower case, without accents; ``None`` stays ``None``."""
    if value is None:
        return None
    value = value.lower()
    for ligature, letters in _LIGATURES:
        value = value.replace(ligature, letters)
    value = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    return "".join(_STROKES.get(c, c) for c in value)


def _translate_table() -> tuple[str, str]:
    """The letters of Latin-1 and Latin Extended-A that fold to one ASCII letter, and that letter:
    the arguments of PostgreSQL's ``translate``, derived from ``fold_text`` itself. Upper-case
    letters are listed too: ``lower()`` leaves them as they are under a "C" ctype."""
    accented, base = [], []
    for code in range(0xC0, 0x180):
        letter = chr(code)
        plain = fold_text(letter)
        if plain != letter and len(plain) == 1 and plain.isascii():
            accented.append(letter)
            base.append(plain)
    return "".join(accented), "".join(base)


_ACCENTED, _BASE = _translate_table()


class folded(FunctionElement):  # noqa: N801 - used like a SQL function
    """``folded(column)``: the column lower-cased and without accents, in SQL."""

    type = sa.String()
    inherit_cache = True


@compiles(folded)
def _folded_default(element, compiler, **kw):
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _folded_postgresql(element, compiler, **kw):
    expression = f"lower({compiler.process(element.clauses, **kw)})"
    for ligature, letters in _LIGATURES:
        expression = f"replace({expression}, '{ligature}', '{letters}')"
    return f"translate({expression}, '{_ACCENTED}', '{_BASE}')"


def register_sqlite_function(dbapi_connection) -> None:
    dbapi_connection.create_function(SQLITE_FUNCTION, 1, fold_text, deterministic=True)


def contains_folded(column, word: str):
    """``column`` contains ``word``, ignoring case and accents (LIKE wildcards in ``word`` are literal)."""
    pattern = fold_text(word).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return folded(column).like(f"%{pattern}%", escape="\\")
