"""Load test, optionally with a PostgreSQL restart in the middle (fault test), or on several servers.

    python -m loadtest [--duration 60] [--users 50] [--workers 3] [--fault] [--accompaniments 50000]
    python -m loadtest --servers 2 --rq [--rq-workers 2] [--report-users 3] [--redis-url redis://…/13]

1. a dedicated database ``mediation_load`` on 127.0.0.1:5432 (created, migrated by Alembic, filled by
   ``flask synth`` once; reused when already filled), ``--users`` mediators given a known password;
2. gunicorn (gthread) on a free loopback port, locust headless for ``--duration`` seconds (stops by itself);
3. with ``--fault``: ``pg_ctlcluster … main restart`` a third of the way through (PostgreSQL is started
   again in a ``finally`` whatever happens);
4. checks: every acknowledged write (302 → /activites/<id>) is in the database exactly once, every activity
   the load created was acknowledged and has its audit event (no partial record), no 5xx other than the
   French 503 during the restart, writes acknowledged after the restart; figures printed as ``name: value``.

Multi-server mode (``--servers N``, the deployment of docs/operations.md): N gunicorn processes on
their own ports and the same database, behind :mod:`loadtest.proxy` (round robin per request), which
locust talks to. With ``--rq``, ``REDIS_URL`` is set for all of them (a dedicated Redis database,
its queue emptied first) and ``--rq-workers`` ``flask worker`` processes run the jobs;
``--report-users`` of the users ask for impact reports (PDF, XLSX) and wait for them. Extra checks:
every job acknowledged (302 → /taches/<id>) ends ``done``, has exactly one report file and its audit
event, and was run once, by one of our RQ workers (RQ's registry of finished jobs); the jobs created
by the load are exactly those acknowledged. Per-server request counts (proxy, and each server's
access log), per-worker job counts.
Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
OUT = ROOT / "instance" / "loadtest"
PASSWORD = "charge-mot-de-passe-42"


def pg_cluster_command(action: str) -> list[str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]


def ensure_postgres_running() -> None:
    """Start the cluster when it is down (used in ``finally``)."""
    status = subprocess.run(pg_cluster_command("status"), capture_output=True, text=True)
    if status.returncode != 0:
        subprocess.run(pg_cluster_command("start"), check=False)
    for _ in range(60):
        try:
            import psycopg

            psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=2).close()
            return
        except Exception:  # noqa: BLE001
            time.sleep(0.5)
    raise RuntimeError("PostgreSQL ne répond pas")


def flask(env: dict, *args: str) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "mediation", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def prepare(url: str, accompaniments: int, users: int) -> list[dict]:
    base = sa.engine.make_url(url)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": base.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{base.database}"'))
    admin.dispose()
    env = dict(os.environ, DATABASE_URL=url, MEDIATION_INSTANCE_PATH=str(OUT), SECRET_KEY="loadtest")
    flask(env, "db", "upgrade")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        filled = conn.scalar(sa.text("SELECT count(*) FROM activities"))
    if filled < accompaniments // 2:
        print(f"# synthèse de {accompaniments} accompagnements dans {base.database}…", flush=True)
        flask(env, "synth", "--accompaniments", str(accompaniments), "--seed", "1")
    from argon2 import PasswordHasher

    password_hash = PasswordHasher().hash(PASSWORD)
    with engine.begin() as conn:
        rows = conn.execute(sa.text(
            "SELECT u.id, u.email, min(m.structure_id) AS structure_id FROM users u "
            "JOIN staff_memberships m ON m.user_id = u.id AND m.ended_on IS NULL AND m.started_on <= CURRENT_DATE "
            "WHERE u.role = 'mediator' AND NOT u.is_aidant AND u.is_active_account "
            "GROUP BY u.id, u.email ORDER BY u.id LIMIT :n"), {"n": users}).all()
        if len(rows) < users:
            raise SystemExit(f"seulement {len(rows)} médiateurs utilisables pour {users} utilisateurs")
        conn.execute(sa.text("UPDATE users SET password_hash = :h WHERE id = ANY(:ids)"),
                     {"h": password_hash, "ids": [r.id for r in rows]})
    engine.dispose()
    return [{"id": r.id, "email": r.email, "structure_id": r.structure_id} for r in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int) -> None:
    import urllib.request

    for _ in range(120):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sante", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("gunicorn n'a pas démarré")


def start_redis(url: str):
    """The RQ queue on a dedicated Redis database, emptied of any earlier run's jobs."""
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(url)
    connection.ping()
    queue = Queue("mediation", connection=connection)
    queue.empty()
    return queue


def wait_for_rq_workers(queue, pids: list[int]) -> dict[str, int]:
    """Worker name → 1-based index of our worker processes, once they have all registered."""
    from rq import Worker

    for _ in range(120):
        names = {w.name: pids.index(w.pid) + 1 for w in Worker.all(queue=queue) if w.pid in pids}
        if len(names) == len(pids):
            return names
        time.sleep(0.5)
    raise RuntimeError("les workers RQ ne se sont pas enregistrés")


def wait_for_jobs(engine, first_job_id: int, user_ids: list[int], timeout: int = 600) -> float:
    """Seconds waited after the load until no job of the load is queued or running."""
    started = time.time()
    while time.time() - started < timeout:
        with engine.begin() as conn:
            pending = conn.scalar(sa.text(
                "SELECT count(*) FROM jobs WHERE id >= :first AND created_by_id = ANY(:users) "
                "AND status IN ('queued', 'running')"), {"first": first_job_id, "users": user_ids})
        if not pending:
            break
        time.sleep(1)
    return time.time() - started


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest")
    parser.add_argument("--duration", type=int, default=int(os.environ.get("LOADTEST_DURATION", "60")),
                        help="secondes de charge (défaut 60 ; 180 pour la mesure de référence)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3, help="processus gunicorn par serveur")
    parser.add_argument("--accompaniments", type=int, default=50_000)
    parser.add_argument("--fault", action="store_true", help="redémarrer PostgreSQL pendant la charge")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/mediation_load")
    parser.add_argument("--servers", type=int, default=1,
                        help="serveurs gunicorn (ports distincts, même base) derrière un mandataire tourniquet")
    parser.add_argument("--rq", action="store_true", help="tâches longues dans RQ (REDIS_URL), par des workers")
    parser.add_argument("--rq-workers", type=int, default=2, help="processus « flask worker » (avec --rq)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13",
                        help="base Redis dédiée à l'essai (sa file « mediation » est vidée au départ)")
    parser.add_argument("--report-users", type=int, default=None,
                        help="utilisateurs (parmi --users) qui demandent des rapports d'impact (défaut : 3 avec --rq)")
    args = parser.parse_args()
    if args.report_users is None:
        args.report_users = 3 if args.rq else 0
    if args.fault and (args.servers > 1 or args.rq):
        parser.error("--fault se lance avec un seul serveur, sans --rq")

    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("acknowledged.txt", "errors.txt", "jobs.txt", "jobs_done.txt"):
        (OUT / name).write_text("")
    ensure_postgres_running()
    accounts = prepare(args.url, args.accompaniments, args.users)
    (OUT / "accounts.json").write_text(json.dumps(accounts))
    ids = [a["id"] for a in accounts]
    engine = sa.create_engine(args.url.replace("postgresql://", "postgresql+psycopg://"), pool_pre_ping=True)
    with engine.begin() as conn:
        first_new_id = conn.scalar(sa.text("SELECT coalesce(max(id), 0) + 1 FROM activities"))
        first_job_id = conn.scalar(sa.text("SELECT coalesce(max(id), 0) + 1 FROM jobs"))

    env = dict(os.environ, DATABASE_URL=args.url, SECRET_KEY="loadtest", MEDIATION_ENV="development",
               MEDIATION_SECURE_COOKIES="0", MEDIATION_INSTANCE_PATH=str(OUT), MEDIATION_LOGIN_MAX_FAILURES="100000",
               MEDIATION_LOGIN_ADDRESS_MAX_FAILURES="100000", MEDIATION_LOGIN_ACCOUNT_MAX_FAILURES="100000",
               MEDIATION_SESSION_MINUTES="600", LOADTEST_OUT=str(OUT), LOADTEST_PASSWORD=PASSWORD,
               LOADTEST_REPORT_USERS=str(args.report_users))
    env.pop("REDIS_URL", None)
    queue = None
    if args.rq:
        env["REDIS_URL"] = args.redis_url
        queue = start_redis(args.redis_url)
    multi = args.servers > 1
    ports = [free_port() for _ in range(args.servers)]
    processes: list[subprocess.Popen] = []
    logs = []
    for number, port in enumerate(ports, start=1):
        suffix = f"-{number}" if multi else ""
        logs.append(open(OUT / f"gunicorn{suffix}.log", "w"))  # noqa: SIM115
        access = []
        if multi:
            (OUT / f"access{suffix}.log").write_text("")  # gunicorn appends
            access = ["--access-logfile", str(OUT / f"access{suffix}.log")]
        processes.append(subprocess.Popen(
            [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", str(args.workers), "--threads", "4",
             "--bind", f"127.0.0.1:{port}", "--keep-alive", "30", *access, "wsgi:app"],
            cwd=ROOT, env=env, stdout=logs[-1], stderr=subprocess.STDOUT))
    rq_workers: list[subprocess.Popen] = []
    for number in range(1, (args.rq_workers if args.rq else 0) + 1):
        logs.append(open(OUT / f"rq-worker-{number}.log", "w"))  # noqa: SIM115
        rq_workers.append(subprocess.Popen([str(BIN / "flask"), "--app", "mediation", "worker"], cwd=ROOT, env=env,
                                           stdout=logs[-1], stderr=subprocess.STDOUT))
    proxy = None
    restart: dict[str, float] = {}
    extra: dict = {"first_job_id": first_job_id}
    try:
        for port in ports:
            wait_for(port)
        if queue is not None:
            extra["rq_worker_names"] = wait_for_rq_workers(queue, [w.pid for w in rq_workers])
        host_port = ports[0]
        if multi:
            from loadtest.proxy import RoundRobinProxy

            proxy = RoundRobinProxy(free_port(), ports)
            proxy.start()
            host_port = proxy.port

        def fault() -> None:
            time.sleep(args.duration / 3)
            restart["start"] = time.time()
            subprocess.run(pg_cluster_command("restart"), check=False, capture_output=True)
            restart["end"] = time.time()

        faulter = threading.Thread(target=fault, daemon=True)
        started = time.time()
        if args.fault:
            faulter.start()
        user_classes = ["Mediator"] + (["ReportRequester"] if args.report_users else [])
        subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "loadtest" / "locustfile.py"), "--headless",
             "-u", str(args.users), "-r", str(max(1, args.users // 5)), "-t", f"{args.duration}s",
             "--host", f"http://127.0.0.1:{host_port}", "--csv", str(OUT / "locust"), "--only-summary",
             "--stop-timeout", "10", "--exit-code-on-error", "0", *user_classes],
            cwd=ROOT, env=env, check=False, timeout=args.duration + 120)
        elapsed = time.time() - started
        if args.fault:
            faulter.join(timeout=120)
        if args.report_users:
            extra["jobs_drain_s"] = wait_for_jobs(engine, first_job_id, ids)
    finally:
        if proxy is not None:
            proxy.stop()
        for process in processes + rq_workers:
            stop(process)
        for log in logs:
            log.close()
        ensure_postgres_running()
    return check(engine, args, ids, first_new_id, elapsed, restart, proxy, queue, extra)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, round(q * (len(values) - 1)))], 1)


def check_servers(args, proxy, results: dict) -> list[str]:
    """Requests per server, as the proxy counted them and as each server's access log has them."""
    failures = []
    for index in range(args.servers):
        number = index + 1
        # Not counted: the start-up health checks (``wait_for``), sent to the server directly.
        logged = sum(1 for line in (OUT / f"access-{number}.log").read_text().splitlines()
                     if '"GET /sante ' not in line)
        results[f"server{number}.requests"] = proxy.requests[index]
        results[f"server{number}.posts"] = proxy.posts[index]
        results[f"server{number}.http_5xx"] = proxy.statuses[index]["5xx"]
        results[f"server{number}.access_log_lines"] = logged
        results[f"server{number}.connections_refused"] = proxy.refused[index]
        if proxy.requests[index] == 0:
            failures.append(f"le serveur {number} n'a reçu aucune requête")
        if logged != proxy.requests[index]:
            failures.append(f"serveur {number} : {logged} requêtes journalisées pour {proxy.requests[index]} relayées")
    return failures


def check_jobs(engine, args, user_ids, queue, extra, results: dict) -> list[str]:
    """Every acknowledged job done, once, by one of our RQ workers, with its report and audit event."""
    acked = [line.split("\t") for line in (OUT / "jobs.txt").read_text().splitlines() if line]
    acked_ids = [int(a[0]) for a in acked]
    seen = [line.split("\t") for line in (OUT / "jobs_done.txt").read_text().splitlines() if line]
    with engine.begin() as conn:
        rows = conn.execute(sa.text(
            "SELECT j.id, j.status, j.params->>'format' AS format, "
            "extract(epoch FROM j.started_at - j.created_at) AS wait_s, "
            "extract(epoch FROM j.finished_at - j.started_at) AS run_s, j.attempts, "
            "(SELECT count(*) FROM evaluation_reports r WHERE r.job_id = j.id) AS files, "
            "(SELECT count(*) FROM audit_events e JOIN evaluation_reports r ON e.object_id = r.id::text "
            " WHERE r.job_id = j.id AND e.action = 'report.generated' "
            " AND e.object_type = 'evaluation_reports') AS audits "
            "FROM jobs j WHERE j.id >= :first AND j.created_by_id = ANY(:users)"),
            {"first": extra["first_job_id"], "users": user_ids}).all()
    by_id = {r.id: r for r in rows}
    done = [r for r in rows if r.status == "done"]
    results["jobs_acknowledged"] = len(acked_ids)
    results["jobs_acknowledged_pdf"] = sum(1 for a in acked if a[1] == "pdf")
    results["jobs_acknowledged_xlsx"] = sum(1 for a in acked if a[1] == "xlsx")
    results["jobs_created_by_the_load"] = len(rows)
    results["jobs_done"] = len(done)
    results["jobs_not_done"] = len(rows) - len(done)
    results["jobs_with_one_report_and_one_audit_event"] = sum(1 for r in rows if r.files == 1 and r.audits == 1)
    results["jobs_drain_after_load_s"] = round(extra.get("jobs_drain_s", 0), 1)
    for fmt in ("pdf", "xlsx"):
        runs = [float(r.run_s) for r in done if r.format == fmt]
        results[f"job_{fmt}.run_p50_s"] = percentile(runs, 0.5)
        results[f"job_{fmt}.run_max_s"] = percentile(runs, 1.0)
    waits = [float(r.wait_s) for r in done]
    results["jobs.queue_wait_p50_s"] = percentile(waits, 0.5)
    results["jobs.queue_wait_max_s"] = percentile(waits, 1.0)
    results["jobs_followed_to_the_end_by_locust"] = len(seen)
    results["jobs.seen_done_by_user_p50_s"] = percentile([float(s[2]) for s in seen if s[1] == "done"], 0.5)
    results["jobs_downloads_ok"] = sum(1 for s in seen if s[3] == "200" and s[5] == "True")
    failures = []
    if len(set(acked_ids)) != len(acked_ids):
        failures.append("une tâche acquittée deux fois")
    if set(by_id) != set(acked_ids):
        failures.append("tâches créées sans acquittement (ou l'inverse)")
    if results["jobs_not_done"] or len(done) != len(acked_ids):
        failures.append(f"{results['jobs_not_done']} tâche(s) non terminée(s) (« done »)")
    if results["jobs_with_one_report_and_one_audit_event"] != len(rows):
        failures.append("tâche sans exactement un rapport et son événement d'audit")
    if any(r.attempts != 1 for r in rows):
        failures.append("tâche exécutée plus d'une fois")
    if any(s[1] != "done" or s[3] != "200" or s[5] != "True" for s in seen):
        failures.append("rapport suivi par un utilisateur en échec ou non téléchargeable")
    if not acked_ids:
        failures.append("aucune tâche lancée pendant la charge")
    if queue is None:
        return failures
    from rq.job import Job as RQJob
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    names = extra["rq_worker_names"]
    finished = [j for j in RQJob.fetch_many(FinishedJobRegistry(queue=queue).get_job_ids(), queue.connection) if j]
    runs = Counter(j.args[0] for j in finished if j.args and j.args[0] in by_id)
    workers = Counter(names.get(j.worker_name, "autre") for j in finished if j.args and j.args[0] in by_id)
    failed = [j for j in RQJob.fetch_many(FailedJobRegistry(queue=queue).get_job_ids(), queue.connection)
              if j and j.args and j.args[0] in by_id]
    results["jobs_run_by_rq_exactly_once"] = sum(1 for i in by_id if runs[i] == 1)
    results["rq_failed_jobs"] = len(failed)
    for number in range(1, args.rq_workers + 1):
        results[f"rq_worker{number}.jobs"] = workers[number]
    if results["jobs_run_by_rq_exactly_once"] != len(by_id):
        failures.append("tâche non exécutée (une fois) par un worker RQ")
    if workers["autre"]:
        failures.append("tâche exécutée par un autre worker RQ que les nôtres")
    if failed:
        failures.append("tâche en échec dans RQ")
    return failures


def check(engine, args, user_ids, first_new_id, elapsed, restart, proxy=None, queue=None, extra=None) -> int:
    acks = [line.split("\t") for line in (OUT / "acknowledged.txt").read_text().splitlines() if line]
    ack_ids = [int(a) for a, _ in acks]
    errors = [line.split("\t") for line in (OUT / "errors.txt").read_text().splitlines() if line]
    with engine.begin() as conn:
        found = dict(conn.execute(sa.text(
            "SELECT id, count(*) FROM activities WHERE id = ANY(:ids) GROUP BY id"), {"ids": ack_ids}).all())
        created = conn.execute(sa.text(
            "SELECT a.id, (SELECT count(*) FROM audit_events e WHERE e.action = 'activity.created' "
            "AND e.object_id = a.id::text) AS audits FROM activities a "
            "WHERE a.id >= :first AND a.created_by_id = ANY(:users)"),
            {"first": first_new_id, "users": user_ids}).all()
    rows = {}
    with open(OUT / "locust_stats.csv") as handle:
        for row in csv.DictReader(handle):
            rows[row["Name"]] = row
    failures = []
    results = {"users": args.users, "duration_s": round(elapsed, 1), "servers": args.servers,
               "gunicorn_workers_per_server": args.workers, "rq_workers": args.rq_workers if args.rq else 0,
               "report_users": args.report_users,
               "acknowledged_writes": len(ack_ids), "distinct_acknowledged_ids": len(set(ack_ids)),
               "acknowledged_found_exactly_once": sum(1 for i in set(ack_ids) if found.get(i) == 1),
               "activities_created_by_the_load": len(created),
               "activities_without_audit_event": sum(1 for _, audits in created if audits != 1),
               "http_5xx": len(errors), "http_5xx_not_503": sum(1 for e in errors if e[0] != "503"),
               "http_5xx_without_french_message": sum(1 for e in errors if e[2] != "fr")}
    for name, key in (("Aggregated", "all"), ("POST /activites/nouvelle", "log_activity"),
                      ("GET /activites", "activity_list"), ("GET /", "home"), ("POST /connexion", "sign_in"),
                      ("POST /evaluation/rapports", "report_request"), ("GET /taches/[id]/etat", "job_status"),
                      ("GET /evaluation/rapports/[id].[format]", "report_download")):
        row = rows.get(name)
        if row:
            results[f"{key}.requests"] = int(row["Request Count"])
            results[f"{key}.failures"] = int(row["Failure Count"])
            results[f"{key}.requests_per_s"] = round(float(row["Requests/s"]), 1)
            for pct in ("50%", "95%", "99%"):
                results[f"{key}.p{pct[:-1]}_ms"] = row[pct]
    if restart:
        results["restart_seconds"] = round(restart["end"] - restart["start"], 1)
        after = [float(t) for _, t in acks if float(t) > restart["end"]]
        results["acknowledged_writes_after_restart"] = len(after)
        results["first_ack_after_restart_s"] = round(min(after) - restart["end"], 1) if after else None
        if not after:
            failures.append("aucune écriture acceptée après le redémarrage")
    if proxy is not None:
        failures += check_servers(args, proxy, results)
    if args.report_users:
        failures += check_jobs(engine, args, user_ids, queue, extra, results)
    for key, value in results.items():
        print(f"{key}: {value}")
    if len(set(ack_ids)) != len(ack_ids):
        failures.append("un identifiant acquitté deux fois")
    if results["acknowledged_found_exactly_once"] != len(set(ack_ids)):
        failures.append("écriture acquittée absente de la base")
    if {i for i, _ in created} != set(ack_ids):
        failures.append("activités créées sans acquittement (ou l'inverse)")
    if results["activities_without_audit_event"]:
        failures.append("activité sans son événement d'audit (enregistrement partiel)")
    if not args.fault and errors:
        failures.append(f"{len(errors)} réponses 5xx")
    if args.fault and (results["http_5xx_not_503"] or results["http_5xx_without_french_message"]):
        failures.append("5xx autre qu'un 503 en français pendant le redémarrage")
    print("verdict:", "OK" if not failures else "ÉCHEC — " + " ; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
