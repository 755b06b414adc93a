"""Demo data for pathways: the default pathway of the territory, people at every stage of it
(diagnosed, in progress, level by level, completed with a final diagnosis), referrals in every
state, a few reassignments (one case moved to another commune, a referent changed, a bulk move
when a mediator leaves) and two loans of mediators. Everything goes through the services, so the
audit trail and the notifications are the real ones; dates are then spread over the last months.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role
from mediation.cases import activities
from mediation.cases import policy as case_policy
from mediation.cases.enums import ActivityType, Autonomie, CaseState, ConsentScope, PlaceType, Thematique
from mediation.cases.models import Case, Consent
from mediation.directory import loans
from mediation.directory.models import StaffMembership
from mediation.pathways import reassignment, referrals, services, versions
from mediation.pathways.enums import AssessmentMoment, AutonomyDomain, Equipment, TransferReason
from mediation.pathways.models import Assessment, Enrolment, MilestoneValidation, Referral
from mediation.types import local_today, utcnow

# Steps validated per person (8 steps in the default pathway): every stage, twice.
STAGES = [0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 8]
LEVELS = list(Autonomie)


def _grid(rng: random.Random, level: int, moment: AssessmentMoment, structure_id: int) -> services.AssessmentInput:
    """A plausible diagnosis for someone at ``level`` (0 beginner … 2 autonomous)."""
    autonomy = {d.value: LEVELS[max(0, min(2, level + rng.choice([-1, 0, 0, 1])))].value for d in AutonomyDomain}
    equipment = [Equipment.SMARTPHONE.value] + ([Equipment.ORDINATEUR.value] if level or rng.random() < .3 else []) \
        + ([Equipment.CONNEXION.value] if level or rng.random() < .5 else [])
    return services.AssessmentInput(
        moment=moment.value, structure_id=structure_id, equipment=equipment, autonomy=autonomy, comfort=min(5, 1 + level * 2 + rng.randint(0, 1)),
        needs=rng.sample([Thematique.EMAIL.value, Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES.value,
                          Thematique.NAVIGATION_SUR_INTERNET.value, Thematique.SECURITE_NUMERIQUE.value,
                          Thematique.PRENDRE_EN_MAIN_DU_MATERIEL.value], k=2),
        language=rng.choice(["français", "français", "français", "arabe", "portugais"]),
        accessibility=["Déficience visuelle"] if rng.random() < .1 else [])


def load_pathways_demo(session: Session, *, territory, structures, users, today: date | None = None,
                       seed: int = 2027) -> dict:
    rng = random.Random(seed)  # noqa: S311 - demo data
    today = today or local_today()
    by_email = {u.email: u for u in users}
    coordinator = by_email.get("coordination@demo.test") or next(u for u in users if u.role == Role.COORDINATOR)
    template = versions.create_default_template(session, coordinator, territory.id)
    version = template.current_version
    steps = [m for level in versions.load_version(session, version.id).levels for m in level.steps]

    staff: dict[int, list] = {}
    for m in session.scalars(sa.select(StaffMembership).where(StaffMembership.ended_on.is_(None))
                             .order_by(StaffMembership.id)):
        if m.user.role == Role.MEDIATOR:
            staff.setdefault(m.structure_id, []).append(m.user)

    # Open cases held by a structure with staff, people with a commune; network consent added where missing.
    cases = list(session.scalars(
        sa.select(Case).where(Case.state == CaseState.OPEN, Case.structure_id.in_(list(staff)))
        .order_by(Case.id)))
    rng.shuffle(cases)
    chosen = cases[: len(STAGES) + 12]
    networked = set(session.scalars(sa.select(Consent.beneficiary_id).where(
        Consent.scope == ConsentScope.RESEAU, Consent.withdrawn_at.is_(None))))
    now = utcnow()
    for case in chosen:
        if case.beneficiary_id not in networked:
            session.add(Consent(beneficiary_id=case.beneficiary_id, structure_id=case.structure_id,
                                scope=ConsentScope.RESEAU, given_at=case.opened_at, recorded_by_id=case.mediator_id))
    session.flush()

    # 1. People at every stage of the default pathway.
    enrolled = []
    for case, done in zip(chosen, STAGES, strict=False):
        mediator = staff[case.structure_id][0]
        start = now - timedelta(days=rng.randint(90, 200))
        enrolment = services.enrol(session, mediator, case, template, structure_id=case.structure_id)
        first = services.record_assessment(session, mediator, case,
                                           _grid(rng, 0, AssessmentMoment.INITIAL, case.structure_id))
        enrolment.enrolled_at = first.taken_at = start
        evidence = services.person_activities(session, case, limit=10)
        for index, step in enumerate(steps[:done]):
            activity = evidence[index % len(evidence)] if evidence and rng.random() < .6 else None
            services.validate_milestone(session, mediator, enrolment, services.ValidationInput(
                milestone_id=step.id, structure_id=case.structure_id, activity_id=activity.id if activity else None,
                narrative=None if activity else "Réalisé seul·e devant le médiateur, sans aide.",
                pix_score=rng.choice([None, None, rng.randint(8, 64)])))
        day = start
        for v in session.scalars(sa.select(MilestoneValidation).where(MilestoneValidation.enrolment_id == enrolment.id)
                                 .order_by(MilestoneValidation.id)):
            if not v.automatic:
                day += timedelta(days=rng.randint(7, 18))
            v.validated_at = min(day, now)
        if done >= 4:
            moment = AssessmentMoment.FINAL if done == 8 else AssessmentMoment.ETAPE
            services.record_assessment(session, mediator, case,
                                       _grid(rng, 1 if done < 8 else 2, moment, case.structure_id))
        if enrolment.completed_at:
            enrolment.completed_at = min(day, now)
        enrolled.append(case)
    session.flush()
    for a in session.scalars(sa.select(Assessment).where(Assessment.taken_at > now - timedelta(minutes=5))):
        a.taken_at = now - timedelta(days=rng.randint(1, 20))

    # 2. Referrals in every state, from the remaining chosen cases (and a few enrolled ones).
    spare = chosen[len(STAGES):]
    counts = {}

    def refer(case, service, state):
        mediator = staff[case.structure_id][0]
        exclude = {s.id for s in _structures_of(session, mediator)}
        suggestions = referrals.suggest(session, case, service, exclude=exclude)
        if not suggestions:
            service, suggestions = None, referrals.suggest(session, case, None, exclude=exclude)
        target = next((s.structure for s in suggestions if staff.get(s.structure.id)), None)
        if target is None:
            return None
        referral = referrals.create_referral(session, mediator, case, referrals.ReferralInput(
            to_structure_id=target.id, from_structure_id=case.structure_id, service=service,
            motive="Souhaite un atelier près de chez elle ou lui."))
        receiver = staff[target.id][0]
        if state == "acceptee":
            referrals.accept(session, receiver, referral)
        elif state == "refusee":
            referrals.decline(session, receiver, referral, "complet", None)
        elif state == "honoree":  # the person came: the activity logged there honours the referral
            referrals.accept(session, receiver, referral)
            activities.log_activity(session, receiver, activities.ActivityInput(
                type=ActivityType.INDIVIDUEL, structure_id=target.id, date=today, duration_min=60,
                place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=target.id,
                thematiques=[Thematique.EMAIL.value], beneficiary_id=case.beneficiary_id),
                visible_beneficiary=case_policy.beneficiary_loader(session, receiver))
        elif state == "annulee":
            referrals.cancel(session, mediator, referral)
        elif state == "non_honoree":
            referral.due_on = today - timedelta(days=1)
            session.flush()
            referrals.expire_overdue(session, today)
        created = now - timedelta(days=rng.randint(3, 25))
        referral.created_at = created
        if referral.is_live:
            referral.due_on = created.date() + timedelta(days=referrals.delay_days())
        counts[state] = counts.get(state, 0) + 1
        return referral

    plan = ["proposee", "proposee", "acceptee", "refusee", "honoree", "non_honoree", "annulee", "proposee"]
    services_needed = ["Maîtrise des outils numériques du quotidien", "Aide aux démarches administratives",
                       "Utilisation sécurisée du numérique", None]
    for index, state in enumerate(plan):
        if index < len(spare):
            refer(spare[index], services_needed[index % len(services_needed)], state)

    # 3. Reassignments: a person moved to another commune, a referent changed, a mediator leaves.
    moved = 0
    for case in enrolled[:3]:
        elsewhere = [st for st in structures if staff.get(st.id) and st.commune_id != case.structure.commune_id]
        if elsewhere and case.state != CaseState.CLOSED:
            target = next((st for st in elsewhere if st.name == "France Services Elbeuf"), elsewhere[0])
            reassignment.reassign(session, coordinator, case, target=reassignment.Target(target.id, staff[target.id][0].id),
                                  reason=TransferReason.DEMENAGEMENT.value, expected_version=case.version)
            moved += 1
            break
    for case in enrolled[3:]:
        colleagues = [u for u in staff[case.structure_id] if u.id != case.mediator_id]
        if colleagues:
            reassignment.reassign(session, coordinator, case, target=reassignment.Target(case.structure_id, colleagues[0].id),
                                  reason=TransferReason.EFFECTIFS.value, expected_version=case.version)
            moved += 1
            break
    thomas = by_email.get("thomas.petit@demo.test")
    claire = by_email.get("claire.bonnet@demo.test")
    if thomas and claire:
        leaving = list(session.scalars(sa.select(Case).where(Case.mediator_id == thomas.id,
                                                             Case.state != CaseState.CLOSED).order_by(Case.id).limit(3)))
        if leaving:
            reassignment.bulk_reassign(session, coordinator, {c.id: c.version for c in leaving},
                                       target=reassignment.Target(leaving[0].structure_id, claire.id),
                                       reason=TransferReason.DEPART_MEDIATEUR.value,
                                       comment="Départ de Thomas en formation pour trois mois.")
            moved += len(leaving)

    # 4. Loans of mediators between communes.
    made = 0
    lea, karim = by_email.get("mediatrice@demo.test"), by_email.get("mediateur@demo.test")
    canteleu = next((st for st in structures if st.name == "Mairie annexe de Canteleu"), None)
    centre = next((st for st in structures if st.name == "Centre social Jean-Jaurès"), None)
    if not (lea and karim and canteleu and centre):  # another network: its first mediator, another commune
        karim = lea = next(iter(staff.values()))[0]
        home = {m.structure.commune_id for m in lea.memberships}
        canteleu = centre = next((st for st in structures if st.commune_id not in home), None)
    if canteleu is not None:
        loans.create_loan(session, coordinator, loans.LoanInput(
            mediator_id=lea.id, place=f"commune:{canteleu.commune_id}", starts_on=today - timedelta(days=14),
            ends_on=today + timedelta(days=76), note="Permanence le mardi matin à la mairie annexe."))
        made += 1
    if centre is not None and karim is not lea:
        loans.create_loan(session, coordinator, loans.LoanInput(
            mediator_id=karim.id, place=f"structure:{centre.id}", starts_on=today,
            ends_on=today + timedelta(days=30), note="Ateliers e-mail du jeudi après-midi."))
        made += 1
    session.flush()
    return {"enrolments": session.scalar(sa.select(sa.func.count(Enrolment.id))),
            "referrals": session.scalar(sa.select(sa.func.count(Referral.id))), "transfers": moved, "loans": made,
            "referral_states": counts}


def _structures_of(session: Session, user) -> list:
    from mediation.pathways.policy import acting_structures

    return acting_structures(session, user)
