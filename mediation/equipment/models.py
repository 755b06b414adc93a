"""The equipment library: devices held by a structure and what happens to them.

A :class:`Device` belongs to one structure (its inventory); it is identified there by its serial or
asset number (unique per structure). A :class:`Handover` hands it to a person: a loan (``pret``, with
a due date, closed when the device comes back), a gift (``don``) or a solidarity purchase
(``achat_solidaire``, with the price paid) — the same three kinds an activity record counts as
« équipement remis » (:class:`mediation.cases.enums.EquipmentKind`), and a handover made during a
session points to that activity.

Invariant enforced by the database, on SQLite and PostgreSQL alike: a device is in the hands of at
most one person at a time — a partial unique index on the handovers whose ``returned_at`` is null
(a gift or a sale is never returned, so the device cannot be handed over again either). Two
mediators lending the same device at the same instant: the second insert fails, whatever the
services checked before.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.cases.enums import EquipmentKind
from mediation.equipment.enums import DeviceCondition, DeviceKind, DeviceOrigin, DeviceStatus
from mediation.extensions import db
from mediation.types import UTCDateTime, enum_column, local_today, utcnow

__all__ = ["Device", "DeviceTransfer", "Handover"]

SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png")


def _fk(target: str, *, nullable: bool = False, index: bool = True):
    return mapped_column(sa.ForeignKey(target, ondelete="RESTRICT"), index=index, nullable=nullable)


class Device(db.Model):
    __tablename__ = "equipment_devices"
    __table_args__ = (
        sa.UniqueConstraint("structure_id", "asset_number", name="uq_equipment_devices_structure_asset"),
        sa.CheckConstraint("(status = 'reforme') = (written_off_at IS NOT NULL)", name="written_off_has_date"),
        sa.CheckConstraint("length(asset_number) > 0", name="asset_number_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # covered by the unique constraint
    kind: Mapped[DeviceKind] = mapped_column(enum_column(DeviceKind, 24))
    model: Mapped[str] = mapped_column(sa.String(120))
    asset_number: Mapped[str] = mapped_column(sa.String(60))
    condition: Mapped[DeviceCondition] = mapped_column(enum_column(DeviceCondition, 16))
    origin: Mapped[DeviceOrigin] = mapped_column(enum_column(DeviceOrigin, 16))
    # The donor, the refurbisher or the shop (« Emmaüs Connect », « Ordi 3.0 »…).
    origin_name: Mapped[str | None] = mapped_column(sa.String(120))
    acquired_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[DeviceStatus] = mapped_column(enum_column(DeviceStatus, 16), default=DeviceStatus.DISPONIBLE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = _fk("users.id")
    written_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    written_off_reason: Mapped[str | None] = mapped_column(sa.String(300))

    structure = relationship("Structure")
    handovers: Mapped[list[Handover]] = relationship(back_populates="device", order_by="Handover.id.desc()")

    @property
    def label(self) -> str:
        return f"{self.kind.label} {self.model} (n° {self.asset_number})"

    def __str__(self) -> str:
        return self.label


class Handover(db.Model):
    """A device handed to a person: lent until ``due_on``, given, or sold at a solidarity price."""

    __tablename__ = "equipment_handovers"
    __table_args__ = (
        sa.Index("uq_equipment_handovers_device_out", "device_id", unique=True,
                 sqlite_where=sa.text("returned_at IS NULL"), postgresql_where=sa.text("returned_at IS NULL")),
        sa.Index("ix_equipment_handovers_structure_started", "structure_id", "started_on"),
        sa.CheckConstraint("conditions_accepted", name="conditions_accepted"),
        sa.CheckConstraint("(kind = 'pret') = (due_on IS NOT NULL)", name="loan_has_due_date"),
        sa.CheckConstraint("due_on IS NULL OR due_on >= started_on", name="due_after_start"),
        sa.CheckConstraint("kind = 'pret' OR returned_at IS NULL", name="only_loans_return"),
        sa.CheckConstraint("(returned_at IS NULL) = (return_condition IS NULL)", name="return_has_condition"),
        sa.CheckConstraint("(kind = 'achat_solidaire') = (price_cents IS NOT NULL)", name="purchase_has_price"),
        sa.CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price_not_negative"),
        sa.CheckConstraint("(signed_scan IS NULL) = (signed_scan_type IS NULL)", name="scan_has_type"),
        sa.CheckConstraint(
            "signed_scan_type IS NULL OR signed_scan_type IN ('application/pdf', 'image/jpeg', 'image/png')",
            name="scan_type_allowed",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = _fk("equipment_devices.id")
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # see the index above
    beneficiary_id: Mapped[int] = _fk("beneficiaries.id")
    activity_id: Mapped[int | None] = _fk("activities.id", nullable=True)
    kind: Mapped[EquipmentKind] = mapped_column(enum_column(EquipmentKind, 16))
    started_on: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    conditions_accepted: Mapped[bool] = mapped_column(sa.Boolean)
    price_cents: Mapped[int | None] = mapped_column(sa.Integer)
    condition_at_start: Mapped[DeviceCondition] = mapped_column(enum_column(DeviceCondition, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = _fk("users.id")
    # The agreement to print and sign on paper, rendered once (frozen copy) with its SHA-256.
    agreement_pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    agreement_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    signed_scan: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    signed_scan_type: Mapped[str | None] = mapped_column(sa.String(40))
    signed_scan_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    signed_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_on: Mapped[date | None] = mapped_column(sa.Date)
    return_condition: Mapped[DeviceCondition | None] = mapped_column(enum_column(DeviceCondition, 16))
    return_note: Mapped[str | None] = mapped_column(sa.String(300))
    returned_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    reminded_before_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_after_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    device: Mapped[Device] = relationship(back_populates="handovers")
    structure = relationship("Structure")
    beneficiary = relationship("Beneficiary")
    activity = relationship("Activity")
    created_by = relationship("User", foreign_keys=[created_by_id])

    @property
    def is_loan(self) -> bool:
        return self.kind == EquipmentKind.PRET

    @property
    def is_open_loan(self) -> bool:
        return self.is_loan and self.returned_at is None

    def is_overdue(self, today: date) -> bool:
        return self.is_open_loan and self.due_on is not None and self.due_on < today

    @property
    def is_overdue_today(self) -> bool:
        return self.is_overdue(local_today())

    @property
    def reference(self) -> str:
        return f"P-{self.id:05d}" if self.is_loan else f"R-{self.id:05d}"


class DeviceTransfer(db.Model):
    """A device moved from one structure's inventory to another's (coordination)."""

    __tablename__ = "equipment_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = _fk("equipment_devices.id")
    from_structure_id: Mapped[int] = _fk("structures.id")
    to_structure_id: Mapped[int] = _fk("structures.id")
    transferred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    transferred_by_id: Mapped[int] = _fk("users.id")

    from_structure = relationship("Structure", foreign_keys=[from_structure_id])
    to_structure = relationship("Structure", foreign_keys=[to_structure_id])
