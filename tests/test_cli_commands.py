"""The command line: one registry (mediation/cli.py) adds every command; the names, subcommands
and options a deployment's scripts and crontabs call stay the same."""

from __future__ import annotations

import click

# Every command and subcommand of ``flask --app mediation``, with its options and arguments.
EXPECTED = {
    'audit': [],
    'audit head': [],
    'audit verify': ['--head'],
    'backup': ['path'],
    'badges': [],
    'badges ob3-new-key': [],
    'badges reissue-phone-identities': ['--dry-run'],
    'db': ['--directory -d', '--x-arg -x'],  # Flask-Migrate (its subcommands are the library's)
    'demo': ['--no-reset --reset'],
    'evaluation': [],
    'instantanes': [],
    'evaluation relances': ['--delai'],
    'formations': [],
    'formations rappels': [],
    'jobs-recover': ['--minutes'],
    'equipment': [],
    'equipment relances': [],
    'mandates': [],
    'mandates anonymise': [],
    'mandates notify-expiring': [],
    'pathways': [],
    'pathways orientations-echues': [],
    'rendez-vous': [],
    'rendez-vous rappels': [],
    'report': ['--au', '--commune', '--compte', '--du', '--format', '--programme', '--sortie', '--structure',
               '--territoire'],
    'restore': ['--yes', 'path'],
    'retention': ['--apply --dry-run', '--months'],
    'rollups': [],
    'rollups check': [],
    'rollups rebuild': [],
    'synth': ['--accompaniments -n', '--end', '--months', '--password', '--seed', '--territories'],
    'verify-audit': ['--head'],
    'worker': ['--burst'],
}


def _walk(command: click.Command, prefix: str = "") -> dict[str, list[str]]:
    found = {}
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        path = f"{prefix}{name}"
        if path.startswith("db "):
            continue
        found[path] = sorted(" ".join(sorted(p.opts + p.secondary_opts)) for p in sub.params)
        found.update(_walk(sub, path + " "))
    return found


def test_every_command_keeps_its_name_and_options(app):
    assert _walk(app.cli) == EXPECTED


def test_flask_help_lists_the_same_commands(app):
    result = app.test_cli_runner().invoke(args=["--help"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert listed == {name for name in EXPECTED if " " not in name}
    result = app.test_cli_runner().invoke(args=["pathways", "--help"])
    assert result.exit_code == 0 and "orientations-echues" in result.output


def test_commands_come_from_the_one_registry_not_from_blueprints(app):
    """No blueprint carries commands (they would bypass mediation/cli.py)."""
    assert {name: bp.cli.commands for name, bp in app.blueprints.items() if bp.cli.commands} == {}
