"""Every page a person reads in « Mon carnet », rendered for a person like the demo's: six badges,
a mandate in force, a questionnaire due, the carnet opened by the printed card. Shared by the
readability and language tests (import the fixture ``carnet`` in the test module)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from mediation.badges import services as badge_services
from mediation.carnet import cards, wallet
from mediation.cases.services import live_case
from mediation.evaluation.models import FollowUp, FollowUpTrigger
from mediation.mandates import services as mandate_services
from mediation.mandates.enums import Demarche, IdentityCheck, MandateDuration
from mediation.types import local_today, utcnow

BASE = "https://mediation.example.org"


@dataclass
class Carnet:
    person: object
    printed: wallet.PrintedCard
    badges: list
    mandate: object
    follow_up: object
    wallet_uid: str

    def open(self, client):
        response = client.get(self.printed.url.replace(BASE, ""))
        assert response.status_code == 302


@pytest.fixture
def carnet(session, network, enrolled, steps, validate):
    enrolment = enrolled(first_name="Jeanne", email="jeanne.carnet@example.org", phone="0611223344")
    for step in steps[:4]:  # four steps, two levels: six badges
        validate(enrolment, step)
    person = enrolment.case.beneficiary
    badges = badge_services.assertions_of(session, person.id, live_only=True)
    assert len(badges) == 6, [b.badge_class.name for b in badges]
    checked = mandate_services.CheckedDraft(network.structure_a, person, [Demarche.PAPIERS, Demarche.SOCIAL],
                                            MandateDuration.MONTH, IdentityCheck.PIECE_IDENTITE, None)
    mandate = mandate_services.issue_mandate(session, network.aidant, checked, now=utcnow())
    case = live_case(session, person.id)
    follow_up = FollowUp(case_id=case.id, beneficiary_id=person.id, structure_id=case.structure_id,
                         trigger=FollowUpTrigger.CLOTURE, triggered_at=utcnow(),
                         due_on=local_today() - timedelta(days=1))
    session.add(follow_up)
    printed = wallet.print_card(session, network.mediator, person)
    session.commit()
    return Carnet(person, printed, badges, mandate, follow_up, badge_services.wallet_for(session, person).uid)


def pages(client, carnet: Carnet) -> dict[str, str]:
    """name → HTML of each page a person sees (the carnet opened in ``client``)."""
    def get(url: str) -> str:
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        return response.get_data(as_text=True)

    badge = carnet.badges[0]
    found = {"carte imprimée": cards.card_html(carnet.printed, structure_name="Espace numérique de Ville-A",
                                               language=carnet.person.language)}
    for name, url in (("saisie du code", "/carnet/"), ("demande de code", "/carnet/code"),
                      ("code à usage unique", "/carnet/code/saisir"),
                      ("carte désactivée", "/carnet/c/carte-inconnue"),
                      ("vérification publique", f"/badges/verifier/{badge.uid}"),
                      ("adresse du carnet", f"/carnet/identite/{carnet.wallet_uid}")):
        found[name] = get(url)
    carnet.open(client)
    found["carnet"] = get("/carnet/mon-carnet")
    found["emporter un badge"] = get(f"/carnet/badges/{badge.uid}/emporter")
    found["questionnaire"] = get(f"/carnet/questionnaire/{carnet.follow_up.id}")
    found["arrêt d’un mandat"] = get(f"/carnet/mandats/{carnet.mandate.id}/revocation")
    return found
