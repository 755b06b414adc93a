"""Every page a role can reach by following links opens without error and passes axe-core.

A crawl from the home page: same-site links only, one URL per route shape (numeric ids folded),
never the sign-out button (a form) nor downloads or the API; a response that is not HTML (the
Open Badges JSON-LD documents under /ob/, images) is fetched but not checked as a page. GET pages never write, so crawling
the live demo is safe. The administrator (who reaches the most pages) crawls on a 320 px wide
screen, where no page may scroll sideways (WCAG 1.4.10, reflow); wide tables scroll in their
own box.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.browser.a11y import a11y_report

SKIPPED = re.compile(r"(^/static/|^/api/|\.(csv|pdf|xlsx|json|zip|ics)$)")
MAX_PAGES = 150
NARROW = {"width": 320, "height": 720}


def _shape(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/<id>", path)


def _overflow(page) -> str | None:
    """Elements that make the page scroll sideways, or None."""
    if page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
        return None
    culprits = page.evaluate(
        """() => [...document.querySelectorAll('main *, header *, footer *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= window.innerWidth + 1)
            .slice(0, 5).map(e => e.outerHTML.slice(0, 120))"""
    )
    return "; ".join(culprits) or "?"


def crawl(page, base_url: str, *, reflow: bool = False) -> tuple[list[str], list[str]]:
    """Visit every route shape reachable from the home page; returns (visited, problems)."""
    host = urlsplit(base_url).netloc
    queue, shapes, visited, problems = ["/"], set(), [], []
    while queue and len(visited) < MAX_PAGES:
        url = queue.pop(0)
        shape = _shape(urlsplit(url).path)
        if shape in shapes:
            continue
        shapes.add(shape)
        response = page.goto(url)
        visited.append(url)
        if response is None or response.status >= 400:
            problems.append(f"{url}: HTTP {response.status if response else '?'}")
        if response is not None and "text/html" not in response.headers.get("content-type", ""):
            continue  # JSON-LD (Open Badges documents), images, files: not pages to check
        report = a11y_report(page)
        if report:
            problems.append(report)
        if reflow and (culprits := _overflow(page)):
            problems.append(f"{url}: la page défile horizontalement à {page.viewport_size['width']} px "
                            f"(WCAG 1.4.10) à cause de : {culprits}")
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            target = urlsplit(href)
            if target.netloc != host or SKIPPED.search(target.path) or _shape(target.path) in shapes:
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return visited, problems


@pytest.mark.parametrize(("email", "viewport"), [
    ("admin@demo.test", NARROW),
    ("mediateur@demo.test", None),
    ("financeur@demo.test", None),
])
def test_every_reachable_page_is_accessible(page, live_server, sign_in, email, viewport):
    if viewport:
        page.set_viewport_size(viewport)
    sign_in(page, email)
    visited, problems = crawl(page, live_server.url, reflow=viewport is not None)
    assert len(visited) >= 2, visited
    assert not problems, f"{len(problems)} problème(s) sur {len(visited)} pages :\n\n" + "\n\n".join(problems)
