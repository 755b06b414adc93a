"""Attestations: the mandate (from a versioned legal template) and the revocation, as PDF.

The mandate attestation is rendered once, when the mandate is created: the PDF bytes are stored on
the mandate with their SHA-256 (a frozen copy: what was printed and signed can be proved later,
whatever happens to the templates). The draft ("Projet — sans valeur juridique") is the same legal
text rendered as HTML in the creation wizard. Each attestation carries a QR code pointing to the
public verification page, built from ``MEDIATION_PUBLIC_BASE_URL``.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime

import qrcode
from flask import current_app, render_template

from mediation.mandates.enums import OVER_INDEBTEDNESS_WARNING, Demarche, IdentityCheck, MandateDuration
from mediation.types import LOCAL_TIMEZONE

# Versioned legal texts: never edit a published version, add a new one and point CURRENT to it.
LEGAL_TEMPLATES = {
    "20261126_mandat": "mandates/legal/20261126_mandat.html",
    # Expiry explained: counted from the exact instant of signature, in Paris time, clock change noted.
    "20261203_mandat": "mandates/legal/20261203_mandat.html",
}
CURRENT_TEMPLATE_VERSION = "20261203_mandat"

# How long each duration is, as the attestation says it (« expire 182 jours après sa signature »).
DURATION_SPANS = {
    MandateDuration.SHORT: "24 heures",
    MandateDuration.MONTH: "31 jours",
    MandateDuration.SEMESTER: "182 jours (6 mois)",
    MandateDuration.LONG: "365 jours (12 mois)",
}


def verification_url(token: str) -> str:
    """The absolute address of the public verification page (works without a request context)."""
    path = current_app.url_map.bind("").build("mandates.verify", {"token": token})
    return current_app.config["MEDIATION_PUBLIC_BASE_URL"] + path


def qr_data_uri(data: str) -> str:
    """A PNG QR code as a ``data:`` URI (embedded in HTML pages and PDFs, no file written)."""
    image = qrcode.make(data, box_size=6, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@dataclass
class AttestationData:
    """Everything the legal template prints; built from the mandate being created (or drafted)."""

    reference: str
    beneficiary_name: str
    structure_name: str
    structure_address: str
    structure_commune: str
    aidant_name: str
    demarches: list[Demarche]
    duration: MandateDuration
    identity_check: IdentityCheck
    created_at: datetime
    expires_at: datetime
    verification_url: str

    @property
    def has_argent(self) -> bool:
        return Demarche.ARGENT in self.demarches

    @property
    def duration_span(self) -> str:
        return DURATION_SPANS[self.duration]

    @property
    def clock_change(self) -> str | None:
        """« d'été » / « d'hiver » when Paris changed its clocks between signature and expiry (the
        expiry is the exact instant of signature plus the duration, so its local hour moves)."""
        start = self.created_at.astimezone(LOCAL_TIMEZONE).utcoffset()
        end = self.expires_at.astimezone(LOCAL_TIMEZONE).utcoffset()
        if start == end:
            return None
        return "d'été" if end > start else "d'hiver"


def attestation_data(*, reference: str, token: str, beneficiary, structure, aidant, demarches, duration,
                     identity_check, created_at: datetime, expires_at: datetime) -> AttestationData:
    address = " ".join(part for part in (structure.address, structure.postal_code) if part)
    return AttestationData(
        reference=reference,
        beneficiary_name=beneficiary.display_name,
        structure_name=structure.name,
        structure_address=address,
        structure_commune=structure.commune.name,
        aidant_name=aidant.full_name,
        demarches=list(demarches),
        duration=duration,
        identity_check=identity_check,
        created_at=created_at,
        expires_at=expires_at,
        verification_url=verification_url(token),
    )


def legal_template(version: str) -> str:
    try:
        return LEGAL_TEMPLATES[version]
    except KeyError:
        raise ValueError(f"unknown mandate template version: {version}") from None


def render_legal_html(data: AttestationData, *, version: str, draft: bool) -> str:
    """The legal text alone (an HTML fragment), as shown in the wizard's preview."""
    return render_template(legal_template(version), a=data, draft=draft, qr=qr_data_uri(data.verification_url),
                           argent_warning=OVER_INDEBTEDNESS_WARNING)


def _pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=current_app.root_path).write_pdf()


def render_mandate_pdf(data: AttestationData, *, version: str) -> bytes:
    """The final attestation, to print in two copies and sign."""
    body = render_legal_html(data, version=version, draft=False)
    html = render_template("mandates/pdf/attestation.html", body=body, title=f"Mandat {data.reference}")
    return _pdf(html)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_revocation_pdf(mandate, authorizations, *, revoked_at: datetime, whole: bool) -> bytes:
    """The revocation attestation, signed by the mandant: which démarches, when, with whom."""
    html = render_template(
        "mandates/pdf/revocation.html",
        mandate=mandate,
        authorizations=authorizations,
        revoked_at=revoked_at,
        whole=whole,
        qr=qr_data_uri(verification_url(mandate.public_token)),
        verification_url=verification_url(mandate.public_token),
        title=f"Révocation du mandat {mandate.reference}",
    )
    return _pdf(html)
