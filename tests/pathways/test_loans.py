"""Lending mediators between communes: rules, the activity form's places, the directory."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mediation.directory import loans
from mediation.errors import DomainError, ValidationFailed
from mediation.types import local_today


def lend(session, actor, mediator, place, start=None, end=None, note=None):
    # Today's date read when the test runs, not when the module is imported (a run that crosses
    # midnight, Paris time, compared the day a loan was ended with the previous day).
    today = local_today()
    start = today if start is None else start
    end = today + timedelta(days=30) if end is None else end
    return loans.create_loan(session, actor, loans.LoanInput(mediator_id=mediator.id, place=place, starts_on=start,
                                                             ends_on=end, note=note))


def test_a_coordinator_lends_a_mediator_to_a_commune_and_the_form_offers_its_places(
        client, login, session, network, make_structure):
    today = local_today()
    annexe = make_structure(network.commune_b, name="Mairie annexe B")
    loan = lend(session, network.coordinator, network.mediator, f"commune:{network.commune_b.id}",
                note="Permanence du mardi")
    places = loans.loan_places_for(session, network.mediator, today)
    assert [c.name for c in places.communes] == ["Ville-B"]
    assert {s.name for s in places.structures} == {"Médiathèque B", "Mairie annexe B"}
    assert loans.loan_places_for(session, network.mediator, today + timedelta(days=31)).structures == []
    assert loans.loan_places_for(session, network.mediator_b, today).structures == []
    login(client, network.mediator)
    page = client.get("/activites/nouvelle").get_data(as_text=True)
    select = re.search(r'<select[^>]*id="place_structure_id".*?</select>', page, re.S).group(0)
    options = re.findall(r">([^<]+)</option>", select)
    # own structure first, then the places of the loan, then the rest of the territory
    assert options[1:4] == ["France Services A", annexe.name, "Médiathèque B"]
    assert loan.note == "Permanence du mardi"


def test_loans_are_visible_in_the_directory(client, login, session, network):
    lend(session, network.coordinator, network.mediator, f"structure:{network.structure_b.id}", note="Ateliers")
    login(client, network.coordinator)
    page = client.get(f"/annuaire/structures/{network.structure_b.id}").get_data(as_text=True)
    assert "Médiateurs mis à disposition" in page and network.mediator.full_name in page
    page = client.get(f"/annuaire/comptes/{network.mediator.id}").get_data(as_text=True)
    assert "Mises à disposition en cours" in page and "Médiathèque B" in page


def test_loan_rules(session, network):
    today = local_today()
    with pytest.raises(ValidationFailed) as error:
        loans.create_loan(session, network.coordinator, loans.LoanInput(
            mediator_id=network.mediator_far.id, place=f"commune:{network.commune_far.id}",
            starts_on=today, ends_on=today - timedelta(days=1)))
    assert set(error.value.errors) == {"mediator_id", "place", "ends_on"}
    with pytest.raises(ValidationFailed, match="un an au plus"):
        lend(session, network.coordinator, network.mediator, f"commune:{network.commune_b.id}",
             end=today + timedelta(days=400))
    with pytest.raises(ValidationFailed, match="travaille déjà pour cette structure"):
        lend(session, network.coordinator, network.mediator, f"structure:{network.structure_a.id}")
    lend(session, network.coordinator, network.mediator, f"commune:{network.commune_b.id}")
    with pytest.raises(ValidationFailed, match="déjà mis à disposition"):
        lend(session, network.coordinator, network.mediator, f"commune:{network.commune_b.id}",
             start=today + timedelta(days=10), end=today + timedelta(days=40))


def test_ending_a_loan_early_or_cancelling_a_future_one(session, network):
    today = local_today()
    running = lend(session, network.coordinator, network.mediator, f"commune:{network.commune_b.id}",
                   start=today - timedelta(days=5))
    loans.end_loan(session, network.coordinator, running)
    assert running.ends_on == today and running.cancelled_at is None
    future = lend(session, network.coordinator, network.aidant, f"commune:{network.commune_b.id}",
                  start=today + timedelta(days=3))
    loans.end_loan(session, network.coordinator, future)
    assert future.cancelled_at is not None
    with pytest.raises(DomainError, match="déjà terminée"):
        loans.end_loan(session, network.coordinator, future)
