"""The printed wallet card: a PDF (WeasyPrint) with a QR code to the wallet URL and the short code."""

from __future__ import annotations

import base64
import io

import qrcode
from flask import current_app, render_template

from mediation.badges import documents
from mediation.carnet.wallet import PrintedCard, format_code
from mediation.types import utcnow


def qr_data_uri(data: str) -> str:
    image = qrcode.make(data, box_size=8, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def card_html(printed: PrintedCard, *, structure_name: str | None) -> str:
    return render_template("wallet/card.html", qr=qr_data_uri(printed.url), code=format_code(printed.code),
                           wallet_url=documents.public_url("/carnet"), structure_name=structure_name,
                           printed_at=utcnow(), network_name=current_app.config["MEDIATION_NETWORK_NAME"])


def card_pdf(printed: PrintedCard, *, structure_name: str | None) -> bytes:
    from weasyprint import HTML

    return HTML(string=card_html(printed, structure_name=structure_name), base_url=current_app.root_path).write_pdf()
