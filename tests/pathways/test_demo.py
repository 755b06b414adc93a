"""The pathways demo: people at every stage of the default pathway, referrals in every state,
reassignments and loans — built through the services on top of the cases demo."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from mediation.cases.demo import load_cases_demo
from mediation.directory.models import Loan
from mediation.pathways.demo import STAGES, load_pathways_demo
from mediation.pathways.enums import MilestoneKind, ReferralStatus
from mediation.pathways.models import Assessment, CaseTransfer, Milestone, MilestoneValidation, Referral


def test_demo_has_every_stage_and_every_referral_state(session, network, make_structure):
    network.structure_b.services = ["Maîtrise des outils numériques du quotidien"]
    structures = [network.structure_a, network.structure_b]
    users = [network.mediator, network.mediator_b, network.aidant, network.coordinator]
    load_cases_demo(session, territory=network.territory, structures=structures, users=users, scale=0.4)
    counts = load_pathways_demo(session, territory=network.territory, structures=structures, users=users)
    assert counts["enrolments"] == len(STAGES)
    steps_done = Counter(session.execute(
        sa.select(MilestoneValidation.enrolment_id, sa.func.count(MilestoneValidation.id))
        .join(Milestone, Milestone.id == MilestoneValidation.milestone_id)
        .where(Milestone.kind == MilestoneKind.STEP).group_by(MilestoneValidation.enrolment_id)).all())
    reached = {n for _, n in steps_done} | {0}
    assert reached == set(STAGES)  # from diagnosed only to the whole pathway
    statuses = set(session.scalars(sa.select(Referral.status).distinct()))
    assert statuses == set(ReferralStatus)
    honoured = session.scalar(sa.select(Referral).where(Referral.status == ReferralStatus.HONOREE))
    assert honoured.automatic_outcome and honoured.honoured_activity_id is not None
    assert session.scalar(sa.select(sa.func.count(CaseTransfer.id))) >= 2
    assert session.scalar(sa.select(sa.func.count(Loan.id))) >= 1
    finals = session.scalar(sa.select(sa.func.count(Assessment.id)).where(Assessment.moment == "final"))
    assert finals == STAGES.count(8)
