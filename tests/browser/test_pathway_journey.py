"""Issue #5 « Done when »: a person is diagnosed at a France Services desk, validates level 1
there, is referred to a médiathèque, the médiathèque accepts and validates level 2, then the
coordinator reassigns the case to another commune — the pathway progress is intact at each step.
Keyboard-free but real: every form is the page's own (CSRF on), every page passes axe-core."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.a11y import check_a11y

FRANCE_SERVICES = "aidant@demo.test"  # Sophie Lefèvre, France Services Rouen Grammont
MEDIATHEQUE = "emma.garnier@demo.test"  # Emma Garnier, Médiathèque Simone-de-Beauvoir (and a tiers-lieu)
COORDINATION = "coordination@demo.test"
PERSON = "Odile Parcours-Navigateur"


def go(locator) -> None:
    """Click a link or a submit button, wait for the next page, check its accessibility."""
    page = locator.page
    with page.expect_navigation():
        locator.click()
    check_a11y(page)


def progress_is(page, steps: int, levels: int) -> None:
    main = page.get_by_role("main")
    expect(main).to_contain_text(f"Étapes validées : {steps} sur 8")
    expect(main).to_contain_text(f"Niveaux atteints : {levels} sur 4")


def validate_next_step(page, narrative: str, structure: str | None = None) -> None:
    go(page.get_by_role("link", name="Valider cette étape"))
    if structure:
        page.get_by_label("Structure pour laquelle vous intervenez").select_option(label=structure)
    page.get_by_label("Ce que la personne a réalisé").fill(narrative)
    go(page.get_by_role("button", name="Valider l'étape"))
    expect(page.get_by_role("status")).to_contain_text("validée")


def test_pathway_across_structures_and_communes(page, sign_in, sign_out):
    # --- France Services: the person, her network consent, enrolment and diagnosis ---
    sign_in(page, FRANCE_SERVICES)
    go(page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Dossiers"))
    go(page.get_by_role("link", name="Créer un bénéficiaire"))
    first, last = PERSON.split(" ", 1)
    page.get_by_label("Prénom").fill(first)
    page.get_by_label("Nom", exact=True).fill(last)
    page.get_by_label("Commune de résidence").select_option(label="Rouen")
    go(page.get_by_role("button", name="Créer le bénéficiaire et ouvrir son dossier"))
    page.get_by_text("Enregistrer un consentement").click()
    page.get_by_label("Partage au sein du réseau du territoire").check()
    go(page.get_by_role("button", name="Enregistrer le consentement"))
    go(page.get_by_role("link", name="Parcours, diagnostic et orientations"))
    pathway_url = page.url
    expect(page.get_by_role("main")).to_contain_text("Cette personne ne suit encore aucun parcours.")
    go(page.get_by_role("button", name="Inscrire au parcours"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Diagnostic d'{PERSON}")  # elided before a vowel
    page.get_by_label("Smartphone").check()
    for domain in ("Utiliser un ordinateur", "Naviguer et chercher", "Communiquer", "Faire ses démarches",
                   "Se protéger"):
        page.get_by_role("group", name=re.compile(f"^{domain}")).get_by_label("Avec guidage", exact=True).check()
    page.get_by_label("2 — Peu à l'aise").check()
    page.get_by_role("group", name="Besoins et priorités").get_by_label("E-mail", exact=True).check()
    go(page.get_by_role("button", name="Enregistrer le diagnostic"))
    progress_is(page, 0, 0)
    expect(page.get_by_role("main")).to_contain_text("Avec guidage (1/3)")

    # --- level 1 at France Services ---
    validate_next_step(page, "Allume la tablette et ouvre une application seule.")
    validate_next_step(page, "Trouve les horaires de la mairie sur internet.")
    progress_is(page, 2, 1)
    expect(page.get_by_role("main")).to_contain_text("Prochaine étape conseillée : Créer et utiliser une adresse e-mail")

    # --- referred to the médiathèque, nearest first ---
    go(page.get_by_role("link", name="Orienter vers une autre structure"))
    page.get_by_label("Service recherché", exact=True).select_option("Maîtrise des outils numériques du quotidien")
    go(page.get_by_role("button", name="Actualiser les suggestions"))
    choice = page.get_by_label(re.compile(r"^Médiathèque Simone-de-Beauvoir — "))
    expect(choice).to_be_visible()
    choice.check()
    page.get_by_label("Message pour la structure d'accueil").fill("Ateliers e-mail du mardi.")
    go(page.get_by_role("button", name="Envoyer l'orientation"))
    expect(page.get_by_role("status")).to_contain_text("Orientation vers « Médiathèque Simone-de-Beauvoir » envoyée")
    progress_is(page, 2, 1)
    sign_out(page)

    # --- the médiathèque accepts and validates level 2 ---
    sign_in(page, MEDIATHEQUE)
    go(page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Parcours et orientations"))
    go(page.get_by_role("link", name=re.compile(r"^Orientations reçues")))
    go(page.get_by_role("row").filter(has_text=PERSON).get_by_role("link"))
    expect(page.get_by_role("main")).to_contain_text("Ateliers e-mail du mardi.")
    go(page.get_by_role("button", name="Accepter l'orientation"))
    expect(page.get_by_role("main")).to_contain_text("Médiathèque Simone-de-Beauvoir (Rouen)")
    progress_is(page, 2, 1)
    validate_next_step(page, "Crée son adresse e-mail et s'y connecte seule.", "Médiathèque Simone-de-Beauvoir")
    validate_next_step(page, "Envoie une photo de sa quittance en pièce jointe.", "Médiathèque Simone-de-Beauvoir")
    progress_is(page, 4, 2)
    sign_out(page)

    # --- the coordinator moves the case to another commune; the progress follows ---
    sign_in(page, COORDINATION)
    page.goto(pathway_url)
    check_a11y(page)
    progress_is(page, 4, 2)
    go(page.get_by_role("link", name="Réaffecter le dossier"))
    page.get_by_label("Nouvelle structure et référent").select_option(label="France Services Elbeuf — Léa Moreau")
    page.get_by_label("Motif", exact=True).select_option(label="La personne a déménagé")
    go(page.get_by_role("button", name="Réaffecter"))
    expect(page.get_by_role("status")).to_contain_text("confié à « France Services Elbeuf »")
    main = page.get_by_role("main")
    expect(main).to_contain_text("France Services Elbeuf (Elbeuf)")
    progress_is(page, 4, 2)
    history = page.get_by_role("table", name=re.compile("mouvements? du dossier"))
    expect(history).to_contain_text("Orientation acceptée par la structure d'accueil")
    expect(history).to_contain_text("La personne a déménagé")
