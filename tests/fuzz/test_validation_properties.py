"""Property-based tests (hypothesis) on the services' validation: arbitrary input never raises anything
but a DomainError (ValidationFailed, …), and nothing is written when it is refused."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediation.audit.models import AuditEvent
from mediation.auth import services as auth_services
from mediation.auth.models import ApiToken
from mediation.cases import activities
from mediation.cases.activities import ActivityInput
from mediation.cases.enums import ActivityType
from mediation.cases.models import Activity
from mediation.directory import services as directory
from mediation.directory.models import Structure
from mediation.errors import DomainError
from mediation.types import local_today

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
anything = st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats(allow_nan=True),
                     st.booleans(), st.lists(st.text(max_size=10), max_size=3))


def counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(sa.select(sa.func.count()).select_from(model))
                 for model in (Activity, Structure, ApiToken, AuditEvent))


@FUZZ
@given(value=anything)
def test_siret_and_insee_cleaning_accept_or_refuse_in_french(value):
    for clean in (directory.clean_siret, directory.clean_insee_code, directory.clean_postal_code,
                  directory.clean_population, directory.clean_phone, directory.clean_emails):
        try:
            clean(value)
        except directory.FieldError as error:  # per-field French message, gathered into ValidationFailed
            assert str(error)[0].isupper()


@FUZZ
@given(siret=st.from_regex(r"\d{14}", fullmatch=True))
def test_siret_accepted_only_with_a_valid_luhn_key(siret):
    if set(siret) == {"0"}:  # the national schema's placeholder for "unknown"
        assert directory.clean_siret(siret) is None
        return
    try:
        assert directory.clean_siret(siret) == siret and directory.siret_is_valid(siret)
    except directory.FieldError:
        assert not directory.siret_is_valid(siret)


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["name", "siret", "rna", "address", "postal_code", "phone",
                                             "emails", "website", "latitude", "longitude", "typologies"]),
                            anything, max_size=8))
def test_structure_creation_refuses_bad_input_without_writing(session, network, data):
    before = counts(session)
    try:
        with session.begin_nested():
            directory.create_structure(session, network.admin, network.commune_a, data)
    except DomainError:
        assert counts(session) == before


@FUZZ
@given(scopes=st.lists(st.one_of(st.sampled_from(sorted(auth_services.API_SCOPES)), st.text(max_size=20)),
                       max_size=4),
       name=st.text(max_size=300))
def test_api_token_scopes_outside_the_role_are_refused_without_writing(session, network, scopes, name):
    before = counts(session)
    try:
        with session.begin_nested():
            auth_services.create_api_token(session, network.funder, name, scopes)
    except DomainError:
        assert counts(session) == before
    else:
        assert set(scopes) <= {"indicators:read"} and scopes  # funders: aggregated indicators only


@FUZZ
@given(kind=st.sampled_from(list(ActivityType)), day=st.one_of(st.none(), st.dates()),
       duration=st.one_of(st.none(), st.integers(-10**6, 10**6)),
       place=st.one_of(st.none(), st.text(max_size=15), st.sampled_from(["lieu_activite", "domicile", "distance"])),
       themes=st.lists(st.text(max_size=20), max_size=3), materiel=st.lists(st.text(max_size=12), max_size=2),
       autonomie=st.one_of(st.none(), st.text(max_size=12)), structure=st.one_of(st.none(), st.integers(-5, 10**6)),
       beneficiary=st.one_of(st.none(), st.integers(-5, 10**6)), notes=st.one_of(st.none(), st.text(max_size=50)),
       equipment=st.one_of(st.none(), st.integers(-100, 10**6)))
def test_activity_validation_refuses_bad_input_without_writing(session, network, kind, day, duration, place,
                                                                themes, materiel, autonomie, structure,
                                                                beneficiary, notes, equipment):
    data = ActivityInput(type=kind, structure_id=structure, date=day, duration_min=duration, place_type=place,
                         place_structure_id=structure, thematiques=themes, materiel=materiel,
                         autonomie=autonomie, beneficiary_id=beneficiary, notes=notes,
                         equipment_count=equipment)
    before = counts(session)
    try:
        with session.begin_nested():
            activity = activities.log_activity(session, network.mediator, data, visible_beneficiary=lambda _id: None)
    except DomainError as error:
        assert error.message
        assert counts(session) == before
    else:  # accepted: a real activity of the mediator's own structure, dated no later than today
        assert activity.structure_id == network.structure_a.id and activity.date <= local_today()
