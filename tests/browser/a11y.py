"""Accessibility checks with axe-core (bundled by ``axe-playwright-python``): WCAG 2.1 A and AA."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
_axe = Axe()


def format_violations(url: str, violations: list[dict]) -> str:
    lines = [f"{len(violations)} règle(s) WCAG 2.1 A/AA non respectée(s) sur {url} :"]
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"][:10]:
            lines.append(f"    cible : {' '.join(map(str, node['target']))}")
            lines.append(f"    html  : {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            if summary:
                lines.append(f"    motif : {summary[:300]}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    … et {len(violation['nodes']) - 10} autre(s) élément(s)")
    return "\n".join(lines)


def a11y_report(page) -> str | None:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, readably, or None."""
    page.wait_for_load_state("load")
    results = _axe.run(page, options=AXE_OPTIONS)
    tracker = getattr(page, "_a11y_tracker", None)
    if tracker is not None:
        tracker.checked()
    violations = results.response["violations"]
    return format_violations(page.url, violations) if violations else None


def check_a11y(page) -> None:
    """Fail the test if the page, as it is now, breaks a WCAG 2.1 A/AA rule that axe-core checks."""
    report = a11y_report(page)
    if report:
        pytest.fail(report, pytrace=False)
