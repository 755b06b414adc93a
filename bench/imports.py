"""Import of activities at scale (issues 4 and 14): the ``cases.import`` job (analysis then apply,
one transaction) on a workbook laid out as La Coop's activities export, against plain SQLAlchemy
Core executemany of the same rows.

The rows are the app's own export (:func:`mediation.cases.exports.export_activities`) of the busiest
mediator's activities in one structure, repeated with new "ID CRA" (UUIDs, as the Coop's) until it
holds N rows (one row per accompagnement), so every activity is new; they are written as the Coop
writes its file (sheet « Activités », information and filter blocks, header on row 22, real dates). Both runs happen inside a transaction that
is rolled back (flush, no commit): the benchmark database is left as it was, rollups included.
Before the rollback the rollups of the import's structure are compared with their defining
aggregates (``rollups.differences`` restricted to that structure). The job reports its progress as
in a worker (one short transaction per update); the CPU seconds of the process and of its
PostgreSQL backend are printed beside the wall time, which a loaded machine stretches.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from types import SimpleNamespace

import sqlalchemy as sa

from bench.common import Results
from bench.database import BenchDatabase
from bench.evaluation import PeakRss
from mediation.extensions import db

SOURCE_ROWS = 5_000  # rows exported once, then repeated with new ids
IMPORT_TARGET_ROWS_PER_S = 5_000  # issue 14, item 9 (PostgreSQL)


def _importer(session):
    """(user, structure) of the busiest (structure, mediator) pair the mediator may import into."""
    from mediation.auth.models import User
    from mediation.cases import activities as activity_rules
    from mediation.directory.models import Structure

    pairs = session.execute(sa.text(
        "SELECT structure_id, mediator_id FROM activities WHERE deleted_at IS NULL "
        "GROUP BY structure_id, mediator_id ORDER BY count(*) DESC LIMIT 30")).all()
    for structure_id, mediator_id in pairs:
        user = session.get(User, mediator_id)
        if user is not None and structure_id in {s.id for s in activity_rules.mediator_structures(session, user)}:
            return user, session.get(Structure, structure_id)
    raise RuntimeError("aucun médiateur pouvant importer dans sa structure")


def _file(session, user, structure, n: int) -> bytes:
    """The export of the pair's activities as CSV, its rows repeated with new "ID CRA" up to ``n``."""
    from mediation.cases.exchange import A
    from mediation.cases.exports import csv_chunks, export_activities
    from mediation.cases.models import Activity

    query = (sa.select(Activity).where(Activity.structure_id == structure.id, Activity.mediator_id == user.id,
                                       Activity.deleted_at.is_(None)).limit(SOURCE_ROWS))
    text = "".join(csv_chunks(export_activities(session, user, query, [], include_identity=True)))
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    start = next(i for i, row in enumerate(lines) if A.ID_CRA.label in row)
    header, rows = lines[start], lines[start + 1:]
    id_column = header.index(A.ID_CRA.label)
    groups: dict[str, list[list[str]]] = {}
    for row in rows:
        groups.setdefault(row[id_column], []).append(row)
    from datetime import datetime

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Activités")
    for block in (["Informations export"], ["Nom", user.last_name], ["Prénom", user.first_name], ["Rôle", "Médiateur"],
                  ["Total", n], ["Date d'export", "02/06/2025"], ["Heure d'export", "09:30"], [], ["Filtres"],
                  *([label, "-"] for label in ("Période", "Source", "Lieux d’accompagnement", "Communes",
                                               "Départements", "Type d’accompagnement", "Rôle",
                                               "Thématiques non administratives", "Thématiques administratives",
                                               "Tags")), [], [""]):
        sheet.append(block)
    sheet.append(header)
    date_column = header.index(A.DATE.label)
    written, copy, stamp = 0, 0, uuid.uuid4().int >> 80
    while written < n:
        for number, (_, group) in enumerate(groups.items()):
            if written + len(group) > n:  # whole CRAs only
                continue
            external_id = str(uuid.UUID(int=(stamp << 80) | (copy << 32) | number))
            for row in group:
                cells = [*row[:id_column], external_id, *row[id_column + 1:]]
                cell = WriteOnlyCell(sheet, datetime.strptime(cells[date_column], "%d/%m/%Y"))  # noqa: DTZ007
                cell.number_format = "dd/mm/yyyy"  # as the Coop's builder formats its « Date » column
                cells[date_column] = cell
                sheet.append(cells)
            written += len(group)
        copy += 1
        if written and n - written < min(len(g) for g in groups.values()):
            break
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _structure_differences(session, structure_id: int) -> int:
    """Rows where a rollup of ``structure_id`` and its defining aggregate disagree."""
    from mediation.cases.models import Activity
    from mediation.stats import rollups

    session.flush()
    selects = rollups.aggregate_selects(Activity.structure_id == structure_id)
    count = 0
    for table in rollups.ROLLUP_TABLES:
        expected = selects[table.name].subquery()
        stored = sa.select(*[table.c[c.name] for c in expected.c]).where(table.c.structure_id == structure_id).subquery()
        for query in (sa.select(expected).except_(sa.select(stored)), sa.select(stored).except_(sa.select(expected))):
            count += len(session.execute(query.limit(20)).all())
    return count


def _plain_insert(session, plan, user_id: int) -> int:
    """The rows of the analysed plan, written with Core executemany (no validation, audit, rollups)."""
    from mediation.cases.enums import RecordSource
    from mediation.cases.exchange import PAGE
    from mediation.cases.models import Activity, ActivityThematique, Beneficiary, Participation

    connection = session.connection()
    activities, people_table = Activity.__table__, Beneficiary.__table__
    page = {"insertmanyvalues_page_size": PAGE}  # the import's page size
    activity_rows, themes, people, links = [], [], [], []
    for _, rows in plan.groups:
        activity_rows.append({**rows[0].activity, "participants_count": len(rows)})
    ids = connection.execute(activities.insert().returning(activities.c.id, sort_by_parameter_order=True)
                             .execution_options(**page), activity_rows).scalars().all()
    for activity_id, (_, rows) in zip(ids, plan.groups, strict=True):
        themes.extend({"activity_id": activity_id, "code": code} for code in rows[0].codes)
        for row in rows:
            if not row.beneficiary_id:
                people.append({"owner_structure_id": plan.structure_id, "created_by_id": user_id, "anonymous": True,
                               "random_attributes": False, "source": RecordSource.IMPORT, **row.anonymous})
    connection.execute(ActivityThematique.__table__.insert().execution_options(**page), themes)
    anonymous = iter(connection.execute(people_table.insert().returning(people_table.c.id, sort_by_parameter_order=True)
                                        .execution_options(**page), people).scalars().all() if people else [])
    for activity_id, (_, rows) in zip(ids, plan.groups, strict=True):
        for row in rows:
            links.append({"activity_id": activity_id, "beneficiary_id": row.beneficiary_id or next(anonymous),
                          "case_id": None, "first_accompaniment": not row.beneficiary_id})
    connection.execute(Participation.__table__.insert().execution_options(**page), links)
    return len(links)


def bench_import(database: BenchDatabase, results: Results, n: int) -> None:
    from mediation.cases.exchange import analyse, import_job
    from mediation.cases.exchange_models import ImportKind

    prefix = f"{database.backend}.import"
    with database.app.app_context(), database.app.test_request_context():
        session = db.session
        user, structure = _importer(session)
        t0 = time.perf_counter()
        content = _file(session, user, structure, n)
        results.add(f"{prefix}.file_s", time.perf_counter() - t0)
        results.add(f"{prefix}.file_mb", len(content) / 2**20)
        session.rollback()

        # Baseline: the same rows (as analysed) with plain executemany; analysis not timed.
        analysis = analyse(session, user, structure, ImportKind.ACTIVITIES, content, "bench.xlsx")
        # Homonyms of the synthetic data: « none of them: anonymous participant », as a user may choose
        # on the page (the first person offered made two homonyms of a workshop the same person, which
        # the analysis refuses: the 1M database has such workshops).
        resolutions = {c.key: c.options[-1][0] for c in analysis.choices}
        if resolutions:
            analysis = analyse(session, user, structure, ImportKind.ACTIVITIES, content, "bench.xlsx",
                               resolutions=resolutions)
        results.add(f"{prefix}.homonym_choices", len(resolutions))
        if not analysis.ok:
            raise RuntimeError(f"fichier du banc refusé : {analysis.failure_message()}")
        plan = analysis.plan
        del analysis
        t0 = time.perf_counter()
        plain_rows = _plain_insert(session, plan, user.id)
        plain_s = time.perf_counter() - t0
        session.rollback()
        del plan

        job = SimpleNamespace(id=None, created_by_id=user.id, input_data=content, input_name="bench.xlsx",
                              params={"kind": ImportKind.ACTIVITIES.value, "structure_id": structure.id,
                                      "resolutions": resolutions})
        from mediation.jobs.services import _publish_progress

        updates = []

        def progress(done, total=None):
            # As the worker's progress bar: its own short transaction per update (PostgreSQL), on a
            # job id that does not exist (the benchmark database is left as it was).
            _publish_progress(0, done, total)
            updates.append(done)

        backend_cpu = _backend_cpu(session)
        with PeakRss() as memory:
            t0, cpu0, server0 = time.perf_counter(), time.process_time(), backend_cpu()
            outcome = import_job(session, job, progress)
            session.flush()
            import_s = time.perf_counter() - t0
            client_cpu, server_cpu = time.process_time() - cpu0, backend_cpu() - server0
        rows = outcome["Accompagnements créés"]
        differences = _structure_differences(session, structure.id)
        session.rollback()

    results.add(f"{prefix}.rows", rows)
    results.add(f"{prefix}.activities", outcome["Activités créées"])
    results.add(f"{prefix}.seconds", import_s)
    results.add(f"{prefix}.rows_per_s", rows / import_s)
    results.add(f"{prefix}.peak_rss_added_mb", memory.added_mb)  # above the process's RSS before the job
    results.add(f"{prefix}.progress_updates", len(updates))
    # CPU seconds of this process and of its PostgreSQL backend (read in /proc when the server is on
    # this machine, else 0): on a shared machine the wall time counts the other processes' load too.
    results.add(f"{prefix}.client_cpu_s", client_cpu)
    results.add(f"{prefix}.server_cpu_s", server_cpu)
    results.add(f"{prefix}.plain_executemany.rows", plain_rows)
    results.add(f"{prefix}.plain_executemany.seconds", plain_s)
    results.add(f"{prefix}.plain_executemany.rows_per_s", plain_rows / plain_s)
    ratio = results.ratio(f"{prefix}.ratio_vs_plain", import_s / max(rows, 1), plain_s / max(plain_rows, 1))
    results.add(f"{prefix}.rollup_differences", differences)
    target = IMPORT_TARGET_ROWS_PER_S if database.backend == "postgresql" else 0
    results.verdict(f"{database.backend} — import de {_int(n)} lignes d'activités La Coop (rollups exacts"
                    + (f", ≥ {_int(target)} lignes/s)" if target else ")"),
                    f"{_int(rows / import_s)} lignes/s, {import_s:.1f} s (CPU {client_cpu:.1f} s + serveur "
                    f"{server_cpu:.1f} s), ×{ratio:.1f} vs executemany, {differences} écart de rollup",
                    rows >= 0.99 * n and differences == 0 and rows / import_s >= target)


def _backend_cpu(session):
    """A function returning the CPU seconds used so far by the session's PostgreSQL backend (0 when
    it cannot be read: SQLite, a server on another machine)."""
    import os

    if session.get_bind().dialect.name != "postgresql":
        return lambda: 0.0
    pid = session.scalar(sa.text("SELECT pg_backend_pid()"))

    def used() -> float:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    return used


def _int(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")
