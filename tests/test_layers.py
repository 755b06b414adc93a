"""The layers of pyproject.toml hold, and import-linter would catch a lower domain calling a
higher one, even through an import hidden inside a function (the way cases used to reach pathways
and badges)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(where: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(where)}  # this copy of the package, not an installed one
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=where, env=env, capture_output=True,
                          text=True, timeout=120)


def test_an_upward_import_inside_a_function_breaks_the_layers(tmp_path):
    shutil.copytree(ROOT / "mediation", tmp_path / "mediation",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")

    clean = _lint(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "1 kept, 0 broken" in clean.stdout

    module = tmp_path / "mediation" / "cases" / "activities.py"
    module.write_text(module.read_text() + "\n\ndef f():\n    from mediation.badges import services\n\n"
                      "    return services\n")
    broken = _lint(tmp_path)
    assert broken.returncode != 0
    assert "mediation.cases is not allowed to import mediation.badges" in broken.stdout
    assert "mediation.cases.activities -> mediation.badges.services" in broken.stdout
