"""A mediator logs an individual session and a 10-person workshop with the keyboard only, finds
them on the case timeline, edits one, and the counts follow."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.a11y import check_a11y


def activate(locator) -> None:
    """Follow a link or press a button with the keyboard, and wait for the next page."""
    page = locator.page
    with page.expect_navigation():
        locator.press("Enter")
    check_a11y(page)


def tick(locator) -> None:
    """Tick a checkbox or choose a radio button with the space bar."""
    locator.focus()
    locator.press("Space")


def test_mediator_logs_a_session_and_a_workshop_with_the_keyboard(page, sign_in):
    sign_in(page, "mediatrice@demo.test")

    # 1. An individual session for a new person, created inline.
    navigation = page.get_by_role("navigation", name="Navigation principale")
    activate(navigation.get_by_role("link", name="Enregistrer une activité"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enregistrer un accompagnement individuel")
    expect(page.get_by_role("combobox", name="Rechercher un bénéficiaire suivi")).to_be_focused()
    page.keyboard.press("Tab")  # on to the people offered (« Aucun : anonyme ou nouveau »)
    page.keyboard.press("Tab")  # on to « Créer un bénéficiaire suivi »
    page.keyboard.press("Enter")  # opens the <details>
    page.get_by_label("Prénom").fill("Josette")
    page.get_by_label("Nom", exact=True).fill("Parcours")
    page.get_by_label("Année de naissance").fill("1951")
    tick(page.get_by_label("30 min"))
    tick(page.get_by_role("radio", name="Lieu d’activité"))
    tick(page.get_by_label("E-mail", exact=True))
    tick(page.get_by_label("Autonome avec guidage en cas de besoin (2/3)"))
    activate(page.get_by_role("button", name="Enregistrer l’accompagnement"))
    expect(page.get_by_role("status")).to_contain_text("Accompagnement individuel enregistré (1 participant)")
    session_url = page.url

    # 2. A workshop: Josette and two other followed people, seven anonymous participants.
    activate(navigation.get_by_role("link", name="Activités", exact=True))
    activate(page.get_by_role("link", name="Enregistrer un atelier collectif"))
    expect(page.get_by_label("Titre de l’atelier")).to_be_focused()
    page.keyboard.type("Premiers pas sur tablette")
    tick(page.get_by_label("2 h", exact=True))
    # Josette through the person picker's combobox, then two of the people offered.
    search = page.get_by_role("combobox", name="Rechercher un participant suivi")
    search.focus()
    page.keyboard.type("Parcours")
    expect(page.get_by_role("option", name=re.compile(r"^Josette Parcours"))).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_label(re.compile(r"^Josette Parcours"))).to_be_checked()
    unticked = page.locator("#participant_ids input[type=checkbox]:not(:checked)")
    tick(unticked.first)
    tick(unticked.first)
    page.get_by_label("Bénéficiaires anonymes").fill("7")
    page.get_by_label("Bénéficiaires déjà accompagnés").fill("2")
    tick(page.get_by_role("radio", name="Lieu d’activité"))
    tick(page.get_by_label("Prendre en main du matériel"))
    tick(page.get_by_label("Débutant (1/3)"))
    activate(page.get_by_role("button", name="Enregistrer l’atelier"))
    expect(page.get_by_role("status")).to_contain_text("Atelier collectif enregistré (10 participants)")
    expect(page.get_by_role("table")).to_contain_text("10 participants dont 7 anonymes")
    workshop_url = page.url

    # 3. Both are on Josette's case timeline; she has two accompaniments.
    activate(page.get_by_role("row", name=re.compile("Josette Parcours")).get_by_role("link"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Josette Parcours")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Atelier collectif : Premiers pas sur tablette")
    expect(timeline).to_contain_text("Accompagnement individuel")
    expect(page.locator("dl.summary").first).to_contain_text("Accompagnements2")
    case_url = page.url

    # 4. Edit the workshop: Josette was not there after all. Counts follow.
    page.goto(workshop_url)
    check_a11y(page)
    activate(page.get_by_role("link", name="Modifier"))
    tick(page.get_by_label(re.compile(r"^Josette Parcours")))
    activate(page.get_by_role("button", name="Enregistrer les modifications"))
    expect(page.get_by_role("status")).to_contain_text("Activité modifiée.")
    expect(page.get_by_role("table")).to_contain_text("9 participants dont 7 anonymes")
    page.goto(case_url)
    check_a11y(page)
    expect(page.locator("dl.summary").first).to_contain_text("Accompagnements1")
    expect(page.locator("ol.timeline")).not_to_contain_text("Premiers pas sur tablette")

    # 5. The individual session is still her first accompaniment.
    page.goto(session_url)
    check_a11y(page)
    expect(page.get_by_role("table")).to_contain_text("Oui")
