"""The journeys through the pages (server-rendered, no JavaScript): refer and book with the person
present, the receiving place's agenda and attendance honouring the referral, the person cancelling
from nowhere else than a mediator, and the public guide."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from mediation.appointments.models import Appointment, AppointmentState
from mediation.pathways.enums import ReferralStatus
from mediation.pathways.models import Referral
from mediation.types import utcnow
from tests.appointments.conftest import SERVICE


def test_a_mediator_refers_and_books_then_the_place_records_attendance(client, login, session, network, offer, person):
    offer()
    case = person(network_consent=True, first_name="Aline", last_name="Rendezvous")
    login(client, network.mediator)
    page = client.get(f"/rendez-vous/dossiers/{case.id}/orienter", query_string={"service": SERVICE})
    assert page.status_code == 200 and "Médiathèque B" in page.text
    page = client.get(f"/rendez-vous/dossiers/{case.id}/orienter",
                      query_string={"service": SERVICE, "lieu": network.structure_b.id})
    assert "Orienter et réserver" in page.text
    slot = page.text.split('name="slot" id="slot-1" value="')[1].split('"')[0]
    done = client.post(f"/rendez-vous/dossiers/{case.id}/orienter",
                       data={"service": SERVICE, "lieu": network.structure_b.id, "slot": slot,
                             "from_structure_id": network.structure_a.id, "motive": "Déclaration en ligne"})
    assert done.status_code == 302
    appointment = session.scalar(sa.select(Appointment).where(Appointment.case_id == case.id))
    referral = session.get(Referral, appointment.referral_id)
    assert referral.to_structure_id == network.structure_b.id and referral.status == ReferralStatus.PROPOSEE

    # The receiving mediator sees it in the week's agenda.
    client.post("/deconnexion")
    login(client, network.mediator_b)
    agenda = client.get("/rendez-vous/", query_string={"semaine": appointment.starts_at.date().isoformat()})
    assert "Aline" in agenda.text and SERVICE in agenda.text
    # The time comes (the first slot may be later today or tomorrow: it is moved to a minute ago, the
    # day of the referral even just after midnight in Paris): « Venue » logs the session, which
    # honours the referral.
    shift = appointment.starts_at - (utcnow() - timedelta(minutes=1))
    appointment.starts_at -= shift
    appointment.ends_at -= shift
    session.flush()
    client.post(f"/rendez-vous/{appointment.id}/venu")
    session.expire_all()
    appointment = session.get(Appointment, appointment.id)
    assert appointment.state == AppointmentState.ATTENDED and appointment.activity_id
    assert session.get(Referral, referral.id).status == ReferralStatus.HONOREE
    assert client.get(f"/rendez-vous/{appointment.id}/agenda.ics").text.startswith("BEGIN:VCALENDAR")


def test_an_unknown_slot_is_refused_in_french_and_nothing_is_written(client, login, session, network, offer, person):
    offer()
    case = person(network_consent=True)
    login(client, network.mediator)
    answer = client.post(f"/rendez-vous/dossiers/{case.id}/orienter",
                         data={"service": SERVICE, "lieu": network.structure_b.id, "slot": "2020-01-01T08:00Z",
                               "from_structure_id": network.structure_a.id})
    assert answer.status_code == 422 and "Ce créneau n’existe pas" in answer.text
    assert session.scalar(sa.select(sa.func.count(Referral.id)).where(Referral.case_id == case.id)) == 0


def test_an_anonymous_visitor_finds_the_nearest_open_place_within_5_km(client, session, make_commune, make_structure, network):
    town = make_commune(network.territory, name="Bourg-Guide", postal_code="76999", latitude=49.44, longitude=1.10)
    always = "Mo-Su 00:00-24:00"
    near = make_structure(town, name="Maison France Services du Bourg", latitude=49.445, longitude=1.10,
                          horaires=always, services=[SERVICE])
    make_structure(town, name="Lieu fermé", latitude=49.441, longitude=1.10, horaires="Mo-Su 00:00-00:01",
                   services=[SERVICE])
    make_structure(town, name="Lieu lointain", latitude=49.60, longitude=1.10, horaires=always, services=[SERVICE])
    make_structure(town, name="Autre aide", latitude=49.44, longitude=1.10, horaires=always,
                   services=["Loisirs et créations numériques"])
    page = client.get("/guide/", query_string={"ou": "76999", "rayon": 5, "service": SERVICE, "ouvert": "1"})
    assert page.status_code == 200
    results = page.text.split('id="resultats"')[1]
    assert "Maison France Services du Bourg" in results
    assert "Lieu fermé" not in results and "Lieu lointain" not in results and "Autre aide" not in results
    assert client.get(f"/guide/lieux/{near.id}").status_code == 200
    by_name = client.get("/guide/", query_string={"ou": "bourg guide", "rayon": 5})
    assert "Maison France Services du Bourg" in by_name.text


def test_published_self_assessment_is_in_the_open_data_file(client, login, session, network):
    login(client, network.mediator)
    client.post(f"/rendez-vous/lieux/{network.structure_a.id}/services",
                data={"service": SERVICE, "level": "plusieurs_seances", "publics": ["Seniors"]})
    assert SERVICE not in client.get("/guide/lieux.csv").text.split("France Services A")[1].split("\n")[0]
    client.post("/deconnexion")
    login(client, network.coordinator)
    page = client.get(f"/rendez-vous/lieux/{network.structure_a.id}")
    publish = page.text.split('action="/rendez-vous/services/')[1].split("/")[0]
    client.post(f"/rendez-vous/services/{publish}/publier")
    row = client.get("/guide/lieux.csv").text.split("France Services A")[1].split("\n")[0]
    assert SERVICE in row and "Seniors" in row and "Accompagnement individuel" in row
    assert "Accompagnement sur plusieurs séances" in client.get(f"/guide/lieux/{network.structure_a.id}").text


def test_the_receiving_place_books_for_a_referral_already_sent(client, login, session, network, offer, person):
    from mediation.pathways import referrals

    offer()
    case = person(network_consent=True, first_name="Bruno")
    referral = referrals.create_referral(session, network.mediator, case, referrals.ReferralInput(
        to_structure_id=network.structure_b.id, service=SERVICE))
    login(client, network.mediator_b)
    detail = client.get(f"/parcours/orientations/{referral.id}")
    assert "Aucun rendez-vous pris avec cette orientation." in detail.text
    form = client.get(f"/rendez-vous/orientations/{referral.id}/reserver")
    slot = form.text.split('name="slot" id="slot-1" value="')[1].split('"')[0]
    assert client.post(f"/rendez-vous/orientations/{referral.id}/reserver", data={"slot": slot}).status_code == 302
    detail = client.get(f"/parcours/orientations/{referral.id}")
    assert "Réservé" in detail.text.split("<h2>Rendez-vous</h2>")[1]
    client.post("/deconnexion")
    login(client, network.mediator_far)
    assert client.get(f"/rendez-vous/orientations/{referral.id}/reserver").status_code == 404


def test_the_person_sees_and_cancels_an_appointment_from_the_wallet(client, session, network, offer, person):
    from mediation.appointments import services
    from mediation.carnet import wallet

    place_offer = offer()
    case = person(network_consent=True, first_name="Carla")
    day = services.local_today() + timedelta(days=1)
    slot = services.slots(session, place_offer, day, day)[0]
    appointment = services.book(session, network.mediator, offer=place_offer, starts_at=slot.starts_at, case=case)
    printed = wallet.print_card(session, network.mediator, case.beneficiary)
    session.commit()
    assert client.get("/carnet/mes-rendez-vous").status_code == 302  # no wallet opened yet
    client.get(printed.url.replace("https://mediation.example.org", ""))
    page = client.get("/carnet/mes-rendez-vous").text
    assert "Médiathèque B" in page and SERVICE in page and "<script" not in page
    assert client.post(f"/carnet/mes-rendez-vous/{appointment.id}/annuler").status_code == 302
    assert session.get(Appointment, appointment.id).state == AppointmentState.CANCELLED
    assert "Vous n’avez pas de rendez-vous à venir." in client.get("/carnet/mes-rendez-vous").text
    assert client.post(f"/carnet/mes-rendez-vous/{appointment.id}/annuler").status_code == 404


def test_the_agenda_reads_a_constant_number_of_queries(client, login, session, network, offer, person):
    from mediation.appointments import services
    from tests.helpers import count_queries

    place_offer = offer(capacity=50)
    day = services.local_today() + timedelta(days=1)
    slots = services.slots(session, place_offer, day, day)
    login(client, network.mediator_b)

    def agenda_queries():
        with count_queries() as statements:
            assert client.get("/rendez-vous/", query_string={"semaine": day.isoformat()}).status_code == 200
        return len(statements)

    services.book(session, network.mediator, offer=place_offer, starts_at=slots[0].starts_at,
                  case=person(network_consent=True), notify_person=False)
    few = agenda_queries()
    for n in range(12):
        services.book(session, network.mediator, offer=place_offer, starts_at=slots[n % 4].starts_at,
                      case=person(network_consent=True), notify_person=False)
    assert agenda_queries() == few
