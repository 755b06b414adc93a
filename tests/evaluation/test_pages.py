"""Evaluation pages through the real forms: dashboards per role with filters in the query string,
French errors on bad filters, programme and funder management, follow-up calls, reports list."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from mediation.cases.enums import CaseState
from mediation.evaluation import services
from mediation.evaluation.models import FollowUp, FollowUpStatus, Funder, Programme
from tests.evaluation.conftest import YEAR, at


def page(client, url, status=200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def test_coordinator_compares_mediators_and_communes(client, login, network, build):
    for i in range(6):
        build.activity(date(YEAR, 2, 1 + i), [build.person()])
    build.activity(date(YEAR, 2, 9), [build.person(network.structure_b)], structure=network.structure_b,
                   mediator=network.mediator_b)
    build.done()
    login(client, network.coordinator)
    html = page(client, f"/evaluation/?du={YEAR}-01-01&au={YEAR}-12-31&comparer=mediateurs")
    assert "Indicateurs par médiateur" in html and network.mediator.full_name in html
    assert 'role="img"' in html and "<title id=" in html and "<desc id=" in html
    html = page(client, f"/evaluation/?du={YEAR}-01-01&au={YEAR}-12-31&comparer=communes")
    assert "Indicateurs par commune" in html and "Ville-A" in html
    # The link to share reproduces the filters.
    assert f"du={YEAR}-01-01&amp;au={YEAR}-12-31" in html


def test_bad_filters_are_explained_in_french(client, login, network):
    login(client, network.coordinator)
    html = page(client, "/evaluation/?du=2026-02-30&au=hier", 400)
    assert "Saisissez une date au format AAAA-MM-JJ" in html
    assert 'aria-invalid="true"' in html and 'href="#f-du"' in html
    html = page(client, "/evaluation/?du=2026-05-01&au=2026-01-01", 400)
    assert "La date de fin doit être postérieure" in html
    assert client.get("/evaluation/?structure=abc").status_code == 400
    assert client.get("/evaluation/export.csv?du=n'importe").status_code == 400


def test_mediator_sees_own_structure_and_own_figures(client, login, network, build):
    build.activity(date(YEAR, 3, 3), [build.person()])
    build.done()
    login(client, network.mediator)
    html = page(client, f"/evaluation/?du={YEAR}-01-01&au={YEAR}-12-31&mediateur={network.mediator.id}")
    assert "Mes propres activités" in html and "Comparer" not in html
    assert page(client, f"/evaluation/?mediateur={network.mediator_b.id}", 404)


def test_funder_gets_their_programme_by_default(client, login, network, funder_setup):
    login(client, network.funder)
    html = page(client, "/evaluation/")
    assert "Conseillers numériques (État — ANCT)" in html
    assert f"du 1 janvier {YEAR} au 31 décembre {YEAR}" in html  # the programme's period by default
    assert "Inclusion métropole" not in html  # the other funder's programme is not offered
    html = page(client, "/evaluation/programmes")
    assert "Conseillers numériques" in html and "Inclusion métropole" not in html


def test_admin_creates_funder_and_programme_through_the_forms(client, login, network, session):
    login(client, network.admin)
    response = client.post("/evaluation/financeurs", data={"name": "", "kind": "caf"})
    assert response.status_code == 422 and "Indiquez le nom du financeur" in response.get_data(as_text=True)
    assert client.post("/evaluation/financeurs", data={"name": "CAF 76", "kind": "caf"}).status_code == 302
    funder = session.scalar(sa.select(Funder).where(Funder.name == "CAF 76"))
    response = client.post("/evaluation/programmes/nouveau", data={
        "name": "Parentalité numérique", "funder_id": funder.id, "starts_on": f"{YEAR}-01-01",
        "ends_on": f"{YEAR - 1}-12-31", "territory_id": network.territory.id})
    assert response.status_code == 422
    assert "La date de fin doit être postérieure" in response.get_data(as_text=True)
    response = client.post("/evaluation/programmes/nouveau", data={
        "name": "Parentalité numérique", "funder_id": funder.id, "starts_on": f"{YEAR}-01-01",
        "ends_on": f"{YEAR}-12-31", "territory_id": network.territory.id,
        "structure_ids": [network.structure_a.id, network.structure_b.id]})
    assert response.status_code == 302
    programme = session.scalar(sa.select(Programme).where(Programme.name == "Parentalité numérique"))
    assert sorted(s.id for s in programme.structures) == sorted([network.structure_a.id, network.structure_b.id])
    html = page(client, f"/evaluation/programmes/{programme.id}")
    assert "France Services A" in html and "Attribuer l'activité" in html
    response = client.post(f"/evaluation/programmes/{programme.id}/attributions", data={"activity_id": "999999"})
    assert response.status_code == 302
    assert "Aucune activité de votre périmètre" in page(client, f"/evaluation/programmes/{programme.id}")
    client.post(f"/evaluation/financeurs/{funder.id}/comptes", data={"user_id": network.funder.id})
    assert network.funder.funder_id == funder.id


def test_mediator_records_a_follow_up_call(client, login, network, build, session):
    person = build.person(phone="0612345678")
    case = build.case(person, state=CaseState.CLOSED, opened=date(YEAR, 1, 5))
    case.closed_at = at(date(YEAR, 1, 5))
    session.flush()
    services.schedule_follow_ups(session, delay_days=10)
    follow_up = session.scalar(sa.select(FollowUp))
    login(client, network.mediator)
    html = page(client, "/evaluation/relances")
    assert person.display_name in html
    html = page(client, f"/evaluation/relances/{follow_up.id}")
    assert "0612345678" in html and "Avez-vous trouvé un emploi ou une formation" in html
    response = client.post(f"/evaluation/relances/{follow_up.id}", data={"status": "repondu", "comfort_now": "9"})
    assert response.status_code == 422
    response = client.post(f"/evaluation/relances/{follow_up.id}", data={
        "status": "repondu", "online_alone": "oui", "job_or_training": "", "less_isolated": "non",
        "comfort_now": "4"})
    assert response.status_code == 302
    session.refresh(follow_up)
    assert (follow_up.status, follow_up.online_alone, follow_up.less_isolated, follow_up.job_or_training,
            follow_up.comfort_now) == (FollowUpStatus.REPONDU, True, False, None, 4)
    client.post("/deconnexion")
    login(client, network.coordinator)
    html = page(client, f"/evaluation/relances/{follow_up.id}")
    assert "0612345678" not in html and person.first_name not in html
