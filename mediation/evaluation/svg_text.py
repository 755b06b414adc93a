"""Faster SVG text in the PDF: WeasyPrint draws each ``<text>`` of an SVG letter by letter.

WeasyPrint 70 (``weasyprint.svg.text.text``) lays out and draws every character of an SVG text as
its own Pango layout and its own text object, so that per-letter positions (``x``/``y`` lists,
``dx``, ``dy``, ``rotate``), ``letter-spacing`` and ``textLength`` can be honoured. The report's
charts use none of these: one ``x``, one ``y``, a label. For them the letter-by-letter path was
about 15 % of the report's rendering time at 1 million accompaniments (3,000 letters, issue 18).

:func:`install` puts in front of WeasyPrint's function one that lays out and draws such a simple
text in one piece — the same font, size, fill, anchor and bounding box, and the text is shaped as a
whole (kerning included) — and hands every other text to WeasyPrint's own function unchanged. It is
installed only on the WeasyPrint version it was written against (``SUPPORTED_MAJOR``); on another
version the report is drawn by WeasyPrint alone, as before.
"""

from __future__ import annotations

import threading
from math import inf

SUPPORTED_MAJOR = "70"
# attributes that position or stretch single letters: such a text keeps WeasyPrint's own drawing
PER_LETTER = ("dx", "dy", "rotate", "textLength", "letter-spacing", "lengthAdjust")

_lock = threading.Lock()
_installed: dict = {}


def _single(value: str | None) -> bool:
    return value is None or len(value.replace(",", " ").split()) <= 1


def _make(original):
    from weasyprint.css.properties import INITIAL_VALUES
    from weasyprint.draw.text import draw_emojis, draw_first_line
    from weasyprint.matrix import Matrix
    from weasyprint.svg.bounding_box import extend_bounding_box
    from weasyprint.svg.text import Style, TextBox
    from weasyprint.svg.utils import normalize, size
    from weasyprint.text.line_break import split_first_line

    def text(svg, node, font_size):
        attrib = node.attrib
        if (node.tag not in ("text", "tspan") or not node.text or any(node.get(name) is not None for name in PER_LETTER)
                or not _single(attrib.get("x")) or not _single(attrib.get("y"))):
            return original(svg, node, font_size)

        # the style as WeasyPrint's own function builds it
        style = Style()
        style.update(INITIAL_VALUES)
        style.font_config = svg.font_config
        style["font_family"] = [font.strip("\"'") for font in node.get("font-family", "sans-serif").split(",")]
        style["font_style"] = node.get("font-style", "normal")
        style["font_weight"] = node.get("font-weight", 400)
        style["font_size"] = font_size
        if node.get("direction") in ("ltr", "rtl"):
            style["direction"] = node.get("direction")
        if style["font_weight"] == "normal":
            style["font_weight"] = 400
        elif style["font_weight"] == "bold":
            style["font_weight"] = 700
        else:
            try:
                style["font_weight"] = int(style["font_weight"])
            except ValueError:
                style["font_weight"] = 400

        layout, _, _, width, height, baseline = split_first_line(node.text, style, svg.context, inf, 0)

        x = size(normalize(attrib["x"]).strip(), font_size, svg.inner_width) if "x" in attrib else None
        y = size(normalize(attrib["y"]).strip(), font_size, svg.inner_height) if "y" in attrib else None

        # vertical alignment, as WeasyPrint's function does it
        ascent, descent = font_size * .8, font_size * .2
        y_align = 0
        display_anchor = node.get("display-anchor")
        alignment_baseline = node.get("dominant-baseline", node.get("alignment-baseline"))
        if display_anchor == "middle":
            y_align = -height / 2
        elif display_anchor == "top":
            pass
        elif display_anchor == "bottom":
            y_align = -height
        elif alignment_baseline in ("central", "middle"):
            y_align = (ascent + descent) / 2 - descent
        elif alignment_baseline in ("text-before-edge", "before_edge", "top", "hanging", "text-top"):
            y_align = ascent
        elif alignment_baseline in ("text-after-edge", "after_edge", "bottom", "text-bottom"):
            y_align = -descent

        # the position of the first letter, then the pen after the last one
        if x:
            svg.cursor_d_position[0] = 0
        if y:
            svg.cursor_d_position[1] = 0
        x = svg.cursor_position[0] if x is None else x
        y = svg.cursor_position[1] if y is None else y
        svg.cursor_position = x + width, y
        x_position = x + svg.cursor_d_position[0]
        y_position = y + svg.cursor_d_position[1] + y_align
        points = ((x_position, y_position - baseline), (x_position + width, y_position - baseline + height))
        node.text_bounding_box = extend_bounding_box(node.text_bounding_box, points)

        svg.stream.push_state()
        fill, stroke = svg.set_graphical_state(node, font_size)
        svg.stream.begin_text()
        layout.reactivate(style)
        svg.fill_stroke(fill, stroke, text=True)
        text_box = TextBox(layout, style)
        text_box.baseline = baseline
        emojis = draw_first_line(svg.stream, text_box, "none", "none", Matrix(a=1, d=-1, e=x_position, f=y_position))
        svg.stream.end_text()
        svg.stream.pop_state()
        draw_emojis(svg.stream, style, x, y, emojis)

    text.weasyprint_text = original
    return text


def install() -> bool:
    """Put the one-piece drawing of simple SVG texts in front of WeasyPrint's (once). True when it
    is in place; False on a WeasyPrint version it was not written for (nothing is changed)."""
    with _lock:
        if "text" in _installed:
            return True
        import weasyprint
        from weasyprint import svg as weasy_svg

        original = weasy_svg.TAGS.get("text")
        if weasyprint.__version__.split(".")[0] != SUPPORTED_MAJOR or original is None:
            return False
        patched = _make(original)
        # draw_node recognises a text node by ``TAGS.get(node.tag) == text``: both names change
        for tag, function in list(weasy_svg.TAGS.items()):
            if function is original:
                weasy_svg.TAGS[tag] = patched
        weasy_svg.text = patched
        _installed["text"] = (original, patched)
        return True


def uninstall() -> None:
    """WeasyPrint's own function back (for comparisons and tests)."""
    with _lock:
        if "text" not in _installed:
            return
        from weasyprint import svg as weasy_svg

        original, patched = _installed.pop("text")
        for tag, function in list(weasy_svg.TAGS.items()):
            if function is patched:
                weasy_svg.TAGS[tag] = original
        weasy_svg.text = original
