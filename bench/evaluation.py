"""Impact evaluation at scale (issue 8): the whole dashboard (every family, the coordinator's
comparison), a funder's programme dashboard on the rollups path and on the raw path, and the impact
PDF, on the benchmark databases of the scale harness.

``bench_evaluation(database, results, repeat)`` fits the harness (``bench/runner.py``);
``python -m bench.evaluation`` runs it alone on the PostgreSQL benchmark database (1 million
accompaniments by default) and prints ``name: value`` lines. The funders and programmes it needs
are created inside a transaction that is rolled back: the benchmark database is left as it was.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from datetime import date, timedelta

import sqlalchemy as sa

from bench.common import Results, as_served, measure, measure_alternated, spaced
from bench.database import BenchDatabase, prepare
from mediation.auth.models import Role, User
from mediation.cases.models import Activity
from mediation.directory.models import Commune, Structure
from mediation.extensions import db
from mediation.types import local_today

DASHBOARD_TARGET_MS = 300  # issue 4: a territory dashboard p95 < 300 ms, no slower than the raw GROUP BY
PROGRAMME_KINDS = {  # the territorial programmes a funder follows, by what they cover
    "programme_rollups": "les lieux du territoire",
    "programme_mixed": "la moitié des lieux et les postes de conseillers du territoire",
    "programme_attributed": "les mêmes et 50 activités attribuées",
}
PDF_MEMORY_MB = 300  # issue 4: under 300 MB of peak memory, aggregation costing less than half of rendering
PDF_VS_RENDER = 1.2  # issue 18: the whole build at most 1.2 × rendering the same HTML…
PDF_WARM_BUILDS = 3  # … the median of a few warm builds (one sample was at the mercy of a pause)


def pdf_target_s(accompaniments: int) -> float:
    """Issue 18: the impact PDF (warm process) ≤ 1.5 s at 1 million accompaniments, ≤ 3 s at 10 million."""
    return 1.5 if accompaniments <= 1_000_000 else 3.0


class PeakRss:
    """Peak resident memory of this process during a block, above what it held before (polled
    every 10 ms from /proc: what the report adds, allocator included)."""

    def __enter__(self):
        import threading

        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _rss() -> int:
        try:
            with open("/proc/self/statm") as handle:
                return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return 0

    def _poll(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def added_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def _busiest_territory(session) -> int:
    return session.scalar(sa.text(
        "SELECT c.territory_id FROM activities a JOIN structures s ON s.id = a.structure_id "
        "JOIN communes c ON c.id = s.commune_id GROUP BY c.territory_id ORDER BY count(*) DESC LIMIT 1"))


def bench_evaluation(database: BenchDatabase, results: Results, repeat: int = 5) -> None:
    from mediation.evaluation import indicators, report
    from mediation.evaluation.models import (
        Funder,
        FunderKind,
        Programme,
        ReportFormat,
        programme_activities,
        programme_mediators,
        programme_structures,
    )
    from mediation.evaluation.scope import EvaluationFilter, Scope, authorise

    prefix = f"{database.backend}.evaluation"
    with database.app.app_context(), database.app.test_request_context(), as_served():
        session = db.session
        territory_id = _busiest_territory(session)
        admin = session.scalar(sa.select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
        coordinator = session.scalar(sa.select(User).where(User.role == Role.COORDINATOR,
                                                           User.territory_id == territory_id).limit(1)) or admin
        end = date.fromisoformat(database.end) if database.end else local_today()
        start = end - timedelta(days=364)
        structures = list(session.scalars(sa.select(Structure).join(Commune, Commune.id == Structure.commune_id)
                                          .where(Commune.territory_id == territory_id)))
        ids = [s.id for s in structures]
        half = ids[: len(ids) // 2]
        # The conseillers numériques who worked in the territory during the period (funded posts of a
        # territorial programme), and 200 conseillers of the whole network (a national programme).
        local_posts = list(session.scalars(
            sa.select(User.id).where(User.role == Role.MEDIATOR, User.is_conseiller_numerique.is_(True),
                                     User.id.in_(sa.select(Activity.mediator_id).where(
                                         Activity.structure_id.in_(ids), Activity.date >= start,
                                         Activity.date <= end)))))
        national_posts = list(session.scalars(
            sa.select(User.id).where(User.role == Role.MEDIATOR, User.is_conseiller_numerique.is_(True))
            .order_by(User.id).limit(200)))
        funder = Funder(name="Banc d'essai", kind=FunderKind.METROPOLE)
        session.add(funder)
        session.flush()
        def programme(name, structure_ids, mediator_ids, attributions=0):
            created = Programme(funder_id=funder.id, name=name, starts_on=start, ends_on=end, territory_id=territory_id)
            session.add(created)
            session.flush()
            if structure_ids:
                session.execute(programme_structures.insert(),
                                [{"programme_id": created.id, "structure_id": i} for i in structure_ids])
            if mediator_ids:
                session.execute(programme_mediators.insert(),
                                [{"programme_id": created.id, "user_id": i} for i in mediator_ids])
            if attributions:  # single activities attributed by hand: workshops of other mediators
                session.execute(programme_activities.insert(), [
                    {"programme_id": created.id, "activity_id": activity_id, "attributed_by_id": admin.id}
                    for activity_id in session.scalars(
                        sa.select(Activity.id).where(Activity.structure_id.in_(ids[len(ids) // 2:]),
                                                     Activity.mediator_id.not_in(mediator_ids),
                                                     Activity.date >= start, Activity.date <= end,
                                                     Activity.deleted_at.is_(None))
                        .order_by(Activity.id).limit(attributions))])
            return created.id

        by_structures = programme("Lieux", ids, [])
        mixed = programme("Lieux et postes", half, local_posts)
        attributed = programme("Lieux, postes et activités attribuées", half, local_posts, attributions=50)
        national = programme("Postes dans tout le réseau", half, national_posts)
        results.add(f"{prefix}.period", f"{start.isoformat()}..{end.isoformat()}")
        results.add(f"{prefix}.territory_structures", len(structures))
        results.add(f"{prefix}.territory_posts", len(local_posts))
        cases = [
            ("territory_coordinator", coordinator, EvaluationFilter(start=start, end=end), "structures"),
            ("programme_rollups", admin, EvaluationFilter(start=start, end=end, programme_id=by_structures), None),
            ("programme_mixed", admin, EvaluationFilter(start=start, end=end, programme_id=mixed), None),
            ("programme_attributed", admin, EvaluationFilter(start=start, end=end, programme_id=attributed), None),
            ("programme_national", admin, EvaluationFilter(start=start, end=end, programme_id=national), None),
        ]
        from mediation.stats import dashboard as stats_dashboard

        def against_raw(label, run, raw, samples, budget_s):
            """A dashboard and its raw GROUP BY measured in turn (one of each, ``samples`` times),
            both recorded with the ratio of their p95."""
            timing, raw_timing = measure_alternated(run, raw, repeat=samples, budget_s=budget_s, warmup=0)
            results.timing(f"{prefix}.{label}.dashboard", timing)
            results.timing(f"{prefix}.{label}.raw_group_by", raw_timing)
            ratio = results.ratio(f"{prefix}.{label}.dashboard_vs_raw_p95", timing.p95, raw_timing.p95)
            return timing, raw_timing, ratio

        for label, user, f, compare in cases:
            scope = Scope(session, user, authorise(session, user, f))

            def run(scope=scope, compare=compare):
                scope.cache.clear()  # a new request: nothing reused from the previous run
                return indicators.compute_dashboard(scope, compare=compare)

            dashboard = run()
            results.add(f"{prefix}.{label}.means_source", dashboard.section("moyens").source)
            results.add(f"{prefix}.{label}.accompaniments", dashboard.figure("moyens.accompagnements").display)
            # Every case carries a verdict: 30 samples, as the other dashboard benches (with 5 or 10,
            # the nearest-rank "p95" is the slowest single run: one pause decided the verdict).
            samples = max(repeat, 30)
            if label == "programme_national":
                # A programme of the whole network (its 200 posts worked 4 times what the territory's
                # structures did at 1 million), printed with the raw GROUP BY of its means alone.
                def raw(posts=national_posts):
                    return stats_dashboard.means_raw(session, start, end, either=(half, posts))

                timing, raw_timing, ratio = against_raw(label, run, raw, samples, budget_s=120)
                results.verdict(
                    f"{database.backend} {spaced(database.accompaniments)} — tableau de bord d'impact d'un programme "
                    f"de 200 postes dans tout le réseau : p95 < {DASHBOARD_TARGET_MS} ms",
                    f"p95 {timing.p95:.0f} ms ({dashboard.figure('moyens.accompagnements').display} accompagnements ; "
                    f"GROUP BY brut de ses seuls chiffres d'activité {raw_timing.p95:.0f} ms, ×{ratio:.2f})",
                    timing.p95 < DASHBOARD_TARGET_MS)
            elif label != "territory_coordinator":
                timing = measure(run, repeat=samples, budget_s=120, warmup=0)
                results.timing(f"{prefix}.{label}.dashboard", timing)
                results.verdict(
                    f"{database.backend} {spaced(database.accompaniments)} — tableau de bord d'impact d'un programme "
                    f"({PROGRAMME_KINDS[label]}) : p95 < {DASHBOARD_TARGET_MS} ms",
                    f"p95 {timing.p95:.0f} ms ({dashboard.section('moyens').source})", timing.p95 < DASHBOARD_TARGET_MS)
            else:
                # Baseline: the raw GROUP BY of the same period and structures (the headline means
                # only, straight from activities and participations), same run, measured in turn
                # with the dashboard (one of each, 30 times).
                def raw(ids=ids):
                    return stats_dashboard.means_raw(session, start, end, structure_ids=ids)

                timing, raw_timing, ratio = against_raw(label, run, raw, samples, budget_s=240)
                results.verdict(
                    f"{database.backend} {spaced(database.accompaniments)} — tableau de bord d'impact complet d'un "
                    f"territoire (toutes familles, comparaison) : p95 < {DASHBOARD_TARGET_MS} ms et ≤ GROUP BY brut",
                    f"p95 {timing.p95:.0f} ms (brut {raw_timing.p95:.0f} ms, ×{ratio:.2f})",
                    timing.p95 < DASHBOARD_TARGET_MS and timing.p95 <= raw_timing.p95)
        # The impact PDF of the programme: whole build (scope, aggregation, HTML, WeasyPrint) against
        # rendering the same HTML with the numbers already computed.
        # The first report of a process also loads WeasyPrint's fonts and stylesheets (cold); a job
        # worker pays that once: the verdict is on the warm builds (median of PDF_WARM_BUILDS), both are
        # printed, with the CPU time (on a shared machine the wall time also counts the other processes).
        # Memory is measured on the cold build (fonts and stylesheets loaded too: the larger) and on a
        # warm one.
        import statistics

        started = time.perf_counter()
        with PeakRss() as memory:
            report.build(session, admin, cases[1][2], ReportFormat.PDF)
        results.add(f"{prefix}.pdf.cold_seconds", time.perf_counter() - started)
        builds, cpus = [], []
        for _ in range(PDF_WARM_BUILDS):
            cpu = time.process_time()
            started = time.perf_counter()
            with PeakRss() as warm_memory:
                content, _, _ = report.build(session, admin, cases[1][2], ReportFormat.PDF)
            builds.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        seconds, cpu = statistics.median(builds), statistics.median(cpus)
        scope = Scope(session, admin, authorise(session, admin, cases[1][2]))
        aggregation_started = time.perf_counter()
        dashboard = indicators.compute_dashboard(scope)
        aggregation = time.perf_counter() - aggregation_started
        html = report.render_html(dashboard, scope)
        renders = []
        for _ in range(PDF_WARM_BUILDS):
            render_started = time.perf_counter()
            report.render_pdf(html)
            renders.append(time.perf_counter() - render_started)
        render = statistics.median(renders)
        from pypdf import PdfReader  # a development dependency, as the benches are

        pages = len(PdfReader(io.BytesIO(content)).pages)
        results.add(f"{prefix}.pdf.seconds", seconds)
        results.add(f"{prefix}.pdf.seconds_min", min(builds))
        results.add(f"{prefix}.pdf.cpu_seconds", cpu)
        results.add(f"{prefix}.pdf.peak_added_mb", memory.added_mb)
        results.add(f"{prefix}.pdf.warm_peak_added_mb", warm_memory.added_mb)
        results.add(f"{prefix}.pdf.bytes", len(content))
        results.add(f"{prefix}.pdf.pages", pages)
        results.add(f"{prefix}.pdf.aggregation_s", aggregation)
        results.add(f"{prefix}.pdf.render_only_s", render)
        ratio = results.ratio(f"{prefix}.pdf.build_vs_render_only", seconds, render)
        aggregation_share = results.ratio(f"{prefix}.pdf.aggregation_vs_render", aggregation, render)
        target = pdf_target_s(database.accompaniments)
        results.verdict(f"{database.backend} {spaced(database.accompaniments)} — rapport d'impact PDF d'un programme "
                        f"≤ {target:.1f} s (processus déjà chaud, médiane de {PDF_WARM_BUILDS})",
                        f"{seconds:.2f} s (CPU {cpu:.2f} s ; {pages} pages)", seconds <= target)
        results.verdict(f"{database.backend} — rapport d'impact PDF : ≤ {PDF_VS_RENDER} × le rendu seul du même HTML",
                        f"{seconds:.2f} s contre {render:.2f} s (×{ratio:.2f})", ratio <= PDF_VS_RENDER)
        results.verdict(f"{database.backend} — rapport d'impact PDF : mémoire ajoutée au pic < {PDF_MEMORY_MB} Mo",
                        f"{memory.added_mb:.0f} Mo (processus froid), {warm_memory.added_mb:.0f} Mo (chaud)",
                        memory.added_mb < PDF_MEMORY_MB)
        results.verdict(f"{database.backend} — rapport d'impact PDF : agrégation < moitié du rendu",
                        f"agrégation {aggregation:.2f} s, rendu {render:.2f} s (×{aggregation_share:.2f})",
                        aggregation_share < 0.5)
        session.rollback()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluation", description=__doc__)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--url", default=os.environ.get("BENCH_PG_URL",
                                                        "postgresql://postgres@127.0.0.1:5432/mediation_bench"))
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    results = Results()
    database = prepare(args.backend, args.url, args.n, args.seed)
    bench_evaluation(database, results, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
