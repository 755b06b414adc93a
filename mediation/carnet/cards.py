"""The printed wallet card: a PDF (WeasyPrint) with a QR code to the wallet URL and the short code."""

from __future__ import annotations

import base64
import io

import qrcode
from flask import current_app, render_template
from flask_babel import force_locale

from mediation.badges import documents
from mediation.carnet.wallet import PrintedCard, format_code
from mediation.i18n import DEFAULT, LANGUAGES, known
from mediation.types import utcnow


def qr_data_uri(data: str) -> str:
    image = qrcode.make(data, box_size=8, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def card_html(printed: PrintedCard, *, structure_name: str | None, language: str | None = None) -> str:
    """The card in the person's language (French when none is recorded)."""
    chosen = LANGUAGES[known(language) or DEFAULT]
    with force_locale(chosen.code):
        return render_template("wallet/card.html", qr=qr_data_uri(printed.url), code=format_code(printed.code),
                               wallet_url=documents.public_url("/carnet"), structure_name=structure_name,
                               printed_at=utcnow(), network_name=current_app.config["MEDIATION_NETWORK_NAME"],
                               language=chosen)


def card_pdf(printed: PrintedCard, *, structure_name: str | None, language: str | None = None) -> bytes:
    from weasyprint import HTML

    html = card_html(printed, structure_name=structure_name, language=language)
    return HTML(string=html, base_url=current_app.root_path).write_pdf()
