"""Need indicators per commune, imported from open data (docs/observatoire.md).

A CSV file, one row per commune: ``code_insee`` and at least one of the indicator columns
(:data:`INDICATORS`), optionally ``source``. The whole file is checked first; if any row is wrong,
nothing is written and every error is listed (line, column, French message). A commune of the
reference that belongs to no territory of the network (or, for a coordinator, not to theirs) is
counted as ignored: a national file can be sent as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import Role, User
from mediation.directory.models import Commune, CommuneNeed
from mediation.directory.reference import reference
from mediation.errors import Forbidden
from mediation.tabular import TableFileError, check_csv, decode_csv, read_csv_table

MAX_ROWS = 40_000  # every commune of France fits in one file

# column → (attribute, French label, maximum)
INDICATORS = {
    "indice_fragilite_numerique": ("fragility_index", "Indice de fragilité numérique", 1000.0),
    "part_75_ans_et_plus": ("share_75_plus", "Part des 75 ans et plus (%)", 100.0),
    "taux_pauvrete": ("poverty_rate", "Taux de pauvreté (%)", 100.0),
}
OPTIONAL = ("source",)
COLUMNS = ("code_insee", *INDICATORS, *OPTIONAL)


@dataclass
class NeedError:
    line: int  # line of the file (the header is line 1); 0 for the file as a whole
    column: str | None
    message: str


@dataclass
class NeedsReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    ignored: int = 0  # communes outside the actor's territories
    errors: list[NeedError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, line: int, column: str | None, message: str) -> None:
        self.errors.append(NeedError(line, column, message))


def can_import_needs(actor: User) -> bool:
    return actor.role in (Role.ADMIN, Role.COORDINATOR)


def parse_decimal(text: str) -> float:
    """« 12,5 », « 12.5 » or « 1 234,5 » → 12.5; ValueError otherwise."""
    cleaned = text.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
    if cleaned.endswith("%"):
        cleaned = cleaned[:-1]
    value = float(cleaned)
    if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
        raise ValueError(text)
    return value


def _read(content: bytes | str, report: NeedsReport) -> list[tuple[int, dict[str, str]]] | None:
    try:
        text = decode_csv(content)
        check_csv(text)
    except TableFileError as error:
        report.error(0, None, str(error))
        return None

    def check_header(header: list[str]) -> None:
        if "code_insee" not in header:
            report.error(1, None, "Colonne obligatoire absente : code_insee.")
        if not any(c in header for c in INDICATORS):
            report.error(1, None, "Aucune colonne d'indicateur : le fichier doit en avoir au moins une parmi "
                                  + ", ".join(INDICATORS) + ".")
        report.ignored_columns = [h for h in header if h and h not in COLUMNS]

    table = read_csv_table(text, report, columns=COLUMNS, max_rows=MAX_ROWS, check_header=check_header)
    return None if table is None else table[1]


def _in_scope(actor: User, commune: Commune | None) -> bool:
    if commune is None or commune.territory_id is None:
        return False
    return actor.role == Role.ADMIN or commune.territory_id == actor.territory_id


def import_needs(session: Session, actor: User, content: bytes | str, *, dry_run: bool = False,
                 illustrative: bool = False) -> NeedsReport:
    """Check the whole file, then (if every row is valid and not ``dry_run``) store the indicators
    of each commune of the actor's territories: the columns present replace the stored values, an
    empty cell clears it. One ``commune_needs.imported`` audit event with the counts."""
    if not can_import_needs(actor):
        raise Forbidden("Votre rôle ne permet pas d'importer des indicateurs de besoin.")
    report = NeedsReport()
    rows = _read(content, report)
    if rows is None:
        return report
    report.rows = len(rows)
    if not rows and report.ok:
        report.error(0, None, "Le fichier ne contient aucune ligne de commune sous l'en-tête.")
    ref = reference()
    raw_codes = [cells.get("code_insee", "").strip().upper() for _, cells in rows]
    candidates = {c for c in raw_codes if c} | {f.insee_code for c in raw_codes if c and (f := ref.get(c))}
    stored: dict[str, Commune] = {}
    wanted = sorted(candidates)
    for start in range(0, len(wanted), 500):
        for commune in session.scalars(sa.select(Commune).where(Commune.insee_code.in_(wanted[start:start + 500]))):
            stored[commune.insee_code] = commune
    codes = []
    for raw_code in raw_codes:  # a stored commune first, then the reference (former codes → current)
        found = ref.get(raw_code) if raw_code and raw_code not in stored else None
        codes.append(found.insee_code if found is not None else raw_code)
    seen: dict[str, int] = {}
    valid: list[tuple[str, dict]] = []
    for (line, cells), code in zip(rows, codes, strict=True):
        if not code:
            report.error(line, "code_insee", "Code INSEE manquant.")
            continue
        if code not in stored and ref.get(code) is None:
            report.error(line, "code_insee", f"Code INSEE inconnu du référentiel des communes : « {code} » "
                                             "(le code INSEE n'est pas le code postal).")
            continue
        if code in seen:
            report.error(line, "code_insee", f"La commune {code} figure déjà à la ligne {seen[code]}.")
            continue
        seen[code] = line
        values: dict = {}
        for column, (attr, label, maximum) in INDICATORS.items():
            if column not in cells:
                continue
            text = cells[column].strip()
            if not text:
                values[attr] = None
                continue
            try:
                value = parse_decimal(text)
            except ValueError:
                report.error(line, column, f"« {text} » n'est pas un nombre (exemple : 12,5).")
                continue
            if not 0 <= value <= maximum:
                report.error(line, column, f"{label} : {text} est hors des valeurs possibles (de 0 à "
                                           f"{maximum:g}).".replace(".", ","))
                continue
            values[attr] = value
        if "source" in cells:
            source = cells["source"].strip()
            if len(source) > 200:
                report.error(line, "source", "La source dépasse 200 caractères.")
                continue
            values["source"] = source or None
        valid.append((code, values))
    if not report.ok:
        return report
    existing = {n.commune_id: n for n in session.scalars(
        sa.select(CommuneNeed).where(CommuneNeed.commune_id.in_([c.id for c in stored.values()] or [-1])))}
    for code, values in valid:
        commune = stored.get(code)
        if not _in_scope(actor, commune):
            report.ignored += 1
            continue
        need = existing.get(commune.id)
        if need is None:
            report.created += 1
            if not dry_run:
                need = CommuneNeed(commune_id=commune.id)
                session.add(need)
        else:
            report.updated += 1
        if not dry_run:
            for attr, value in values.items():
                setattr(need, attr, value)
            need.illustrative = illustrative
    if dry_run:
        return report
    session.flush()
    record(session, "commune_needs.imported", actor=actor, object_type="commune_needs",
           details={"rows": report.rows, "created": report.created, "updated": report.updated,
                    "ignored": report.ignored})
    report.applied = True
    return report
