"""A job killed midway (SIGKILL of the separate process running it): nothing half-written, the job is
marked failed by ``flask --app mediation jobs-recover``, and a retry writes everything exactly once.
Runs on a dedicated database: a SQLite file, or ``mediation_fault_*`` next to TEST_DATABASE_URL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from mediation import create_app
from mediation.audit.models import AuditEvent
from mediation.auth import services as auth_services
from mediation.auth.models import Role, User
from mediation.cases.models import Beneficiary
from mediation.directory.models import Commune, StaffMembership, Structure, Territory, TerritoryKind
from mediation.extensions import db
from mediation.jobs.models import Job, JobStatus
from mediation.jobs.services import retry
from tests.conftest import is_postgres, recreate_postgres_database

ROOT = Path(__file__).resolve().parents[2]
ROWS = 3000
# The worker process runs the real import handler; once it has reported progress (rows written in
# its open transaction), it writes a marker and waits: the test kills it there, midway, every time,
# however fast the machine is.
RUN_ONE_JOB = """
import pathlib, sys, time
from mediation import create_app
from mediation.jobs import services
app = create_app()
marker = pathlib.Path(sys.argv[2])
original = services.HANDLERS["cases.import"]
def slowed(session, job, progress):
    def report(done, total=None):
        progress(done, total)
        if done and not marker.exists():
            session.flush()
            marker.write_text(str(done))
            time.sleep(120)
    return original(session, job, report)
services.HANDLERS["cases.import"] = slowed
services.run_job(app, int(sys.argv[1]))
"""


@pytest.fixture(scope="module")
def fault_db():
    folder = Path(tempfile.mkdtemp(prefix="mediation-fault-"))
    if is_postgres():
        url = recreate_postgres_database("mediation_fault")
    else:
        url = f"sqlite:///{folder / 'fault.sqlite3'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "fault",
                      "MEDIATION_ENV": "test", "MEDIATION_OUTBOX_DIR": str(folder / "outbox"), "MEDIATION_JOBS_BACKEND": "eager"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield app, url, folder
    with app.app_context():
        db.engine.dispose()


def beneficiaries(structure_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)
                             .where(Beneficiary.owner_structure_id == structure_id))


def test_import_job_killed_midway_writes_nothing_then_recovers_and_retries(fault_db):
    app, url, folder = fault_db
    with app.app_context():
        session = db.session
        territory = Territory(name="Territoire panne", kind=TerritoryKind.METROPOLE)
        commune = Commune(territory=territory, insee_code="76100", name="Panne-sur-Seine", population=1000,
                          latitude=49.4, longitude=1.1, postal_code="76100")
        structure = Structure(commune=commune, name="Structure panne", address="1 rue du Test")
        user = User(email="panne@test.example", first_name="Pan", last_name="Ne", role=Role.MEDIATOR,
                    password_hash=auth_services.hash_password("mot-de-passe-panne-1"))
        session.add_all([territory, commune, structure, user])
        session.flush()
        session.add(StaffMembership(user=user, structure=structure, started_on=date(2024, 1, 1)))
        rows = "\n".join(f"Nom{i};Prénom{i};ID-{i}" for i in range(ROWS))
        job = Job(kind="cases.import", created_by_id=user.id, structure_id=structure.id,
                  params={"kind": "beneficiaires", "structure_id": structure.id}, input_name="gros.csv",
                  input_data=f"Nom;Prénom;ID\n{rows}\n".encode())
        session.add(job)
        session.commit()
        job_id, structure_id = job.id, structure.id

    env = dict(os.environ, DATABASE_URL=url, MEDIATION_INSTANCE_PATH=str(folder), SECRET_KEY="fault",
               MEDIATION_JOBS_BACKEND="thread")
    marker = folder / f"midway-{job_id}"
    worker = subprocess.Popen([sys.executable, "-c", RUN_ONE_JOB, str(job_id), str(marker)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with app.app_context():
            deadline = time.time() + 90
            while not marker.exists():  # the job has written rows in its open transaction
                assert time.time() < deadline, "la tâche n'a pas atteint le milieu de l'import"
                assert worker.poll() is None, "le processus de la tâche s'est arrêté tout seul"
                time.sleep(0.05)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)

            db.session.rollback()
            assert db.session.get(Job, job_id).status == JobStatus.RUNNING
            assert beneficiaries(structure_id) == 0  # nothing half-written

        recovered = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "mediation", "jobs-recover",
                                    "--minutes", "0"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        assert "1 tâche(s) interrompue(s) marquée(s) en échec" in recovered.stdout

        with app.app_context():
            db.session.rollback()
            job = db.session.get(Job, job_id)
            assert job.status == JobStatus.FAILED and "rien n'a été enregistré" in job.error
            assert beneficiaries(structure_id) == 0
            retry(db.session, job)  # eager backend: runs here, in this session
            db.session.commit()
            assert job.status == JobStatus.DONE, job.error
            assert beneficiaries(structure_id) == ROWS
            assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "import.beneficiaries")) == 1
    finally:
        if worker.poll() is None:
            worker.kill()
