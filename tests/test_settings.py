"""One source for settings: one name each, read from ``app.config``, all listed in the README."""

import re
from pathlib import Path

import pytest

from mediation import create_app
from mediation.config import RENAMED, SETTINGS, from_environment, setting

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT_ONLY = {"DATABASE_URL", "SECRET_KEY", "MEDIATION_ENV", "MEDIATION_SECURE_COOKIES",
                    "MEDIATION_SESSION_MINUTES", "MEDIATION_MAX_UPLOAD_MB", "MEDIATION_INSTANCE_PATH", "PORT"}


def test_every_setting_is_listed_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))
    missing = sorted((set(SETTINGS) | ENVIRONMENT_ONLY) - listed)
    assert not missing, f"réglages absents du README : {missing}"


def test_code_reads_the_environment_only_in_config():
    readers = [path.relative_to(ROOT).as_posix() for path in (ROOT / "mediation").rglob("*.py")
               if re.search(r"os\.environ\.get|os\.getenv|os\.environ\[", path.read_text())]
    assert readers == ["mediation/config.py"]


def test_environment_value_reaches_app_config_under_the_same_name(monkeypatch):
    monkeypatch.setenv("MEDIATION_SUPPRESSION_THRESHOLD", "11")
    monkeypatch.setenv("MEDIATION_REFERRAL_DELAY_DAYS", "12")
    config = from_environment()
    assert config["MEDIATION_SUPPRESSION_THRESHOLD"] == 11
    assert config["MEDIATION_REFERRAL_DELAY_DAYS"] == 12
    # Outside an app (a script), the same name and default.
    assert setting("MEDIATION_SUPPRESSION_THRESHOLD") == 11
    monkeypatch.delenv("MEDIATION_SUPPRESSION_THRESHOLD")
    assert setting("MEDIATION_SUPPRESSION_THRESHOLD") == SETTINGS["MEDIATION_SUPPRESSION_THRESHOLD"][1]


def test_app_config_wins_inside_the_app(app):
    from mediation.evaluation.indicators import suppression_threshold

    with app.app_context():
        previous = app.config["MEDIATION_SUPPRESSION_THRESHOLD"]
        app.config["MEDIATION_SUPPRESSION_THRESHOLD"] = 7
        try:
            assert suppression_threshold() == 7
        finally:
            app.config["MEDIATION_SUPPRESSION_THRESHOLD"] = previous


def test_invalid_value_is_refused_in_french(monkeypatch):
    monkeypatch.setenv("MEDIATION_RETENTION_MONTHS", "douze")
    with pytest.raises(RuntimeError, match="MEDIATION_RETENTION_MONTHS : valeur invalide"):
        from_environment()


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_renamed_settings_are_refused_at_start_up(old):
    with pytest.raises(RuntimeError, match=RENAMED[old]):
        create_app({old: "x", "TESTING": True})
