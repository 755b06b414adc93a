"""A coordinator's activity (the national tool's ``ActiviteCoordination``): one row per animation,
évènement or partenariat, with its type's own fields; tags in ``coordination_activity_tags``."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.cases.models import Tag
from mediation.coordination.enums import (
    AnimationType,
    CoordinationType,
    EventType,
    Initiative,
    TerritorialLevel,
)
from mediation.extensions import db
from mediation.types import UTCDateTime, enum_column, utcnow


class CoordinationActivity(db.Model):
    __tablename__ = "coordination_activities"
    __table_args__ = (
        sa.CheckConstraint("duration_min IS NULL OR (duration_min > 0 AND duration_min <= 1440)", name="duration"),
        sa.Index("ix_coordination_activities_coordinator_date", "coordinator_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[CoordinationType] = mapped_column(enum_column(CoordinationType))
    coordinator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    territory_id: Mapped[int | None] = mapped_column(sa.ForeignKey("territories.id", ondelete="RESTRICT"), index=True)
    date: Mapped[date] = mapped_column(sa.Date)
    duration_min: Mapped[int | None] = mapped_column(sa.Integer)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    territorial_level: Mapped[TerritorialLevel | None] = mapped_column(enum_column(TerritorialLevel))
    # animation
    mediators_count: Mapped[int | None] = mapped_column(sa.Integer)
    structures_count: Mapped[int | None] = mapped_column(sa.Integer)
    other_actors_count: Mapped[int | None] = mapped_column(sa.Integer)
    animation_type: Mapped[AnimationType | None] = mapped_column(enum_column(AnimationType))
    animation_type_other: Mapped[str | None] = mapped_column(sa.String(200))
    initiative: Mapped[Initiative | None] = mapped_column(enum_column(Initiative))
    animation_themes: Mapped[list] = mapped_column(sa.JSON, default=list)
    animation_theme_other: Mapped[str | None] = mapped_column(sa.String(200))
    # évènement
    participants: Mapped[int | None] = mapped_column(sa.Integer)
    event_type: Mapped[EventType | None] = mapped_column(enum_column(EventType))
    event_type_other: Mapped[str | None] = mapped_column(sa.String(200))
    organisers: Mapped[list] = mapped_column(sa.JSON, default=list)
    organiser_other: Mapped[str | None] = mapped_column(sa.String(200))
    # partenariat
    partnership_natures: Mapped[list] = mapped_column(sa.JSON, default=list)
    partnership_nature_other: Mapped[str | None] = mapped_column(sa.String(200))
    partners: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{"nom", "type", "type_autre"}]

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tags: Mapped[list[Tag]] = relationship(secondary="coordination_activity_tags", order_by="Tag.name")


class CoordinationActivityTag(db.Model):
    __tablename__ = "coordination_activity_tags"

    activity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("coordination_activities.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True)


__all__ = ["CoordinationActivity", "CoordinationActivityTag"]
