"""Equipment library rules: inventory, handovers (loan, gift, solidarity purchase), returns, signed
agreements, transfers, write-offs and reminders. Services flush, never commit; each change writes an
``equipment.*`` audit event in the caller's transaction; refusals are domain errors naming the field.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app, render_template
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from mediation.audit.services import record
from mediation.auth.models import User
from mediation.cases.activities import mediator_structure_ids
from mediation.cases.enums import EquipmentKind
from mediation.cases.models import Beneficiary
from mediation.cases.services import Errors
from mediation.directory.models import Structure
from mediation.equipment import policy
from mediation.equipment.enums import (
    GONE_STATUSES,
    UNFIT_CONDITIONS,
    DeviceCondition,
    DeviceKind,
    DeviceOrigin,
    DeviceStatus,
)
from mediation.equipment.models import Device, DeviceTransfer, Handover
from mediation.errors import Conflict, Forbidden, ValidationFailed
from mediation.jobs import register
from mediation.mail import send_mail
from mediation.types import LOCAL_TIMEZONE, local_today, utcnow
from mediation.uploads import check_scan

log = logging.getLogger("mediation.equipment")

MAX_LOAN_DAYS = 366
REMIND_BEFORE_DAYS = 3  # the first reminder: three days before the due date
MAX_PRICE_CENTS = 100_000  # 1 000 € : a solidarity price, not a shop
STATUS_AFTER = {EquipmentKind.PRET: DeviceStatus.PRETE, EquipmentKind.DON: DeviceStatus.DONNE,
                EquipmentKind.ACHAT_SOLIDAIRE: DeviceStatus.VENDU}


def _text(value, limit: int) -> str | None:
    value = " ".join(str(value or "").split())
    return value[:limit] if value else None


def _enum(enum_cls, value, errors: Errors, field: str, message: str):
    try:
        return enum_cls(value)
    except ValueError:
        errors.add(field, message)
        return None


def _require_staff_of(session: Session, actor: User, structure_id: int) -> None:
    """Mediators act only for the structures they work for today."""
    if not policy.can_hand_over(actor) or structure_id not in mediator_structure_ids(session, actor):
        raise Forbidden("Seuls les médiateurs et médiatrices de la structure gèrent son matériel.")


# --- inventory ----------------------------------------------------------------------------------

@dataclass
class DeviceInput:
    structure_id: int | None = None
    kind: str | None = None
    model: str | None = None
    asset_number: str | None = None
    condition: str | None = None
    origin: str | None = None
    origin_name: str | None = None
    acquired_on: date | None = None


def add_device(session: Session, actor: User, data: DeviceInput) -> Device:
    """Add a device to the inventory of a structure the mediator works for. The serial or asset
    number is unique within the structure (enforced by the database too)."""
    errors = Errors()
    structure_id = data.structure_id
    if not structure_id or structure_id not in mediator_structure_ids(session, actor):
        errors.add("structure_id", "Choisissez une de vos structures.")
    kind = _enum(DeviceKind, data.kind, errors, "kind", "Choisissez le type d’appareil.")
    model = _text(data.model, 120)
    if not model:
        errors.add("model", "Indiquez le modèle (marque et référence).")
    asset = _text(data.asset_number, 60)
    if not asset:
        errors.add("asset_number", "Indiquez le numéro de série ou d’inventaire.")
    condition = _enum(DeviceCondition, data.condition, errors, "condition", "Choisissez l’état de l’appareil.")
    origin = _enum(DeviceOrigin, data.origin, errors, "origin", "Choisissez la provenance de l’appareil.")
    origin_name = _text(data.origin_name, 120)
    if origin in (DeviceOrigin.DON, DeviceOrigin.RECONDITIONNEUR) and not origin_name:
        errors.add("origin_name", "Indiquez le nom du donateur ou du reconditionneur.")
    if data.acquired_on and data.acquired_on > local_today():
        errors.add("acquired_on", "La date d’entrée dans le parc ne peut pas être dans le futur.")
    if structure_id and asset and session.scalar(sa.select(Device.id).where(
            Device.structure_id == structure_id, Device.asset_number == asset)):
        errors.add("asset_number", f"Le numéro {asset} est déjà dans l’inventaire de cette structure.")
    errors.raise_if_any()
    if not policy.can_hand_over(actor):
        raise Forbidden("Seuls les médiateurs et médiatrices de la structure gèrent son matériel.")
    device = Device(structure_id=structure_id, kind=kind, model=model, asset_number=asset, condition=condition,
                    origin=origin, origin_name=origin_name, acquired_on=data.acquired_on,
                    status=DeviceStatus.DISPONIBLE, created_by_id=actor.id, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(device)
            session.flush()
    except IntegrityError:
        raise ValidationFailed(f"Le numéro {asset} est déjà dans l’inventaire de cette structure.",
                               field="asset_number") from None
    record(session, "equipment.device_added", actor=actor, obj=device, structure_id=structure_id,
           details={"kind": kind.value, "condition": condition.value, "origin": origin.value})
    return device


def available_devices(session: Session, structure_id: int) -> list[Device]:
    """Devices of the structure that may be handed over now (available, in a fit condition)."""
    return list(session.scalars(sa.select(Device).where(
        Device.structure_id == structure_id, Device.status == DeviceStatus.DISPONIBLE,
        Device.condition.not_in(UNFIT_CONDITIONS)).order_by(Device.kind, Device.model, Device.asset_number)))


# --- handovers ----------------------------------------------------------------------------------

@dataclass
class HandoverInput:
    device_id: int | None = None
    beneficiary_id: int | None = None
    activity_id: int | None = None
    kind: str | None = None
    started_on: date | None = None
    due_on: date | None = None
    conditions_accepted: bool = False
    price: str | None = None  # euros, « 25 » or « 25,50 »


def parse_price(text: str | None) -> int | None:
    """Cents from « 25 », « 25,5 » or « 25.50 € »; None if unreadable."""
    raw = (text or "").replace("€", "").replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
    if not raw:
        return None
    try:
        euros, _, cents = raw.partition(".")
        if not euros.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
            return None
        return int(euros) * 100 + int((cents + "00")[:2] if cents else 0)
    except ValueError:
        return None


def hand_over(session: Session, actor: User, data: HandoverInput, *, visible_beneficiary,
              visible_activity=None) -> Handover:
    """Lend, give or sell at a solidarity price one device of the structure to a person the mediator
    sees, optionally during an activity (the session where the device was handed). The person must
    have accepted the conditions; a loan has a due date (at most a year); a purchase has its price.
    The database refuses a second handover of a device still out (:class:`Conflict`)."""
    errors = Errors()
    device = session.get(Device, data.device_id) if data.device_id else None
    if device is None or device.structure_id not in mediator_structure_ids(session, actor):
        errors.add("device_id", "Choisissez un appareil de votre structure.")
        device = None
    person = visible_beneficiary(data.beneficiary_id) if data.beneficiary_id else None
    if person is None or person.anonymous:
        errors.add("beneficiary_id", "Choisissez la personne qui reçoit l’appareil.")
    kind = _enum(EquipmentKind, data.kind, errors, "kind", "Choisissez : prêt, don ou achat solidaire.")
    activity = None
    if data.activity_id:
        activity = visible_activity(data.activity_id) if visible_activity else None
        if activity is None or activity.deleted_at is not None:
            errors.add("activity_id", "Cette activité n’est pas accessible.")
            activity = None
        elif person is not None and person.id not in {p.beneficiary_id for p in activity.participations}:
            errors.add("beneficiary_id", "Cette personne n’a pas participé à l’activité.")
    started = data.started_on or (activity.date if activity else local_today())
    if started > local_today():
        errors.add("started_on", "La date de remise ne peut pas être dans le futur.")
    due = None
    if kind == EquipmentKind.PRET:
        due = data.due_on
        if due is None:
            errors.add("due_on", "Indiquez la date de retour prévue du prêt.")
        elif due < started:
            errors.add("due_on", "La date de retour prévue doit suivre la date du prêt.")
        elif due > started + timedelta(days=MAX_LOAN_DAYS):
            errors.add("due_on", "Un prêt dure au plus un an : choisissez une date de retour plus proche.")
    price = None
    if kind == EquipmentKind.ACHAT_SOLIDAIRE:
        price = parse_price(data.price)
        if price is None:
            errors.add("price", "Indiquez le prix payé, en euros (par exemple 25 ou 25,50).")
        elif price > MAX_PRICE_CENTS:
            errors.add("price", "Un achat solidaire coûte au plus 1 000 € : vérifiez le prix.")
    if not data.conditions_accepted:
        errors.add("conditions_accepted", "La personne doit avoir accepté les conditions de remise.")
    if device is not None:
        if device.status != DeviceStatus.DISPONIBLE:
            errors.add("device_id", f"Cet appareil n’est pas disponible ({device.status.label.lower()}).")
        elif device.condition in UNFIT_CONDITIONS:
            errors.add("device_id", f"Cet appareil est {device.condition.label.lower()} : il ne peut pas être remis.")
    errors.raise_if_any()
    _require_staff_of(session, actor, device.structure_id)
    handover = Handover(device_id=device.id, structure_id=device.structure_id, beneficiary_id=person.id,
                        activity_id=activity.id if activity else None, kind=kind, started_on=started,
                        due_on=due, conditions_accepted=True, price_cents=price, condition_at_start=device.condition,
                        created_by_id=actor.id, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(handover)
            session.flush()
    except IntegrityError:
        raise Conflict("Cet appareil vient d’être remis à une autre personne : choisissez-en un autre.",
                       field="device_id") from None
    device.status = STATUS_AFTER[kind]
    handover.device = device
    handover.beneficiary = person
    pdf = render_agreement_pdf(handover, actor)
    handover.agreement_pdf = pdf
    handover.agreement_sha256 = hashlib.sha256(pdf).hexdigest()
    session.flush()
    record(session, "equipment.handed_over", actor=actor, obj=handover, structure_id=device.structure_id,
           details={"device_id": device.id, "kind": kind.value, "due_on": due.isoformat() if due else None,
                    "activity_id": handover.activity_id, "price_cents": price})
    return handover


def render_agreement_pdf(handover: Handover, actor: User) -> bytes:
    """The agreement (loan) or the handover receipt (gift, purchase) to print in two copies and sign."""
    from weasyprint import HTML

    html = render_template("equipment/pdf/agreement.html", h=handover, device=handover.device,
                           structure=handover.device.structure, person=handover.beneficiary, mediator=actor,
                           price=format_price(handover.price_cents))
    return HTML(string=html, base_url=current_app.root_path).write_pdf()


def format_price(cents: int | None) -> str | None:
    if cents is None:
        return None
    euros, rest = divmod(cents, 100)
    text = f"{euros:,}".replace(",", "\u202f")
    return f"{text},{rest:02d}\xa0€" if rest else f"{text}\xa0€"


def return_device(session: Session, actor: User, handover: Handover, *, condition: str | None,
                  returned_on: date | None = None, note: str | None = None) -> Handover:
    """Close a loan: the device is back, in the condition stated (it becomes the device's condition;
    a damaged or broken device cannot be lent again until repaired and re-stated)."""
    if not handover.is_loan:
        raise Conflict("Un don ou un achat solidaire ne se rend pas.")
    if handover.returned_at is not None:
        raise Conflict("Cet appareil a déjà été rendu.")
    errors = Errors()
    state = _enum(DeviceCondition, condition, errors, "condition", "Indiquez l’état de l’appareil rendu.")
    returned_on = returned_on or local_today()
    if returned_on < handover.started_on:
        errors.add("returned_on", "La date de retour ne peut pas précéder la date du prêt.")
    elif returned_on > local_today():
        errors.add("returned_on", "La date de retour ne peut pas être dans le futur.")
    errors.raise_if_any()
    _require_staff_of(session, actor, handover.device.structure_id)
    handover.returned_at = utcnow()
    handover.returned_on = returned_on
    handover.return_condition = state
    handover.return_note = _text(note, 300)
    handover.returned_by_id = actor.id
    device = handover.device
    previous = device.condition
    device.condition = state
    device.status = DeviceStatus.DISPONIBLE
    session.flush()
    record(session, "equipment.returned", actor=actor, obj=handover, structure_id=handover.structure_id,
           details={"device_id": device.id, "condition": state.value, "condition_before": previous.value,
                    "late_days": max(0, (returned_on - handover.due_on).days)})
    return handover


def set_condition(session: Session, actor: User, device: Device, condition: str | None) -> Device:
    """State the device's condition again (after a repair, for instance)."""
    errors = Errors()
    state = _enum(DeviceCondition, condition, errors, "condition", "Choisissez l’état de l’appareil.")
    errors.raise_if_any()
    _require_staff_of(session, actor, device.structure_id)
    if device.status in GONE_STATUSES:
        raise Conflict("Cet appareil a quitté l’inventaire.")
    previous = device.condition
    device.condition = state
    session.flush()
    record(session, "equipment.condition_set", actor=actor, obj=device, structure_id=device.structure_id,
           details={"from": previous.value, "to": state.value})
    return device


def attach_signed_scan(session: Session, actor: User, handover: Handover, data: bytes | None) -> Handover:
    """Store the scan of the signed agreement (PDF, JPEG or PNG, checked by its first bytes)."""
    _require_staff_of(session, actor, handover.structure_id)
    content_type = check_scan(data, field="scan",
                              missing="Choisissez le fichier de la convention signée (PDF, JPEG ou PNG).",
                              too_big="numérisez la convention en résolution plus faible.")
    replaced = handover.signed_scan_type is not None
    handover.signed_scan = data
    handover.signed_scan_type = content_type
    handover.signed_scan_sha256 = hashlib.sha256(data).hexdigest()
    handover.signed_scan_at = utcnow()
    session.flush()
    record(session, "equipment.scan_attached", actor=actor, obj=handover, structure_id=handover.structure_id,
           details={"content_type": content_type, "size": len(data), "sha256": handover.signed_scan_sha256,
                    "replaced": replaced})
    return handover


# --- transfers and write-offs -------------------------------------------------------------------

def transfer(session: Session, actor: User, device: Device, target_structure_id) -> Device:
    """Move an available device to another structure of the coordinator's (or admin's) scope."""
    if not policy.can_transfer(actor) or not policy.in_scope(session, actor, device.structure_id):
        raise Forbidden("Seules la coordination et l’administration transfèrent du matériel.")
    target = (session.get(Structure, int(target_structure_id))
              if str(target_structure_id or "").isdigit() else None)
    if target is None or target.archived_at is not None or not policy.in_scope(session, actor, target.id):
        raise ValidationFailed("Choisissez la structure qui reçoit l’appareil.", field="structure_id")
    if target.id == device.structure_id:
        raise ValidationFailed("L’appareil est déjà dans l’inventaire de cette structure.", field="structure_id")
    if device.status != DeviceStatus.DISPONIBLE:
        raise Conflict(f"Seul un appareil disponible se transfère (celui-ci est {device.status.label.lower()}).")
    if session.scalar(sa.select(Device.id).where(Device.structure_id == target.id,
                                                 Device.asset_number == device.asset_number)):
        raise ValidationFailed(f"{target.name} a déjà un appareil numéro {device.asset_number}.",
                               field="structure_id")
    previous = device.structure_id
    device.structure_id = target.id
    session.add(DeviceTransfer(device_id=device.id, from_structure_id=previous, to_structure_id=target.id,
                               transferred_by_id=actor.id, transferred_at=utcnow()))
    session.flush()
    session.refresh(device, ["structure"])
    record(session, "equipment.transferred", actor=actor, obj=device, structure_id=target.id,
           details={"from_structure_id": previous, "to_structure_id": target.id})
    return device


def write_off(session: Session, actor: User, device: Device, reason: str | None) -> Device:
    """Take a device out of the inventory for good (broken, lost, stolen…), with a reason."""
    if not policy.can_write_off(actor) or not policy.in_scope(session, actor, device.structure_id):
        raise Forbidden("Vous ne pouvez pas réformer cet appareil.")
    reason = _text(reason, 300)
    if not reason:
        raise ValidationFailed("Indiquez pourquoi l’appareil est réformé (panne, perte, vol…).", field="reason")
    if device.status != DeviceStatus.DISPONIBLE:
        raise Conflict(f"Seul un appareil disponible se réforme (celui-ci est {device.status.label.lower()}) : "
                       "enregistrez d’abord son retour.")
    device.status = DeviceStatus.REFORME
    device.written_off_at = utcnow()
    device.written_off_reason = reason
    session.flush()
    record(session, "equipment.written_off", actor=actor, obj=device, structure_id=device.structure_id,
           details={"condition": device.condition.value})
    return device


# --- reminders ----------------------------------------------------------------------------------

def _when(day: date) -> str:
    """« 12 décembre 2026 », for messages."""
    return format_date(day, "d MMMM y", locale="fr_FR")


def send_reminders(session: Session, *, today: date | None = None) -> dict:
    """E-mail (outbox) the reminders of open loans: once ``REMIND_BEFORE_DAYS`` days before the due
    date, once after it. The person gets it at their own address when they gave one; the mediator who
    lent the device gets a notice that names no one and links to the loan. Each loan is reminded at
    most once before and once after. Returns the counts."""
    today = today or local_today()
    base = current_app.config["MEDIATION_PUBLIC_BASE_URL"]
    open_loans = sa.select(Handover).where(Handover.kind == EquipmentKind.PRET, Handover.returned_at.is_(None)) \
        .options(joinedload(Handover.device).joinedload(Device.structure), joinedload(Handover.beneficiary),
                 joinedload(Handover.created_by)).order_by(Handover.id)
    before = session.scalars(open_loans.where(
        Handover.reminded_before_at.is_(None), Handover.due_on >= today,
        Handover.due_on <= today + timedelta(days=REMIND_BEFORE_DAYS))).all()
    after = session.scalars(open_loans.where(Handover.reminded_after_at.is_(None), Handover.due_on < today)).all()
    now = utcnow()
    for loan, late in [(h, False) for h in before] + [(h, True) for h in after]:
        link = base + current_app.url_map.bind("").build("equipment.handover_detail", {"handover_id": loan.id})
        device, structure = loan.device, loan.device.structure
        due = _when(loan.due_on)
        person: Beneficiary = loan.beneficiary
        if person.email and not person.anonymous:
            body = (f"Bonjour,\n\n{structure.name} vous a prêté {device.kind.label.lower()} {device.model}. "
                    + (f"Le retour était prévu le {due} : merci de le rapporter au plus vite"
                       if late else f"Le retour est prévu le {due} : merci de le rapporter")
                    + f" à {structure.name}, ou de prendre contact pour prolonger le prêt.\n\n"
                    "Ce message est automatique, merci de ne pas y répondre.\n")
            send_mail(person.email, f"Rappel : retour du matériel prêté par {structure.name}", body)
        mediator = loan.created_by
        if mediator is not None and mediator.is_active_account:
            state = f"aurait dû être rendu le {due}" if late else f"doit être rendu le {due}"
            send_mail(mediator.email, f"Prêt de matériel {loan.reference} : {'retard' if late else 'retour proche'}",
                      f"Bonjour,\n\nLe prêt {loan.reference} ({device.label}) {state}.\nVoir le prêt : {link}\n\n"
                      "Ce message est automatique, merci de ne pas y répondre.\n")
        if late:
            loan.reminded_after_at = now
        else:
            loan.reminded_before_at = now
        session.flush()
        record(session, "equipment.reminded", obj=loan, structure_id=loan.structure_id,
               details={"when": "apres" if late else "avant", "due_on": loan.due_on.isoformat(),
                        "to_person": bool(person.email and not person.anonymous)})
    log.info("loan reminders: %s before, %s after", len(before), len(after))
    return {"avant_echeance": len(before), "en_retard": len(after)}


@register("equipment.reminders")
def reminders_job(session: Session, job, progress) -> dict:
    """Job handler: the reminders due today (also run daily by ``flask --app mediation equipment relances``)."""
    counts = send_reminders(session)
    total = counts["avant_echeance"] + counts["en_retard"]
    progress(total, total)
    result = {"Rappels avant la date de retour": counts["avant_echeance"],
              "Rappels de retard": counts["en_retard"]}
    if job.params.get("return_url"):
        result["url"] = job.params["return_url"]
    return result


# --- reading ------------------------------------------------------------------------------------

def overdue_loans(query: sa.Select, today: date | None = None) -> sa.Select:
    today = today or local_today()
    return query.where(Handover.kind == EquipmentKind.PRET, Handover.returned_at.is_(None), Handover.due_on < today)


def current_loans_of(session: Session, beneficiary_id: int) -> list[Handover]:
    """The person's loans not yet returned, soonest due first (the wallet shows them), including those
    of a duplicate record merged into this one."""
    merged = sa.select(Beneficiary.id).where(Beneficiary.merged_into_id == beneficiary_id)
    return list(session.scalars(
        sa.select(Handover).where(sa.or_(Handover.beneficiary_id == beneficiary_id,
                                         Handover.beneficiary_id.in_(merged)), Handover.kind == EquipmentKind.PRET,
                                  Handover.returned_at.is_(None))
        .options(joinedload(Handover.device), joinedload(Handover.structure)).order_by(Handover.due_on)))


def handovers_of_activity(session: Session, activity_id: int) -> list[Handover]:
    return list(session.scalars(sa.select(Handover).where(Handover.activity_id == activity_id)
                                .options(joinedload(Handover.device)).order_by(Handover.id)))


def local_date(moment: datetime | None) -> date | None:
    return moment.astimezone(LOCAL_TIMEZONE).date() if moment else None

