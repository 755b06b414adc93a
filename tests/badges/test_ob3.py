"""Open Badges 3.0: every badge is also an OpenBadgeCredential (VC-JWT, EdDSA) that the person can
take to another application from their wallet. Checked by an independent implementation (node and
the `jose` package, tests/ob3/node) and against 1EdTech's JSON Schema (tests/data)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from mediation.badges import services as badge_services
from mediation.carnet import wallet
from tests.badges.conftest import BASE

NODE_DIR = Path(__file__).resolve().parents[1] / "ob3" / "node"
SCHEMA = Path(__file__).resolve().parents[1] / "data" / "ob_v3p0_achievementcredential_schema.json"


@pytest.fixture(scope="session")
def node_dir():
    """tests/ob3/node with its locked dependencies installed (npm ci, once)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("node et npm sont nécessaires pour vérifier les badges Open Badges 3.0")
        pytest.skip("node/npm absents : vérification Open Badges 3.0 indépendante impossible")
    needed = [NODE_DIR / "node_modules" / "jose", NODE_DIR / "node_modules" / "@digitalbazaar" / "vc"]
    if not all((p / "package.json").exists() for p in needed):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True,
                       timeout=300)
    return NODE_DIR


def _runner(node_dir: Path, script: str):
    def verify(credential, documents: dict[str, str]) -> dict:
        done = subprocess.run(["node", script], cwd=node_dir, input=json.dumps(
            {"credential": credential, "documents": documents}), capture_output=True, text=True, timeout=120)
        if os.environ.get("OB3_DEBUG"):
            print(done.stderr)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return verify


@pytest.fixture(scope="session")
def node_verifier(node_dir):
    """``verify(jwt, documents)`` → the verdict of tests/ob3/node/verify.mjs (jose)."""
    return _runner(node_dir, "verify.mjs")


@pytest.fixture(scope="session")
def di_verifier(node_dir):
    """``verify(credential, documents)`` → the verdict of tests/ob3/node/verify-di.mjs
    (@digitalbazaar/vc, eddsa-rdfc-2022)."""
    return _runner(node_dir, "verify-di.mjs")


def path(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE):]


def fetch(client, url: str) -> str:
    response = client.get(path(url))
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def documents_for(client, token: str) -> dict[str, str]:
    """What a verifier would fetch: the key named by ``kid`` and the status list, as served now."""
    header_part = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(header_part + "=" * (-len(header_part) % 4)))
    status_url = payload(token)["credentialStatus"]["statusListCredential"]
    return {header["kid"]: fetch(client, header["kid"]), status_url: fetch(client, status_url)}


def credential_of(client, assertion) -> str:
    response = client.get(f"/ob/v3/attestations/{assertion.uid}")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return response.get_data(as_text=True).strip()


def test_credential_verifies_independently_and_carries_no_personal_data(client, session, issued, node_verifier):
    assertion = issued(first_name="Yasmina", last_name="Ob3", email="yasmina.ob3@example.org", phone="0611223399")
    session.commit()
    token = credential_of(client, assertion)

    verdict = node_verifier(token, documents_for(client, token))

    assert verdict["verified"] is True, verdict["error"]
    assert verdict["revoked"] is False
    vc = verdict["claims"]
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert vc["id"] == f"{BASE}/ob/v3/attestations/{assertion.uid}"
    assert vc["credentialSubject"]["achievement"]["name"] == assertion.badge_class.name
    assert vc["credentialSubject"]["achievement"]["criteria"]["narrative"] == assertion.badge_class.criteria
    identity = vc["credentialSubject"]["identifier"][0]
    assert identity["hashed"] is True and identity["identityHash"] == assertion.identity_hash
    # The hashed identity is the wallet's opaque URL, the same as in Open Badges 2.0.
    wallet_url = f"{BASE}/carnet/identite/{badge_services.wallet_for(session, assertion.beneficiary).uid}"
    assert badge_services.recipient_matches(assertion, wallet_url)
    text = json.dumps(vc, ensure_ascii=False)
    for personal in ("Yasmina", "yasmina.ob3", "0611223399", "+33611223399", wallet_url):
        assert personal not in text
    # The issuer profile named by the credential is served, with the same name.
    profile = json.loads(fetch(client, vc["issuer"]["id"]))
    assert profile["type"] == ["Profile"] and profile["name"] == vc["issuer"]["name"]
    assert profile["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")  # Ed25519 Multikey


def test_credential_is_valid_against_the_1edtech_json_schema(client, session, issued):
    assertion = issued(email="schema.ob3@example.org")
    session.commit()
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft201909Validator.check_schema(schema)
    validator = jsonschema.Draft201909Validator(schema)
    vc = payload(credential_of(client, assertion))
    assert [e.message for e in validator.iter_errors(vc)] == []
    # The schema does reject a credential missing what OB 3.0 requires.
    broken = {k: v for k, v in vc.items() if k != "validFrom"}
    assert not validator.is_valid(broken)


def test_revoking_the_badge_flips_its_status_bit(client, session, network, issued, node_verifier):
    assertion = issued(email="revoque.ob3@example.org")
    other = issued(email="garde.ob3@example.org")
    session.commit()
    token = credential_of(client, assertion)

    badge_services.revoke(session, network.mediator, assertion, "Erreur de saisie")
    session.commit()

    revoked = node_verifier(token, documents_for(client, token))
    assert revoked["verified"] is True and revoked["revoked"] is True
    kept = credential_of(client, other)
    assert node_verifier(kept, documents_for(client, kept))["revoked"] is False
    # Open Badges 2.0 is unchanged: the assertion's URL answers 410 and the list names it.
    assert client.get(f"/ob/assertions/{assertion.uid}").status_code == 410


def test_an_altered_credential_fails_verification(client, session, issued, node_verifier):
    assertion = issued(email="modifie.ob3@example.org")
    session.commit()
    token = credential_of(client, assertion)
    header, body, signature = token.split(".")
    claims = payload(token)
    claims["credentialSubject"]["achievement"]["name"] = "Expert en cybersécurité"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_body}.{signature}"

    verdict = node_verifier(forged, documents_for(client, token))

    assert verdict["verified"] is False
    assert "signature" in verdict["error"].lower()


def test_wallet_offers_to_carry_a_badge_as_file_and_qr_code(client, session, network, issued):
    assertion = issued(first_name="Jeanne", email="jeanne.ob3@example.org")
    other = issued(first_name="Paul", email="paul.ob3@example.org")
    printed = wallet.print_card(session, network.mediator, assertion.beneficiary)
    session.commit()
    client.get(path(printed.url))

    home = client.get("/carnet/mon-carnet").get_data(as_text=True)
    assert f"/carnet/badges/{assertion.uid}/emporter" in home
    assert "Mettre ce badge dans une autre application" in home

    page = client.get(f"/carnet/badges/{assertion.uid}/emporter")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Mettre ce badge dans une autre application" in html
    assert f"/ob/v3/attestations/{assertion.uid}/badge.json?telecharger=1" in html
    assert f"/ob/v3/attestations/{assertion.uid}?telecharger=1" in html
    assert 'src="data:image/png;base64,' in html and "Code QR du badge" in html
    assert "<script" not in html  # the page is complete without JavaScript

    download = client.get(f"/ob/v3/attestations/{assertion.uid}/badge.json?telecharger=1")
    assert download.headers["Content-Disposition"] == f'attachment; filename="badge-{assertion.uid}.json"'
    assert download.get_json(force=True)["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    download = client.get(f"/ob/v3/attestations/{assertion.uid}?telecharger=1")
    assert download.headers["Content-Disposition"] == f'attachment; filename="badge-{assertion.uid}.jwt"'
    assert download.get_data(as_text=True).count(".") == 2

    # Someone else's badge, or a revoked one, is not offered.
    response = client.get(f"/carnet/badges/{other.uid}/emporter")
    assert response.status_code == 302 and response.headers["Location"].endswith("/carnet/mon-carnet")
    badge_services.revoke(session, network.mediator, assertion, "Erreur")
    session.commit()
    assert client.get(f"/carnet/badges/{assertion.uid}/emporter").status_code == 302


def test_carrying_needs_an_opened_wallet(client, session, issued):
    assertion = issued(email="ferme.ob3@example.org")
    session.commit()
    response = client.get(f"/carnet/badges/{assertion.uid}/emporter")
    assert response.status_code == 302 and response.headers["Location"].endswith("/carnet/")


def test_signing_key_from_the_setting_or_generated_once_in_the_instance_folder(app, monkeypatch, tmp_path):
    from mediation.badges import ob3

    monkeypatch.setattr("mediation.config.INSTANCE", tmp_path)
    monkeypatch.setitem(app.config, "MEDIATION_OB3_SIGNING_KEY", None)
    with app.test_request_context():
        first = ob3.public_jwk()
        key_file = tmp_path / ob3.KEY_FILE
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert ob3.public_jwk() == first  # the same key at the next request

        given = ob3.new_key_text()
        monkeypatch.setitem(app.config, "MEDIATION_OB3_SIGNING_KEY", given)
        assert ob3.public_jwk()["x"] != first["x"]
        assert "d" not in ob3.public_jwk()  # only the public part is published

        monkeypatch.setitem(app.config, "MEDIATION_OB3_SIGNING_KEY", "trop-courte")
        with pytest.raises(RuntimeError, match="MEDIATION_OB3_SIGNING_KEY"):
            ob3.signing_key()


# --- the same credential with a Data Integrity proof (eddsa-rdfc-2022), as a JSON file --------------

def json_credential_of(client, assertion) -> dict:
    response = client.get(f"/ob/v3/attestations/{assertion.uid}/badge.json")
    assert response.status_code == 200 and response.mimetype == "application/vc+ld+json"
    return response.get_json(force=True)


def di_documents_for(client, vc: dict) -> dict[str, str]:
    controller = vc["proof"][0]["verificationMethod"].split("#")[0]
    status_url = vc["credentialStatus"]["statusListCredential"]
    return {controller: fetch(client, controller), status_url: fetch(client, status_url)}


def test_data_integrity_credential_verifies_and_revocation_flips_its_bit(client, session, network, issued,
                                                                          di_verifier):
    assertion = issued(email="di.ob3@example.org")
    session.commit()
    vc = json_credential_of(client, assertion)
    assert vc["proof"][0]["type"] == "DataIntegrityProof" and vc["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    controller = json.loads(fetch(client, vc["proof"][0]["verificationMethod"].split("#")[0]))
    assert controller["verificationMethod"][0]["type"] == "Multikey"
    assert controller["assertionMethod"] == [vc["proof"][0]["verificationMethod"]]

    verdict = di_verifier(vc, di_documents_for(client, vc))
    assert verdict["verified"] is True, verdict["error"]
    assert verdict["revoked"] is False

    badge_services.revoke(session, network.mediator, assertion, "Erreur de saisie")
    session.commit()
    verdict = di_verifier(vc, di_documents_for(client, vc))
    assert verdict["verified"] is True and verdict["revoked"] is True


def test_data_integrity_credential_altered_fails_and_is_valid_against_the_schema(client, session, issued,
                                                                                 di_verifier):
    assertion = issued(email="di.modifie.ob3@example.org")
    session.commit()
    vc = json_credential_of(client, assertion)
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(vc)] == []

    forged = json.loads(json.dumps(vc))
    forged["credentialSubject"]["achievement"]["name"] = "Expert en cybersécurité"
    verdict = di_verifier(forged, di_documents_for(client, vc))
    assert verdict["verified"] is False
    assert "Invalid signature" in verdict["error"]
