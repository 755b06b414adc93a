"""A mediator creates a tag and puts it on a session; a coordinator logs an évènement (the form shows
only the chosen type's fields with JavaScript). Every page passes axe-core."""

from __future__ import annotations

from tests.browser.a11y import check_a11y


def test_a_mediator_creates_a_tag_and_uses_it(page, sign_in):
    sign_in(page, "mediateur@demo.test")
    page.goto("/tags")
    check_a11y(page)
    page.get_by_label("Nom du tag").fill("Semaine du numérique")
    page.get_by_label("Description (facultatif)").fill("Les ateliers de la semaine du numérique")
    page.get_by_role("button", name="Créer le tag").click()
    check_a11y(page)
    assert page.get_by_role("cell", name="Semaine du numérique", exact=True).is_visible()
    page.goto("/activites/nouvelle")
    check_a11y(page)
    assert page.get_by_label("Semaine du numérique").count() == 1


def test_a_coordinator_logs_an_event(page, sign_in):
    sign_in(page, "coordination@demo.test")
    page.goto("/coordination/activites/nouvelle?type=evenement")
    check_a11y(page)
    assert page.get_by_label("Nombre de participants").is_visible()
    assert not page.get_by_label("Nombre de structures").is_visible()  # the animation's block is hidden
    page.get_by_label("Date").fill("2026-01-15")
    page.get_by_label("Nombre de participants").fill("35")
    page.get_by_label("NEC local").check()
    page.get_by_label("Une commune").first.check()
    page.get_by_role("button", name="Enregistrer l’activité").click()
    check_a11y(page)
    assert page.get_by_role("heading", name="Évènement").is_visible()
    page.goto("/statistiques/")
    check_a11y(page)
    assert page.get_by_role("heading", name="Vos activités de coordination").is_visible()
