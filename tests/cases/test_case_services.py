"""Beneficiaries, age bands, consent and the case lifecycle."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from mediation.cases import services
from mediation.cases.enums import CaseState, ConsentScope, TrancheAge
from mediation.cases.models import Beneficiary, Case, tranche_age_for, tranche_age_sql
from mediation.errors import Conflict, DomainError, ValidationFailed
from mediation.types import local_today


@pytest.mark.parametrize(("birth_year", "band"), [
    (2015, TrancheAge.MOINS_DE_DOUZE_ANS), (2014, TrancheAge.DOUZE_DIX_HUIT), (2009, TrancheAge.DOUZE_DIX_HUIT),
    (2007, TrancheAge.DIX_HUIT_VINGT_QUATRE), (2001, TrancheAge.VINGT_CINQ_TRENTE_NEUF),
    (1986, TrancheAge.QUARANTE_CINQUANTE_NEUF), (1966, TrancheAge.SOIXANTE_SOIXANTE_NEUF),
    (1956, TrancheAge.SOIXANTE_DIX_PLUS), (None, TrancheAge.NON_COMMUNIQUE),
])
def test_age_band_is_derived_from_the_birth_year(birth_year, band):
    assert tranche_age_for(birth_year, date(2026, 6, 1)) == band


def test_age_band_sql_matches_python(session, network, make_beneficiary):
    people = [make_beneficiary(birth_year=year) for year in range(1930, 2021, 3)]
    anonymous = Beneficiary(owner_structure_id=network.structure_a.id, anonymous=True,
                            tranche_age=TrancheAge.SOIXANTE_DIX_PLUS)
    unknown = Beneficiary(owner_structure_id=network.structure_a.id, anonymous=True)
    session.add_all([anonymous, unknown])
    session.flush()
    rows = dict(session.execute(sa.select(Beneficiary.id, tranche_age_sql(2026))).all())
    for person in [*people, anonymous, unknown]:
        assert rows[person.id] == person.tranche_age_at(2026).value


def test_beneficiary_validation_and_minimal_data(session, network):
    with pytest.raises(ValidationFailed) as info:
        services.create_beneficiary(session, network.mediator, network.structure_a.id, services.BeneficiaryInput(
            first_name=" ", last_name="", email="x@", phone="12", birth_year=1850))
    assert info.value.errors == {
        "first_name": "Veuillez renseigner un prénom", "last_name": "Veuillez renseigner un nom",
        "email": "Veuillez renseigner une adresse e-mail valide",
        "phone": "Veuillez renseigner un numéro de téléphone valide",
        "birth_year": f"Veuillez renseigner une année de naissance entre 1900 et {local_today().year}",
    }
    person = services.create_beneficiary(session, network.mediator, network.structure_a.id,
                                         services.BeneficiaryInput(first_name="Ana", last_name="Silva"))
    assert person.email is None and person.birth_year is None and person.accompaniments_count == 0
    assert services.live_case(session, person.id).state == CaseState.OPEN


def test_database_refuses_identity_on_anonymous_people(session, network):
    session.add(Beneficiary(owner_structure_id=network.structure_a.id, anonymous=True, first_name="Nom"))
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.flush()


def test_case_transitions(session, network, make_beneficiary):
    person = make_beneficiary()
    case = services.live_case(session, person.id)
    with pytest.raises(DomainError, match="Seul un dossier en pause peut être repris"):
        services.resume_case(session, network.mediator, case)
    with pytest.raises(DomainError, match="Seul un dossier clos peut être rouvert"):
        services.reopen_case(session, network.mediator, case)
    services.pause_case(session, network.mediator, case)
    with pytest.raises(DomainError, match="Veuillez indiquer le motif de clôture"):
        services.close_case(session, network.mediator, case, None)
    services.close_case(session, network.mediator, case, "demenagement")
    assert case.state == CaseState.CLOSED and case.closed_at and case.paused_at is None
    with pytest.raises(DomainError, match="déjà clos"):
        services.close_case(session, network.mediator, case, "autre")
    # A new episode: a new case; the old one cannot be reopened while it is live.
    second = services.open_case_for(session, network.mediator, person, structure_id=network.structure_a.id)
    with pytest.raises(Conflict, match="déjà un dossier en cours"):
        services.open_case_for(session, network.mediator, person, structure_id=network.structure_a.id)
    with pytest.raises(Conflict, match="déjà un autre dossier en cours"):
        services.reopen_case(session, network.mediator, case)
    services.close_case(session, network.mediator, second, "autonomie_atteinte")
    services.reopen_case(session, network.mediator, case)
    assert case.state == CaseState.OPEN and case.closure_reason is None


def test_one_live_case_per_person_in_the_database(session, network, make_beneficiary):
    person = make_beneficiary()
    session.add(Case(beneficiary_id=person.id, structure_id=network.structure_b.id))
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.flush()


def test_stale_case_update_is_refused(session, network, make_beneficiary):
    """Optimistic concurrency: an update made from an outdated copy fails (reassignment relies on it)."""
    case = services.live_case(session, make_beneficiary().id)
    assert case.version == 1
    session.execute(sa.update(Case.__table__).where(Case.id == case.id).values(version=2))
    case.mediator_id = network.mediator_b.id
    with pytest.raises(StaleDataError), session.begin_nested():
        session.flush()


def test_consent_record_and_withdraw(session, network, make_beneficiary):
    person = make_beneficiary()
    consent = services.record_consent(session, network.mediator, person, ConsentScope.RESEAU, network.structure_a.id)
    with pytest.raises(Conflict, match="déjà enregistré"):
        services.record_consent(session, network.mediator, person, "reseau", network.structure_a.id)
    assert consent.withdrawn_at is None
    services.withdraw_consent(session, network.mediator, consent)
    assert consent.withdrawn_at is not None
    with pytest.raises(DomainError, match="déjà été retiré"):
        services.withdraw_consent(session, network.mediator, consent)
    again = services.record_consent(session, network.mediator, person, "reseau", network.structure_a.id)
    assert again.id != consent.id
    with pytest.raises(ValidationFailed, match="portée"):
        services.record_consent(session, network.mediator, person, "partout", network.structure_a.id)
