"""The partner verification page: paste a URL or upload a baked PNG/SVG, the real validator runs in
its own virtualenv (subprocess), the result is in French, and a verified badge goes into the case.
The validator may reach only loopback in tests: an external badge is served by a small local
server."""

from __future__ import annotations

import hashlib
import io
import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from mediation.badges import documents, services
from mediation.badges.models import ExternalBadge
from mediation.cases.services import live_case
from tests.badges.ob_validator import require_validator

BASE = "https://mediation.example.org"


@pytest.fixture(autouse=True)
def _validator():
    require_validator()


@pytest.fixture
def signed_in(client, login, network):
    login(client, network.mediator)
    return client


def test_our_badge_by_url_is_authentic(session, signed_in, issued, attach_email):
    assertion = attach_email(issued(email="learner@example.org"))
    session.commit()
    page = signed_in.post("/badges/verifier", data={"url": documents.assertion_url(assertion),
                                                    "recipient": "LEARNER@example.org"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Badge authentique et valable." in html
    assert "Prendre en main un ordinateur ou un smartphone" in html
    assert "Le titulaire correspond" in html


def test_wrong_recipient_is_said_in_french(session, signed_in, issued):
    assertion = issued(email="learner@example.org")
    session.commit()
    html = signed_in.post("/badges/verifier", data={"url": documents.assertion_url(assertion),
                                                    "recipient": "autre@example.org"}).get_data(as_text=True)
    assert "Badge non valable." in html and "ne correspond pas" in html


def test_uploaded_baked_png_and_svg(session, signed_in, issued):
    assertion = issued(email="learner@example.org")
    session.commit()
    for ext in ("png", "svg"):
        data = signed_in.get(documents.baked_url(assertion, ext)[len(BASE):]).get_data()
        page = signed_in.post("/badges/verifier", data={"image": (io.BytesIO(data), f"badge.{ext}")},
                              content_type="multipart/form-data")
        assert "Badge authentique et valable." in page.get_data(as_text=True), ext


def test_revoked_badge_is_said_revoked(session, signed_in, issued, network):
    assertion = issued(email="learner@example.org")
    services.revoke(session, network.mediator, assertion, "Délivré par erreur")
    session.commit()
    html = signed_in.post("/badges/verifier", data={"url": documents.assertion_url(assertion)}).get_data(as_text=True)
    assert "Badge révoqué" in html


def test_an_image_without_badge_and_a_bad_url(session, signed_in):
    from mediation.badges.images import _png

    page = signed_in.post("/badges/verifier", data={"image": (io.BytesIO(_png("etape", "x", "y", "z")), "a.png")},
                          content_type="multipart/form-data")
    assert "Badge non valable." in page.get_data(as_text=True)
    page = signed_in.post("/badges/verifier", data={"url": "pas une adresse"})
    assert "doit commencer par https://" in page.get_data(as_text=True)
    page = signed_in.post("/badges/verifier", data={})
    assert "Collez l&#39;adresse du badge" in page.get_data(as_text=True)


@pytest.fixture
def external_badge():
    """An Open Badges issuer on loopback (another origin), serving one assertion."""
    holder = {}

    def app(environ, start_response):
        request = Request(environ)
        entry = holder["docs"].get(holder["base"] + request.path)
        if entry is None:
            return Response("introuvable", 404)(environ, start_response)
        return Response(entry[1], entry[0], content_type=entry[2])(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    salt = "sel"
    ctx = "https://w3id.org/openbadges/v2"
    from mediation.badges.images import _png

    holder["base"] = base
    holder["docs"] = {
        f"{base}/a/1": (200, json.dumps({
            "@context": ctx, "type": "Assertion", "id": f"{base}/a/1", "badge": f"{base}/b/1",
            "recipient": {"type": "email", "hashed": True, "salt": salt,
                          "identity": "sha256$" + hashlib.sha256(("learner@example.org" + salt).encode()).hexdigest()},
            "verification": {"type": "hosted"}, "issuedOn": "2025-03-01T10:00:00Z"}), "application/ld+json"),
        f"{base}/b/1": (200, json.dumps({
            "@context": ctx, "type": "BadgeClass", "id": f"{base}/b/1", "name": "Bureautique débutant",
            "description": "Traitement de texte de base", "image": f"{base}/b/1.png",
            "criteria": {"narrative": "Rédiger une lettre"}, "issuer": f"{base}/i/1"}), "application/ld+json"),
        f"{base}/b/1.png": (200, _png("etape", "Niveau 1", "Bureautique", "Ailleurs"), "image/png"),
        f"{base}/i/1": (200, json.dumps({
            "@context": ctx, "type": "Issuer", "id": f"{base}/i/1", "name": "Association Ailleurs",
            "url": base, "email": "contact@ailleurs.example.net"}), "application/ld+json"),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{base}/a/1"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_external_badge_on_loopback_is_verified_and_imported(session, signed_in, issued, external_badge):
    assertion = issued(email="learner@example.org")
    case = live_case(session, assertion.beneficiary_id)
    session.commit()
    page = signed_in.post(f"/badges/dossiers/{case.id}/verifier", data={"url": external_badge})
    html = page.get_data(as_text=True)
    assert "Badge authentique et valable." in html and "Association Ailleurs" in html
    assert "Ajouter ce badge au dossier" in html
    imported = signed_in.post(f"/badges/dossiers/{case.id}/importer", data={"url": external_badge})
    assert imported.status_code == 302
    row = session.query(ExternalBadge).filter_by(case_id=case.id).one()
    assert row.badge_name == "Bureautique débutant" and row.issuer_name == "Association Ailleurs"
    person = signed_in.get(f"/badges/dossiers/{case.id}").get_data(as_text=True)
    assert "Bureautique débutant" in person
    again = signed_in.post(f"/badges/dossiers/{case.id}/importer", data={"url": external_badge}, follow_redirects=True)
    assert "déjà dans le dossier" in again.get_data(as_text=True)


def test_validator_reaches_only_loopback_in_tests(session, signed_in):
    page = signed_in.post("/badges/verifier", data={"url": "https://badges.example.com/a/1"})
    html = page.get_data(as_text=True)
    assert "Badge non valable." in html and "injoignable" in html


def test_import_refuses_an_invalid_badge(session, signed_in, issued, network):
    assertion = issued(email="learner@example.org")
    case = live_case(session, assertion.beneficiary_id)
    services.revoke(session, network.mediator, assertion, "Erreur")
    session.commit()
    page = signed_in.post(f"/badges/dossiers/{case.id}/importer", data={"url": documents.assertion_url(assertion)},
                          follow_redirects=True)
    assert "Seul un badge vérifié et valable" in page.get_data(as_text=True)
    assert session.query(ExternalBadge).count() == 0
