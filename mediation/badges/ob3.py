"""Open Badges 3.0 credentials (docs/domain/open-badges.md §3), in the VC-JWT form.

Every badge (an OB 2.0 :class:`Assertion`, unchanged) is also an ``OpenBadgeCredential`` (W3C VC
data model 2.0 + OB 3.0 contexts) signed as a compact JWS (``alg: EdDSA``, Ed25519) whose ``kid``
is the URL of the issuer key published as a JWK under the app. The recipient is the same hashed
identity as in OB 2.0 (salted hash of the wallet's opaque URL, or of the e-mail the person attached):
nothing personal is in the credential.

Revocation: each credential has a ``BitstringStatusListEntry`` whose index is the assertion's id, in
the issuer's W3C Bitstring Status List credential (also a signed VC-JWT), built from the revoked
assertions at each request, so revoking the OB 2.0 assertion flips the bit.

The signing key: ``MEDIATION_OB3_SIGNING_KEY`` (the 32-byte Ed25519 seed, base64url, or a PKCS#8 PEM),
otherwise ``ob3_signing_key.pem`` in the instance folder, generated once (docs/operations.md).

The same credential with a Data Integrity proof (eddsa-rdfc-2022) as JSON: :mod:`mediation.badges.ob3_di`.

The credential is deterministic for a given key (Ed25519 signatures are), so it is rebuilt on
demand rather than stored.
"""

from __future__ import annotations

import base64
import gzip
import os
from datetime import UTC, datetime
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app

from mediation.badges import documents
from mediation.badges.models import Assertion, IssuerProfile, RecipientType
from mediation.types import utcnow

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
JWT_MIMETYPE = "text/plain"  # OB 3.0 §8.2: a compact JWS is delivered as text/plain

CREDENTIAL_PATH = "/ob/v3/attestations/{uid}"
PROFILE_PATH = "/ob/v3/emetteurs/{id}"
STATUS_LIST_PATH = "/ob/v3/emetteurs/{id}/statuts"
STATUS_LIST_JSON_PATH = "/ob/v3/emetteurs/{id}/statuts.json"  # Data Integrity form (ob3_di)
KEY_PATH = "/ob/v3/cle"

# W3C Bitstring Status List: at least 16 KiB (131,072 entries) for group privacy.
STATUS_LIST_BITS = 131_072
KEY_FILE = "ob3_signing_key.pem"

# OB 3.0 IdentityObject.identityType for our hashed recipients.
IDENTITY_TYPES = {
    RecipientType.EMAIL: "emailAddress",
    RecipientType.URL: "identifier",
    RecipientType.TELEPHONE: "ext:telephone",
}


# --- URLs ---------------------------------------------------------------------------------------

def credential_url(assertion: Assertion) -> str:
    return documents.public_url(CREDENTIAL_PATH.format(uid=assertion.uid))


def profile_url(profile: IssuerProfile) -> str:
    return documents.public_url(PROFILE_PATH.format(id=profile.id))


def status_list_url(profile: IssuerProfile, *, json: bool = False) -> str:
    return documents.public_url((STATUS_LIST_JSON_PATH if json else STATUS_LIST_PATH).format(id=profile.id))


def key_url() -> str:
    return documents.public_url(KEY_PATH)


# --- the signing key ----------------------------------------------------------------------------

_keys: dict[str, Ed25519PrivateKey] = {}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_key(raw: str) -> Ed25519PrivateKey:
    """A PKCS#8 PEM, or the 32-byte seed in base64url."""
    raw = raw.strip()
    if raw.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(raw.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError("MEDIATION_OB3_SIGNING_KEY : une clé Ed25519 est attendue.")
        return key
    try:
        seed = _unb64url(raw)
    except ValueError as error:
        raise RuntimeError("MEDIATION_OB3_SIGNING_KEY : valeur invalide.") from error
    if len(seed) != 32:
        raise RuntimeError("MEDIATION_OB3_SIGNING_KEY : 32 octets (en base64url) attendus.")
    return Ed25519PrivateKey.from_private_bytes(seed)


def new_key_text() -> str:
    """A new key, as MEDIATION_OB3_SIGNING_KEY expects it (base64url seed)."""
    return _b64url(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()))


def _instance_key() -> str:
    """The instance file's key, created once (exclusively: concurrent workers agree on one)."""
    from mediation.config import INSTANCE

    path = Path(INSTANCE) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    return path.read_text()


def signing_key() -> Ed25519PrivateKey:
    raw = current_app.config.get("MEDIATION_OB3_SIGNING_KEY") or _instance_key()
    if raw not in _keys:
        _keys[raw] = parse_key(raw)
    return _keys[raw]


def public_jwk() -> dict:
    """The issuer's public key (JWK, RFC 8037), what ``kid`` resolves to."""
    public = signing_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(public), "kid": key_url(), "alg": "EdDSA", "use": "sig"}


def sign(credential: dict) -> str:
    """The credential as a VC-JWT (OB 3.0 §8.2): the payload is the credential plus the registered
    claims ``iss`` (issuer id), ``jti`` (credential id) and ``nbf`` (validFrom)."""
    valid_from = datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00"))
    issuer = credential["issuer"]
    claims = {**credential, "iss": issuer["id"] if isinstance(issuer, dict) else issuer,
              "jti": credential["id"], "nbf": int(valid_from.timestamp())}
    subject = credential.get("credentialSubject", {}).get("id")
    if subject:
        claims["sub"] = subject
    return jwt.encode(claims, signing_key(), algorithm="EdDSA", headers={"kid": key_url(), "typ": "JWT"})


# --- documents ----------------------------------------------------------------------------------

def profile_document(profile: IssuerProfile) -> dict:
    doc = {
        "@context": [VC_CONTEXT, OB3_CONTEXT],
        "id": profile_url(profile),
        "type": ["Profile"],
        "name": profile.name,
        "url": profile.url,
        "email": profile.email,
    }
    if profile.description:
        doc["description"] = profile.description
    return doc


def _issuer(profile: IssuerProfile) -> dict:
    return {"id": profile_url(profile), "type": ["Profile"], "name": profile.name, "url": profile.url}


def credential(assertion: Assertion, *, json_status_list: bool = False) -> dict:
    """The unsigned credential; its status entry points at the status list in the same form (VC-JWT,
    or Data Integrity JSON when ``json_status_list``)."""
    badge_class = assertion.badge_class
    profile = badge_class.issuer
    status_list = status_list_url(profile, json=json_status_list)
    return {
        "@context": [VC_CONTEXT, OB3_CONTEXT],
        "id": credential_url(assertion),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": _issuer(profile),
        "validFrom": documents.iso(assertion.issued_at),
        "name": badge_class.name,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject",
                "identityType": IDENTITY_TYPES[RecipientType(assertion.recipient_type)],
                "hashed": True,
                "identityHash": assertion.identity_hash,
                "salt": assertion.salt,
            }],
            "achievement": {
                "id": documents.badge_class_url(badge_class),
                "type": ["Achievement"],
                "name": badge_class.name,
                "description": badge_class.description,
                "criteria": {"narrative": badge_class.criteria},
                "image": {"id": documents.badge_image_url(badge_class, "png"), "type": "Image",
                          "caption": f"Badge « {badge_class.name} »"},
                "tag": list(badge_class.tags or []),
                "inLanguage": "fr",
            },
        },
        "credentialStatus": {
            "id": f"{status_list}#{assertion.id}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(assertion.id),
            "statusListCredential": status_list,
        },
    }


def encoded_list(revoked_indexes: list[int]) -> str:
    """Multibase (``u``, base64url without padding) of the GZIP-compressed bitstring; index 0 is
    the most significant bit of the first byte (W3C Bitstring Status List §4)."""
    size = max([STATUS_LIST_BITS, *[i + 1 for i in revoked_indexes]])
    size = -(-size // STATUS_LIST_BITS) * STATUS_LIST_BITS
    bits = bytearray(size // 8)
    for index in revoked_indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + _b64url(gzip.compress(bytes(bits), mtime=0))


def status_list_credential(profile: IssuerProfile, revoked: list[Assertion], *, json: bool = False) -> dict:
    url = status_list_url(profile, json=json)
    now = utcnow().astimezone(UTC)
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": profile_url(profile),  # a URL: "Profile" is not a VC 2.0 term
        "validFrom": documents.iso(now),
        "credentialSubject": {
            "id": f"{url}#liste",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list([a.id for a in revoked]),
        },
    }


def file_name(assertion: Assertion) -> str:
    return f"badge-{assertion.uid}.jwt"
