"""Open Badges 2.0 documents served by the app: fields, ids from the public base URL, content
type, hashing of the normalised e-mail, revocation (410 stub, baked image gone, revocation list),
endorsements, and the badge images."""

from __future__ import annotations

import hashlib
import json

from mediation.badges import baking, documents, services
from mediation.badges.models import RecipientType
from tests.badges.conftest import BASE


def get_json(client, url, status=200, **kwargs):
    response = client.get(url.replace(BASE, ""), **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response, json.loads(response.get_data(as_text=True))


def test_assertion_class_and_issuer_documents(session, client, issued, network):
    assertion = issued(email="  Jeanne.Badge@Example.ORG ")
    response, doc = get_json(client, documents.assertion_url(assertion))
    assert response.mimetype == "application/ld+json"
    assert doc["@context"] == "https://w3id.org/openbadges/v2"
    assert doc["type"] == "Assertion"
    assert doc["id"] == f"{BASE}/ob/assertions/{assertion.uid}"
    assert doc["verification"] == {"type": "hosted"}
    assert doc["issuedOn"].endswith("Z")
    recipient = doc["recipient"]
    # The person's opaque wallet URL, not their e-mail (attached only when they ask: test_identity.py).
    assert recipient["type"] == "url" and recipient["hashed"] is True
    identity = documents.wallet_identity_url(services.wallet_for(session, assertion.beneficiary).uid)
    expected = "sha256$" + hashlib.sha256((identity + recipient["salt"]).encode()).hexdigest()
    assert recipient["identity"] == expected
    email_hash = "sha256$" + hashlib.sha256(("jeanne.badge@example.org" + recipient["salt"]).encode()).hexdigest()
    assert email_hash not in json.dumps(doc)
    assert "Jeanne" not in json.dumps(doc) and "example.org" not in recipient["identity"]
    assert "France Services A" in doc["evidence"][0]["narrative"]
    assert doc["image"] == f"{BASE}/ob/assertions/{assertion.uid}/badge.png"

    _, badge = get_json(client, doc["badge"])
    assert badge["id"] == doc["badge"] and badge["type"] == "BadgeClass"
    assert badge["name"] == "Prendre en main un ordinateur ou un smartphone"
    assert badge["criteria"]["narrative"]
    assert {a["targetFramework"] for a in badge["alignment"]} == {"Pix", "DigComp 2.2"}
    digcomp = next(a for a in badge["alignment"] if a["targetFramework"] == "DigComp 2.2")
    assert digcomp["targetCode"] == "5.1" and digcomp["targetName"] == "Solving technical problems"
    assert "Pix 5.2" in badge["tags"]
    assert badge["image"].startswith(BASE)

    _, issuer = get_json(client, badge["issuer"])
    assert issuer["type"] == "Issuer" and issuer["id"] == badge["issuer"]
    assert issuer["email"] and issuer["url"]
    assert "Métropole Test" in issuer["name"]
    assert issuer["revocationList"] == f"{badge['issuer']}/revocations"


def test_ids_come_from_the_configured_base_never_the_request_host(app, client, issued):
    assertion = issued(email="a@example.org")
    _, doc = get_json(client, documents.assertion_url(assertion), base_url="http://evil.example.net")
    assert doc["id"].startswith(BASE)
    assert doc["badge"].startswith(BASE)


def test_plain_json_when_only_json_is_accepted(client, issued):
    assertion = issued(email="a@example.org")
    response, _ = get_json(client, documents.assertion_url(assertion), headers={"Accept": "application/json"})
    assert response.mimetype == "application/json"


def test_recipient_identity_is_the_wallet_never_the_phone(session, issued):
    by_phone = issued(phone="06 12 34 56 78")
    assert by_phone.recipient_type == RecipientType.URL
    assert by_phone.identity_hash != documents.hash_identity("+33612345678", by_phone.salt)
    wallet = services.wallet_for(session, by_phone.beneficiary)
    assert by_phone.identity_hash == documents.hash_identity(documents.wallet_identity_url(wallet.uid), by_phone.salt)
    nothing = issued(first_name="Sans", last_name="Contact")
    assert nothing.recipient_type == RecipientType.URL
    wallet = services.wallet_for(session, nothing.beneficiary)
    assert nothing.identity_hash == documents.hash_identity(documents.wallet_identity_url(wallet.uid), nothing.salt)
    assert not services.recipient_matches(by_phone, "+33 6 12 34 56 78")
    assert services.recipient_matches(by_phone, documents.wallet_identity_url(
        services.wallet_for(session, by_phone.beneficiary).uid))


def test_salts_differ_per_assertion(session, enrolled, steps, validate):
    enrolment = enrolled(email="same@example.org")
    validate(enrolment, steps[0])
    validate(enrolment, steps[1])
    found = services.assertions_of(session, enrolment.case.beneficiary_id)
    # two steps, and the level they complete
    assert sorted(a.badge_class.kind.value for a in found) == ["etape", "etape", "niveau"]
    assert len({a.salt for a in found}) == 3 and len({a.identity_hash for a in found}) == 3


def test_revoked_assertion_answers_410_stub_and_image_is_gone(session, client, issued, network):
    assertion = issued(email="a@example.org")
    png = client.get(documents.baked_url(assertion).replace(BASE, ""))
    assert png.status_code == 200 and png.mimetype == "image/png"
    services.revoke(session, network.mediator, assertion, "Délivré par erreur")
    session.commit()  # releases the test's savepoint: a 4xx response rolls back what is not committed
    response, stub = get_json(client, documents.assertion_url(assertion), status=410)
    assert response.mimetype == "application/ld+json"
    assert stub == {"@context": documents.CONTEXT, "type": "Assertion", "id": documents.assertion_url(assertion),
                    "revoked": True, "revocationReason": "Délivré par erreur"}
    assert client.get(documents.baked_url(assertion).replace(BASE, "")).status_code == 410
    assert client.get(documents.baked_url(assertion, "svg").replace(BASE, "")).status_code == 410


def test_revocation_list_with_a_single_entry_is_a_list(session, client, issued, network):
    """The validator mishandles one-entry lists (JSON-LD compaction): our own test of the list."""
    assertion = issued(email="a@example.org")
    issuer_url = documents.issuer_url(assertion.badge_class.issuer)
    _, empty = get_json(client, issuer_url + "/revocations")
    assert empty["revokedAssertions"] == []
    services.revoke(session, network.mediator, assertion, "Erreur de saisie")
    _, listing = get_json(client, issuer_url + "/revocations")
    assert listing["type"] == "RevocationList" and listing["issuer"] == issuer_url
    assert isinstance(listing["revokedAssertions"], list)
    assert listing["revokedAssertions"] == [{"id": documents.assertion_url(assertion),
                                             "revocationReason": "Erreur de saisie"}]


def test_endorsement_document_and_link_from_the_class(session, client, issued, network):
    assertion = issued(email="a@example.org")
    endorsement = services.endorse(session, network.coordinator, assertion.badge_class, network.structure_b,
                                   "Reconnu pour nos ateliers")
    _, badge = get_json(client, documents.badge_class_url(assertion.badge_class))
    assert badge["endorsement"] == [documents.endorsement_url(endorsement)]
    _, doc = get_json(client, badge["endorsement"][0])
    assert doc["type"] == "Endorsement" and doc["claim"]["id"] == badge["id"]
    assert doc["claim"]["endorsementComment"] == "Reconnu pour nos ateliers"
    _, endorser = get_json(client, doc["issuer"])
    assert endorser["name"] == "Médiathèque B" and endorser["email"] and endorser["url"]


def test_baked_png_and_svg_round_trip(client, issued):
    assertion = issued(email="a@example.org")
    png = client.get(documents.baked_url(assertion).replace(BASE, "")).get_data()
    baked = json.loads(baking.unbake_png(png))
    assert baked["id"] == documents.assertion_url(assertion)
    chunks = png.count(b"iTXtopenbadges\x00\x00\x00")
    assert chunks == 1
    svg = client.get(documents.baked_url(assertion, "svg").replace(BASE, "")).get_data()
    assert b'xmlns:openbadges="http://openbadges.org"' in svg
    assert json.loads(baking.unbake_svg(svg))["id"] == documents.assertion_url(assertion)
    assert b"<title" in svg and b"<desc" in svg


def test_baking_twice_keeps_one_chunk():
    from mediation.badges.images import _png

    png = _png("etape", "Niveau 1 · Étape", "Essai", "Réseau")
    once = baking.bake_png(png, '{"id": "a"}')
    twice = baking.bake_png(once, '{"id": "b"}')
    assert twice.count(b"openbadges") == 1 and json.loads(baking.unbake_png(twice)) == {"id": "b"}


def test_class_images_are_accessible_svg_and_png(client, issued):
    assertion = issued(email="a@example.org")
    svg = client.get(documents.badge_image_url(assertion.badge_class, "svg").replace(BASE, ""))
    assert svg.mimetype == "image/svg+xml"
    text = svg.get_data(as_text=True)
    assert 'role="img"' in text and "<title" in text and "Niveau 1" in text and "<script" not in text
    png = client.get(documents.badge_image_url(assertion.badge_class).replace(BASE, ""))
    assert png.get_data().startswith(baking.PNG_SIGNATURE)


def test_unknown_ids_are_404(client):
    assert client.get("/ob/assertions/inconnu").status_code == 404
    assert client.get("/ob/badges/999999").status_code == 404
    assert client.get("/ob/emetteurs/999999").status_code == 404
