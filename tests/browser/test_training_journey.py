"""Training records in the browser: the coordinator records a mediator's training with its
certificate (a PDF uploaded, then downloaded back) and reads the territory's skills table; the demo
aidant whose Aidants Connect habilitation has expired (Inès Roux) is refused a mandate, in French,
and sees why on her own training page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from mediation.training.demo import certificate_pdf
from tests.browser.a11y import check_a11y

COORDINATOR = "coordination@demo.test"
EXPIRED_AIDANT = "ines.roux@demo.test"


def submit(locator) -> None:
    page = locator.page
    with page.expect_navigation():
        locator.click()
    check_a11y(page)


def test_coordinator_records_a_training_with_its_certificate(page, live_server, sign_in, tmp_path):
    sign_in(page, COORDINATOR)
    submit(page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Formations"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Formations des personnels")
    expect(page.get_by_role("main")).to_contain_text("Habilitation d’aidant expirée")  # the demo's alert

    page.get_by_label("Rechercher une personne").fill("Moreau")
    submit(page.get_by_role("button", name="Rechercher"))
    # Two people may share a name (another test adds a second Léa Moreau): the e-mail tells them apart.
    submit(page.get_by_role("row").filter(has_text="mediatrice@demo.test").get_by_role("link", name="Léa Moreau"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Formations de Léa Moreau")

    certificate = tmp_path / "attestation-remn.pdf"
    certificate.write_bytes(certificate_pdf("CCP REMN", "Léa Moreau"))
    page.get_by_label("Formation ou certification").select_option(label="CCP « Responsable d’espace de médiation numérique » (REMN)")
    page.get_by_label("Organisme de formation").fill("Afpa Rouen")
    page.get_by_label("Date d’obtention").fill("2025-06-30")
    page.get_by_label(re.compile(r"^Attestation ou certificat")).set_input_files(str(certificate))
    submit(page.get_by_role("button", name="Enregistrer la formation"))
    expect(page.get_by_role("status")).to_contain_text("est enregistrée dans les formations de Léa Moreau")
    table = page.get_by_role("table", name=re.compile("^Formations et certifications enregistrées"))
    row = table.get_by_role("row").filter(has_text="REMN")
    expect(row).to_contain_text("30 juin 2025")
    expect(row).to_contain_text("Afpa Rouen")
    href = row.get_by_role("link", name=re.compile("^Télécharger")).get_attribute("href")
    download = page.request.get(live_server.url + href)
    assert download.status == 200 and download.headers["content-type"] == "application/pdf"
    assert download.body() == certificate.read_bytes()

    submit(page.get_by_role("link", name="Formations des personnels"))
    submit(page.get_by_role("link", name="Compétences du territoire"))
    commune_table = page.get_by_role("table", name="Par commune")
    expect(commune_table).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Manques")


def test_an_aidant_whose_habilitation_expired_is_refused_a_mandate(page, sign_in):
    sign_in(page, EXPIRED_AIDANT)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Mandats").click()
    check_a11y(page)
    main = page.get_by_role("main")
    expect(main).to_contain_text("Votre habilitation Aidants Connect a expiré le")
    expect(main).to_contain_text("vous ne pouvez plus créer ni utiliser de mandats")
    response = page.goto("/mandats/nouveau")
    assert response.status == 403
    check_a11y(page)
    submit(page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Formations"))
    expect(page.get_by_role("main")).to_contain_text("Habilitation d’aidant·e non valide")
    expect(page.get_by_role("main")).to_contain_text("Expirée")
