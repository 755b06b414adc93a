"""The equipment pages seen by each role: names for mediators only, the session's equipment step on
the activity page, the signed scan checked by its content, the wallet's current loans."""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.carnet import wallet
from mediation.equipment import services
from mediation.types import local_today


def test_the_activity_page_offers_the_equipment_step_then_links_the_device(
        session, client, login, network, make_beneficiary, make_session_activity, make_device, lend):
    person = make_beneficiary(first_name="Odile")
    activity = make_session_activity(person)
    login(client, network.mediator)
    page = client.get(f"/activites/{activity.id}").get_data(as_text=True)
    assert "Prêter ou donner un appareil de l’inventaire" in page
    assert f"/materiel/remise?activite={activity.id}" in page
    device = make_device(model="Galaxy Tab S6")
    form = client.get(f"/materiel/remise?activite={activity.id}").get_data(as_text=True)
    assert "Galaxy Tab S6" in form and "Odile" in form
    loan = lend(device, person, activity=activity)
    page = client.get(f"/activites/{activity.id}").get_data(as_text=True)
    assert f"/materiel/{device.id}" in page and loan.reference in page
    assert "Remettre un autre appareil" in page


def test_coordinators_see_the_inventory_without_names(session, client, login, network, make_device,
                                                      make_beneficiary, lend):
    loan = lend(make_device(), make_beneficiary(first_name="Huguette", last_name="Secret"))
    login(client, network.coordinator)
    page = client.get(f"/materiel/remises/{loan.id}").get_data(as_text=True)
    assert "Secret" not in page and loan.beneficiary.pseudonym in page
    assert "Imprimer la convention" not in page
    assert client.get(f"/materiel/remises/{loan.id}/convention.pdf").status_code == 403


def test_a_scan_that_is_not_a_pdf_nor_an_image_is_refused(session, client, login, network, make_device,
                                                         make_beneficiary, lend):
    loan = lend(make_device(), make_beneficiary())
    login(client, network.mediator)
    refused = client.post(f"/materiel/remises/{loan.id}/convention-signee",
                          data={"scan": (io.BytesIO(b"PK\x03\x04 a zip"), "convention.pdf")})
    assert refused.status_code == 422
    assert "ni un PDF, ni une image JPEG ou PNG" in refused.get_data(as_text=True)
    accepted = client.post(f"/materiel/remises/{loan.id}/convention-signee",
                           data={"scan": (io.BytesIO(b"\xff\xd8\xff\xe0 jpeg"), "scan.jpg")})
    assert accepted.status_code == 302
    download = client.get(f"/materiel/remises/{loan.id}/convention-signee.jpg")
    assert download.status_code == 200 and download.mimetype == "image/jpeg"
    assert session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "equipment.scan_attached")) == 1


def test_the_wallet_shows_current_loans_and_due_dates(session, client, network, make_device, make_beneficiary,
                                                      lend):
    person = make_beneficiary(first_name="Yvette")
    lend(make_device(kind="cle_4g", model="Huawei E3372"), person, days=12)
    printed = wallet.print_card(session, network.mediator, person)
    session.commit()
    assert client.post("/carnet/", data={"code": printed.code}).status_code == 302
    home = client.get("/carnet/mon-carnet").get_data(as_text=True)
    assert "Matériel prêté" in home and "Clé 4G Huawei E3372" in home
    due = local_today() + timedelta(days=12)
    assert str(due.year) in home and "France Services A" in home


def test_inventory_and_device_pages_run_a_constant_number_of_queries(session, client, login, network, make_device,
                                                                     make_beneficiary, lend):
    from datetime import date

    from tests.helpers import count_queries

    def queries(url):
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    login(client, network.mediator)
    first = make_device()
    lend(first, make_beneficiary(), started_on=date(2026, 1, 2), due_on=date(2026, 1, 20))  # overdue
    few_list, few_detail = queries("/materiel/"), queries(f"/materiel/{first.id}")
    for _ in range(6):
        device = make_device()
        lend(device, make_beneficiary(), started_on=date(2026, 1, 2), due_on=date(2026, 1, 20))
        services.return_device(session, network.mediator, device.handovers[0], condition="bon",
                               returned_on=date(2026, 1, 15))
        lend(device, make_beneficiary(), started_on=date(2026, 2, 2), due_on=date(2026, 2, 20))
    assert queries("/materiel/") == few_list
    assert queries(f"/materiel/{device.id}") == few_detail
