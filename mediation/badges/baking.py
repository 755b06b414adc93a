"""Baking an assertion into a badge image (Open Badges 2.0 baking specification).

- PNG: one ``iTXt`` chunk, keyword ``openbadges``, compression flag 0, holding the assertion JSON;
  any previous ``openbadges`` chunk (iTXt or legacy tEXt) is removed, so the chunk appears once.
- SVG: ``xmlns:openbadges="http://openbadges.org"`` on the root and an
  ``<openbadges:assertion verify="URL">`` element holding the JSON in CDATA.
"""

from __future__ import annotations

import re
import struct
import zlib
from xml.etree import ElementTree

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"openbadges"
OB_NAMESPACE = "http://openbadges.org"


class BakingError(ValueError):
    """The file is not a PNG/SVG we can read, or carries no badge."""


def _chunks(data: bytes):
    if not data.startswith(PNG_SIGNATURE):
        raise BakingError("Ce fichier n'est pas une image PNG.")
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        end = offset + 12 + length
        if end > len(data):
            raise BakingError("Image PNG tronquée.")
        yield kind, data[offset + 8:offset + 8 + length], data[offset:end]
        offset = end
        if kind == b"IEND":
            return


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _is_badge_chunk(kind: bytes, body: bytes) -> bool:
    return kind in (b"iTXt", b"tEXt", b"zTXt") and body.split(b"\0", 1)[0] == KEYWORD


def bake_png(png: bytes, text: str) -> bytes:
    """``png`` with one iTXt ``openbadges`` chunk holding ``text`` (assertion JSON or URL), right
    after the header."""
    body = KEYWORD + b"\0" + b"\0" + b"\0" + b"\0" + b"\0" + text.encode("utf-8")
    out = [PNG_SIGNATURE]
    for kind, chunk_body, raw in _chunks(png):
        if _is_badge_chunk(kind, chunk_body):
            continue
        out.append(raw)
        if kind == b"IHDR":
            out.append(_chunk(b"iTXt", body))
    return b"".join(out)


def unbake_png(png: bytes) -> str | None:
    """The text of the ``openbadges`` chunk, or None."""
    for kind, body, _raw in _chunks(png):
        if not _is_badge_chunk(kind, body):
            continue
        if kind == b"tEXt":
            return body.split(b"\0", 1)[1].decode("latin-1")
        if kind == b"zTXt":
            return zlib.decompress(body.split(b"\0", 1)[1][1:]).decode("latin-1")
        rest = body[len(KEYWORD) + 1:]
        compressed, _method = rest[0], rest[1]
        rest = rest[2:]
        _language, rest = rest.split(b"\0", 1)
        _translated, text = rest.split(b"\0", 1)
        return (zlib.decompress(text) if compressed else text).decode("utf-8")
    return None


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def bake_svg(svg: str, assertion_json: str, verify_url: str) -> str:
    """``svg`` (one of ours: a single root ``<svg …>``) with the assertion embedded."""
    match = re.search(r"<svg\b[^>]*>", svg)
    if match is None:
        raise BakingError("Ce fichier n'est pas une image SVG.")
    opening = match.group(0)
    if "xmlns:openbadges" not in opening:
        opening = opening[:-1] + f' xmlns:openbadges="{OB_NAMESPACE}">'
    verify = verify_url.replace("&", "&amp;").replace('"', "&quot;")
    element = f'<openbadges:assertion verify="{verify}">{_cdata(assertion_json)}</openbadges:assertion>'
    return svg[:match.start()] + opening + element + svg[match.end():]


def unbake_svg(svg: bytes | str) -> str | None:
    """The assertion embedded in an SVG (its JSON, or its ``verify`` URL/JWS), or None."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise BakingError("Image SVG refusée (déclarations DOCTYPE ou ENTITY).")
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 — DOCTYPE and ENTITY refused above
    except ElementTree.ParseError as error:
        raise BakingError("Ce fichier n'est pas une image SVG lisible.") from error
    element = root.find(f"{{{OB_NAMESPACE}}}assertion")
    if element is None:
        return None
    content = (element.text or "").strip()
    return content or element.get("verify")
