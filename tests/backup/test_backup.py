"""Backups and restores round-trip: same rows in every table, same audit chain, a working database;
an unusable file changes nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.audit.services import record, verify_chain
from mediation.backup import BackupError, backup_database, manifest_path, restore_database, snapshot


def test_round_trip_keeps_every_row_and_the_audit_chain(scratch, tmp_path):
    source = scratch("src")
    source.fill()
    target = scratch("dst")
    target.fill(accompaniments=250, seed=11)  # different data, to be replaced entirely
    before = snapshot(source.engine)
    assert before.counts["participations"] == 600 and before.audit_events == 4

    path = tmp_path / "sauvegarde.dump"
    figures = backup_database(source.engine, path)
    assert figures == before
    manifest = json.loads(manifest_path(path).read_text())
    assert manifest["counts"] == before.counts and manifest["audit_last_hash"] == before.audit_last_hash

    result = restore_database(target.engine, path)
    assert result.snapshot == before  # every table, row for row in number, and the chain's head
    assert result.matches
    assert result.chain_ok and result.chain_checked == before.audit_events

    # the restored database works: sequences continue, the audit log is still append-only
    with Session(target.engine) as session:
        event = record(session, "structure.updated", object_type="structures", object_id=1)
        session.commit()
        assert event.id == before.audit_events + 1
        assert verify_chain(session).ok
        with pytest.raises(sa.exc.DatabaseError):
            session.execute(sa.text("UPDATE audit_events SET action = 'x'"))
        session.rollback()


def test_backup_is_consistent_while_someone_writes(scratch, tmp_path):
    source = scratch("src")
    source.fill(accompaniments=200)
    committed = snapshot(source.engine)
    with source.engine.connect() as writer:
        writer.begin()
        writer.execute(sa.text("INSERT INTO territories (name, kind, created_at) "
                               "VALUES ('En cours', 'departement', CURRENT_TIMESTAMP)"))
        path = tmp_path / "pendant.dump"
        backup_database(source.engine, path)
        writer.rollback()
    target = scratch("dst")
    restored = restore_database(target.engine, path)
    assert restored.snapshot == committed


def test_an_unusable_file_changes_nothing(scratch, tmp_path):
    target = scratch("dst")
    target.fill(accompaniments=150)
    before = snapshot(target.engine)
    garbage = tmp_path / "pas-une-sauvegarde.dump"
    garbage.write_bytes(b"ceci n'est pas une sauvegarde" * 100)
    with pytest.raises(BackupError, match="rien n'a été modifié"):
        restore_database(target.engine, garbage)
    assert snapshot(target.engine) == before
    with pytest.raises(BackupError, match="introuvable"):
        restore_database(target.engine, tmp_path / "absente.dump")
    # a backup of the other kind of database is refused before anything happens
    other = tmp_path / "autre.dump"
    other.write_bytes(b"x")
    dialect = "sqlite" if target.engine.dialect.name == "postgresql" else "postgresql"
    manifest_path(other).write_text(json.dumps({"dialect": dialect, "counts": {}}))
    with pytest.raises(BackupError, match="rien n'a été modifié"):
        restore_database(target.engine, other)
    assert snapshot(target.engine) == before


def invoke(scratch, *args, input=None):
    with scratch.app.app_context():  # as `flask --app mediation …` does
        return scratch.app.test_cli_runner().invoke(args=list(args), input=input)


def test_backup_and_restore_commands(scratch, tmp_path):
    source = scratch("src")
    source.fill(accompaniments=300)
    path = tmp_path / "cli.dump"
    result = invoke(source, "backup", str(path))
    assert result.exit_code == 0, result.output
    assert "Sauvegarde écrite" in result.output and "journal d'audit : 4 évènements" in result.output

    target = scratch("dst")
    refused = invoke(target, "restore", str(path), input="n\n")
    assert refused.exit_code != 0 and snapshot(target.engine).counts["participations"] == 0
    result = invoke(target, "restore", str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert "identiques au manifeste" in result.output
    assert "Journal d'audit intègre : 4 évènements vérifiés" in result.output
    assert snapshot(target.engine) == snapshot(source.engine)
