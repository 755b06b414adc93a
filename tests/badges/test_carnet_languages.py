"""« Mon carnet » in the person's language: chosen with a button (no JavaScript), remembered in the
browser and recorded for the person whose carnet is open, used for their printed card; Arabic
right to left; staff pages stay French; large type remembered too."""

from __future__ import annotations

import io

import sqlalchemy as sa
from pypdf import PdfReader

from mediation.audit.models import AuditEvent
from mediation.carnet import cards
from mediation.cases.services import live_case
from tests.badges.carnet_pages import carnet, pages  # noqa: F401 (fixture)


def choose(client, language: str, next_url: str = "/carnet/mon-carnet"):
    return client.post("/carnet/langue", data={"lang": language, "next": next_url})


def test_french_by_default_whatever_the_browser_says(client):
    html = client.get("/carnet/", headers={"Accept-Language": "ar,en"}).get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in html and "Ouvrir mon carnet" in html
    assert 'name="lang" value="ar" lang="ar" dir="rtl"' in html  # each language named in itself


def test_a_language_chosen_before_opening_is_remembered_in_the_browser(client):
    response = choose(client, "es", "/carnet/code")
    assert response.status_code == 302 and response.headers["Location"].endswith("/carnet/code")
    assert "carnet_langue=es" in response.headers["Set-Cookie"]
    html = client.get("/carnet/code").get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in html and "Recibir un código" in html
    assert "Mon carnet" not in html.split("<body", 1)[1]


def test_arabic_is_right_to_left_and_recorded_for_the_person(session, client, carnet):  # noqa: F811
    carnet.open(client)
    assert choose(client, "ar").status_code == 302
    html = client.get("/carnet/mon-carnet").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html and "مرحبًا Jeanne" in html and "شاراتي" in html
    assert "الوثائق - المواطنة - الانتخابات" in html  # a démarche of the mandate, translated
    session.refresh(carnet.person)
    assert carnet.person.language == "ar"
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "beneficiary.language_chosen"))
    assert event.details == {"language": "ar", "by": "person"}
    # Another browser: the card opens the carnet in the person's language.
    other = client.application.test_client()
    carnet.open(other)
    assert '<html lang="ar" dir="rtl">' in other.get("/carnet/mon-carnet").get_data(as_text=True)
    # The printed card too.
    card = cards.card_html(carnet.printed, structure_name=None, language=carnet.person.language)
    assert '<html lang="ar" dir="rtl">' in card and "دفتري" in card


def test_every_page_exists_in_every_language(session, client, carnet):  # noqa: F811
    for code, words in (("en", "My booklet"), ("uk", "Моя книжка"), ("tr", "Defterim"), ("ro", "Carnetul meu"),
                        ("pt", "A minha caderneta"), ("es", "Mi cuaderno")):
        client.set_cookie("carnet_langue", code)
        carnet.person.language = code  # the card follows the person's recorded language
        session.commit()
        found = pages(client, carnet)
        for name, html in found.items():
            assert f'lang="{code}"' in html, (code, name)
        assert words in found["carnet"] and words in found["carte imprimée"]
        client.get("/carnet/quitter")  # GET: nothing happens (closing is a POST)
        client.post("/carnet/quitter")


def test_an_unknown_language_is_refused_and_nothing_changes(session, client, carnet):  # noqa: F811
    carnet.open(client)
    assert choose(client, "xx").status_code == 400
    assert choose(client, "fr", "https://evil.example/").headers["Location"] == "/carnet/"
    session.refresh(carnet.person)
    assert carnet.person.language is None


def test_staff_pages_stay_in_french(client, login, network, carnet):  # noqa: F811
    client.set_cookie("carnet_langue", "en")
    login(client, network.mediator)
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in html


def test_the_mediator_prints_the_card_in_the_person_language(session, client, login, network, carnet):  # noqa: F811
    login(client, network.mediator)
    case_id = live_case(session, carnet.person.id).id
    page = client.get(f"/badges/dossiers/{case_id}").get_data(as_text=True)
    assert 'name="language"' in page
    response = client.post(f"/badges/dossiers/{case_id}/carte", data={"language": "uk"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.get_data())).pages)
    assert "Моя книжка" in text and "Скануйте QR-код." in text
    session.refresh(carnet.person)
    assert carnet.person.language == "uk"
    assert client.post(f"/badges/dossiers/{case_id}/carte", data={"language": "klingon"}).status_code == 400


def test_large_type_is_a_button_remembered_in_the_browser(client):
    html = client.get("/carnet/").get_data(as_text=True)
    assert 'aria-pressed="false"' in html and 'class="large-type"' not in html
    response = client.post("/carnet/grands-caracteres", data={"large": "1", "next": "/carnet/"})
    assert response.status_code == 302 and "carnet_grands_caracteres=1" in response.headers["Set-Cookie"]
    html = client.get("/carnet/").get_data(as_text=True)
    assert 'class="large-type"' in html and 'aria-pressed="true"' in html


def test_on_a_shared_computer_the_person_language_wins_over_the_browser(session, client, carnet):  # noqa: F811
    carnet.person.language = "tr"
    session.commit()
    client.set_cookie("carnet_langue", "uk")  # the previous visitor's choice
    assert '<html lang="uk"' in client.get("/carnet/").get_data(as_text=True)
    carnet.open(client)
    assert '<html lang="tr"' in client.get("/carnet/mon-carnet").get_data(as_text=True)
