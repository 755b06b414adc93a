"""The one way to answer with a file to download (or to show inline): every export, report, card
and scan goes through :func:`file_response`.

- ``Content-Disposition`` follows RFC 6266 / RFC 5987: ``filename="…"`` holds an ASCII
  transliteration (``inclusion-numerique.pdf``) for old clients, ``filename*=UTF-8''…`` the real
  name with its accents (``inclusion-num%C3%A9rique.pdf``).
- ``Content-Type`` is set once, with ``charset=utf-8`` for text types (Werkzeug's ``mimetype``
  argument would add a second charset to a type that already has one).
- The body is bytes, text, or an open binary file (a spooled temporary file holding an export)
  streamed in chunks and closed at the end: the database work is over before the client reads.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Response

CHUNK = 64 * 1024
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/%;]')


def ascii_filename(filename: str) -> str:
    """``filename`` transliterated to ASCII (``é`` → ``e``, ``œ`` dropped), quotes and separators replaced."""
    text = unicodedata.normalize("NFKD", filename)
    text = "".join(c for c in text if not unicodedata.combining(c)).encode("ascii", "ignore").decode("ascii")
    text = _UNSAFE.sub("_", text).strip() or "fichier"
    return text


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    clean = _UNSAFE.sub("_", unicodedata.normalize("NFC", filename)).strip() or "fichier"
    return (f'{disposition}; filename="{ascii_filename(clean)}"; '
            f"filename*=UTF-8''{quote(clean, safe='!#$&+-.^_`|~')}")


def content_type(mimetype: str) -> str:
    """``text/…`` types get ``; charset=utf-8`` exactly once."""
    base = mimetype.split(";")[0].strip()
    return f"{base}; charset=utf-8" if base.startswith("text/") else mimetype


def _stream(file, size: int = CHUNK):
    try:
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()


def file_response(body, filename: str, mimetype: str, *, inline: bool = False) -> Response:
    """A response carrying ``body`` (bytes, str, or an open binary file streamed then closed) as ``filename``."""
    if hasattr(body, "read"):
        body = _stream(body)
    response = Response(body, content_type=content_type(mimetype))
    response.headers["Content-Disposition"] = content_disposition(filename, "inline" if inline else "attachment")
    return response
