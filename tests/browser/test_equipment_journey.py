"""A mediator lends a device of the inventory during a session, prints the loan agreement, the
reminder job sends the reminder before the due date, and the device comes back damaged: it is no
longer offered for a loan."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

from playwright.sync_api import expect
from pypdf import PdfReader

from mediation.types import local_today
from tests.browser.a11y import check_a11y

MEDIATOR = "mediateur@demo.test"


def submit(locator) -> None:
    page = locator.page
    with page.expect_navigation():
        locator.click()
    check_a11y(page)


def test_lend_during_a_session_remind_and_return_damaged(page, live_server, sign_in):
    sign_in(page, MEDIATOR)
    navigation = page.get_by_role("navigation", name="Navigation principale")

    # 1. The session: a new person, a device lent (the activity only counts it).
    submit(navigation.get_by_role("link", name="Enregistrer une activité"))
    page.get_by_text("Créer un bénéficiaire suivi").click()
    page.get_by_label("Prénom").fill("Paulette")
    page.get_by_label("Nom", exact=True).fill("Emprunt")
    page.get_by_label("Structure pour laquelle vous intervenez").select_option(label="France Services Rouen Grammont")
    page.get_by_label("30 min").check()
    page.get_by_role("radio", name="Lieu d’activité").check()
    page.get_by_label("Prendre en main du matériel").check()
    page.get_by_text("Équipement remis au bénéficiaire (don, prêt ou achat solidaire)").click()
    page.get_by_role("radio", name="Prêt", exact=True).check()
    page.get_by_label("Nombre d’équipements remis").fill("1")
    submit(page.get_by_role("button", name="Enregistrer l’accompagnement"))
    expect(page.get_by_role("status")).to_contain_text("Accompagnement individuel enregistré")

    # 2. The equipment step of the session: the person and « Prêt » are already chosen.
    submit(page.get_by_role("link", name="Prêter ou donner un appareil de l’inventaire"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("pendant la séance")
    page.get_by_label("Appareil", exact=True).select_option(label="Ordinateur portable HP EliteBook 840 G5 (n° RGR-PC-003)")
    expect(page.get_by_label("Personne qui reçoit l’appareil")).to_have_value(re.compile(r"\d+"))
    expect(page.get_by_role("radio", name="Prêt", exact=True)).to_be_checked()
    due = local_today() + timedelta(days=2)
    page.get_by_label("Retour prévu le").fill(due.isoformat())
    submit(page.get_by_role("button", name="Enregistrer la remise"))
    # Refused without the conditions accepted: a French message, nothing saved.
    expect(page.get_by_text("La personne doit avoir accepté les conditions de remise").first).to_be_visible()
    page.get_by_label("La personne a lu et accepté les conditions de remise").check()
    submit(page.get_by_role("button", name="Enregistrer la remise"))
    expect(page.get_by_role("status")).to_contain_text("Prêt enregistré")
    loan_url = page.url
    reference = re.search(r"P-\d{5}", page.get_by_role("heading", level=1).inner_text()).group(0)

    href = page.get_by_role("link", name="Imprimer la convention (PDF)").get_attribute("href")
    pdf = page.request.get(live_server.url + href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages).split())
    assert "Convention de prêt de matériel" in text and "Paulette" in text and "HP EliteBook 840 G5" in text

    # 3. The reminders (the daily job, started from the inventory page).
    submit(navigation.get_by_role("link", name="Matériel"))
    expect(page.get_by_role("table", name=re.compile("en retard"))).to_be_visible()  # the demo's overdue loans
    outbox = live_server.app.extensions.setdefault("outbox", [])
    sent = len(outbox)
    submit(page.get_by_role("button", name="Envoyer les rappels de prêt maintenant"))
    status_url = page.url.rstrip("/") + "/etat"
    for _ in range(100):
        if page.request.get(status_url).json()["finished"]:
            break
        time.sleep(0.1)
    page.reload()
    check_a11y(page)
    expect(page.get_by_role("main")).to_contain_text("Terminée")
    expect(page.get_by_role("main")).to_contain_text("Rappels avant la date de retour")
    notices = [m for m in outbox[sent:] if reference in m["Subject"]]
    assert len(notices) == 1 and "retour proche" in notices[0]["Subject"]
    assert "Paulette" not in notices[0].get_content()  # staff notices name no one

    # 4. The return, damaged.
    page.goto(loan_url)
    check_a11y(page)
    expect(page.get_by_role("main")).to_contain_text("avant la date de retour, le")
    submit(page.get_by_role("link", name="Enregistrer le retour"))
    page.get_by_role("radio", name="Endommagé").check()
    page.get_by_label("Remarque").fill("Touche Entrée arrachée")
    submit(page.get_by_role("button", name="Enregistrer le retour"))
    expect(page.get_by_role("status")).to_contain_text("Retour enregistré (endommagé)")
    summary = page.locator("dl.summary")
    expect(summary).to_contain_text("Endommagé")
    expect(page.get_by_role("link", name="Prêter, donner ou vendre cet appareil")).to_have_count(0)
    expect(page.get_by_role("table", name=re.compile("^Remises de l’appareil"))).to_contain_text("endommagé")
