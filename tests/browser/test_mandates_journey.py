"""The demo aidant creates a mandate with her second factor, prints the attestation (its text
checked), uses an authorization, revokes one démarche, then the public verification page and the
person's mandates in force (the wallet's source) show the new state."""

from __future__ import annotations

import io
import re

from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.a11y import check_a11y

AIDANT = "aidant@demo.test"


def submit(locator) -> None:
    page = locator.page
    with page.expect_navigation():
        locator.click()
    check_a11y(page)


def test_aidant_creates_prints_uses_and_revokes_a_mandate(page, live_server, sign_in):
    sign_in(page, AIDANT)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Mandats").click()
    check_a11y(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mandats")

    submit(page.get_by_role("link", name="Créer un mandat"))
    # The person picker (macros/person_picker.html): the people followed, as radio buttons.
    first = page.locator("#beneficiary_id-choix li").first
    label = first.locator("label").inner_text().split(" (")[0].strip()
    first.locator("input[type=radio]").check()
    page.get_by_label(re.compile(r"^Social - Santé")).check()
    page.get_by_label(re.compile(r"^Loisirs - Sport - Culture")).check()
    page.get_by_label("Mandat d'un mois").check()
    page.get_by_label(re.compile(r"^Pièce d'identité")).check()
    submit(page.get_by_role("button", name="Relire le projet de mandat"))

    main = page.get_by_role("main")
    expect(main).to_contain_text("Projet de mandat — sans valeur juridique")
    expect(main).to_contain_text(label)
    page.get_by_label(re.compile(r"^J'ai informé la personne")).check()
    page.get_by_label("Code de double authentification").fill(live_server.totp.code_for(AIDANT))
    submit(page.get_by_role("button", name="Créer le mandat"))
    expect(page.get_by_role("status")).to_contain_text("Mandat créé")
    detail_url = page.url

    # The attestation, as printed: the PDF's text names the person, the démarches and the duration.
    href = page.get_by_role("link", name="Imprimer l'attestation de mandat (PDF)").get_attribute("href")
    pdf = page.request.get(live_server.url + href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages).split())
    assert label in text and "Social - Santé" in text and "Loisirs - Sport - Culture" in text
    assert "Mandat d'un mois" in text and "articles 1984 et suivants du Code civil" in text

    # Use "Social - Santé".
    submit(page.get_by_role("link", name="Utiliser le mandat"))
    page.get_by_label("Démarche réalisée").select_option(label="Social - Santé")
    page.get_by_label("Ce que vous allez faire").fill("Demande de carte Vitale")
    submit(page.get_by_role("button", name="Enregistrer l'utilisation"))
    expect(page.get_by_role("table", name=re.compile("^Utilisations du mandat"))).to_contain_text(
        "Demande de carte Vitale")

    # Revoke "Loisirs" only, with a fresh code.
    submit(page.get_by_role("link", name="Révoquer"))
    page.get_by_label("Loisirs - Sport - Culture").check()
    page.get_by_label("À la demande de la personne").check()
    page.get_by_label("Code de double authentification").fill(live_server.totp.code_for(AIDANT))
    submit(page.get_by_role("button", name="Révoquer"))
    expect(page.get_by_role("status")).to_contain_text("Révocation enregistrée")
    assert page.url.startswith(detail_url)
    revocation = page.request.get(
        live_server.url + page.get_by_role("link", name="Imprimer l'attestation de révocation (PDF)").get_attribute("href"))
    revocation_text = " ".join(PdfReader(io.BytesIO(revocation.body())).pages[0].extract_text().split())
    assert "révoque en partie le mandat" in revocation_text and "Loisirs - Sport - Culture" in revocation_text

    # The public verification page (the QR code's target), signed out: state and initials only.
    verify_href = page.get_by_role("link", name="Page de vérification du mandat").get_attribute("href")
    anonymous = page.context.browser.new_context(base_url=live_server.url, locale="fr-FR")
    public = anonymous.new_page()
    public.goto(verify_href)
    check_a11y(public)
    expect(public.get_by_role("main")).to_contain_text("Mandat valide")
    rows = public.get_by_role("table", name=re.compile("^Démarches couvertes"))
    expect(rows.get_by_role("row", name=re.compile("^Social - Santé"))).to_contain_text("En vigueur")
    expect(rows.get_by_role("row", name=re.compile("^Loisirs"))).to_contain_text("Révoquée")
    first, last = label.split(" ", 1)
    expect(public.get_by_role("main")).to_contain_text(f"{first[0]}. {last[0]}.")
    expect(public.get_by_role("main")).not_to_contain_text(last)
    anonymous.close()

    # What the person's wallet will list: this mandate, in force for "Social - Santé" only.
    from mediation.extensions import db
    from mediation.mandates.models import Mandate
    from mediation.mandates.services import mandates_in_force

    mandate_id = int(re.search(r"/mandats/(\d+)", detail_url).group(1))
    with live_server.app.app_context():
        mandate = db.session.get(Mandate, mandate_id)
        assert mandate.beneficiary.display_name == label
        in_force = {m.id: m for m in mandates_in_force(db.session, mandate.beneficiary)}
        assert [a.demarche.value for a in in_force[mandate_id].live_authorizations()] == ["social"]
        db.session.remove()
