"""Authorization matrix: every route of the application × every role.

The expectations live in ``tests/authz/matrix_<domain>.py`` modules, each exporting

    ROUTES = {
        "endpoint": {"url": ..., "method": "GET", "expect": {role: status, ...}},
        "other.endpoint": [case, case, ...],   # several cases: in scope / out of scope, GET / POST
    }

A case is a dict with:
- ``url``: a path, or a callable ``url(n)`` receiving the ``network`` fixture (ids in and OUT of
  the user's scope: ``n.structure_far``, ``n.commune_far``, ``n.other_territory``…);
- ``method``: ``GET`` (default) or ``POST``…; every method of every route needs a case;
- ``expect``: the status for each role of :data:`tests.authz.roles.ROLES` (build it with
  :func:`tests.authz.roles.expect`); redirects are not followed (anonymous web → 302);
- optional ``data`` (form fields, dict or ``data(n)``), ``json`` (API body, dict or ``json(n)``),
  ``scopes`` (the API token's scopes, default: all), ``signs_out`` (True if the request ends the
  session: the role signs in again afterwards), ``note``.

Each case runs inside a savepoint rolled back afterwards: a POST that succeeds for one role does
not change what the next case sees. New routes: add a ``matrix_<yourdomain>.py`` module next to
this file (no need to edit this one); a route missing from every table fails
``test_every_route_is_in_the_matrix`` with its name.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import tests.authz as authz_package
from mediation.auth.services import API_SCOPES, create_api_token
from mediation.errors import DomainError
from tests.authz.roles import ROLES

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def load_matrix() -> dict[str, list[dict]]:
    """Every ``matrix_*.py`` module's ROUTES, merged; an endpoint may appear in one module only."""
    merged: dict[str, list[dict]] = {}
    origin: dict[str, str] = {}
    for module_info in pkgutil.iter_modules([str(Path(authz_package.__file__).parent)]):
        if not module_info.name.startswith("matrix_"):
            continue
        module = importlib.import_module(f"tests.authz.{module_info.name}")
        routes = getattr(module, "ROUTES", None)
        if not isinstance(routes, dict):
            raise TypeError(f"tests/authz/{module_info.name}.py must export a dict ROUTES")
        for endpoint, cases in routes.items():
            if endpoint in merged:
                raise ValueError(f"{endpoint} is in both {origin[endpoint]} and {module_info.name}")
            merged[endpoint] = [cases] if isinstance(cases, dict) else list(cases)
            origin[endpoint] = module_info.name
    return merged


MATRIX = load_matrix()
CASES = [(endpoint, case) for endpoint, cases in MATRIX.items() for case in cases]


def _resolve(value, network):
    return value(network) if callable(value) else value


def test_every_route_is_in_the_matrix(app):
    """A route (endpoint × method) nobody wrote an expectation for fails here, by name."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        covered = {case.get("method", "GET").upper() for case in MATRIX.get(rule.endpoint, [])}
        for method in sorted(rule.methods - IGNORED_METHODS):
            if method not in covered:
                missing.append(f"{rule.endpoint} ({method} {rule.rule})")
    assert not missing, (
        "Routes absentes de la matrice d'autorisation (ajoutez-les dans un module "
        "tests/authz/matrix_<domaine>.py) :\n  " + "\n  ".join(missing)
    )


def test_the_matrix_names_only_existing_routes_and_every_role(app, network):
    """No stale entry, every case reaches the endpoint it claims, every role has a status."""
    adapter = app.url_map.bind("localhost")
    problems = []
    for endpoint, case in CASES:
        if endpoint not in app.view_functions:
            problems.append(f"{endpoint}: no such endpoint in app.url_map (route removed or renamed?)")
            continue
        method = case.get("method", "GET").upper()
        path = _resolve(case["url"], network).split("?", 1)[0]
        try:
            matched, _ = adapter.match(path, method=method)
        except Exception as error:  # noqa: BLE001 — report every bad case at once
            problems.append(f"{endpoint}: {method} {path} does not match any route ({error})")
            continue
        if matched != endpoint:
            problems.append(f"{endpoint}: {method} {path} is routed to {matched}")
        roles = set(case.get("expect", {}))
        if roles != set(ROLES):
            problems.append(f"{endpoint} {method} {path}: expectations for {sorted(roles)}, "
                            f"need exactly {list(ROLES)}")
    assert not problems, "\n".join(problems)


def _users(network) -> dict:
    return {
        "admin": network.admin,
        "coordinator": network.coordinator,
        "mediator": network.mediator,
        "aidant": network.aidant,
        "funder": network.funder,
    }


def _api_token(session, user, scopes) -> str | None:
    """A personal token of ``user`` with ``scopes``; None when the role may not hold one."""
    if user is None:
        return None
    try:
        _, raw = create_api_token(session, user, "Matrice d'autorisation", list(scopes))
    except DomainError:
        return None
    return raw


@pytest.mark.parametrize("role", ROLES)
def test_routes_answer_each_role_as_the_matrix_says(role, app, client, session, network, login):
    """One sign-in per role, then every case of the matrix; all mismatches are reported at once."""
    user = _users(network).get(role)
    if user is not None:
        login(client, user)
    connection = session.get_bind()
    tokens: dict[tuple, str | None] = {}
    failures = []
    for endpoint, case in CASES:
        method = case.get("method", "GET").upper()
        url = _resolve(case["url"], network)
        data = _resolve(case.get("data"), network)
        json = _resolve(case.get("json"), network)
        expected = case["expect"][role]
        headers = {}
        if url.startswith("/api/"):
            scopes = tuple(case.get("scopes") or sorted(API_SCOPES))
            if scopes not in tokens:
                tokens[scopes] = _api_token(session, user, scopes)
            if tokens[scopes]:
                headers["Authorization"] = f"Bearer {tokens[scopes]}"
        session.commit()  # releases the test's SAVEPOINT only; the test's transaction stays open
        # The request runs in its own app context (its own database session) inside a SAVEPOINT
        # rolled back afterwards: whatever it changes, the next case sees the same network.
        savepoint = connection.begin_nested()
        try:
            with app.app_context():
                response = client.open(url, method=method, headers=headers, data=data, json=json)
            status = response.status_code
            location = response.headers.get("Location", "")
        finally:
            savepoint.rollback()
        if status != expected:
            where = f" → {location}" if location else ""
            note = f" ({case['note']})" if case.get("note") else ""
            failures.append(f"{method} {url} [{endpoint}]{note}: expected {expected}, got {status}{where}")
        if case.get("signs_out") and user is not None:
            login(client, user)
    assert not failures, f"Rôle « {role} » :\n  " + "\n  ".join(failures)
