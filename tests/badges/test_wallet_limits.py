"""Wallet rate limits on both storages of the counters (database, then Redis): wrong card codes,
and requests for a one-time code (per contact and per client address, nothing sent when limited)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from mediation.badges.models import WalletAttempt
from mediation.carnet import wallet
from tests.conftest import move_ratelimit_entries_back, ratelimit_redis_entries

pytestmark = pytest.mark.usefixtures("ratelimit_backend")
TOO_MANY = "Trop de demandes de code. Attendez 15 minutes avant de demander un code."


@pytest.fixture
def card(session, network, issued):
    assertion = issued(email="jeanne@example.org", phone="0611223344")
    printed = wallet.print_card(session, network.mediator, assertion.beneficiary)
    session.commit()
    return printed


def time_passes(session, minutes: int) -> None:
    """Every try recorded so far happened ``minutes`` earlier, whichever the storage."""
    for attempt in session.scalars(sa.select(WalletAttempt)):
        attempt.at -= timedelta(minutes=minutes)
    session.flush()
    move_ratelimit_entries_back(current_app, minutes * 60)


def ask(client, contact: str, ip: str = "192.0.2.1"):
    return client.post("/carnet/code", data={"contact": contact}, environ_base={"REMOTE_ADDR": ip})


def page(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def test_five_wrong_card_codes_lock_the_client_for_fifteen_minutes(session, client, card):
    for _ in range(4):
        assert "ne correspond à aucune carte" in page(client.post("/carnet/", data={"code": "AAAA-AAAA"}))
    fifth = client.post("/carnet/", data={"code": "AAAA-AAAA"})
    assert fifth.status_code == 422 and "Trop de codes erronés" in page(fifth)
    locked = client.post("/carnet/", data={"code": card.code})  # even the right code
    assert locked.status_code == 429 and "Attendez 15 minutes, puis essayez encore" in page(locked)
    time_passes(session, 16)
    assert client.post("/carnet/", data={"code": card.code}).status_code == 302


def test_a_right_card_code_resets_the_count(session, client, card):
    for _ in range(4):
        client.post("/carnet/", data={"code": "AAAA-AAAA"})
    assert client.post("/carnet/", data={"code": card.code}).status_code == 302
    client.post("/carnet/quitter")
    for _ in range(4):  # without the reset, the first of these would lock
        assert "ne correspond à aucune carte" in page(client.post("/carnet/", data={"code": "AAAA-AAAA"}))
    assert "Trop de codes erronés" in page(client.post("/carnet/", data={"code": "AAAA-AAAA"}))


def test_code_requests_are_limited_per_contact_and_nothing_is_sent(app, session, client, outbox, card):
    app.extensions["sms_outbox"] = []
    for n in range(3):
        assert ask(client, "jeanne@example.org", ip=f"192.0.2.{n + 1}").status_code == 302
    assert len(outbox) == 3
    # The fourth request within 15 minutes, from another address and typed differently: refused.
    refused = ask(client, " JEANNE@example.org ", ip="198.51.100.7")
    assert refused.status_code == 429 and TOO_MANY in page(refused)
    assert len(outbox) == 3
    # Other contacts are not affected (the phone of the same person counts separately).
    assert ask(client, "06 11 22 33 44", ip="198.51.100.7").status_code == 302
    assert len(app.extensions["sms_outbox"]) == 1
    time_passes(session, 15)
    assert ask(client, "jeanne@example.org").status_code == 302
    assert len(outbox) == 4


def test_unknown_contacts_are_limited_the_same_way(client, outbox, card):
    """The limit must not tell whether a contact is known."""
    for _ in range(3):
        assert ask(client, "inconnu@example.org").status_code == 302
    refused = ask(client, "inconnu@example.org")
    assert refused.status_code == 429 and TOO_MANY in page(refused)
    assert outbox == []


def test_code_requests_are_limited_per_client_address(client, outbox, card):
    for n in range(20):
        assert ask(client, f"personne{n}@example.org", ip="203.0.113.9").status_code == 302
    refused = ask(client, "jeanne@example.org", ip="203.0.113.9")
    assert refused.status_code == 429 and TOO_MANY in page(refused)
    assert outbox == []  # the known contact got nothing either
    # Another address is not affected.
    assert ask(client, "jeanne@example.org", ip="203.0.113.10").status_code == 302
    assert len(outbox) == 1


def test_a_refused_request_is_not_counted(session, client, outbox, card):
    for _ in range(3):
        ask(client, "jeanne@example.org")
    for _ in range(5):
        assert ask(client, "jeanne@example.org").status_code == 429
    time_passes(session, 15)  # 15 minutes after the third request, not after the refused ones
    assert ask(client, "jeanne@example.org").status_code == 302


def test_the_counters_hold_no_contact_or_address_in_clear(session, client, card):
    ask(client, "jeanne@example.org", ip="192.0.2.44")
    client.post("/carnet/", data={"code": "AAAA-AAAA"}, environ_base={"REMOTE_ADDR": "192.0.2.44"})
    stored = " ".join(list(ratelimit_redis_entries(current_app))
                      + list(session.scalars(sa.select(WalletAttempt.key_hash))))
    assert stored.strip()
    for secret in ("jeanne", "example.org", "192.0.2.44"):
        assert secret not in stored


WRONG = "ne correspond à aucune carte"
LOCKED = "Trop de codes erronés. Attendez 15 minutes, puis essayez encore."


def refusal(response) -> str:
    """The refusal paragraph of the wallet's entry page."""
    text = page(response)
    start = text.index("Trop de codes erronés")
    return text[start:text.index("essayez encore.", start)]


def test_alternating_wrong_codes_with_ones_own_card_gives_no_fresh_count(session, client, card):
    """The attack: wrong codes, then one's own valid card to reset the count, again and again. The
    card forgives the address once per 15 minutes: 8 wrong codes at most, then the lock."""
    answered = 0
    for _ in range(10):
        for _ in range(4):
            response = client.post("/carnet/", data={"code": "AAAA-AAAA"})
            answered += WRONG in page(response)
        client.post("/carnet/", data={"code": card.code})
        client.post("/carnet/quitter")
    assert answered == 8  # 4 + 4 (one reset), then the fifth locks; nothing answered after
    locked = client.post("/carnet/", data={"code": card.code})
    assert locked.status_code == 429 and LOCKED in page(locked)
    time_passes(session, 16)
    assert client.post("/carnet/", data={"code": card.code}).status_code == 302


def test_another_persons_right_code_does_not_reset_an_address(session, client, network, issued, card):
    """Two cards used from the same address (a shared computer): each forgives once, never more."""
    other = wallet.print_card(session, network.mediator, issued(first_name="Paul").beneficiary)
    session.commit()
    for own in (card, other):
        for _ in range(4):
            assert WRONG in page(client.post("/carnet/", data={"code": "AAAA-AAAA"}))
        assert client.post("/carnet/", data={"code": own.code}).status_code == 302
        client.post("/carnet/quitter")
    for _ in range(4):
        assert WRONG in page(client.post("/carnet/", data={"code": "AAAA-AAAA"}))
    assert client.post("/carnet/", data={"code": card.code}).status_code == 302  # no third forgiveness
    client.post("/carnet/quitter")
    assert LOCKED in page(client.post("/carnet/", data={"code": "AAAA-AAAA"}))


def _behind_proxy(app):
    from mediation import create_app

    keys = ("TESTING", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "SECRET_KEY", "MEDIATION_PUBLIC_BASE_URL",
            "SESSION_COOKIE_SECURE", "MEDIATION_OUTBOX_DIR", "MEDIATION_ENV", "REDIS_URL", "MEDIATION_RATELIMIT_REDIS_PREFIX",
            "MEDIATION_JOBS_BACKEND")
    return create_app({**{key: app.config[key] for key in keys if key in app.config}, "MEDIATION_TRUSTED_PROXIES": 1})


def test_changing_client_address_gives_no_fresh_tries(app, session, card, caplog):
    """The attack: 4 wrong codes from each of many addresses (behind the trusted proxy, each has its
    own per-address count). The count over all card codes locks code entry for everyone after 30,
    with the same answer; a WARNING without any code or address is logged once."""
    import logging

    caplog.set_level(logging.WARNING, logger="mediation.ratelimit")
    per_address = app.test_client()  # first, the per-address lock (5 wrong codes, counted in the 30)
    for _ in range(5):
        per_address.post("/carnet/", data={"code": "AAAA-AAAA"}, environ_base={"REMOTE_ADDR": "192.0.2.200"})
    address_refusal = per_address.post("/carnet/", data={"code": "AAAA-AAAA"},
                                       environ_base={"REMOTE_ADDR": "192.0.2.200"})
    assert address_refusal.status_code == 429
    behind = _behind_proxy(app)
    try:
        client = behind.test_client()

        def post(code: str, address: str):
            return client.post("/carnet/", data={"code": code}, headers={"X-Forwarded-For": address},
                               environ_base={"REMOTE_ADDR": "10.0.0.1"})

        answered, refused = 0, []
        for n in range(20):
            for _ in range(4):
                response = post("AAAA-AAAA", f"203.0.113.{n}")
                answered += WRONG in page(response)
                if LOCKED in page(response):
                    refused.append(response)
        assert answered == 24 and refused  # with the 5 above, the 30th wrong code locks, for every address
        fresh = post(card.code, "198.51.100.77")  # a new address, the right code
        assert fresh.status_code == 429
        assert refusal(fresh) == refusal(address_refusal)  # nothing tells which limit holds
    finally:
        with behind.app_context():
            from mediation.extensions import db

            db.engine.dispose()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "wallet-card-codes" in r.getMessage()]
    assert len(warnings) == 1
    assert "30 failures within 15 min" in warnings[0].getMessage()
    for secret in ("AAAA", "203.0.113", "198.51.100", card.code, card.code[:4]):
        assert secret not in caplog.text
    time_passes(session, 16)
    assert app.test_client().post("/carnet/", data={"code": card.code}).status_code == 302


def test_a_success_with_nothing_to_forgive_keeps_the_forgiveness(session, client, card):
    """The person opens their wallet, later mistypes 4 times and gets it right: forgiven then."""
    assert client.post("/carnet/", data={"code": card.code}).status_code == 302
    client.post("/carnet/quitter")
    for _ in range(4):
        assert WRONG in page(client.post("/carnet/", data={"code": "AAAA-AAAA"}))
    assert client.post("/carnet/", data={"code": card.code}).status_code == 302
    client.post("/carnet/quitter")
    for _ in range(4):
        assert WRONG in page(client.post("/carnet/", data={"code": "AAAA-AAAA"}))
