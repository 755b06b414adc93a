"""Schemathesis against /api/v1/openapi.json, in process (WSGI), with a mediator's token holding every
scope, on a small network in a dedicated SQLite file: no 5xx, and every response conforms to the
document (status code, content type, body schema)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from mediation import create_app
from mediation.auth import services as auth_services
from mediation.auth.models import Role, User
from mediation.directory.models import Commune, StaffMembership, Structure, Territory, TerritoryKind
from mediation.extensions import db

TOKEN: dict[str, str] = {}
MAX_EXAMPLES = 10


@pytest.fixture(scope="module")
def api_schema():
    folder = Path(tempfile.mkdtemp(prefix="mediation-schemathesis-"))
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'api.sqlite3'}",
        "WTF_CSRF_ENABLED": False, "SECRET_KEY": "schemathesis", "MEDIATION_ENV": "test",
        "MEDIATION_PUBLIC_BASE_URL": "https://mediation.example.org", "MEDIATION_OUTBOX_DIR": str(folder / "outbox"),
        "MEDIATION_JOBS_BACKEND": "eager",
    })
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        session = db.session
        territory = Territory(name="Métropole Fuzz", kind=TerritoryKind.METROPOLE)
        commune = Commune(territory=territory, insee_code="76540", name="Rouen", population=110_000,
                          latitude=49.44, longitude=1.09, postal_code="76000")
        structure = Structure(commune=commune, name="France Services Fuzz", address="1 place de la Mairie")
        mediator = User(email="fuzz@test.example", first_name="Fuzz", last_name="Médiateur", role=Role.MEDIATOR,
                        password_hash=auth_services.hash_password("mot-de-passe-fuzz-123"),
                        is_conseiller_numerique=True)
        session.add_all([territory, commune, structure, mediator])
        session.flush()
        session.add(StaffMembership(user=mediator, structure=structure, started_on=date(2024, 1, 1)))
        _, raw = auth_services.create_api_token(session, mediator, "Schemathesis",
                                                sorted(auth_services.API_SCOPES))
        session.commit()
        TOKEN["raw"] = raw
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    with app.app_context():
        db.engine.dispose()


def test_api_conforms_to_its_openapi_document(api_schema):
    """Every operation, ``max_examples`` generated requests each (the pytest plugin of schemathesis
    does not support pytest 9 fixtures yet: the operations are driven through their strategies)."""
    headers = {"Authorization": f"Bearer {TOKEN['raw']}"}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    failures = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def check(case):
            case.call_and_validate(headers=headers, checks=checks)

        try:
            check()
        except Exception as error:  # collect all operations' failures, then fail once
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)
