"""The follow-up questionnaire answered by the person from their wallet: shown when due, recorded
with the « portefeuille » channel, bad answers refused in French with nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.carnet import wallet
from mediation.cases.services import live_case
from mediation.evaluation.models import FollowUp, FollowUpChannel, FollowUpStatus, FollowUpTrigger
from mediation.types import local_today, utcnow


@pytest.fixture
def opened(session, client, network, issued):
    """(client with the wallet opened by the card, the person's due follow-up)."""
    assertion = issued(email="suivi@example.org")
    person = assertion.beneficiary
    printed = wallet.print_card(session, network.mediator, person)
    case = live_case(session, person.id)
    follow_up = FollowUp(case_id=case.id, beneficiary_id=person.id, structure_id=case.structure_id,
                         trigger=FollowUpTrigger.CLOTURE, triggered_at=utcnow(),
                         due_on=local_today() - timedelta(days=1))
    session.add(follow_up)
    session.commit()
    assert client.get(printed.url.replace("https://mediation.example.org", "")).status_code == 302
    return client, follow_up


def _events(session):
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "follow_up.recorded")).all()


def test_wallet_shows_the_pending_questionnaire_and_records_the_answers(session, opened):
    client, follow_up = opened
    home = client.get("/carnet/mon-carnet").get_data(as_text=True)
    assert "Une question pour vous" in home
    assert f'href="/carnet/questionnaire/{follow_up.id}"' in home
    page = client.get(f"/carnet/questionnaire/{follow_up.id}").get_data(as_text=True)
    assert page.count('type="radio"') == 3 * 3 + 6 and "<legend>" in page and "<script" not in page
    response = client.post(f"/carnet/questionnaire/{follow_up.id}", data={
        "online_alone": "oui", "job_or_training": "", "less_isolated": "non", "comfort_now": "4"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/carnet/mon-carnet")
    session.expire_all()
    answered = session.get(FollowUp, follow_up.id)
    assert answered.status == FollowUpStatus.REPONDU and answered.channel == FollowUpChannel.PORTEFEUILLE
    assert (answered.online_alone, answered.job_or_training, answered.less_isolated, answered.comfort_now) == (
        True, None, False, 4)
    assert [e.details["channel"] for e in _events(session)] == ["portefeuille"]
    home = client.get("/carnet/mon-carnet").get_data(as_text=True)
    assert "Merci ! Nous avons bien vos réponses." in home and "Une question pour vous" not in home
    again = client.post(f"/carnet/questionnaire/{follow_up.id}", data={"online_alone": "non"})
    assert again.status_code == 302 and len(_events(session)) == 1  # answered once only


@pytest.mark.parametrize(("data", "message", "status"), [  # 422: refused by the service; 200: by the form
    ({"comfort_now": "9"}, "aisance se note de 1 à 5.", 422),
    ({"online_alone": "peut-être"}, "Choisissez « Oui » ou « Non »", 200),
    ({"comfort_now": "beaucoup"}, "Choisissez un chiffre de 1 à 5.", 200),
    ({}, "Répondez à une question au moins", 200),
])
def test_invalid_answers_get_a_french_message_and_nothing_is_written(session, opened, data, message, status):
    client, follow_up = opened
    response = client.post(f"/carnet/questionnaire/{follow_up.id}", data=data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(FollowUp, follow_up.id).status == FollowUpStatus.A_FAIRE
    assert _events(session) == []


def test_questionnaire_needs_an_opened_wallet_and_a_due_follow_up_of_that_person(app, session, opened):
    client, follow_up = opened
    stranger = app.test_client()
    response = stranger.post(f"/carnet/questionnaire/{follow_up.id}", data={"online_alone": "oui"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/carnet/")
    response = client.get(f"/carnet/questionnaire/{follow_up.id + 1000}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/carnet/mon-carnet")
    follow_up.due_on = local_today() + timedelta(days=10)
    session.commit()
    assert "Une question pour vous" not in client.get("/carnet/mon-carnet").get_data(as_text=True)
    assert client.get(f"/carnet/questionnaire/{follow_up.id}").status_code == 302
    assert _events(session) == []
