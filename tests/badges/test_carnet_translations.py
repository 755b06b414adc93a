"""Every message a person reads in « Mon carnet » is translated in every language we offer: no
empty or fuzzy translation, the same placeholders as the French, and nothing in the templates or
the code that the catalogues miss (the messages are extracted again from the sources here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from mediation import i18n

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sd]|%%")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def source_messages() -> set[str]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalogue(code: str):
    with (i18n.TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=code)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


TRANSLATED = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]


def test_eight_languages_one_of_them_right_to_left():
    assert len(i18n.LANGUAGES) >= 8 and i18n.DEFAULT == "fr"
    assert i18n.LANGUAGES["ar"].direction == "rtl"


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(code):
    expected = source_messages()
    assert len(expected) > 150
    found = catalogue(code)
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in found if m.id}
    assert expected - ids == set(), f"{code} : messages sans traduction"
    for message in found:
        if not message.id:
            continue
        assert not message.fuzzy, f"{code} : traduction à revoir (fuzzy) : {message.id!r}"
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"{code} : traduction vide : {message.id!r}"
        assert len(strings) == found.num_plurals or not isinstance(message.id, tuple)
        for translated in strings:
            assert placeholders(translated) == placeholders(sources[-1]), (code, message.id, translated)


def test_the_demarches_of_a_mandate_are_translated_from_their_one_french_title(app):
    from mediation.carnet.labels import DEMARCHES
    from mediation.mandates.enums import Demarche

    with app.test_request_context("/carnet/"):
        assert {d: str(label) for d, label in DEMARCHES.items()} == {d: d.label for d in Demarche}
