"""Scanned documents uploaded by the staff (a signed mandate, a training certificate): PDF, JPEG or
PNG, recognised by their first bytes — never by the file's name or the type the browser claims —
and bounded in size. One checker for every domain that stores such a document (below them all)."""

from __future__ import annotations

from mediation.errors import ValidationFailed

SCAN_MAX_BYTES = 5 * 1024 * 1024
SCAN_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
SCAN_TYPES = tuple(content_type for _, content_type in SCAN_SIGNATURES)
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def sniff_scan_type(data: bytes) -> str | None:
    """The content type from the file's first bytes (never from its name or the browser's claim)."""
    for signature, content_type in SCAN_SIGNATURES:
        if data.startswith(signature):
            return content_type
    return None


def check_scan(data: bytes | None, *, field: str, missing: str, too_big: str) -> str:
    """The content type of an uploaded scan, or ValidationFailed naming ``field``: ``missing`` when
    there is no file, ``too_big`` (a French sentence, the limit is appended) over
    :data:`SCAN_MAX_BYTES`, and a fixed message when the content is not a PDF, JPEG or PNG."""
    if not data:
        raise ValidationFailed(missing, field=field)
    if len(data) > SCAN_MAX_BYTES:
        raise ValidationFailed(f"Le fichier dépasse {SCAN_MAX_BYTES // (1024 * 1024)} Mo : {too_big}", field=field)
    content_type = sniff_scan_type(data)
    if content_type is None:
        raise ValidationFailed("Ce fichier n'est ni un PDF, ni une image JPEG ou PNG : seuls ces formats sont "
                               "acceptés.", field=field)
    return content_type
