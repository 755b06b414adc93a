"""Migration 0024 on a real database: each aidant's training date becomes an Aidants Connect record
(valid three years), nothing is lost, and the downgrade gives the date back."""

from __future__ import annotations

import sqlalchemy as sa

from tests.directory.test_migration_0019 import migration_app


def test_training_dates_become_habilitation_records_and_come_back(tmp_path):
    from flask_migrate import downgrade, upgrade

    from mediation.extensions import db

    with migration_app(tmp_path):
        upgrade(revision="0019")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO users (id, email, first_name, last_name, role, is_conseiller_numerique, is_aidant, "
                "aidant_trained_on, is_active_account, recovery_codes, created_at) VALUES "
                "(1, 'a@x.fr', 'Ana', 'Aidant', 'mediator', false, true, '2024-02-29', true, '[]', CURRENT_TIMESTAMP), "
                "(2, 'b@x.fr', 'Bo', 'Plain', 'mediator', false, false, NULL, true, '[]', CURRENT_TIMESTAMP)"))
        upgrade(revision="0024")
        with db.engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT user_id, kind, obtained_on, expires_on FROM training_records")).all()
            assert [(r[0], r[1], str(r[2]), str(r[3])) for r in rows] == [
                (1, "aidants_connect", "2024-02-29", "2027-02-28")]
            columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
            assert "aidant_trained_on" not in columns
        downgrade(revision="0019")
        with db.engine.begin() as conn:
            dates = conn.execute(sa.text("SELECT id, aidant_trained_on FROM users ORDER BY id")).all()
            assert [(i, str(d) if d else None) for i, d in dates] == [(1, "2024-02-29"), (2, None)]
        upgrade()
