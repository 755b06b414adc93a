"""The impact report: a PDF (WeasyPrint) printed from the same :class:`Dashboard` as the web page
— cover, key figures, means, outputs, outcomes with their charts, coverage, method and
definitions, data-quality annex — French formatting, page numbers and running headers (CSS
``@page``), tagged PDF. Reports (and the XLSX/CSV tables) are produced by a background job with a
progress page and kept for download (:class:`ReportFile`); ``flask --app mediation report`` makes
the same file from the command line.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
import threading
import unicodedata
from contextlib import contextmanager
from dataclasses import replace
from datetime import date

import click
import sqlalchemy as sa
from flask import current_app, render_template
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import Role, User
from mediation.errors import DomainError
from mediation.evaluation import charts, exports, indicators
from mediation.evaluation.models import ReportFile, ReportFormat
from mediation.evaluation.scope import EvaluationFilter, Scope, authorise
from mediation.extensions import db
from mediation.jobs import register
from mediation.replica import reads

JOB_KIND = "evaluation.report"
# WeasyPrint reports every rendering step at INFO: keep the application's log readable.
logging.getLogger("weasyprint").setLevel(logging.WARNING)


def report_title(scope: Scope) -> str:
    if scope.programme is not None:
        return f"Rapport d'impact — {scope.programme.name}"
    territory = scope.territory()
    if territory is not None:
        return f"Rapport d'impact — {territory.name}"
    return "Rapport d'impact — médiation numérique"


def _quiet_rows(table) -> list:
    """The coverage table's communes with neither structure nor accompaniment."""
    return [row for row in table.rows if not any(c.value or c.mask for c in row.cells[1:3])]


def _quiet(commune) -> bool:
    """An observatoire commune with no place, no accompaniment, need not high (so not flagged either)."""
    return (not commune.places and not commune.per_1000.hidden and not commune.per_1000.value
            and not commune.flagged and commune.level != "élevé")


def _and(words: list[str]) -> str:
    return " et ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def _lower_first(text: str) -> str:
    return f"{text[0].lower()}{text[1:]}"


def _observatoire_order(obs) -> list[str]:
    """What :func:`_observatoire_values` gives, in its order."""
    shown = len(obs.shown)
    return ((["besoin"] if obs.indicator else []) + [_lower_first(c) for c in obs.columns()[1:1 + shown]]
            + ["lieu le plus proche"])


def _observatoire_values(obs, commune) -> list[str]:
    """A commune's need, need indicators and nearest place, as its observatoire row prints them."""
    cells = [text for text, _hidden in obs.cells(commune)]
    shown = len(obs.shown)
    values = cells[:1 + shown] if obs.indicator else []
    return values + [f"{cells[shown + 3]} km" if commune.nearest_km is not None else cells[shown + 3]]


def _compact_communes(table, obs=None):
    """The coverage table for print: communes with neither structure nor accompaniment leave the
    table for a paragraph naming them with their population (public) and their residents
    accompanied (as displayed in the table, small counts hidden) — hundreds of such rows made most
    of the report's pages and of its rendering time. Those the observatoire's table leaves out too
    (:func:`_compact_observatoire`) carry its values here (need, need indicators, nearest place):
    the print names each commune once. The dashboard and the exports keep every row."""
    if table.code != "maillage.communes":
        return table
    quiet = _quiet_rows(table)
    if not quiet:
        return table
    observed = {c.insee: c for c in obs.communes if _quiet(c)} if obs is not None else {}

    def entry(row):
        values = [row.cells[0].display if row.cells[0].value else "population inconnue", row.cells[3].display]
        if row.key in observed:
            values += _observatoire_values(obs, observed[row.key])
        return f"{row.label} ({' ; '.join(values)})"

    # what the parentheses hold is said once, not repeated in each of hundreds of entries
    order = f"{table.columns[0].lower()} (habitants), {table.columns[3].lower()}"
    if any(row.key in observed for row in quiet):
        order += (", puis, pour les communes absentes du tableau de l'observatoire, "
                  + ", ".join(_observatoire_order(obs)))
    note = (f"Communes sans structure ni accompagnement pendant la période ({len(quiet)}) ; entre parenthèses : "
            f"{order} : " + " ; ".join(entry(r) for r in quiet) + ".")
    named = {row.key for row in quiet}
    keep = [row for row in table.rows if row.key not in named]
    return replace(table, rows=keep, note=f"{table.note} {note}" if table.note else note)


def _compact_observatoire(obs, coverage=None):
    """The observatoire's table for print, compacted as the coverage table is: communes with no
    place, no accompaniment and no high need leave the table; the others — where the network is, or
    where the need is high — stay. Those the coverage table's paragraph names (``coverage``, the
    coverage table) are given their values there (:func:`_compact_communes`); the others, here, in
    a sentence with the values their row had (need, need indicators, nearest place, residents
    accompanied per 1,000 as published). Every commune is still on the map. Two hundred such rows
    made a third of the report's pages and two fifths of its rendering time at 1 million
    accompaniments; the same communes named twice, a tenth (bench/RESULTS.md, issue 18)."""
    if obs is None:
        return obs
    keep, quiet = [], []
    for commune in obs.communes:
        (quiet if _quiet(commune) else keep).append(commune)
    repeated = _columns_printed_in(obs, keep, coverage) if coverage is not None and keep else []
    if not quiet and not repeated:
        return obs
    named = {row.key for row in _quiet_rows(coverage)} if coverage is not None else set()
    there = [c for c in quiet if c.insee in named]
    here = [c for c in quiet if c.insee not in named]
    need = "besoin faible, moyen ou non renseigné" if obs.indicator else "besoin non renseigné"
    notes = []
    if there:
        notes.append(f"Communes sans lieu ni accompagnement pendant la période, {need} ({len(there)}) : nommées "
                     f"sous le tableau « {coverage.title} », avec leur " + _and(_observatoire_order(obs)) + ".")
    if here:
        order = _observatoire_order(obs) + ["résidents accompagnés pour 1 000 hab."]
        # each commune's values in parentheses, in the order the sentence states once
        entries = (f"{c.name} ({' ; '.join(_observatoire_values(obs, c) + [c.residents_per_1000.display])})"
                   for c in here)
        notes.append(f"{'Autres c' if there else 'C'}ommunes sans lieu ni accompagnement pendant la période, {need} "
                     f"({len(here)}) ; entre parenthèses : " + ", ".join(order) + " : " + " ; ".join(entries) + ".")
    columns = None
    if repeated:
        names = obs.columns()
        columns = [i for i in range(len(names)) if i not in repeated]

        def column_name(i):
            other = SAME_AS_COVERAGE[names[i]]
            return f"« {names[i]} »" + (f" (« {other} » dans ce tableau-là)" if other != names[i] else "")

        notes.insert(0, f"Colonnes données, pour les mêmes communes, par le tableau « {coverage.title} » et non "
                        "répétées ici : " + _and([column_name(i) for i in repeated]) + ".")
    return replace(obs, table_rows=keep, table_note=" ".join(notes) or None, table_columns=columns)


# Observatoire columns the coverage table has too, under its own name (the observatoire reads them there).
SAME_AS_COVERAGE = {"Lieux": "Structures", "Accompagnements pour 1 000 hab.": "Accompagnements pour 1 000 hab.",
                    "Résidents accompagnés pour 1 000 hab.": "Résidents accompagnés pour 1 000 hab."}


def _columns_printed_in(obs, rows, coverage) -> list[int]:
    """The indexes of the observatoire's columns whose every value, in ``rows``, is printed for the
    same commune in the coverage table as printed (:func:`_compact_communes`): the print leaves them
    out of the observatoire's table."""
    quiet = {row.key for row in _quiet_rows(coverage)}
    printed = {row.key: row for row in coverage.rows if row.key not in quiet}
    repeated = []
    for index, name in enumerate(obs.columns()):
        other = SAME_AS_COVERAGE.get(name)
        if other not in coverage.columns:
            continue
        column = coverage.columns.index(other)
        if all(c.insee in printed and obs.cells(c)[index][0] == printed[c.insee].cells[column].display for c in rows):
            repeated.append(index)
    return repeated


# Tables the print leaves out when another table of the report prints every one of their numbers:
# (table, the other table, its column). The accompaniments per commune of the structures are the
# « Accompagnements » column of the coverage table, commune by commune (both sum the structures'
# accompaniments by the structure's commune); printed twice, they took a page more.
PRINTED_IN = [("moyens.par_commune", "maillage.communes", "Accompagnements")]


def printed_elsewhere(dashboard) -> dict[str, str]:
    """For each table of :data:`PRINTED_IN` whose every row is printed, with the same value (or the
    same mask), in the other table's column, the sentence the print gives in its place."""
    tables = {t.code: (t, s) for s in dashboard.sections for t in s.tables}
    found = {}
    for code, other_code, column in PRINTED_IN:
        if code not in tables or other_code not in tables or column not in tables[other_code][0].columns:
            continue
        (table, _), (other, section) = tables[code], tables[other_code]
        index = other.columns.index(column)
        cells = {r.key: r.cells[index] for r in other.rows}
        if all(r.key in cells and (cells[r.key].display, cells[r.key].mask) == (r.cells[0].display, r.cells[0].mask)
               for r in table.rows):
            found[code] = (f"{table.title} : les mêmes nombres figurent, commune par commune, dans la colonne "
                           f"« {column} » du tableau « {other.title} » (partie « {section.title} »).")
    return found


def report_dashboard(dashboard):
    """The dashboard as printed: the same figures, the coverage and observatoire tables compacted."""
    obs = dashboard.observatoire
    sections = [replace(s, tables=[_compact_communes(t, obs) for t in s.tables]) for s in dashboard.sections]
    return replace(dashboard, sections=sections,
                   observatoire=_compact_observatoire(obs, dashboard.table("maillage.communes")))


def render_html(dashboard, scope: Scope) -> str:
    return render_template(
        "evaluation/report_pdf.html", dashboard=report_dashboard(dashboard), elsewhere=printed_elsewhere(dashboard),
        scope=scope, chart=charts.report_image,
        bars=charts.table_bars, image=charts.as_image,
        title=report_title(scope), period=indicators.period_label(scope),
        funder=scope.programme.funder if scope.programme is not None else None,
        territory=scope.territory(), network_name=current_app.config["MEDIATION_NETWORK_NAME"])


_collector_lock = threading.Lock()
_collector = {"pauses": 0, "was_enabled": True}


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector off while WeasyPrint renders, one collection after.

    A render allocates hundreds of thousands of objects (styles, boxes, Pango layouts) and keeps most of
    them alive until the end: the collector, triggered by the allocations, walked that growing tree
    again and again (about a fifth of the rendering time, bench/RESULTS.md, issue 18). The garbage
    of the render is freed by the single collection at the end. Renders running at the same time in
    threads share the pause; the collector is turned back on by the last one, and only if it was on."""
    with _collector_lock:
        if _collector["pauses"] == 0:
            _collector["was_enabled"] = gc.isenabled()
            gc.disable()
        _collector["pauses"] += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector["pauses"] -= 1
            if _collector["pauses"] == 0 and _collector["was_enabled"]:
                gc.enable()
        gc.collect(0)  # everything the render allocated is still in the youngest generation


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML

    with collector_paused():
        return HTML(string=html, base_url=current_app.root_path).write_pdf(pdf_tags=True)


def _slug(text: str) -> str:
    """Lower-case words joined by hyphens, accents kept (the download gives an ASCII fallback name)."""
    text = re.sub(r"[\W_]+", "-", unicodedata.normalize("NFC", text).lower()).strip("-")
    return text[:60].strip("-") or "rapport"


def build(session: Session, user: User, f: EvaluationFilter, fmt: ReportFormat, *, compare: str | None = None,
          progress=None) -> tuple[bytes, str, Scope]:
    """The file's bytes, its name and the scope, for ``user`` (who must be allowed ``f``)."""
    progress = progress or (lambda *_args, **_kw: None)
    with reads(session):  # from the read replica when there is one and it is up to date
        scope = Scope(session, user, authorise(session, user, f))
        progress(1, 3)
        dashboard = indicators.compute_dashboard(scope, compare=compare)
    progress(2, 3)
    stem = f"{_slug(report_title(scope))}-{scope.start.isoformat()}-{scope.end.isoformat()}"
    if fmt == ReportFormat.PDF:
        content = render_pdf(render_html(dashboard, scope))
    elif fmt == ReportFormat.XLSX:
        content = exports.dashboard_xlsx(dashboard)
    else:
        content = exports.dashboard_csv(dashboard).encode("utf-8")
    progress(3, 3)
    return content, f"{stem}.{fmt.value}", scope


def store(session: Session, user: User, content: bytes, filename: str, scope: Scope, fmt: ReportFormat,
          job_id: int | None = None) -> ReportFile:
    report = ReportFile(created_by_id=user.id, job_id=job_id, format=fmt, title=report_title(scope),
                        params=scope.filter.query_args(), filename=filename, size=len(content),
                        sha256=hashlib.sha256(content).hexdigest(), content=content)
    session.add(report)
    session.flush()
    record(session, "report.generated", actor=user, obj=report,
           details={"format": fmt.value, "params": report.params})
    return report


def start_report(session: Session, user: User, f: EvaluationFilter, fmt: ReportFormat | str,
                 compare: str | None = None):
    """Check the filters now (a refusal is immediate), then enqueue the job."""
    fmt = ReportFormat(fmt)
    authorise(session, user, f)
    from mediation.jobs import enqueue

    return enqueue(session, JOB_KIND, user=user, total=3,
                   params={"filters": f.query_args(), "format": fmt.value, "compare": compare})


@register(JOB_KIND)
def report_job(session: Session, job, progress) -> dict:
    user = session.get(User, job.created_by_id)
    if user is None or not user.is_active_account:
        raise DomainError("Le compte qui a demandé ce rapport n'est plus actif.")
    f = EvaluationFilter.from_params(job.params["filters"])
    fmt = ReportFormat(job.params["format"])
    content, filename, scope = build(session, user, f, fmt, compare=job.params.get("compare"), progress=progress)
    report = store(session, user, content, filename, scope, fmt, job_id=job.id)
    path = current_app.url_map.bind("").build("evaluation.report_download",
                                              {"report_id": report.id, "fmt": report.format.value})
    return {"Rapport": report.title, "Fichier": filename, "url": path}


# --- command line -------------------------------------------------------------------------------

@click.command("report")
@click.option("--du", "start", required=True, help="Début de la période (AAAA-MM-JJ).")
@click.option("--au", "end", required=True, help="Fin de la période (AAAA-MM-JJ).")
@click.option("--programme", type=int, help="Identifiant du programme.")
@click.option("--territoire", type=int, help="Identifiant du territoire.")
@click.option("--commune", type=int)
@click.option("--structure", type=int)
@click.option("--format", "fmt", type=click.Choice([f.value for f in ReportFormat]), default="pdf", show_default=True)
@click.option("--compte", "email", help="Produire le rapport avec les droits de ce compte (un administrateur par défaut).")
@click.option("--sortie", "output", type=click.Path(dir_okay=False, writable=True), help="Fichier à écrire.")
@with_appcontext
def report_command(start, end, programme, territoire, commune, structure, fmt, email, output) -> None:
    """Produit un rapport d'impact (PDF) ou ses tableaux (XLSX, CSV) pour une période."""
    session = db.session
    if email:
        user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    else:
        user = session.scalar(sa.select(User).where(User.role == Role.ADMIN, User.is_active_account.is_(True))
                              .order_by(User.id).limit(1))
    if user is None:
        raise click.ClickException("Compte introuvable : indiquez --compte avec l'adresse d'un compte existant.")
    try:
        f = EvaluationFilter(start=date.fromisoformat(start), end=date.fromisoformat(end), programme_id=programme,
                             territory_id=territoire, commune_id=commune, structure_id=structure)
    except ValueError:
        raise click.ClickException("Dates au format AAAA-MM-JJ, par exemple --du 2026-01-01 --au 2026-12-31.") from None
    if f.start > f.end:
        raise click.ClickException("La date de fin doit être postérieure ou égale à la date de début.")

    def progress(done, total=None):
        click.echo(f"Étape {done} sur {total or 3}…")

    try:
        content, filename, scope = build(session, user, f, ReportFormat(fmt), progress=progress)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    path = output or filename
    with open(path, "wb") as handle:
        handle.write(content)
    store(session, user, content, filename, scope, ReportFormat(fmt))
    session.commit()
    click.echo(f"Rapport écrit dans {path} ({len(content):,} octets).".replace(",", " "))
