"""Plain French on every page a person reads (FALC): each page scores at least
:data:`THRESHOLD` on the Kandel–Moles readability scale (tests/badges/readability.py) and uses
none of the back office's jargon. The scores are printed (``-s``) for the record."""

from __future__ import annotations

import re

import pytest

from tests.badges.carnet_pages import carnet, pages  # noqa: F401 (fixture)
from tests.badges.readability import kandel_moles, visible_text

# About the score of plain, everyday French; the pages scored 46 to 73 before they were
# rewritten (code entry 66, one-time code 51, disabled card 46, wallet 70, mandate 51), 74 to 93 after.
THRESHOLD = 70
# Words of the back office with a plain word instead (« la personne qui vous aide », « le lieu »…).
JARGON = ("bénéficiaire", "dispositif", "référentiel", "habilitation", "habilité", "médiation numérique",
          "médiateur", "médiatrice", "accompagnement", "révocation", "titulaire", "structure", "usager",
          "émetteur", "délivré", "orientation", "coordination", "attestation", "erroné" + "s :")


def test_every_page_a_person_reads_is_plain_french(client, carnet):  # noqa: F811
    found = pages(client, carnet)
    scores = {name: round(kandel_moles(html), 1) for name, html in found.items()}
    print("\nLisibilité (Kandel–Moles) :", scores)
    assert len(found) == 11
    assert {name: score for name, score in scores.items() if score < THRESHOLD} == {}
    for name, html in found.items():
        text = re.sub(r"\S*/\S*", " ", " ".join(visible_text(html)).lower())  # not in addresses
        used = [word for word in JARGON if re.search(rf"\b{re.escape(word)}", text)]
        assert used == [], f"{name} : {used}"


@pytest.mark.parametrize(("text", "expected"), [("carte", 1), ("ordinateur", 4), ("téléphone", 3),
                                                ("aujourd’hui", 3), ("créer", 2), ("journée", 2)])
def test_french_syllables_are_counted_as_spoken(text, expected):
    from tests.badges.readability import syllables

    assert syllables(text) == expected
