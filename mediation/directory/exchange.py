"""Import and export of structures in the national schema of "lieux de médiation numérique"
(CSV, UTF-8, comma separated, ``|`` between the values of a multi-valued field).

:func:`import_structures` validates every row first and reports errors per line and column;
if any row is invalid nothing changes. Rows are matched to existing structures by SIRET (the
``pivot`` column), then — rows without SIRET — by name and commune; matched structures are
updated with the columns present in the file, the others are created. Used by the web page and
reusable from the API or a CLI command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from mediation.audit.services import record
from mediation.auth.models import User
from mediation.directory import communes as reference_communes
from mediation.directory import policy, services
from mediation.directory.models import Commune, Structure
from mediation.directory.national_schema import (
    COLUMN_OF_ATTR,
    CSV_COLUMNS,
    CSV_HEADER,
    LIST_FIELDS_BY_ATTR,
    LIST_SEPARATOR,
    NO_PIVOT,
    schema_spelling,
)
from mediation.directory.reference import reference
from mediation.errors import DomainError, Forbidden
from mediation.tabular import TableFileError, check_csv, csv_text, decode_csv, read_csv_table

MAX_ROWS = 5000
REQUIRED_COLUMNS = ("nom",)  # and code_insee, or commune and code_postal


# --- export ----------------------------------------------------------------------------------

def _cell(structure: Structure, column: str, attr: str | None) -> Any:
    """The cell's value; text goes through the application's CSV writer (formulas neutralised)."""
    if column == "id":
        return structure.id
    if column == "pivot":
        return structure.siret or structure.rna or NO_PIVOT
    if column == "commune":
        return structure.commune.name
    if column == "code_insee":
        return structure.commune.insee_code
    if column == "code_postal":  # required by the schema: the commune's when the place has none
        return structure.postal_code or structure.commune.postal_code or ""
    value: Any = getattr(structure, attr)
    if value is None:
        return ""
    if attr in LIST_FIELDS_BY_ATTR or attr == "courriels":
        return LIST_SEPARATOR.join(schema_spelling(v) for v in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value  # numbers stay numbers (the CSV writer neutralises text only)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def export_rows(structures: Iterable[Structure]) -> Iterable[list]:
    yield list(CSV_HEADER)
    for structure in structures:
        yield [_cell(structure, column, attr) for column, attr in CSV_COLUMNS]


def export_csv(structures: Iterable[Structure]) -> str:
    """The structures as a national-schema CSV document (their commune must be loaded)."""
    return csv_text(export_rows(structures))


# --- import ----------------------------------------------------------------------------------

@dataclass
class RowError:
    line: int  # line of the file (the header is line 1); 0 for the file as a whole
    column: str | None
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, line: int, column: str | None, message: str) -> None:
        self.errors.append(RowError(line, column, message))

    def as_dict(self) -> dict:
        return {
            "lignes": self.rows, "creees": self.created, "mises_a_jour": self.updated,
            "inchangees": self.unchanged, "appliquee": self.applied,
            "colonnes_ignorees": self.ignored_columns,
            "erreurs": [{"ligne": e.line, "colonne": e.column, "message": e.message} for e in self.errors],
        }


@dataclass
class _Row:
    line: int
    commune: Commune
    values: dict[str, Any]
    target: Structure | None = None


def _decode(content: bytes | str, report: ImportReport) -> str | None:
    """The text of the file, checked by the application's reader (UTF-8, no huge line)."""
    try:
        text = decode_csv(content)
        check_csv(text)
    except TableFileError as error:
        report.error(0, None, str(error))
        return None
    return text


def _read(text: str, report: ImportReport) -> tuple[list[str], list[tuple[int, dict]]] | None:
    def check_header(header: list[str]) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            report.error(1, None, "Colonne obligatoire absente : " + ", ".join(missing) + ". Les colonnes "
                                  "attendues sont celles du schéma national : " + ", ".join(CSV_HEADER) + ".")
        report.ignored_columns = [h for h in header if h and h not in CSV_HEADER]

    return read_csv_table(text, report, columns=CSV_HEADER, max_rows=MAX_ROWS, check_header=check_header)


def _row_data(cells: dict[str, str]) -> dict[str, Any]:
    """Model attributes from the columns present in the row (pivot split into SIRET or RNA)."""
    data = {attr: cells[column] for column, attr in CSV_COLUMNS if attr and column in cells}
    if "pivot" in cells:
        pivot = cells["pivot"].strip()
        if pivot.strip("0") == "":
            data["siret"] = None  # NO_PIVOT: neither SIRET nor RNA
        elif pivot.upper().startswith("W"):
            data["rna"] = pivot
        else:
            data["siret"] = pivot
    return data


def _validate(session: Session, actor: User, rows: list[tuple[int, dict]], report: ImportReport) -> list[_Row]:
    """Check every row; return the valid ones with the structure each one updates (if any)."""
    def code_of(cells: dict) -> str:
        # code_insee is optional in schema v1.0.2: the commune and postal code name it otherwise.
        return (cells.get("code_insee", "").strip().upper()
                or reference_communes.find_code(cells.get("commune"), cells.get("code_postal")) or "")

    communes = services.communes_by_insee(session, [code_of(cells) for _, cells in rows])
    cleaned: list[tuple[int, dict, Commune, dict]] = []
    for line, cells in rows:
        before = len(report.errors)
        insee = code_of(cells)
        commune = communes.get(insee)
        official = reference().get(insee) if insee else None
        if not insee and (cells.get("commune", "").strip() or cells.get("code_postal", "").strip()):
            report.error(line, "commune", f"Commune introuvable : aucune commune « {cells.get('commune', '').strip()} "
                                          f"» de code postal « {cells.get('code_postal', '').strip()} » dans le "
                                          "référentiel officiel ; renseignez le code INSEE.")
        elif not insee:
            report.error(line, "code_insee", "La commune est obligatoire : renseignez le code INSEE, ou la "
                                             "commune et le code postal.")
        elif commune is None or not commune.in_network:
            name = f"{official.name} ({insee})" if official else f"de code INSEE « {insee} »"
            report.error(line, "code_insee", f"Commune hors du réseau : aucun territoire ne contient la commune "
                                             f"{name} ; un lieu se rattache à une commune d'un territoire.")
        elif not policy.can_use_commune(actor, commune):
            report.error(line, "code_insee", f"La commune {commune.name} ({insee}) n'est pas dans votre "
                                             "territoire.")
        try:
            values = services.clean_structure(_row_data(cells), partial=True)
        except DomainError as error:
            for attr, message in (error.errors or {"": error.message}).items():
                report.error(line, COLUMN_OF_ATTR.get(attr), message)
            continue
        if len(report.errors) == before:
            cleaned.append((line, cells, commune, values))

    sirets = {values["siret"] for _, _, _, values in cleaned if values.get("siret")}
    by_siret = {s.siret: s for s in session.scalars(
        sa.select(Structure).options(selectinload(Structure.commune)).where(Structure.siret.in_(sirets))
    )} if sirets else {}
    commune_ids = {commune.id for _, _, commune, values in cleaned if not values.get("siret")}
    by_name = {(s.commune_id, s.name.casefold()): s for s in session.scalars(
        sa.select(Structure).options(selectinload(Structure.commune))
        .where(Structure.commune_id.in_(commune_ids), Structure.siret.is_(None))
    )} if commune_ids else {}

    valid: list[_Row] = []
    seen: dict[Any, int] = {}
    for line, cells, commune, values in cleaned:
        siret = values.get("siret")
        if siret:
            target, key = by_siret.get(siret), ("siret", siret)
        else:
            target = by_name.get((commune.id, values["name"].casefold()))
            key = ("name", commune.id, values["name"].casefold())
        if target is not None:
            key = ("id", target.id)
        if key in seen:
            report.error(line, "pivot" if siret else "nom",
                         f"Cette ligne désigne la même structure que la ligne {seen[key]}.")
            continue
        seen[key] = line
        if target is not None and not policy.can_edit_structure(actor, target):
            report.error(line, "pivot", f"Ce SIRET est celui de la structure « {target.name} », hors de votre "
                                        "territoire : vous ne pouvez pas la modifier.")
            continue
        if target is None and "adresse" not in cells:
            report.error(line, "adresse", "L'adresse est obligatoire pour créer une structure : ajoutez la "
                                          "colonne « adresse ».")
            continue
        if (target is not None and target.postal_code is None and target.commune_id == commune.id
                and values.get("postal_code") == commune.postal_code):
            values.pop("postal_code")  # exported from the commune (the schema requires one): no change
        valid.append(_Row(line, commune, values, target))
    return valid


def import_structures(session: Session, actor: User, content: bytes | str, *, dry_run: bool = False
                      ) -> ImportReport:
    """Validate the whole file, then (if every row is valid and not ``dry_run``) create or update
    the structures and write one ``structure.imported`` audit event with the counts.
    Returns the report; raises Forbidden if the actor may not import."""
    if not policy.can_import_structures(actor):
        raise Forbidden("Votre rôle ne permet pas d'importer des structures.")
    report = ImportReport()
    text = _decode(content, report)
    parsed = _read(text, report) if text is not None else None
    if parsed is None:
        return report
    _, rows = parsed
    report.rows = len(rows)
    if not rows and report.ok:
        report.error(0, None, "Le fichier ne contient aucune ligne de structure sous l'en-tête.")
    if not report.ok:
        # Still validate the rows that could be read, to list every problem at once.
        _validate(session, actor, rows, report)
        return report
    valid = _validate(session, actor, rows, report)
    if not report.ok:
        return report
    if dry_run:
        report.created = sum(1 for row in valid if row.target is None)
        report.updated = len(valid) - report.created
        return report
    try:
        with session.begin_nested():
            for row in valid:
                if row.target is None:
                    services.create_structure(session, actor, row.commune, row.values,
                                              details={"source": "import"})
                    report.created += 1
                elif services.update_structure(session, actor, row.target, row.values, commune=row.commune,
                                               details={"source": "import"}):
                    report.updated += 1
                else:
                    report.unchanged += 1
    except DomainError as error:  # validated above: only a concurrent change can get here
        report.created = report.updated = report.unchanged = 0
        report.error(row.line, None, error.message)
        return report
    record(session, "structure.imported", actor=actor, object_type="structures",
           details={"rows": report.rows, "created": report.created, "updated": report.updated,
                    "unchanged": report.unchanged})
    report.applied = True
    return report
