"""The real Open Badges validator, offline, against what the app serves: hosted URL, JSON input,
baked PNG (file and URL), baked SVG, each recipient identity type, endorsement chain; and negative
cases (wrong recipient, revoked, missing criteria, naive timestamp, another origin, missing node)."""

from __future__ import annotations

import json

import pytest

from mediation.badges import documents, services
from mediation.carnet import wallet
from tests.badges.ob_validator import collect_documents, errors, require_validator, run


@pytest.fixture(autouse=True)
def _validator():
    require_validator()


def docs_for(client, assertion):
    return collect_documents(client, documents.assertion_url(assertion))


def test_hosted_assertion_with_email_recipient_is_valid(tmp_path, client, issued, attach_email):
    assertion = attach_email(issued(email="Learner@Example.org"))
    docs = docs_for(client, assertion)
    report = run(tmp_path, docs, url=documents.assertion_url(assertion), recipient={"email": "learner@example.org"})
    assert report["valid"], report["messages"]
    assert report["recipientProfile"] == {"email": "learner@example.org"}
    fetched = {url for url, _status in report["fetched"]}
    assert {documents.assertion_url(assertion), documents.badge_class_url(assertion.badge_class),
            documents.issuer_url(assertion.badge_class.issuer)} <= fetched


def test_wrong_recipient_is_invalid(tmp_path, client, issued, attach_email):
    assertion = attach_email(issued(email="learner@example.org"))
    report = run(tmp_path, docs_for(client, assertion), url=documents.assertion_url(assertion),
                 recipient={"email": "someone.else@example.org"})
    assert not report["valid"]
    assert "VERIFY_RECIPIENT_IDENTIFIER" in errors(report)


def test_json_input_is_valid(tmp_path, client, issued):
    assertion = issued(email="learner@example.org")
    docs = docs_for(client, assertion)
    report = run(tmp_path, docs, json_input=docs[documents.assertion_url(assertion)][2])
    assert report["valid"], report["messages"]


def test_wallet_url_identity_is_valid_and_a_phone_is_not_the_recipient(session, tmp_path, client, issued):
    by_phone = issued(phone="06 12 34 56 78")
    identity = documents.wallet_identity_url(services.wallet_for(session, by_phone.beneficiary).uid)
    report = run(tmp_path, docs_for(client, by_phone), url=documents.assertion_url(by_phone),
                 recipient={"url": identity})
    assert report["valid"], report["messages"]
    report = run(tmp_path, docs_for(client, by_phone), url=documents.assertion_url(by_phone),
                 recipient={"telephone": "+33612345678"})
    assert not report["valid"]
    by_wallet = issued(first_name="Sans", last_name="Contact")
    identity = documents.wallet_identity_url(services.wallet_for(session, by_wallet.beneficiary).uid)
    report = run(tmp_path, docs_for(client, by_wallet), url=documents.assertion_url(by_wallet),
                 recipient={"url": identity})
    assert report["valid"], report["messages"]


def test_baked_png_file_and_url_are_valid(tmp_path, client, issued, attach_email):
    assertion = attach_email(issued(email="learner@example.org"))
    docs = docs_for(client, assertion)
    png = client.get(documents.baked_url(assertion)[len("https://mediation.example.org"):]).get_data()
    report = run(tmp_path, docs, file=png, recipient={"email": "learner@example.org"})
    assert report["valid"], report["messages"]
    report = run(tmp_path, docs, url=documents.baked_url(assertion))
    assert report["valid"], report["messages"]


def test_baked_svg_file_is_valid_through_the_runner(tmp_path, client, issued):
    assertion = issued(email="learner@example.org")
    svg = client.get(documents.baked_url(assertion, "svg")[len("https://mediation.example.org"):]).get_data()
    report = run(tmp_path, docs_for(client, assertion), file=svg)
    assert report["valid"], report["messages"]


def test_endorsement_chain_is_valid(session, tmp_path, client, issued, network):
    assertion = issued(email="learner@example.org")
    endorsement = services.endorse(session, network.coordinator, assertion.badge_class, network.structure_b,
                                   "Reconnu pour nos ateliers de niveau 2")
    session.commit()
    docs = docs_for(client, assertion)
    assert documents.endorsement_url(endorsement) in docs
    report = run(tmp_path, docs, url=documents.assertion_url(assertion))
    assert report["valid"], report["messages"]
    fetched = {url for url, _status in report["fetched"]}
    assert documents.endorsement_url(endorsement) in fetched
    assert documents.issuer_url(endorsement.endorser) in fetched
    assert report["badge"]["endorsers"] == ["Médiathèque B"]


def test_revoked_assertion_is_invalid(session, tmp_path, client, issued, network):
    assertion = issued(email="learner@example.org")
    services.revoke(session, network.mediator, assertion, "Délivré par erreur")
    session.commit()
    docs = docs_for(client, assertion)
    assert docs[documents.assertion_url(assertion)][0] == 410
    report = run(tmp_path, docs, url=documents.assertion_url(assertion))
    assert not report["valid"] and report["revoked"]


def _tampered(docs, url, change):
    doc = json.loads(docs[url][2])
    change(doc)
    docs[url] = [200, "application/ld+json", json.dumps(doc)]
    return docs


def test_missing_criteria_is_invalid(tmp_path, client, issued):
    assertion = issued(email="learner@example.org")
    docs = _tampered(docs_for(client, assertion), documents.badge_class_url(assertion.badge_class),
                     lambda d: d.pop("criteria"))
    report = run(tmp_path, docs, url=documents.assertion_url(assertion))
    assert not report["valid"]


def test_naive_issued_on_is_invalid(tmp_path, client, issued):
    assertion = issued(email="learner@example.org")
    docs = _tampered(docs_for(client, assertion), documents.assertion_url(assertion),
                     lambda d: d.update(issuedOn="2024-05-02 10:00"))
    report = run(tmp_path, docs, url=documents.assertion_url(assertion))
    assert not report["valid"]


def test_assertion_on_another_origin_is_invalid(tmp_path, client, issued):
    assertion = issued(email="learner@example.org")
    docs = docs_for(client, assertion)
    url = documents.assertion_url(assertion)
    foreign = url.replace("https://mediation.example.org", "https://ailleurs.example.net")
    body = docs[url][2].replace(url, foreign)
    docs[foreign] = [200, "application/ld+json", body]
    report = run(tmp_path, docs, url=foreign)
    assert not report["valid"]


def test_missing_document_fails_cleanly(tmp_path, client, issued):
    assertion = issued(email="learner@example.org")
    docs = docs_for(client, assertion)
    docs.pop(documents.issuer_url(assertion.badge_class.issuer))
    report = run(tmp_path, docs, url=documents.assertion_url(assertion))
    assert not report["valid"]
    assert "FETCH_HTTP_NODE" in errors(report)


def test_level_and_pathway_badges_are_valid(session, tmp_path, client, enrolled, steps, validate):
    enrolment = enrolled(email="learner@example.org")
    for step in steps:
        validate(enrolment, step)
    found = services.assertions_of(session, enrolment.case.beneficiary_id)
    kinds = sorted(a.badge_class.kind.value for a in found)
    assert kinds.count("etape") == 8 and kinds.count("niveau") == 4 and kinds.count("parcours") == 1
    final = next(a for a in found if a.badge_class.kind.value == "parcours")
    report = run(tmp_path, docs_for(client, final), url=documents.assertion_url(final))
    assert report["valid"], report["messages"]


def test_card_wallet_identity_is_stable_across_cards(session, network, issued):
    assertion = issued(first_name="Sans", last_name="Contact")
    identity = documents.wallet_identity_url(services.wallet_for(session, assertion.beneficiary).uid)
    wallet.print_card(session, network.mediator, assertion.beneficiary)
    wallet.print_card(session, network.mediator, assertion.beneficiary)
    assert services.recipient_matches(assertion, identity)
