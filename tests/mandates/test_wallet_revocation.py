"""From their wallet, the person sees the mandates in force and asks the structure to stop one
(some démarches or all): the request is tracked for the structure's aidants, nothing is revoked
until an aidant acts on it."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.carnet import wallet
from mediation.mandates.enums import Demarche, RevocationChannel
from mediation.mandates.models import RevocationRequest


def open_wallet(session, client, network, person):
    printed = wallet.print_card(session, network.mediator, person)
    session.commit()
    assert client.get(printed.url.replace("https://mediation.example.org", "")).status_code == 302


def requests_of(session, mandate):
    return session.scalars(sa.select(RevocationRequest).where(RevocationRequest.mandate_id == mandate.id)).all()


def test_the_person_asks_to_stop_one_demarche_from_the_wallet(session, client, network, person, make_mandate):
    mandate = make_mandate(demarches=(Demarche.PAPIERS, Demarche.SOCIAL))
    open_wallet(session, client, network, person)
    home = client.get("/carnet/mon-carnet").get_data(as_text=True)
    assert "Mes mandats en cours" in home and "Demander l’arrêt de ce mandat" in home
    assert Demarche.SOCIAL.label in home
    page = client.get(f"/carnet/mandats/{mandate.id}/revocation").get_data(as_text=True)
    assert "Arrêter un mandat" in page and Demarche.PAPIERS.label in page
    response = client.post(f"/carnet/mandats/{mandate.id}/revocation", data={"demarches": ["social"]})
    assert response.status_code == 302
    [request] = requests_of(session, mandate)
    assert request.channel == RevocationChannel.PORTEFEUILLE and request.demarches == ["social"]
    assert len(mandate.live_authorizations()) == 2  # an aidant still has to act on it


def test_no_demarche_chosen_is_refused_in_french_and_nothing_is_recorded(session, client, network, person,
                                                                         make_mandate):
    mandate = make_mandate()
    open_wallet(session, client, network, person)
    response = client.post(f"/carnet/mandats/{mandate.id}/revocation", data={})
    assert response.status_code == 200
    assert "Cochez au moins une démarche." in response.get_data(as_text=True)
    assert requests_of(session, mandate) == []


def test_someone_elses_mandate_cannot_be_reached_from_a_wallet(session, client, network, person, make_person,
                                                               make_mandate):
    other = make_mandate(beneficiary=make_person(first_name="Autre"))
    open_wallet(session, client, network, person)
    response = client.post(f"/carnet/mandats/{other.id}/revocation", data={"demarches": ["papiers"]})
    assert response.status_code == 302 and response.headers["Location"].endswith("/carnet/mon-carnet")
    assert requests_of(session, other) == []


def test_without_an_opened_wallet_the_page_sends_to_the_card_code(client, network, make_mandate):
    mandate = make_mandate()
    response = client.get(f"/carnet/mandats/{mandate.id}/revocation")
    assert response.status_code == 302 and response.headers["Location"].endswith("/carnet/")
