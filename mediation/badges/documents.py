"""Open Badges 2.0 JSON-LD documents (docs/domain/open-badges.md §1).

Every ``id`` is the URL where the document is served, built from ``MEDIATION_PUBLIC_BASE_URL``
(never from the request's host), so a validator fetching an ``id`` gets the same document. The
paths are defined here once and the routes of :mod:`mediation.badges.views` use them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from flask import current_app

from mediation.badges.models import Assertion, BadgeClass, Endorsement, IssuerProfile, RecipientType

CONTEXT = "https://w3id.org/openbadges/v2"
LD_JSON = "application/ld+json"

# Paths (relative to the public base URL). The routes mirror them.
ISSUER_PATH = "/ob/emetteurs/{id}"
REVOCATIONS_PATH = "/ob/emetteurs/{id}/revocations"
BADGE_CLASS_PATH = "/ob/badges/{id}"
BADGE_IMAGE_PATH = "/ob/badges/{id}/image.{ext}"
ASSERTION_PATH = "/ob/assertions/{uid}"
BAKED_PATH = "/ob/assertions/{uid}/badge.{ext}"
ENDORSEMENT_PATH = "/ob/approbations/{uid}"
WALLET_IDENTITY_PATH = "/carnet/identite/{uid}"
VERIFY_PAGE_PATH = "/badges/verifier/{uid}"


def base_url() -> str:
    return current_app.config["MEDIATION_PUBLIC_BASE_URL"].rstrip("/")


def public_url(path: str) -> str:
    return base_url() + path


def issuer_url(profile: IssuerProfile) -> str:
    return public_url(ISSUER_PATH.format(id=profile.id))


def revocation_list_url(profile: IssuerProfile) -> str:
    return public_url(REVOCATIONS_PATH.format(id=profile.id))


def badge_class_url(badge_class: BadgeClass) -> str:
    return public_url(BADGE_CLASS_PATH.format(id=badge_class.id))


def badge_image_url(badge_class: BadgeClass, ext: str = "png") -> str:
    return public_url(BADGE_IMAGE_PATH.format(id=badge_class.id, ext=ext))


def assertion_url(assertion: Assertion) -> str:
    return public_url(ASSERTION_PATH.format(uid=assertion.uid))


def baked_url(assertion: Assertion, ext: str = "png") -> str:
    return public_url(BAKED_PATH.format(uid=assertion.uid, ext=ext))


def endorsement_url(endorsement: Endorsement) -> str:
    return public_url(ENDORSEMENT_PATH.format(uid=endorsement.uid))


def wallet_identity_url(wallet_uid: str) -> str:
    return public_url(WALLET_IDENTITY_PATH.format(uid=wallet_uid))


def verify_page_url(assertion: Assertion) -> str:
    return public_url(VERIFY_PAGE_PATH.format(uid=assertion.uid))


def iso(value: datetime) -> str:
    """ISO 8601 with a time zone (the validator refuses naive timestamps)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- recipient identity -------------------------------------------------------------------------

def normalise_email(value: str | None) -> str | None:
    """Verifiers hash exactly what they are given: strip and lowercase before hashing."""
    value = (value or "").strip().lower()
    return value or None


def hash_identity(identity: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((identity + salt).encode()).hexdigest()


# --- documents ----------------------------------------------------------------------------------

def issuer_document(profile: IssuerProfile) -> dict:
    doc = {
        "@context": CONTEXT,
        "type": "Issuer",
        "id": issuer_url(profile),
        "name": profile.name,
        "url": profile.url,
        "email": profile.email,
        "revocationList": revocation_list_url(profile),
    }
    if profile.description:
        doc["description"] = profile.description
    if profile.telephone:
        doc["telephone"] = profile.telephone
    return doc


def revocation_list_document(profile: IssuerProfile, revoked: list[Assertion]) -> dict:
    """Every assertion of this issuer that was revoked, with its reason (a list, even of one)."""
    return {
        "@context": CONTEXT,
        "type": "RevocationList",
        "id": revocation_list_url(profile),
        "issuer": issuer_url(profile),
        "revokedAssertions": [
            {"id": assertion_url(a), "revocationReason": a.revocation_reason} for a in revoked
        ],
    }


def alignment_objects(badge_class: BadgeClass) -> list[dict]:
    return [
        {key: value for key, value in item.items() if value not in (None, "")}
        for item in badge_class.alignments or []
    ]


def badge_class_document(badge_class: BadgeClass) -> dict:
    doc = {
        "@context": CONTEXT,
        "type": "BadgeClass",
        "id": badge_class_url(badge_class),
        "name": badge_class.name,
        "description": badge_class.description,
        "image": badge_image_url(badge_class, "png"),
        "criteria": {"narrative": badge_class.criteria},
        "issuer": issuer_url(badge_class.issuer),
        "tags": list(badge_class.tags or []),
        "alignment": alignment_objects(badge_class),
        "@language": "fr",
    }
    endorsements = badge_class.live_endorsements
    if endorsements:
        doc["endorsement"] = [endorsement_url(e) for e in endorsements]
    return doc


def endorsement_document(endorsement: Endorsement) -> dict:
    return {
        "@context": CONTEXT,
        "type": "Endorsement",
        "id": endorsement_url(endorsement),
        "issuer": issuer_url(endorsement.endorser),
        "issuedOn": iso(endorsement.issued_at),
        "verification": {"type": "hosted"},
        "claim": {"id": badge_class_url(endorsement.badge_class), "endorsementComment": endorsement.comment},
    }


def assertion_document(assertion: Assertion) -> dict:
    recipient_type = RecipientType(assertion.recipient_type)
    return {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": assertion_url(assertion),
        "recipient": {
            "type": recipient_type.value,
            "hashed": True,
            "salt": assertion.salt,
            "identity": assertion.identity_hash,
        },
        "badge": badge_class_url(assertion.badge_class),
        "verification": {"type": "hosted"},
        "issuedOn": iso(assertion.issued_at),
        "image": baked_url(assertion, "png"),
        "evidence": [{"name": "Validation de l'étape", "narrative": assertion.evidence,
                      "genre": "Observation par un médiateur numérique"}],
    }


def revoked_stub(assertion: Assertion) -> dict:
    """What a revoked assertion's URL answers, with status 410."""
    return {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": assertion_url(assertion),
        "revoked": True,
        "revocationReason": assertion.revocation_reason,
    }


def dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2)
