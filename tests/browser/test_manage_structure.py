"""A coordinator manages a structure of their territory in the browser: create (after a refused
empty form), edit, archive — with the keyboard, through real CSRF-protected forms."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.a11y import check_a11y


def submit_with_enter(page, field) -> None:
    with page.expect_navigation():
        field.press("Enter")
    check_a11y(page)


def test_coordinator_creates_edits_and_archives_a_structure(page, sign_in):
    sign_in(page, "coordination@demo.test")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Structures").click()
    page.wait_for_url("**/annuaire/structures")
    check_a11y(page)
    page.get_by_role("link", name="Ajouter une structure").click()
    page.wait_for_url("**/annuaire/structures/nouvelle")
    check_a11y(page)

    # An empty form: every missing field is named, in French, and nothing is created.
    name = page.get_by_label("Nom de la structure")
    submit_with_enter(page, name)
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Le formulaire contient")
    expect(page.get_by_label("Nom de la structure")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("textbox", name="Adresse (obligatoire)", exact=True)).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Nom de la structure").fill("Point numérique des Sapins")
    page.get_by_role("combobox", name="Commune (obligatoire)").select_option(label="Rouen (76540)")
    page.get_by_role("textbox", name="Adresse (obligatoire)", exact=True).fill("3 rue des Sapins")
    page.get_by_role("textbox", name="Téléphone").fill("0235000000")
    submit_with_enter(page, page.get_by_role("textbox", name="Téléphone"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Point numérique des Sapins")
    expect(page.get_by_role("status")).to_contain_text("La structure « Point numérique des Sapins » a été créée.")
    detail_url = page.url
    assert re.search(r"/annuaire/structures/\d+$", detail_url)

    page.get_by_role("link", name="Modifier", exact=True).click()
    page.wait_for_url("**/modifier")
    check_a11y(page)
    name = page.get_by_label("Nom de la structure")
    expect(name).to_have_value("Point numérique des Sapins")
    name.fill("Point numérique des Sapins — Rouen")
    submit_with_enter(page, name)
    assert page.url == detail_url
    expect(page.get_by_role("heading", level=1)).to_have_text("Point numérique des Sapins — Rouen")
    expect(page.get_by_role("status")).to_contain_text("Modifications enregistrées.")

    archive = page.get_by_role("button", name="Archiver la structure")
    archive.focus()
    submit_with_enter(page, archive)
    expect(page.get_by_role("status")).to_contain_text("est archivée")
    expect(page.get_by_role("button", name="Restaurer la structure")).to_be_visible()

    page.goto("/annuaire/structures")
    check_a11y(page)
    expect(page.get_by_role("table")).not_to_contain_text("Point numérique des Sapins")
