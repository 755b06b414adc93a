"""Badge images, generated per badge class: an accessible SVG (``<title>``, ``<desc>``, role img)
and the same design drawn as a PNG with Pillow (WeasyPrint cannot rasterise). The level and the
network's name are on the image; colours keep white text above 4.5:1 contrast.
"""

from __future__ import annotations

import io
import textwrap
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from mediation.badges.models import BadgeClass, BadgeKind

SIZE = 400
COLOURS = {  # (disc, ring): white text on the disc is above 7:1
    BadgeKind.ETAPE: ("#1d4f91", "#0f2f5c"),
    BadgeKind.NIVEAU: ("#1b6339", "#0d3b20"),
    BadgeKind.PARCOURS: ("#7a3e00", "#4d2700"),
}
FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]


def _lines(text: str, width: int, limit: int) -> list[str]:
    lines = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    if len(lines) > limit:
        lines = lines[:limit]
        lines[-1] = lines[-1][: max(0, width - 1)].rstrip() + "…"
    return lines


def _network_line(network_name: str) -> str:
    return _lines(network_name, 30, 1)[0]


def describe(badge_class: BadgeClass) -> str:
    return (f"Badge numérique « {badge_class.name} » ({badge_class.level_label}) du parcours "
            f"« {badge_class.pathway_name} », délivré par {badge_class.issuer.name}.")


def badge_svg(badge_class: BadgeClass, network_name: str) -> str:
    """The badge as a standalone SVG document (no external resources, no script)."""
    disc, ring = COLOURS[BadgeKind(badge_class.kind)]
    name_lines = _lines(badge_class.name, 18, 4)
    first_y = 200 - (len(name_lines) - 1) * 14
    name_spans = "".join(
        f'<tspan x="200" y="{first_y + i * 28}">{escape(line)}</tspan>' for i, line in enumerate(name_lines))
    title = escape(f"Badge « {badge_class.name} »")
    desc = escape(describe(badge_class))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400" '
        f'role="img" aria-labelledby="badge-title badge-desc">'
        f'<title id="badge-title">{title}</title>'
        f'<desc id="badge-desc">{desc}</desc>'
        f'<circle cx="200" cy="200" r="196" fill="{ring}"/>'
        f'<circle cx="200" cy="200" r="178" fill="{disc}" stroke="#ffffff" stroke-width="4"/>'
        '<g fill="#ffffff" font-family="DejaVu Sans, Verdana, Arial, sans-serif" text-anchor="middle">'
        f'<text x="200" y="96" font-size="26" font-weight="bold">{escape(badge_class.level_label)}</text>'
        f'<text font-size="24" font-weight="bold">{name_spans}</text>'
        f'<text x="200" y="318" font-size="15">{escape(_network_line(network_name))}</text>'
        '</g></svg>'
    )


@lru_cache(maxsize=8)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size=size)


def _centred(draw: ImageDraw.ImageDraw, y: float, text: str, font) -> None:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((SIZE - (right - left)) / 2 - left, y - (bottom - top) / 2 - top), text, font=font, fill="#ffffff")


@lru_cache(maxsize=256)
def _png(kind: str, level_label: str, name: str, network_name: str) -> bytes:
    disc, ring = COLOURS[BadgeKind(kind)]
    image = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, SIZE - 4, SIZE - 4), fill=ring)
    draw.ellipse((22, 22, SIZE - 22, SIZE - 22), fill=disc, outline="#ffffff", width=4)
    _centred(draw, 96, level_label, _font(26, True))
    lines = _lines(name, 18, 4)
    first_y = 200 - (len(lines) - 1) * 14
    for i, line in enumerate(lines):
        _centred(draw, first_y + i * 28, line, _font(24, True))
    _centred(draw, 318, _network_line(network_name), _font(15, False))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def badge_png(badge_class: BadgeClass, network_name: str) -> bytes:
    """The badge as a 400 × 400 PNG (cached per text, so a class edit gives a new image)."""
    return _png(BadgeKind(badge_class.kind).value, badge_class.level_label, badge_class.name, network_name)
