"""French on the pages: elision before names and roles, phone numbers, durations, the role shown
from the account's actual role (mediation.text, registered as Jinja filters)."""

from __future__ import annotations

import html

import pytest
from markupsafe import Markup

from mediation.auth.models import Role
from mediation.text import de, duration_fr, elide, le, phone_fr, que


@pytest.mark.parametrize(("word", "name", "expected"), [
    ("de", "Elbeuf", "d'Elbeuf"),
    ("de", "Rouen", "de Rouen"),
    ("de", "Océane Roux", "d'Océane Roux"),
    ("de", "Émile", "d'Émile"),
    ("de", "Îles", "d'Îles"),
    ("de", "Yvetot", "d'Yvetot"),       # y before a consonant: a vowel sound
    ("de", "Yoann", "de Yoann"),        # y before a vowel: a consonant
    ("de", "Honfleur", "de Honfleur"),  # h: aspirated unless listed
    ("le", "Havre", "le Havre"),
    ("le", "hôpital", "l'hôpital"),     # listed mute h
    ("que", "administrateur·rice", "qu'administrateur·rice"),
    ("que", "médiateur·rice numérique", "que médiateur·rice numérique"),
    ("De", "Elbeuf", "D'Elbeuf"),
    ("de", "", "de "),
])
def test_elision(word, name, expected):
    assert elide(word, name) == expected


def test_elision_keeps_markup_escaped():
    assert html.unescape(de(Markup("<b>Océane</b>"))) == "d'<b>Océane</b>"
    assert de("<script>") == "de <script>"  # a plain string stays plain: the template escapes it
    assert str(de(Markup("&lt;Anne"))) == "de &lt;Anne"
    assert le("Ordinateur") == "l'Ordinateur" and que("il") == "qu'il"


@pytest.mark.parametrize(("value", "expected"), [
    ("+33230000006", "02 30 00 00 06"),
    ("0230000006", "02 30 00 00 06"),
    ("06 12 34 56 78", "06 12 34 56 78"),
    ("+262262123456", "02 62 12 34 56"),        # La Réunion: French numbering plan
    ("+4915112345678", "+49 1511 2345678"),     # abroad: international format
    ("pas un numéro", "pas un numéro"),
    (None, "—"),
])
def test_phone_numbers(value, expected):
    assert phone_fr(value) == expected


@pytest.mark.parametrize(("minutes", "expected"), [
    (45, "45 min"), (60, "1 h"), (90, "1 h 30"), (120, "2 h"), (65, "1 h 05"), (None, "—"),
])
def test_durations(minutes, expected):
    assert duration_fr(minutes) == expected


def test_home_page_says_the_actual_role_with_elision(client, login, network):
    login(client, network.admin)
    page = html.unescape(client.get("/").get_data(as_text=True))
    assert "en tant qu'administrateur·rice" in page
    assert "en tant que Administrateur" not in page


def test_an_aidant_is_shown_as_a_mediator_with_her_mentions(client, login, network, session):
    network.aidant.is_conseiller_numerique = True
    session.flush()
    login(client, network.aidant)
    page = html.unescape(client.get("/").get_data(as_text=True))
    assert "en tant que médiateur·rice numérique (conseiller·ère numérique, aidant·e habilité·e)" in page
    assert "Conseiller·ère numérique" not in page  # the mention is not the role
    assert network.aidant.role_label == Role.MEDIATOR.label


def test_names_after_de_are_elided_on_pages(client, login, network, make_user):
    person = make_user(Role.MEDIATOR, structures=[network.structure_a], first_name="Océane", last_name="Roux")
    login(client, network.admin)
    page = html.unescape(client.get(f"/annuaire/comptes/{person.id}/role").get_data(as_text=True))
    assert "Changer le rôle d'Océane Roux" in page
    assert "de Océane" not in page


def test_structure_phone_in_french_format(client, login, network, session):
    network.structure_a.telephone = "+33230000006"
    session.flush()
    login(client, network.mediator)
    page = client.get(f"/annuaire/structures/{network.structure_a.id}").get_data(as_text=True)
    assert "02 30 00 00 06" in page
    assert ">+33230000006<" not in page


def test_communes_are_elided_in_loan_places(session, network, make_commune):
    from mediation.directory.loans import place_choices

    make_commune(network.territory, name="Elbeuf")
    labels = [label for _, label in place_choices(session, network.coordinator)]
    assert "Commune d'Elbeuf" in labels and "Commune de Ville-A" in labels
    assert "Commune de Elbeuf" not in labels
