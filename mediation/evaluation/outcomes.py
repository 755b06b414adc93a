"""Outputs (réalisations) and outcomes (résultats) of a scope, from the pathways, referrals,
mandates, badges and follow-up records — SQL aggregation only (window functions for first and
latest diagnoses, ``GROUP BY`` for distributions; SQLite ≥ 3.25 and PostgreSQL alike).

The people an outcome is measured on are the people in scope (:meth:`Scope.people`): identified
beneficiaries with at least one accompaniment retained by the filters during the period; their
records are read up to the last day of the period, whichever structure wrote them.

Adding an indicator: a definition in :mod:`mediation.evaluation.definitions`, then a few lines
here appending a figure or a table built with :mod:`mediation.evaluation.results`.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from mediation.badges.models import Assertion, BadgeClass
from mediation.cases.enums import Autonomie, EquipmentKind, StatutSocial
from mediation.cases.models import Activity, Beneficiary, Case, Participation
from mediation.equipment.models import Handover
from mediation.evaluation import definitions, method, results
from mediation.evaluation.models import FollowUp, FollowUpStatus
from mediation.evaluation.results import Section
from mediation.evaluation.scope import Scope
from mediation.mandates.enums import RevocationReason
from mediation.mandates.models import Authorization, Mandate, MandateUse
from mediation.pathways.enums import (
    AssessmentMoment,
    AutonomyDomain,
    EnrolmentState,
    MilestoneKind,
    ReferralStatus,
)
from mediation.pathways.models import (
    Assessment,
    Enrolment,
    Milestone,
    MilestoneValidation,
    PathwayLevel,
    Referral,
)
from mediation.stats.rollups import as_date, month_start
from mediation.types import local_day

HONOURED_WITHIN_DAYS = 30
AUTONOMY_LEVELS = list(Autonomie)


# --- portable date arithmetic -------------------------------------------------------------------

class day_diff(GenericFunction):
    """Whole days from the first date to the second (``second - first``)."""

    type = sa.Integer()
    name = "day_diff"
    inherit_cache = True


@compiles(day_diff, "postgresql")
def _day_diff_pg(element, compiler, **kw):
    first, second = list(element.clauses)
    return f"(CAST({compiler.process(second, **kw)} AS DATE) - CAST({compiler.process(first, **kw)} AS DATE))"


@compiles(day_diff, "sqlite")
def _day_diff_sqlite(element, compiler, **kw):
    first, second = list(element.clauses)
    return (f"CAST(julianday({compiler.process(second, **kw)}) - julianday({compiler.process(first, **kw)}) "
            "AS INTEGER)")


# --- outputs ------------------------------------------------------------------------------------

def _count(scope: Scope, query) -> int:
    return scope.session.scalar(query) or 0


def outputs_section(scope: Scope, threshold: int) -> Section:
    session = scope.session
    ind = definitions.INDICATORS
    section = Section("realisations", "Réalisations : diagnostics, parcours, orientations, mandats, équipement")
    moments = dict(session.execute(
        sa.select(Assessment.moment, sa.func.count())
        .where(scope.period_clause(Assessment.taken_at), scope.unit_clause(Assessment.structure_id,
                                                                           Assessment.taken_by_id))
        .group_by(Assessment.moment)).all())
    initial = moments.get(AssessmentMoment.INITIAL, moments.get(AssessmentMoment.INITIAL.value, 0))
    section.figures.append(results.count_figure("realisations.diagnostics", ind["realisations.diagnostics"].label,
                                                initial, threshold, "diagnostics"))
    section.figures.append(results.count_figure("realisations.bilans", ind["realisations.bilans"].label,
                                                sum(moments.values()) - initial, threshold, "diagnostics"))
    section.figures.append(results.count_figure(
        "realisations.inscriptions", ind["realisations.inscriptions"].label,
        _count(scope, sa.select(sa.func.count(Enrolment.id)).where(
            scope.period_clause(Enrolment.enrolled_at),
            scope.unit_clause(Enrolment.structure_id, Enrolment.enrolled_by_id))), threshold, "inscriptions"))
    kinds = dict(session.execute(
        sa.select(Milestone.kind, sa.func.count(MilestoneValidation.id))
        .join(Milestone, Milestone.id == MilestoneValidation.milestone_id)
        .where(scope.period_clause(MilestoneValidation.validated_at),
               scope.unit_clause(MilestoneValidation.structure_id, MilestoneValidation.validated_by_id))
        .group_by(Milestone.kind)).all())
    kinds = {MilestoneKind(k): v for k, v in kinds.items()}
    section.figures.append(results.count_figure("realisations.etapes", ind["realisations.etapes"].label,
                                                kinds.get(MilestoneKind.STEP, 0), threshold, "validations"))
    section.tables.append(results.breakdown_table(
        "realisations.jalons", "realisations.etapes", "Jalons de parcours validés", "Jalon",
        [(k.value, label, kinds.get(k, 0)) for k, label in (
            (MilestoneKind.STEP, "Étapes validées"), (MilestoneKind.LEVEL, "Niveaux atteints"),
            (MilestoneKind.PATHWAY, "Parcours terminés (Autonomie numérique)"))],
        threshold, count_label="Validations", percent=False, total=False))
    section.tables.append(results.breakdown_table(
        "realisations.badges", "realisations.badges", "Badges délivrés par niveau", "Niveau",
        _badges_by_level(scope), threshold, count_label="Badges"))
    statuses = {ReferralStatus(k): v for k, v in session.execute(
        sa.select(Referral.status, sa.func.count())
        .where(scope.period_clause(Referral.created_at),
               scope.unit_clause(Referral.from_structure_id, Referral.created_by_id))
        .group_by(Referral.status))}
    section.tables.append(results.breakdown_table(
        "realisations.orientations", "realisations.orientations", "Orientations proposées, par état actuel", "État",
        [(s.value, s.label, statuses.get(s, 0)) for s in ReferralStatus], threshold, count_label="Orientations"))
    section.figures += _mandate_figures(scope, threshold)
    equipment_figures, equipment_table = _equipment_library(scope, threshold)
    section.figures += equipment_figures
    section.tables.append(equipment_table)
    section.figures.append(_equipped_figure(scope, threshold))
    equipped = _equipped_people(scope)[1]
    section.tables.append(results.breakdown_table(
        "realisations.equipement", "realisations.personnes_equipees", "Personnes équipées, par type d'équipement",
        "Type", [(k.value, k.label, equipped.get(k, 0)) for k in EquipmentKind], threshold,
        count_label="Personnes"))
    return section


def _badges_by_level(scope: Scope):
    """Badges issued in the period (and not revoked since) by level, by the structures in scope."""
    rows = scope.session.execute(
        sa.select(BadgeClass.level_label, sa.func.count(Assertion.id))
        .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
        .where(scope.period_clause(Assertion.issued_at), Assertion.revoked_at.is_(None),
               scope.unit_clause(Assertion.structure_id, Assertion.issued_by_id, Assertion.activity_id))
        .group_by(BadgeClass.level_label).order_by(BadgeClass.level_label))
    return [(label, label, count) for label, count in rows]


def _mandate_figures(scope: Scope, threshold: int) -> list:
    ind = definitions.INDICATORS
    unit = scope.unit_clause(Mandate.structure_id, Mandate.created_by_id)
    created = _count(scope, sa.select(sa.func.count(Mandate.id)).where(scope.period_clause(Mandate.created_at), unit))
    end = scope.utc_end
    in_force = sa.select(Authorization.mandate_id).where(
        Authorization.created_at < end, Authorization.expires_at >= end,
        sa.or_(Authorization.revoked_at.is_(None), Authorization.revoked_at >= end))
    active = _count(scope, sa.select(sa.func.count(Mandate.id)).where(Mandate.id.in_(in_force), unit))
    revoked_ids = sa.select(Authorization.mandate_id).where(
        scope.period_clause(Authorization.revoked_at), Authorization.revocation_reason != RevocationReason.REMPLACEE)
    revoked = _count(scope, sa.select(sa.func.count(Mandate.id)).where(Mandate.id.in_(revoked_ids), unit))
    uses = _count(scope, sa.select(sa.func.count(MandateUse.id)).where(
        scope.period_clause(MandateUse.used_at), scope.unit_clause(MandateUse.structure_id, MandateUse.used_by_id)))
    return [
        results.count_figure("realisations.mandats_crees", ind["realisations.mandats_crees"].label, created,
                             threshold, "mandats"),
        results.count_figure("realisations.mandats_actifs", ind["realisations.mandats_actifs"].label, active,
                             threshold, "mandats"),
        results.count_figure("realisations.mandats_revoques", ind["realisations.mandats_revoques"].label, revoked,
                             threshold, "mandats"),
        results.count_figure("realisations.demarches_mandat", ind["realisations.demarches_mandat"].label, uses,
                             threshold, "démarches"),
    ]


def _equipment_library(scope: Scope, threshold: int):
    """Devices of the inventory handed over in the period (by kind), loans overdue at its end, people
    equipped — by the structures (and mediators) the filters select."""
    ind = definitions.INDICATORS
    unit = scope.unit_clause(Handover.structure_id, Handover.created_by_id)
    in_period = sa.and_(Handover.started_on >= scope.start, Handover.started_on <= scope.end, unit)
    by_kind = {EquipmentKind(k): v for k, v in scope.session.execute(
        sa.select(Handover.kind, sa.func.count(Handover.id)).where(in_period).group_by(Handover.kind))}
    people = _count(scope, sa.select(sa.func.count(sa.distinct(Handover.beneficiary_id))).where(in_period))
    overdue = _count(scope, sa.select(sa.func.count(Handover.id)).where(
        unit, Handover.kind == EquipmentKind.PRET, Handover.started_on <= scope.end, Handover.due_on < scope.end,
        sa.or_(Handover.returned_on.is_(None), Handover.returned_on > scope.end)))
    lent = by_kind.get(EquipmentKind.PRET, 0)
    given = by_kind.get(EquipmentKind.DON, 0) + by_kind.get(EquipmentKind.ACHAT_SOLIDAIRE, 0)
    figures = [
        results.count_figure("realisations.appareils_pretes", ind["realisations.appareils_pretes"].label, lent,
                             threshold, "prêts"),
        results.count_figure("realisations.appareils_donnes", ind["realisations.appareils_donnes"].label, given,
                             threshold, "appareils"),
        results.count_figure("realisations.prets_en_retard", ind["realisations.prets_en_retard"].label, overdue,
                             threshold, "prêts"),
        results.count_figure("realisations.personnes_equipees_parc",
                             ind["realisations.personnes_equipees_parc"].label, people, threshold, "personnes"),
    ]
    table = results.breakdown_table(
        "realisations.materiel_remis", "realisations.personnes_equipees_parc",
        "Appareils de l'inventaire remis, par type de remise", "Remise",
        [(k.value, k.label, by_kind.get(k, 0)) for k in EquipmentKind], threshold, count_label="Appareils")
    return figures, table


def _participations(scope: Scope, *columns):
    return (sa.select(*columns).select_from(Participation)
            .join(Activity, Activity.id == Participation.activity_id)
            .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
            .where(scope.activity_clause()))


def _equipped_people(scope: Scope) -> tuple[int, dict]:
    """People equipped during an activity of the scope: in all (each identified person once,
    whatever the kinds) and per kind of equipment, from one pass over those participations —
    (kind, identified person or none, anonymous participations) rows, counted here."""
    if "equipped_people" not in scope.cache:
        from mediation.evaluation.indicators import ANONYMOUS, IDENTIFIED

        people: set[int] = set()
        anonymous_total = 0
        per_kind: dict = {}
        for kind, person, anonymous in scope.session.execute(
                _participations(scope, Activity.equipment_kind, IDENTIFIED, sa.func.sum(ANONYMOUS))
                .where(Activity.equipment_kind.is_not(None)).group_by(Activity.equipment_kind, IDENTIFIED)):
            kind = EquipmentKind(kind)
            per_kind[kind] = per_kind.get(kind, 0) + (1 if person is not None else 0) + int(anonymous or 0)
            anonymous_total += int(anonymous or 0)
            if person is not None:
                people.add(person)
        scope.cache["equipped_people"] = (len(people) + anonymous_total, per_kind)
    return scope.cache["equipped_people"]


def _equipped_figure(scope: Scope, threshold: int):
    people = _equipped_people(scope)[0]
    devices = scope.session.scalar(sa.select(sa.func.sum(Activity.equipment_count))
                                   .where(scope.activity_clause(), Activity.equipment_kind.is_not(None))) or 0
    figure = results.count_figure("realisations.personnes_equipees",
                                  definitions.INDICATORS["realisations.personnes_equipees"].label, people or 0,
                                  threshold, "personnes")
    if not figure.mask and devices:
        figure.detail = f"{method.fmt_number(devices)} équipement(s) remis"
    return figure


# --- outcomes -----------------------------------------------------------------------------------

def _stars(column):
    return sa.case(*[(column == level.value, index + 1) for index, level in enumerate(AUTONOMY_LEVELS)], else_=0)


@cache  # a constant expression, built once (building it cost more than running its query)
def autonomy_score_expr():
    """Sum of the five domains' levels (1 to 3 each): 5 to 15."""
    return sum((_stars(getattr(Assessment, f"autonomy_{d.value}")) for d in AutonomyDomain), sa.literal(0))


@cache
def autonomy_level_expr():
    """The global level (1 to 3): the median of the five domains' levels."""
    half = len(AutonomyDomain) // 2 + 1

    def at_least(level: int):
        return sum((sa.case((_stars(getattr(Assessment, f"autonomy_{d.value}")) >= level, 1), else_=0)
                    for d in AutonomyDomain), sa.literal(0))

    return 1 + sa.case((at_least(2) >= half, 1), else_=0) + sa.case((at_least(3) >= half, 1), else_=0)


def _assessed_people(scope: Scope) -> sa.Select:
    """The people of the scope with a diagnosis by the end of the period, read once for the queries
    on their diagnoses, which keep their own condition on the date (:meth:`Scope.read_once`)."""
    if "assessed_people" not in scope.cache:
        scope.cache["assessed_people"] = scope.read_once(
            sa.select(Case.beneficiary_id).distinct().join(Assessment, Assessment.case_id == Case.id)
            .where(Case.beneficiary_id.in_(scope.people()), scope.until_end_clause(Assessment.taken_at)),
            otherwise=scope.people())
    return scope.cache["assessed_people"]


def _assessment_pairs(scope: Scope):
    """One row per person in scope with at least two diagnoses by the end of the period: first and
    latest global level (``l0``, ``l1``), score (``s0``, ``s1``) and comfort (``c0``, ``c1``).

    One pass over the ranked diagnoses, first and latest picked by conditional aggregates per
    person — not a join of the ranked rows with themselves, which PostgreSQL planned as a nested
    loop re-ranking every diagnosis once per person (1 s for 241 people on the demo)."""
    person = Case.beneficiary_id
    ranked = (
        sa.select(
            person.label("person"),
            autonomy_level_expr().label("level"),
            autonomy_score_expr().label("score"),
            Assessment.comfort.label("comfort"),
            sa.func.row_number().over(partition_by=person, order_by=(Assessment.taken_at, Assessment.id)).label("up"),
            sa.func.row_number().over(partition_by=person,
                                      order_by=(Assessment.taken_at.desc(), Assessment.id.desc())).label("down"),
            sa.func.count().over(partition_by=person).label("n"),
        )
        .join(Case, Case.id == Assessment.case_id)
        .where(person.in_(_assessed_people(scope)), scope.until_end_clause(Assessment.taken_at))
        .subquery("ranked")
    )

    def pick(column, rank):
        return sa.func.max(sa.case((rank == 1, column)))

    return (sa.select(pick(ranked.c.level, ranked.c.up).label("l0"), pick(ranked.c.level, ranked.c.down).label("l1"),
                      pick(ranked.c.score, ranked.c.up).label("s0"), pick(ranked.c.score, ranked.c.down).label("s1"),
                      pick(ranked.c.comfort, ranked.c.up).label("c0"),
                      pick(ranked.c.comfort, ranked.c.down).label("c1"))
            .where(ranked.c.n >= 2, sa.or_(ranked.c.up == 1, ranked.c.down == 1))
            .group_by(ranked.c.person).subquery("pairs"))


def _autonomy(scope: Scope, threshold: int, section: Section) -> None:
    ind = definitions.INDICATORS
    joined = _assessment_pairs(scope)
    # One query per (first level, latest level): the transition matrix, and the totals as its sums.
    n = rose = gain = comfort0 = comfort1 = comfort_up = 0
    matrix = [[0] * 3 for _ in range(3)]
    for l0, l1, count, gained, c0, c1, up in scope.session.execute(
            sa.select(joined.c.l0, joined.c.l1, sa.func.count(), sa.func.sum(joined.c.s1 - joined.c.s0),
                      sa.func.sum(joined.c.c0), sa.func.sum(joined.c.c1),
                      sa.func.sum(sa.case((joined.c.c1 > joined.c.c0, 1), else_=0)))
            .group_by(joined.c.l0, joined.c.l1)):
        matrix[int(l0) - 1][int(l1) - 1] = count
        n += count
        rose += count if l1 > l0 else 0
        gain += gained or 0
        comfort0 += c0 or 0
        comfort1 += c1 or 0
        comfort_up += up or 0
    section.figures.append(results.rate_figure("resultats.progression_autonomie",
                                               ind["resultats.progression_autonomie"].label, rose, n, threshold))
    section.figures.append(results.mean_figure("resultats.gain_autonomie", ind["resultats.gain_autonomie"].label,
                                               gain, n, threshold, unit="points", signed=True))
    section.figures.append(results.rate_figure("resultats.aisance", "Aisance ressentie en progrès", comfort_up, n,
                                               threshold))
    section.figures.append(results.mean_figure("resultats.aisance.avant", "Aisance au premier diagnostic", comfort0,
                                               n, threshold, unit="sur 5"))
    section.figures.append(results.mean_figure("resultats.aisance.apres", "Aisance au dernier diagnostic", comfort1,
                                               n, threshold, unit="sur 5"))
    labels = [level.label for level in AUTONOMY_LEVELS]
    section.tables.append(results.matrix_table(
        "resultats.transitions", "resultats.progression_autonomie",
        "Niveau d'autonomie global : premier diagnostic (lignes) et dernier diagnostic (colonnes)",
        "Premier diagnostic", labels, labels, matrix, threshold,
        note="Au-dessus de la diagonale : progression ; sur la diagonale : niveau inchangé."))


def _enrolled_people(scope: Scope) -> sa.Select:
    """The people of the scope enrolled in a pathway by the end of the period (each once), read once
    for the four queries of :func:`_pathways` (:meth:`Scope.read_once`)."""
    enrolled = (sa.select(Case.beneficiary_id).join(Enrolment, Enrolment.case_id == Case.id)
                .where(Case.beneficiary_id.in_(scope.people()), scope.until_end_clause(Enrolment.enrolled_at)))
    return scope.read_once(enrolled.distinct(), otherwise=enrolled)


def _pathways(scope: Scope, threshold: int, section: Section) -> None:
    session = scope.session
    ind = definitions.INDICATORS
    enrolled = _enrolled_people(scope)
    n_enrolled = session.scalar(sa.select(sa.func.count(sa.distinct(enrolled.subquery().c.beneficiary_id)))) or 0
    levels = list(session.execute(
        sa.select(PathwayLevel.position, sa.func.min(PathwayLevel.title), sa.func.count(sa.distinct(Case.beneficiary_id)))
        .select_from(MilestoneValidation)
        .join(Milestone, Milestone.id == MilestoneValidation.milestone_id)
        .join(PathwayLevel, PathwayLevel.id == Milestone.level_id)
        .join(Enrolment, Enrolment.id == MilestoneValidation.enrolment_id)
        .join(Case, Case.id == Enrolment.case_id)
        .where(Milestone.kind == MilestoneKind.LEVEL, Case.beneficiary_id.in_(enrolled),
               scope.until_end_clause(MilestoneValidation.validated_at))
        .group_by(PathwayLevel.position).order_by(PathwayLevel.position)))
    section.tables.append(results.rate_table(
        "resultats.niveaux", "resultats.niveaux_atteints", "Personnes inscrites ayant atteint chaque niveau", "Niveau",
        [(str(position), f"Niveau {position} : {title}", count, n_enrolled) for position, title, count in levels],
        threshold, n_label="Inscrits", k_label="Niveau atteint", total=False))

    # Cohorts: month of the person's first accompaniment (any structure), enrolled people only.
    firsts = (sa.select(Participation.beneficiary_id.label("person"), sa.func.min(Activity.date).label("first_day"))
              .join(Activity, Activity.id == Participation.activity_id)
              .where(Activity.deleted_at.is_(None), Participation.beneficiary_id.in_(enrolled))
              .group_by(Participation.beneficiary_id).subquery("firsts"))
    completions = (sa.select(Case.beneficiary_id.label("person"), sa.func.min(Enrolment.completed_at).label("done_at"))
                   .join(Enrolment, Enrolment.case_id == Case.id)
                   .where(Enrolment.state == EnrolmentState.TERMINE, scope.until_end_clause(Enrolment.completed_at))
                   .group_by(Case.beneficiary_id).subquery("completions"))
    cohort = month_start(firsts.c.first_day)
    rows = list(session.execute(
        sa.select(cohort.label("cohort"), sa.func.count(),
                  sa.func.sum(sa.case((completions.c.person.is_not(None), 1), else_=0)))
        .select_from(firsts).outerjoin(completions, completions.c.person == firsts.c.person)
        .group_by(cohort).order_by(cohort)))
    from mediation.evaluation.indicators import month_label

    section.tables.append(results.rate_table(
        "resultats.cohortes", "resultats.completion_cohorte", "Parcours terminés, par cohorte du premier accompagnement",
        "Cohorte", [(as_date(c).isoformat(), month_label(as_date(c)), done or 0, n) for c, n, done in rows],
        threshold, n_label="Inscrits", k_label="Parcours terminé"))
    days = day_diff(firsts.c.first_day, local_day(completions.c.done_at))
    frequencies = [(int(d), c) for d, c in session.execute(
        sa.select(days, sa.func.count()).select_from(firsts).join(completions, completions.c.person == firsts.c.person)
        .group_by(days))]
    section.figures.append(results.median_figure("resultats.delai_autonomie", ind["resultats.delai_autonomie"].label,
                                                 frequencies, threshold, unit="jours"))


def _referrals(scope: Scope, threshold: int, section: Section) -> None:
    honoured_day = sa.func.coalesce(Activity.date, local_day(Referral.closed_at))
    n, k = (v or 0 for v in scope.session.execute(
        sa.select(sa.func.count(Referral.id),
                  sa.func.sum(sa.case((sa.and_(Referral.status == ReferralStatus.HONOREE,
                                               day_diff(local_day(Referral.created_at), honoured_day)
                                               <= HONOURED_WITHIN_DAYS), 1), else_=0)))
        .outerjoin(Activity, Activity.id == Referral.honoured_activity_id)
        .where(scope.period_clause(Referral.created_at), Referral.status != ReferralStatus.ANNULEE,
               scope.unit_clause(Referral.from_structure_id, Referral.created_by_id))).one())
    section.figures.append(results.rate_figure("resultats.orientations_honorees",
                                               definitions.INDICATORS["resultats.orientations_honorees"].label, k, n,
                                               threshold, unit_label="orientations"))


def follow_up_counts(scope: Scope):
    """(people whose follow-up was due, [people who answered, then the latest answers aggregated])."""
    if "follow_ups" not in scope.cache:
        scope.cache["follow_ups"] = _follow_up_counts(scope)
    return scope.cache["follow_ups"]


def _follow_up_counts(scope: Scope):
    session = scope.session
    # The people whose follow-up was due, read once for the two queries below (Scope.read_once).
    people = scope.read_once(sa.select(FollowUp.beneficiary_id).distinct()
                             .where(FollowUp.beneficiary_id.in_(scope.people()), FollowUp.due_on <= scope.end),
                             otherwise=scope.people())
    due = sa.select(FollowUp).where(FollowUp.beneficiary_id.in_(people), FollowUp.due_on <= scope.end).subquery("due")
    n_due = session.scalar(sa.select(sa.func.count(sa.distinct(due.c.beneficiary_id)))) or 0
    answered = (sa.select(due, sa.func.row_number().over(partition_by=due.c.beneficiary_id,
                                                         order_by=(due.c.closed_at.desc(), due.c.id.desc())).label("r"))
                .where(due.c.status == FollowUpStatus.REPONDU, due.c.closed_at < scope.utc_end).subquery("answered"))
    latest = sa.select(answered).where(answered.c.r == 1).subquery("latest")
    yes = lambda column: sa.func.sum(sa.case((column.is_(True), 1), else_=0))  # noqa: E731
    given = lambda column: sa.func.sum(sa.case((column.is_not(None), 1), else_=0))  # noqa: E731
    seeker = Beneficiary.statut_social == StatutSocial.SANS_EMPLOI.value
    row = session.execute(
        sa.select(sa.func.count(), yes(latest.c.online_alone), given(latest.c.online_alone),
                  yes(latest.c.less_isolated), given(latest.c.less_isolated),
                  sa.func.sum(sa.case((sa.and_(seeker, latest.c.job_or_training.is_(True)), 1), else_=0)),
                  sa.func.sum(sa.case((sa.and_(seeker, latest.c.job_or_training.is_not(None)), 1), else_=0)),
                  sa.func.sum(latest.c.comfort_now), given(latest.c.comfort_now))
        .select_from(latest).join(Beneficiary, Beneficiary.id == latest.c.beneficiary_id)).one()
    return n_due, [v or 0 for v in row]


def _follow_ups(scope: Scope, threshold: int, section: Section) -> None:
    ind = definitions.INDICATORS
    n_due, (n_answered, online_yes, online_n, isolated_yes, isolated_n, job_yes, job_n,
            comfort_sum, comfort_n) = follow_up_counts(scope)
    response = results.rate_figure("resultats.taux_reponse", ind["resultats.taux_reponse"].label, n_answered, n_due,
                                   threshold)
    rate_text = (f"Taux de réponse : {response.display} ({response.detail})" if not response.mask and n_due
                 else f"Taux de réponse : {response.detail}" if n_due else "Aucune relance échue")
    section.figures.append(response)
    section.figures.append(results.rate_figure("resultats.usage_renouvele", ind["resultats.usage_renouvele"].label,
                                               online_yes, online_n, threshold, response=rate_text))
    section.figures.append(results.rate_figure("resultats.emploi_formation", ind["resultats.emploi_formation"].label,
                                               job_yes, job_n, threshold, response=rate_text))
    section.figures.append(results.rate_figure("resultats.isolement", ind["resultats.isolement"].label,
                                               isolated_yes, isolated_n, threshold, response=rate_text))
    comfort = results.mean_figure("resultats.aisance_relance", ind["resultats.aisance_relance"].label, comfort_sum,
                                  comfort_n, threshold, unit="sur 5")
    comfort.response = rate_text
    section.figures.append(comfort)


def people_counts(scope: Scope) -> tuple[int, int]:
    """(people followed in scope, those accompanied at least twice in scope during the period)."""
    if "people_counts" not in scope.cache:
        from mediation.evaluation.indicators import person_profile

        person_profile(scope)  # counted by the same per-person query
    return scope.cache["people_counts"]


def _return_rate(scope: Scope, means, threshold: int, section: Section) -> None:
    ind = definitions.INDICATORS
    n, returning = people_counts(scope)
    section.figures.append(results.rate_figure("resultats.taux_retour", ind["resultats.taux_retour"].label,
                                               returning, n, threshold))
    ratio = means.accompaniments / means.beneficiaries if means.beneficiaries >= threshold else None
    section.figures.append(results.number_figure(
        "resultats.accompagnements_par_beneficiaire", ind["resultats.accompagnements_par_beneficiaire"].label,
        ratio, "accompagnements", digits=1))


def _appointments(scope: Scope, threshold: int, section: Section) -> None:
    """Days from referral to appointment (median) and attendance rate, overall and by service and
    place; small numbers are suppressed as everywhere (rate_figure, median_figure, rate_table)."""
    from mediation.appointments.models import Appointment, AppointmentState
    from mediation.directory.models import Structure

    ind = definitions.INDICATORS
    session = scope.session
    in_scope = sa.and_(scope.period_clause(Appointment.starts_at),
                       scope.unit_clause(Appointment.structure_id, Appointment.created_by_id))
    days = day_diff(local_day(Referral.created_at), local_day(Appointment.starts_at))
    frequencies = [(int(d), c) for d, c in session.execute(
        sa.select(days, sa.func.count()).select_from(Appointment).join(Referral, Referral.id == Appointment.referral_id)
        .where(in_scope, Appointment.state.in_([AppointmentState.BOOKED, AppointmentState.ATTENDED,
                                                AppointmentState.MISSED]))
        .group_by(days)) if d is not None]
    section.figures.append(results.median_figure("resultats.delai_rendez_vous", ind["resultats.delai_rendez_vous"].label,
                                                 frequencies, threshold, unit="jours", unit_label="rendez-vous"))
    came = sa.func.sum(sa.case((Appointment.state == AppointmentState.ATTENDED, 1), else_=0))
    told = sa.and_(in_scope, Appointment.state.in_([AppointmentState.ATTENDED, AppointmentState.MISSED]))
    n, k = (v or 0 for v in session.execute(sa.select(sa.func.count(Appointment.id), came).where(told)).one())
    section.figures.append(results.rate_figure("resultats.venue_rendez_vous", ind["resultats.venue_rendez_vous"].label,
                                               k, n, threshold, unit_label="rendez-vous"))
    if not n:
        return
    by_service = session.execute(sa.select(Appointment.service, came, sa.func.count(Appointment.id)).where(told)
                                 .group_by(Appointment.service).order_by(Appointment.service)).all()
    section.tables.append(results.rate_table(
        "resultats.venue_par_service", "resultats.venue_rendez_vous", "Venue aux rendez-vous, par service", "Service",
        [(service, service, k or 0, total) for service, k, total in by_service], threshold,
        n_label="Rendez-vous", k_label="Personne venue"))
    by_place = session.execute(sa.select(Structure.id, Structure.name, came, sa.func.count(Appointment.id))
                               .join(Structure, Structure.id == Appointment.structure_id).where(told)
                               .group_by(Structure.id, Structure.name).order_by(Structure.name)).all()
    section.tables.append(results.rate_table(
        "resultats.venue_par_lieu", "resultats.venue_rendez_vous", "Venue aux rendez-vous, par lieu", "Lieu",
        [(str(i), name, k or 0, total) for i, name, k, total in by_place], threshold,
        n_label="Rendez-vous", k_label="Personne venue"))


def outcomes_section(scope: Scope, means, threshold: int) -> Section:
    section = Section("resultats", "Résultats : ce que l'accompagnement change",
                      "Mesurés sur les personnes suivies accompagnées pendant la période ; chaque taux donne son "
                      "numérateur, son dénominateur et son intervalle de confiance à 95 % (Wilson).")
    _autonomy(scope, threshold, section)
    _pathways(scope, threshold, section)
    _referrals(scope, threshold, section)
    _appointments(scope, threshold, section)
    _follow_ups(scope, threshold, section)
    _return_rate(scope, means, threshold, section)
    return section


def quality_items(scope: Scope) -> list[tuple[str, str, int, int]]:
    """Rows of the data-quality table about outcome data: diagnoses and follow-up answers."""
    session = scope.session
    n_people = people_counts(scope)[0]
    per_person = (sa.select(Case.beneficiary_id.label("person"), sa.func.count(Assessment.id).label("n"))
                  .join(Assessment, Assessment.case_id == Case.id)
                  .where(Case.beneficiary_id.in_(_assessed_people(scope)),
                         scope.until_end_clause(Assessment.taken_at))
                  .group_by(Case.beneficiary_id).subquery())
    one, two = (v or 0 for v in session.execute(sa.select(
        sa.func.count(), sa.func.sum(sa.case((per_person.c.n >= 2, 1), else_=0)))).one())
    n_due, answers = follow_up_counts(scope)
    return [
        ("diagnostic", "Au moins un diagnostic (personnes suivies)", one, n_people),
        ("deux_diagnostics", "Au moins deux diagnostics (personnes suivies)", two, n_people),
        ("relance", "Réponse à la relance (personnes relancées)", answers[0], n_due),
    ]
