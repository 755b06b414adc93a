"""A wrong wallet code is counted (wallet.WRONG_CODES) although the request answers 422 and is
rolled back (mediation.web.keep_despite_error); nothing else of the request is saved."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.badges.models import WalletAttempt, WalletCard, WalletCode
from mediation.carnet import wallet
from tests.row_counts import added_rows, row_counts


@pytest.fixture
def card(session, network, issued):
    assertion = issued(email="jeanne@example.org", phone="0611223344")
    printed = wallet.print_card(session, network.mediator, assertion.beneficiary)
    session.commit()
    return printed


def wrong_tries(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(WalletAttempt).where(~WalletAttempt.success))


def test_a_wrong_card_code_is_counted_and_nothing_else(session, client, card):
    before, last_used = row_counts(session), card.card.last_used_at
    response = client.post("/carnet/", data={"code": "AAAA-AAAA"})
    assert response.status_code == 422
    assert "ne correspond à aucune carte" in response.get_data(as_text=True)
    assert added_rows(session, before) == {"wallet_attempts": 2}  # for this client, and among all wrong card codes
    assert wrong_tries(session) == 2
    assert session.get(WalletCard, card.card.id).last_used_at == last_used
    assert client.get("/carnet/mon-carnet").status_code == 302  # not opened


def test_a_wrong_one_time_code_is_counted_and_nothing_else(session, client, card):
    assert client.post("/carnet/code", data={"contact": "jeanne@example.org"}).status_code == 302
    before, tries = row_counts(session), wrong_tries(session)  # the code request counts as a "try" too
    response = client.post("/carnet/code/saisir", data={"contact": "jeanne@example.org", "code": "000000"})
    assert response.status_code == 422
    assert "pas valable" in response.get_data(as_text=True)
    assert added_rows(session, before) == {"wallet_attempts": 2}  # for this client and for this contact
    assert wrong_tries(session) == tries + 2
    assert session.scalar(sa.select(sa.func.count()).select_from(WalletCode).where(WalletCode.used_at.is_not(None))) == 0
