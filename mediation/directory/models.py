"""Directory: territories → communes → structures, and who works where, when."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.extensions import db
from mediation.text import de
from mediation.types import LabelledEnum, UTCDateTime, enum_column, local_today, utcnow


class TerritoryKind(LabelledEnum):
    METROPOLE = ("metropole", "Métropole")
    DEPARTEMENT = ("departement", "Département")
    AGGLOMERATION = ("agglomeration", "Communauté d'agglomération")
    COMMUNAUTE_COMMUNES = ("communaute_communes", "Communauté de communes")


class Territory(db.Model):
    __tablename__ = "territories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[TerritoryKind] = mapped_column(enum_column(TerritoryKind))
    code: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    communes: Mapped[list[Commune]] = relationship(back_populates="territory", order_by="Commune.name")

    def __str__(self) -> str:
        return self.name


class Commune(db.Model):
    """A commune of the official reference stored in the database.

    Communes of the network's territories carry their ``territory_id``. A commune outside every
    territory ("reference-only", ``territory_id`` null) is stored when an import names it as a
    residence or a place (mediation.directory.communes); it belongs to no territory scope, is offered
    in no picker and holds no structure. ``postal_codes`` lists all its postal codes (Rouen: 76000
    and 76100); ``postal_code`` is the one printed by default (the first).
    """

    __tablename__ = "communes"
    __table_args__ = (
        sa.CheckConstraint("population IS NULL OR population >= 0", name="population_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("territories.id", ondelete="RESTRICT"), index=True
    )
    insee_code: Mapped[str] = mapped_column(sa.String(5), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    postal_code: Mapped[str | None] = mapped_column(sa.String(5))
    postal_codes: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True), default=list)
    population: Mapped[int | None] = mapped_column(sa.Integer)
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)

    territory: Mapped[Territory | None] = relationship(back_populates="communes")

    def __str__(self) -> str:
        return f"{self.name} ({self.insee_code})"

    @property
    def in_network(self) -> bool:
        return self.territory_id is not None


class CommuneNeed(db.Model):
    """Need indicators of a commune imported from open data (mediation.directory.needs): the
    digital fragility index, the share of people aged 75 and over, the poverty rate. Each value is
    optional; ``illustrative`` marks made-up values (the demo's), printed as such."""

    __tablename__ = "commune_needs"
    __table_args__ = (
        sa.CheckConstraint("fragility_index IS NULL OR fragility_index >= 0", name="fragility_positive"),
        sa.CheckConstraint("share_75_plus IS NULL OR (share_75_plus >= 0 AND share_75_plus <= 100)",
                           name="share_75_plus_percent"),
        sa.CheckConstraint("poverty_rate IS NULL OR (poverty_rate >= 0 AND poverty_rate <= 100)",
                           name="poverty_rate_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(sa.ForeignKey("communes.id", ondelete="CASCADE"), unique=True)
    fragility_index: Mapped[float | None] = mapped_column(sa.Float)
    share_75_plus: Mapped[float | None] = mapped_column(sa.Float)  # percent
    poverty_rate: Mapped[float | None] = mapped_column(sa.Float)  # percent
    source: Mapped[str | None] = mapped_column(sa.String(200))
    illustrative: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    commune: Mapped[Commune] = relationship()


class Structure(db.Model):
    """A "lieu de médiation numérique" with the national schema's fields that matter.

    Multi-valued fields of the schema are stored as JSON lists of their French values.
    """

    __tablename__ = "structures"
    __table_args__ = (
        sa.CheckConstraint("siret IS NULL OR length(siret) = 14", name="siret_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(sa.ForeignKey("communes.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(250), index=True)
    siret: Mapped[str | None] = mapped_column(sa.String(14), unique=True)
    rna: Mapped[str | None] = mapped_column(sa.String(10))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    complement_address: Mapped[str | None] = mapped_column(sa.String(300))
    postal_code: Mapped[str | None] = mapped_column(sa.String(5))
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    typologies: Mapped[list] = mapped_column(sa.JSON, default=list)
    services: Mapped[list] = mapped_column(sa.JSON, default=list)
    publics: Mapped[list] = mapped_column(sa.JSON, default=list)
    prise_en_charge: Mapped[list] = mapped_column(sa.JSON, default=list)
    frais: Mapped[list] = mapped_column(sa.JSON, default=list)
    modalites_acces: Mapped[list] = mapped_column(sa.JSON, default=list)
    modalites_accompagnement: Mapped[list] = mapped_column(sa.JSON, default=list)
    dispositifs: Mapped[list] = mapped_column(sa.JSON, default=list)
    itinerance: Mapped[list] = mapped_column(sa.JSON, default=list)
    horaires: Mapped[str | None] = mapped_column(sa.String(500))
    telephone: Mapped[str | None] = mapped_column(sa.String(20))
    courriels: Mapped[list] = mapped_column(sa.JSON, default=list)
    site_web: Mapped[str | None] = mapped_column(sa.String(1000))  # one or more URLs, « | » between
    prise_rdv: Mapped[str | None] = mapped_column(sa.String(300))
    presentation_resume: Mapped[str | None] = mapped_column(sa.String(280))
    presentation_detail: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str | None] = mapped_column(sa.String(200))  # who collected the data (schema « source »)
    structure_parente: Mapped[str | None] = mapped_column(sa.String(250))
    formations_labels: Mapped[list] = mapped_column(sa.JSON, default=list)
    autres_formations_labels: Mapped[str | None] = mapped_column(sa.String(500))
    fiche_acces_libre: Mapped[str | None] = mapped_column(sa.String(300))
    date_maj: Mapped[date] = mapped_column(sa.Date, default=local_today)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A place named by an imported file (La Coop's « Lieu d'activité ») that the directory did not
    # know: kept as a place of its own (name, address, commune) for the activities held there, out
    # of the directory's lists and open data until someone completes and publishes it.
    unlisted: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Démarches (mediation.mandates.enums.Demarche values) its aidants may use; null means all.
    allowed_mandate_scopes: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True))

    commune: Mapped[Commune] = relationship()
    memberships: Mapped[list[StaffMembership]] = relationship(back_populates="structure")

    def __str__(self) -> str:
        return self.name


class StaffMembership(db.Model):
    """A person works for a structure from ``started_on`` to ``ended_on`` (inclusive, open if null)."""

    __tablename__ = "staff_memberships"
    __table_args__ = (
        sa.CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    structure_id: Mapped[int] = mapped_column(
        sa.ForeignKey("structures.id", ondelete="RESTRICT"), index=True
    )
    job_title: Mapped[str | None] = mapped_column(sa.String(120))
    started_on: Mapped[date] = mapped_column(sa.Date)
    ended_on: Mapped[date | None] = mapped_column(sa.Date)

    structure: Mapped[Structure] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")  # noqa: F821

    def is_active_on(self, day: date) -> bool:
        return self.started_on <= day and (self.ended_on is None or day <= self.ended_on)


class Loan(db.Model):
    """A mediator lent to a commune or a structure from ``starts_on`` to ``ends_on`` (inclusive):
    permanences shared between communes. The mediator's activities stay attributed to their own
    structure; the loan offers the borrowing places in their activity form."""

    __tablename__ = "mediator_loans"
    __table_args__ = (
        sa.CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        sa.CheckConstraint("(structure_id IS NULL) <> (commune_id IS NULL)", name="one_place"),
        sa.Index("ix_mediator_loans_mediator_dates", "mediator_id", "starts_on", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=False, nullable=False)  # ix_mediator_loans_mediator_dates
    structure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("structures.id", ondelete="RESTRICT"), index=True, nullable=True)
    commune_id: Mapped[int | None] = mapped_column(sa.ForeignKey("communes.id", ondelete="RESTRICT"), index=True, nullable=True)
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.String(300))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True, nullable=True)

    mediator = relationship("User", foreign_keys=[mediator_id])
    structure = relationship("Structure")
    commune = relationship("Commune")
    created_by = relationship("User", foreign_keys=[created_by_id])

    @property
    def place_name(self) -> str:
        return self.structure.name if self.structure_id else f"Commune {de(self.commune.name)}"

    def is_active_on(self, day: date) -> bool:
        return self.cancelled_at is None and self.starts_on <= day <= self.ends_on
