"""The wallet (« mon carnet »): opened by the card's QR URL or short code, or by a one-time code
sent by e-mail or SMS; a lost card is revoked; wrong codes are throttled."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mediation.badges.models import WalletAttempt, WalletCard
from mediation.carnet import wallet
from mediation.types import utcnow


@pytest.fixture
def card(session, network, issued):
    assertion = issued(email="jeanne@example.org", phone="0611223344")
    printed = wallet.print_card(session, network.mediator, assertion.beneficiary)
    session.commit()
    return printed


def opened(client) -> str:
    page = client.get("/carnet/mon-carnet")
    assert page.status_code == 200, page.headers.get("Location")
    return page.get_data(as_text=True)


def test_card_stores_only_hashes_and_a_code_without_ambiguous_letters(session, card):
    assert len(card.code) == 8 and not set(card.code) & set("IL01O")
    row = session.get(WalletCard, card.card.id)
    assert card.token not in (row.token_hash, row.code_hash) and card.code not in (row.token_hash, row.code_hash)


def test_qr_url_opens_the_wallet_with_badges_progress_and_download(client, card):
    response = client.get(card.url.replace("https://mediation.example.org", ""))
    assert response.status_code == 302 and response.headers["Location"].endswith("/carnet/mon-carnet")
    html = opened(client)
    assert "Bonjour Jeanne" in html
    assert "Prendre en main un ordinateur ou un smartphone" in html
    assert 'alt="Badge « Prendre en main un ordinateur ou un smartphone »' in html
    assert "Prochaine étape" in html and "Naviguer et chercher sur internet" in html
    assert "badge.png?telecharger=1" in html and "/badges/verifier/" in html
    assert "Mes mandats en cours" in html
    # Complete without JavaScript: the only script is the optional « Écouter » (read aloud) file.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/js/listen.js" defer>']


def test_short_code_opens_the_wallet_whatever_the_typing(client, card):
    typed = f" {card.code[:4].lower()} - {card.code[4:]} "
    response = client.post("/carnet/", data={"code": typed})
    assert response.status_code == 302
    assert "Bonjour Jeanne" in opened(client)


def test_lost_card_is_revoked_and_reprint_replaces_it(session, client, network, card):
    wallet.revoke_card(session, network.mediator, card.card)
    session.commit()
    assert client.get(card.url.replace("https://mediation.example.org", "")).status_code == 404
    response = client.post("/carnet/", data={"code": card.code})
    assert "ne correspond à aucune carte" in response.get_data(as_text=True)
    again = wallet.print_card(session, network.mediator, card.card.wallet.beneficiary)
    session.commit()
    assert client.post("/carnet/", data={"code": again.code}).status_code == 302


def test_revoking_the_card_closes_an_open_wallet(session, client, network, card):
    client.get(card.url.replace("https://mediation.example.org", ""))
    opened(client)
    wallet.revoke_card(session, network.mediator, card.card)
    session.commit()
    assert client.get("/carnet/mon-carnet").status_code == 302


def test_reprint_revokes_the_previous_card(session, network, card):
    again = wallet.print_card(session, network.mediator, card.card.wallet.beneficiary)
    assert session.get(WalletCard, card.card.id).revoked_at is not None
    assert again.card.revoked_at is None


def test_five_wrong_codes_lock_for_fifteen_minutes(session, client, card):
    for _ in range(4):
        page = client.post("/carnet/", data={"code": "AAAA-AAAA"})
        assert page.status_code == 422 and "ne correspond à aucune carte" in page.get_data(as_text=True)
    fifth = client.post("/carnet/", data={"code": "AAAA-AAAA"})
    assert fifth.status_code == 422 and "Trop de codes erronés" in fifth.get_data(as_text=True)
    locked = client.post("/carnet/", data={"code": card.code})  # even the right code
    assert locked.status_code == 429
    assert "Trop de codes erronés" in locked.get_data(as_text=True)
    assert "15 minutes" in locked.get_data(as_text=True)
    # 16 minutes later, the right code works
    for attempt in session.query(WalletAttempt).all():
        attempt.at = attempt.at - timedelta(minutes=16)
    session.commit()
    assert client.post("/carnet/", data={"code": card.code}).status_code == 302


def test_one_time_code_by_email(session, client, outbox, card):
    response = client.post("/carnet/code", data={"contact": "JEANNE@example.org"})
    assert response.status_code == 302
    message = outbox[-1]
    assert message["To"] == "jeanne@example.org"
    code = re.search(r"\b(\d{6})\b", message.get_content()).group(1)
    page = client.post("/carnet/code/saisir", data={"contact": "jeanne@example.org", "code": code})
    assert page.status_code == 302
    assert "Bonjour Jeanne" in opened(client)
    # used once
    client.post("/carnet/quitter")
    again = client.post("/carnet/code/saisir", data={"contact": "jeanne@example.org", "code": code})
    assert "pas valable" in again.get_data(as_text=True)


def test_one_time_code_by_sms_log(app, session, client, card):
    app.extensions["sms_outbox"] = []
    client.post("/carnet/code", data={"contact": "06 11 22 33 44"})
    sms = app.extensions["sms_outbox"][-1]
    assert sms["to"] == "+33611223344"
    code = re.search(r"\b(\d{6})\b", sms["body"]).group(1)
    assert client.post("/carnet/code/saisir", data={"contact": "+33611223344", "code": code}).status_code == 302


def test_unknown_contact_gets_the_same_answer_and_nothing_is_sent(client, outbox, card):
    response = client.post("/carnet/code", data={"contact": "inconnu@example.org"}, follow_redirects=True)
    assert "Si nous connaissons cet e-mail ou ce numéro" in response.get_data(as_text=True)
    assert outbox == []


def test_expired_one_time_code_is_refused(session, client, outbox, card):
    client.post("/carnet/code", data={"contact": "jeanne@example.org"})
    code = re.search(r"\b(\d{6})\b", outbox[-1].get_content()).group(1)
    for row in session.query(wallet.WalletCode).all():
        row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    page = client.post("/carnet/code/saisir", data={"contact": "jeanne@example.org", "code": code})
    assert "pas valable" in page.get_data(as_text=True)


def test_one_time_code_attempts_are_throttled_per_contact(session, client, card):
    for n in range(5):
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n}"  # another client each time
        client.post("/carnet/code/saisir", data={"contact": "jeanne@example.org", "code": "000000"})
    client.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    locked = client.post("/carnet/code/saisir", data={"contact": "jeanne@example.org", "code": "123456"})
    assert locked.status_code == 429


def test_wallet_without_session_sends_to_the_code_page(client):
    response = client.get("/carnet/mon-carnet")
    assert response.status_code == 302 and response.headers["Location"].endswith("/carnet/")
    assert "Mon carnet" in client.get("/carnet/").get_data(as_text=True)


def test_wallet_api_with_the_card_token(client, card):
    assert client.get("/api/v1/carnet").status_code == 401
    response = client.get("/api/v1/carnet", headers={"Authorization": f"Bearer {card.token}"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["prenom"] == "Jeanne" and body["badges"][0]["nom"]
    assert body["parcours"][0]["prochaine_etape"] == "Naviguer et chercher sur internet"


def test_printed_card_pdf_has_the_code(session, client, login, network, issued):
    assertion = issued(email="x@example.org")
    session.commit()
    login(client, network.mediator)
    from mediation.cases.services import live_case

    case = live_case(session, assertion.beneficiary_id)
    response = client.post(f"/badges/dossiers/{case.id}/carte")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    import io

    from pypdf import PdfReader

    text = " ".join(PdfReader(io.BytesIO(response.get_data())).pages[0].extract_text().split())
    assert "Mon carnet" in text
    assert re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}", text)
