"""Load test, optionally with a PostgreSQL restart in the middle (fault test).

    python -m loadtest [--duration 60] [--users 50] [--workers 3] [--fault] [--accompaniments 50000]

1. a dedicated database ``mediation_load`` on 127.0.0.1:5432 (created, migrated by Alembic, filled by
   ``flask synth`` once; reused when already filled), ``--users`` mediators given a known password;
2. gunicorn (gthread) on a free loopback port, locust headless for ``--duration`` seconds (stops by itself);
3. with ``--fault``: ``pg_ctlcluster … main restart`` a third of the way through (PostgreSQL is started
   again in a ``finally`` whatever happens);
4. checks: every acknowledged write (302 → /activites/<id>) is in the database exactly once, every activity
   the load created was acknowledged and has its audit event (no partial record), no 5xx other than the
   French 503 during the restart, writes acknowledged after the restart; figures printed as ``name: value``.
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


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest")
    parser.add_argument("--duration", type=int, default=int(os.environ.get("LOADTEST_DURATION", "60")),
                        help="secondes de charge (défaut 60 ; 180 pour la mesure de référence)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--accompaniments", type=int, default=50_000)
    parser.add_argument("--fault", action="store_true", help="redémarrer PostgreSQL pendant la charge")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/mediation_load")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("acknowledged.txt", "errors.txt"):
        (OUT / name).write_text("")
    ensure_postgres_running()
    accounts = prepare(args.url, args.accompaniments, args.users)
    (OUT / "accounts.json").write_text(json.dumps(accounts))
    ids = [a["id"] for a in accounts]
    engine = sa.create_engine(args.url.replace("postgresql://", "postgresql+psycopg://"), pool_pre_ping=True)
    with engine.begin() as conn:
        first_new_id = conn.scalar(sa.text("SELECT coalesce(max(id), 0) + 1 FROM activities"))

    port = free_port()
    env = dict(os.environ, DATABASE_URL=args.url, SECRET_KEY="loadtest", MEDIATION_ENV="development",
               MEDIATION_SECURE_COOKIES="0", MEDIATION_INSTANCE_PATH=str(OUT), MEDIATION_LOGIN_MAX_FAILURES="100000",
               MEDIATION_SESSION_MINUTES="600", LOADTEST_OUT=str(OUT), LOADTEST_PASSWORD=PASSWORD)
    log = open(OUT / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", str(args.workers), "--threads", "4",
         "--bind", f"127.0.0.1:{port}", "--keep-alive", "30", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    restart: dict[str, float] = {}
    try:
        wait_for(port)

        def fault() -> None:
            time.sleep(args.duration / 3)
            restart["start"] = time.time()
            subprocess.run(pg_cluster_command("restart"), check=False, capture_output=True)
            restart["end"] = time.time()

        faulter = threading.Thread(target=fault, daemon=True)
        started = time.time()
        if args.fault:
            faulter.start()
        subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "loadtest" / "locustfile.py"), "--headless",
             "-u", str(args.users), "-r", str(max(1, args.users // 5)), "-t", f"{args.duration}s",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(OUT / "locust"), "--only-summary",
             "--stop-timeout", "10", "--exit-code-on-error", "0"],
            cwd=ROOT, env=env, check=False, timeout=args.duration + 120)
        elapsed = time.time() - started
        if args.fault:
            faulter.join(timeout=120)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        ensure_postgres_running()
    return check(engine, args, ids, first_new_id, elapsed, restart)


def check(engine, args, user_ids, first_new_id, elapsed, restart) -> int:
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
    results = {"users": args.users, "duration_s": round(elapsed, 1), "gunicorn_workers": args.workers,
               "acknowledged_writes": len(ack_ids), "distinct_acknowledged_ids": len(set(ack_ids)),
               "acknowledged_found_exactly_once": sum(1 for i in set(ack_ids) if found.get(i) == 1),
               "activities_created_by_the_load": len(created),
               "activities_without_audit_event": sum(1 for _, audits in created if audits != 1),
               "http_5xx": len(errors), "http_5xx_not_503": sum(1 for e in errors if e[0] != "503"),
               "http_5xx_without_french_message": sum(1 for e in errors if e[2] != "fr")}
    for name, key in (("Aggregated", "all"), ("POST /activites/nouvelle", "log_activity"),
                      ("GET /activites", "activity_list"), ("GET /", "home"), ("POST /connexion", "sign_in")):
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
