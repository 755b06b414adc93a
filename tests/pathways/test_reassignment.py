"""Reassignment by coordinators: consent, history, notifications, optimistic concurrency, bulk
all-or-nothing; activities stay attributed to whoever did them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.cases.models import Activity, Case
from mediation.directory import notifications
from mediation.directory.notifications import NotificationKind, StructureNotification
from mediation.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from mediation.pathways import reassignment
from mediation.pathways import services as pathway_services
from mediation.pathways.models import CaseTransfer
from mediation.pathways.reassignment import Target

CONFLICT = "Ce dossier vient d'être modifié par quelqu'un d'autre"


def test_coordinator_moves_a_case_to_another_commune_and_both_structures_know(session, network, enrolled, validate,
                                                                              steps, log_activity):
    enrolment = enrolled(network_consent=True)
    case = enrolment.case
    validate(enrolment, steps[0])
    activity = log_activity(case)
    transfer = reassignment.reassign(session, network.coordinator, case,
                                     target=Target(network.structure_b.id, network.mediator_b.id),
                                     reason="demenagement", comment="Vit désormais à Ville-B.",
                                     expected_version=case.version)
    assert case.structure_id == network.structure_b.id and case.mediator_id == network.mediator_b.id
    assert case.structure.name == "Médiathèque B" and case.mediator == network.mediator_b
    assert case.version == 2
    assert (transfer.from_structure_id, transfer.to_structure_id) == (network.structure_a.id, network.structure_b.id)
    assert transfer.from_mediator_id == network.mediator.id and transfer.transferred_by_id == network.coordinator.id
    # activities stay with whoever did them; the pathway goes with the case
    assert session.get(Activity, activity.id).structure_id == network.structure_a.id
    assert pathway_services.compute_progress(session, enrolment).done_steps == 1
    assert [n.kind for n in notifications.unread_for(session, network.mediator)] == [NotificationKind.DOSSIER_PARTI]
    assert [n.kind for n in notifications.unread_for(session, network.mediator_b)] == [NotificationKind.DOSSIER_RECU]
    assert [t.id for t in reassignment.history(session, case)] == [transfer.id]


def test_moving_to_another_structure_needs_the_network_consent(session, network, person):
    case = person()  # structure consent only
    with pytest.raises(DomainError, match="n'a pas consenti au partage de son dossier"):
        reassignment.reassign(session, network.coordinator, case, target=Target(network.structure_b.id),
                              reason="effectifs", expected_version=case.version)
    # changing the referent within the structure needs no network consent
    reassignment.reassign(session, network.coordinator, case, target=Target(network.structure_a.id, network.aidant.id),
                          reason="depart_mediateur", expected_version=case.version)
    assert case.mediator_id == network.aidant.id
    assert [n.kind for n in notifications.unread_for(session, network.mediator)] == [
        NotificationKind.DOSSIER_REAFFECTE]


def test_mediators_cannot_reassign_and_coordinators_stay_in_their_territory(session, network, person):
    case = person(network_consent=True)
    with pytest.raises(Forbidden):
        reassignment.reassign(session, network.mediator, case, target=Target(network.structure_b.id),
                              reason="effectifs", expected_version=case.version)
    with pytest.raises(NotFound):
        reassignment.reassign(session, network.coordinator, case, target=Target(network.structure_far.id),
                              reason="effectifs", expected_version=case.version)
    with pytest.raises(NotFound):
        reassignment.reassign(session, network.other_coordinator, case, target=Target(network.structure_b.id),
                              reason="effectifs", expected_version=case.version)
    with pytest.raises(ValidationFailed) as error:
        reassignment.reassign(session, network.coordinator, case, target=Target(None), reason="")
    assert set(error.value.errors) == {"target", "reason"}
    with pytest.raises(ValidationFailed, match="ne travaille pas pour cette structure"):
        reassignment.reassign(session, network.coordinator, case,
                              target=Target(network.structure_b.id, network.mediator.id), reason="effectifs")
    assert session.scalar(sa.select(sa.func.count(CaseTransfer.id))) == 0


def test_a_stale_page_gets_the_conflict_message_and_nothing_moves(session, network, person):
    case = person(network_consent=True)
    seen = case.version
    reassignment.reassign(session, network.coordinator, case, target=Target(network.structure_a.id, network.aidant.id),
                          reason="effectifs", expected_version=seen)
    with pytest.raises(Conflict) as error:
        reassignment.reassign(session, network.admin, case, target=Target(network.structure_b.id),
                              reason="effectifs", expected_version=seen)
    assert error.value.message.startswith(CONFLICT) and "rien n'a été déplacé" in error.value.message
    assert case.structure_id == network.structure_a.id


def test_a_concurrent_update_between_read_and_write_is_refused_by_the_database(session, network, person):
    case = person(network_consent=True)
    session.commit()  # the test's setup stays; what follows can be rolled back alone
    # Someone else's committed change bumps the version behind this session's back.
    session.execute(sa.update(Case).where(Case.id == case.id).values(version=Case.version + 1)
                    .execution_options(synchronize_session=False))
    with pytest.raises(Conflict, match=CONFLICT):
        reassignment.reassign(session, network.coordinator, case, target=Target(network.structure_b.id),
                              reason="effectifs", expected_version=case.version)
    session.rollback()
    assert session.get(Case, case.id).structure_id == network.structure_a.id
    assert session.scalar(sa.select(sa.func.count(CaseTransfer.id))) == 0
    assert session.scalar(sa.select(sa.func.count(StructureNotification.id))) == 0


def test_bulk_move_when_a_mediator_leaves_is_all_or_nothing(session, network, person):
    cases = [person(network_consent=True, last_name=f"Lot{i}") for i in range(3)]
    stubborn = person(last_name="SansConsentement")  # no network consent
    session.commit()
    seen = {c.id: c.version for c in [*cases, stubborn]}
    with pytest.raises(DomainError, match=f"Dossier n° {stubborn.id} : .*Aucun dossier n'a été déplacé"):
        reassignment.bulk_reassign(session, network.coordinator, seen,
                                   target=Target(network.structure_b.id, network.mediator_b.id),
                                   reason="depart_mediateur")
    session.rollback()
    assert {session.get(Case, c.id).structure_id for c in cases} == {network.structure_a.id}
    seen.pop(stubborn.id)
    transfers = reassignment.bulk_reassign(session, network.coordinator, seen,
                                           target=Target(network.structure_b.id, network.mediator_b.id),
                                           reason="depart_mediateur")
    assert len(transfers) == 3 and len({t.batch for t in transfers}) == 1
    assert {c.structure_id for c in cases} == {network.structure_b.id}
    received = notifications.unread_for(session, network.mediator_b)
    assert [(n.kind, n.count) for n in received] == [(NotificationKind.DOSSIER_RECU, 3)]
    with pytest.raises(Forbidden):
        reassignment.bulk_reassign(session, network.mediator, seen, target=Target(network.structure_a.id),
                                   reason="effectifs")


def test_bulk_refuses_cases_outside_the_coordinators_territory(session, network, person):
    far = person(network_consent=True, structure=network.structure_far, mediator=network.mediator_far)
    with pytest.raises(NotFound):
        reassignment.bulk_reassign(session, network.coordinator, {far.id: far.version},
                                   target=Target(network.structure_b.id), reason="effectifs")
