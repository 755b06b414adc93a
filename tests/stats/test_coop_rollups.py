"""« Statistiques » from the rollups (mediation.stats.coop_rollups): the same figures, share by
share, as reading every activity of the period, whatever the period — whole months, a month
covered in part read row by row, or read as the month's rollups minus the days left out —, the
type filter and the mediator filter; and the rollups stay exact (``rollups.differences``) through
logging, editing, deleting and restoring activities with tags, matériel, places and anonymous
participants, and through a record edited, a tag deleted or a place moved to another commune."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date, timedelta

import sqlalchemy as sa

from mediation.auth.models import Role, User
from mediation.cases import activities, services, tags
from mediation.cases.activities import AnonymousCounters, AnonymousInput
from mediation.cases.enums import ActivityType, PlaceType, Thematique
from mediation.cases.models import Activity, Beneficiary
from mediation.directory.models import Commune, Structure, Territory
from mediation.stats import rollups
from mediation.stats.coop import CoopFilters, _parts, coop_statistics
from mediation.types import local_today
from tests.stats.test_coop import assert_matches, reference


def same_figures(session, user, filters) -> dict:
    """The figures from the rollups, checked equal to those read row by row; returned."""
    fast = asdict(coop_statistics(session, user, filters))
    slow = asdict(coop_statistics(session, user, filters, use_rollups=False))
    assert fast == slow, (user.role, filters)
    return fast


def test_parts_of_a_period():
    whole, partial = _parts(date(2026, 1, 3), date(2026, 3, 31))
    assert whole == [date(2026, 2, 1), date(2026, 3, 1)]
    assert partial == [(date(2026, 1, 1), [(date(2026, 1, 3), date(2026, 1, 31))],
                        [(date(2026, 1, 1), date(2026, 1, 2))])]
    whole, partial = _parts(date(2026, 2, 10), date(2026, 2, 12))
    assert whole == []
    assert partial == [(date(2026, 2, 1), [(date(2026, 2, 10), date(2026, 2, 12))],
                        [(date(2026, 2, 1), date(2026, 2, 9)), (date(2026, 2, 13), date(2026, 2, 28))])]


def test_synthetic_data_every_kind_of_period(session, synth, make_user):
    synth(600, seed=5)
    busiest = session.execute(sa.select(Activity.mediator_id, sa.func.count()).where(Activity.deleted_at.is_(None))
                              .group_by(Activity.mediator_id).order_by(sa.func.count().desc())).first()[0]
    mediator = session.get(User, busiest)
    territory_id = session.scalar(sa.select(Commune.territory_id).join(Structure, Structure.commune_id == Commune.id)
                                  .join(Activity, Activity.structure_id == Structure.id).limit(1))
    coordinator = make_user(Role.COORDINATOR, territory=session.get(Territory, territory_id))
    admin = make_user(Role.ADMIN)
    first = session.scalar(sa.select(sa.func.min(Activity.date)))
    last = session.scalar(sa.select(sa.func.max(Activity.date)))
    m = rollups.next_month(rollups.first_of_month(first))       # a whole month with data
    m2 = rollups.next_month(rollups.next_month(m))
    periods = [
        (first, last),                                           # everything
        (m, rollups.next_month(m2) - timedelta(days=1)),         # whole months only
        (m.replace(day=3), m2.replace(day=27)),                  # edges: the months' rollups minus 2 to 4 days
        (m.replace(day=20), rollups.next_month(m).replace(day=5)),  # edges: their days, row by row
        (m.replace(day=10), m.replace(day=12)),                  # inside one month, row by row
        (m.replace(day=2), m.replace(day=27)),                   # inside one month, rollups minus the rest
    ]
    for start, end in periods:
        for types in ((), (ActivityType.COLLECTIF,), (ActivityType.INDIVIDUEL,)):
            f = CoopFilters(start=start, end=end, types=types)
            figures = same_figures(session, mediator, f)
            same_figures(session, coordinator, f)
            same_figures(session, admin, f)
            same_figures(session, admin, CoopFilters(start=start, end=end, types=types, mediator_id=busiest))
            if start == m.replace(day=3) and not types:
                assert figures["accompaniments"] > 0 and figures["beneficiaries"] > 0
    # and the rollups' figures are the Coop's definitions (the reference SQL of test_coop)
    f = CoopFilters(start=m.replace(day=3), end=m2.replace(day=27))
    assert_matches(coop_statistics(session, admin, f), reference(session, "TRUE", {}, f.start, f.end, local_today()))
    assert_matches(coop_statistics(session, mediator, f),
                   reference(session, "a.mediator_id = :me", {"me": busiest}, f.start, f.end, local_today()))


def test_rollups_follow_tags_materiel_places_and_people(session, network, make_beneficiary, make_commune):
    n = network
    today = local_today()
    f = CoopFilters.default()
    visible = lambda i: session.get(Beneficiary, i)  # noqa: E731
    project = tags.create_tag(session, n.mediator, tags.TagInput(name="Projet numérique", scope="personnel"))
    other = tags.create_tag(session, n.mediator, tags.TagInput(name="Autre projet", scope="personnel"))

    def log(**values):
        data = activities.ActivityInput(**{
            "type": ActivityType.INDIVIDUEL, "structure_id": n.structure_a.id, "date": today - timedelta(days=2),
            "duration_min": 45, "place_type": PlaceType.LIEU_ACTIVITE.value, "place_structure_id": n.structure_a.id,
            "thematiques": [Thematique.EMAIL.value], **values})
        return activities.log_activity(session, n.mediator, data, visible_beneficiary=visible)

    person = make_beneficiary()
    one = log(beneficiary_id=person.id, tag_ids=[project.id], materiel=["ordinateur", "tablette"])
    home = log(anonymous=AnonymousInput(genre="feminin", residence_commune_id=n.commune_b.id),
               place_type=PlaceType.DOMICILE.value, place_structure_id=None, place_commune_id=n.commune_b.id,
               tag_ids=[project.id, other.id], duration_min=150)
    workshop = log(type=ActivityType.COLLECTIF, participant_ids=[person.id], workshop_title="Atelier",
                   counters=AnonymousCounters(total=4, genres={"masculin": 2}, statuts={"retraite": 1}),
                   place_type=PlaceType.A_DISTANCE.value, place_structure_id=None, date=today - timedelta(days=70))
    assert rollups.differences(session) == {}
    stats = same_figures(session, n.mediator, f)
    assert {s["label"]: s["count"] for s in stats["tags"]} == {"Projet numérique": 2, "Autre projet": 1}
    assert stats["beneficiaries"] == 1 + 1 + 4 and stats["followed_beneficiaries"] == 1

    # the person's record edited: the rollups' copy of their profile follows
    before = {s["label"]: s["count"] for s in stats["genres"]}
    services.update_beneficiary(session, n.mediator, person, replace(
        services.beneficiary_input_from(person), genre="masculin", birth_year=1940, statut_social="retraite",
        residence_commune_id=n.commune_b.id))
    assert rollups.differences(session) == {}
    stats = same_figures(session, n.mediator, f)
    assert {s["label"]: s["count"] for s in stats["genres"]}["Masculin"] == before["Masculin"] + 1
    assert {s["label"]: s["count"] for s in stats["age_bands"]}["70 ans et plus"] >= 1

    # edits: other tags and matériel, another place, another month
    data = activities.ActivityInput(
        type=ActivityType.INDIVIDUEL, structure_id=n.structure_a.id, date=today - timedelta(days=40),
        duration_min=20, place_type=PlaceType.AUTRE.value, place_commune_id=n.commune_b.id,
        thematiques=[Thematique.BUREAUTIQUE.value], beneficiary_id=person.id, tag_ids=[other.id],
        materiel=["telephone"])
    activities.update_activity(session, n.mediator, one, data, visible_beneficiary=visible)
    assert rollups.differences(session) == {}
    stats = same_figures(session, n.mediator, f)
    assert {s["label"]: s["count"] for s in stats["tags"]} == {"Autre projet": 2, "Projet numérique": 1}
    activities.delete_activity(session, n.mediator, home)
    assert rollups.differences(session) == {}
    same_figures(session, n.mediator, f)
    activities.restore_activity(session, n.mediator, home)
    activities.delete_activity(session, n.mediator, workshop)
    assert rollups.differences(session) == {}
    stats = same_figures(session, n.mediator, f)
    assert stats["beneficiaries"] == 2

    # read as the directory says now: a deleted tag leaves, a place's commune follows the place
    tags.delete_tag(session, n.mediator, other)
    stats = same_figures(session, n.mediator, f)
    assert [s["label"] for s in stats["tags"]] == ["Projet numérique"]
    log(anonymous=AnonymousInput())
    moved = make_commune(name="Ville-Nouvelle", territory=n.territory)
    n.structure_a.commune_id = moved.id
    session.flush()
    stats = same_figures(session, n.mediator, f)
    assert any(s["label"].startswith("Ville-Nouvelle") for s in stats["communes"])
    assert rollups.differences(session) == {}
