"""A mediator validates a milestone; the badge appears in the person's wallet opened from the
card's QR code URL (on a phone-sized screen, no JavaScript needed); the baked PNG downloads and the
real Open Badges validator (its own virtualenv) finds it valid, fetching the documents from the
live server on loopback. Every page passes axe-core."""

from __future__ import annotations

import json
import subprocess

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.badges.ob_validator import PYTHON, RUNNER, require_validator
from tests.browser.a11y import check_a11y


def _demo_person(app):
    """The demo wallet card's person: their live enrolment and next step."""
    from mediation.badges.models import Wallet, WalletCard
    from mediation.carnet.demo import DEMO_CARD
    from mediation.cases.models import Case
    from mediation.extensions import db
    from mediation.pathways.enums import EnrolmentState
    from mediation.pathways.models import Enrolment
    from mediation.pathways.services import compute_progress

    assert DEMO_CARD, "the demo printed no wallet card"
    path = "/" + DEMO_CARD["url"].split("/", 3)[3]
    with app.app_context():
        wallet = db.session.scalar(sa.select(Wallet).join(WalletCard).where(WalletCard.revoked_at.is_(None)))
        enrolment = db.session.scalar(
            sa.select(Enrolment).join(Case, Case.id == Enrolment.case_id)
            .where(Case.beneficiary_id == wallet.beneficiary_id, Enrolment.state == EnrolmentState.EN_COURS))
        progress = compute_progress(db.session, enrolment)
        step = progress.next_step
        assert step is not None, "the demo card's person has no step left"
        result = (path, enrolment.id, step.milestone.id, step.milestone.title)
        db.session.remove()
    return result


def test_validated_milestone_reaches_the_wallet_and_the_baked_png_verifies(browser, page, live_server, sign_in,
                                                                          tmp_path):
    card_path, enrolment_id, milestone_id, title = _demo_person(live_server.app)

    # 1. The mediator validates the step.
    sign_in(page, "mediateur@demo.test")
    page.goto(f"/parcours/inscriptions/{enrolment_id}/etapes/{milestone_id}/valider")
    check_a11y(page)
    structure = page.get_by_label("Structure pour laquelle vous intervenez")
    if structure.count():
        structure.select_option(index=1)
    page.get_by_label("Ce que la personne a réalisé").fill("Réalisé seule, sans aide.")
    with page.expect_navigation():
        page.get_by_role("button", name="Valider l'étape").click()
    check_a11y(page)
    expect(page.get_by_role("status").first).to_contain_text("validée")

    # 2. The person opens the wallet from the card's QR code URL, on a phone.
    phone = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 360, "height": 740},
                                accept_downloads=True)
    try:
        wallet = phone.new_page()
        wallet.goto(card_path)
        assert wallet.url.endswith("/carnet/mon-carnet")
        check_a11y(wallet)
        badge = wallet.locator(".badge-tile", has=wallet.get_by_role("heading", name=title, exact=True))
        expect(badge).to_have_count(1)
        assert badge.get_by_role("img").get_attribute("alt").startswith(f"Badge « {title} » (")
        with wallet.expect_download() as download_info:
            badge.get_by_role("link", name="Télécharger").click()
        baked = tmp_path / "badge.png"
        download_info.value.save_as(baked)
        assert baked.read_bytes().startswith(b"\x89PNG")
        share = badge.get_by_role("link", name="Partager")
        wallet.goto(share.get_attribute("href"))
        check_a11y(wallet)
        expect(wallet.get_by_text("Ce badge est vrai et valable.")).to_be_visible()
    finally:
        phone.close()

    # The same wallet works without JavaScript (same pages, already checked above).
    no_js = browser.new_context(base_url=live_server.url, locale="fr-FR", java_script_enabled=False,
                                viewport={"width": 360, "height": 740})
    try:
        plain = no_js.new_page()
        plain.goto(card_path)
        expect(plain.get_by_role("heading", name=title, exact=True)).to_have_count(1)
    finally:
        no_js.close()

    # 3. The real validator checks the baked PNG, fetching the hosted documents on loopback.
    require_validator()
    request = {"input": {"file": str(baked)}, "recipient": None, "docs": None, "network": "loopback"}
    done = subprocess.run([str(PYTHON), str(RUNNER)], input=json.dumps(request), capture_output=True, text=True,
                          timeout=120, check=False)
    report = json.loads(done.stdout)
    assert report["valid"], report["messages"]
    assert report["badge"]["badge_name"] == title
    assert report["validationSubject"].startswith(live_server.url + "/ob/assertions/")
