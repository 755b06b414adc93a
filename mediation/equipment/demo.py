"""Demo equipment for ``mediateur@demo.test``'s structures: devices in every condition and every
situation (available, lent, given, sold at a solidarity price, written off), a loan returned damaged,
loans due soon and overdue (the reminders have something to send), one signed agreement."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.cases import policy as cases_policy
from mediation.cases import services as cases_services
from mediation.cases.models import Beneficiary
from mediation.equipment import services
from mediation.types import local_today

DEVICES = [
    # kind, model, number, condition, origin, origin name
    ("ordinateur_portable", "Lenovo ThinkPad T480", "RGR-PC-001", "bon", "reconditionneur", "Emmaüs Connect"),
    ("ordinateur_portable", "Dell Latitude 5490", "RGR-PC-002", "usage", "reconditionneur", "Ordi 3.0"),
    ("ordinateur_portable", "HP EliteBook 840 G5", "RGR-PC-003", "bon", "don", "Métropole Rouen Normandie"),
    ("tablette", "Samsung Galaxy Tab A8", "RGR-TAB-001", "neuf", "achat", "UGAP"),
    ("tablette", "Apple iPad 6", "RGR-TAB-002", "bon", "reconditionneur", "Back Market Pro"),
    ("smartphone", "Samsung Galaxy A12", "RGR-TEL-001", "usage", "don", "Crédit Mutuel (fondation)"),
    ("smartphone", "Fairphone 3", "RGR-TEL-002", "bon", "reconditionneur", "Emmaüs Connect"),
    ("cle_4g", "Huawei E3372", "RGR-4G-001", "neuf", "achat", "Orange Business"),
    ("cle_4g", "Huawei E3372", "RGR-4G-002", "bon", "achat", "Orange Business"),
    ("ordinateur_fixe", "Dell OptiPlex 7040", "RGR-PC-004", "hors_service", "don", "Lycée Flaubert"),
]
PEOPLE = [("Martine", "Lambert"), ("Ahmed", "Benkirane"), ("Lucie", "Perrin"), ("Gérard", "Colin"),
          ("Samira", "Ouali"), ("Patrick", "Renaud")]


def _people(session: Session, structure, mediator) -> list[Beneficiary]:
    found = list(session.scalars(
        sa.select(Beneficiary).where(Beneficiary.owner_structure_id == structure.id,
                                     Beneficiary.anonymous.is_(False), Beneficiary.deleted_at.is_(None),
                                     Beneficiary.merged_into_id.is_(None))
        .order_by(Beneficiary.id.desc()).limit(len(PEOPLE))))
    for first, last in PEOPLE[len(found):]:
        found.append(cases_services.create_beneficiary(
            session, mediator, structure.id, cases_services.BeneficiaryInput(first_name=first, last_name=last)))
    return found


def load_equipment_demo(session: Session, *, structures, users, mediator_email: str = "mediateur@demo.test",
                        **_ignored) -> None:
    mediator = next(u for u in users if u.email == mediator_email)
    structure = structures[0]
    today = local_today()
    devices = [services.add_device(session, mediator, services.DeviceInput(
        structure_id=structure.id, kind=kind, model=model, asset_number=number, condition=condition, origin=origin,
        origin_name=name, acquired_on=today - timedelta(days=200))) for kind, model, number, condition, origin, name
        in DEVICES]
    people = _people(session, structure, mediator)
    loader = cases_policy.beneficiary_loader(session, mediator)

    def hand(device, person, kind="pret", started=30, due=None, price=None):
        start = today - timedelta(days=started)
        return services.hand_over(session, mediator, services.HandoverInput(
            device_id=device.id, beneficiary_id=person.id, kind=kind, started_on=start,
            due_on=today + timedelta(days=due) if due is not None else None, conditions_accepted=True,
            price=price), visible_beneficiary=loader)

    # A loan returned damaged: the laptop waits for a repair.
    damaged = hand(devices[1], people[0], started=60, due=-30)
    services.return_device(session, mediator, damaged, condition="endommage", returned_on=today - timedelta(days=28),
                           note="Charnière de l’écran cassée")
    hand(devices[0], people[1], started=40, due=-10)  # overdue
    hand(devices[7], people[2], started=50, due=-3)  # overdue
    due_soon = hand(devices[4], people[3], started=12, due=2)  # reminded before the due date
    services.attach_signed_scan(session, mediator, due_soon, due_soon.agreement_pdf)
    hand(devices[8], people[4], started=5, due=25)
    hand(devices[5], people[5], kind="don", started=90)
    hand(devices[6], people[0], kind="achat_solidaire", started=20, price="30")
    services.write_off(session, mediator, devices[9], "Carte mère hors service, non réparable")
    if len(structures) > 1:  # a device moved to the second structure by the coordination
        coordinator = next((u for u in users if u.role == "coordinator"), None)
        if coordinator is not None:
            services.transfer(session, coordinator, devices[3], structures[1].id)
