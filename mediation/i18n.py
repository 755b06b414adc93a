"""Languages of the pages a person reads (« Mon carnet », its printed card, the public pages that
check a badge). Staff pages stay in French.

- Catalogues: ``translations/<lang>/LC_MESSAGES/messages.po`` (gettext, extracted with Babel from
  ``babel.cfg``). The compiled ``.mo`` files are not kept in git: :func:`compile_catalogues` builds
  them when the application starts, if missing or older than their ``.po`` (written to a temporary
  file then renamed, so that two processes starting together never read half a file).
- The language shown: the one recorded for the person whose carnet is open (kept in the session
  when it opens), else the one chosen on the page in this browser (cookie :data:`COOKIE`, one
  year), else French. The person's own choice wins over the browser's on a shared computer, and
  never the browser's Accept-Language: it would switch everyone's language.
- The large-type option is a cookie too (:data:`LARGE_COOKIE`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, request, session

log = logging.getLogger("mediation.i18n")

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DEFAULT = "fr"
COOKIE = "carnet_langue"
LARGE_COOKIE = "carnet_grands_caracteres"
COOKIE_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in the language itself: a person finds their language without reading French
    direction: str = "ltr"


LANGUAGES: dict[str, Language] = {
    language.code: language
    for language in (
        Language("fr", "Français"),
        Language("en", "English"),
        Language("ar", "العربية", "rtl"),
        Language("es", "Español"),
        Language("pt", "Português"),
        Language("tr", "Türkçe"),
        Language("ro", "Română"),
        Language("uk", "Українська"),
    )
}

# Where a person reads: the portal's blueprint and the public page that checks a badge.
PERSON_BLUEPRINTS = {"wallet"}
PERSON_ENDPOINTS = {"ob.public_verify", "ob.wallet_identity"}


def known(code: object) -> str | None:
    """The language code if it is one we offer, else None."""
    return code if isinstance(code, str) and code in LANGUAGES else None


def is_person_page() -> bool:
    return request.blueprint in PERSON_BLUEPRINTS or request.endpoint in PERSON_ENDPOINTS


def chosen_language() -> str:
    """The language of a person's page (see the module's docstring)."""
    opened = session.get("wallet")
    if isinstance(opened, dict) and known(opened.get("lang")):
        return opened["lang"]
    return known(request.cookies.get(COOKIE)) or DEFAULT


def select_locale() -> str:
    """Flask-Babel's locale selector: French everywhere but on a person's pages."""
    if request and is_person_page():
        return chosen_language()
    return DEFAULT


def large_type() -> bool:
    return request.cookies.get(LARGE_COOKIE) == "1"


def compile_catalogues(directory: Path = TRANSLATIONS) -> None:
    """Compile every ``messages.po`` whose ``messages.mo`` is missing or older."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalogue = read_po(source, locale=po_path.parent.parent.name)
        try:
            handle, temporary = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
        except OSError as error:  # a read-only installation: compile there beforehand (pybabel compile)
            log.warning("Catalogue non compilé (%s) : %s", po_path.parent.parent.name, error)
            continue
        try:
            with os.fdopen(handle, "wb") as target:
                write_mo(target, catalogue, use_fuzzy=False)
            os.replace(temporary, mo_path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        log.info("Catalogue compilé : %s", mo_path.relative_to(directory))


def init_app(app: Flask) -> None:
    from flask_babel import Babel

    compile_catalogues()
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT, default_timezone="Europe/Paris",
          default_translation_directories=str(TRANSLATIONS))

    @app.template_filter("date_local")
    def date_local(value, fmt: str = "long"):
        """A date in the page's language (French on staff pages)."""
        from datetime import date, datetime

        from babel.dates import format_date
        from flask_babel import get_locale

        from mediation.types import to_paris

        if isinstance(value, datetime):
            value = to_paris(value).date()
        return format_date(value, format=fmt, locale=str(get_locale())) if isinstance(value, date) else "—"

    @app.context_processor
    def language_globals():
        if not request or not is_person_page():
            return {"page_language": LANGUAGES[DEFAULT], "large_type": False, "languages": LANGUAGES}
        return {"page_language": LANGUAGES[chosen_language()], "large_type": large_type(),
                "languages": LANGUAGES}
