"""Role crawl: every page (GET) each role can reach from its home page, timed per route against a
trivial signed-in page of the same run.

One account per role of the demo — administrator, territory coordinator (the busiest territory),
mediator (the busiest), aidant mediator, funder (with a programme) — signed in in-process (the
test client, no network: the figures are the server's own time). From ``/`` and a few seeds the
dashboard filtered by a programme, the crawl follows the links of each page (same site, GET), at
most :data:`PER_ROUTE` addresses per route and :data:`MAX_PAGES` per role; then each address is
requested ``repeat`` times. Per route: p50, p95, the ratio to the trivial page, the verdict — a page
p95 ≤ 300 ms; a download (``Content-Disposition: attachment``) p95 ≤ 1 s per 10 000 rows (CSV
lines; at least 1 s)."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa

from bench.common import Results, Timing, as_served
from bench.database import BenchDatabase
from mediation.extensions import db

PAGE_TARGET_MS = 300
EXPORT_MS_PER_10000_ROWS = 1000
PER_ROUTE = 2
MAX_PAGES = 120
TRIVIAL_PAGE = "/compte/mot-de-passe"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SKIPPED = re.compile(r"^/(static|deconnexion|favicon|ob/|api/|carnet/)|/(deconnexion|logout)\b")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)


def links(html: str, base: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    found = []
    for href in parser.links:
        url = urlsplit(urljoin("http://bench" + base, href))
        if url.netloc != "bench" or SKIPPED.search(url.path):
            continue
        found.append(url.path + (f"?{url.query}" if url.query else ""))
    return found


def _accounts(database: BenchDatabase) -> dict[str, int]:
    """role label → user id: one account per role of the demo, the busiest of each."""
    with database.app.app_context():
        q = db.session.execute
        accounts = {
            "administrateur": q(sa.text("SELECT id FROM users WHERE role = 'admin' AND is_active_account "
                                        "ORDER BY id LIMIT 1")).scalar(),
            "coordination": q(sa.text(
                "SELECT u.id FROM users u JOIN communes c ON c.territory_id = u.territory_id "
                "JOIN structures s ON s.commune_id = c.id JOIN activities a ON a.structure_id = s.id "
                "WHERE u.role = 'coordinator' GROUP BY u.id ORDER BY count(*) DESC LIMIT 1")).scalar(),
            "médiateur": q(sa.text(
                "SELECT mediator_id FROM activities a JOIN users u ON u.id = a.mediator_id WHERE NOT u.is_aidant "
                "GROUP BY mediator_id ORDER BY count(*) DESC LIMIT 1")).scalar(),
            "aidant": q(sa.text(
                "SELECT mediator_id FROM activities a JOIN users u ON u.id = a.mediator_id WHERE u.is_aidant "
                "GROUP BY mediator_id ORDER BY count(*) DESC LIMIT 1")).scalar(),
            "financeur": q(sa.text(
                "SELECT u.id FROM users u LEFT JOIN programmes p ON p.funder_id = u.funder_id WHERE u.role = 'funder' "
                "GROUP BY u.id ORDER BY count(p.id) DESC, u.id LIMIT 1")).scalar(),
        }
    return {role: user_id for role, user_id in accounts.items() if user_id is not None}


def _signed_in(app, user_id: int):
    """A test client signed in as ``user_id`` (a server-side session, a second factor enrolled
    when the role requires one: the crawl is not about signing in)."""
    from flask import session as flask_session
    from flask_login import login_user

    from mediation.auth import services as auth_services
    from mediation.auth import sessions
    from mediation.auth.models import User

    client = app.test_client()
    with app.test_request_context("/", environ_base=client.environ_base):  # same client identity
        user = db.session.get(User, user_id)
        if user.requires_totp and not user.totp_enabled:
            auth_services.enrol_totp_with_secret(db.session, user, TOTP_SECRET)
        login_user(user)
        sessions.start(user)
        db.session.commit()
        cookie = dict(flask_session)
    with client.session_transaction() as stored:
        stored.update(cookie)
    return client


def _seeds(app, role: str) -> list[str]:
    """Pages a link does not reach: the dashboard filtered by programme (a form, not a link)."""
    with app.app_context():
        ids = db.session.scalars(sa.text("SELECT id FROM programmes ORDER BY id LIMIT 2")).all()
    return ["/", TRIVIAL_PAGE] + [f"/evaluation/?programme={i}" for i in ids]


def crawl(app, client, role: str, skip: re.Pattern | None = None) -> tuple[dict[str, list[str]], list[str]]:
    """endpoint → addresses reached (at most PER_ROUTE each), and the errors met. ``skip``: addresses
    neither requested nor measured (``--crawl-skip``)."""
    adapter = app.url_map.bind("bench")
    by_route: dict[str, list[str]] = defaultdict(list)
    queue, seen, errors = list(_seeds(app, role)), set(), []
    while queue and sum(len(v) for v in by_route.values()) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen or (skip is not None and skip.search(path)):
            continue
        seen.add(path)
        try:
            endpoint, _ = adapter.match(urlsplit(path).path, method="GET")
        except Exception:  # noqa: BLE001 — not a route of the app (or not GET)
            continue
        if len(by_route[endpoint]) >= PER_ROUTE:
            continue
        response = client.get(path)
        if response.status_code != 200:
            if response.status_code >= 500:
                errors.append(f"{role} {path} {response.status_code}")
            continue
        by_route[endpoint].append(path)
        if response.mimetype == "text/html" and "attachment" not in response.headers.get("Content-Disposition", ""):
            queue.extend(link for link in links(response.get_data(as_text=True), path) if link not in seen)
    return by_route, errors


SLOW_WARMUP_S = 2.0  # a page slower than this once is measured once more only (national exports at 1M)


def _time(client, path: str, repeat: int) -> tuple[Timing, int | None, bool]:
    samples, rows, download = [], None, False
    t0 = time.perf_counter()
    client.get(path)  # warm-up
    if time.perf_counter() - t0 > SLOW_WARMUP_S:
        repeat = 1
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(path)
        body = response.get_data()
        samples.append((time.perf_counter() - t0) * 1000)
        download = "attachment" in response.headers.get("Content-Disposition", "")
        if download and response.mimetype in ("text/csv", "text/plain"):
            rows = body.count(b"\n")
    return Timing(samples), rows, download


def bench_crawl(database: BenchDatabase, results: Results, repeat: int = 5, roles: list[str] | None = None,
                skip: str | None = None) -> None:
    """``roles``: only these roles (labels of :func:`_accounts`); ``skip``: a regular expression of
    addresses left out (at 10 million accompaniments, the national exports of millions of rows take
    minutes each) — both printed with the figures."""
    app = database.app
    skipped = re.compile(skip) if skip else None
    if roles or skip:
        results.note(f"{database.backend} : parcours des rôles restreint — rôles : {', '.join(roles) if roles else 'tous'} ; "
                     f"adresses écartées : {skip or 'aucune'}")
    app.config["WTF_CSRF_ENABLED"] = False
    with as_served():  # measured as wsgi.py serves (bench.common.as_served)
        _crawl_all(database, results, repeat, roles, skipped)


def _crawl_all(database: BenchDatabase, results: Results, repeat: int, roles: list[str] | None, skipped) -> None:
    app = database.app
    prefix = f"{database.backend}.crawl"
    failures, all_errors, measured = [], [], 0
    baseline_samples: list[float] = []
    print(f"\n{'rôle':<15} {'route':<42} {'p50 ms':>8} {'p95 ms':>8} {'× triv.':>8}  verdict  exemple")
    for role, user_id in _accounts(database).items():
        if roles and role not in roles:
            continue
        client = _signed_in(app, user_id)
        routes, errors = crawl(app, client, role, skipped)
        all_errors += errors
        baseline, _, _ = _time(client, TRIVIAL_PAGE, max(repeat, 10))
        baseline_samples += baseline.samples_ms
        for endpoint, paths in sorted((e, p) for e, p in routes.items() if p):
            samples, rows, download = [], 0, False
            for path in paths:
                timing, path_rows, path_download = _time(client, path, repeat)
                samples += timing.samples_ms
                rows = max(rows, path_rows or 0)
                download = download or path_download
            timing = Timing(samples)
            limit = max(EXPORT_MS_PER_10000_ROWS, EXPORT_MS_PER_10000_ROWS * rows / 10_000) if download \
                else PAGE_TARGET_MS
            ok = timing.p95 <= limit
            measured += 1
            ratio = timing.p95 / baseline.p95 if baseline.p95 else float("nan")
            if not ok:  # the slow ones only among the `nom: valeur` lines; the table has them all
                results.add(f"{prefix}.{role}.{endpoint}.p95_ms", round(timing.p95, 1))
            verdict = "ok" if ok else "LENT"
            print(f"{role:<15} {endpoint:<42} {timing.p50:8.1f} {timing.p95:8.1f} {ratio:8.1f}  {verdict:<7}  "
                  f"{paths[0]}" + (f" ({rows} lignes)" if download and rows else ""), flush=True)
            if not ok:
                failures.append(f"{role} {paths[0]} p95 {timing.p95:.0f} ms")
    trivial = Timing(baseline_samples)
    # Dashboards long to compute are kept a few minutes (mediation.snapshots): the warm-up
    # computed them, the timed requests were served the copy. What computing them costs:
    with app.app_context():
        kept, longest = db.session.execute(sa.text(  # one computation may be kept in two shapes
            "SELECT count(DISTINCT kind || computed_at), coalesce(max(duration_ms), 0) FROM snapshots")).one()
    results.add(f"{prefix}.dashboards_kept", kept)
    results.add(f"{prefix}.dashboards_kept.longest_computation_ms", longest)
    if kept:
        results.note(f"{database.backend} : {kept} tableau(x) de bord gardé(s) quelques minutes (calcul ≥ "
                     f"{snapshot_min_ms(app)} ms), servis depuis leur copie après le premier affichage ; "
                     f"leur calcul le plus long : {longest} ms")
    results.add(f"{prefix}.trivial_page.p95_ms", round(trivial.p95, 1))
    results.add(f"{prefix}.routes_measured", measured)
    results.add(f"{prefix}.server_errors", len(all_errors))
    for error in all_errors[:5]:
        results.note(f"{database.backend} : parcours des rôles, erreur {error}")
    results.verdict(f"{database.backend} — parcours de toutes les pages par rôle : p95 ≤ {PAGE_TARGET_MS} ms par page "
                    "(exports ≤ 1 s par 10 000 lignes)",
                    f"{measured} routes, page triviale p95 {trivial.p95:.0f} ms ; "
                    + ("; ".join(failures[:6]) + (" …" if len(failures) > 6 else "") if failures else "aucune lente"),
                    not failures and not all_errors)


def snapshot_min_ms(app) -> int:
    with app.app_context():
        from mediation.snapshots import min_ms

        return min_ms()


def main(argv=None) -> int:
    """``python -m bench.crawl --url DATABASE_URL``: the crawl alone, on any migrated database (the
    demo's: ``flask db upgrade && flask demo``), results printed, RESULTS.md untouched."""
    import argparse
    from dataclasses import dataclass

    from mediation import create_app
    from mediation.config import normalise_database_url

    parser = argparse.ArgumentParser(prog="python -m bench.crawl", description=main.__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    url = normalise_database_url(args.url)

    @dataclass
    class Target:
        app: object
        backend: str

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MEDIATION_ENV": "development", "SECRET_KEY": "bench"})
    results = Results()
    bench_crawl(Target(app, sa.engine.make_url(url).get_backend_name()), results, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
