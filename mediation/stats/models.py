"""Pre-aggregated activity statistics ("rollups"), kept exact by :mod:`mediation.stats.rollups`.

The grain is one *cell* = (structure, month, mediator): every statistic of the dashboard over whole
months is a SUM over cells, so a change to an activity only rewrites the few cells it touches.
Counts of accompagnements are additive and exact at that grain; distinct beneficiaries are not
additive, so identified beneficiaries get their own table at (cell, beneficiary) grain and are
counted with ``COUNT(DISTINCT)``. Anonymous people are one row per participation (the national
rule: each counts as one beneficiary), so they are a plain sum; their profile (genre, age band,
statut, commune of residence: fixed for an anonymous person) is summed per cell too, so that the
profile of a scope's beneficiaries needs no pass over the participations.

Soft-deleted activities count nowhere. ``month`` is the first day of the month of
``Activity.date`` (a local date: no time zone involved).

These tables are derived data and carry no foreign keys on purpose: every row comes from
activities and participations whose own foreign keys (RESTRICT) already guarantee the referenced
structures, users and beneficiaries exist and stay; checking them again on each rollup row
doubled the time of a full rebuild and would take row locks on users and structures in every
transaction that logs an activity.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mediation.cases.enums import ActivityType, Genre, PlaceType, StatutSocial, TrancheAge
from mediation.extensions import db
from mediation.types import INDEX_ONLY_AUTOVACUUM, enum_column

__all__ = ["ActivityProfileRollup", "ActivityRollup", "AnonymousProfileRollup", "BeneficiaryMonthRollup",
           "CoopPersonRollup", "CoopRollup", "ThematiqueRollup"]


# Every rollup table is read through index-only scans: autovacuum keeps its visibility map current.
_TABLE_OPTIONS = {"postgresql_with": dict(INDEX_ONLY_AUTOVACUUM)}


def _key():
    return mapped_column(sa.Integer, primary_key=True)


def _covering_key(*key: str, include: tuple[str, ...]) -> sa.PrimaryKeyConstraint:
    """The primary key of a cell table whose rows are read by the thousands (a territory's
    structures over a year), which also carries the summed columns on PostgreSQL
    (``INCLUDE``): the dashboards read them from the index alone (index-only scans), where they
    fetched one heap page per row (the rows of a structure are scattered among those of every
    structure logging the same month). At 10 million accompaniments the thématiques of the busiest
    territory read 18,800 pages (57 ms) and now 600 (7 ms). SQLite ignores ``INCLUDE`` (same key).
    The price: an update of a row changes an indexed column, so it is never a HOT update."""
    return sa.PrimaryKeyConstraint(*key, postgresql_include=list(include))


def _covering_mediator_index(table: str, *include: str) -> sa.Index:
    """The (mediator, month) index of a cell table, which also carries the rest of the cell on
    PostgreSQL (``INCLUDE``: its structure, the other key columns, the summed columns): a programme
    that funds posts reads the cells of its mediators outside its places from this index alone,
    as it reads those of its places from the primary key (see
    :func:`mediation.stats.dashboard.cell_parts`). SQLite ignores ``INCLUDE`` (same index)."""
    return sa.Index(f"ix_{table}_mediator_month", "mediator_id", "month", postgresql_include=["structure_id", *include])


class ActivityRollup(db.Model):
    """Activities and accompagnements per (structure, month, mediator, activity type)."""

    __tablename__ = "activity_rollups"
    __table_args__ = (sa.Index("ix_activity_rollups_mediator_month", "mediator_id", "month"), _TABLE_OPTIONS)

    structure_id: Mapped[int] = _key()
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    mediator_id: Mapped[int] = _key()
    type: Mapped[ActivityType] = mapped_column(enum_column(ActivityType), primary_key=True)
    activities: Mapped[int] = mapped_column(sa.Integer)
    accompaniments: Mapped[int] = mapped_column(sa.Integer)
    anonymous_accompaniments: Mapped[int] = mapped_column(sa.Integer)
    first_accompaniments: Mapped[int] = mapped_column(sa.Integer)
    duration_min: Mapped[int] = mapped_column(sa.BigInteger)


class ThematiqueRollup(db.Model):
    """Activities and accompagnements per cell, activity type and thématique code (either family).

    An activity with two thématiques counts in both, weighted by its participants (national rule).
    """

    __tablename__ = "activity_thematique_rollups"
    __table_args__ = (
        _covering_key("structure_id", "month", "mediator_id", "type", "code", include=("activities", "accompaniments")),
        _covering_mediator_index("activity_thematique_rollups", "type", "code", "activities", "accompaniments"),
        _TABLE_OPTIONS,
    )

    structure_id: Mapped[int] = _key()
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    mediator_id: Mapped[int] = _key()
    type: Mapped[ActivityType] = mapped_column(enum_column(ActivityType), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    activities: Mapped[int] = mapped_column(sa.Integer)
    accompaniments: Mapped[int] = mapped_column(sa.Integer)


class BeneficiaryMonthRollup(db.Model):
    """Identified beneficiaries seen in a cell, with their number of accompagnements there."""

    __tablename__ = "beneficiary_month_rollups"
    __table_args__ = (
        _covering_key("structure_id", "month", "mediator_id", "beneficiary_id", include=("accompaniments",)),
        _covering_mediator_index("beneficiary_month_rollups", "beneficiary_id", "accompaniments"),
        sa.Index("ix_beneficiary_month_rollups_beneficiary_id", "beneficiary_id"),
        _TABLE_OPTIONS,
    )

    structure_id: Mapped[int] = _key()
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    mediator_id: Mapped[int] = _key()
    beneficiary_id: Mapped[int] = _key()
    accompaniments: Mapped[int] = mapped_column(sa.Integer)


class AnonymousProfileRollup(db.Model):
    """Accompagnements of anonymous people per cell and profile: genre, age band, statut and commune
    of residence, as the dashboard groups them (missing values as « non communiqué », an unknown
    commune as 0). An anonymous person has no birth year (``anonymous_has_no_identity``): the age
    band is the one recorded, whatever the period. Identified people's profiles are read from
    ``beneficiaries`` through :class:`BeneficiaryMonthRollup` instead (their record may change).
    """

    __tablename__ = "anonymous_profile_rollups"
    __table_args__ = (
        _covering_key("structure_id", "month", "mediator_id", "genre", "tranche_age", "statut_social", "commune_id",
                      include=("accompaniments",)),
        _covering_mediator_index("anonymous_profile_rollups", "genre", "tranche_age", "statut_social", "commune_id",
                                 "accompaniments"),
        _TABLE_OPTIONS,
    )

    structure_id: Mapped[int] = _key()
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    mediator_id: Mapped[int] = _key()
    genre: Mapped[Genre] = mapped_column(enum_column(Genre), primary_key=True)
    tranche_age: Mapped[TrancheAge] = mapped_column(enum_column(TrancheAge), primary_key=True)
    statut_social: Mapped[StatutSocial] = mapped_column(enum_column(StatutSocial), primary_key=True)
    commune_id: Mapped[int] = _key()
    accompaniments: Mapped[int] = mapped_column(sa.Integer)


class ActivityProfileRollup(db.Model):
    """Activities per cell, type, canal (``place_type``) and duration (minutes, exact: any grouping
    into duration bands is made when reading): their accompagnements (``participants_count``, the
    stats weight) and how many have the optional fields of an individual session filled in."""

    __tablename__ = "activity_profile_rollups"
    __table_args__ = (
        _covering_key("structure_id", "month", "mediator_id", "type", "place_type", "duration",
                      include=("activities", "accompaniments", "autonomie_given", "materiel_given")),
        _covering_mediator_index("activity_profile_rollups", "type", "place_type", "duration", "activities",
                                 "accompaniments", "autonomie_given", "materiel_given"),
        _TABLE_OPTIONS,
    )

    structure_id: Mapped[int] = _key()
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    mediator_id: Mapped[int] = _key()
    type: Mapped[ActivityType] = mapped_column(enum_column(ActivityType), primary_key=True)
    place_type: Mapped[PlaceType] = mapped_column(enum_column(PlaceType), primary_key=True)
    duration: Mapped[int] = _key()
    activities: Mapped[int] = mapped_column(sa.Integer)
    accompaniments: Mapped[int] = mapped_column(sa.Integer)
    autonomie_given: Mapped[int] = mapped_column(sa.Integer)
    materiel_given: Mapped[int] = mapped_column(sa.Integer)


class CoopRollup(db.Model):
    """The additive breakdowns of « Statistiques » (mediation.stats.coop, La Coop's definitions) per
    cell and activity type: one row per (dimension, value), with the number of activities (or, for
    the anonymous profile, of participations) behind it and their accompagnements (participations,
    the Coop's weight). Dimensions (:mod:`mediation.stats.coop_rollups`): ``canal`` (place type),
    ``duree`` (the Coop's duration bucket), ``lieu`` (place structure of a session « lieu
    d'activité »), ``commune`` (``s:`` place structure, ``c:`` commune named, ``o:`` own structure;
    resolved to a commune when read, as the directory then says), ``materiel`` (code), ``tag`` (tag id, live or not: deleted
    tags are left out when read) and, for participants counted per participation (recorded
    anonymously), ``genre``, ``age``, ``statut``, ``residence`` (commune id, 0 unknown)."""

    __tablename__ = "coop_rollups"
    __table_args__ = (sa.Index("ix_coop_rollups_mediator_month", "mediator_id", "month"), _TABLE_OPTIONS)

    structure_id: Mapped[int] = _key()
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    mediator_id: Mapped[int] = _key()
    type: Mapped[ActivityType] = mapped_column(enum_column(ActivityType), primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    activities: Mapped[int] = mapped_column(sa.Integer)
    accompaniments: Mapped[int] = mapped_column(sa.Integer)


class CoopPersonRollup(db.Model):
    """People counted once (identified, or anonymised by retention) seen in a cell with activities of
    a type, and their accompagnements there: the distinct beneficiaries of « Statistiques » with its
    type filter (:class:`BeneficiaryMonthRollup` has no type). With a copy of their profile (the
    record's values, the age band computed when read), so that the breakdowns of a whole network
    need not look up hundreds of thousands of records; kept equal to the record by the cases
    signals (edit, merge, anonymisation) and checked by ``rollups.differences``."""

    __tablename__ = "coop_person_rollups"
    __table_args__ = (sa.Index("ix_coop_person_rollups_mediator_month", "mediator_id", "month"),
                      sa.Index("ix_coop_person_rollups_month", "month"),
                      sa.Index("ix_coop_person_rollups_beneficiary_id", "beneficiary_id"),
                      {"info": {"copied": ("anonymous", "genre", "birth_year", "tranche_age", "statut_social",
                                           "residence_commune_id")}, **_TABLE_OPTIONS})

    structure_id: Mapped[int] = _key()
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    mediator_id: Mapped[int] = _key()
    type: Mapped[ActivityType] = mapped_column(enum_column(ActivityType), primary_key=True)
    beneficiary_id: Mapped[int] = _key()
    accompaniments: Mapped[int] = mapped_column(sa.Integer)
    anonymous: Mapped[bool] = mapped_column(sa.Boolean)
    genre: Mapped[str | None] = mapped_column(sa.String(40))
    birth_year: Mapped[int | None] = mapped_column(sa.SmallInteger)
    tranche_age: Mapped[str | None] = mapped_column(sa.String(40))
    statut_social: Mapped[str | None] = mapped_column(sa.String(40))
    residence_commune_id: Mapped[int | None] = mapped_column(sa.Integer)
