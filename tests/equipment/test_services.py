"""The equipment library's rules, through the real services (SQLite or PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.equipment import services
from mediation.equipment.enums import DeviceCondition, DeviceStatus
from mediation.equipment.models import Handover
from mediation.errors import Conflict, Forbidden, ValidationFailed
from mediation.types import local_today


def _actions(session) -> list[str]:
    return list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("equipment.%"))
                                .order_by(AuditEvent.id)))


def test_a_device_joins_the_inventory_with_a_number_unique_in_its_structure(session, network, make_device):
    device = make_device(asset_number="PC-001")
    assert device.status == DeviceStatus.DISPONIBLE
    with pytest.raises(ValidationFailed) as refused:
        make_device(asset_number="PC-001")
    assert "déjà dans l’inventaire" in refused.value.errors["asset_number"]
    other = make_device(asset_number="PC-001", actor=network.mediator_b, structure=network.structure_b)
    assert other.structure_id == network.structure_b.id
    assert _actions(session) == ["equipment.device_added", "equipment.device_added"]


def test_a_donated_device_names_its_donor(make_device):
    with pytest.raises(ValidationFailed) as refused:
        make_device(origin="don", origin_name="")
    assert "donateur" in refused.value.errors["origin_name"]


def test_a_mediator_adds_devices_only_to_their_structures(network, make_device):
    with pytest.raises(ValidationFailed):
        make_device(structure=network.structure_far)


def test_a_loan_during_a_session_links_the_activity_and_freezes_the_agreement(
        session, network, make_device, make_beneficiary, make_session_activity, lend):
    person = make_beneficiary()
    activity = make_session_activity(person)
    device = make_device()
    loan = lend(device, person, activity=activity)
    assert loan.activity_id == activity.id
    assert device.status == DeviceStatus.PRETE
    assert loan.agreement_pdf.startswith(b"%PDF-")
    assert len(loan.agreement_sha256) == 64
    assert "equipment.handed_over" in _actions(session)
    assert services.handovers_of_activity(session, activity.id) == [loan]


def test_the_person_must_have_taken_part_in_the_session(network, make_device, make_beneficiary,
                                                        make_session_activity, lend):
    activity = make_session_activity(make_beneficiary())
    with pytest.raises(ValidationFailed) as refused:
        lend(make_device(), make_beneficiary(), activity=activity)
    assert "participé" in refused.value.errors["beneficiary_id"]


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"conditions_accepted": False}, "conditions_accepted", "accepté les conditions"),
    ({"days": -1}, "due_on", "doit suivre"),
    ({"days": 400}, "due_on", "au plus un an"),
])
def test_a_loan_is_refused_with_a_french_message_and_nothing_changes(session, network, make_device,
                                                                     make_beneficiary, lend, fields, field, words):
    device = make_device()
    with pytest.raises(ValidationFailed) as refused:
        lend(device, make_beneficiary(), **fields)
    assert words in refused.value.errors[field]
    assert device.status == DeviceStatus.DISPONIBLE
    assert session.scalar(sa.select(sa.func.count(Handover.id))) == 0


def test_a_device_out_cannot_be_lent_again(make_device, make_beneficiary, lend):
    device = make_device()
    lend(device, make_beneficiary())
    with pytest.raises(ValidationFailed) as refused:
        lend(device, make_beneficiary())
    assert "n’est pas disponible" in refused.value.errors["device_id"]


def test_the_database_refuses_a_second_open_handover(session, network, make_device, make_beneficiary, lend):
    """Even code that skipped the services' checks cannot put the same device in two hands."""
    device = make_device()
    first = lend(device, make_beneficiary())
    other = make_beneficiary()
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.add(Handover(device_id=device.id, structure_id=first.structure_id, beneficiary_id=other.id,
                             kind="pret", started_on=local_today(), due_on=local_today() + timedelta(days=3),
                             conditions_accepted=True, condition_at_start=DeviceCondition.BON,
                             created_by_id=network.mediator.id))
        session.flush()


def test_the_service_turns_a_lost_race_into_a_conflict(session, network, make_device, make_beneficiary, lend):
    """The check passed (the device looked available) but another handover got in first."""
    device = make_device()
    lend(device, make_beneficiary())
    device.status = DeviceStatus.DISPONIBLE  # as the other transaction saw it before our commit
    session.flush()
    with pytest.raises(Conflict) as refused:
        lend(device, make_beneficiary())
    assert "vient d’être remis" in refused.value.message


def test_a_return_damaged_keeps_the_device_out_of_loans(session, network, make_device, make_beneficiary, lend):
    device = make_device()
    loan = lend(device, make_beneficiary())
    services.return_device(session, network.mediator, loan, condition="endommage", note="Écran fissuré")
    assert loan.returned_at is not None and loan.return_condition == DeviceCondition.ENDOMMAGE
    assert device.status == DeviceStatus.DISPONIBLE and device.condition == DeviceCondition.ENDOMMAGE
    assert device not in services.available_devices(session, device.structure_id)
    with pytest.raises(ValidationFailed) as refused:
        lend(device, make_beneficiary())
    assert "endommagé" in refused.value.errors["device_id"]
    with pytest.raises(Conflict):
        services.return_device(session, network.mediator, loan, condition="bon")
    # Once repaired and stated again, it can be lent.
    services.set_condition(session, network.mediator, device, "usage")
    assert lend(device, make_beneficiary()).condition_at_start == DeviceCondition.USAGE


def test_gift_and_solidarity_purchase_are_final(session, network, make_device, make_beneficiary, lend):
    gift = lend(make_device(), make_beneficiary(), kind="don")
    assert gift.device.status == DeviceStatus.DONNE and gift.due_on is None
    with pytest.raises(ValidationFailed) as refused:
        lend(make_device(), make_beneficiary(), kind="achat_solidaire", price="beaucoup")
    assert "prix payé" in refused.value.errors["price"]
    sale = lend(make_device(), make_beneficiary(), kind="achat_solidaire", price="25,50")
    assert sale.price_cents == 2550 and sale.device.status == DeviceStatus.VENDU
    assert services.format_price(sale.price_cents) == "25,50\xa0€"
    with pytest.raises(Conflict):
        services.return_device(session, network.mediator, gift, condition="bon")


def test_signed_scan_is_checked_by_its_content(session, network, make_device, make_beneficiary, lend):
    loan = lend(make_device(), make_beneficiary())
    with pytest.raises(ValidationFailed) as refused:
        services.attach_signed_scan(session, network.mediator, loan, b"MZ\x90\x00 not a pdf")
    assert "ni un PDF" in refused.value.message
    assert loan.signed_scan is None
    services.attach_signed_scan(session, network.mediator, loan, b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    assert loan.signed_scan_type == "image/png"
    with pytest.raises(Forbidden):
        services.attach_signed_scan(session, network.mediator_b, loan, b"%PDF-1.7")


def test_transfer_between_structures_by_the_coordination(session, network, make_device, make_beneficiary, lend):
    device = make_device()
    with pytest.raises(Forbidden):
        services.transfer(session, network.mediator, device, network.structure_b.id)
    with pytest.raises(ValidationFailed):
        services.transfer(session, network.coordinator, device, network.structure_far.id)
    services.transfer(session, network.coordinator, device, network.structure_b.id)
    assert device.structure_id == network.structure_b.id
    lent = make_device()
    lend(lent, make_beneficiary())
    with pytest.raises(Conflict):
        services.transfer(session, network.coordinator, lent, network.structure_b.id)
    assert "equipment.transferred" in _actions(session)


def test_write_off_needs_a_reason_and_an_available_device(session, network, make_device):
    device = make_device()
    with pytest.raises(ValidationFailed):
        services.write_off(session, network.mediator, device, "")
    services.write_off(session, network.mediator, device, "Carte mère morte")
    assert device.status == DeviceStatus.REFORME and device.written_off_at is not None
    with pytest.raises(Conflict):
        services.write_off(session, network.mediator, device, "encore")


def test_reminders_before_and_after_the_due_date_once_each(session, network, outbox, make_device,
                                                           make_beneficiary, lend):
    soon = lend(make_device(), make_beneficiary(email="jeanne@example.org"), days=2)
    later = lend(make_device(), make_beneficiary(), days=20)
    counts = services.send_reminders(session)
    assert counts == {"avant_echeance": 1, "en_retard": 0}
    to = sorted(m["To"] for m in outbox)
    assert to == ["jeanne@example.org", network.mediator.email]
    staff_mail = next(m for m in outbox if m["To"] == network.mediator.email)
    assert "Martin" not in staff_mail.get_content() and soon.reference in staff_mail.get_content()
    assert services.send_reminders(session) == {"avant_echeance": 0, "en_retard": 0}  # once
    # Three days after the due date: the late reminder, once.
    late_day = soon.due_on + timedelta(days=3)
    assert services.send_reminders(session, today=late_day) == {"avant_echeance": 0, "en_retard": 1}
    assert soon.reminded_after_at is not None and later.reminded_before_at is None
    assert services.send_reminders(session, today=late_day) == {"avant_echeance": 0, "en_retard": 0}


def test_the_wallet_lists_the_current_loans(session, make_device, make_beneficiary, lend, network):
    person = make_beneficiary()
    loan = lend(make_device(), person, days=10)
    lend(make_device(), person, kind="don")
    assert services.current_loans_of(session, person.id) == [loan]
    services.return_device(session, network.mediator, loan, condition="bon")
    assert services.current_loans_of(session, person.id) == []


def test_anonymisation_erases_the_documents_that_name_the_person(session, network, make_device,
                                                                 make_beneficiary, lend):
    from mediation.cases import retention
    from mediation.types import utcnow

    person = make_beneficiary()
    loan = lend(make_device(), person, kind="don")
    services.attach_signed_scan(session, network.mediator, loan, b"%PDF-1.4 signed")
    retention._anonymise_batch(session, [person.id], local_today(), retention.RetentionReport(12, utcnow()))
    session.expire_all()
    kept = session.get(Handover, loan.id)
    assert kept.agreement_pdf is None and kept.signed_scan is None and kept.signed_scan_type is None
    assert kept.beneficiary_id == person.id  # the history stays, without a name
