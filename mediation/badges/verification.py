"""Verifying a badge presented by a newcomer, with the real Open Badges validator.

The validator's pinned dependencies conflict with the app's, so it lives in its own virtualenv
(``make ob-validator`` → ``.venv-ob``) and runs in a subprocess through
:mod:`mediation.badges.ob_runner`. Badges of this network are checked against the documents built
from the database (no HTTP round trip to ourselves); others are fetched from the internet (only
globally routable addresses; loopback only in tests). The result is shown in French.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.badges import baking, documents, images, services
from mediation.badges.models import Assertion, BadgeClass, Endorsement, ExternalBadge, IssuerProfile
from mediation.config import ROOT
from mediation.errors import DomainError, ValidationFailed

RUNNER = Path(__file__).resolve().parent / "ob_runner.py"
MAX_UPLOAD = 2 * 1024 * 1024

# The validator's checks people may meet, in plain French (Badgr maps them the same way).
MESSAGES = {
    "FETCH_HTTP_NODE": "Une adresse du badge est injoignable ou ne renvoie pas de document Open Badges.",
    "VERIFY_RECIPIENT_IDENTIFIER": "Le titulaire du badge ne correspond pas à l'adresse ou au numéro indiqué.",
    "ASSERTION_REVOKED": "Ce badge a été révoqué par son émetteur : il n'est plus valable.",
    "VERIFY_SIGNED_ASSERTION_NOT_REVOKED": "Ce badge a été révoqué par son émetteur : il n'est plus valable.",
    "ASSERTION_TIMESTAMP_COMPARISON": "Les dates du badge sont incohérentes ou il a expiré.",
    "ASSERTION_NOT_EXPIRED": "Ce badge a expiré.",
    "IMAGE_VALIDATION": "L'image du badge est introuvable ou n'est pas une image PNG ou SVG.",
    "DETECT_INPUT_TYPE": "Ce fichier ou ce texte n'est pas un badge Open Badges reconnu.",
    "NO_BAKED_BADGE": "Cette image ne contient pas de badge (elle n'a pas été « cuite » par un émetteur).",
    "VERIFY_SIGNED_ASSERTION": "La signature du badge n'est pas valable.",
    "VERIFY_KEY_OWNERSHIP": "La clé de signature n'appartient pas à l'émetteur.",
    "HOSTED_ID_IN_VERIFICATION_SCOPE": "Le badge n'est pas publié sur le site de son émetteur.",
    "RUNNER_ERROR": "Le vérificateur n'a pas pu analyser ce badge.",
}
GENERIC = "Le badge ne respecte pas le format Open Badges (champ manquant ou invalide)."


class ValidatorUnavailable(DomainError):
    status_code = 503


@dataclass
class VerificationResult:
    valid: bool
    revoked: bool
    problems: list[str]
    warnings: int
    badge: dict
    assertion_url: str | None
    recipient_checked: bool
    ours: bool
    report: dict = field(default_factory=dict)

    @property
    def summary(self) -> str:
        if self.valid:
            return "Badge authentique et valable."
        if self.revoked:
            return "Badge révoqué : il n'est plus valable."
        return "Badge non valable."


def validator_python() -> Path:
    configured = current_app.config.get("MEDIATION_OB_VALIDATOR_PYTHON")
    return Path(configured) if configured else ROOT / ".venv-ob" / "bin" / "python"


def available() -> bool:
    return validator_python().exists()


def network_policy() -> str:
    configured = current_app.config.get("MEDIATION_OB_VALIDATOR_NETWORK")
    if configured:
        return configured
    return "loopback" if current_app.testing else "public"


def run_validator(request: dict, timeout: int = 90) -> dict:
    """Run the isolated validator on ``request`` (see ob_runner); returns its JSON report."""
    python = validator_python()
    if not python.exists():
        raise ValidatorUnavailable("Le vérificateur Open Badges n'est pas installé sur ce serveur "
                                   "(commande « make ob-validator »).")
    try:
        done = subprocess.run([str(python), str(RUNNER)], input=json.dumps(request), capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ValidatorUnavailable("La vérification a pris trop de temps : réessayez plus tard.") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise ValidatorUnavailable("Le vérificateur Open Badges n'a pas pu s'exécuter.")
    return json.loads(done.stdout)


# --- our own documents, from the database -------------------------------------------------------

def _doc(doc: dict, status: int = 200) -> list:
    return [status, documents.LD_JSON, json.dumps(doc)]


def _png(data: bytes) -> list:
    return [200, "image/png", base64.b64encode(data).decode(), "base64"]


def local_documents(session: Session, assertion: Assertion) -> dict[str, list]:
    """Every document the graph of ``assertion`` needs, as the app serves them."""
    network = current_app.config["MEDIATION_NETWORK_NAME"]
    badge_class = assertion.badge_class
    docs = {}
    if assertion.is_revoked:
        docs[documents.assertion_url(assertion)] = _doc(documents.revoked_stub(assertion), 410)
    else:
        docs[documents.assertion_url(assertion)] = _doc(documents.assertion_document(assertion))
        docs[documents.baked_url(assertion)] = _png(services.bake_assertion_png(assertion))
    docs[documents.badge_class_url(badge_class)] = _doc(documents.badge_class_document(badge_class))
    docs[documents.badge_image_url(badge_class)] = _png(images.badge_png(badge_class, network))
    profiles = {badge_class.issuer, *(e.endorser for e in badge_class.live_endorsements)}
    for endorsement in badge_class.live_endorsements:
        docs[documents.endorsement_url(endorsement)] = _doc(documents.endorsement_document(endorsement))
    for profile in profiles:
        docs[documents.issuer_url(profile)] = _doc(documents.issuer_document(profile))
        docs[documents.revocation_list_url(profile)] = _doc(
            documents.revocation_list_document(profile, services.revoked_assertions(session, profile)))
    return docs


def _own_assertion(session: Session, url: str | None) -> Assertion | None:
    prefix = documents.public_url(documents.ASSERTION_PATH.format(uid=""))
    if not url or not url.startswith(prefix):
        return None
    uid = url[len(prefix):].split("/", 1)[0].split("?", 1)[0]
    return services.get_public_assertion(session, uid)


def _assertion_reference(data: bytes) -> str | None:
    """The assertion id (URL) baked into an uploaded image, when we can read it."""
    try:
        text = baking.unbake_png(data) if data.startswith(baking.PNG_SIGNATURE) else baking.unbake_svg(data)
    except (baking.BakingError, UnicodeDecodeError, ValueError):
        return None
    if not text:
        return None
    text = text.strip()
    if text.startswith("{"):
        try:
            return json.loads(text).get("id")
        except ValueError:
            return None
    return text if text.startswith("http") else None


def _recipient_profile(value: str | None) -> dict | None:
    value = (value or "").strip()
    if not value:
        return None
    if "@" in value:
        return {"email": documents.normalise_email(value)}
    phone = services.to_e164(value)
    if phone is None:
        raise ValidationFailed("Indiquez une adresse e-mail ou un numéro de téléphone valide.", field="recipient")
    return {"telephone": phone}


def verify(session: Session, *, url: str | None = None, upload: bytes | None = None,
           recipient: str | None = None) -> VerificationResult:
    """Verify a hosted badge URL or an uploaded baked PNG/SVG. Raises ValidationFailed for bad input,
    ValidatorUnavailable when the validator is missing or fails."""
    url = (url or "").strip() or None
    if url is None and not upload:
        raise ValidationFailed("Collez l'adresse du badge ou choisissez l'image du badge.", field="url")
    if url is not None and (not url.startswith(("http://", "https://")) or len(url) > 500):
        raise ValidationFailed("L'adresse du badge doit commencer par https://", field="url")
    if upload is not None and len(upload) > MAX_UPLOAD:
        raise ValidationFailed("L'image du badge dépasse 2 Mo.", field="image")
    profile = _recipient_profile(recipient)
    reference = url or _assertion_reference(upload or b"")
    own = _own_assertion(session, reference)
    request = {"recipient": profile, "network": network_policy(),
               "docs": local_documents(session, own) if own is not None else None}
    with tempfile.TemporaryDirectory(prefix="ob-verify-") as folder:
        if url is not None:
            request["input"] = {"url": url}
        else:
            path = Path(folder) / "badge"
            path.write_bytes(upload)
            request["input"] = {"file": str(path)}
        report = run_validator(request)
    problems = []
    for message in report.get("messages", []):
        if message.get("messageLevel") != "ERROR":
            continue
        text = MESSAGES.get(message.get("name"), GENERIC)
        if text not in problems:
            problems.append(text)
    badge = report.get("badge") or {}
    return VerificationResult(
        valid=bool(report.get("valid")), revoked=bool(report.get("revoked")), problems=problems,
        warnings=int(report.get("warningCount", 0)), badge=badge,
        assertion_url=badge.get("assertion_id") or report.get("validationSubject"),
        recipient_checked=profile is not None, ours=own is not None, report=report)


# --- import into a case -------------------------------------------------------------------------

def import_external(session: Session, actor, case, structure_id: int, result: VerificationResult) -> ExternalBadge:
    """Keep a verified badge in the person's case as evidence. Only a valid badge is imported."""
    if not result.valid or not result.assertion_url:
        raise DomainError("Seul un badge vérifié et valable peut être ajouté au dossier.")
    exists = session.scalar(sa.select(ExternalBadge.id).where(ExternalBadge.case_id == case.id,
                                                              ExternalBadge.assertion_url == result.assertion_url))
    if exists:
        raise DomainError("Ce badge est déjà dans le dossier de la personne.")
    badge = result.badge
    external = ExternalBadge(
        case_id=case.id, structure_id=structure_id, imported_by_id=actor.id, assertion_url=result.assertion_url[:500],
        badge_name=(badge.get("badge_name") or "Badge sans nom")[:300],
        badge_description=badge.get("badge_description"),
        issuer_name=(badge.get("issuer_name") or "Émetteur inconnu")[:300],
        issued_on=(badge.get("issued_on") or None) and str(badge["issued_on"])[:40],
        report={"valid": True, "warnings": result.warnings, "endorsers": badge.get("endorsers") or [],
                "recipient_checked": result.recipient_checked})
    session.add(external)
    session.flush()
    record(session, "badge.external_imported", actor=actor, obj=external, structure_id=structure_id,
           details={"case_id": case.id})
    return external


def external_badges(session: Session, case) -> list[ExternalBadge]:
    return list(session.scalars(sa.select(ExternalBadge).where(ExternalBadge.case_id == case.id)
                                .order_by(ExternalBadge.imported_at.desc())))


__all__ = ["BadgeClass", "Endorsement", "IssuerProfile", "VerificationResult", "import_external",
           "local_documents", "verify"]
