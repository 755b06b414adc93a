"""Every domain note a docstring cites is in the repository, with the sections it names."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"docs/domain/([\w-]+\.md)((?:(?:[ ,]|and|\n)*§\d+(?:\.\d+)?(?:[–-]§?\d+(?:\.\d+)?)?)*)")
SECTION = re.compile(r"§(\d+(?:\.\d+)?)")


def _citations() -> list[tuple[str, str, list[str]]]:
    found = []
    for path in sorted([*ROOT.glob("mediation/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/**/*.py")]):
        for match in CITATION.finditer(path.read_text(encoding="utf-8")):
            found.append((str(path.relative_to(ROOT)), match.group(1), SECTION.findall(match.group(2))))
    return found


def test_cited_domain_notes_and_sections_exist():
    citations = _citations()
    assert len(citations) >= 19
    for where, note, sections in citations:
        path = ROOT / "docs" / "domain" / note
        assert path.is_file(), f"{where} cites a missing note {note}"
        headings = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", path.read_text(encoding="utf-8"), re.M)
        for section in sections:
            assert section in headings, f"{where} cites {note} §{section}, which has no such heading"


def test_no_docstring_cites_notes_outside_the_repository():
    for path in ROOT.glob("mediation/**/*.py"):
        assert "shared/domain" not in path.read_text(encoding="utf-8"), path
