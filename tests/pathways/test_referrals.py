"""Referrals: suggestions by service and distance, consent, lifecycle, automatic outcome, lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.directory import notifications
from mediation.directory.notifications import NotificationKind, StructureNotification
from mediation.errors import Conflict, DomainError, Forbidden, ValidationFailed
from mediation.pathways import referrals
from mediation.pathways.enums import ReferralStatus
from mediation.pathways.models import CaseTransfer, Referral
from mediation.types import local_today
from tests.pathways.conftest import MAITRISE

DEMARCHES = "Aide aux démarches administratives"


@pytest.fixture
def places(network, make_commune, make_structure):
    """Structures at known distances from Ville-A (49.40, 1.09): Médiathèque B 2 km, a CCAS 8 km
    (démarches only), a far EPN 30 km, and one in another territory (never suggested)."""
    network.commune_a.latitude, network.commune_a.longitude = 49.40, 1.09
    network.structure_a.latitude, network.structure_a.longitude = 49.40, 1.09
    network.structure_b.latitude, network.structure_b.longitude = 49.418, 1.09
    network.structure_b.services = [MAITRISE]
    network.structure_b.horaires = "Mo-Fr 09:00-12:30,13:30-17:30; Sa 10:00-12:00"
    network.structure_b.prise_rdv = "https://rdv.example.org/mediatheque"
    network.structure_b.prise_en_charge = ["Déficience visuelle"]
    ccas = make_structure(network.commune_b, name="CCAS B", latitude=49.472, longitude=1.09, services=[DEMARCHES])
    far = make_structure(network.commune_b, name="EPN lointain", latitude=49.67, longitude=1.09,
                         services=[MAITRISE, DEMARCHES])
    make_structure(network.commune_far, name="Ailleurs", latitude=49.401, longitude=1.09, services=[MAITRISE])
    return {"ccas": ccas, "far": far}


def test_haversine_and_opening_hours():
    assert referrals.haversine_km(49.4431, 1.0993, 49.2864, 1.0083) == pytest.approx(18.5, abs=0.2)  # Rouen–Elbeuf
    assert referrals.horaires_fr("Mo-Fr 09:00-12:30,13:30-17:30; Sa 10:00-12:00") == (
        "Du lundi au vendredi : 9 h – 12 h 30 et 13 h 30 – 17 h 30 ; samedi : 10 h – 12 h")
    assert referrals.horaires_fr("Tu,Th 14:00-18:00") == "Mardi, jeudi : 14 h – 18 h"
    assert referrals.horaires_fr("24/7") == "24/7"


def test_suggestions_offer_the_service_nearest_first(session, network, person, places):
    case = person(network_consent=True, residence_commune_id=network.commune_a.id)
    suggested = referrals.suggest(session, case, MAITRISE, accessibility=["Déficience visuelle"])
    assert [s.structure.name for s in suggested] == ["Médiathèque B", "EPN lointain"]
    assert suggested[0].distance_label == "2,0 km" and suggested[0].handles == ["Déficience visuelle"]
    assert suggested[0].horaires.startswith("Du lundi au vendredi")
    demarches = referrals.suggest(session, case, DEMARCHES)
    assert [s.structure.name for s in demarches] == ["CCAS B", "EPN lointain"]
    assert "France Services A" not in [s.structure.name for s in referrals.suggest(session, case, None)]


def test_referring_needs_the_network_consent(session, network, person, places):
    case = person()
    with pytest.raises(DomainError, match="n'a pas consenti au partage"):
        referrals.create_referral(session, network.mediator, case,
                                  referrals.ReferralInput(to_structure_id=network.structure_b.id))
    assert session.scalar(sa.select(sa.func.count(Referral.id))) == 0


def test_network_consent_recorded_with_the_referral(session, network, person, places):
    from mediation.cases.enums import ConsentScope
    from mediation.cases.models import Consent
    from mediation.pathways.reassignment import has_network_consent, territory_id_of

    case = person()
    referral = referrals.create_referral(session, network.mediator, case, referrals.ReferralInput(
        to_structure_id=network.structure_b.id, network_consent=True))
    assert referral.to_structure_id == network.structure_b.id
    assert has_network_consent(session, case.beneficiary_id, territory_id_of(session, network.structure_b.id))
    consent = session.scalar(sa.select(Consent).where(Consent.scope == ConsentScope.RESEAU))
    assert (consent.structure_id, consent.recorded_by_id) == (case.structure_id, network.mediator.id)
    # Already given: ticking it again records nothing more.
    referrals.create_referral(session, network.mediator, case, referrals.ReferralInput(
        to_structure_id=places["ccas"].id, network_consent=True))
    assert session.scalar(sa.select(sa.func.count(Consent.id)).where(Consent.scope == ConsentScope.RESEAU)) == 1


def test_a_referral_is_accepted_and_the_case_moves_with_its_pathway(session, network, enrolled, validate, steps,
                                                                    places):
    enrolment = enrolled(network_consent=True)
    validate(enrolment, steps[0])
    case = enrolment.case
    with pytest.raises(ValidationFailed) as error:
        referrals.create_referral(session, network.mediator, case, referrals.ReferralInput(
            to_structure_id=network.structure_a.id, service="Cuisine", milestone_id=999_999))
    assert set(error.value.errors) == {"to_structure_id", "service", "milestone_id"}
    referral = referrals.create_referral(session, network.mediator, case, referrals.ReferralInput(
        to_structure_id=network.structure_b.id, service=MAITRISE, milestone_id=steps[1].id, motive="Atelier"))
    assert referral.status == ReferralStatus.PROPOSEE and referral.distance_km == pytest.approx(2.0, abs=0.05)
    assert referral.due_on == local_today() + timedelta(days=30)
    with pytest.raises(Conflict, match="déjà en cours"):
        referrals.create_referral(session, network.mediator, case,
                                  referrals.ReferralInput(to_structure_id=network.structure_b.id))
    assert [n.kind for n in notifications.unread_for(session, network.mediator_b)] == [
        NotificationKind.ORIENTATION_RECUE]
    with pytest.raises(Forbidden):  # the sender does not answer for the receiver
        referrals.accept(session, network.mediator, referral)
    referrals.accept(session, network.mediator_b, referral)
    assert referral.status == ReferralStatus.ACCEPTEE
    assert case.structure_id == network.structure_b.id and case.mediator_id == network.mediator_b.id
    transfer = session.scalar(sa.select(CaseTransfer).where(CaseTransfer.referral_id == referral.id))
    assert transfer.from_structure_id == network.structure_a.id and transfer.reason.value == "orientation"
    assert NotificationKind.ORIENTATION_ACCEPTEE in [n.kind for n in notifications.unread_for(session, network.mediator)]
    # the médiathèque goes on with the same progress
    validate(enrolment, steps[1], user=network.mediator_b, structure=network.structure_b)
    from mediation.pathways.services import compute_progress

    assert compute_progress(session, enrolment).levels[0].done


def test_an_activity_at_the_receiving_structure_honours_the_referral(session, network, person, places, log_activity):
    case = person(network_consent=True)
    referral = referrals.create_referral(session, network.mediator, case,
                                         referrals.ReferralInput(to_structure_id=network.structure_b.id))
    log_activity(case)  # at France Services A: not the receiving structure
    assert referral.status == ReferralStatus.PROPOSEE
    referrals.accept(session, network.mediator_b, referral)
    activity = log_activity(case, user=network.mediator_b, structure=network.structure_b)
    assert referral.status == ReferralStatus.HONOREE and referral.automatic_outcome
    assert referral.honoured_activity_id == activity.id and referral.closed_by_id is None
    kinds = [n.kind for n in notifications.unread_for(session, network.mediator)]
    assert NotificationKind.ORIENTATION_HONOREE in kinds


def test_an_imported_activity_at_the_receiving_structure_honours_the_referral(app, session, network, person, places):
    """The import job (cases/exchange.py, what the import page runs) honours referrals like an
    activity logged by hand: pathways hear of it through the cases signal, not through a call."""
    from mediation.cases import exports
    from mediation.cases.models import Activity
    from mediation.jobs import enqueue
    from mediation.jobs.models import JobStatus
    from tests.cases_exchange.conftest import csv_bytes

    case = person(network_consent=True, first_name="Jeanne", last_name="Orientée")
    referral = referrals.create_referral(session, network.mediator, case,
                                         referrals.ReferralInput(to_structure_id=network.structure_b.id))
    referrals.accept(session, network.mediator_b, referral)  # the case is now held by Médiathèque B
    header = exports.activity_columns(self_export=True, with_source=False)

    def import_one(structure, mediator, cra_id):
        row = {"Date": local_today().strftime("%d/%m/%Y"), "Type": "Accompagnement individuel",
               "Participants": "1", "Bénéficiaire": "Jeanne Orientée", "Canaux d’accompagnement": "Lieu d’activité",
               "Nom du lieu": structure.name, "Durée (min)": "45", "Thématique(s) d’accompagnement": "E-mail",
               "ID CRA": cra_id}
        app.config["MEDIATION_JOBS_BACKEND"] = "eager"
        try:
            job = enqueue(session, "cases.import", user=mediator,
                          params={"kind": "activites", "structure_id": structure.id}, input_name="a.csv",
                          input_data=csv_bytes([header, [row.get(h, "") for h in header]]))
        finally:
            app.config["MEDIATION_JOBS_BACKEND"] = None
        assert job.status == JobStatus.DONE, job.error
        assert job.result["Activités créées"] == 1
        return session.scalar(sa.select(Activity).where(Activity.external_id == cra_id))

    import_one(network.structure_a, network.mediator, "ailleurs-1")  # not the receiving structure
    session.refresh(referral)
    assert referral.status == ReferralStatus.ACCEPTEE
    imported = import_one(network.structure_b, network.mediator_b, "mediatheque-1")
    assert [p.case_id for p in imported.participations] == [case.id]  # linked to the followed person
    session.refresh(referral)
    assert referral.status == ReferralStatus.HONOREE and referral.automatic_outcome
    assert referral.honoured_activity_id == imported.id and referral.closed_by_id is None
    assert NotificationKind.ORIENTATION_HONOREE in [n.kind for n in notifications.unread_for(session, network.mediator)]


def test_decline_needs_a_reason_and_cancel_is_for_the_sender(session, network, person, places):
    case = person(network_consent=True)
    referral = referrals.create_referral(session, network.mediator, case,
                                         referrals.ReferralInput(to_structure_id=network.structure_b.id))
    with pytest.raises(ValidationFailed, match="motif du refus"):
        referrals.decline(session, network.mediator_b, referral, None, None)
    with pytest.raises(ValidationFailed, match="Précisez"):
        referrals.decline(session, network.mediator_b, referral, "autre", " ")
    referrals.decline(session, network.mediator_b, referral, "complet", None)
    assert referral.status == ReferralStatus.REFUSEE and case.structure_id == network.structure_a.id
    with pytest.raises(DomainError, match="déjà terminée"):
        referrals.cancel(session, network.mediator, referral)
    again = referrals.create_referral(session, network.mediator, case,
                                      referrals.ReferralInput(to_structure_id=places["far"].id))
    with pytest.raises(Forbidden):
        referrals.cancel(session, network.mediator_b, again)
    referrals.cancel(session, network.aidant, again)  # a colleague of the sender
    assert again.status == ReferralStatus.ANNULEE


def test_overdue_referrals_become_not_honoured_after_the_configured_delay(app, session, network, person, places):
    case = person(network_consent=True)
    app.config["MEDIATION_REFERRAL_DELAY_DAYS"] = 10
    try:
        referral = referrals.create_referral(session, network.mediator, case,
                                             referrals.ReferralInput(to_structure_id=network.structure_b.id))
    finally:
        app.config.pop("MEDIATION_REFERRAL_DELAY_DAYS")
    assert referral.due_on == local_today() + timedelta(days=10)
    assert referrals.expire_overdue(session, local_today() + timedelta(days=10)) == 0
    assert referrals.expire_overdue(session, local_today() + timedelta(days=11)) == 1
    assert referral.status == ReferralStatus.NON_HONOREE and referral.automatic_outcome


def test_the_cli_marks_overdue_referrals(app, session, network, person, places):
    case = person(network_consent=True)
    referral = referrals.create_referral(session, network.mediator, case,
                                         referrals.ReferralInput(to_structure_id=network.structure_b.id))
    referral.due_on = local_today() - timedelta(days=1)
    session.flush()
    result = app.test_cli_runner().invoke(args=["pathways", "orientations-echues"])
    assert result.exit_code == 0, result.output
    assert "1 orientation marquée non honorée (délai : 30 jours)" in result.output
    session.refresh(referral)
    assert referral.status == ReferralStatus.NON_HONOREE


def test_lists_in_and_out_per_structure(session, network, person, places):
    case = person(network_consent=True)
    referrals.create_referral(session, network.mediator, case,
                              referrals.ReferralInput(to_structure_id=network.structure_b.id))
    received = session.scalars(referrals.listing(network.mediator_b, direction="recues")).all()
    sent = session.scalars(referrals.listing(network.mediator, direction="envoyees")).all()
    assert len(received) == 1 and len(sent) == 1
    assert session.scalars(referrals.listing(network.mediator, direction="recues")).all() == []
    assert session.scalars(referrals.listing(network.mediator_far, direction="recues")).all() == []
    assert len(session.scalars(referrals.listing(network.coordinator, direction="recues")).all()) == 1
    assert referrals.pending_count(session, network.mediator_b) == 1
    assert session.scalar(sa.select(sa.func.count(StructureNotification.id))) == 1
