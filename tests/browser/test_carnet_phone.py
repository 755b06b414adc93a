"""« Mon carnet » on a 360 × 740 phone, in French and in Arabic (right to left), for a demo-like
person holding six badges: the whole carnet fits in three screens at most (the count is printed),
the language is chosen with a button and remembered, large type is a button, the « Écouter »
buttons appear with JavaScript only, and every page passes axe-core."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.a11y import check_a11y

PHONE = {"width": 360, "height": 740}
SCREENS = 3


def _six_badges(app) -> str:
    """A new person of the demo card's structure, on the demo card's pathway, with six live badges
    (four steps and two levels): the path of their printed card."""
    from mediation.auth.models import User
    from mediation.badges import services as badge_services
    from mediation.badges.models import Wallet, WalletCard
    from mediation.carnet import wallet
    from mediation.carnet.demo import DEMO_CARD
    from mediation.cases import services as cases_services
    from mediation.cases.enums import ConsentScope
    from mediation.cases.models import Case
    from mediation.extensions import db
    from mediation.pathways import services as pathway_services
    from mediation.pathways import versions
    from mediation.pathways.models import Enrolment

    assert DEMO_CARD
    with app.app_context():
        session = db.session
        mediator = session.scalar(sa.select(User).where(User.email == "mediateur@demo.test"))
        demo_wallet = session.scalar(sa.select(Wallet).join(WalletCard).where(WalletCard.revoked_at.is_(None))
                                     .order_by(Wallet.id).limit(1))
        model = session.scalar(sa.select(Enrolment).join(Case, Case.id == Enrolment.case_id)
                               .where(Case.beneficiary_id == demo_wallet.beneficiary_id).limit(1))
        structure_id = model.case.structure_id
        person = cases_services.create_beneficiary(session, mediator, structure_id, cases_services.BeneficiaryInput(
            first_name="Samira", last_name="Carnet-Six"))
        cases_services.record_consent(session, mediator, person, ConsentScope.STRUCTURE, structure_id)
        enrolment = pathway_services.enrol(session, mediator, cases_services.live_case(session, person.id),
                                           model.template, structure_id=structure_id)
        version = versions.load_version(session, enrolment.version_id)
        for step in [m for level in version.levels for m in level.steps][:4]:
            pathway_services.validate_milestone(session, mediator, enrolment, pathway_services.ValidationInput(
                milestone_id=step.id, structure_id=structure_id, activity_id=None,
                narrative="Réalisé seule devant moi."))
        badges = badge_services.assertions_of(session, person.id, live_only=True)
        assert len(badges) == 6, [b.badge_class.name for b in badges]
        printed = wallet.print_card(session, mediator, person, structure_id=structure_id)
        session.commit()
        path = "/" + printed.url.split("/", 3)[3]
        session.remove()
    return path


def _screens(page) -> float:
    height = page.evaluate("document.documentElement.scrollHeight")
    return height / PHONE["height"]


def test_the_carnet_fits_three_phone_screens_in_french_and_in_arabic(browser, live_server):
    card_path = _six_badges(live_server.app)
    phone = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport=PHONE)
    try:
        page = phone.new_page()
        page.goto(card_path)
        assert page.url.endswith("/carnet/mon-carnet")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator(".badge-tile")).to_have_count(6)
        # Pathway and next step first, then the badges.
        headings = [h.strip() for h in page.locator("main h2").all_inner_texts()]
        assert headings.index("Mes badges") > 0 and "Prochaine étape" in page.locator("main").inner_text()
        expect(page.get_by_role("button", name="Écouter").first).to_be_visible()  # JavaScript: read aloud
        french = _screens(page)
        check_a11y(page)
        tile = page.locator(".badge-tile").first
        for url in (tile.locator("a[href*='/emporter']").get_attribute("href"),
                    tile.get_by_role("link", name="Partager").get_attribute("href"),
                    "/carnet/mon-carnet"):
            page.goto(url)
            expect(page.locator("html")).to_have_attribute("lang", "fr")
            check_a11y(page)

        # Arabic, chosen with a button: right to left, remembered on the next page.
        page.locator(".carnet-languages summary").click()
        with page.expect_navigation():
            page.get_by_role("button", name="العربية").click()
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("html")).to_have_attribute("lang", "ar")
        expect(page.get_by_role("heading", name="شاراتي")).to_be_visible()
        expect(page.get_by_role("button", name="استمع").first).to_be_visible()
        arabic = _screens(page)
        check_a11y(page)
        page.locator(".carnet-languages summary").click()
        check_a11y(page)  # the open language list too
        print(f"\nÉcrans de 360 × 740 pour six badges : français {french:.2f}, arabe {arabic:.2f}")
        assert french <= SCREENS and arabic <= SCREENS

        # Badge details on demand, mirrored: the tile's image is on the right in Arabic.
        tile = page.locator(".badge-tile").first
        tile.locator("summary").click()
        expect(tile.locator("details")).to_have_attribute("open", "")
        check_a11y(page)

        # Large type, a button (remembered), still accessible.
        with page.expect_navigation():
            page.locator(".carnet-size button").click()
        expect(page.locator("html")).to_have_class("large-type")
        check_a11y(page)
        # The other pages of the carnet, still Arabic and large: carry a badge, check it publicly.
        carry = page.locator(".badge-tile").first.locator("a[href*='/emporter']").get_attribute("href")
        share = page.locator(".badge-tile").first.get_by_role("link", name="مشاركة").get_attribute("href")
        for url in (carry, share):
            page.goto(url)
            expect(page.locator("html")).to_have_attribute("lang", "ar")
            expect(page.locator("html")).to_have_class("large-type")
            check_a11y(page)
        with page.expect_navigation():
            page.locator(".carnet-size button").click()  # back to normal type
        page.goto("/carnet/mon-carnet")
        with page.expect_navigation():
            page.locator("form[action$='/quitter'] button").click()
        for url in ("/carnet/", "/carnet/code", "/carnet/code/saisir", "/carnet/c/carte-inconnue"):
            page.goto(url)
            expect(page.locator("html")).to_have_attribute("dir", "rtl")
            check_a11y(page)
    finally:
        phone.close()

    # Without JavaScript: the same carnet, complete, and no « Écouter » button.
    no_js = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport=PHONE,
                                java_script_enabled=False)
    try:
        plain = no_js.new_page()
        plain.goto(card_path)
        expect(plain.locator(".badge-tile")).to_have_count(6)
        expect(plain.locator(".listen")).to_have_count(0)
    finally:
        no_js.close()
