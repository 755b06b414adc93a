"""« Nouveaux bénéficiaires » follow the national rule (La Coop de la médiation numérique): a
followed person at their first accompaniment, an anonymous participant unless the mediator marked
them « déjà accompagné » — in an individual session (the checkbox) or a workshop (the counter)."""

from __future__ import annotations

from datetime import timedelta

from mediation.cases import activities
from mediation.cases.activities import ActivityInput, AnonymousCounters, AnonymousInput, BeneficiaryInput
from mediation.cases.enums import ActivityType, PlaceType, Thematique
from mediation.cases.models import Beneficiary
from mediation.evaluation import indicators
from mediation.evaluation.scope import EvaluationFilter, Scope, authorise
from mediation.types import local_today


def test_anonymous_participants_are_new_unless_marked_already_accompanied(session, network):
    n = network
    today = local_today()
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    day = start + timedelta(days=3)

    def log(**values):
        data = ActivityInput(**{"type": ActivityType.INDIVIDUEL, "structure_id": n.structure_a.id, "date": day,
                                "duration_min": 45, "place_type": PlaceType.LIEU_ACTIVITE.value,
                                "place_structure_id": n.structure_a.id, "thematiques": [Thematique.EMAIL.value],
                                **values})
        return activities.log_activity(session, n.mediator, data, visible_beneficiary=lambda i: session.get(
            Beneficiary, i))

    log(anonymous=AnonymousInput())                                   # new
    log(anonymous=AnonymousInput(already_accompanied=True))           # « J'ai déjà accompagné ce bénéficiaire »
    first = log(new_beneficiary=BeneficiaryInput(first_name="Rose", last_name="Nouvelle"))  # new (followed)
    person = first.participations[0].beneficiary_id
    log(beneficiary_id=person, date=day + timedelta(days=5))          # the same person again: not new
    log(type=ActivityType.COLLECTIF, date=day + timedelta(days=6), duration_min=90, participant_ids=[person],
        counters=AnonymousCounters(total=5, already_accompanied=2))   # 3 new anonymous, the person not new

    for filters in ({}, {"structure_id": n.structure_a.id}):         # rollups and raw tables
        scope = Scope(session, n.admin, authorise(session, n.admin, EvaluationFilter(start=start, end=today,
                                                                                       **filters)))
        means, _ = indicators.scope_means(scope)
        assert means.new_beneficiaries == 1 + 1 + 3
        assert means.beneficiaries == 1 + 1 + 1 + 5  # each anonymous participant counts, the person once
        assert indicators.raw_means(scope).new_beneficiaries == 5
        dashboard = indicators.compute_dashboard(scope, threshold=2, compare="structures")
        assert dashboard.figure("moyens.nouveaux_beneficiaires").value == 5
        comparison = next(t for s in dashboard.sections for t in s.tables if t.code == "comparaison.structures")
        row = next(r for r in comparison.rows if r.key == str(n.structure_a.id))
        assert row.cells[2].value == 5
