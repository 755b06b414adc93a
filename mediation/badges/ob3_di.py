"""Open Badges 3.0 credentials secured by a W3C Data Integrity proof, cryptosuite
``eddsa-rdfc-2022`` (Ed25519 over the RDFC-1.0 canonical form), alongside the VC-JWT form of
:mod:`mediation.badges.ob3` (same credential, same key, same status list).

The JSON-LD contexts are bundled in ``mediation/badges/contexts`` and never fetched: the document
loader refuses any other URL. The issuer key is published as a ``Multikey`` in a controller document
that is the issuer's profile itself (``/ob/v3/emetteurs/<n>``: verifiers require the issuer to be
the controller of the key), whose ``assertionMethod`` lists it.

Sources of the bundled contexts: W3C VC 2.0 (npm ``@digitalbazaar/credentials-context`` 3.2.0,
``contexts/v2.jsonld``), Multikey v1 (npm ``@digitalbazaar/multikey-context`` 2.0.1), Open Badges
3.0.3 (github.com/1EdTech/openbadges-specification, ``ob_v3p0/context-3.0.3.json`` at 1af145f).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from pyld import jsonld

from mediation.badges import documents, ob3

CONTEXT_DIR = Path(__file__).parent / "contexts"
CONTEXT_FILES = {
    ob3.VC_CONTEXT: "credentials-v2.jsonld",
    ob3.OB3_CONTEXT: "ob-v3p0-context-3.0.3.json",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
}
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
JSON_PATH = "/ob/v3/attestations/{uid}/badge.json"
VC_LD_MIMETYPE = "application/vc+ld+json"
ED25519_PUB_MULTICODEC = b"\xed\x01"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@cache
def _context(url: str) -> dict:
    return json.loads((CONTEXT_DIR / CONTEXT_FILES[url]).read_text())


def document_loader(url: str, options=None) -> dict:
    """Bundled contexts only: nothing is fetched at run time."""
    if url not in CONTEXT_FILES:
        raise jsonld.JsonLdError(f"Contexte JSON-LD non embarqué : {url}", "jsonld.LoadDocumentError",
                                 code="loading document failed")
    return {"contextUrl": None, "documentUrl": url, "document": _context(url)}


def base58btc(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, rest = divmod(number, 58)
        text = BASE58[rest] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def canonical(doc: dict) -> str:
    """RDFC-1.0 (URDNA2015) N-Quads. pyld has no "safe mode": a term missing from the contexts would
    be dropped silently (unsigned); the tests verify with jsonld.js in safe mode, which refuses it."""
    return jsonld.normalize(doc, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                  "documentLoader": document_loader})


def verification_method_url(profile) -> str:
    return ob3.profile_url(profile) + "#cle-1"


def json_url(assertion) -> str:
    return documents.public_url(JSON_PATH.format(uid=assertion.uid))


def public_multikey() -> str:
    public = ob3.signing_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58btc(ED25519_PUB_MULTICODEC + public)


def controller_document(profile) -> dict:
    """The issuer's profile (OB 3.0 ``Profile``) as the controller document of its key."""
    method = verification_method_url(profile)
    doc = ob3.profile_document(profile)
    return {
        **doc,
        "@context": [DID_CONTEXT, *doc["@context"], MULTIKEY_CONTEXT],
        "verificationMethod": [{"id": method, "type": "Multikey", "controller": doc["id"],
                                "publicKeyMultibase": public_multikey()}],
        "assertionMethod": [method],
    }


def add_proof(doc: dict, created: str, profile) -> dict:
    """The document with one ``DataIntegrityProof`` (eddsa-rdfc-2022, proof purpose assertionMethod):
    signature over SHA-256(canonical proof options) ‖ SHA-256(canonical document)."""
    proof = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "created": created,
             "verificationMethod": verification_method_url(profile), "proofPurpose": "assertionMethod"}
    options = {"@context": doc["@context"], **proof}
    data = (hashlib.sha256(canonical(options).encode()).digest()
            + hashlib.sha256(canonical(doc).encode()).digest())
    # A list: 1EdTech's JSON Schema wants an array of proofs.
    return {**doc, "proof": [{**proof, "proofValue": "z" + base58btc(ob3.signing_key().sign(data))}]}


def signed_credential(assertion) -> dict:
    doc = ob3.credential(assertion, json_status_list=True)
    return add_proof(doc, doc["validFrom"], assertion.badge_class.issuer)


def signed_status_list(profile, revoked) -> dict:
    doc = ob3.status_list_credential(profile, revoked, json=True)
    return add_proof(doc, doc["validFrom"], profile)
