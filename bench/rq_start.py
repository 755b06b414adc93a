"""How long an RQ job waits between being handed to an idle worker and starting.

    python -m bench.rq_start [--jobs 6] [--database-url postgresql://…/mediation_rqstart] [--redis-url …]

Starts one ``flask --app mediation worker`` (its own start-up is not measured: we wait until it has
registered with Redis), then enqueues cheap jobs (``pathways.expire_referrals`` on an empty
database) one at a time, each once the previous one is done, so that no job waits for a busy
worker. For each: enqueue (commit, then the RQ push) → ``started_at`` written by the work horse
before the handler runs, and → ``finished_at``; and the CPU time of the work horses (the worker's
reaped children, from /proc: independent of the machine's load). Prints ``name: value`` lines.
Dedicated database (created and migrated if missing) and Redis database (12), emptied first."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "mediation"


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rq_start", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=6, help="tâches mesurées, l'une après l'autre")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/mediation_rqstart")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    return parser.parse_args(argv)


def prepare_database(url: str):
    from flask_migrate import upgrade

    from mediation import create_app

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}):
                connection.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MEDIATION_ENV": "development", "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
    return app


def wait_for_worker(connection, process: subprocess.Popen, timeout: float = 120) -> None:
    from rq import Worker

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"le worker s'est arrêté (code {process.returncode})")
        if any(worker.pid == process.pid for worker in Worker.all(connection=connection)):
            return
        time.sleep(0.1)
    raise RuntimeError("le worker ne s'est pas enregistré")


def children_cpu_ms(pid: int) -> float:
    """CPU time (user + system) of the reaped children of ``pid``: here, the work horses."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) * 1000 / os.sysconf("SC_CLK_TCK")


def run_one(app) -> tuple[float, float]:
    """Enqueue one job, wait for it; milliseconds from the enqueue to its start and to its end."""
    from mediation.extensions import db
    from mediation.jobs import enqueue
    from mediation.jobs.models import Job, JobStatus

    with app.app_context():
        job = enqueue(db.session, "pathways.expire_referrals")
        job_id = job.id
        db.session.commit()  # the RQ push happens in after_commit
        sent = datetime.now(UTC)
        db.session.remove()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(Job, job_id)
            status, started, finished = job.status, job.started_at, job.finished_at
            db.session.remove()
        if status in (JobStatus.DONE, JobStatus.FAILED):
            if status != JobStatus.DONE:
                raise RuntimeError(f"tâche {job_id} en échec")
            return ((started - sent).total_seconds() * 1000, (finished - sent).total_seconds() * 1000)
        time.sleep(0.02)
    raise RuntimeError(f"tâche {job_id} non terminée")


def main(argv=None) -> int:
    args = parse(argv)
    from redis import Redis
    from rq import Queue

    app = prepare_database(args.database_url)
    app.config.update(MEDIATION_JOBS_BACKEND="rq", REDIS_URL=args.redis_url)
    connection = Redis.from_url(args.redis_url)
    Queue(QUEUE, connection=connection).empty()
    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
           "MEDIATION_ENV": "development", "SECRET_KEY": "bench"}
    worker = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "mediation", "worker"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.monotonic()
        wait_for_worker(connection, worker)
        print(f"worker_ready_s: {time.monotonic() - started:.1f}")
        starts, ends = [], []
        cpu_before = children_cpu_ms(worker.pid)
        for number in range(1, args.jobs + 1):
            start_ms, end_ms = run_one(app)
            starts.append(start_ms)
            ends.append(end_ms)
            print(f"job{number}.start_ms: {start_ms:.0f}  (terminée : {end_ms:.0f})", flush=True)
        print(f"work_horse_cpu_ms.mean: {(children_cpu_ms(worker.pid) - cpu_before) / args.jobs:.0f}")
        print(f"start_ms.median: {statistics.median(starts):.0f}")
        print(f"start_ms.min_max: {min(starts):.0f} {max(starts):.0f}")
        print(f"done_ms.median: {statistics.median(ends):.0f}")
        print(f"loadavg_1min: {os.getloadavg()[0]:.1f}")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        with app.app_context():
            from mediation.extensions import db

            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
