"""A/B of the HTTP write bench: two source trees (say ``main`` and a branch), each served by its own
gunicorn (gthread 2×2, as ``bench.http_load``) on the same database, measured in alternation —
trivial page then logging, tree after tree, for several rounds — so that both see the same load of
a shared machine. Besides the throughput it reports the CPU time each request costs (gunicorn
workers, the PostgreSQL servers of the database's connections, this client), read from ``/proc``
around each phase: the figure that stays stable when the machine is busy.

    python -m bench.ab_http --url postgresql://…/base --seconds 10 --rounds 4 /work/main /work/wt/branch

A tree may name its own database after a ``#`` (``/work/main#other_base``). The activities created
are removed again at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import threading
import time
from pathlib import Path

import sqlalchemy as sa

import bench.http_load as http
from bench.database import BenchDatabase
from mediation import create_app
from mediation.config import normalise_database_url
from mediation.extensions import db

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab_http")
    parser.add_argument("--url", required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("trees", nargs="+")
    args = parser.parse_args(argv)

    databases: dict[str, tuple[BenchDatabase, list]] = {}

    def database_of(tree: str) -> tuple[BenchDatabase, list]:
        url = normalise_database_url(args.url)
        if "#" in tree:
            url = url.rsplit("/", 1)[0] + "/" + tree.split("#", 1)[1]
        if url not in databases:
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MEDIATION_ENV": "development", "SECRET_KEY": "bench"})
            database = BenchDatabase("postgresql", url, 0, 1, app, {}, True, "")
            users = http._prepare_users(database, 4)
            http._leftovers(database, [user[0] for user in users])
            databases[url] = (database, users)
        return databases[url]

    servers = {}
    for tree in args.trees:
        http.ROOT = Path(tree.split("#")[0])
        servers[tree] = http.Server(database_of(tree)[0])
    names = sorted({url.rsplit("/", 1)[1] for url in databases})
    engine = sa.create_engine(normalise_database_url(args.url))

    def snapshot(server) -> tuple[float, dict[int, float], float]:
        with engine.connect() as connection:
            pids = list(connection.scalars(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = ANY(:n) AND pid <> pg_backend_pid()"), {"n": names}))
        return (sum(_cpu_seconds(pid) for pid in _children(server.process.pid)),
                {pid: _cpu_seconds(pid) for pid in pids}, sum(os.times()[:2]))

    created: dict[str, list[int]] = {tree: [] for tree in args.trees}
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(10**9))

    def signed_in(server, user):
        client = http.Client(server.port)
        client.sign_in(user[1])
        _, _, html = client.request("GET", "/activites/nouvelle")
        client.structure_id = user[2]
        return client, http.csrf_token(html)

    def log_one(client, token, tree):
        status, headers, _ = client.request("POST", "/activites/nouvelle",
                                            http._activity_form(token, client.structure_id, next(counter)),
                                            keep_cookies=False)
        match = re.search(r"/activites/(\d+)$", headers.get("Location") or "")
        with lock:
            if status == 302 and match:
                created[tree].append(int(match.group(1)))
            else:
                errors.append(f"POST {status}")

    def trivial(client, token, tree):
        status, _, _ = client.request("GET", http.TRIVIAL_PAGE)
        if status != 200:
            with lock:
                errors.append(f"GET {status}")

    figures = {tree: {"trivial": [], "log": []} for tree in args.trees}
    try:
        sessions = {tree: [signed_in(servers[tree], database_of(tree)[1][i]) for i in range(4)] for tree in args.trees}
        for round_ in range(args.rounds):
            for tree in args.trees:
                for label, operation in (("trivial", trivial), ("log", log_one)):
                    done = [0] * 4
                    stop = time.perf_counter() + args.seconds

                    def run(i, tree=tree, operation=operation, done=done, stop=stop):
                        client, token = sessions[tree][i]
                        while time.perf_counter() < stop:
                            operation(client, token, tree)
                            done[i] += 1

                    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
                    before, started = snapshot(servers[tree]), time.perf_counter()
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join()
                    rate = sum(done) / (time.perf_counter() - started)
                    after, n = snapshot(servers[tree]), sum(done)
                    postgres = sum(v - before[1].get(pid, v) for pid, v in after[1].items())
                    figures[tree][label].append((rate, (after[0] - before[0]) * 1000 / n, postgres * 1000 / n,
                                                 (after[2] - before[2]) * 1000 / n))
            print(f"round {round_} load {os.getloadavg()[0]:.1f} " + " | ".join(
                f"{tree}: trivial {figures[tree]['trivial'][-1][0]:.0f} log {figures[tree]['log'][-1][0]:.1f}"
                for tree in args.trees), flush=True)
        for tree in args.trees:
            mean = {label: [sum(row[k] for row in rows) / len(rows) for k in range(4)]
                    for label, rows in figures[tree].items()}
            for label, (rate, app_ms, pg_ms, client_ms) in mean.items():
                print(f"{tree} {label}: {rate:.1f} req/s, CPU per request: app {app_ms:.2f} ms, PostgreSQL "
                      f"{pg_ms:.2f} ms, client {client_ms:.2f} ms, total {app_ms + pg_ms + client_ms:.2f} ms")
            print(f"{tree}: throughput ratio {mean['log'][0] / mean['trivial'][0]:.1%}, CPU ratio "
                  f"{sum(mean['trivial'][1:]) / sum(mean['log'][1:]):.1%}")
        print("errors", len(errors), errors[:5])
    finally:
        for server in servers.values():
            server.stop()
        for tree in args.trees:
            database = database_of(tree)[0]
            if created[tree]:
                with database.app.app_context():
                    http._remove_activities(db.session, sorted(created[tree]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
