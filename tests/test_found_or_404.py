"""One load-or-404 helper (mediation.policy.found_or_404) for every view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from werkzeug.exceptions import NotFound

from mediation.policy import found_or_404

ROOT = Path(__file__).resolve().parent.parent / "mediation"


def test_found_or_404_returns_the_object_or_refuses_with_404():
    thing = object()
    assert found_or_404(thing) is thing
    assert found_or_404(0) == 0  # only None is "not found"
    with pytest.raises(NotFound):
        found_or_404(None)


def test_no_view_keeps_its_own_copy():
    copies = [f"{path.relative_to(ROOT)}:{name}" for path in ROOT.rglob("*.py")
              for name in re.findall(r"\b(_or_404|_found)\b", path.read_text(encoding="utf-8"))]
    assert copies == []
