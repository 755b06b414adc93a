"""Records behind imports and merges of beneficiaries.

- :class:`ImportUpload`: a file that passed the analysis step and waits for the mediator to
  confirm it (then it becomes a job's input and the row is deleted). Stale uploads are purged.
- :class:`BeneficiaryMerge`: what a merge changed, so that it can be undone for 30 days (moved
  participations, dropped duplicate participations, moved cases and consents, fields of the kept
  record that were filled from the other one with their previous value).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.extensions import db
from mediation.types import LabelledEnum, UTCDateTime, enum_column, utcnow

__all__ = ["BeneficiaryMerge", "ImportKind", "ImportUpload"]


class ImportKind(LabelledEnum):
    BENEFICIARIES = ("beneficiaires", "Bénéficiaires")
    ACTIVITIES = ("activites", "Activités")


class ImportUpload(db.Model):
    """A file analysed without error, kept until the mediator confirms or abandons the import."""

    __tablename__ = "import_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(enum_column(ImportKind))
    # The structure imported into; empty for a coordinator's team export (each row goes to its
    # mediator's structure).
    structure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("structures.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # Counts only (what would be created), never personal data.
    summary: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Choices made on the analysis page: {"mediateur:<digest of the name>": user id or "ignorer",
    # "beneficiaire:<digest of the name>": beneficiary id or "anonyme"} (digests and ids only).
    resolutions: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    structure = relationship("Structure")


class BeneficiaryMerge(db.Model):
    """``source`` was merged into ``destination`` (the record kept); undoable while ``undone_at``
    is empty and the merge is less than 30 days old."""

    __tablename__ = "beneficiary_merges"
    __table_args__ = (
        sa.CheckConstraint("source_id <> destination_id", name="distinct_records"),
        sa.CheckConstraint("undone_at IS NULL OR undone_at >= merged_at", name="undone_after_merged"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="RESTRICT"), index=True)
    destination_id: Mapped[int] = mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="RESTRICT"),
                                                index=True)
    structure_id: Mapped[int] = mapped_column(sa.ForeignKey("structures.id", ondelete="RESTRICT"), index=True)
    merged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # {field: value of the destination before the merge} for the fields filled from the source.
    filled_fields: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    moved_participation_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    # The source's participations in activities the destination also took part in (deleted):
    # [{"activity_id", "case_id", "first_accompaniment", "created_at"}].
    dropped_participations: Mapped[list] = mapped_column(sa.JSON, default=list)
    moved_case_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    # The source's case in progress, closed because the destination already had one.
    closed_case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    moved_consent_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)

    source = relationship("Beneficiary", foreign_keys=[source_id])
    destination = relationship("Beneficiary", foreign_keys=[destination_id])
    merged_by = relationship("User", foreign_keys=[merged_by_id])
