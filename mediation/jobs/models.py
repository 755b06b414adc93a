"""Background jobs (imports, bulk badge issuing, reports, retention): one table, any backend."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mediation.extensions import db
from mediation.types import LabelledEnum, UTCDateTime, enum_column, utcnow


class JobStatus(LabelledEnum):
    QUEUED = ("queued", "En attente")
    RUNNING = ("running", "En cours")
    DONE = ("done", "Terminée")
    FAILED = ("failed", "Échec")


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(60))
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus), default=JobStatus.QUEUED)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    structure_id: Mapped[int | None] = mapped_column(sa.Integer)
    # Parameters: ids and options only, never personal data.
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Uploaded file (imports), kept in the database so any worker can read it; cleared when done.
    input_name: Mapped[str | None] = mapped_column(sa.String(200))
    input_data: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None] = mapped_column(sa.Integer)
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == JobStatus.DONE else 0
        return min(100, round(100 * self.progress / self.total))

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)
