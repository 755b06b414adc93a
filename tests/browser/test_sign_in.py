"""Sign-in journeys in a real browser, with the keyboard, for every demo role."""

from __future__ import annotations

import time

import pyotp
import pytest
from playwright.sync_api import expect

from mediation.auth.models import Role
from mediation.text import que
from tests.browser.a11y import check_a11y

# The main navigation is built from the endpoints that exist: each role must see at least
# ``shown`` and never ``hidden`` (labels of mediation.home.NAVIGATION).
STAFF_ONLY = {"Dossiers", "Activités", "Structures"}
ROLES = {
    "admin": dict(email="admin@demo.test", first_name="Alix", label="Administrateur·rice",
                  second_factor=True, shown={"Accueil", "Structures", "Journal d'audit"}, hidden=set()),
    "coordination": dict(email="coordination@demo.test", first_name="Camille", label="Coordinateur·rice",
                         second_factor=True, shown={"Accueil", "Structures"},
                         hidden={"Journal d'audit", "Enregistrer une activité"}),
    "mediateur": dict(email="mediateur@demo.test", first_name="Karim", label="Médiateur·rice numérique",
                      second_factor=False, shown={"Accueil", "Structures"},
                      hidden={"Journal d'audit", "Territoires", "Équipe et comptes"}),
    "mediatrice": dict(email="mediatrice@demo.test", first_name="Léa", label="Médiateur·rice numérique",
                       second_factor=False, shown={"Accueil", "Structures"},
                       hidden={"Journal d'audit", "Territoires", "Équipe et comptes"}),
    "aidant": dict(email="aidant@demo.test", first_name="Sophie", label="Médiateur·rice numérique",
                   mentions="conseiller·ère numérique, aidant·e habilité·e",
                   second_factor=True, shown={"Accueil", "Structures"},
                   hidden={"Journal d'audit", "Territoires", "Équipe et comptes"}),
    "financeur": dict(email="financeur@demo.test", first_name="Marc", label="Financeur",
                      second_factor=False, shown={"Accueil"},
                      hidden=STAFF_ONLY | {"Journal d'audit", "Territoires", "Équipe et comptes",
                                           "Enregistrer une activité"}),
}


def main_navigation(page) -> dict[str, str]:
    links = page.get_by_role("navigation", name="Navigation principale").get_by_role("link")
    return {link.inner_text().strip(): link.get_attribute("href") for link in links.all()}


@pytest.mark.parametrize("who", list(ROLES))
def test_each_role_signs_in_and_finds_its_way(page, live_server, sign_in, sign_out, who):
    account = ROLES[who]
    asked = sign_in(page, account["email"])
    assert asked is account["second_factor"]
    assert page.url == live_server.url + "/"
    # The home page is the person's week (mediators), the territory's week (coordination), or a greeting.
    heading = {"mediateur": "Ma semaine", "mediatrice": "Ma semaine", "aidant": "Ma semaine",
               "admin": "La semaine du territoire", "coordination": "La semaine du territoire"}
    expect(page.get_by_role("heading", level=1)).to_have_text(heading.get(who, f"Bonjour {account['first_name']}"))
    expect(page.get_by_role("main")).to_contain_text(f"Bonjour {account['first_name']}")
    check_a11y(page)
    expect(page.get_by_role("main")).to_contain_text(f"en tant {que(account['label'].lower())}")
    if "mentions" in account:  # the aidant is a mediator, with her qualifications beside the role
        expect(page.get_by_role("main")).to_contain_text(f"({account['mentions']})")
    expect(page.get_by_role("banner")).to_contain_text(account["label"])

    navigation = main_navigation(page)
    assert account["shown"] <= set(navigation), navigation
    assert not (account["hidden"] & set(navigation)), navigation
    expect(page.get_by_role("link", name="Accueil")).to_have_attribute("aria-current", "page")

    # Every page of the role's navigation opens and marks itself as the current one (their
    # accessibility is checked by test_every_page's crawl; a plain request keeps this test fast).
    for label, href in navigation.items():
        response = page.request.get(href, max_redirects=0)
        assert response.status == 200, (label, href, response.status)
        assert f'href="{href}" aria-current="page"' in response.text(), (label, href)

    page.get_by_role("link", name="Mon compte").click()
    page.wait_for_url("**/compte")
    check_a11y(page)
    expect(page.get_by_role("main")).to_contain_text(account["email"])
    expect(page.get_by_role("main")).to_contain_text("Activée" if account["second_factor"] else "Non activée")

    sign_out(page)
    assert page.url.endswith("/connexion")
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté·e.")
    page.goto("/compte")  # the session is over
    check_a11y(page)
    assert page.url.endswith("/connexion?next=%2Fcompte")
    expect(page.get_by_role("status")).to_contain_text("Connectez-vous pour accéder à cette page.")


def test_wrong_password_shows_a_french_error(page, live_server):
    page.goto("/connexion")
    check_a11y(page)
    page.get_by_label("Adresse e-mail").fill("financeur@demo.test")
    password = page.get_by_label("Mot de passe")
    password.fill("ce-n-est-pas-le-bon")
    with page.expect_navigation():
        password.press("Enter")
    check_a11y(page)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Le formulaire contient 1 erreur")
    expect(alert).to_contain_text("Adresse e-mail ou mot de passe incorrect.")
    assert page.url.endswith("/connexion")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter", exact=True)).to_have_count(0)


def test_empty_form_names_each_missing_field(page):
    page.goto("/connexion")
    check_a11y(page)
    with page.expect_navigation():
        page.get_by_label("Adresse e-mail").press("Enter")
    check_a11y(page)
    email = page.get_by_label("Adresse e-mail")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Saisissez votre adresse e-mail.")
    expect(page.get_by_role("alert")).to_contain_text("Saisissez votre mot de passe.")
    # The summary links lead to the fields.
    page.get_by_role("link", name="Adresse e-mail : Saisissez votre adresse e-mail.").click()
    expect(email).to_be_focused()


def test_skip_link_moves_focus_to_main(page, sign_in):
    sign_in(page, "mediateur@demo.test")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "le lien d'évitement doit être visible au focus"
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    # The next Tab lands inside the main content, not back in the header.
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('contenu').contains(document.activeElement)")


def test_totp_enrolment_for_an_account_without_second_factor(page, live_server, sign_in, sign_out):
    # An administrator creates a coordinator account; the invitation e-mail leads to choosing a
    # password, then to the compulsory second factor at the first sign-in.
    email = "nina.coordination@demo.test"
    link = live_server.invite_user(Role.COORDINATOR, email=email, first_name="Nina", last_name="Lambert",
                                   territory_name="Métropole Rouen Normandie")
    page.goto(link)
    check_a11y(page)
    page.get_by_label("Nouveau mot de passe").fill(live_server.password)
    confirm = page.get_by_label("Confirmez le mot de passe")
    confirm.fill(live_server.password)
    with page.expect_navigation():
        confirm.press("Enter")
    check_a11y(page)
    assert page.url.endswith("/connexion")
    expect(page.get_by_role("status")).to_contain_text("Votre mot de passe a été modifié.")

    assert sign_in(page, email) is False
    # The role requires a second factor: every page leads to the enrolment until it is done.
    assert page.url.endswith("/compte/double-authentification")
    expect(page.get_by_role("status")).to_contain_text("Votre rôle exige une double authentification")
    expect(page.get_by_role("img", name="QR code à scanner")).to_be_visible()
    page.goto("/annuaire/structures")
    check_a11y(page)
    assert page.url.endswith("/compte/double-authentification")

    secret = page.locator("code.secret").inner_text().strip()
    code_field = page.get_by_label("Code à 6 chiffres affiché par l'application")
    now = time.time()
    valid = {pyotp.TOTP(secret).at(now + 30 * offset) for offset in (-1, 0, 1)}
    code_field.fill(next(code for code in ("000000", "111111", "222222", "333333") if code not in valid))
    with page.expect_navigation():
        code_field.press("Enter")
    check_a11y(page)
    expect(page.get_by_role("alert")).to_contain_text("Le code saisi ne correspond pas")
    assert page.locator("code.secret").inner_text().strip() == secret  # same key to scan

    live_server.totp.register(email, secret)
    code_field = page.get_by_label("Code à 6 chiffres affiché par l'application")
    code_field.fill(live_server.totp.code_for(email))
    with page.expect_navigation():
        code_field.press("Enter")
    check_a11y(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification activée")
    codes = page.locator("ul.codes code")
    expect(codes).to_have_count(10)

    page.get_by_role("link", name="Continuer").click()
    page.wait_for_url(live_server.url + "/")
    check_a11y(page)
    expect(page.get_by_role("main")).to_contain_text("Bonjour Nina")

    # Next time, the code is asked after the password.
    sign_out(page)
    assert sign_in(page, email) is True
    expect(page.get_by_role("main")).to_contain_text("Bonjour Nina")
