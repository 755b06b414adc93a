"""Beneficiaries, consents, case files (dossiers) and activity records (CRA).

The counting unit of every statistic is the :class:`Participation` (one person × one activity, an
*accompagnement*). An activity stays attributed to the structure and mediator who did it; the case
moves between structures, the activity's statistics do not.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.cases.enums import (
    AGE_THRESHOLDS,
    ActivityType,
    Autonomie,
    CaseState,
    ClosureReason,
    ConsentScope,
    DataSource,
    EquipmentKind,
    Genre,
    Materiel,
    NiveauAtelier,
    PlaceType,
    RecordSource,
    StatutSocial,
    StructureRedirection,
    TagScope,
    TrancheAge,
    thematique_label,
)
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.types import INDEX_ONLY_AUTOVACUUM, UTCDateTime, enum_column, local_today, utcnow

__all__ = [
    "Activity",
    "ActivityThematique",
    "AnonymisedAgeBand",
    "Beneficiary",
    "Case",
    "CaseNote",
    "Consent",
    "Participation",
    "tranche_age_for",
    "tranche_age_sql",
]


def _fk(target: str, *, nullable: bool = False, index: bool = True):
    return mapped_column(sa.ForeignKey(target, ondelete="RESTRICT"), index=index, nullable=nullable)


# --- age bands ----------------------------------------------------------------------------------

def tranche_age_for(birth_year: int | None, reference: date | int | None = None,
                    declared: TrancheAge | str | None = None) -> TrancheAge:
    """The age band at ``reference`` (a date or a year; today by default).

    Age = reference year − birth year (the national rule). Without a birth year, the ``declared``
    band (anonymous beneficiaries) or "Non communiqué".
    """
    if birth_year is None:
        return TrancheAge(declared) if declared else TrancheAge.NON_COMMUNIQUE
    if reference is None:
        reference = local_today()
    year = reference if isinstance(reference, int) else reference.year
    age = year - birth_year
    for bound, band in AGE_THRESHOLDS:
        if age < bound:
            return band
    return TrancheAge.SOIXANTE_DIX_PLUS


def tranche_age_sql(reference_year, birth_year=None, declared=None):
    """The same rule as :func:`tranche_age_for`, as a portable SQL ``CASE`` returning the band code.

    ``reference_year`` is an int or an SQL expression (e.g. ``sa.extract("year", Activity.date)``).
    Defaults to the columns of :class:`Beneficiary`.
    """
    own_columns = birth_year is None and declared is None
    birth_year = Beneficiary.birth_year if birth_year is None else birth_year
    declared = Beneficiary.tranche_age if declared is None else declared
    reference = sa.literal(reference_year) if isinstance(reference_year, int) else reference_year
    age = reference - birth_year
    known = [declared, TrancheAge.NON_COMMUNIQUE.value]
    if own_columns:  # a person anonymised by retention: the band they had that year, if it differed
        band = AnonymisedAgeBand
        known.insert(0, sa.select(band.tranche_age).where(band.beneficiary_id == Beneficiary.id,
                                                          band.year == reference).scalar_subquery())
    whens = [(birth_year.is_(None), sa.func.coalesce(*known))]
    whens += [(age < bound, sa.literal(band.value)) for bound, band in AGE_THRESHOLDS]
    return sa.case(*whens, else_=sa.literal(TrancheAge.SOIXANTE_DIX_PLUS.value))


# --- beneficiaries ------------------------------------------------------------------------------

# The people counted once in statistics, in SQL (the negation of Beneficiary.counted_per_participation).
COUNTED_ONCE_SQL = "NOT (anonymous IS TRUE AND anonymised_at IS NULL)"


class Beneficiary(db.Model):
    """A person accompanied. Identified (prénom and nom at least) or anonymous (no identity at all).

    Anonymous workshop participants are real rows too (``random_attributes``): their genre, age
    band and status are drawn from the workshop's counters, so that statistics work per person.
    ``owner_structure_id`` is the structure where the record was created.
    """

    __tablename__ = "beneficiaries"
    __table_args__ = (
        sa.CheckConstraint(
            "NOT anonymous OR (first_name IS NULL AND last_name IS NULL AND email IS NULL "
            "AND phone IS NULL AND birth_year IS NULL AND notes IS NULL)",
            name="anonymous_has_no_identity",
        ),
        sa.CheckConstraint(
            "anonymous OR (first_name IS NOT NULL AND last_name IS NOT NULL)", name="identified_has_name"
        ),
        sa.CheckConstraint("anonymous OR NOT random_attributes", name="random_only_anonymous"),
        sa.CheckConstraint("anonymised_at IS NULL OR anonymous", name="anonymised_is_anonymous"),
        sa.CheckConstraint("birth_year IS NULL OR (birth_year >= 1900 AND birth_year <= 2100)",
                           name="birth_year_range"),
        sa.CheckConstraint("birth_year IS NULL OR tranche_age IS NULL", name="age_band_derived"),
        sa.CheckConstraint("accompaniments_count >= 0", name="count_positive"),
        sa.CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_self"),
        sa.Index("ix_beneficiaries_owner_names", "owner_structure_id", "last_name", "first_name"),
        # Retention (« Conservation des données »): the identified records created before the
        # cut-off, a few of the whole table once most people are anonymous participants.
        sa.Index("ix_beneficiaries_identified_created_at", "created_at",
                 postgresql_where=sa.text("NOT anonymous"), sqlite_where=sa.text("NOT anonymous")),
        # Statistics on people counted once (not per participation): their profile attributes by key,
        # read from this index alone on PostgreSQL (INCLUDE) — the national profile joins ~70 000 of
        # them at 1 million accompaniments, among 767 000 records mostly anonymous participants.
        sa.Index("ix_beneficiaries_counted_once_profile", "id",
                 postgresql_include=["genre", "birth_year", "tranche_age", "statut_social", "residence_commune_id"],
                 postgresql_where=sa.text(COUNTED_ONCE_SQL), sqlite_where=sa.text(COUNTED_ONCE_SQL)),
        # Logging an activity updates its people's counters: their pages need frequent VACUUMs for
        # this index to be read alone.
        {"postgresql_with": dict(INDEX_ONLY_AUTOVACUUM)},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_structure_id: Mapped[int] = _fk("structures.id", index=False)  # see ix_beneficiaries_owner_names
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    anonymous: Mapped[bool] = mapped_column(default=False)
    random_attributes: Mapped[bool] = mapped_column(default=False)
    first_name: Mapped[str | None] = mapped_column(sa.String(100))
    last_name: Mapped[str | None] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    no_phone: Mapped[bool] = mapped_column(default=False)
    birth_year: Mapped[int | None] = mapped_column(sa.SmallInteger)
    # Only for anonymous people (no birth year): the band declared or drawn from workshop counters.
    tranche_age: Mapped[TrancheAge | None] = mapped_column(enum_column(TrancheAge))
    residence_commune_id: Mapped[int | None] = _fk("communes.id", nullable=True)
    genre: Mapped[Genre | None] = mapped_column(enum_column(Genre))
    statut_social: Mapped[StatutSocial | None] = mapped_column(enum_column(StatutSocial))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    accompaniments_count: Mapped[int] = mapped_column(default=0, server_default="0")
    source: Mapped[RecordSource] = mapped_column(
        enum_column(RecordSource), default=RecordSource.SAISIE, server_default=RecordSource.SAISIE.value
    )
    external_id: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = _fk("beneficiaries.id", nullable=True)
    # Set by retention: a followed person whose identity was erased. Unlike a participant recorded
    # anonymously (one participation each, each counted as a beneficiary by the national rule), the
    # person still counts once in the statistics: every figure of a past period stays the same.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language of « Mon carnet » and of the printed card (a code of mediation.i18n.LANGUAGES;
    # None is French), chosen by the person in their carnet or by the mediator printing the card.
    language: Mapped[str | None] = mapped_column(sa.String(8))

    owner_structure = relationship("Structure")
    residence_commune = relationship("Commune")
    created_by = relationship("User")
    consents: Mapped[list[Consent]] = relationship(back_populates="beneficiary", order_by="Consent.given_at")

    @hybrid_property
    def counted_per_participation(self) -> bool:
        """Statistics: each participation of this person counts as one beneficiary (a participant
        recorded anonymously, the national rule). Everyone else, including people anonymised by
        retention, counts once however many their accompaniments."""
        return bool(self.anonymous) and self.anonymised_at is None

    @counted_per_participation.inplace.expression
    @classmethod
    def _counted_per_participation_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.anonymous.is_(True), cls.anonymised_at.is_(None))

    @property
    def display_name(self) -> str:
        """For staff allowed to see names; policy decides who calls it."""
        if self.anonymous:
            return f"Bénéficiaire anonyme n° {self.id}"
        return f"{self.first_name} {self.last_name}"

    @property
    def pseudonym(self) -> str:
        """What users not allowed to see names read (coordinators, admins)."""
        return f"Bénéficiaire n° {self.id}" if not self.anonymous else f"Bénéficiaire anonyme n° {self.id}"

    def tranche_age_at(self, reference: date | int | None = None) -> TrancheAge:
        return tranche_age_for(self.birth_year, reference, self.tranche_age)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def __str__(self) -> str:
        return self.pseudonym


class AnonymisedAgeBand(db.Model):
    """The age band a person anonymised by retention had in a past year, when it differs from the
    band frozen on their record (the one of the year of anonymisation). The evaluation counts ages
    in the last year of the period; the birth year is erased, so these rows keep the closed
    periods' age breakdowns exact. Only the years from their first accompaniment to the
    anonymisation are kept, and only where the band changed (not the birth year itself)."""

    __tablename__ = "anonymised_age_bands"

    beneficiary_id: Mapped[int] = mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"),
                                                primary_key=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    tranche_age: Mapped[TrancheAge] = mapped_column(enum_column(TrancheAge))


class Consent(db.Model):
    """The beneficiary's consent to follow-up within the structure or sharing within the network.

    Recorded with its date, scope and structure; withdrawing it sets ``withdrawn_at`` (the row
    stays, for the record). At most one live consent per beneficiary, scope and structure.
    """

    __tablename__ = "consents"
    __table_args__ = (
        sa.Index(
            "uq_consents_live", "beneficiary_id", "scope", "structure_id", unique=True,
            sqlite_where=sa.text("withdrawn_at IS NULL"), postgresql_where=sa.text("withdrawn_at IS NULL"),
        ),
        sa.CheckConstraint("withdrawn_at IS NULL OR withdrawn_at >= given_at", name="withdrawn_after_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = _fk("beneficiaries.id")
    structure_id: Mapped[int] = _fk("structures.id")
    scope: Mapped[ConsentScope] = mapped_column(enum_column(ConsentScope))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = _fk("users.id", nullable=True)

    beneficiary: Mapped[Beneficiary] = relationship(back_populates="consents")
    structure = relationship("Structure")
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    withdrawn_by = relationship("User", foreign_keys=[withdrawn_by_id])

    @property
    def is_live(self) -> bool:
        return self.withdrawn_at is None


# --- case files ---------------------------------------------------------------------------------

class Case(db.Model):
    """A case file (dossier): one per beneficiary and accompaniment episode, held by one structure.

    Lifecycle: ouvert ⇄ en pause → clos (with a reason) → ouvert again (reopen). At most one case
    per beneficiary that is not closed. ``version`` is an optimistic-concurrency counter: an update
    made from a stale copy fails (SQLAlchemy's ``version_id_col``), see reassignment.
    """

    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_structure_state", "structure_id", "state"),
        # The case list's order (in progress first, then last change), per structure and overall.
        sa.Index("ix_cases_structure_closed_updated", "structure_id", sa.text("(state = 'clos')"),
                 sa.text("updated_at DESC"), sa.text("id DESC")),
        sa.Index("ix_cases_closed_updated", sa.text("(state = 'clos')"), sa.text("updated_at DESC"),
                 sa.text("id DESC")),
        sa.Index(
            "uq_cases_live_beneficiary", "beneficiary_id", unique=True,
            sqlite_where=sa.text("state <> 'clos'"), postgresql_where=sa.text("state <> 'clos'"),
        ),
        sa.CheckConstraint(
            "(state = 'clos') = (closed_at IS NOT NULL AND closure_reason IS NOT NULL)",
            name="closed_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = _fk("beneficiaries.id")
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # covered by ix_cases_structure_state
    mediator_id: Mapped[int | None] = _fk("users.id", nullable=True)
    state: Mapped[CaseState] = mapped_column(enum_column(CaseState), default=CaseState.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closure_reason: Mapped[ClosureReason | None] = mapped_column(enum_column(ClosureReason))
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    beneficiary: Mapped[Beneficiary] = relationship()
    structure = relationship("Structure")
    mediator = relationship("User", foreign_keys=[mediator_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    notes: Mapped[list[CaseNote]] = relationship(back_populates="case", order_by="CaseNote.created_at")

    # Transitions: each raises DomainError on an illegal move and returns the previous state.
    def pause(self) -> CaseState:
        if self.state != CaseState.OPEN:
            raise DomainError("Seul un dossier ouvert peut être mis en pause.")
        return self._move(CaseState.PAUSED)

    def resume(self) -> CaseState:
        if self.state != CaseState.PAUSED:
            raise DomainError("Seul un dossier en pause peut être repris.")
        return self._move(CaseState.OPEN)

    def close(self, reason: ClosureReason | str | None) -> CaseState:
        if self.state == CaseState.CLOSED:
            raise DomainError("Ce dossier est déjà clos.")
        if not reason:
            raise DomainError("Veuillez indiquer le motif de clôture.", field="reason")
        try:
            reason = ClosureReason(reason)
        except ValueError:
            raise DomainError("Motif de clôture inconnu.", field="reason") from None
        self.closure_reason = reason
        self.closed_at = utcnow()
        return self._move(CaseState.CLOSED)

    def reopen(self) -> CaseState:
        if self.state != CaseState.CLOSED:
            raise DomainError("Seul un dossier clos peut être rouvert.")
        self.closure_reason = None
        self.closed_at = None
        return self._move(CaseState.OPEN)

    def _move(self, target: CaseState) -> CaseState:
        previous = self.state
        self.state = target
        self.paused_at = utcnow() if target == CaseState.PAUSED else None
        return previous

    @property
    def is_closed(self) -> bool:
        return self.state == CaseState.CLOSED


class CaseNote(db.Model):
    """A note on the case timeline (never sensitive data; hidden from coordinators)."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = _fk("cases.id")
    author_id: Mapped[int | None] = _fk("users.id", nullable=True)
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="notes")
    author = relationship("User")


# --- activity records ---------------------------------------------------------------------------

class Activity(db.Model):
    """A CRA: an individual session or a workshop, attributed to ``mediator`` acting for ``structure``.

    Place rules (national tool): *Lieu d'activité* names a structure (``place_structure_id``);
    *Autre lieu* and *À domicile* name a commune; *À distance* carries the commune of the
    mediator's structure. ``participants_count`` is the number of participations (the stats
    weight). Soft-deleted activities (``deleted_at``) count nowhere.
    """

    __tablename__ = "activities"
    __table_args__ = (
        sa.Index("ix_activities_structure_date", "structure_id", "date"),
        sa.Index("ix_activities_mediator_date", "mediator_id", "date"),
        sa.Index("ix_activities_date_id", "date", "id"),  # coordinator and national lists by date
        # Statistics over live activities (evaluation): the activity ids of a structure's period
        # read from the index alone (index-only scan), then their participations by
        # uq_participations_activity_beneficiary, also index-only.
        sa.Index("ix_activities_live_structure_date_id", "structure_id", "date", "id",
                 postgresql_where=sa.text("deleted_at IS NULL"), sqlite_where=sa.text("deleted_at IS NULL")),
        # « Personnes équipées » (evaluation): only the few live activities with equipment, by
        # structure and by mediator (a programme of places or posts reads either or both).
        sa.Index("ix_activities_live_equipped_structure_date", "structure_id", "date",
                 postgresql_where=sa.text("deleted_at IS NULL AND equipment_kind IS NOT NULL"),
                 sqlite_where=sa.text("deleted_at IS NULL AND equipment_kind IS NOT NULL")),
        sa.Index("ix_activities_live_equipped_mediator_date", "mediator_id", "date",
                 postgresql_where=sa.text("deleted_at IS NULL AND equipment_kind IS NOT NULL"),
                 sqlite_where=sa.text("deleted_at IS NULL AND equipment_kind IS NOT NULL")),
        sa.UniqueConstraint("structure_id", "external_id", name="uq_activities_structure_external_id"),
        # An activity of the national tool (its « ID CRA ») exists once in the whole network, whoever
        # imported it (a mediator's own file, then their coordinator's team export).
        sa.Index("uq_activities_national_external_id", "external_id", unique=True,
                 postgresql_where=sa.text("data_source IS NOT NULL"), sqlite_where=sa.text("data_source IS NOT NULL")),
        sa.CheckConstraint("duration_min > 0 AND duration_min <= 1440", name="duration_range"),
        sa.CheckConstraint("participants_count >= 0", name="participants_positive"),
        sa.CheckConstraint(
            "place_type <> 'lieu_activite' OR place_structure_id IS NOT NULL", name="place_structure_given"
        ),
        sa.CheckConstraint(
            "place_type NOT IN ('autre', 'domicile') OR place_commune_id IS NOT NULL", name="place_commune_given"
        ),
        sa.CheckConstraint(
            "type = 'individuel' OR (autonomie IS NULL AND oriented IS NULL AND redirection IS NULL)",
            name="individual_fields",
        ),
        sa.CheckConstraint(
            "type = 'collectif' OR (workshop_title IS NULL AND workshop_level IS NULL)",
            name="workshop_fields",
        ),
        sa.CheckConstraint(
            "(equipment_kind IS NULL) = (equipment_count IS NULL) AND (equipment_count IS NULL OR equipment_count > 0)",
            name="equipment_complete",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[ActivityType] = mapped_column(enum_column(ActivityType))
    mediator_id: Mapped[int] = _fk("users.id", index=False)  # covered by ix_activities_mediator_date
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # covered by ix_activities_structure_date
    date: Mapped[dt.date] = mapped_column(sa.Date)
    duration_min: Mapped[int] = mapped_column(sa.Integer)
    place_type: Mapped[PlaceType] = mapped_column(enum_column(PlaceType))
    place_structure_id: Mapped[int | None] = _fk("structures.id", nullable=True)
    place_commune_id: Mapped[int | None] = _fk("communes.id", nullable=True)
    demarche_name: Mapped[str | None] = mapped_column(sa.String(200))
    materiel: Mapped[list] = mapped_column(sa.JSON, default=list)
    autonomie: Mapped[Autonomie | None] = mapped_column(enum_column(Autonomie))
    oriented: Mapped[bool | None] = mapped_column(sa.Boolean)
    redirection: Mapped[StructureRedirection | None] = mapped_column(enum_column(StructureRedirection))
    equipment_kind: Mapped[EquipmentKind | None] = mapped_column(enum_column(EquipmentKind))
    equipment_count: Mapped[int | None] = mapped_column(sa.Integer)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    workshop_title: Mapped[str | None] = mapped_column(sa.String(200))
    workshop_level: Mapped[NiveauAtelier | None] = mapped_column(enum_column(NiveauAtelier))
    participants_count: Mapped[int] = mapped_column(default=0, server_default="0")
    source: Mapped[RecordSource] = mapped_column(
        enum_column(RecordSource), default=RecordSource.SAISIE, server_default=RecordSource.SAISIE.value
    )
    external_id: Mapped[str | None] = mapped_column(sa.String(100))
    # Imported from the national tool: when the activity was first recorded there (« Enregistré le »)
    # and which version of the tool recorded it (« Source de la donnée »). Empty when logged here.
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data_source: Mapped[DataSource | None] = mapped_column(enum_column(DataSource))
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    mediator = relationship("User", foreign_keys=[mediator_id])
    structure = relationship("Structure", foreign_keys=[structure_id])
    place_structure = relationship("Structure", foreign_keys=[place_structure_id])
    place_commune = relationship("Commune")
    thematique_rows: Mapped[list[ActivityThematique]] = relationship(
        cascade="all, delete-orphan", order_by="ActivityThematique.code", back_populates="activity"
    )
    participations: Mapped[list[Participation]] = relationship(
        cascade="all, delete-orphan", back_populates="activity", order_by="Participation.id"
    )
    tags: Mapped[list[Tag]] = relationship(secondary="activity_tags", order_by="Tag.name")

    @property
    def first_recorded_at(self) -> datetime:
        """« Enregistré le »: the national tool's recording time of an imported activity, else ours."""
        return self.recorded_at or self.created_at

    @property
    def thematiques(self) -> list[str]:
        return [row.code for row in self.thematique_rows]

    @property
    def thematique_labels(self) -> list[str]:
        return [thematique_label(code) for code in self.thematiques]

    @property
    def materiel_labels(self) -> list[str]:
        return [Materiel.label_of(code) for code in self.materiel or []]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_workshop(self) -> bool:
        return self.type == ActivityType.COLLECTIF


class Tag(db.Model):
    """A label mediators put on activities to follow their own projects (the national tool's
    « tags »): a mediator's own (``owner``), a structure team's, or a territory's, shared by its
    coordination. Deleted tags (``deleted_at``) stay on past activities and are offered nowhere."""

    __tablename__ = "tags"
    __table_args__ = (
        sa.CheckConstraint(
            "(scope = 'personnel' AND owner_id IS NOT NULL AND structure_id IS NULL AND territory_id IS NULL)"
            " OR (scope = 'structure' AND structure_id IS NOT NULL AND owner_id IS NULL AND territory_id IS NULL)"
            " OR (scope = 'territoire' AND territory_id IS NOT NULL AND owner_id IS NULL AND structure_id IS NULL)",
            name="scope_owner",
        ),
        sa.Index("ix_tags_owner", "owner_id"),
        sa.Index("ix_tags_structure", "structure_id"),
        sa.Index("ix_tags_territory", "territory_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str | None] = mapped_column(sa.Text)
    scope: Mapped[TagScope] = mapped_column(enum_column(TagScope))
    owner_id: Mapped[int | None] = _fk("users.id", nullable=True, index=False)
    structure_id: Mapped[int | None] = _fk("structures.id", nullable=True, index=False)
    territory_id: Mapped[int | None] = _fk("territories.id", nullable=True, index=False)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ActivityTag(db.Model):
    """A tag on an activity (GROUP BY tag for statistics, weighted by accompaniments)."""

    __tablename__ = "activity_tags"

    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True)


class ActivityThematique(db.Model):
    """One thématique code (either family) of an activity: GROUP BY code for statistics."""

    __tablename__ = "activity_thematiques"

    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(60), primary_key=True, index=True)

    activity: Mapped[Activity] = relationship(back_populates="thematique_rows")


class Participation(db.Model):
    """One *accompagnement*: a beneficiary took part in an activity (unique per pair).

    ``first_accompaniment`` marks, for each identified beneficiary, the earliest participation by
    activity date among non-deleted activities (recomputed after every change); for anonymous
    people it is what the mediator declared ("J'ai déjà accompagné ce bénéficiaire").
    """

    __tablename__ = "participations"
    __table_args__ = (
        sa.UniqueConstraint("activity_id", "beneficiary_id", name="uq_participations_activity_beneficiary"),
        {"postgresql_with": dict(INDEX_ONLY_AUTOVACUUM)},  # the statistics read this key alone
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = _fk("activities.id")
    beneficiary_id: Mapped[int] = _fk("beneficiaries.id")
    case_id: Mapped[int | None] = _fk("cases.id", nullable=True)
    first_accompaniment: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    activity: Mapped[Activity] = relationship(back_populates="participations")
    beneficiary: Mapped[Beneficiary] = relationship()
    case: Mapped[Case | None] = relationship()
