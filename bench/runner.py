"""``python -m bench`` (``make bench``): every benchmark on SQLite (smaller N) then PostgreSQL (1M),
printing ``name: value`` lines, then writing bench/RESULTS.md (between its markers)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bench.common import Results, machine
from bench.database import STATE_DIR, prepare

RESULTS_FILE = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
SYNTH_TARGET_S = 300  # "1 million accompaniments in a few minutes"


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="un seul moteur")
    parser.add_argument("--sqlite-n", type=int, default=100_000, help="accompagnements sur SQLite")
    parser.add_argument("--pg-n", type=int, default=1_000_000, help="accompagnements sur PostgreSQL")
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/mediation_bench"))
    parser.add_argument("--sqlite-path", default=str(STATE_DIR / "bench.sqlite3"))
    parser.add_argument("--pg-random-page-cost", type=float, default=1.1,
                        help="random_page_cost de la base de mesure (1.1 : SSD ; 4 : défaut de PostgreSQL)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="régénérer les données même si elles existent")
    parser.add_argument("--repeat", type=int, default=30, help="mesures par requête")
    parser.add_argument("--http-requests", type=int, default=150)
    parser.add_argument("--http-seconds", type=float, default=15.0)
    parser.add_argument("--http-clients", type=int, default=4)
    parser.add_argument("--import-n", type=int, default=None,
                        help="lignes du banc d'import (défaut : 100 000 sur PostgreSQL, 20 000 sur SQLite)")
    parser.add_argument("--badges-n", type=int, default=300, help="participants du banc de badges en masse")
    parser.add_argument("--skip", action="append", default=[],
                        choices=("cases", "dashboard", "refresh", "evaluation", "http", "import", "badges", "crawl"))
    parser.add_argument("--no-write", action="store_true", help="ne pas réécrire bench/RESULTS.md")
    parser.add_argument("--crawl-repeat", type=int, default=3, help="mesures par adresse du parcours des rôles")
    parser.add_argument("--crawl-roles", default=None,
                        help="rôles du parcours, séparés par des virgules (administrateur,coordination,médiateur,"
                             "aidant,financeur ; défaut : tous)")
    parser.add_argument("--crawl-skip", default=None,
                        help="expression régulière des adresses que le parcours laisse de côté")
    parser.add_argument("--flamegraph", action="store_true",
                        help="graphes de flammes py-spy des pages HTTP sous charge (bench/flamegraph-*.svg)")
    return parser.parse_args(argv)


def _server_version(database) -> str:
    from mediation.extensions import db

    with database.app.app_context():
        if database.backend == "postgresql":
            return (f"{db.session.scalar(sa.text('SHOW server_version'))}, random_page_cost "
                    f"{db.session.scalar(sa.text('SHOW random_page_cost'))}, shared_buffers "
                    f"{db.session.scalar(sa.text('SHOW shared_buffers'))}, work_mem "
                    f"{db.session.scalar(sa.text('SHOW work_mem'))}")
        return db.session.scalar(sa.text("SELECT sqlite_version()"))


def run_backend(backend: str, url: str, n: int, args, results: Results) -> dict:
    from bench.http_load import bench_http
    from bench.queries import bench_case_lists, bench_dashboard, bench_rollup_refresh

    print(f"\n== {backend}, {n:,} accompagnements ==".replace(",", " "), flush=True)
    database = prepare(backend, url, n, args.seed, fresh=args.fresh)
    prefix = f"{backend}.synth"
    synth = database.synth
    results.add(f"{prefix}.accompaniments", n)
    results.add(f"{prefix}.reused_database", "oui" if database.reused else "non")
    if synth:  # unknown when the database was made from another checkout (bench/database.py)
        results.add(f"{prefix}.seconds", synth["seconds"])
        results.add(f"{prefix}.rows", synth["rows"])
        results.add(f"{prefix}.rows_per_s", synth["rows_per_s"])
        results.add(f"{prefix}.accompaniments_per_s", synth["accompaniments_per_s"])
        results.add(f"{prefix}.peak_rss_mb", synth["peak_rss_mb"])  # whole process, an upper bound
        for step, seconds in synth["steps"].items():
            results.add(f"{prefix}.step.{step.replace(' ', '_')}_s", seconds)
    if backend == "postgresql":
        # Start from a vacuumed database, as autovacuum keeps a production one: the import and HTTP
        # benches of a previous run leave dead rows (rolled back or removed) whose pages lose their
        # "all visible" bit, and index-only scans then read the heap again (the dashboards slowed
        # by half in the run that followed).
        with _autocommit(database) as connection:
            # The server's own settings, which no benchmark database can change: the figures of the
            # larger loads depend on them (docs/operations.md, « Réglage de PostgreSQL »).
            for setting in ("shared_buffers", "autovacuum", "work_mem", "random_page_cost"):
                results.add(f"{backend}.server.{setting}", connection.scalar(sa.text(f"SHOW {setting}")))
        _vacuum(database, results, "vacuum_analyze_s")
    if n >= 1_000_000 and synth:
        scaled = synth["seconds"] * 1_000_000 / n
        results.verdict(f"{backend} — synthèse de 1 million d'accompagnements en quelques minutes "
                        f"(< {SYNTH_TARGET_S // 60} min)",
                        (f"{synth['seconds']:,.0f} s pour {n:,} ({scaled:,.0f} s par million, "
                         f"{synth['rows_per_s']:,.0f} lignes/s)").replace(",", " "), scaled < SYNTH_TARGET_S)
    if "cases" not in args.skip:
        bench_case_lists(database, results, args.repeat)
    if "dashboard" not in args.skip:
        bench_dashboard(database, results, args.repeat)
    if "refresh" not in args.skip:
        bench_rollup_refresh(database, results, args.repeat)
        # The refreshes were rolled back, but their rows cleared the visibility map of the rollup
        # pages they touched (30 random cells: 36,000 table pages read by the national programme's
        # people at 1 million); autovacuum would set it again (migration 0036) on a server that runs it.
        _vacuum(database, results, "vacuum_after_refresh_s")
    if "evaluation" not in args.skip:
        from bench.evaluation import bench_evaluation

        bench_evaluation(database, results, min(args.repeat, 10))
    if "import" not in args.skip:
        from bench.imports import bench_import

        bench_import(database, results, args.import_n or (100_000 if backend == "postgresql" else 20_000))
    if "badges" not in args.skip:
        from bench.badges import bench_badges

        bench_badges(database, results, args.badges_n)
    if "import" not in args.skip or "badges" not in args.skip:
        _vacuum(database, results, "vacuum_after_writes_s")  # the import's 100,000 rows were removed
    if "crawl" not in args.skip:
        from bench.crawl import bench_crawl

        bench_crawl(database, results, args.crawl_repeat,
                    roles=args.crawl_roles.split(",") if args.crawl_roles else None, skip=args.crawl_skip)
    if "http" not in args.skip:
        try:
            bench_http(database, results, args.http_requests, args.http_seconds, args.http_clients,
                       flamegraph=args.flamegraph)
        except RuntimeError as error:
            results.note(f"{backend} : banc HTTP interrompu — {error}")
    return {"version": _server_version(database), "n": n, "reused": database.reused}


@contextlib.contextmanager
def _autocommit(database):
    engine = sa.create_engine(database.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _vacuum(database, results: Results, label: str) -> None:
    """``VACUUM (ANALYZE)`` on PostgreSQL between benches that write and benches that read, as
    autovacuum does on a server that runs it (this one may not: the bench prints ``autovacuum``);
    nothing on SQLite."""
    if database.backend != "postgresql":
        return
    started = time.perf_counter()
    with _autocommit(database) as connection:
        connection.execute(sa.text("VACUUM (ANALYZE)"))
    results.add(f"{database.backend}.{label}", round(time.perf_counter() - started, 1))


def render(results: Results, info: dict, engines: dict, started: datetime, seconds: float) -> str:
    lines = [BEGIN, "", f"Dernière exécution : {started:%Y-%m-%d %H:%M} UTC, durée {seconds / 60:.1f} min "
             "(`make bench`, lancé avec `nice -n 10`).", "", "### Machine", ""]
    lines += [f"- {k} : {v}" for k, v in info.items()]
    for backend, data in engines.items():
        count = f"{data['n']:,}".replace(",", " ")
        lines.append(f"- {backend} : version {data['version']} ; {count} accompagnements"
                     + (" (base réutilisée)" if data["reused"] else ""))
    lines += ["", "### Objectifs", "", "| objectif | mesure | verdict |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {v} |" for t, m, v in results.verdicts]
    if results.notes:
        lines += ["", "### Remarques de l'exécution", ""] + [f"- {n}" for n in results.notes]
    lines += ["", "### Mesures (`nom: valeur`)", "", "```"] + [f"{k}: {v}" for k, v in results.lines] + ["```", "", END]
    return "\n".join(lines)


def write_results(block: str) -> None:
    text = RESULTS_FILE.read_text() if RESULTS_FILE.exists() else f"# Résultats des bancs d'essai\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS_FILE.write_text(text)


def main(argv=None) -> int:
    args = parse(argv)
    import bench.database

    bench.database.RANDOM_PAGE_COST = args.pg_random_page_cost
    with contextlib.suppress(OSError):
        os.nice(10)  # the machine is shared
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    info = machine()
    results = Results()
    for key, value in info.items():
        results.add(f"machine.{key}", value)
    engines = {}
    plan = [("sqlite", f"sqlite:///{args.sqlite_path}", args.sqlite_n), ("postgresql", args.pg_url, args.pg_n)]
    for backend, url, n in plan:
        if args.only and args.only != backend:
            continue
        engines[backend] = run_backend(backend, url, n, args, results)
    seconds = time.perf_counter() - started
    if not args.no_write:
        write_results(render(results, info, engines, started_at, seconds))
        print(f"\nRésultats écrits dans {RESULTS_FILE}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
