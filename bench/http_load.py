"""Logging an activity through HTTP against a trivial authenticated page of the same app.

A real server (gunicorn, gthread workers) on the loopback, over the benchmark database, and a small
load client (threads, ``http.client``, keep-alive): sign-in through the form with its CSRF token,
then ``POST /activites/nouvelle`` (form validation, scope checks, the activity service, the audit
event, the commit) against ``GET /`` (the home page of a signed-in user).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from html.parser import HTMLParser
from http.client import HTTPConnection, HTTPException
from urllib.parse import urlencode

import sqlalchemy as sa

from bench.common import Results, Timing
from bench.database import STATE_DIR, BenchDatabase
from mediation.config import ROOT
from mediation.extensions import db
from mediation.types import local_today

PASSWORD = "banc-d-essai-mot-de-passe-42"
SINGLE_USER_TARGET_MS = 30
TRIVIAL_PAGE = "/compte/mot-de-passe"  # a signed-in page without queries of its own
ROUNDS = 5  # alternated throughput passes per operation (see bench_http)


class _Csrf(HTMLParser):
    token: str | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "input" and values.get("name") == "csrf_token" and self.token is None:
            self.token = values.get("value")


def csrf_token(html: str) -> str:
    parser = _Csrf()
    parser.feed(html)
    if not parser.token:
        raise RuntimeError("pas de jeton CSRF dans la page")
    return parser.token


class Client:
    """One browser: its own connection (keep-alive) and cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.structure_id: int | None = None  # of the signed-in mediator
        # A new connection per request (``Connection: close``): the server's worker processes then
        # share the clients as they become free. With keep-alive each client stays on the worker that
        # accepted it, and four clients on two workers landed 2–2 in one run and 4–0 in the next (one
        # process, one interpreter lock: half the machine), which made the throughputs, and their
        # ratio, jump from run to run (29 % then 89 % on an idle machine).
        self.fresh_connections = False

    def request(self, method: str, path: str, form: list[tuple[str, str]] | None = None, *,
                keep_cookies: bool = True):
        headers = {"User-Agent": "mediation-bench/1", "Accept": "text/html"}
        if self.fresh_connections:
            headers["Connection"] = "close"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (HTTPException, OSError):
                self.connection.close()
                self.connection = HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        for cookie in (response.headers.get_all("Set-Cookie") or []) if keep_cookies else []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, data.decode("utf-8", "replace")

    def sign_in(self, email: str) -> None:
        status, _, html = self.request("GET", "/connexion")
        status, headers, html = self.request("POST", "/connexion", [
            ("csrf_token", csrf_token(html)), ("email", email), ("password", PASSWORD)])
        if status != 302:
            raise RuntimeError(f"connexion refusée ({status}) : {re.sub(r'<[^>]+>', ' ', html)[:300]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare_users(database: BenchDatabase, n: int) -> list[tuple[int, str, int]]:
    """The ``n`` busiest mediators (one structure each, not aidants: no second factor), with a known
    password: (id, e-mail, structure id). The first one is the single user of the latency bench;
    the throughput bench signs in ``n`` of them, as ``n`` people logging at the same time do."""
    from mediation.auth.services import hash_password

    with database.app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT u.id, u.email, m.structure_id FROM users u JOIN staff_memberships m ON m.user_id = u.id "
            "WHERE u.role = 'mediator' AND NOT u.is_aidant AND m.ended_on IS NULL AND m.started_on <= :today "
            "AND (SELECT count(*) FROM staff_memberships m2 WHERE m2.user_id = u.id) = 1 "
            "ORDER BY (SELECT count(*) FROM activities a WHERE a.mediator_id = u.id) DESC, u.id LIMIT :n"),
            {"today": local_today(), "n": n}).all()
        password = hash_password(PASSWORD)
        for row in rows:
            db.session.execute(sa.text("UPDATE users SET password_hash = :h WHERE id = :id"),
                               {"h": password, "id": row.id})
        db.session.commit()
        return [(row.id, row.email, row.structure_id) for row in rows]


class Server:
    def __init__(self, database: BenchDatabase, workers: int = 2, threads: int = 2) -> None:
        self.port = _free_port()
        folder = STATE_DIR / "http"
        folder.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, DATABASE_URL=database.url, SECRET_KEY="bench-secret", MEDIATION_ENV="development",
                   MEDIATION_SECURE_COOKIES="0", MEDIATION_INSTANCE_PATH=str(folder),
                   MEDIATION_LOGIN_MAX_FAILURES="1000",
                   MEDIATION_LOGIN_ADDRESS_MAX_FAILURES="1000", MEDIATION_LOGIN_ACCOUNT_MAX_FAILURES="1000")
        self.log = open(folder / f"gunicorn-{database.backend}.log", "w")  # noqa: SIM115
        gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
        self.process = subprocess.Popen(
            [gunicorn, "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
             "--bind", f"127.0.0.1:{self.port}", "--keep-alive", "30", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                status, _, _ = Client(self.port).request("GET", "/sante")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("le serveur gunicorn n'a pas démarré (voir instance/bench/http/)")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _activity_form(token: str, structure_id: int, n: int) -> list[tuple[str, str]]:
    themes = ("email", "navigation_sur_internet", "aide_aux_demarches_administratives", "prendre_en_main_du_materiel")
    return [("csrf_token", token), ("structure_id", str(structure_id)), ("date", local_today().isoformat()),
            ("duration", "45"), ("place_type", "lieu_activite"), ("place_structure_id", str(structure_id)),
            ("thematiques", themes[n % len(themes)]), ("materiel", "ordinateur"), ("autonomie", "autonome"),
            ("oriented", "non")]


def _remove_activities(session, ids: list[int]) -> None:
    """Take the bench's own sessions out again (they are anonymous individual sessions), then make
    the rollups exact for their cells: each run starts from the synthetic load, instead of piling a
    few hundred sessions per run into the bench user's current cell (the refresh of a cell costs in
    proportion to its size: 1 442 sessions there after a few runs, 26 in a synthetic cell)."""
    from mediation.stats import rollups

    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        cells = rollups.capture(session, chunk)
        people = [row[0] for row in session.execute(
            sa.text("SELECT beneficiary_id FROM participations WHERE activity_id IN :ids")
            .bindparams(sa.bindparam("ids", expanding=True)), {"ids": chunk})]
        for sql, values in (("DELETE FROM participations WHERE activity_id IN :ids", chunk),
                            ("DELETE FROM activity_thematiques WHERE activity_id IN :ids", chunk),
                            ("DELETE FROM activities WHERE id IN :ids", chunk),
                            ("DELETE FROM beneficiaries WHERE anonymous AND id IN :ids", people)):
            if values:
                session.execute(sa.text(sql).bindparams(sa.bindparam("ids", expanding=True)), {"ids": values})
        rollups.refresh_rollups(session, previous=cells)
    session.commit()


def _leftovers(database: BenchDatabase, user_ids: list[int]) -> None:
    """Sessions an earlier, interrupted or older run of this bench left for its users."""
    with database.app.app_context():
        ids = list(db.session.scalars(sa.text(
            "SELECT id FROM activities WHERE mediator_id IN :u AND created_at > "
            "(SELECT max(at) FROM audit_events WHERE action = 'synth.loaded') ORDER BY id")
            .bindparams(sa.bindparam("u", expanding=True)), {"u": user_ids}))
        if ids:
            _remove_activities(db.session, ids)


def _flamegraph(server: Server, backend: str, label: str, seconds: float):
    """py-spy sampling every gunicorn worker for the measured phase: an SVG flame graph in bench/
    (threads waiting on PostgreSQL are sampled too: psycopg waits in Python). None when py-spy is missing or
    may not attach (it needs ptrace)."""
    spy = ROOT / ".venv" / "bin" / "py-spy"
    if not spy.exists():
        return None
    out = ROOT / "bench" / f"flamegraph-{backend}-{label.replace('_', '-')}.svg"
    return subprocess.Popen([str(spy), "record", "--pid", str(server.process.pid), "--subprocesses",
                             "--rate", "200", "--duration", str(max(1, int(seconds))), "--format", "flamegraph",
                             "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bench_http(database: BenchDatabase, results: Results, requests: int, seconds: float, clients: int,
               flamegraph: bool = False) -> None:
    if "cases.activity_new" not in {rule.endpoint for rule in database.app.url_map.iter_rules()}:
        results.note("pages d'activités absentes (cases.activity_new) : banc HTTP non mesuré")
        results.verdict("enregistrement HTTP", "—", None)
        return
    prefix = f"{database.backend}.http"
    users = _prepare_users(database, max(clients, 1))
    _leftovers(database, [user[0] for user in users])
    server = Server(database)
    created: list[int] = []
    lock = threading.Lock()
    errors: list[str] = []
    try:
        def signed_in(user=users[0]) -> tuple[Client, str]:
            client = Client(server.port)
            client.sign_in(user[1])
            _, _, html = client.request("GET", "/activites/nouvelle")
            client.structure_id = user[2]
            return client, csrf_token(html)

        counter = iter(range(10**9))

        def log_one(client: Client, token: str) -> None:
            # The cookie the answer sets is not kept: it adds the confirmation message, which a browser
            # shows (and removes) on the page it is sent to; kept without that page, the messages
            # piled up in the signed session cookie (several kilobytes after a hundred saves, read and
            # signed again on every request: the bench measured its own cookie).
            status, headers, html = client.request("POST", "/activites/nouvelle",
                                                   _activity_form(token, client.structure_id, next(counter)),
                                                   keep_cookies=False)
            location = headers.get("Location") or ""
            match = re.search(r"/activites/(\d+)$", location)
            with lock:
                if status == 302 and match:
                    created.append(int(match.group(1)))
                else:
                    title = re.search(r"<title>(.*?)</title>", html, re.S)
                    errors.append(f"{status} {' '.join((title.group(1) if title else html[:200]).split())}")

        def get(path: str):
            def page(client: Client, token: str) -> None:
                status, _, _ = client.request("GET", path)
                if status != 200:
                    with lock:
                        errors.append(f"GET {path} {status}")
            return page

        # The reference: a trivial authenticated page (the session and user checks every page does,
        # then a small form). « / » used to be one; it is now « Ma semaine », with its own queries,
        # and is measured beside it.
        trivial, home = get(TRIVIAL_PAGE), get("/")

        # one user, one request at a time: latency
        client, token = signed_in()
        for label, operation in (("trivial", trivial), ("home", home), ("log_activity", log_one)):
            for _ in range(5):
                operation(client, token)
            samples = []
            for _ in range(requests):
                t0 = time.perf_counter()
                operation(client, token)
                samples.append((time.perf_counter() - t0) * 1000)
            results.timing(f"{prefix}.single_user.{label}", Timing(samples))
            if errors:
                raise RuntimeError(f"réponses inattendues : {errors[:3]}")

        # several users at once: throughput. The three operations take turns, ``ROUNDS`` short passes
        # each, so that what the machine does meanwhile (autovacuum after the previous run's clean-up,
        # another process, the CPU's clock) weighs on all three alike; one long pass each let a busy
        # moment fall on one operation only (the trivial page measured 182 then 398 req/s in two runs
        # a minute apart on an idle machine, the ratio 53 % then 40 %).
        labelled = (("trivial", trivial), ("home", home), ("log_activity", log_one))
        sessions = {label: [signed_in(users[i % len(users)]) for i in range(clients)] for label, _ in labelled}
        for client, _ in (pair for pairs in sessions.values() for pair in pairs):
            client.fresh_connections = True
        totals = {label: [0, 0.0] for label, _ in labelled}  # successful requests, seconds
        round_ratios = []
        for round_index in range(ROUNDS):
            per_round = {}
            for label, operation in labelled:
                done = [0] * clients
                failed_before = len(errors)
                stop_at = time.perf_counter() + seconds / ROUNDS

                def run(index: int, operation=operation, label=label, done=done, stop_at=stop_at) -> None:
                    client, token = sessions[label][index]
                    while time.perf_counter() < stop_at:
                        operation(client, token)
                        done[index] += 1

                threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
                spy = (_flamegraph(server, database.backend, label, seconds / ROUNDS)
                       if flamegraph and label == "log_activity" and round_index == 0 else None)
                started = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                elapsed = time.perf_counter() - started
                if spy is not None:
                    spy.wait()
                failed = len(errors) - failed_before
                totals[label][0] += sum(done) - failed  # successful requests only
                totals[label][1] += elapsed
                per_round[label] = (sum(done) - failed) / elapsed
                if failed:
                    results.note(f"{database.backend} : {failed} réponses en erreur sur {sum(done)} pour {label} à "
                                 f"{clients} utilisateurs, par exemple : {errors[failed_before][:120]}")
            round_ratios.append(per_round["log_activity"] / per_round["trivial"])
        throughput = {label: done / elapsed for label, (done, elapsed) in totals.items()}
        for label, _ in labelled:
            results.add(f"{prefix}.{clients}_users.{label}.requests_per_s", throughput[label])
        results.add(f"{prefix}.{clients}_users.errors", len(errors))
        results.add(f"{prefix}.{clients}_users.rounds", ROUNDS)
        results.add(f"{prefix}.{clients}_users.round_ratio_min", min(round_ratios))
        results.add(f"{prefix}.{clients}_users.round_ratio_max", max(round_ratios))
        results.ratio(f"{prefix}.ratio_log_over_home_throughput", throughput["log_activity"], throughput["home"])
        ratio = results.ratio(f"{prefix}.ratio_log_over_trivial_throughput", throughput["log_activity"],
                              throughput["trivial"])
        single_p95 = [v for k, v in results.lines if k == f"{prefix}.single_user.log_activity.p95_ms"][0]
        measured = (f"{ratio:.0%} ({throughput['log_activity']:.1f} contre {throughput['trivial']:.1f} req/s ; "
                    f"« Ma semaine » {throughput['home']:.1f} req/s ; {clients} médiateurs, {ROUNDS} passes alternées, "
                    f"rapport par passe {min(round_ratios):.0%} à {max(round_ratios):.0%}, {len(errors)} erreurs)")
        if database.backend == "postgresql":
            results.verdict(f"{database.backend} — enregistrer une activité (HTTP) : ≥ 50 % du débit d'une page "
                            f"authentifiée triviale ({TRIVIAL_PAGE})", measured, ratio >= 0.5 and not errors)
        else:
            # Issue 18 sets the 50 % on PostgreSQL: SQLite, the embedded database of a small structure,
            # takes one write at a time by design (BEGIN IMMEDIATE). The figure is printed, not judged.
            results.note(f"{database.backend} — enregistrer une activité (HTTP), débit par rapport à la page "
                         f"authentifiée triviale ({TRIVIAL_PAGE}) : {measured}. Sans objectif sur SQLite (une "
                         f"écriture à la fois) : l'objectif de 50 % porte sur PostgreSQL.")
            if errors:
                results.verdict(f"{database.backend} — enregistrer une activité (HTTP) sous charge : aucune erreur",
                                f"{len(errors)} erreurs", False)
        results.verdict(f"{database.backend} — enregistrer une activité (HTTP), un utilisateur : p95 < "
                        f"{SINGLE_USER_TARGET_MS} ms", f"p95 {single_p95} ms", float(single_p95) < SINGLE_USER_TARGET_MS)
    finally:
        server.stop()
        results.add(f"{prefix}.activities_created", len(created))
        if created:  # the services kept the rollups exact; the bench's sessions go away again
            with database.app.app_context():
                _remove_activities(db.session, sorted(created))
