"""A coordinator of a large network attaches a new account to a structure found by search (the
pick-list of a form with more structures than ``MEDIATION_PICK_LIST_LIMIT``): Enter in the search box
searches, Enter in another field saves; the page passes the axe-core check at each step."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import check_a11y


@pytest.fixture
def large_network(live_server):
    app = live_server.app
    kept = app.config["MEDIATION_PICK_LIST_LIMIT"]
    app.config["MEDIATION_PICK_LIST_LIMIT"] = 2
    yield
    app.config["MEDIATION_PICK_LIST_LIMIT"] = kept


def test_a_structure_is_found_by_search_and_the_account_saved_with_enter(page, sign_in, large_network):
    sign_in(page, "coordination@demo.test")
    page.goto("/annuaire/comptes/nouveau")
    check_a11y(page)
    structure = page.get_by_role("combobox", name="Structure", exact=True)
    expect(structure.locator("option")).to_have_count(1)  # « — Choisir — » only: thousands would not fit
    page.get_by_role("textbox", name="Prénom (obligatoire)").fill("Agathe")
    page.get_by_role("textbox", name="Nom (obligatoire)", exact=True).fill("Lemoine")
    page.get_by_role("textbox", name="Adresse e-mail (obligatoire)").fill("agathe.lemoine@demo.test")

    search = page.get_by_role("searchbox", name="Chercher parmi")
    search.fill("mediatheque")
    with page.expect_navigation():
        search.press("Enter")  # searches: the form comes back as typed, with the matches
    check_a11y(page)
    expect(page.get_by_role("status").filter(has_text="résultat")).to_contain_text("1 résultat pour « mediatheque »")
    expect(page.get_by_role("textbox", name="Prénom (obligatoire)")).to_have_value("Agathe")
    structure.select_option(label="Médiathèque Simone-de-Beauvoir — Rouen")

    with page.expect_navigation():
        page.get_by_label("Fonction").press("Enter")  # saves
    expect(page.get_by_role("heading", level=1)).to_contain_text("Agathe Lemoine")
    expect(page.get_by_text("Médiathèque Simone-de-Beauvoir").first).to_be_visible()
    check_a11y(page)
