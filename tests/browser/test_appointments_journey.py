"""Issue #19 « Done when »: a mediator refers a person and books a slot at the receiving place in
the same step; the receiving mediator sees it in the week's agenda and records attendance, which
honours the referral; an anonymous visitor finds the nearest place offering « Aide aux démarches
administratives » open now within 5 km. Every page passes axe-core."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.a11y import check_a11y

SENDER = "ines.roux@demo.test"  # Inès Roux, CCAS de Sotteville-lès-Rouen
RECEIVER = "aidant@demo.test"  # Sophie Lefèvre, France Services Rouen Grammont
PLACE = "France Services Rouen Grammont"
SERVICE = "Aide aux démarches administratives"
PERSON = "Rosa Rendez-Vous"


def go(locator) -> None:
    page = locator.page
    with page.expect_navigation():
        locator.click()
    check_a11y(page)


def _bring_appointment_to_today(live_server, last_name: str) -> None:
    """The day of the appointment comes: it is moved to an hour ago (in the live database), or to
    midnight when the day (Paris time) is younger than that: the session it records is then dated
    today, on or after the day of the referral."""
    from mediation.appointments.models import Appointment
    from mediation.cases.models import Beneficiary
    from mediation.extensions import db
    from mediation.types import to_paris, utcnow

    with live_server.app.app_context():
        appointment = db.session.scalar(sa.select(Appointment).join(Beneficiary).where(
            Beneficiary.last_name == last_name))
        length = appointment.ends_at - appointment.starts_at
        now = utcnow().replace(second=0, microsecond=0)
        local = to_paris(now)
        since_midnight = local - local.replace(hour=0, minute=0)
        appointment.starts_at = now - min(timedelta(hours=1), since_midnight)
        appointment.ends_at = appointment.starts_at + length
        db.session.commit()
        db.session.remove()


def test_refer_with_an_appointment_then_attendance_honours_the_referral(page, live_server, sign_in, sign_out):
    sign_in(page, SENDER)
    go(page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Dossiers"))
    go(page.get_by_role("link", name="Créer un bénéficiaire"))
    first, last = PERSON.split(" ", 1)
    page.get_by_label("Prénom").fill(first)
    page.get_by_label("Nom", exact=True).fill(last)
    go(page.get_by_role("button", name="Créer le bénéficiaire et ouvrir son dossier"))
    page.get_by_text("Enregistrer un consentement").click()
    page.get_by_label("Partage au sein du réseau du territoire").check()
    go(page.get_by_role("button", name="Enregistrer le consentement"))
    go(page.get_by_role("link", name="Parcours, diagnostic et orientations"))

    # Refer and book in one step, the person present.
    go(page.get_by_role("link", name="Orienter avec un rendez-vous"))
    page.get_by_label("Service recherché").select_option(SERVICE)
    go(page.get_by_role("button", name="Voir les créneaux"))
    page.get_by_label("Lieu qui prend des rendez-vous").select_option(label=page.get_by_label(
        "Lieu qui prend des rendez-vous").locator("option", has_text=PLACE).inner_text())
    go(page.get_by_role("button", name="Voir les créneaux"))
    page.get_by_role("group", name=f"Créneau à « {PLACE} »", exact=False).get_by_role("radio").first.check()
    page.get_by_label("Message pour le lieu d’accueil").fill("Renouvellement de la carte d’identité.")
    go(page.get_by_role("button", name="Orienter et réserver"))
    expect(page.get_by_role("status")).to_contain_text(f"rendez-vous pris à « {PLACE} »")
    expect(page.locator("#etat")).to_have_text("Réservé")
    sign_out(page)

    # The receiving mediator: the week's agenda, then « Venue ».
    _bring_appointment_to_today(live_server, last)
    sign_in(page, RECEIVER)
    page.goto("/rendez-vous/")
    check_a11y(page)
    go(page.get_by_role("link", name=PERSON))
    go(page.get_by_role("button", name="Venue", exact=True))
    expect(page.get_by_role("status")).to_contain_text("l’orientation est honorée")
    expect(page.locator("#etat")).to_have_text("Venu")
    expect(page.get_by_role("main")).to_contain_text("Honorée")


def test_an_anonymous_visitor_finds_the_nearest_place_open_now_within_5_km(page, live_server):
    from mediation.directory.models import Structure
    from mediation.extensions import db

    with live_server.app.app_context():  # a place open round the clock, whatever the hour of the test
        place = db.session.scalar(sa.select(Structure).where(Structure.name == "CCAS de Sotteville-lès-Rouen"))
        place.horaires = "Mo-Su 00:00-24:00"
        db.session.commit()
        db.session.remove()
    page.goto("/guide/")
    check_a11y(page)
    page.get_by_label("Commune ou code postal").fill("Rouen")
    page.get_by_label("Distance").select_option("5")
    page.get_by_label("Aide recherchée").select_option(SERVICE)
    page.get_by_label("Ouvert maintenant").check()
    go(page.get_by_role("button", name="Rechercher"))
    results = page.locator(".guide-results > li")
    expect(results.first).to_contain_text("Ouvert maintenant")
    expect(page.locator(".guide-results")).to_contain_text("CCAS de Sotteville-lès-Rouen")
    for text in results.all_inner_texts():
        assert "Ouvert maintenant" in text and SERVICE in text
    go(page.get_by_role("link", name="Liste imprimable des lieux de Rouen"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Lieux d’aide au numérique à Rouen")
    expect(page.get_by_role("main")).to_contain_text("France Services Rouen Grammont")
    with page.expect_navigation():
        page.go_back()
    check_a11y(page)
    go(results.first.get_by_role("link"))
    expect(page.get_by_role("heading", level=2, name="Horaires")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(SERVICE)


def test_the_guide_works_without_javascript(browser, live_server):
    """The same search with JavaScript off (no axe-core here: it cannot run without JavaScript)."""
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/guide/")
        page.get_by_label("Commune ou code postal").fill("76300")
        page.get_by_label("Aide recherchée").select_option(SERVICE)
        with page.expect_navigation():
            page.get_by_role("button", name="Rechercher").click()
        expect(page.locator(".guide-results")).to_contain_text("CCAS de Sotteville-lès-Rouen")
        with page.expect_navigation():
            page.locator(".guide-results").get_by_role("link", name="CCAS de Sotteville-lès-Rouen").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("CCAS de Sotteville-lès-Rouen")
    finally:
        context.close()
