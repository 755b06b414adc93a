"""Retention: inactive beneficiaries whose cases are closed are anonymised after the delay; the
participations and activities stay, so that every aggregate count is exactly the same."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.cases import retention, services
from mediation.cases.activities import AnonymousCounters
from mediation.cases.enums import ActivityType, ClosureReason, Genre
from mediation.cases.models import Activity, Beneficiary, Case, CaseNote, Participation, tranche_age_sql
from mediation.stats import rollups
from mediation.types import local_today, utcnow

LONG_AGO = local_today() - timedelta(days=3 * 365)
RECENTLY = local_today() - timedelta(days=120)


def statistics(session) -> dict:
    """The aggregates the statistics pages count (unit: the accompaniment)."""
    year = local_today().year
    base = (sa.select(Participation.id).join(Activity, Activity.id == Participation.activity_id)
            .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id).where(Activity.deleted_at.is_(None)))

    def grouped(column):
        query = base.with_only_columns(column, sa.func.count(sa.distinct(Beneficiary.id))).group_by(column)
        return sorted((str(k), n) for k, n in session.execute(query))

    return {
        "accompagnements": session.scalar(sa.select(sa.func.count()).select_from(base.subquery())),
        "beneficiaires": session.scalar(base.with_only_columns(sa.func.count(sa.distinct(Beneficiary.id)))),
        "nouveaux": session.scalar(base.with_only_columns(sa.func.count()).where(Participation.first_accompaniment)),
        "genre": grouped(Beneficiary.genre),
        "age": grouped(tranche_age_sql(year)),
        "statut": grouped(Beneficiary.statut_social),
        "commune": grouped(Beneficiary.residence_commune_id),
        "par_activite": sorted(session.execute(sa.select(Activity.id, Activity.participants_count)).all()),
        "comptes": session.scalar(sa.select(sa.func.sum(Beneficiary.accompaniments_count))),
    }


def age(session, beneficiary, days: int):
    moment = utcnow() - timedelta(days=days)
    session.execute(sa.update(Beneficiary).where(Beneficiary.id == beneficiary.id).values(created_at=moment))
    session.execute(sa.update(Case).where(Case.beneficiary_id == beneficiary.id, Case.closed_at.is_not(None))
                    .values(closed_at=moment))
    session.expire_all()


@pytest.fixture
def population(session, network, make_beneficiary, log_activity):
    def close(person):
        services.close_case(session, network.mediator, services.live_case(session, person.id),
                            ClosureReason.AUTONOMIE_ATTEINTE)

    gone = make_beneficiary(first_name="Ancien", last_name="Usager", birth_year=1950, phone="0611111111",
                            email="ancien@example.org", genre=Genre.MASCULIN.value, statut_social="retraite",
                            residence_commune_id=network.commune_a.id, notes="Notes privées")
    services.add_case_note(session, network.mediator, services.live_case(session, gone.id), "Note de dossier")
    log_activity(beneficiary_id=gone.id, date=LONG_AGO, notes="Séance avec lui")
    log_activity(type=ActivityType.COLLECTIF, date=LONG_AGO, participant_ids=[gone.id],
                 counters=AnonymousCounters(total=2), notes="Notes d'atelier")
    close(gone)
    back = make_beneficiary(first_name="Revenue", last_name="Récemment", birth_year=1990)
    log_activity(beneficiary_id=back.id, date=LONG_AGO)
    log_activity(beneficiary_id=back.id, date=RECENTLY)
    close(back)
    still_open = make_beneficiary(first_name="Dossier", last_name="Ouvert")
    log_activity(beneficiary_id=still_open.id, date=LONG_AGO)
    never_seen = make_beneficiary(first_name="Jamais", last_name="Vu", birth_year=2001)
    close(never_seen)
    for person, days in ((gone, 900), (back, 900), (still_open, 900), (never_seen, 800)):
        age(session, person, days)
    return gone, back, still_open, never_seen


def test_due_beneficiaries(session, population):
    gone, back, still_open, never_seen = population
    due = set(session.scalars(retention.due_for_anonymisation(24)))
    assert gone.id in due and never_seen.id in due
    assert back.id not in due and still_open.id not in due
    assert never_seen.id not in set(session.scalars(retention.due_for_anonymisation(36)))


def test_a_recently_merged_record_waits_for_the_end_of_the_undo_window(session, network, make_beneficiary):
    from mediation.cases import duplicates

    kept = make_beneficiary(first_name="Gardée", last_name="Fusion")
    merged = make_beneficiary(first_name="Partie", last_name="Fusion")
    services.close_case(session, network.mediator, services.live_case(session, merged.id), ClosureReason.AUTRE)
    age(session, merged, 900)
    assert merged.id in set(session.scalars(retention.due_for_anonymisation(24)))
    merge = duplicates.merge_beneficiaries(session, network.mediator, session.get(Beneficiary, kept.id),
                                           session.get(Beneficiary, merged.id))
    assert merged.id not in set(session.scalars(retention.due_for_anonymisation(24)))
    within_undo = utcnow() + timedelta(days=20)  # even with a one-month delay
    assert merged.id not in set(session.scalars(retention.due_for_anonymisation(1, now=within_undo)))
    assert merge.source_id == merged.id
    much_later = utcnow() + timedelta(days=2 * 365 + 40)
    assert merged.id in set(session.scalars(retention.due_for_anonymisation(24, now=much_later)))


def test_anonymisation_keeps_every_count_exact(session, network, population):
    gone, back, *_ = population
    before = statistics(session)
    report = retention.run_retention(session, months=24, apply=True)
    assert report.anonymised == 2 and report.case_notes_erased == 1 and report.activity_notes_erased == 1
    assert statistics(session) == before
    assert rollups.differences(session) == {}  # and so do the dashboard's rollups
    gone = session.get(Beneficiary, gone.id)
    assert gone.anonymous and (gone.first_name, gone.last_name, gone.phone, gone.email, gone.birth_year,
                               gone.notes) == (None,) * 6
    assert gone.genre == Genre.MASCULIN and gone.residence_commune_id == network.commune_a.id
    assert gone.tranche_age.value == "soixante_dix_plus" and gone.accompaniments_count == 2
    assert session.scalar(sa.select(sa.func.count(CaseNote.id))) == 0
    notes = set(session.scalars(sa.select(Activity.notes).where(Activity.notes.is_not(None))))
    assert notes == {"Notes d'atelier"}  # the individual session's notes are erased, the workshop's stay
    assert session.get(Beneficiary, back.id).anonymous is False
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action.in_(
        ["beneficiary.anonymised", "retention.run"]))).all()
    assert len(events) == 3
    text = json.dumps([e.details for e in events])
    for secret in ("Ancien", "Usager", "ancien@example.org", "0611111111", "1950", "Notes"):
        assert secret not in text
    assert retention.run_retention(session, months=24, apply=False).due == 0  # done once


def test_cli_dry_run_then_apply(app, session, population):
    gone = population[0]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2 bénéficiaire(s) seraient anonymisé(s)" in result.output
    assert session.get(Beneficiary, gone.id).anonymous is False
    app.config["MEDIATION_RETENTION_MONTHS"] = 36
    try:
        result = runner.invoke(args=["retention", "--apply"])
    finally:
        app.config.pop("MEDIATION_RETENTION_MONTHS")
    assert "Délai : 36 mois" in result.output and "0 bénéficiaire(s) anonymisé(s)" in result.output
    result = runner.invoke(args=["retention", "--apply", "--months", "24"])
    assert "2 bénéficiaire(s) anonymisé(s)" in result.output
    session.expire_all()
    assert session.get(Beneficiary, gone.id).anonymous is True


def test_admin_runs_it_as_a_job(client, login, network, session, population, eager):
    login(client, network.admin)
    page = client.get("/echanges/conservation").get_data(as_text=True)
    assert "Bénéficiaires à anonymiser" in page and "Anonymiser maintenant" in page
    page = client.post("/echanges/conservation").get_data(as_text=True)
    assert "Cochez la case pour confirmer" in page  # nothing happens without the confirmation
    assert session.get(Beneficiary, population[0].id).anonymous is False
    response = client.post("/echanges/conservation", data={"confirm": "y"})
    assert response.status_code == 302 and "/taches/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Terminée" in page and "Bénéficiaires anonymisés</dt><dd>2<" in page
    assert session.get(Beneficiary, population[0].id).anonymous is True


def test_months_before_clamps_to_the_month_end():
    from datetime import datetime

    assert retention.months_before(datetime(2026, 3, 31), 1) == datetime(2026, 2, 28)
    assert retention.months_before(datetime(2026, 1, 15), 24) == datetime(2024, 1, 15)
