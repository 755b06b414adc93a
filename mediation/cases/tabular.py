"""Reading the tables of an import (XLSX or CSV) and parsing their cells, with French messages.

- :func:`read_table` finds the header row among the first 50 rows (so that a national export with
  its "Informations export" block reads as is), maps the known columns (compared without case,
  accents or apostrophe style) and returns the non-empty rows with their line numbers, as
  spreadsheet software shows them.
- Cell parsers raise :class:`CellError` with a message that never repeats the value (messages end
  up in job records, which hold no personal data).
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mediation import tabular
from mediation.cases.enums import (
    ActivityType,
    DataSource,
    DemarcheThematique,
    Genre,
    Materiel,
    PlaceType,
    StatutSocial,
    StructureRedirection,
    Thematique,
    TrancheAge,
)
from mediation.cases.exchange_models import ImportKind

MAX_ROWS = 100_000
HEADER_SEARCH_ROWS = 50
MAX_COLUMNS = 200

# --- reading a table ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=8192)
def header_key(value: Any) -> str:
    """Header cells compare without case, accents, apostrophe style or extra spaces (cached: the same
    labels repeat on every row)."""
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("’", "'").replace("‘", "'").replace("\xa0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text).strip()


def value_key(value: Any) -> str:
    """Cell values compared with labels (same rules as headers)."""
    return header_key(value)


@dataclass(frozen=True)
class Column:
    label: str  # as written in the national export
    required: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return (header_key(self.label), *(header_key(a) for a in self.aliases))


@dataclass
class RowError:
    line: int  # line of the file (1 = first line); 0 = the file as a whole
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.line and self.column:
            return f"Ligne {self.line}, colonne « {self.column} » : {self.message}"
        if self.line:
            return f"Ligne {self.line} : {self.message}"
        return self.message


def _lower_first(message: str) -> str:
    first = message.split(" ", 1)[0]
    return message if first.isupper() or not message else message[0].lower() + message[1:]


@dataclass
class ImportAnalysis:
    kind: ImportKind
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    plan: Any = None  # what apply writes (internal)
    to_create: int = 0  # records the apply step would create
    # Names the analysis cannot resolve alone (a mediator of a team export, homonyms): the user
    # chooses on the analysis page (exchange.Choice).
    choices: list = field(default_factory=list)

    @property
    def unresolved(self) -> list:
        return [c for c in self.choices if c.chosen is None]

    @property
    def ok(self) -> bool:
        return not self.errors and self.plan is not None and not self.unresolved

    @property
    def warning_groups(self) -> list[tuple[str | None, str, list[int]]]:
        """Every value dropped or changed, grouped by column and reason: (column, reason, lines)."""
        groups: dict[tuple[str | None, str], list[int]] = {}
        for warning in self.warnings:
            groups.setdefault((warning.column, warning.message), []).append(warning.line)
        return [(column, message, lines) for (column, message), lines in groups.items()]

    def error(self, line: int, column: str | None, message: str) -> None:
        self.errors.append(RowError(line, column, _lower_first(message) if column else message))

    def warn(self, line: int, column: str | None, message: str) -> None:
        self.warnings.append(RowError(line, column, message))

    def failure_message(self, limit: int = 5) -> str:
        if not self.errors and self.unresolved:
            return ("L'import n'a pas été appliqué : choisissez sur la page d'analyse à qui rattacher "
                    + ", ".join(f"« {c.label} »" for c in self.unresolved[:limit]) + ".")
        n = len(self.errors)
        listed = " ; ".join(str(e) for e in self.errors[:limit])
        more = f" (et {n - limit} autre{'s' if n - limit > 1 else ''})" if n > limit else ""
        return (f"L'import n'a pas été appliqué : le fichier contient {n} erreur{'s' if n > 1 else ''}. "
                f"{listed}{more}.")


@dataclass
class Table:
    columns: dict[str, int]  # column label → index in the row
    rows: list[tuple[int, list]]  # (line, cells)

    def get(self, cells: list, column: Column) -> Any:
        index = self.columns.get(column.label)
        if index is None or index >= len(cells):
            return None
        return cells[index]

    @functools.cached_property
    def _labels(self) -> list[str | None]:
        labels: list[str | None] = [None] * (max(self.columns.values(), default=-1) + 1)
        for label, index in self.columns.items():
            labels[index] = label
        return labels

    def values(self, cells: list) -> dict[str | None, Any]:
        """The row's cells by column label (read with ``.get(column.label)``: None when absent), for
        a row whose many cells are read one by one."""
        return dict(zip(self._labels, cells, strict=False))  # a short row lacks its last cells


def _is_xlsx(content: bytes, filename: str | None) -> bool:
    return content[:4] == b"PK\x03\x04" or (filename or "").lower().endswith((".xlsx", ".xlsm"))


def _find_header(rows, columns: list[Column], detect: list[Column]):
    """(index of the header row, {label: cell index}, ignored headers) or None."""
    wanted = {key: column for column in columns for key in column.keys}
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [header_key(c) for c in cells]
        if not all(any(k in keys for k in column.keys) for column in detect):
            continue
        mapping: dict[str, int] = {}
        ignored = []
        for position, key in enumerate(keys):
            column = wanted.get(key)
            if column is None:
                if key:
                    ignored.append(str(cells[position]).strip())
            elif column.label not in mapping:
                mapping[column.label] = position
        return index, mapping, ignored
    return None


def _merge_subheader(header: list, below: list) -> list | None:
    """When the row under the header only names sub-columns (under a merged group title, or under
    empty header cells), the combined titles: « Commune Nom », « Commune Code INSEE »…; else None."""
    positions = [p for p, cell in enumerate(below) if text_of(cell)]
    if not positions:
        return None
    width = max(len(header), len(below))
    header = list(header) + [None] * (width - len(header))
    for p in positions:
        if text_of(header[p]) and p + 1 < width and text_of(header[p + 1]):
            return None  # a data row, not sub-titles
    merged, group = [], ""
    for p in range(width):
        if text_of(header[p]):
            group = str(header[p]).strip()
        sub = below[p] if p < len(below) else None
        merged.append(f"{group} {str(sub).strip()}".strip() if text_of(sub) else header[p])
    return merged


class _Unsupported(Exception):
    """A workbook the fast reader does not read: openpyxl reads it."""


def _cell_value(value):
    """A cell as openpyxl gives it (``data_only``): empty → None, a whole number → int, a date → a
    datetime at midnight (openpyxl's ``from_excel``)."""
    if value == "":
        return None
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is date:
        return datetime(value.year, value.month, value.day)  # noqa: DTZ001 (a spreadsheet's wall time)
    return value


def fast_xlsx_rows(content: bytes, sheet_name: str | None, *, max_rows: int, max_columns: int) -> list[list]:
    """The sheet's rows read by calamine (Rust, python-calamine): four times faster than the
    streaming lxml parse it replaces on a 100,000-row export, fifteen times faster than openpyxl.
    Cell values as openpyxl gives them with ``data_only`` (shared and inline strings, numbers,
    booleans, formula results, dates by their number format) except error cells (« #N/A »), read as
    empty; empty rows kept so that line numbers are the spreadsheet's; trailing empty cells dropped. Raises _Unsupported for a workbook it does
    not read (openpyxl then reads the file)."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        try:
            names = workbook.sheet_names
            if not names:
                raise _Unsupported
            chosen = 0
            if sheet_name is not None:
                wanted = header_key(sheet_name)
                chosen = next((i for i, name in enumerate(names) if header_key(name) == wanted), 0)
            sheet = workbook.get_sheet_by_index(chosen)
            # skip_empty_area=False: the rows start at A1 (line numbers are the spreadsheet's).
            values = sheet.to_python(skip_empty_area=False, nrows=max_rows)
        finally:
            workbook.close()
    except CalamineError as error:
        raise _Unsupported from error
    rows: list[list] = []
    for row in values:
        # Non-empty text (most cells) as is; the rest through _cell_value.
        cells = [v if v.__class__ is str and v else _cell_value(v) for v in row[:max_columns]]
        while cells and cells[-1] is None:
            cells.pop()
        rows.append(cells)
    return rows


def _xlsx_rows(content: bytes, sheet_name: str, analysis: ImportAnalysis):
    """The sheet's rows: the archive checked, then streamed by :func:`fast_xlsx_rows` (openpyxl for a
    layout it does not know)."""
    limits = {"max_rows": MAX_ROWS + HEADER_SEARCH_ROWS + 1, "max_columns": MAX_COLUMNS}
    try:  # read_table reports the excess of rows
        tabular.check_xlsx(content)
        try:
            return fast_xlsx_rows(content, sheet_name, **limits)
        except (_Unsupported, KeyError, ValueError, IndexError, zipfile.BadZipFile, OSError, EOFError):
            return tabular.xlsx_rows(content, header_key, sheet_name, **limits)
    except tabular.TableFileError as error:
        analysis.error(0, None, str(error))
        return None


def _csv_rows(content: bytes, analysis: ImportAnalysis, columns, detect):
    try:
        text = tabular.decode_csv(content)
        tabular.check_csv(text)
    except tabular.TableFileError as error:
        analysis.error(0, None, str(error))
        return None
    refused = None
    for delimiter in (";", ","):
        head = []
        try:
            for cells in tabular.csv_rows(text, delimiter, max_rows=HEADER_SEARCH_ROWS):
                head.append(cells)
        except csv.Error:
            pass
        except tabular.TableFileError as error:
            refused = refused or str(error)  # the message only: the error's frames hold the reader
        if _find_header(head, columns, detect) is not None:
            break
    else:
        if refused is not None:
            analysis.error(0, None, refused)
            return None
    rows = []
    try:
        for cells in tabular.csv_rows(text, delimiter, max_rows=MAX_ROWS + HEADER_SEARCH_ROWS + 1):
            rows.append(cells[:MAX_COLUMNS])
    except csv.Error:
        analysis.error(len(rows) + 1, None, "ligne illisible : vérifiez les guillemets.")
        return None
    except tabular.TableFileError as error:
        analysis.error(0, None, str(error))
        return None
    return rows


def read_table(content: bytes, filename: str | None, columns: list[Column], detect: list[Column],
               sheet_name: str, analysis: ImportAnalysis) -> Table | None:
    """Find the header row and return the data rows with their line numbers (empty rows skipped).

    Line numbers are the rows of the sheet as spreadsheet software shows them (1 = first row)."""
    if not content:
        analysis.error(0, None, "Le fichier est vide.")
        return None
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # the old binary Excel format
        analysis.error(0, None, "Les classeurs .xls (ancien format Excel) ne sont pas lus : enregistrez le "
                                "fichier au format .xlsx ou CSV UTF-8 et recommencez.")
        return None
    if _is_xlsx(content, filename):
        rows = _xlsx_rows(content, sheet_name, analysis)
    else:
        rows = _csv_rows(content, analysis, columns, detect)
    if rows is None:
        return None
    # Lines are rows of the sheet as a spreadsheet shows them (a cell may hold several text lines).
    lines = list(range(1, len(rows) + 1))
    header = _find_header(rows, columns, detect)
    if header is None:
        analysis.error(0, None, "En-tête introuvable : le tableau doit commencer par une ligne de titres de "
                                "colonnes comprenant " + ", ".join(f"« {c.label} »" for c in detect) + ".")
        return None
    index, mapping, ignored = header
    merged = _merge_subheader(rows[index], rows[index + 1] if index + 1 < len(rows) else [])
    if merged is not None:  # a two-row header (the Coop's import template: « Commune » › Nom, Code INSEE…)
        _, mapping, ignored = _find_header([merged], columns, [])
        rows[index + 1] = []
    missing = [c.label for c in columns if c.required and c.label not in mapping]
    for label in missing:
        analysis.error(lines[index], None, f"Colonne obligatoire absente : « {label} ».")
    analysis.ignored_columns = ignored
    data = []
    for line, cells in zip(lines[index + 1:], rows[index + 1:], strict=True):
        if not any(text_of(c) for c in cells):
            continue
        if len(data) >= MAX_ROWS:
            analysis.error(line, None, f"le fichier dépasse {MAX_ROWS:,} lignes : découpez-le.".replace(",", "\u202f"))
            return None
        data.append((line, cells))
    if missing:
        return None
    if not data:
        analysis.error(0, None, "Le fichier ne contient aucune ligne à importer sous l'en-tête.")
        return None
    analysis.rows = len(data)
    return Table(mapping, data)


# --- cell parsers -------------------------------------------------------------------------------

def text_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).strip()
    return None if text in ("", "-", "—") else text


class CellError(ValueError):
    """A cell's value is refused; the message is in French, without the value itself."""


def parse_date(value: Any) -> date | None:
    if value is None or text_of(value) is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 20_000 <= value <= 80_000:
        from openpyxl.utils.datetime import from_excel

        return from_excel(value).date()  # an Excel date cell without a date format (its serial number)
    text = text_of(value)
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%y"):
        try:
            return datetime.strptime(text.split(" ")[0].split("T")[0], pattern).date()  # noqa: DTZ007
        except ValueError:
            continue
    raise CellError("date invalide (attendu JJ/MM/AAAA)")


def parse_int(value: Any, message: str) -> int | None:
    text = text_of(value)
    if text is None:
        return None
    if re.fullmatch(r"\d+([.,]0+)?", text):
        return int(re.split(r"[.,]", text)[0])
    raise CellError(message)


PARIS = ZoneInfo("Europe/Paris")


def parse_recorded_at(value: Any) -> datetime | None:
    """« Enregistré le » of the national export: « dd/MM/yyyy à HH:mm », Paris time → UTC."""
    if value is None or text_of(value) is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s*(?:à|a|\s)\s*(\d{1,2})[:h](\d{2}))?",
                             text_of(value).strip())
        if match is None:
            raise CellError("date d’enregistrement invalide (attendu JJ/MM/AAAA à HH:MM)")
        day, month, year, hour, minute = (int(g) if g else 0 for g in match.groups())
        try:
            moment = datetime(year, month, day, hour, minute)  # noqa: DTZ001 (Paris wall time)
        except ValueError as error:
            raise CellError("date d’enregistrement invalide (attendu JJ/MM/AAAA à HH:MM)") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment.astimezone(UTC)


def parse_phone(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        digits = str(int(value))
        return "0" + digits if len(digits) == 9 else digits  # Excel drops the leading zero
    return text_of(value)


def _labels(enum_cls, extra: dict[str, str] | None = None) -> dict[str, str]:
    mapping = {value_key(m.label): m.value for m in enum_cls}
    mapping.update({value_key(m.value): m.value for m in enum_cls})
    mapping.update({value_key(k): v for k, v in (extra or {}).items()})
    return mapping


GENRES = _labels(Genre, {"Homme": Genre.MASCULIN.value, "Femme": Genre.FEMININ.value, "H": Genre.MASCULIN.value,
                         "F": Genre.FEMININ.value, "M": Genre.MASCULIN.value})
STATUTS = _labels(StatutSocial, {"Non communiqué": StatutSocial.NON_COMMUNIQUE.value,
                                 "Non communiqué ou hétérogène": StatutSocial.NON_COMMUNIQUE.value,
                                 "Retraitée": StatutSocial.RETRAITE.value, "Scolarisée": StatutSocial.SCOLARISE.value})
TRANCHES = _labels(TrancheAge)
TYPES = _labels(ActivityType, {"Individuel": "individuel", "Collectif": "collectif",
                               "Demande ponctuelle": "individuel"})
PLACES = _labels(PlaceType, {"Lieu d'activité": "lieu_activite", "A distance": "a_distance",
                             "A domicile": "domicile", "Autre": "autre"})
MATERIELS = _labels(Materiel)
THEMATIQUES = {**_labels(Thematique), **_labels(DemarcheThematique)}
REDIRECTIONS = _labels(StructureRedirection)
DATA_SOURCES = {**_labels(DataSource), value_key("Espace coop (V1)"): DataSource.COOP_V1,
                value_key("La Coop de la médiation numérique (V2)"): DataSource.COOP_V2,
                "v1": DataSource.COOP_V1, "v2": DataSource.COOP_V2}
DATA_SOURCES = {k: DataSource(v) for k, v in DATA_SOURCES.items()}
YES_NO = {"oui": True, "non": False, "true": True, "false": False, "1": True, "0": False}


def parse_choice(value: Any, mapping: dict[str, str], message: str) -> str | None:
    text = text_of(value)
    if text is None:
        return None
    found = mapping.get(value_key(text))
    if found is None:
        raise CellError(message)
    return found


def parse_genre(value: Any) -> str | None:
    text = text_of(value)
    if text is None:
        return None
    found = GENRES.get(value_key(text))
    if found is None:  # the national import reads the first letter
        found = {"f": Genre.FEMININ.value, "m": Genre.MASCULIN.value, "h": Genre.MASCULIN.value,
                 "n": Genre.NON_COMMUNIQUE.value}.get(value_key(text)[:1])
    if found is None:
        raise CellError("genre invalide (attendu Masculin, Féminin ou Non communiqué)")
    return found


def parse_list(value: Any, mapping: dict[str, str], message: str) -> list[str]:
    text = text_of(value)
    if text is None:
        return []
    codes = []
    for part in re.split(r"[\n;|,]", text):
        if part.strip():
            code = mapping.get(value_key(part))
            if code is None:
                raise CellError(message)
            codes.append(code)
    return list(dict.fromkeys(codes))


def parse_stars(value: Any, enum_cls) -> str | None:
    """"2/3" (the national export), "2" or a label."""
    text = text_of(value)
    if text is None:
        return None
    match = re.fullmatch(r"([1-3])\s*(/\s*3)?", text)
    members = list(enum_cls)
    if match:
        return members[int(match.group(1)) - 1].value
    found = _labels(enum_cls).get(value_key(text))
    if found is None:
        raise CellError("niveau invalide (attendu 1/3, 2/3 ou 3/3)")
    return found


def insee_code(value: Any) -> str | None:
    text = text_of(value)
    if text is None:
        return None
    text = text.upper()
    return text.zfill(5) if text.isdigit() and len(text) == 4 else text  # Excel drops the leading zero
