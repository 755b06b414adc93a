"""The one check of a redirect target that comes from the request (``?next=``, a value kept in the
session from a request...). Use :func:`safe_target` everywhere such a value reaches ``redirect()``.

Only a same-origin path passes: it starts with one ``/`` followed by something other than ``/`` or
``\\``, has no scheme and no host, and holds no control character, no whitespace and no backslash —
in its raw form, once or several times percent-decoded, and once normalised (NFKC, which turns
look-alikes such as « ／ » into ``/``). Browsers and Werkzeug drop tabs and newlines and read ``\\``
as ``/``: ``/\\t/evil.example`` would become ``//evil.example``, a link to another site. Anything
else gives the caller's safe default.
"""

from __future__ import annotations

import posixpath
import unicodedata
from urllib.parse import unquote, urlsplit

MAX_LENGTH = 2048
_DECODING_ROUNDS = 3


def _clean_path(value: str, *, decoded: bool = False) -> bool:
    """``decoded``: a percent-decoded form, where a space (from ``%20`` in a query) is harmless;
    control characters, backslashes and a second leading slash are refused in every form."""
    if not value.startswith("/") or value[1:2] in ("/", "\\") or value[1:2].isspace():
        return False
    for char in value:
        category = unicodedata.category(char)[0]
        if char == "\\" or category == "C" or (not decoded and (char.isspace() or category == "Z")):
            return False
    return True


def is_same_origin_path(value: object) -> bool:
    """True for a path on this site that is safe to send in ``Location``."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        return False
    if not (_clean_path(value) and _clean_path(unicodedata.normalize("NFKC", value))):
        return False
    decoded = value
    for _ in range(_DECODING_ROUNDS):
        decoded = unquote(decoded)
        if not (_clean_path(decoded, decoded=True)
                and _clean_path(unicodedata.normalize("NFKC", decoded), decoded=True)):
            return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def safe_target(value: object, default: str, *, under: str | None = None) -> str:
    """``value`` when it is a same-origin path (and, with ``under``, that path or one below it),
    else ``default`` (a URL the caller built itself, e.g. with ``url_for``)."""
    if not is_same_origin_path(value):
        return default
    if under is not None:
        path = posixpath.normpath(unquote(urlsplit(value).path))  # no way out through « .. »
        if path != under and not path.startswith(under.rstrip("/") + "/"):
            return default
    return value
