"""Outputs and outcomes on hand-built data with known answers: autonomy progression and its
transition matrix, comfort before/after, levels reached, completion by cohort, median days to
« Autonomie numérique », referrals honoured within 30 days, follow-up answers with their response
rate, return rate, diagnoses, validations, mandates and equipment."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mediation.cases.enums import StatutSocial
from mediation.evaluation import indicators
from mediation.mandates.enums import Demarche, IdentityCheck, MandateDuration, RevocationReason
from mediation.mandates.models import Authorization, Mandate, MandateUse
from mediation.pathways import versions
from mediation.pathways.enums import AssessmentMoment, EnrolmentState, MilestoneKind, ReferralStatus
from mediation.pathways.models import Enrolment, Milestone, MilestoneValidation, PathwayLevel, Referral
from tests.evaluation.conftest import YEAR, at

INITIAL = AssessmentMoment.INITIAL


@pytest.fixture
def data(build, session, network):
    n = network
    people = {}
    cases = {}
    activity_days = {
        "q1": [date(YEAR, 1, 5), date(YEAR, 2, 1)],
        "q2": [date(YEAR, 2, 10)],
        "q3": [date(YEAR, 1, 20), date(YEAR, 5, 5)],
        "q4": [date(YEAR, 3, 3)],
        "q5": [date(YEAR, 3, 15)],
        "q6": [date(YEAR, 4, 1)],
    }
    for name, days in activity_days.items():
        statut = StatutSocial.SANS_EMPLOI if name == "q2" else StatutSocial.RETRAITE
        people[name] = build.person(statut_social=statut, last_name=name)
        cases[name] = build.case(people[name])
        for day in days:
            build.activity(day, [people[name]], cases={people[name].id: cases[name].id},
                           **({"equipment_kind": "don", "equipment_count": 2} if name == "q4" else {}))
    people["q7"] = build.person(n.structure_far, last_name="q7")
    cases["q7"] = build.case(people["q7"], n.structure_far)
    build.activity(date(YEAR, 3, 1), [people["q7"]], structure=n.structure_far, mediator=n.mediator_far)

    # Diagnoses (five domain levels, comfort).
    a = build.assessment
    a(cases["q1"], date(YEAR, 1, 5), [1, 1, 1, 1, 1], 1, moment=INITIAL)
    a(cases["q1"], date(YEAR, 6, 1), [2, 2, 2, 1, 1], 3)
    a(cases["q2"], date(YEAR, 2, 10), [2, 2, 2, 2, 2], 2, moment=INITIAL)
    a(cases["q2"], date(YEAR, 9, 1), [3, 3, 3, 2, 2], 2)
    a(cases["q3"], date(YEAR, 1, 20), [2, 2, 2, 2, 2], 3, moment=INITIAL)
    a(cases["q3"], date(YEAR, 7, 1), [2, 2, 2, 2, 2], 4)
    a(cases["q4"], date(YEAR, 3, 3), [1, 1, 1, 1, 1], 2, moment=INITIAL)
    a(cases["q5"], date(YEAR, 3, 15), [3, 3, 3, 3, 3], 4, moment=INITIAL)
    a(cases["q5"], date(YEAR, 6, 15), [3, 3, 3, 3, 2], 4)
    a(cases["q5"], date(YEAR, 11, 1), [2, 2, 2, 3, 3], 3)
    a(cases["q6"], date(YEAR, 3, 1), [1, 1, 1, 1, 1], 1, moment=INITIAL)
    a(cases["q6"], date(YEAR + 1, 2, 1), [3, 3, 3, 3, 3], 5)  # after the period
    a(cases["q7"], date(YEAR, 3, 1), [1, 1, 1, 1, 1], 1, n.structure_far, moment=INITIAL)
    a(cases["q7"], date(YEAR, 8, 1), [3, 3, 3, 3, 3], 5, n.structure_far)  # not in scope

    # Pathway: the default template; levels and completion validated by hand.
    template = versions.create_default_template(session, n.coordinator, n.territory.id)
    version = template.current_version
    level_milestones = {lv.position: lv.completion_milestone for lv in session.scalars(
        sa.select(PathwayLevel).where(PathwayLevel.version_id == version.id))}
    pathway_milestone = session.scalar(sa.select(Milestone).where(Milestone.version_id == version.id,
                                                                  Milestone.kind == MilestoneKind.PATHWAY))
    step = session.scalar(sa.select(Milestone).where(Milestone.version_id == version.id,
                                                     Milestone.kind == MilestoneKind.STEP).limit(1))

    def enrol(name, day, levels=(), completed=None, steps=0):
        e = Enrolment(case_id=cases[name].id, template_id=template.id, version_id=version.id,
                      structure_id=n.structure_a.id, enrolled_by_id=n.mediator.id, enrolled_at=at(day),
                      state=EnrolmentState.TERMINE if completed else EnrolmentState.EN_COURS,
                      completed_at=at(completed) if completed else None)
        session.add(e)
        session.flush()
        validations = [(level_milestones[p], d) for p, d in levels] + ([(pathway_milestone, completed)] if completed
                                                                        else [])
        for milestone, when in validations:
            session.add(MilestoneValidation(enrolment_id=e.id, milestone_id=milestone.id, validated_at=at(when),
                                            validated_by_id=n.mediator.id, structure_id=n.structure_a.id,
                                            automatic=True))
        if steps:
            session.add(MilestoneValidation(enrolment_id=e.id, milestone_id=step.id, validated_at=at(day),
                                            validated_by_id=n.mediator.id, structure_id=n.structure_a.id,
                                            narrative="Fait seule."))
        session.flush()

    enrol("q1", date(YEAR, 1, 5), [(1, date(YEAR, 3, 1))], completed=date(YEAR, 6, 1), steps=1)
    enrol("q2", date(YEAR, 2, 10), [(1, date(YEAR, 4, 1))], completed=date(YEAR, 9, 10))
    enrol("q3", date(YEAR, 1, 20))
    # q5 reached two levels; its completion comes after the period: not counted.
    enrol("q5", date(YEAR, 3, 15), [(1, date(YEAR, 5, 1)), (2, date(YEAR, 8, 1))], completed=date(YEAR + 1, 1, 10))

    # Referrals from A: honoured after 10 days (activity), after 40 days, not honoured, cancelled, pending.
    def refer(name, created, status, honoured_after=None):
        r = Referral(case_id=cases[name].id, from_structure_id=n.structure_a.id, to_structure_id=n.structure_b.id,
                     status=status, created_by_id=n.mediator.id, created_at=at(created), due_on=created + timedelta(30))
        if status in (ReferralStatus.HONOREE, ReferralStatus.NON_HONOREE, ReferralStatus.ANNULEE):
            r.closed_at = at(created + timedelta(days=honoured_after or 31))
        session.add(r)
        session.flush()
        return r

    r1 = refer("q1", date(YEAR, 2, 1), ReferralStatus.HONOREE, honoured_after=60)
    visit = build.activity(date(YEAR, 2, 11), [people["q1"]], structure=n.structure_b, mediator=n.mediator_b)
    r1.honoured_activity_id = visit.id  # the visit 10 days later counts, not the later closing date
    refer("q2", date(YEAR, 3, 1), ReferralStatus.HONOREE, honoured_after=40)
    refer("q3", date(YEAR, 3, 1), ReferralStatus.NON_HONOREE)
    refer("q4", date(YEAR, 3, 1), ReferralStatus.ANNULEE)
    refer("q5", date(YEAR, 12, 1), ReferralStatus.PROPOSEE)

    # Follow-ups: q1 and q2 answered, q3 due without answer, q5 due after the period.
    build.follow_up(cases["q1"], date(YEAR, 9, 1), answered=date(YEAR, 9, 5), online_alone=True,
                    less_isolated=True, job_or_training=True, comfort_now=4)
    build.follow_up(cases["q2"], date(YEAR, 10, 1), answered=date(YEAR, 10, 2), online_alone=False,
                    less_isolated=False, job_or_training=True, comfort_now=3)
    build.follow_up(cases["q3"], date(YEAR, 11, 1))
    build.follow_up(cases["q5"], date(YEAR + 1, 2, 1))

    # Mandates at A: one created in the period and still in force, one revoked in the period.
    def mandate(created, expires, revoked=None, reason=RevocationReason.DEMANDE_BENEFICIAIRE):
        m = Mandate(public_token=f"tok{created.isoformat()}{expires.isoformat()}".ljust(43, "x")[:43],
                    structure_id=n.structure_a.id, beneficiary_id=people["q1"].id, created_by_id=n.aidant.id,
                    created_at=at(created), expires_at=at(expires), duration=MandateDuration.LONG,
                    identity_check=IdentityCheck.PIECE_IDENTITE, template_version="t", attestation_sha256="0" * 64,
                    attestation_pdf=b"%PDF")
        session.add(m)
        session.flush()
        auth = Authorization(mandate_id=m.id, structure_id=n.structure_a.id, beneficiary_id=people["q1"].id,
                             demarche=Demarche.PAPIERS, created_at=at(created), expires_at=at(expires),
                             revoked_at=at(revoked) if revoked else None, closed_at=at(revoked) if revoked else None,
                             revocation_reason=reason if revoked else None)
        session.add(auth)
        session.flush()
        return m, auth

    m1, a1 = mandate(date(YEAR, 4, 1), date(YEAR + 1, 4, 1))
    mandate(date(YEAR, 5, 1), date(YEAR + 1, 5, 1), revoked=date(YEAR, 7, 1))
    for day in (date(YEAR, 4, 2), date(YEAR, 4, 20)):
        session.add(MandateUse(authorization_id=a1.id, mandate_id=m1.id, structure_id=n.structure_a.id,
                               used_by_id=n.aidant.id, used_at=at(day), demarche=Demarche.PAPIERS))
    # Badges: two issued at A in the period (one revoked since), one the year before.
    from mediation.badges.models import Assertion, BadgeClass, BadgeKind, IssuerKind, IssuerProfile

    issuer = IssuerProfile(kind=IssuerKind.RESEAU, territory_id=n.territory.id, name="Réseau", email="r@test.example",
                           url="https://reseau.example.org")
    session.add(issuer)
    session.flush()
    badge_class = BadgeClass(milestone_id=level_milestones[1].id, issuer_id=issuer.id, kind=BadgeKind.NIVEAU,
                             name="Premiers pas", description="d", criteria="c", level_label="Niveau 1",
                             pathway_name="Parcours")
    session.add(badge_class)
    session.flush()
    for index, (day, revoked) in enumerate([(date(YEAR, 3, 2), False), (date(YEAR, 4, 2), True),
                                            (date(YEAR - 1, 6, 1), False)]):
        session.add(Assertion(uid=f"uid{index}", badge_class_id=badge_class.id, beneficiary_id=people["q1"].id,
                              structure_id=n.structure_a.id, issued_by_id=n.mediator.id, issued_at=at(day),
                              recipient_type="url", salt="s", identity_hash="sha256$x", evidence="e",
                              revoked_at=at(date(YEAR, 5, 1)) if revoked else None,
                              revocation_reason="erreur" if revoked else None))
    build.done()
    return people


def figure(dashboard, code):
    return dashboard.figure(code)


def test_autonomy_progression_gain_and_transition_matrix(data, scope_for, network):
    d = indicators.compute_dashboard(scope_for(network.coordinator), threshold=1)  # q7 is out of the territory
    progression = figure(d, "resultats.progression_autonomie")
    assert (progression.numerator.value, progression.denominator.value) == (2, 4)  # q1, q2 of q1, q2, q3, q5
    assert progression.value == 50.0
    assert progression.interval == "IC 95\u202f% : 15\u202f–\u202f85\u202f%"
    assert figure(d, "resultats.gain_autonomie").value == 0.8  # (3 + 3 + 0 − 3) / 4 = 0.75
    assert figure(d, "resultats.gain_autonomie").display == "+0,8"
    matrix = d.table("resultats.transitions")
    assert [[c.value for c in row.cells] for row in matrix.rows] == [[0, 1, 0, 1], [0, 1, 1, 2], [0, 1, 0, 1]]


def test_comfort_before_and_after(data, scope_for, network):
    d = indicators.compute_dashboard(scope_for(network.coordinator), threshold=1)
    assert figure(d, "resultats.aisance.avant").value == 2.5  # 1, 2, 3, 4
    assert figure(d, "resultats.aisance.apres").value == 3.0  # 3, 2, 4, 3
    improved = figure(d, "resultats.aisance")
    assert (improved.numerator.value, improved.denominator.value) == (2, 4)


def test_levels_cohorts_and_median_days_to_autonomy(data, scope_for):
    d = indicators.compute_dashboard(scope_for(), threshold=1)
    levels = {r.key: (r.cells[1].value, r.cells[0].value) for r in d.table("resultats.niveaux").rows}
    assert levels == {"1": (3, 4), "2": (1, 4)}
    cohorts = {r.key: (r.cells[1].value, r.cells[0].value) for r in d.table("resultats.cohortes").rows}
    assert cohorts == {f"{YEAR}-01-01": (1, 2), f"{YEAR}-02-01": (1, 1), f"{YEAR}-03-01": (0, 1)}
    assert d.table("resultats.cohortes").total.cells[2].value == 50.0
    # q1: 5 January → 1 June = 147 days; q2: 10 February → 10 September = 212 days.
    median = figure(d, "resultats.delai_autonomie")
    assert median.value == 179.5 and median.denominator.value == 2


def test_referrals_honoured_within_30_days(data, scope_for):
    d = indicators.compute_dashboard(scope_for(), threshold=1)
    honoured = figure(d, "resultats.orientations_honorees")
    assert (honoured.numerator.value, honoured.denominator.value) == (1, 4)
    states = {r.key: r.cells[0].value for r in d.table("realisations.orientations").rows}
    assert states == {"proposee": 1, "honoree": 2, "non_honoree": 1, "annulee": 1}


def test_follow_up_outcomes_with_response_rate(data, scope_for):
    d = indicators.compute_dashboard(scope_for(), threshold=1)
    response = figure(d, "resultats.taux_reponse")
    assert (response.numerator.value, response.denominator.value) == (2, 3)
    online = figure(d, "resultats.usage_renouvele")
    assert (online.numerator.value, online.denominator.value) == (1, 2)
    assert online.response.startswith("Taux de réponse : 67")
    job = figure(d, "resultats.emploi_formation")
    assert (job.numerator.value, job.denominator.value) == (1, 1)  # q2 only is a job seeker
    assert figure(d, "resultats.aisance_relance").value == 3.5


def test_return_rate(data, scope_for):
    d = indicators.compute_dashboard(scope_for(), threshold=1)
    rate = figure(d, "resultats.taux_retour")
    # In scope: q1 … q7 (q1 also visited structure B); q1 and q3 came twice or more in A, q1 three times overall.
    assert (rate.numerator.value, rate.denominator.value) == (2, 7)


def test_outputs(data, scope_for):
    d = indicators.compute_dashboard(scope_for(), threshold=1)
    assert figure(d, "realisations.diagnostics").value == 7  # q1 … q7's initial diagnoses
    assert figure(d, "realisations.bilans").value == 6  # q1, q2, q3, q5 twice, q7
    assert figure(d, "realisations.inscriptions").value == 4
    assert figure(d, "realisations.etapes").value == 1
    kinds = {r.key: r.cells[0].value for r in d.table("realisations.jalons").rows}
    assert kinds == {"etape": 1, "niveau": 4, "parcours": 2}
    assert figure(d, "realisations.mandats_crees").value == 2
    assert figure(d, "realisations.mandats_actifs").value == 1
    assert figure(d, "realisations.mandats_revoques").value == 1
    assert figure(d, "realisations.demarches_mandat").value == 2
    assert {r.key: r.cells[0].value for r in d.table("realisations.badges").rows} == {"Niveau 1": 1}
    equipped = figure(d, "realisations.personnes_equipees")
    assert equipped.value == 1 and "2 équipement" in equipped.detail


def test_outcomes_follow_the_filters(data, scope_for, network):
    d = indicators.compute_dashboard(scope_for(structure_id=network.structure_b.id), threshold=1)
    # Only q1 was accompanied at B: one person with two diagnoses, whose level rose.
    progression = figure(d, "resultats.progression_autonomie")
    assert (progression.numerator.value, progression.denominator.value) == (1, 1)
    assert figure(d, "realisations.diagnostics").value == 0  # diagnoses were taken at A


def test_outcomes_are_suppressed_below_the_threshold(data, scope_for, network):
    d = indicators.compute_dashboard(scope_for(network.coordinator))
    progression = figure(d, "resultats.progression_autonomie")
    assert progression.value is None and progression.numerator.display == "< 5"
    assert figure(d, "resultats.gain_autonomie").display == "—"
    assert figure(d, "resultats.delai_autonomie").value is None
    matrix = d.table("resultats.transitions")
    assert all(c.value in (0, None) for row in matrix.rows for c in row.cells[:3])
