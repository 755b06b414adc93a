"""Duplicates: normalisation, ≥2 of 4 criteria (fuzzy names: pg_trgm on PostgreSQL, its Python copy
elsewhere), scope, merge that moves everything and recomputes counts, undo within 30 days."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.cases import duplicates, services
from mediation.cases.activities import AnonymousCounters
from mediation.cases.enums import ActivityType, CaseState, ConsentScope, Genre
from mediation.cases.exchange_models import BeneficiaryMerge
from mediation.cases.models import Activity, Beneficiary, Case, Consent, Participation
from mediation.errors import DomainError
from mediation.stats import rollups
from tests.conftest import is_postgres

ANCIENT = "2024-01-10"


def test_normalisation():
    assert duplicates.normalise_name("  Jean-Édouard d'Ormesson ") == "jeanedouarddormesson"
    assert duplicates.normalise_name("ŒUVRE Çà") == "oeuvreca"
    assert duplicates.normalise_phone("+33 6 12 34 56 78") == "0612345678"
    assert duplicates.normalise_phone("06.12.34.56.78") == "0612345678"
    assert duplicates.normalise_phone("0033612345678") == "0612345678"
    assert duplicates.normalise_email("  Jeanne@Example.ORG ") == "jeanne@example.org"


def pairs_of(session, user):
    return {(p.first_id, p.second_id): p for p in duplicates.find_duplicate_pairs(session, user)}


def test_two_of_four_criteria_in_the_mediators_structures(session, network, make_beneficiary, make_user):
    a = make_beneficiary(first_name="Jeanne", last_name="Martin", phone="06 12 34 56 78")
    b = make_beneficiary(first_name="JEANNE", last_name="Mar-tin")  # nom + prénom, after normalisation
    c = make_beneficiary(first_name="Paul", last_name="Durand", phone="+33612345678",
                         email="p.durand@example.org")
    d = make_beneficiary(first_name="Pauline", last_name="Autre", email=" P.Durand@Example.org")
    lone = make_beneficiary(first_name="Jeanne", last_name="Solitaire")  # prénom only: not a pair
    far = make_beneficiary(structure=network.structure_far, actor=network.mediator_far, first_name="Jeanne",
                           last_name="Martin", phone="0612345678")
    pairs = pairs_of(session, network.mediator)
    assert set(pairs[(a.id, b.id)].criteria) == {"nom", "prenom"}
    assert (a.id, c.id) not in pairs  # the phone alone is not enough
    assert set(pairs[(c.id, d.id)].criteria) >= {"email"}
    assert not [k for k in pairs if lone.id in k or far.id in k]
    # A mediator of both structures sees pairs across them.
    both = make_user(structures=[network.structure_a, network.structure_far])
    assert (a.id, far.id) in pairs_of(session, both)
    # Anonymised or merged records never appear.
    services.update_beneficiary(session, network.mediator, b, services.BeneficiaryInput(
        first_name="Jeanne", last_name="Martin"))
    b.deleted_at = b.created_at
    session.flush()
    assert (a.id, b.id) not in pairs_of(session, network.mediator)


def test_fuzzy_names(session, network, make_beneficiary):
    a = make_beneficiary(first_name="Jean", last_name="Dupont")
    b = make_beneficiary(first_name="Jeanne", last_name="Dupond")
    c = make_beneficiary(first_name="Li", last_name="Wu")
    d = make_beneficiary(first_name="Lo", last_name="Wa")
    pairs = pairs_of(session, network.mediator)
    pair = pairs[(a.id, b.id)]
    assert pair.criteria == ["nom", "prenom"] and pair.fuzzy == ["nom", "prenom"]
    assert pair.criteria_labels == ["Nom (approchant)", "Prénom (approchant)"]
    assert (c.id, d.id) not in pairs
    assert duplicates.fuzzy_backend(session) == ("pg_trgm" if is_postgres() else "python")


@pytest.mark.postgres_only
@pytest.mark.skipif(not is_postgres(), reason="pg_trgm is PostgreSQL's")
def test_pg_trgm_is_installed_and_the_python_copy_agrees(session):
    couples = [("dupont", "dupond"), ("jean", "jeanne"), ("paul", "pauline"), ("li", "lo"), ("martin", "martinez"),
               ("lefebvre", "lefevre"), ("nguyen", "nguyenvan"), ("a", "b"), ("x2", "x22"), ("oeuvre", "euvre")]
    database = duplicates._similarities(session, "pg_trgm", couples)
    python = [duplicates.trigram_similarity(a, b) for a, b in couples]
    assert python == pytest.approx(database, abs=1e-6)


def test_blocking_never_compares_everyone(session, network, make_beneficiary):
    people = [duplicates._Person(i, f"nom{i:04d}", f"pre{i:04d}", "", "") for i in range(2000)]
    candidates = duplicates._candidate_pairs(people)
    assert len(candidates) < 2000 * 1999 / 2 / 2  # far from n²: oversized name blocks are split


@pytest.fixture
def two_records(session, network, make_beneficiary, log_activity):
    """Destination and source of the same person, with a shared workshop, their own sessions, a
    consent and a case each."""
    keep = make_beneficiary(first_name="Jeanne", last_name="Martin", phone="0612345678")
    other = make_beneficiary(first_name="Jeanne", last_name="Martin", email="jeanne@example.org", birth_year=1960,
                             genre=Genre.FEMININ.value, notes="Source")
    services.record_consent(session, network.mediator, other, ConsentScope.STRUCTURE, network.structure_a.id)
    shared = log_activity(type=ActivityType.COLLECTIF, participant_ids=[keep.id, other.id],
                          counters=AnonymousCounters(total=1))
    old_other = log_activity(beneficiary_id=other.id, date=shared.date - timedelta(days=30))
    keep_own = log_activity(beneficiary_id=keep.id)
    return keep, other, shared, old_other, keep_own


def participation_ids(session, beneficiary):
    return set(session.scalars(sa.select(Participation.id).where(Participation.beneficiary_id == beneficiary.id)))


def test_merge_keeps_the_best_values_and_moves_everything(session, network, two_records):
    keep, other, shared, old_other, keep_own = two_records
    other_case = services.live_case(session, other.id)
    merge = duplicates.merge_beneficiaries(session, network.mediator, keep, other)
    session.expire_all()
    assert (keep.phone, keep.email, keep.birth_year, keep.genre, keep.notes) == (
        "0612345678", "jeanne@example.org", 1960, Genre.FEMININ, "Source")
    assert other.deleted_at is not None and other.merged_into_id == keep.id
    assert participation_ids(session, other) == set()
    # One accompaniment in the shared workshop (the duplicate was dropped), plus both sessions.
    assert keep.accompaniments_count == 3 and shared.participants_count == 2
    firsts = session.scalars(sa.select(Participation).where(Participation.beneficiary_id == keep.id,
                                                            Participation.first_accompaniment)).all()
    assert [p.activity_id for p in firsts] == [old_other.id]  # the earliest, moved from the source
    assert other_case.beneficiary_id == keep.id and other_case.state == CaseState.CLOSED  # keep had a live case
    assert session.scalar(sa.select(Consent.beneficiary_id)) == keep.id
    assert set(merge.filled_fields) == {"email", "birth_year", "genre", "notes"}
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "beneficiary.merged"))
    assert event.details["source_id"] == other.id and "Jeanne" not in json.dumps(event.details)
    assert "jeanne@example.org" not in json.dumps(event.details)


def test_undo_restores_both_records(session, network, two_records):
    keep, other, shared, old_other, keep_own = two_records
    before_keep, before_other = participation_ids(session, keep), participation_ids(session, other)
    other_case = services.live_case(session, other.id)
    merge = duplicates.merge_beneficiaries(session, network.mediator, keep, other)
    keep.statut_social = "retraite"  # edited after the merge: kept by the undo
    session.flush()
    duplicates.undo_merge(session, network.mediator, merge)
    session.expire_all()
    assert other.deleted_at is None and other.merged_into_id is None
    assert (keep.email, keep.birth_year, keep.genre, keep.notes) == (None, None, None, None)
    assert keep.statut_social.value == "retraite"
    assert participation_ids(session, keep) == before_keep
    after_other = participation_ids(session, other)
    assert len(after_other) == len(before_other) and shared.participants_count == 3
    assert (keep.accompaniments_count, other.accompaniments_count) == (2, 2)
    assert other_case.beneficiary_id == other.id and other_case.state == CaseState.OPEN
    assert session.scalar(sa.select(Consent.beneficiary_id)) == other.id
    assert merge.undone_at is not None
    assert rollups.differences(session) == {}  # the dashboard's rollups follow merge and undo
    with pytest.raises(DomainError, match="déjà été annulée"):
        duplicates.undo_merge(session, network.mediator, merge)


def test_undo_is_refused_after_thirty_days(session, network, two_records):
    keep, other, *_ = two_records
    merge = duplicates.merge_beneficiaries(session, network.mediator, keep, other)
    merge.merged_at = merge.merged_at - timedelta(days=31)
    session.flush()
    with pytest.raises(DomainError, match="plus de 30 jours"):
        duplicates.undo_merge(session, network.mediator, merge)


def test_merge_refuses_anonymous_and_same_record(session, network, make_beneficiary, log_activity):
    person = make_beneficiary()
    anonymous = log_activity().participations[0].beneficiary
    with pytest.raises(DomainError, match="anonyme"):
        duplicates.merge_beneficiaries(session, network.mediator, person, anonymous)
    with pytest.raises(DomainError, match="deux fiches différentes"):
        duplicates.merge_beneficiaries(session, network.mediator, person, person)


def test_pages_list_merge_and_undo(client, login, network, session, two_records, make_beneficiary):
    keep, other, *_ = two_records
    far = make_beneficiary(structure=network.structure_far, actor=network.mediator_far, first_name="Jeanne",
                           last_name="Martin")
    login(client, network.mediator)
    page = client.get("/echanges/doublons").get_data(as_text=True)
    assert "1 paire de fiches" in page and f"/echanges/doublons/{keep.id}/{other.id}" in page
    page = client.get(f"/echanges/doublons/{keep.id}/{other.id}").get_data(as_text=True)
    assert "Fiche à conserver" in page and "jeanne@example.org" in page
    assert client.get(f"/echanges/doublons/{keep.id}/{far.id}").status_code == 404  # another structure's
    response = client.post(f"/echanges/doublons/{keep.id}/{other.id}", data={"keep": str(keep.id)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/echanges/fusions")
    page = client.get("/echanges/fusions").get_data(as_text=True)
    assert "Annuler la fusion" in page
    merge = session.scalar(sa.select(BeneficiaryMerge))
    assert merge.destination_id == keep.id
    # Another structure's mediator cannot undo it.
    other_client = client.application.test_client()
    login(other_client, network.mediator_far)
    assert other_client.post(f"/echanges/fusions/{merge.id}/annuler").status_code == 404
    response = client.post(f"/echanges/fusions/{merge.id}/annuler")
    assert response.status_code == 302
    session.expire_all()
    assert merge.undone_at is not None
    assert session.get(Beneficiary, other.id).deleted_at is None
    assert "Annulée le" in client.get("/echanges/fusions").get_data(as_text=True)


def test_merged_record_counts_stay_exact(session, network, two_records):
    """Statistics count accompaniments: the dropped duplicate disappears from the counts, nothing else."""
    keep, other, shared, *_ = two_records
    total = sa.select(sa.func.count(Participation.id)).join(Activity).where(Activity.deleted_at.is_(None))
    before = session.scalar(total)
    merge = duplicates.merge_beneficiaries(session, network.mediator, keep, other)
    assert session.scalar(total) == before - 1
    duplicates.undo_merge(session, network.mediator, merge)
    assert session.scalar(total) == before
    assert session.scalar(sa.select(sa.func.count(Case.id)).where(Case.beneficiary_id == other.id)) == 1
