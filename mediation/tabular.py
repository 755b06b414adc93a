"""Spreadsheet files in and out, for the whole application: the one CSV writer of every export, the
text-only rule for XLSX cells, and the one checked reader of every uploaded XLSX or CSV.

**Formula injection.** A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return (also after leading spaces, and in their full-width forms ``＝ ＋ － ＠``) is read as a formula
by spreadsheet software: a beneficiary named ``=HYPERLINK("http://x";"clic")`` would become a live
link in a funder's file. :func:`neutralise` prefixes such text with a single quote (OWASP "CSV
injection"), and :class:`CsvWriter` quotes it; numbers stored as numbers (int, float, Decimal —
negative ones included) are written as numbers. XLSX exports store text as text cells
(:func:`append_text_row` for openpyxl; mediation.cases.xlsx writes inline strings).

**Decompression bombs.** :func:`check_xlsx` inspects the archive before any XML is parsed (number
of entries, each entry's declared size and its actual size by a bounded read, compression ratio,
shared strings size and count, declared sheet dimension, nested archives) and
:func:`xlsx_rows` then streams the sheet (openpyxl read-only mode). :func:`csv_rows` refuses huge
lines and huge field counts. Every refusal is a :class:`TableFileError` with a French message.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# --- formula injection ----------------------------------------------------------------------------

FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
# Leading characters spreadsheet software skips before reading a formula.
_LEADING_SPACE = " \n\x0b\x0c\xa0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\ufeff"
# A plain signed number written as text ("-12", "+33612345678", "-1,5") cannot call anything.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def is_formula_like(text: str) -> bool:
    """Would spreadsheet software read ``text`` as the start of a formula?"""
    if not text:
        return False
    first = text[0]
    if first not in FORMULA_TRIGGERS and first not in _LEADING_SPACE:
        return False  # the usual text: nothing to strip, no trigger (no pattern matched)
    if _PLAIN_NUMBER.fullmatch(text):
        return False
    return first in FORMULA_TRIGGERS or text.lstrip(_LEADING_SPACE)[:1] in FORMULA_TRIGGERS


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it as text: a leading single quote when it could start a formula."""
    return "'" + text if is_formula_like(text) else text


def _default_float(value: float) -> str:
    return repr(value)


class CsvWriter:
    """A CSV writer whose cells are made safe: ``None`` → empty, numbers as numbers (``float_format``),
    dates with ``date_format``, text neutralised and then quoted (so that software splitting on the
    delimiter without reading quotes still sees one text cell). Otherwise as ``csv.writer`` writes
    (quotes only when needed, doubled inside)."""

    def __init__(self, stream, *, delimiter: str = ",", lineterminator: str = "\r\n",
                 date_format: str | None = None, float_format=_default_float):
        self.stream = stream
        self.delimiter = delimiter
        self.lineterminator = lineterminator
        self.date_format = date_format
        self.float_format = float_format

    def cell(self, value: Any) -> str:
        """The cell's text; a neutralised text starts with a single quote."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "Oui" if value else "Non"
        if isinstance(value, int | Decimal):
            return str(value)
        if isinstance(value, float):
            return self.float_format(value)
        if isinstance(value, datetime | date):
            return value.strftime(self.date_format) if self.date_format else value.isoformat()
        return neutralise(str(value))

    def _field(self, value: Any) -> str:
        if type(value) is str:  # the common case, tested once (cell() would test it again)
            if not value:
                return ""
            formula = is_formula_like(value)
            text = "'" + value if formula else value
        else:
            text = self.cell(value)
            formula = isinstance(value, str) and is_formula_like(value)
        if formula or self.delimiter in text or '"' in text or "\n" in text or "\r" in text:
            return '"' + text.replace('"', '""') + '"'
        return text

    def writerow(self, row: Iterable) -> None:
        fields = [self._field(v) for v in row]
        if fields == [""]:
            fields = ['""']  # as csv.writer: a row of one empty cell is not an empty line
        self.stream.write(self.delimiter.join(fields) + self.lineterminator)

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(rows: Iterable[Iterable], **options) -> str:
    """The rows as CSV text through :class:`CsvWriter`."""
    buffer = io.StringIO()
    CsvWriter(buffer, **options).writerows(rows)
    return buffer.getvalue()


# --- XLSX cells -----------------------------------------------------------------------------------

def append_text_row(sheet, row: Iterable) -> None:
    """``sheet.append(row)`` for an openpyxl worksheet, keeping every string a text cell (openpyxl
    turns a string starting with ``=`` into a formula)."""
    from openpyxl.cell.cell import Cell

    values = []
    for value in row:
        if isinstance(value, str) and value.startswith("="):
            value = Cell(sheet, value=value)
            value.data_type = "s"
        values.append(value)
    sheet.append(values)


# --- checked reading of uploaded files ------------------------------------------------------------

class TableFileError(ValueError):
    """The uploaded file is refused before reading; the message is French and names no value."""


MAX_ENTRIES = 1000  # files in the archive (an ordinary workbook holds 10 to 30)
MAX_ENTRY_BYTES = 200 * 1024 * 1024  # one part, uncompressed
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # every part, uncompressed
MAX_RATIO = 200  # uncompressed / compressed, for parts of more than RATIO_FLOOR bytes
RATIO_FLOOR = 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 24 * 1024 * 1024
MAX_SHARED_STRINGS = 400_000
MAX_SHEET_ROWS = 100_100
MAX_SHEET_COLUMNS = 16_384
MAX_SHEET_CELLS = 100_100 * 60
MAX_CSV_LINE_CHARS = 100_000
MAX_CSV_FIELDS = 1000
_CHUNK = 256 * 1024
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?\"")
_NESTED = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!",
           b"\xd0\xcf\x11\xe0")

UNREADABLE_XLSX = ("Le fichier n'est pas un classeur Excel (.xlsx) lisible : enregistrez-le au format .xlsx ou "
                   "CSV UTF-8 et recommencez.")
_TOO_BIG = ("Le classeur est refusé : {what}. Un classeur d'import ordinaire ne dépasse pas {limit} ; "
            "enregistrez les données utiles au format .xlsx ou CSV UTF-8, en plusieurs fichiers si besoin.")


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)}\u00a0Mo"


def _column_number(letters: bytes | None) -> int:
    number = 0
    for letter in letters or b"A":
        number = number * 26 + letter - 64
    return number


def _bounded_read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, *, head: int = 0,
                  count: bytes | None = None) -> tuple[int, bytes, int]:
    """(actual uncompressed size, the first ``head`` bytes, occurrences of ``count``) — reading at most
    ``limit + 1`` bytes, in chunks (constant memory). zipfile stops at the declared size and checks
    the CRC, so a part lying about its size is refused too."""
    size, first, found, tail = 0, b"", 0, b""
    with archive.open(info) as stream:
        while chunk := stream.read(min(_CHUNK, limit + 1 - size)):
            if len(first) < head:
                first += chunk[:head - len(first)]
            if count:
                found += (tail + chunk).count(count) - tail.count(count)
                tail = chunk[-(len(count) - 1):]
            size += len(chunk)
            if size > limit:
                break
    return size, first, found


def check_xlsx(content: bytes) -> None:
    """Refuse a workbook whose reading would cost more than its content is worth (see module doc)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise TableFileError(UNREADABLE_XLSX) from error
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise TableFileError(_TOO_BIG.format(what=f"il contient {len(infos)} fichiers internes",
                                                 limit=f"{MAX_ENTRIES} fichiers internes"))
        names = {info.filename for info in infos}
        if "xl/workbook.xml" not in names:
            raise TableFileError(UNREADABLE_XLSX)
        declared = 0
        for info in infos:
            if info.filename.lower().endswith((".zip", ".xlsx", ".xlsm", ".xls", ".docx", ".gz", ".7z", ".rar")):
                raise TableFileError("Le classeur est refusé : il contient un autre fichier compressé ou un "
                                     "document incorporé. Copiez les données dans un classeur simple et "
                                     "recommencez.")
            declared += info.file_size
            if info.file_size > MAX_ENTRY_BYTES or declared > MAX_TOTAL_BYTES:
                raise TableFileError(_TOO_BIG.format(what="une fois décompressé, il dépasse "
                                                          + _mib(max(info.file_size, declared)),
                                                     limit=_mib(MAX_TOTAL_BYTES)))
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise TableFileError(_TOO_BIG.format(
                    what=f"il est compressé plus de {MAX_RATIO} fois, comme une « bombe de décompression »",
                    limit=f"un taux de compression de {MAX_RATIO}"))
            if info.filename == "xl/sharedStrings.xml" and info.file_size > MAX_SHARED_STRINGS_BYTES:
                raise TableFileError(_TOO_BIG.format(what="ses textes partagés dépassent "
                                                          + _mib(MAX_SHARED_STRINGS_BYTES),
                                                     limit=_mib(MAX_SHARED_STRINGS_BYTES) + " de textes"))
        actual = 0
        for info in infos:
            if info.is_dir():
                continue
            shared = info.filename == "xl/sharedStrings.xml"
            sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
            try:
                size, head, strings = _bounded_read(archive, info, min(info.file_size, MAX_ENTRY_BYTES),
                                                    head=4096, count=b"<si" if shared else None)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
                raise TableFileError(UNREADABLE_XLSX) from error
            if size > info.file_size:
                raise TableFileError(UNREADABLE_XLSX)
            actual += size
            if actual > MAX_TOTAL_BYTES:
                raise TableFileError(_TOO_BIG.format(what="une fois décompressé, il dépasse "
                                                          + _mib(MAX_TOTAL_BYTES), limit=_mib(MAX_TOTAL_BYTES)))
            if head.startswith(_NESTED):
                raise TableFileError("Le classeur est refusé : il contient un autre fichier compressé ou un "
                                     "document incorporé. Copiez les données dans un classeur simple et "
                                     "recommencez.")
            if shared and strings > MAX_SHARED_STRINGS:
                raise TableFileError(_TOO_BIG.format(what=f"il contient plus de {MAX_SHARED_STRINGS:,} textes "
                                                          "différents".replace(",", "\u202f"),
                                                     limit=f"{MAX_SHARED_STRINGS:,} textes".replace(",", "\u202f")))
            if sheet:
                _check_dimension(head)


def _check_dimension(head: bytes) -> None:
    match = _DIMENSION.search(head)
    if not match:
        return
    first_col, first_row, last_col, last_row = match.groups()
    rows = int(last_row or first_row or 1)
    columns = _column_number(last_col or first_col)
    if rows > MAX_SHEET_ROWS or columns > MAX_SHEET_COLUMNS or rows * columns > MAX_SHEET_CELLS:
        raise TableFileError(
            f"Le classeur est refusé : sa feuille annonce {rows:,} lignes sur {columns:,} colonnes. Un import "
            f"compte au plus {MAX_SHEET_ROWS - 100:,} lignes : supprimez les lignes et colonnes vides (ou "
            "mises en forme) au-delà du tableau, ou découpez le fichier.".replace(",", "\u202f"))


def xlsx_rows(content: bytes, sheet_key=None, sheet_name: str | None = None, *, max_rows: int,
              max_columns: int = 200) -> list[list]:
    """The checked workbook's sheet (named ``sheet_name`` compared through ``sheet_key``, else the
    first one), read in streaming mode: at most ``max_rows`` rows of at most ``max_columns`` cells,
    trailing empty cells dropped."""
    from openpyxl import load_workbook

    check_xlsx(content)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError) as error:
        raise TableFileError(UNREADABLE_XLSX) from error
    try:
        sheet = workbook.worksheets[0]
        if sheet_name is not None:
            key = sheet_key or (lambda s: s)
            names = {key(n): n for n in workbook.sheetnames}
            if key(sheet_name) in names:
                sheet = workbook[names[key(sheet_name)]]
        sheet.reset_dimensions()  # a dimension lying small must not drop rows
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for row in sheet.iter_rows(values_only=True, max_col=max_columns):
                cells = list(row)
                while cells and cells[-1] is None:
                    cells.pop()
                rows.append(cells)
                if len(rows) >= max_rows:
                    break
        return rows
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError, EOFError) as error:
        raise TableFileError(UNREADABLE_XLSX) from error
    finally:
        workbook.close()


def decode_csv(content: bytes | str) -> str:
    if isinstance(content, str):
        return content.lstrip("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TableFileError("Le fichier n'est pas encodé en UTF-8 : enregistrez-le au format « CSV UTF-8 » "
                             "et recommencez.") from error


def _line_end(text: str, start: int) -> int:
    ends = [i for i in (text.find("\n", start), text.find("\r", start)) if i >= 0]
    return min(ends) if ends else len(text)


def check_csv(text: str) -> None:
    """Refuse a CSV text with a line longer than MAX_CSV_LINE_CHARS, in linear time without copying:
    such a line covers a whole aligned block of half that size holding no line break, and only
    those blocks are measured."""
    block = MAX_CSV_LINE_CHARS // 2
    position = 0
    while position < len(text):
        stop = min(position + block, len(text))
        if text.find("\n", position, stop) < 0 and text.find("\r", position, stop) < 0:
            start = max(text.rfind("\n", 0, position), text.rfind("\r", 0, position)) + 1
            end = _line_end(text, position)
            if end - start > MAX_CSV_LINE_CHARS:
                line = text.count("\n", 0, start) + 1
                raise TableFileError(f"Ligne {line} : la ligne dépasse {MAX_CSV_LINE_CHARS:,} caractères ; le "
                                     "fichier n'est pas un tableau lisible (vérifiez le séparateur et les "
                                     "guillemets).".replace(",", "\u202f"))
            position = max(end, stop)
        else:
            position = stop


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ends (``\r\n``, ``\n`` or ``\r``), one at a time: csv.reader
    reads them without the copy io.StringIO would make (4 bytes a character)."""
    start, size = 0, len(text)
    while start < size:
        newline = text.find("\n", start)
        carriage = text.find("\r", start, newline if newline >= 0 else size)
        if carriage >= 0:
            end = carriage + 2 if carriage + 1 < size and text[carriage + 1] == "\n" else carriage + 1
        else:
            end = newline + 1 if newline >= 0 else size
        yield text[start:end]
        start = end


class csv_rows:  # noqa: N801 - used like csv.reader
    """The records of a CSV text, like ``csv.reader`` (``line_num`` included), after :func:`check_csv`;
    a record of more than MAX_CSV_FIELDS fields raises :class:`TableFileError`; iteration stops after
    ``max_rows`` records. A record over MAX_CSV_LINE_CHARS characters raises ``csv.Error``."""

    def __init__(self, text: str, delimiter: str, *, max_rows: int | None = None):
        check_csv(text)
        self.record_chars = 0
        self.reader = csv.reader(self._bounded(_lines(text)), delimiter=delimiter)
        self.max_rows = max_rows
        self.count = 0

    def _bounded(self, lines: Iterator[str]) -> Iterator[str]:
        """The lines, but a record (a quoted field may span many lines) over MAX_CSV_LINE_CHARS
        characters raises ``csv.Error``: csv.field_size_limit() is process-wide, and a library may
        raise it (frictionless sets it very high when imported), so the bound is ours."""
        for line in lines:
            self.record_chars += len(line)
            if self.record_chars > MAX_CSV_LINE_CHARS:
                raise csv.Error("record larger than the limit")
            yield line

    @property
    def line_num(self) -> int:
        return self.reader.line_num

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        if self.max_rows is not None and self.count >= self.max_rows:
            raise StopIteration
        self.record_chars = 0
        cells = next(self.reader)
        self.count += 1
        if len(cells) > MAX_CSV_FIELDS:
            raise TableFileError(f"Ligne {self.reader.line_num} : la ligne compte {len(cells):,} champs (au plus "
                                 f"{MAX_CSV_FIELDS:,}) ; vérifiez le séparateur.".replace(",", "\u202f"))
        return cells


def read_csv_table(text: str, report, *, columns: Iterable[str], max_rows: int, check_header=None):
    """The header (lower-cased) and the records of a small CSV of named columns (communes' needs,
    places): ``;`` or ``,`` as the first line uses most, blank lines skipped, each record a
    ``(line, {column: cell})`` pair. Problems go to ``report.error(line, column, message)`` in
    French: an unreadable header or an empty file (``None``: nothing to read), a record of the wrong
    width (skipped), more than ``max_rows`` records (``None``), an unreadable record (reading stops).
    ``columns`` names the expected columns in the empty file's message; ``check_header(header)``, when
    given, reports the header's own problems before any record (missing or unknown columns).
    A column named twice is reported here."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv_rows(text, delimiter, max_rows=max_rows + 2)
    try:
        header = [h.strip().lstrip("\ufeff").lower() for h in next(reader, [])]
    except (csv.Error, TableFileError) as error:
        report.error(1, None, str(error) if isinstance(error, TableFileError)
                     else f"Ligne d'en-tête illisible ({error}).")
        return None
    if not any(header):
        report.error(0, None, "Le fichier est vide : la première ligne doit nommer les colonnes "
                              f"({', '.join(columns)}).")
        return None
    if check_header is not None:
        check_header(header)
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if duplicated:
        report.error(1, None, "Colonne en double : " + ", ".join(duplicated) + ".")
    rows = []
    line = reader.line_num
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= max_rows:
                report.error(start, None, f"Le fichier dépasse {max_rows} lignes : découpez-le.")
                return None
            if len(cells) != len(header):
                report.error(start, None, f"La ligne compte {len(cells)} colonnes au lieu de {len(header)} : "
                                          "vérifiez les séparateurs et les guillemets.")
                continue
            rows.append((start, dict(zip(header, cells, strict=True))))
    except csv.Error as error:
        report.error(line + 1, None, f"Ligne illisible ({error}) : vérifiez les guillemets.")
    except TableFileError as error:
        report.error(line + 1, None, str(error))
    return header, rows
