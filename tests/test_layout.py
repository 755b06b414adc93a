"""The layout: a favicon (linked from every page, and /favicon.ico answers), and link rows without
bullets over their text."""

from __future__ import annotations

import re
from pathlib import Path

from mediation.config import ROOT


def test_favicon_is_linked_and_served(client, login, network):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype in {"image/vnd.microsoft.icon", "image/x-icon"}
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    login(client, network.mediator)
    page = client.get("/").get_data(as_text=True)
    svg = re.search(r'<link rel="icon" href="([^"]+\.svg)"', page)
    assert svg
    icon = client.get(svg.group(1))
    try:
        assert icon.status_code == 200 and b"<svg" in icon.data
    finally:
        icon.close()
    assert '<link rel="icon" href="/favicon.ico"' in page


def test_rows_of_links_have_no_bullets():
    """« Orientations reçues | envoyées » is a <ul class="actions"> laid out as a flex row: its
    bullets sat over the last letter of the previous link."""
    css = Path(ROOT / "static/css/app.css").read_text(encoding="utf-8")
    rule = re.search(r"ul\.actions\s*\{([^}]*)\}", css)
    assert rule and "list-style: none" in rule.group(1)


def test_referral_tabs_use_that_row(client, login, network):
    login(client, network.mediator)
    page = client.get("/parcours/orientations?sens=recues").get_data(as_text=True)
    assert '<nav aria-label="Sens des orientations"><ul class="actions">' in page
