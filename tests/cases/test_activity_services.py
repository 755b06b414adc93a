"""Activity logging rules: validation messages, participations, first accompaniment, counts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.cases import activities
from mediation.cases.activities import AnonymousCounters, AnonymousInput
from mediation.cases.enums import (
    ActivityType,
    CaseState,
    DemarcheThematique,
    EquipmentKind,
    Genre,
    PlaceType,
    RecordSource,
    Thematique,
    TrancheAge,
)
from mediation.cases.models import Activity, Beneficiary, Case, Participation
from mediation.cases.services import BeneficiaryInput
from mediation.errors import ValidationFailed
from mediation.types import local_today

YESTERDAY = local_today() - timedelta(days=1)


def errors_of(callable_):
    with pytest.raises(ValidationFailed) as info:
        callable_()
    return info.value.errors


def test_individual_requires_date_place_and_thematique(session, log, activity_input):
    errors = errors_of(lambda: log(activity_input(date=None, place_type=None, thematiques=[], duration_min=None)))
    assert errors["date"] == "Veuillez renseigner une date"
    assert errors["place_type"] == "Veuillez renseigner un lieu d’accompagnement"
    assert errors["thematiques"] == "Veuillez renseigner au moins une thématique"
    assert errors["duration_min"] == "Veuillez renseigner une durée"
    assert session.scalar(sa.select(sa.func.count(Activity.id))) == 0


def test_place_rules(log, activity_input, network):
    errors = errors_of(lambda: log(activity_input(place_structure_id=None)))
    assert errors == {"place_structure_id": "Veuillez renseigner le lieu d’activité"}
    errors = errors_of(lambda: log(activity_input(place_type=PlaceType.DOMICILE.value)))
    assert errors == {"place_commune_id": "Veuillez renseigner la commune"}
    remote = log(activity_input(place_type=PlaceType.A_DISTANCE.value, place_structure_id=None))
    assert remote.place_commune_id == network.structure_a.commune_id  # the acting structure's commune
    home = log(activity_input(place_type=PlaceType.DOMICILE.value, place_commune_id=network.commune_b.id))
    assert home.place_structure_id is None and home.place_commune_id == network.commune_b.id


def test_demarche_thematiques_need_aide_aux_demarches(log, activity_input):
    errors = errors_of(lambda: log(activity_input(
        thematiques=[Thematique.EMAIL.value, DemarcheThematique.LOGEMENT.value], demarche_name="APL")))
    assert "Aide aux démarches administratives" in errors["demarches"]
    assert "demarche_name" in errors
    activity = log(activity_input(thematiques=[Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES.value,
                                               DemarcheThematique.LOGEMENT.value], demarche_name="APL"))
    assert set(activity.thematiques) == {"aide_aux_demarches_administratives", "logement"}
    assert activity.demarche_name == "APL"


def test_date_duration_structure_and_equipment_rules(log, activity_input, network):
    errors = errors_of(lambda: log(activity_input(date=local_today() + timedelta(days=1))))
    assert errors["date"] == "La date ne peut pas être dans le futur"
    errors = errors_of(lambda: log(activity_input(duration_min=-5)))
    assert "durée" in errors["duration_min"]
    errors = errors_of(lambda: log(activity_input(structure_id=network.structure_b.id)))
    assert errors["structure_id"] == "Vous n'intervenez pas pour cette structure à cette date"
    errors = errors_of(lambda: log(activity_input(equipment_kind=EquipmentKind.DON.value)))
    assert errors["equipment_count"] == "Veuillez renseigner le nombre d’équipements remis"
    errors = errors_of(lambda: log(activity_input(oriented=True)))
    assert errors["redirection"] == "Veuillez renseigner la structure de redirection"


def test_anonymous_individual_session(session, log, activity_input, network):
    activity = log(activity_input(anonymous=AnonymousInput(genre=Genre.FEMININ.value,
                                                           tranche_age=TrancheAge.SOIXANTE_DIX_PLUS.value,
                                                           already_accompanied=True)))
    assert activity.participants_count == 1
    (participation,) = activity.participations
    person = participation.beneficiary
    assert person.anonymous and not person.random_attributes and person.first_name is None
    assert person.genre == Genre.FEMININ and person.tranche_age_at() == TrancheAge.SOIXANTE_DIX_PLUS
    assert participation.first_accompaniment is False  # "J'ai déjà accompagné ce bénéficiaire"
    assert participation.case_id is None
    assert person.accompaniments_count == 1


def test_new_beneficiary_inline_opens_a_case(session, log, activity_input, network):
    errors = errors_of(lambda: log(activity_input(new_beneficiary=BeneficiaryInput(first_name="Aïcha"))))
    assert errors == {"new_last_name": "Veuillez renseigner un nom"}
    activity = log(activity_input(new_beneficiary=BeneficiaryInput(first_name="Aïcha", last_name="Diallo",
                                                                   birth_year=1950)))
    (participation,) = activity.participations
    person = participation.beneficiary
    assert person.display_name == "Aïcha Diallo" and not person.anonymous
    case = session.get(Case, participation.case_id)
    assert case.state == CaseState.OPEN and case.structure_id == network.structure_a.id
    assert case.mediator_id == network.mediator.id
    assert participation.first_accompaniment is True


def test_first_accompaniment_follows_create_edit_and_delete(session, log, edit, activity_input, make_beneficiary):
    person = make_beneficiary()
    later = log(activity_input(beneficiary_id=person.id, date=YESTERDAY))
    earlier = log(activity_input(beneficiary_id=person.id, date=YESTERDAY - timedelta(days=10)))

    def firsts():
        session.expire_all()
        return {p.activity_id: p.first_accompaniment for p in session.scalars(
            sa.select(Participation).where(Participation.beneficiary_id == person.id))}

    assert firsts() == {later.id: False, earlier.id: True}
    assert session.get(Beneficiary, person.id).accompaniments_count == 2
    # Editing the date moves the first accompaniment.
    data = activities.input_from_activity(later)
    data.date = YESTERDAY - timedelta(days=30)
    assert "date" in edit(later, data)
    assert firsts() == {later.id: True, earlier.id: False}
    # Deleting it moves it back; the count drops.
    activities.delete_activity(session, later.mediator, later)
    assert firsts()[earlier.id] is True
    assert session.get(Beneficiary, person.id).accompaniments_count == 1
    activities.restore_activity(session, later.mediator, later)
    assert firsts() == {later.id: True, earlier.id: False}
    assert session.get(Beneficiary, person.id).accompaniments_count == 2


def test_changing_the_beneficiary_moves_the_counts(session, log, edit, activity_input, make_beneficiary):
    alice, bruno = make_beneficiary(first_name="Alice"), make_beneficiary(first_name="Bruno")
    activity = log(activity_input(beneficiary_id=alice.id))
    data = activities.input_from_activity(activity)
    data.beneficiary_id = bruno.id
    edit(activity, data)
    session.expire_all()
    assert session.get(Beneficiary, alice.id).accompaniments_count == 0
    assert session.get(Beneficiary, bruno.id).accompaniments_count == 1
    # and to anonymous: the anonymous row is created, the followed one released
    data.beneficiary_id = None
    edit(activity, data)
    session.expire_all()
    assert session.get(Beneficiary, bruno.id).accompaniments_count == 0
    assert session.get(Activity, activity.id).participations[0].beneficiary.anonymous


def test_workshop_of_ten_makes_ten_participations(session, log, edit, activity_input, make_beneficiary):
    followed = [make_beneficiary() for _ in range(3)]
    counters = AnonymousCounters(total=7, already_accompanied=2,
                                 genres={"feminin": 4, "masculin": 2}, ages={"soixante_dix_plus": 3},
                                 statuts={"retraite": 3, "en_emploi": 1})
    workshop = log(activity_input(ActivityType.COLLECTIF, workshop_title="Premiers pas sur tablette",
                                  workshop_level="debutant", participant_ids=[b.id for b in followed],
                                  counters=counters))
    assert workshop.participants_count == 10
    assert session.scalar(sa.select(sa.func.count()).where(Participation.activity_id == workshop.id)) == 10
    anonymous = [p.beneficiary for p in workshop.participations if p.beneficiary.anonymous]
    assert len(anonymous) == 7 and all(b.random_attributes for b in anonymous)
    assert Counter(b.genre for b in anonymous) == {Genre.FEMININ: 4, Genre.MASCULIN: 2, None: 1}
    assert sum(1 for b in anonymous if b.tranche_age == TrancheAge.SOIXANTE_DIX_PLUS) == 3
    assert activities.workshop_counters(workshop) == counters
    assert sum(1 for p in workshop.participations if p.first_accompaniment) == 3 + 5
    # every followed participant got a case
    assert all(p.case_id for p in workshop.participations if not p.beneficiary.anonymous)
    # Edit: one followed participant less, two anonymous more.
    data = activities.input_from_activity(workshop)
    data.participant_ids = data.participant_ids[:2]
    data.counters.total = 9
    edit(workshop, data)
    assert workshop.participants_count == 11
    session.expire_all()
    assert session.get(Beneficiary, followed[2].id).accompaniments_count == 0
    assert session.scalar(sa.select(sa.func.count(Beneficiary.id)).where(Beneficiary.random_attributes)) == 9


def test_workshop_validation(log, activity_input):
    errors = errors_of(lambda: log(activity_input(ActivityType.COLLECTIF, counters=AnonymousCounters(total=0))))
    assert errors["participant_ids"] == "Veuillez renseigner au moins un bénéficiaire suivi ou anonyme"
    errors = errors_of(lambda: log(activity_input(
        ActivityType.COLLECTIF, counters=AnonymousCounters(total=3, already_accompanied=4,
                                                           genres={"feminin": 3, "masculin": 1}))))
    assert errors["anon_genres"] == "La répartition par genre (4) dépasse le nombre de bénéficiaires anonymes (3)"
    assert "déjà accompagnés" in errors["anon_already"]


def test_out_of_scope_beneficiary_is_not_found(log, activity_input, make_beneficiary, network):
    stranger = make_beneficiary(actor=network.mediator_far, structure=network.structure_far)
    errors = errors_of(lambda: log(activity_input(beneficiary_id=stranger.id)))
    assert errors == {"beneficiary_id": "Bénéficiaire introuvable"}


def test_defaults_come_from_the_last_activity(session, log, activity_input, network):
    defaults = activities.activity_defaults(session, network.mediator)
    assert (defaults.structure_id, defaults.duration_min, defaults.place_type) == (
        network.structure_a.id, 60, "lieu_activite")
    log(activity_input(duration_min=90, place_type=PlaceType.DOMICILE.value, place_commune_id=network.commune_b.id))
    defaults = activities.activity_defaults(session, network.mediator)
    # The place of the last session; an individual session lasts 1 h by default (the common case).
    assert (defaults.duration_min, defaults.place_type, defaults.place_commune_id) == (
        60, "domicile", network.commune_b.id)
    # A workshop takes the last workshop's duration, or 60 min; the place of the last activity.
    workshop = activities.activity_defaults(session, network.mediator, ActivityType.COLLECTIF)
    assert (workshop.duration_min, workshop.place_type) == (60, "domicile")
    log(activity_input(ActivityType.COLLECTIF, duration_min=120))
    workshop = activities.activity_defaults(session, network.mediator, ActivityType.COLLECTIF)
    assert workshop.duration_min == 120
    assert activities.activity_defaults(session, network.mediator, ActivityType.INDIVIDUEL).duration_min == 60


def test_defaults_ignore_imported_history(session, log, activity_input, network):
    """An imported activity (its place may be an unlisted place of the national tool, which the form
    does not offer) is not the mediator's usual place: the last activity logged here is."""
    log(activity_input(place_type=PlaceType.DOMICILE.value, place_commune_id=network.commune_b.id))
    imported = log(activity_input(place_type=PlaceType.DOMICILE.value, place_commune_id=network.commune_a.id))
    imported.source = RecordSource.IMPORT
    session.flush()
    defaults = activities.activity_defaults(session, network.mediator)
    assert (defaults.place_type, defaults.place_commune_id) == ("domicile", network.commune_b.id)


def test_edit_and_delete_are_audited_without_personal_data(session, log, edit, activity_input, make_beneficiary):
    person = make_beneficiary(first_name="Zoé", last_name="Secret")
    activity = log(activity_input(beneficiary_id=person.id, notes="Très confidentiel"))
    data = activities.input_from_activity(activity)
    data.duration_min = 30
    edit(activity, data)
    activities.delete_activity(session, activity.mediator, activity)
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "activities",
                                                         AuditEvent.object_id == str(activity.id))
                             .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["activity.created", "activity.updated", "activity.deleted"]
    assert events[1].details["fields"] == ["duration_min"]
    assert "Secret" not in str([e.details for e in events]) and "confidentiel" not in str([e.details for e in events])


def test_a_person_back_after_a_closed_case_gets_a_new_case(session, log, activity_input, make_beneficiary, network):
    from mediation.cases import services

    person = make_beneficiary()
    first_case = services.live_case(session, person.id)
    services.close_case(session, network.mediator, first_case, "ne_vient_plus")
    activity = log(activity_input(beneficiary_id=person.id))
    new_case = services.live_case(session, person.id)
    assert new_case.id != first_case.id and activity.participations[0].case_id == new_case.id


def test_a_new_activity_holds_what_was_written(session, log, activity_input, make_beneficiary):
    """On PostgreSQL the activity, its new anonymous people, participations and thématiques are
    written by one statement (mediation.cases.activities._insert_new_activity), not by a flush: the
    objects must hold exactly what a reload reads, and participations keep the order they were
    given (followed people first), as a flush numbers them."""
    from tests.helpers import count_queries

    followed = [make_beneficiary() for _ in range(2)]
    with count_queries() as statements:
        workshop = log(activity_input(ActivityType.COLLECTIF, participant_ids=[b.id for b in followed],
                                      counters=AnonymousCounters(total=3, already_accompanied=1),
                                      thematiques=[Thematique.EMAIL.value, Thematique.NAVIGATION_SUR_INTERNET.value]))
    inserts = [s for s in statements if "INSERT INTO activities" in s]
    assert len(inserts) == 1
    if session.get_bind().dialect.name == "postgresql":  # one statement for every table
        assert inserts[0].lstrip().startswith("WITH") and "INSERT INTO participations" in inserts[0]
        assert not [s for s in statements if s.lstrip().startswith("INSERT INTO beneficiaries")]
    held = {
        "activity": {c.key: getattr(workshop, c.key) for c in sa.inspect(Activity).column_attrs},
        "participations": [(p.id, p.beneficiary_id, p.case_id, p.first_accompaniment, p.created_at)
                           for p in workshop.participations],
        "people": [{c.key: getattr(p.beneficiary, c.key) for c in sa.inspect(Beneficiary).column_attrs}
                   for p in workshop.participations],
        "thematiques": sorted(workshop.thematiques),
    }
    assert [p.beneficiary_id for p in workshop.participations][:2] == [b.id for b in followed]
    assert [p.id for p in workshop.participations] == sorted(p.id for p in workshop.participations)
    session.expire_all()
    reloaded = session.get(Activity, workshop.id)
    assert held == {
        "activity": {c.key: getattr(reloaded, c.key) for c in sa.inspect(Activity).column_attrs},
        "participations": [(p.id, p.beneficiary_id, p.case_id, p.first_accompaniment, p.created_at)
                           for p in reloaded.participations],
        "people": [{c.key: getattr(p.beneficiary, c.key) for c in sa.inspect(Beneficiary).column_attrs}
                   for p in reloaded.participations],
        "thematiques": sorted(reloaded.thematiques),
    }
    assert held["thematiques"] == ["email", "navigation_sur_internet"]
    assert sum(1 for p in reloaded.participations if p.first_accompaniment) == 2 + 2


def test_a_new_activity_logged_in_a_rolled_back_savepoint_leaves_nothing(session, log, activity_input):
    """In a savepoint (a job, a bulk action) the activity goes through the flush, so that the
    rollback takes the objects out of the session as it takes the rows out of the database."""
    with pytest.raises(RuntimeError), session.begin_nested():
        activity = log(activity_input())
        raise RuntimeError
    assert sa.inspect(activity).transient
    assert session.scalar(sa.select(sa.func.count(Activity.id))) == 0
