"""Who a public badge names: the person's opaque wallet URL, never a phone number (a salted
SHA-256 of a French mobile number is found by brute force in seconds); the e-mail only when the
person attaches a badge to it from their wallet; badges issued to a phone number before are
issued again by ``flask badges reissue-phone-identities``, the old ones revoked with a reason."""

from __future__ import annotations

import hashlib
import json
import re

import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.badges import baking, documents, services
from mediation.badges.models import Assertion, RecipientType
from mediation.carnet import wallet

BASE = "https://mediation.example.org"


def phone_hashes(phone: str, salt: str) -> set[str]:
    """Every hash a brute force over phone numbers would compare the public identity with."""
    digits = re.sub(r"\D", "", phone)
    forms = {phone, phone.strip(), digits, services.to_e164(phone) or "", "0" + digits[-9:], "33" + digits[-9:],
             "+33" + digits[-9:], "0033" + digits[-9:]}
    found = set()
    for form in filter(None, forms):
        hashed = documents.hash_identity(form, salt)
        found |= {hashed, hashed.removeprefix("sha256$"), hashlib.sha256(form.encode()).hexdigest()}
    return found


def public_documents(client, assertion: Assertion) -> dict[str, str]:
    """The assertion as anyone can fetch it: JSON, baked SVG, baked PNG (with what they carry)."""
    path = documents.assertion_url(assertion).removeprefix(BASE)
    json_doc = client.get(path)
    svg = client.get(documents.baked_url(assertion, "svg").removeprefix(BASE))
    png = client.get(documents.baked_url(assertion, "png").removeprefix(BASE))
    assert json_doc.status_code == svg.status_code == png.status_code == 200
    return {"json": json_doc.get_data(as_text=True), "svg": svg.get_data(as_text=True),
            "png": baking.unbake_png(png.get_data())}


def assert_no_phone_hash(client, assertion: Assertion, phone: str) -> dict[str, str]:
    docs = public_documents(client, assertion)
    recipient = json.loads(docs["json"])["recipient"]
    assert recipient["type"] == "url"
    for kind, text in docs.items():
        for hashed in phone_hashes(phone, recipient["salt"]):
            assert hashed not in text, kind
        assert json.loads(text if kind != "svg" else baking.unbake_svg(text))["recipient"] == recipient
    return docs


def test_no_public_badge_document_carries_a_hash_of_the_phone(session, client, issued, enrolled, steps, validate):
    people = [issued(phone="06 12 34 56 78"), issued(phone="+33 7 11 22 33 44", email="avec@example.org"),
              issued(phone="0033698765432")]
    enrolment = enrolled(phone="06 55 44 33 22", first_name="Parcours")
    for step in steps[:2]:  # two steps and the level they complete
        validate(enrolment, step)
    people += services.assertions_of(session, enrolment.case.beneficiary_id)
    session.commit()
    assert len(people) == 6
    for assertion in people:
        docs = assert_no_phone_hash(client, assertion, assertion.beneficiary.phone)
        identity = documents.wallet_identity_url(services.wallet_for(session, assertion.beneficiary).uid)
        salt = json.loads(docs["json"])["recipient"]["salt"]
        assert json.loads(docs["json"])["recipient"]["identity"] == documents.hash_identity(identity, salt)
        assert "avec@example.org" not in docs["json"]
        email_hash = documents.hash_identity("avec@example.org", salt)
        assert all(email_hash not in text for text in docs.values())  # no e-mail unless asked for


def test_the_demo_creates_no_phone_identity(app, session, client):
    from mediation.demo import load_demo

    load_demo(session, password="mot-de-passe-demo-identite")
    session.commit()
    assertions = session.scalars(sa.select(Assertion).where(Assertion.revoked_at.is_(None))).all()
    assert assertions
    assert {a.recipient_type for a in assertions} == {RecipientType.URL}
    with_phone = [a for a in assertions if a.beneficiary.phone]
    assert with_phone
    for assertion in with_phone[:10]:
        assert_no_phone_hash(client, assertion, assertion.beneficiary.phone)
    for assertion in with_phone:  # and none of the others' stored identities either
        assert not phone_hashes(assertion.beneficiary.phone, assertion.salt) & {assertion.identity_hash}


def legacy_phone_badge(session, assertion: Assertion, phone: str) -> Assertion:
    """A badge issued before the fix: its recipient is the salted hash of the E.164 number."""
    assertion.recipient_type = RecipientType.TELEPHONE
    assertion.identity_hash = documents.hash_identity(services.to_e164(phone), assertion.salt)
    session.commit()
    return assertion


def test_reissue_command_revokes_with_a_reason_and_replaces(app, session, client, issued, network):
    old = legacy_phone_badge(session, issued(phone="06 12 34 56 78"), "06 12 34 56 78")
    untouched = issued(first_name="Sans", last_name="Contact")
    already_revoked = legacy_phone_badge(session, issued(phone="0699999999", first_name="Ancien"), "0699999999")
    services.revoke(session, network.mediator, already_revoked, "Délivré par erreur")
    session.commit()
    assert phone_hashes("06 12 34 56 78", old.salt) & {json.loads(public_documents(client, old)["json"])
                                                       ["recipient"]["identity"]}  # the leak, before
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["badges", "reissue-phone-identities", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 badge(s) identifié(s) par un numéro de téléphone" in dry.output
    assert session.get(Assertion, old.id).revoked_at is None
    result = runner.invoke(args=["badges", "reissue-phone-identities"])
    assert result.exit_code == 0, result.output
    assert "1 badge(s) délivré(s) à nouveau" in result.output
    session.expire_all()
    old = session.get(Assertion, old.id)
    new = session.scalar(sa.select(Assertion).where(Assertion.reissue_of_id == old.id))
    assert old.is_revoked and old.revocation_reason == services.PHONE_IDENTITY_REASON
    assert new is not None and not new.is_revoked and new.recipient_type == RecipientType.URL
    assert (new.badge_class_id, new.beneficiary_id, new.validation_id, new.evidence) == (
        old.badge_class_id, old.beneficiary_id, old.validation_id, old.evidence)
    assert_no_phone_hash(client, new, "06 12 34 56 78")
    # The old assertion answers 410 with the reason; the revocation list shows it too.
    gone = client.get(documents.assertion_url(old).removeprefix(BASE))
    assert gone.status_code == 410
    assert json.loads(gone.get_data(as_text=True))["revocationReason"] == services.PHONE_IDENTITY_REASON
    assert "sha256$" not in gone.get_data(as_text=True)
    revocations = json.loads(client.get(documents.revocation_list_url(old.badge_class.issuer)
                                        .removeprefix(BASE)).get_data(as_text=True))
    assert {"id": documents.assertion_url(old), "revocationReason": services.PHONE_IDENTITY_REASON} \
        in revocations["revokedAssertions"]
    assert client.get(documents.baked_url(old).removeprefix(BASE)).status_code in (404, 410)
    # Audited; the others are left alone; a second run finds nothing.
    events = {e.action: e for e in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))}
    assert events["badge.reissued_without_phone"].object_id == str(new.id)
    assert events["badge.phone_identities_reissued"].details["count"] == 1
    assert session.get(Assertion, untouched.id).revoked_at is None
    assert session.get(Assertion, already_revoked.id).revocation_reason == "Délivré par erreur"
    again = runner.invoke(args=["badges", "reissue-phone-identities"])
    assert "0 badge(s) délivré(s) à nouveau" in again.output


def open_wallet(client, session, network, beneficiary):
    printed = wallet.print_card(session, network.mediator, beneficiary)
    session.commit()
    assert client.post("/carnet/", data={"code": printed.code}).status_code == 302


def test_the_email_is_attached_only_when_the_person_asks(session, client, network, issued):
    assertion = issued(email="Jeanne.Badge@example.org")
    assert assertion.recipient_type == RecipientType.URL  # not by default
    open_wallet(client, session, network, assertion.beneficiary)
    home = client.get("/carnet/mon-carnet").get_data(as_text=True).replace("&#39;", "'")
    assert "Lier ce badge à mon e-mail" in home and "j…@example.org" in home
    done = client.post(f"/carnet/badges/{assertion.uid}/adresse-email")
    assert done.status_code == 302 and done.headers["Location"].endswith("/carnet/mon-carnet")
    session.expire_all()
    old = session.get(Assertion, assertion.id)
    new = session.scalar(sa.select(Assertion).where(Assertion.reissue_of_id == old.id))
    assert old.revocation_reason == services.EMAIL_ATTACHED_REASON
    assert new.recipient_type == RecipientType.EMAIL and services.recipient_matches(new, "jeanne.badge@example.org")
    recipient = json.loads(public_documents(client, new)["json"])["recipient"]
    assert recipient["type"] == "email"
    assert recipient["identity"] == documents.hash_identity("jeanne.badge@example.org", recipient["salt"])
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "badge.email_attached"))
    assert event.object_id == str(new.id) and event.details["reissue_of"] == old.id
    assert "jeanne" not in json.dumps(event.details).lower()
    page = client.get("/carnet/mon-carnet").get_data(as_text=True).replace("&#39;", "'")
    assert "Ce badge est lié à votre e-mail" in page
    # Twice: refused, nothing changed.
    client.post(f"/carnet/badges/{new.uid}/adresse-email")
    assert session.scalar(sa.select(sa.func.count()).select_from(Assertion)
                          .where(Assertion.beneficiary_id == new.beneficiary_id)) == 2


def test_no_email_attached_without_an_email_nor_for_someone_else(session, client, network, issued):
    mine = issued(phone="06 12 34 56 78")
    theirs = issued(email="autre@example.org", first_name="Autre")
    count = session.scalar(sa.select(sa.func.count()).select_from(Assertion))
    # Not opened: sent to the wallet's entry, nothing changed.
    assert client.post(f"/carnet/badges/{theirs.uid}/adresse-email").status_code == 302
    open_wallet(client, session, network, mine.beneficiary)
    assert "Lier ce badge" not in client.get("/carnet/mon-carnet").get_data(as_text=True)
    refused = client.post(f"/carnet/badges/{mine.uid}/adresse-email", follow_redirects=True)
    assert "pas enregistré d'adresse e-mail" in refused.get_data(as_text=True).replace("&#39;", "'")
    other = client.post(f"/carnet/badges/{theirs.uid}/adresse-email", follow_redirects=True)
    assert "pas dans votre carnet" in other.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(Assertion)) == count
    assert session.scalar(sa.select(sa.func.count()).select_from(Assertion).where(Assertion.revoked_at.is_not(None))) == 0
