"""The read replica, for real: a PostgreSQL primary and its hot standby (tests/replica/conftest.py).

The dashboard, the statistics, the exports, the API's indicators and the reports read the
standby; everything else reads the primary. A person who just saved something sees it on those
pages (read-your-writes), while another person is served the standby's slightly older state; a
standby too far behind, or stopped, is left aside with a log line. Replay is paused on the
standby (``pg_wal_replay_pause()``) to hold a write back from it."""

from __future__ import annotations

import csv
import io
import logging
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation import replica as replica_module
from mediation.extensions import db
from mediation.types import local_today
from tests.conftest import PASSWORD
from tests.helpers import count_queries

YESTERDAY = (local_today() - timedelta(days=1)).isoformat()
ROUTED_PAGES = ["/evaluation/", "/evaluation/export.csv", "/evaluation/export.xlsx", "/evaluation/activites.csv",
                "/evaluation/activites.xlsx", "/statistiques/", "/statistiques/export.xlsx"]
DOMAIN_TABLES = ("FROM activities", "FROM participations", "JOIN participations", "_rollups")


@pytest.fixture
def the_replica(replica_app):
    with replica_app.app_context():
        found = replica_module.current()
    found._down_until, found._trouble = 0.0, None
    return found


def signed_in(app, cluster, people):
    client = app.test_client()
    response = client.post("/connexion", data={"email": people.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    cluster.wait_replayed()  # the sign-in itself is a write: let the standby replay it
    return client


def log_activity(client, people) -> None:
    response = client.post("/activites/nouvelle", data={
        "structure_id": str(people.structure_id), "date": YESTERDAY, "duration": "30",
        "place_type": "lieu_activite", "place_structure_id": str(people.structure_id),
        "thematiques": ["email"], "autonomie": "partiellement_autonome", "oriented": "non"})
    assert response.status_code == 302, response.get_data(as_text=True)


def exported_activities(client) -> int:
    """Rows of the anonymised activity export (one per accompaniment) the client downloads."""
    response = client.get("/evaluation/activites.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    return sum(1 for row in rows if YESTERDAY[8:10] + "/" + YESTERDAY[5:7] + "/" + YESTERDAY[:4] in ";".join(row))


def served(app, the_replica, do):
    """(result of ``do()``, reads run on the replica, domain reads run on the primary)."""
    with app.app_context():
        primary = db.engine
    with count_queries(the_replica.engine) as on_replica, count_queries(primary) as on_primary:
        result = do()
    reads = [s for s in on_replica if "pg_is_in_recovery()" not in s]  # not the replica's status checks
    return result, reads, [s for s in on_primary if any(t in s for t in DOMAIN_TABLES)]


def test_read_only_pages_read_the_replica_and_the_others_the_primary(replica_app, cluster, people, the_replica):
    client = signed_in(replica_app, cluster, people)
    log_activity(client, people)
    cluster.wait_replayed()
    for url in ROUTED_PAGES:
        response, on_replica, domain_on_primary = served(replica_app, the_replica, lambda url=url: client.get(url))
        assert response.status_code == 200, url
        assert on_replica and not domain_on_primary, url
    response, on_replica, domain_on_primary = served(replica_app, the_replica, lambda: client.get(
        "/api/v1/indicateurs", headers={"Authorization": f"Bearer {people.token}"}))
    assert response.status_code == 200 and response.json["sections"]
    assert on_replica and not domain_on_primary
    # The pages a person works in read the primary.
    for url in ("/activites", "/"):
        response, on_replica, _ = served(replica_app, the_replica, lambda url=url: client.get(url))
        assert response.status_code == 200 and not on_replica, url


def test_a_person_sees_their_own_write_while_the_replica_has_not_replayed_it(replica_app, cluster, people,
                                                                             the_replica):
    writer = signed_in(replica_app, cluster, people)
    reader = signed_in(replica_app, cluster, people)  # the same colleague account, another browser
    before = exported_activities(reader)
    cluster.pause_replay()
    try:
        log_activity(writer, people)
        with writer.session_transaction() as cookie:
            assert cookie[replica_module.SESSION_KEY] > 0  # the primary's position after the write
        # The writer's export reads the primary: the new activity is there.
        count, on_replica, _ = served(replica_app, the_replica, lambda: exported_activities(writer))
        assert count == before + 1 and not on_replica
        # Another browser is served by the replica, which has not replayed it yet (within the lag limit).
        count, on_replica, _ = served(replica_app, the_replica, lambda: exported_activities(reader))
        assert count == before and on_replica
        # The activity list is not a replica page: everyone sees the new activity at once.
        page, on_replica, _ = served(replica_app, the_replica, lambda: reader.get("/activites"))
        assert page.status_code == 200 and not on_replica
    finally:
        cluster.resume_replay()
    cluster.wait_replayed()
    # Replayed: the writer's pages read the replica again, and the position is forgotten.
    count, on_replica, _ = served(replica_app, the_replica, lambda: exported_activities(writer))
    assert count == before + 1 and on_replica
    with writer.session_transaction() as cookie:
        assert replica_module.SESSION_KEY not in cookie
    assert exported_activities(reader) == before + 1


def test_a_replica_behind_the_lag_limit_is_left_aside_with_a_log_line(replica_app, cluster, people, the_replica,
                                                                      monkeypatch, caplog):
    writer = signed_in(replica_app, cluster, people)
    reader = signed_in(replica_app, cluster, people)
    before = exported_activities(reader)
    monkeypatch.setattr(the_replica, "max_lag", 0.5)
    monkeypatch.setattr(replica_module, "STATUS_SECONDS", 0.0)
    cluster.pause_replay()
    try:
        log_activity(writer, people)
        time.sleep(1.0)  # the standby received the write but has not replayed it for over 0.5 s
        with caplog.at_level(logging.WARNING, logger="mediation.replica"):
            count, on_replica, domain_on_primary = served(replica_app, the_replica, lambda: exported_activities(reader))
        assert count == before + 1 and not on_replica and domain_on_primary
        assert "read replica behind by" in caplog.text and "limit 0.5 s" in caplog.text
        assert people.email not in caplog.text and "Réplique" not in caplog.text
    finally:
        cluster.resume_replay()
    cluster.wait_replayed()
    count, on_replica, _ = served(replica_app, the_replica, lambda: exported_activities(reader))
    assert count == before + 1 and on_replica


def test_a_stopped_replica_is_left_aside_with_a_log_line_then_used_again(replica_app, cluster, people, the_replica,
                                                                         monkeypatch, caplog):
    client = signed_in(replica_app, cluster, people)
    before = exported_activities(client)
    the_replica.status(fresh=True)  # measured just now: the next page still picks the replica
    cluster.stop_standby()
    try:
        with caplog.at_level(logging.INFO, logger="mediation.replica"):
            # The replica dies under the page: the page is read again from the primary.
            count, on_replica, domain_on_primary = served(replica_app, the_replica, lambda: exported_activities(client))
            assert count == before and domain_on_primary
            assert "read replica unavailable (OperationalError)" in caplog.text
            caplog.clear()
            # Set aside for RETRY_SECONDS: the dashboard reads the primary without trying the replica.
            response, on_replica, _ = served(replica_app, the_replica, lambda: client.get("/evaluation/"))
            assert response.status_code == 200 and not on_replica
    finally:
        cluster.start_standby()
    monkeypatch.setattr(replica_module, "RETRY_SECONDS", 0.0)
    the_replica._down_until = 0.0
    cluster.wait_replayed()
    with caplog.at_level(logging.INFO, logger="mediation.replica"):
        count, on_replica, _ = served(replica_app, the_replica, lambda: exported_activities(client))
    assert count == before and on_replica
    assert "read replica usable again" in caplog.text


def test_a_report_reads_the_replica_only_once_it_has_caught_up(replica_app, cluster, people, the_replica, monkeypatch):
    from mediation.auth.models import User
    from mediation.evaluation import report
    from mediation.evaluation.models import ReportFormat
    from mediation.evaluation.scope import parse_filter

    monkeypatch.setattr(replica_module, "JOB_WAIT_SECONDS", 0.3)
    cluster.wait_replayed()

    def build():
        with replica_app.app_context():
            user = db.session.get(User, people.mediator_id)
            content, _, _ = report.build(db.session, user, parse_filter({}), ReportFormat.CSV)
            db.session.rollback()
            return content

    content, on_replica, domain_on_primary = served(replica_app, the_replica, build)
    assert content and on_replica and not domain_on_primary
    writer = signed_in(replica_app, cluster, people)
    cluster.pause_replay()
    try:
        log_activity(writer, people)  # committed on the primary before the report starts
        content, on_replica, domain_on_primary = served(replica_app, the_replica, build)
        assert content and not on_replica and domain_on_primary
    finally:
        cluster.resume_replay()


def test_an_event_recorded_in_a_block_reading_the_replica_is_written_on_the_primary(replica_app, cluster, people):
    """The audit event joins the session without a flush and is written when the transaction
    commits: recorded while the block reads the replica, it still goes to the primary (a standby
    refuses writes), and the block's later reads go there too."""
    from mediation.audit import services as audit
    from mediation.audit.models import AuditEvent

    cluster.wait_replayed()
    with replica_app.app_context():
        with replica_module.reads(db.session):
            assert db.session.info.get(replica_module.READ_BIND) is not None  # reading the standby
            event = audit.record(db.session, "retention.run", details={"n": 7})
            db.session.commit()
        db.session.expire_all()
        stored = db.session.get(AuditEvent, event.id)
        assert stored is not None and stored.hash == event.hash and stored.details == {"n": 7}


def test_only_read_only_views_are_routed_to_the_replica(replica_app):
    routed = {rule.endpoint: rule.methods - {"HEAD", "OPTIONS"} for rule in replica_app.url_map.iter_rules()
              if getattr(replica_app.view_functions[rule.endpoint], "reads_from_replica", False)}
    assert routed == {
        "evaluation.dashboard": {"GET"}, "evaluation.export_xlsx": {"GET"}, "evaluation.export_csv": {"GET"},
        "evaluation.open_data": {"GET"}, "evaluation.export_activities": {"GET"},
        "statistiques.index": {"GET"}, "statistiques.export_xlsx": {"GET"}, "api.indicators_get": {"GET"},
    }


def test_a_replica_needs_a_postgresql_primary(tmp_path):
    from mediation import create_app

    with pytest.raises(RuntimeError, match="une réplique de lecture demande une base principale PostgreSQL"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "MEDIATION_ENV": "test",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                    "DATABASE_REPLICA_URL": "postgresql://postgres@127.0.0.1:1/x"})


def test_without_a_replica_nothing_changes(app):
    with app.app_context():
        assert replica_module.current() is None
        assert db.session.execute(sa.text("SELECT 1")).scalar() == 1
