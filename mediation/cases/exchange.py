"""Import of beneficiaries and activities in the national tool's export columns (XLSX or CSV).

Two steps (docs/domain/activity-records.md §2.2, §3.4):

1. **Analysis** (:func:`analyse`): every row is read and validated; errors are listed per line and
   column ("Ligne 12, colonne « Date » : date invalide (attendu JJ/MM/AAAA)") with a summary of
   what would be created. Nothing is written. A file without error is kept as an
   :class:`~mediation.cases.exchange_models.ImportUpload` until the mediator confirms it.
2. **Apply** (job ``cases.import``): the file is analysed again, then written in batches with a
   progress bar. The job runs in one transaction: if anything fails, nothing is written.

Files: XLSX (first sheet, or the sheet named "Bénéficiaires" / "Activités") or CSV (UTF-8 with or
without BOM, ``;`` or ``,`` detected), read by :mod:`mediation.cases.tabular`. Messages never
repeat cell values: they end up in job records, which hold no personal data.

Imported records have ``source = "import"`` and keep their external id (the "ID CRA" column for
activities; for beneficiaries, an "ID" column when present, else a digest of the normalised
identity): importing the same file again into the same structure creates nothing.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import Role, User
from mediation.cases import activities as activity_rules
from mediation.cases import services, signals
from mediation.cases.duplicates import normalise_name as _normalise_name
from mediation.cases.enums import (
    ActivityType,
    Autonomie,
    CaseState,
    DataSource,
    Genre,
    NiveauAtelier,
    PlaceType,
    RecordSource,
    StatutSocial,
    StructureRedirection,
    TagScope,
    TrancheAge,
)
from mediation.cases.exchange_models import ImportKind, ImportUpload
from mediation.cases.models import (
    Activity,
    ActivityTag,
    ActivityThematique,
    Beneficiary,
    Case,
    Participation,
    Tag,
)
from mediation.cases.tabular import (
    DATA_SOURCES,
    MATERIELS,
    PLACES,
    REDIRECTIONS,
    STATUTS,
    THEMATIQUES,
    TRANCHES,
    TYPES,
    YES_NO,
    CellError,
    Column,
    ImportAnalysis,
    Table,
    insee_code,
    parse_choice,
    parse_date,
    parse_genre,
    parse_int,
    parse_list,
    parse_phone,
    parse_recorded_at,
    parse_stars,
    read_table,
    text_of,
    value_key,
)
from mediation.directory import communes, scopes
from mediation.directory.models import Commune, StaffMembership, Structure
from mediation.errors import DomainError, Forbidden, NotFound
from mediation.jobs import enqueue, register
from mediation.types import local_today, utcnow

BATCH = 500
# Accompaniments written per step of an activities import (one progress update each): COPY makes
# large steps cheap, 50 updates for 100,000 rows.
APPLY_BATCH = 2000
# Rows per multi-VALUES INSERT: psycopg prepares very long statements slowly (10k rows: 12 s → 8 s).
PAGE = 100
UPLOAD_TTL = timedelta(hours=24)
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _communes_byinsee_code(session: Session, codes, store: bool) -> dict[str, Commune]:
    """Communes of the given INSEE codes: the network's, or the official reference's (a residence or
    place outside the territories is kept where it is). Stored only when the import is applied
    (``store``); the analysis writes nothing and sees them unsaved, without id."""
    return communes.resolve_codes(session, codes, store=store)


def _check_structure(session: Session, user: User, structure: Structure) -> None:
    """The importer is a mediator working for ``structure`` today."""
    allowed = {s.id for s in activity_rules.mediator_structures(session, user)}
    if structure.id not in allowed:
        raise Forbidden("Vous ne pouvez importer que dans une structure pour laquelle vous intervenez.")


# --- beneficiaries ------------------------------------------------------------------------------

class B:
    """Columns of the national beneficiaries export (§3.4)."""

    NOM = Column("Nom", required=True)
    PRENOM = Column("Prénom", required=True)
    ANNEE = Column("Année de naissance")
    # The Coop's import template writes them under a « Commune » group title (two-row header).
    COMMUNE = Column("Nom de la commune", aliases=("Commune Nom", "Commune"))
    INSEE = Column("Code INSEE", aliases=("Commune Code INSEE",))
    CODE_POSTAL = Column("Code postal", aliases=("Commune Code postal",))
    TELEPHONE = Column("N° de téléphone", aliases=("Téléphone", "Numéro de téléphone"))
    EMAIL = Column("E-mail", aliases=("Email", "Courriel"))
    GENRE = Column("Genre")
    TRANCHE = Column("Tranche d’âge")  # kept only without a birth year (else derived from it)
    STATUT = Column("Statut", aliases=("Statut du bénéficiaire",))
    NOMBRE = Column("Nombre d’accompagnements")  # ignored: recomputed
    NOTES = Column("Notes supplémentaires", aliases=("Notes",))
    ID = Column("ID", aliases=("Identifiant", "ID bénéficiaire"))

    ALL = [NOM, PRENOM, ANNEE, COMMUNE, INSEE, CODE_POSTAL, TELEPHONE, EMAIL, GENRE, TRANCHE, STATUT, NOMBRE,
           NOTES, ID]
    EXPORT = [NOM, PRENOM, ANNEE, COMMUNE, INSEE, CODE_POSTAL, TELEPHONE, EMAIL, GENRE, TRANCHE, STATUT, NOMBRE,
              NOTES]


FIELD_COLUMNS = {"first_name": B.PRENOM.label, "last_name": B.NOM.label, "email": B.EMAIL.label,
                 "phone": B.TELEPHONE.label, "birth_year": B.ANNEE.label, "genre": B.GENRE.label,
                 "statut_social": B.STATUT.label, "residence_commune_id": B.INSEE.label,
                 "notes": B.NOTES.label}


def identity_digest(values: dict) -> str:
    """External id of a beneficiary imported without an id column: a digest of the normalised identity."""
    parts = [normalise_name(values.get("last_name")), normalise_name(values.get("first_name")),
             str(values.get("birth_year") or ""), (values.get("email") or "").lower(),
             re.sub(r"\D", "", values.get("phone") or "")]
    return "h:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


normalise_name = functools.lru_cache(maxsize=65536)(_normalise_name)  # names repeat on every row


@functools.lru_cache(maxsize=4096)
def _find_code(name: str | None, postal: str | None) -> str | None:
    return communes.find_code(name, postal)


def _row_insee(table, cells, columns) -> str | None:
    """The INSEE code of a row, or — when absent — that of the one commune of its name and postal code."""
    insee_col, name_col, postal_col = columns
    insee = insee_code(table.get(cells, insee_col))
    if insee is not None and not re.fullmatch(r"[0-9][0-9AB][0-9]{3}", insee):
        insee = None  # the template's formula message (« Nom de commune invalide »): the name decides
    if insee is None:
        name, postal = text_of(table.get(cells, name_col)), text_of(table.get(cells, postal_col))
        return _find_code(name, postal) if name or postal else None
    return insee


def _commune_for_row(analysis, line, table, cells, found, columns) -> int | None:
    """Resolve the commune of residence by INSEE code (or name and postal code, without one); name and
    postal code must agree with it (any of its postal codes: Rouen is 76000 and 76100)."""
    insee_col, name_col, postal_col = columns
    insee = _row_insee(table, cells, columns)
    if insee is None:
        if text_of(table.get(cells, name_col)) or text_of(table.get(cells, postal_col)):
            analysis.warn(line, name_col.label, "commune introuvable ou ambiguë (précisez le code INSEE) : "
                                                "la commune de résidence ne sera pas renseignée")
        return None
    commune = found.get(insee)
    if commune is None:
        analysis.error(line, insee_col.label, "Code commune non trouvé dans le référentiel officiel des communes")
        return None
    postal = text_of(table.get(cells, postal_col))
    if postal and not communes.has_postal_code(commune, postal):
        analysis.error(line, postal_col.label, "Le code postal de la commune ne correspond pas")
    name = text_of(table.get(cells, name_col))
    if name and not communes.names_match(commune, name):
        analysis.error(line, name_col.label, "Le nom de la commune ne correspond pas")
    return commune.id


@dataclass
class BeneficiaryPlan:
    structure_id: int
    to_create: list[dict] = field(default_factory=list)
    already: int = 0
    repeated: int = 0


def parse_int_or_none(value) -> int | None:
    try:
        return parse_int(value, "")
    except CellError:
        return None


def analyse_beneficiaries(session: Session, user: User, structure: Structure, content: bytes,
                          filename: str | None, store_communes: bool = False) -> ImportAnalysis:
    analysis = ImportAnalysis(ImportKind.BENEFICIARIES)
    _check_structure(session, user, structure)
    table = read_table(content, filename, B.ALL, [B.NOM, B.PRENOM], "Bénéficiaires", analysis)
    if table is None:
        return analysis
    columns = (B.INSEE, B.COMMUNE, B.CODE_POSTAL)
    found = _communes_byinsee_code(session, (_row_insee(table, c, columns) for _, c in table.rows), store_communes)
    existing = set(session.scalars(sa.select(Beneficiary.external_id).where(
        Beneficiary.owner_structure_id == structure.id, Beneficiary.external_id.is_not(None))))
    plan = BeneficiaryPlan(structure.id)
    seen: dict[str, int] = {}
    today = local_today()
    for line, cells in table.rows:
        if (value_key(text_of(table.get(cells, B.NOM))), value_key(text_of(table.get(cells, B.PRENOM)))) == (
                "exemple", "lea"):
            analysis.warn(line, B.NOM.label, "ligne d’exemple du modèle de La Coop : ignorée")
            continue
        errors_before = len(analysis.errors)
        parsed: dict[str, Any] = {}
        for key, column, parser in (
            ("birth_year", B.ANNEE, lambda v: parse_int(v, "année de naissance invalide (attendu AAAA)")),
            ("genre", B.GENRE, parse_genre),
            ("statut_social", B.STATUT, lambda v: parse_choice(v, STATUTS, "statut inconnu")),
            ("tranche_age", B.TRANCHE, lambda v: parse_choice(v, TRANCHES, activity_rules.UNKNOWN_TRANCHE)),
        ):
            try:
                parsed[key] = parser(table.get(cells, column))
            except CellError as error:
                analysis.error(line, column.label, str(error))
                parsed[key] = None
        commune_id = _commune_for_row(analysis, line, table, cells, found, columns)
        data = services.BeneficiaryInput(
            first_name=text_of(table.get(cells, B.PRENOM)), last_name=text_of(table.get(cells, B.NOM)),
            email=text_of(table.get(cells, B.EMAIL)), phone=parse_phone(table.get(cells, B.TELEPHONE)),
            birth_year=parsed["birth_year"], residence_commune_id=commune_id, genre=parsed["genre"],
            statut_social=parsed["statut_social"], notes=text_of(table.get(cells, B.NOTES)),
        )
        row_errors = services.Errors()
        values = services.validate_beneficiary(session, data, row_errors, today=today)
        for name, message in row_errors.by_field.items():
            analysis.error(line, FIELD_COLUMNS.get(name), message)
        if len(analysis.errors) > errors_before:
            continue
        given_id = text_of(table.get(cells, B.ID))
        if given_id and len(given_id) > 100:
            analysis.error(line, B.ID.label, "identifiant trop long (100 caractères au maximum)")
            continue
        external_id = given_id or identity_digest(values)
        if external_id in seen:
            if given_id:
                analysis.error(line, B.ID.label, f"identifiant déjà utilisé ligne {seen[external_id]}")
            else:
                analysis.warn(line, None, f"ligne identique à la ligne {seen[external_id]} : ignorée")
                plan.repeated += 1
            continue
        seen[external_id] = line
        if parse_int_or_none(table.get(cells, B.NOMBRE)):
            analysis.warn(line, B.NOMBRE.label, "nombre d’accompagnements non repris : il est recalculé à partir des "
                                                "activités (importez le fichier des activités)")
        if external_id in existing:
            plan.already += 1
            continue
        if values.get("birth_year") is None and parsed["tranche_age"] not in (None, TrancheAge.NON_COMMUNIQUE.value):
            values["tranche_age"] = TrancheAge(parsed["tranche_age"])  # the stored band, without a birth year
        values.update(owner_structure_id=structure.id, created_by_id=user.id, anonymous=False,
                      source=RecordSource.IMPORT, external_id=external_id)
        plan.to_create.append(values)
    analysis.summary = {
        "Lignes lues": analysis.rows,
        "Bénéficiaires à créer (avec leur dossier)": len(plan.to_create),
        "Déjà importés (ignorés)": plan.already,
        "Lignes en double (ignorées)": plan.repeated,
    }
    analysis.plan = plan
    analysis.to_create = len(plan.to_create)
    return analysis


PREALLOCATE_IDS = True  # PostgreSQL: ids drawn from the sequence, rows sent by COPY (bench/)


def _insert_many(session: Session, model, rows: list[dict]) -> None:
    """Rows without ids to read back: ``COPY … FROM STDIN`` on PostgreSQL (:func:`_copy_rows`),
    multi-VALUES pages elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        by_keys: dict[tuple, list[dict]] = {}  # one COPY per set of columns (defaults apply to the rest)
        for row in rows:
            by_keys.setdefault(tuple(row), []).append(row)
        for keys, group in by_keys.items():
            _copy_rows(session, model.__table__, keys, group)
    else:
        session.execute(sa.insert(model).execution_options(insertmanyvalues_page_size=PAGE), rows)


def _copy_rows(session: Session, table: sa.Table, keys: tuple[str, ...], rows: list[dict]) -> None:
    """PostgreSQL's COPY in the session's transaction, with what an INSERT would do: each value
    through its column type's bind processing (enums as their value, UTC datetimes, JSON), the
    Python-side defaults for the columns the rows leave out (one value for the whole COPY: the same
    ``utcnow()``), the server's for the rest. Ten times fewer server work and round trips than an
    executemany of the same rows."""
    connection = session.connection()
    dialect = connection.dialect
    columns = [table.c[key] for key in keys]
    defaults = []
    for column in table.c:
        if column.key in keys or column.default is None:
            continue
        default = column.default
        if default.is_scalar:
            defaults.append((column, default.arg))
        elif default.is_callable:
            defaults.append((column, default.arg(None)))
        else:  # a sequence or an SQL expression: only an INSERT evaluates it
            connection.execute(table.insert(), rows)
            return
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    fixed = []
    for column, value in defaults:
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        fixed.append(processor(value) if processor is not None else value)
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(column.name) for column in [*columns, *(c for c, _ in defaults)])
    statement = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
    converters = list(enumerate(processors))
    plain = all(p is None for p in processors)
    cursor = connection.connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                values = [row[key] for key in keys]
                if not plain:
                    for index, processor in converters:
                        if processor is not None:
                            values[index] = processor(values[index])
                copy.write_row((*values, *fixed) if fixed else values)
    finally:
        cursor.close()


def _insert_returning_ids(session: Session, model, rows: list[dict]) -> list[int]:
    """Insert the rows and return their ids, in order. On PostgreSQL the ids are drawn from the
    table's sequence first (one query), then the rows go by executemany (psycopg pipelines it),
    without RETURNING: much fewer round trips than multi-VALUES statements with RETURNING."""
    if not rows:
        return []
    if PREALLOCATE_IDS and session.get_bind().dialect.name == "postgresql":
        table = model.__tablename__
        ids = list(session.execute(sa.text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table, "n": len(rows)}).scalars())
        _insert_many(session, model, [{**row, "id": row_id} for row, row_id in zip(rows, ids, strict=True)])
        return ids
    result = session.execute(sa.insert(model).returning(model.id, sort_by_parameter_order=True)
                             .execution_options(insertmanyvalues_page_size=PAGE), rows)
    return list(result.scalars())


def apply_beneficiaries(session: Session, user: User, plan: BeneficiaryPlan, progress) -> dict:
    total = len(plan.to_create)
    progress(0, total)
    created = 0
    for start in range(0, total, BATCH):
        batch = plan.to_create[start:start + BATCH]
        ids = _insert_returning_ids(session, Beneficiary, batch)
        # Like a beneficiary created by hand, each one gets a case held by the structure (the
        # pages, lists and activity forms reach people through their case).
        _insert_returning_ids(session, Case, [
            {"beneficiary_id": beneficiary_id, "structure_id": plan.structure_id, "mediator_id": user.id,
             "created_by_id": user.id, "state": CaseState.OPEN, "version": 1} for beneficiary_id in ids])
        created += len(batch)
        progress(created, total)
    return {"Bénéficiaires créés": created, "Dossiers ouverts": created, "Déjà importés (ignorés)": plan.already,
            "Lignes en double (ignorées)": plan.repeated}


# --- activities ---------------------------------------------------------------------------------

class A:
    """Columns of the national activities export, one row per accompagnement (§3.4)."""

    DATE = Column("Date", required=True)
    CREATED = Column("Enregistré le")
    MODIFIED = Column("Dernière modification le")
    MEDIATOR_FIRST_NAME = Column("Prénom du médiateur")
    MEDIATOR_LAST_NAME = Column("Nom du médiateur")
    MEDIATOR_EMAIL = Column("E-mail du médiateur", aliases=("Email du médiateur", "Courriel du médiateur"))
    ROLE = Column("Rôle")
    CONUM = Column("ID - Conum")
    TYPE = Column("Type", required=True)
    PARTICIPANTS = Column("Participants")
    BENEFICIAIRE = Column("Bénéficiaire")
    CANAL = Column("Canaux d’accompagnement", required=True, aliases=("Canal", "Lieu"))
    LIEU_NOM = Column("Nom du lieu")
    LIEU_ADRESSE = Column("Adresse")
    LIEU_COMMUNE = Column("Commune")
    LIEU_CODE_POSTAL = Column("Code postal")
    LIEU_INSEE = Column("Code Insee")
    DUREE = Column("Durée (min)", required=True, aliases=("Durée",))
    ATELIER = Column("Nom de l’atelier")
    MATERIEL = Column("Matériel numérique utilisé")
    THEMATIQUES = Column("Thématique(s) d’accompagnement", required=True, aliases=("Thématiques",))
    TAGS = Column("Tags")
    DEMARCHE = Column("Nom de la démarche administrative")
    NIVEAU = Column("Niveau d’autonomie (ou de l’atelier)")
    REORIENTE = Column("Bénéficiaire réorienté")
    REDIRECTION = Column("Structure de redirection")
    BEN_COMMUNE = Column("Commune du bénéficiaire")
    BEN_CODE_POSTAL = Column("Code postal du bénéficiaire")
    BEN_INSEE = Column("Code Insee du bénéficiaire")
    BEN_GENRE = Column("Genre du bénéficiaire", aliases=("Genre",))
    BEN_TRANCHE = Column("Tranche d’âge du bénéficiaire", aliases=("Tranche d’âge",))
    BEN_STATUT = Column("Statut du bénéficiaire")
    NOTES = Column("Notes supplémentaires")
    SOURCE = Column("Source de la donnée")
    ID_CRA = Column("ID CRA", required=True)

    ALL = [DATE, CREATED, MODIFIED, MEDIATOR_FIRST_NAME, MEDIATOR_LAST_NAME, MEDIATOR_EMAIL, ROLE, CONUM, TYPE, PARTICIPANTS,
           BENEFICIAIRE, CANAL, LIEU_NOM, LIEU_ADRESSE, LIEU_COMMUNE, LIEU_CODE_POSTAL, LIEU_INSEE, DUREE, ATELIER,
           MATERIEL, THEMATIQUES, TAGS, DEMARCHE, NIVEAU, REORIENTE, REDIRECTION, BEN_COMMUNE, BEN_CODE_POSTAL,
           BEN_INSEE, BEN_GENRE, BEN_TRANCHE, BEN_STATUT, NOTES, SOURCE, ID_CRA]


PLACE_COMMUNE = (A.LIEU_INSEE, A.LIEU_COMMUNE, A.LIEU_CODE_POSTAL)
RESIDENCE_COMMUNE = (A.BEN_INSEE, A.BEN_COMMUNE, A.BEN_CODE_POSTAL)
ANONYMOUS_NAMES = {"anonyme", "beneficiaire anonyme", "non communique"}
# Activity-level columns that every row of one CRA must repeat identically.
GROUP_COLUMNS = (A.DATE, A.TYPE, A.CANAL, A.DUREE, A.THEMATIQUES)
# The Coop's activity ids are UUIDs; with a « Source de la donnée » column, or such an id, a row is
# one of the national tool's activities: unique in the whole network (uq_activities_national_external_id).
NATIONAL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
IGNORE = "ignorer"
ANONYMOUS = "anonyme"


@dataclass
class _ActivityRow:
    line: int
    group_values: tuple  # cells of GROUP_COLUMNS, as read (consistency check)
    activity: dict
    codes: list[str]
    participant_index: tuple[int, int] | None
    beneficiary_id: int | None
    anonymous: dict
    tags: list[str] = field(default_factory=list)
    place_key: tuple | None = None  # a place unknown to the directory, created at apply


@dataclass
class Choice:
    """A name of the file the analysis cannot resolve alone: the user picks on the analysis page."""

    key: str  # "mediateur:<digest of the name>" or "beneficiaire:<digest of the name>"
    label: str  # the name as the file writes it
    reason: str
    options: list[tuple[str, str]]  # (value, label)
    lines: list[int] = field(default_factory=list)
    chosen: str | None = None

    @property
    def field_name(self) -> str:
        return "choix-" + self.key.replace(":", "-")


@dataclass
class ActivityPlan:
    structure_id: int | None
    groups: list[tuple[str, list[_ActivityRow]]] = field(default_factory=list)
    already: int = 0
    new_places: dict[tuple, dict] = field(default_factory=dict)
    new_tag_scope: str = "personnel"  # personnel (the importer's) or territoire (a coordinator's)
    territory_id: int | None = None

    @property
    def accompaniments(self) -> int:
        return sum(len(rows) for _, rows in self.groups)


def _choice_key(kind: str, name_key: str) -> str:
    """« mediateur:<digest> »: the choices travel with the job, whose records hold no personal data."""
    return f"{kind}:" + hashlib.sha256(name_key.encode()).hexdigest()[:24]


def _name_key(*parts: str | None) -> str:
    return "|".join(normalise_name(p) for p in parts)


class _Context:
    """Lookups shared by every row of an activities import (loaded once).

    ``structure`` is the structure imported into (a mediator's import); None for a coordinator's
    team export, whose rows go to each mediator's structure."""

    def __init__(self, session: Session, user: User, structure: Structure | None, table: Table,
                 store_communes: bool, resolutions: dict):
        self.session = session
        self.structure = structure
        self.user = user
        self.resolutions = resolutions or {}
        self.choices: dict[str, Choice] = {}
        self.new_places: dict[tuple, dict] = {}
        self.parsed: dict[tuple, tuple] = {}  # (field, type, cell value) → (parsed, error message)
        self.found_places: dict[tuple, int | None] = {}
        self.checked_thematiques: dict[tuple, tuple] = {}
        self.team = A.MEDIATOR_FIRST_NAME.label in table.columns and A.MEDIATOR_LAST_NAME.label in table.columns
        self.table = table
        self.found_insee: dict[tuple, str | None] = {}
        # Each row's (place, residence) INSEE codes, read here once for the lookup of the communes and
        # kept for the row's analysis (by line).
        self.row_codes: dict[int, tuple[str | None, str | None]] = {}
        for line, cells in table.rows:
            self.row_codes[line] = (self.row_insee(cells, PLACE_COMMUNE), self.row_insee(cells, RESIDENCE_COMMUNE))
        insee_codes = {code for codes in self.row_codes.values() for code in codes}
        self.communes = _communes_byinsee_code(session, insee_codes, store_communes)
        self.territory_id = structure.commune.territory_id if structure is not None else user.territory_id
        # Places: the whole directory (a place outside the territories is kept where it is), and the
        # places earlier imports kept (unlisted).
        self.places: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for place_id, name, insee in session.execute(
                sa.select(Structure.id, Structure.name, Commune.insee_code).join(Commune, Commune.id == Structure.commune_id)
                .order_by(Structure.unlisted, Structure.id)):
            self.places[normalise_name(name)].append((place_id, insee))
        self.structure_communes = dict(session.execute(sa.select(Structure.id, Structure.commune_id)).all())
        self._load_mediators(session, user, structure)
        self.people: dict[str, set[int]] = defaultdict(set)
        self.person_labels: dict[int, str] = {}
        if structure is not None and A.BENEFICIAIRE.label in table.columns:
            held = sa.select(Case.beneficiary_id).where(Case.structure_id == structure.id)
            for person_id, first, last, year in session.execute(
                    sa.select(Beneficiary.id, Beneficiary.first_name, Beneficiary.last_name, Beneficiary.birth_year)
                    .where(Beneficiary.anonymous.is_(False), Beneficiary.deleted_at.is_(None),
                           sa.or_(Beneficiary.owner_structure_id == structure.id, Beneficiary.id.in_(held)))):
                self.people[normalise_name(f"{first}{last}")].add(person_id)
                self.people[normalise_name(f"{last}{first}")].add(person_id)
                born = f", né·e en {year}" if year else ", année de naissance inconnue"
                self.person_labels[person_id] = f"{first} {last}{born} (fiche n° {person_id})"

    def _load_mediators(self, session: Session, user: User, structure: Structure | None) -> None:
        """Mediators a team export may name: those of the importer's scope (a coordinator's territory,
        an administrator's network, a mediator's own structures), with their structures there."""
        scope = scopes.structure_scope(user) if structure is None else sa.select(sa.literal(structure.id))
        query = (sa.select(User.id, User.first_name, User.last_name, User.email, StaffMembership.structure_id,
                           Structure.name)
                 .join(StaffMembership, StaffMembership.user_id == User.id)
                 .join(Structure, Structure.id == StaffMembership.structure_id)
                 .where(scopes.active_membership_clause(User.id), User.is_active_account.is_(True))
                 .order_by(Structure.name, StaffMembership.structure_id))
        if scope is not None:
            query = query.where(StaffMembership.structure_id.in_(scope))
        if user.role == Role.MEDIATOR:
            # A mediator imports their own activities only: the other mediators of a team export are
            # left out (listed), never credited to them.
            query = query.where(User.id == user.id)
        self.mediators: dict[str, set[int]] = defaultdict(set)
        self.mediator_emails: dict[str, int] = {}
        self.mediator_structures: dict[int, list[int]] = defaultdict(list)
        self.mediator_labels: dict[int, str] = {}
        for user_id, first, last, email, structure_id, structure_name in session.execute(query):
            self.mediators[_name_key(first, last)].add(user_id)
            self.mediator_emails[(email or "").lower()] = user_id
            if structure_id not in self.mediator_structures[user_id]:
                self.mediator_structures[user_id].append(structure_id)
            self.mediator_labels.setdefault(user_id, f"{first} {last} ({structure_name})")

    def row_insee(self, cells: list, columns) -> str | None:
        """_row_insee, once per distinct (code, name, postal code) of the file."""
        table = self.table
        values = [table.get(cells, column) for column in columns]
        key = (columns[0].label, *values, *(v.__class__ for v in values))
        found = self.found_insee.get(key, _MISSING)
        if found is _MISSING:
            found = self.found_insee[key] = _row_insee(table, cells, columns)
        return found

    def place(self, name: str | None, insee: str | None) -> int | None:
        key = (name, insee)
        if key not in self.found_places:  # the same few places on every row
            candidates = self.places.get(normalise_name(name), []) if name else []
            if insee:
                candidates = [c for c in candidates if c[1] == insee] or ([] if len(candidates) > 1 else candidates)
            self.found_places[key] = candidates[0][0] if candidates else None
        return self.found_places[key]

    def thematiques(self, codes: list[str], errors) -> tuple[list[str], bool]:
        """activity_rules.check_thematiques, once per combination of codes."""
        key = tuple(codes)
        found = self.checked_thematiques.get(key)
        if found is None:
            own = services.Errors()
            kept, has_demarches = activity_rules.check_thematiques(codes, own)
            found = self.checked_thematiques[key] = (kept, has_demarches, list(own.by_field.items()))
        for name, message in found[2]:
            errors.add(name, message)
        return list(found[0]), found[1]

    def _choice(self, key: str, label: str, reason: str, options: list[tuple[str, str]], line: int) -> Choice:
        choice = self.choices.get(key)
        if choice is None:
            valid = {value for value, _ in options}
            chosen = self.resolutions.get(key)
            choice = self.choices[key] = Choice(key, label, reason, options,
                                                chosen=chosen if chosen in valid else None)
        choice.lines.append(line)
        return choice

    def mediator(self, line: int, first: str | None, last: str | None, email: str | None) -> int | str | None:
        """The row's mediator (a user id), IGNORE when the user chose not to import their rows, None
        while unresolved (a choice is offered)."""
        if not self.team:
            return self.user.id
        if email and email.lower() in self.mediator_emails:
            return self.mediator_emails[email.lower()]
        found = self.mediators.get(_name_key(first, last), set())
        if len(found) == 1:
            return next(iter(found))
        name = " ".join(p for p in (first, last) if p) or "(sans nom)"
        candidates = sorted(found) if found else (sorted(self.mediator_labels) if self.user.role != Role.MEDIATOR
                                                  else [])
        options = [(str(i), self.mediator_labels[i]) for i in sorted(candidates, key=lambda i: self.mediator_labels[i])]
        options.append((IGNORE, "Ne pas importer ses activités"))
        reason = ("plusieurs médiateurs portent ce nom" if found
                  else "aucun médiateur de ce nom dans les structures que vous pouvez importer")
        choice = self._choice(_choice_key("mediateur", _name_key(first, last)), name, reason, options, line)
        if choice.chosen is None:
            return None
        return IGNORE if choice.chosen == IGNORE else int(choice.chosen)

    def structure_for(self, mediator_id: int, place_structure_id: int | None) -> int | None:
        if self.structure is not None:
            return self.structure.id
        structures = self.mediator_structures.get(mediator_id, [])
        if place_structure_id in structures:
            return place_structure_id
        return structures[0] if structures else None

    def person(self, line: int, name: str) -> int | None:
        """A followed person of that name; a homonym is chosen on the analysis page."""
        found = self.people.get(normalise_name(name), set())
        if len(found) == 1:
            return next(iter(found))
        if not found:
            return None
        options = [(str(i), self.person_labels[i]) for i in sorted(found)]
        options.append((ANONYMOUS, "Aucun d’eux : participant anonyme"))
        choice = self._choice(_choice_key("beneficiaire", normalise_name(name)), name,
                              f"{len(found)} bénéficiaires suivis portent ce nom", options, line)
        if choice.chosen is None or choice.chosen == ANONYMOUS:
            return None if choice.chosen is None else 0
        return int(choice.chosen)


# Column of the import where each field's error is reported (field names of the activity rules).
ACTIVITY_FIELD_COLUMNS = {
    "date": A.DATE, "type": A.TYPE, "duration_min": A.DUREE, "place_type": A.CANAL,
    "place_structure_id": A.LIEU_NOM, "place_commune_id": A.LIEU_INSEE, "thematiques": A.THEMATIQUES,
    "demarches": A.THEMATIQUES, "demarche_name": A.DEMARCHE, "materiel": A.MATERIEL, "autonomie": A.NIVEAU,
    "workshop_level": A.NIVEAU, "oriented": A.REORIENTE, "redirection": A.REDIRECTION,
    "workshop_title": A.ATELIER, "participants": A.PARTICIPANTS, "anon_genre": A.BEN_GENRE,
    "anon_tranche_age": A.BEN_TRANCHE, "anon_statut_social": A.BEN_STATUT, "external_id": A.ID_CRA,
    "recorded_at": A.CREATED, "data_source": A.SOURCE, "tags": A.TAGS,
}


def _place_of_row(ctx: _Context, analysis: ImportAnalysis, table: Table, line: int, cells: list, errors):
    """(place_type, place_structure_id, place_commune_id, new place key)."""
    place_type = activity_rules.check_place_type(
        _parse(errors, "place_type", table.get(cells, A.CANAL), parse_choice, PLACES,
               "canal inconnu (attendu Lieu d’activité, Autre lieu, À domicile ou À distance)", cache=ctx.parsed), errors)
    place_insee = ctx.row_codes[line][0]
    commune = ctx.communes.get(place_insee or "")
    if place_type == PlaceType.LIEU_ACTIVITE:
        name = text_of(table.get(cells, A.LIEU_NOM))
        found = ctx.place(name, place_insee)
        if found is not None:
            return place_type, found, None, None
        if not name:
            fallback = ctx.structure.id if ctx.structure is not None else None
            if fallback is not None:
                analysis.warn(line, A.LIEU_NOM.label, "lieu d’activité non renseigné : la structure d’import est retenue")
                return place_type, fallback, None, None
            errors.add("place_structure_id", "Veuillez renseigner le lieu d’activité")
            return place_type, None, None, None
        # A place the directory does not hold: kept as a place of its own, never replaced.
        key = (normalise_name(name), place_insee or "")
        if key not in ctx.new_places:
            if commune is None:
                analysis.warn(line, A.LIEU_COMMUNE.label, "commune du lieu inconnue : le lieu est rattaché à la "
                                                          "commune de la structure du médiateur")
            ctx.new_places[key] = {"name": name[:250], "address": (text_of(table.get(cells, A.LIEU_ADRESSE)) or "")[:300],
                                   "postal_code": (text_of(table.get(cells, A.LIEU_CODE_POSTAL)) or "")[:5] or None,
                                   "commune": commune}
        analysis.warn(line, A.LIEU_NOM.label, "lieu absent de l’annuaire : enregistré comme lieu non répertorié "
                                              "(nom, adresse et commune du fichier)")
        return place_type, None, None, key
    if place_type in (PlaceType.AUTRE, PlaceType.DOMICILE):
        commune_id = activity_rules.check_place_commune(place_insee, commune.id if commune else None, errors,
                                                        known=commune is not None)
        return place_type, None, commune_id, None
    return place_type, None, None, None


def _parse(errors, name, value, parser, *args, cache: dict | None = None):
    """``parser(value, *args)``; a refused value adds its message to ``errors``. With ``cache`` (one
    per analysis and field ``name``: the parser and its arguments are the field's), each distinct
    value is parsed once — a file repeats the same few labels on every row."""
    if cache is not None:
        key = (name, value.__class__, value)
        found = cache.get(key, _MISSING)
        if found is _MISSING:
            try:
                found = cache[key] = (parser(value, *args), None)
            except CellError as error:
                found = cache[key] = (None, str(error))
        if found[1] is not None:
            errors.add(name, found[1])
        return found[0]
    try:
        return parser(value, *args)
    except CellError as error:
        errors.add(name, str(error))
        return None


_MISSING = object()


def _parse_activity_row(ctx: _Context, analysis: ImportAnalysis, table: Table, line: int, cells: list,
                        today: date) -> _ActivityRow | None:
    """One row: its cells are read here (the file's formats), then checked by the same rule
    functions as the form and the API (:mod:`mediation.cases.activities`), field by field."""
    errors = services.Errors()  # field → first message, as for the form
    values = table.values(cells)

    def cell(column):
        return values.get(column.label)

    def parse(name, column, parser, *args):
        return _parse(errors, name, cell(column), parser, *args, cache=ctx.parsed)

    day = activity_rules.check_date(parse("date", A.DATE, parse_date), errors, today)
    kind = parse("type", A.TYPE, parse_choice, TYPES,
                 "type inconnu (attendu « Accompagnement individuel » ou « Atelier collectif »)")
    if kind is None:
        errors.add("type", "Veuillez renseigner le type d’activité")
    duration = activity_rules.check_duration(
        parse("duration_min", A.DUREE, parse_int, "durée invalide (attendu un nombre de minutes)"), errors)
    place_type, place_structure_id, place_commune_id, place_key = _place_of_row(ctx, analysis, table, line, cells,
                                                                               errors)

    codes = parse("thematiques", A.THEMATIQUES, parse_list, THEMATIQUES, activity_rules.UNKNOWN_THEMATIQUE) or []
    codes, has_demarches = ctx.thematiques(codes, errors)
    demarche = activity_rules.check_demarche_name(text_of(cell(A.DEMARCHE)), has_demarches, errors)
    materiel = activity_rules.check_materiel(
        parse("materiel", A.MATERIEL, parse_list, MATERIELS, activity_rules.UNKNOWN_MATERIEL) or [], errors)

    individual = kind == ActivityType.INDIVIDUEL.value
    autonomie = level = oriented = redirection = title = None
    if individual:
        autonomie = parse("autonomie", A.NIVEAU, parse_stars, Autonomie)
        oriented_text = text_of(cell(A.REORIENTE))
        if oriented_text is not None:
            oriented = YES_NO.get(value_key(oriented_text))
            if oriented is None:
                errors.add("oriented", "valeur invalide (attendu Oui ou Non)")
        # « Réorienté : Oui » without a structure is accepted, as the national tool records it.
        redirection = parse("redirection", A.REDIRECTION, parse_choice, REDIRECTIONS,
                            activity_rules.UNKNOWN_REDIRECTION) if oriented else None
    elif kind == ActivityType.COLLECTIF.value:
        level = parse("workshop_level", A.NIVEAU, parse_stars, NiveauAtelier)
        title = activity_rules.check_workshop_title(text_of(cell(A.ATELIER)), errors)

    participants = text_of(cell(A.PARTICIPANTS))
    participant_index = None
    if participants:
        match = re.fullmatch(r"(\d+)\s*/\s*(\d+)", participants)
        if match:
            participant_index = (int(match.group(1)), int(match.group(2)))
        elif participants == "1":
            participant_index = (1, 1)
        else:
            errors.add("participants", "nombre de participants invalide (attendu 1 ou i/N)")

    genre = parse("anon_genre", A.BEN_GENRE, parse_genre)
    tranche = parse("anon_tranche_age", A.BEN_TRANCHE, parse_choice, TRANCHES, activity_rules.UNKNOWN_TRANCHE)
    statut = parse("anon_statut_social", A.BEN_STATUT, parse_choice, STATUTS, activity_rules.UNKNOWN_STATUT)
    residence_insee = ctx.row_codes[line][1]
    residence = ctx.communes.get(residence_insee or "")
    if residence is None and (text_of(cell(A.BEN_COMMUNE)) or text_of(cell(A.BEN_INSEE))):
        analysis.warn(line, A.BEN_COMMUNE.label, "commune du bénéficiaire introuvable ou ambiguë : non renseignée")
    beneficiary_id = None
    name = text_of(cell(A.BENEFICIAIRE))
    if name and value_key(name) not in ANONYMOUS_NAMES:
        beneficiary_id = ctx.person(line, name)
        if beneficiary_id is None and not ctx.people.get(normalise_name(name)):
            analysis.warn(line, A.BENEFICIAIRE.label, "bénéficiaire suivi introuvable (importez d’abord le fichier "
                                                      "des bénéficiaires) : accompagnement importé comme anonyme, "
                                                      "avec son genre, sa tranche d’âge, son statut et sa commune")
        elif beneficiary_id == 0:
            beneficiary_id = None

    recorded_at = parse("recorded_at", A.CREATED, parse_recorded_at)
    source_text = text_of(cell(A.SOURCE))
    data_source = None
    if source_text is not None:
        data_source = DATA_SOURCES.get(value_key(source_text))
        if data_source is None:
            analysis.warn(line, A.SOURCE.label, "source de la donnée inconnue : non renseignée")

    external_id = text_of(cell(A.ID_CRA))
    if external_id is None:
        errors.add("external_id", "identifiant du CRA obligatoire")
    elif len(external_id) > 100:
        errors.add("external_id", "identifiant trop long (100 caractères au maximum)")
    elif data_source is None and (NATIONAL_ID.fullmatch(external_id) or A.SOURCE.label in table.columns):
        data_source = DataSource.COOP_V2  # the current national tool (its export names V1 rows only)
    tags_text = text_of(cell(A.TAGS))
    tags = [t.strip()[:100] for t in re.split(r"[\n;]", tags_text) if t.strip()] if tags_text else []
    notes = text_of(cell(A.NOTES))
    for field_name, message in errors.by_field.items():
        analysis.error(line, ACTIVITY_FIELD_COLUMNS[field_name].label, message)
    mediator_id = ctx.mediator(line, text_of(cell(A.MEDIATOR_FIRST_NAME)), text_of(cell(A.MEDIATOR_LAST_NAME)),
                               text_of(cell(A.MEDIATOR_EMAIL)))
    if errors or mediator_id is None:
        return None  # (an unresolved homonym still counts in its CRA's rows; the choice is pending)
    if mediator_id == IGNORE:
        analysis.warn(line, A.MEDIATOR_LAST_NAME.label, "médiateur écarté sur la page d’analyse : ligne non importée")
        return None
    structure_id = ctx.structure_for(mediator_id, place_structure_id)
    if ctx.team and structure_id != place_structure_id and len(ctx.mediator_structures.get(mediator_id, [])) > 1:
        analysis.warn(line, A.MEDIATOR_LAST_NAME.label, "le médiateur intervient dans plusieurs structures et le lieu "
                                                        "n’en désigne aucune : l’activité est rattachée à la "
                                                        "première par ordre alphabétique")
    if structure_id is None:
        analysis.error(line, A.MEDIATOR_LAST_NAME.label, "ce médiateur n’intervient dans aucune structure")
        return None
    if place_type == PlaceType.A_DISTANCE:
        place_commune_id = ctx.structure_communes.get(structure_id)
    return _ActivityRow(
        line=line,
        group_values=tuple(cell(c) for c in GROUP_COLUMNS),
        activity={
            "type": ActivityType(kind), "mediator_id": mediator_id, "structure_id": structure_id, "date": day,
            "duration_min": duration, "place_type": PlaceType(place_type), "place_structure_id": place_structure_id,
            "place_commune_id": place_commune_id, "demarche_name": demarche,
            "materiel": materiel, "autonomie": autonomie and Autonomie(autonomie), "oriented": oriented if individual
            else None, "redirection": redirection and StructureRedirection(redirection), "notes": notes,
            "workshop_title": title, "workshop_level": level and NiveauAtelier(level),
            "source": RecordSource.IMPORT, "external_id": external_id, "created_by_id": ctx.user.id,
            "recorded_at": recorded_at, "data_source": data_source,
        },
        codes=codes,
        participant_index=participant_index,
        beneficiary_id=beneficiary_id,
        anonymous={"genre": genre and Genre(genre), "tranche_age": tranche and TrancheAge(tranche),
                   "statut_social": statut and StatutSocial(statut),
                   "residence_commune_id": residence.id if residence else None},
        tags=list(dict.fromkeys(tags)),
        place_key=place_key,
    )


# Columns of the Coop's export that are read but not stored, and why (listed on the analysis page).
UNKEPT_COLUMNS = {
    A.MODIFIED: "date de dernière modification dans La Coop non conservée (l’activité garde sa date "
                "d’enregistrement « Enregistré le »)",
    A.ROLE: "rôle du médiateur non conservé : c’est celui de son compte ici",
    A.CONUM: "colonne « ID - Conum » non conservée : c’est le statut de conseiller numérique de son compte ici",
}


def _note_unkept_columns(analysis: ImportAnalysis, table: Table) -> None:
    for column, reason in UNKEPT_COLUMNS.items():
        if column.label not in table.columns:
            continue
        for line, cells in table.rows:
            if text_of(table.get(cells, column)) is not None:
                analysis.warn(line, column.label, reason)


def _group_key(value) -> str:
    return value_key(text_of(value) or "")


def _check_group(analysis: ImportAnalysis, external_id: str, rows: list[_ActivityRow]) -> bool:
    first = rows[0]
    ok = True
    for row in rows[1:]:
        for column, value, expected in zip(GROUP_COLUMNS, row.group_values, first.group_values, strict=True):
            if value != expected and _group_key(value) != _group_key(expected):
                analysis.error(row.line, column.label, f"valeur différente de la ligne {first.line} pour le même CRA "
                                                "(même « ID CRA »)")
                ok = False
    if first.activity["type"] == ActivityType.INDIVIDUEL and len(rows) > 1:
        analysis.error(rows[1].line, A.ID_CRA.label, "un accompagnement individuel ne compte qu’un bénéficiaire "
                                                     f"(CRA déjà présent ligne {first.line})")
        ok = False
    declared = {r.participant_index[1] for r in rows if r.participant_index}
    if declared and declared != {len(rows)}:
        analysis.error(first.line, A.PARTICIPANTS.label, f"le CRA compte {max(declared)} participants mais "
                                                         f"{len(rows)} ligne{'s' if len(rows) > 1 else ''}")
        ok = False
    followed = [r.beneficiary_id for r in rows if r.beneficiary_id]
    if len(followed) != len(set(followed)):
        analysis.error(first.line, A.BENEFICIAIRE.label, "le même bénéficiaire apparaît deux fois dans ce CRA")
        ok = False
    return ok


def _existing_activity_ids(session: Session, structure_ids: set[int], ids: list[str]) -> set[str]:
    """External ids already imported: the national tool's anywhere in the network, others in the
    same structure."""
    existing = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        existing |= set(session.scalars(sa.select(Activity.external_id).where(
            Activity.external_id.in_(chunk),
            sa.or_(Activity.data_source.is_not(None), Activity.structure_id.in_(structure_ids)))))
    return existing


def analyse_activities(session: Session, user: User, structure: Structure | None, content: bytes,
                       filename: str | None, store_communes: bool = False,
                       resolutions: dict | None = None) -> ImportAnalysis:
    analysis = ImportAnalysis(ImportKind.ACTIVITIES)
    if structure is not None:
        _check_structure(session, user, structure)
    elif user.role not in (Role.COORDINATOR, Role.ADMIN):
        raise Forbidden("Choisissez la structure dans laquelle importer.")
    table = read_table(content, filename, A.ALL, [A.DATE, A.TYPE, A.ID_CRA], "Activités", analysis)
    if table is None:
        return analysis
    ctx = _Context(session, user, structure, table, store_communes, resolutions or {})
    if structure is None and not ctx.team:
        analysis.error(0, None, "Ce fichier est l’export d’un médiateur (sans colonnes « Prénom du médiateur » et "
                                "« Nom du médiateur ») : c’est à lui de l’importer dans sa structure.")
        return analysis
    today = local_today()
    groups: dict[str, list[_ActivityRow]] = {}
    for line, cells in table.rows:
        row = _parse_activity_row(ctx, analysis, table, line, cells, today)
        if row is not None:
            groups.setdefault(row.activity["external_id"], []).append(row)
    for external_id, rows in groups.items():
        _check_group(analysis, external_id, rows)
    _note_unkept_columns(analysis, table)
    analysis.choices = list(ctx.choices.values())
    structure_ids = {rows[0].activity["structure_id"] for rows in groups.values()}
    existing = _existing_activity_ids(session, structure_ids, list(groups))
    existing |= _own_exported_ids(session, structure_ids, list(groups))
    plan = ActivityPlan(structure.id if structure is not None else None,
                        new_tag_scope="personnel" if structure is not None else "territoire",
                        territory_id=ctx.territory_id)
    for external_id, rows in groups.items():
        if external_id in existing:
            plan.already += 1
        else:
            plan.groups.append((external_id, rows))
    used = {r.place_key for _, rows in plan.groups for r in rows if r.place_key}
    plan.new_places = {key: values for key, values in ctx.new_places.items() if key in used}
    rows = [r for _, group in plan.groups for r in group]
    analysis.summary = {
        "Lignes lues": analysis.rows,
        "Activités à créer": len(plan.groups),
        "dont ateliers collectifs": sum(1 for _, g in plan.groups if g[0].activity["type"] == ActivityType.COLLECTIF),
        "Accompagnements à créer": len(rows),
        "rattachés à un bénéficiaire suivi": sum(1 for r in rows if r.beneficiary_id),
        "Lieux non répertoriés à créer": len(plan.new_places),
        "Activités étiquetées (tags)": sum(1 for _, g in plan.groups if g[0].tags),
        "Activités déjà importées (ignorées)": plan.already,
    }
    if ctx.team:
        analysis.summary["Médiateurs"] = len({r.activity["mediator_id"] for r in rows})
    analysis.plan = plan
    analysis.to_create = len(plan.groups)
    return analysis


OWN_ID_PREFIX = "med-"


def export_id(activity_id: int, external_id: str | None) -> str:
    """The "ID CRA" of an export: the external id of imported activities, else ``med-<id>``."""
    return external_id or f"{OWN_ID_PREFIX}{activity_id}"


def _own_exported_ids(session: Session, structure_ids: set[int], ids: list[str]) -> set[str]:
    """``med-<id>`` of our own exports, when that activity already is in one of the structures."""
    own = {int(i[len(OWN_ID_PREFIX):]): i for i in ids if i.startswith(OWN_ID_PREFIX) and i[len(OWN_ID_PREFIX):].isdigit()}
    found = set()
    keys = list(own)
    for start in range(0, len(keys), 1000):
        found |= set(session.scalars(sa.select(Activity.id).where(
            Activity.structure_id.in_(structure_ids), Activity.id.in_(keys[start:start + 1000]))))
    return {own[i] for i in found}


def _live_cases(session: Session, beneficiary_ids: set[int]) -> dict[int, int]:
    ids = sorted(beneficiary_ids)
    found = {}
    for start in range(0, len(ids), 1000):
        for beneficiary_id, case_id in session.execute(sa.select(Case.beneficiary_id, Case.id).where(
                Case.beneficiary_id.in_(ids[start:start + 1000]), Case.state != CaseState.CLOSED)):
            found[beneficiary_id] = case_id
    return found


def _create_places(session: Session, plan: ActivityPlan, fallback_communes: dict[tuple, int]) -> dict[tuple, int]:
    """The unlisted places of the file (archived at once: out of the directory's lists, pickers and
    open data until someone completes and publishes them)."""
    now = utcnow()
    keys = list(plan.new_places)
    rows = []
    for key in keys:
        values = plan.new_places[key]
        commune = values["commune"]
        rows.append({"name": values["name"], "address": values["address"], "postal_code": values["postal_code"],
                     "commune_id": commune.id if commune is not None else fallback_communes[key],
                     "unlisted": True, "archived_at": now, "source": "Import La Coop"})
    return dict(zip(keys, _insert_returning_ids(session, Structure, rows), strict=True))


def _tag_ids(session: Session, user: User, plan: ActivityPlan) -> dict[tuple[int, str], int]:
    """{(activity index in plan, tag key): tag id}: an existing tag of the same name (without case or
    accents) the row's mediator can use — theirs, their structure's, their territory's — else a new
    one: the importer's own tag, or the territory's for a coordinator's team export."""
    names = {value_key(t) for _, rows in plan.groups for t in rows[0].tags}
    if not names:
        return {}
    territories = dict(session.execute(sa.select(Structure.id, Commune.territory_id)
                                       .join(Commune, Commune.id == Structure.commune_id)).all())
    existing: dict[tuple[str, str, int], int] = {}
    for tag_id, name, scope, owner_id, structure_id, territory_id in session.execute(
            sa.select(Tag.id, Tag.name, Tag.scope, Tag.owner_id, Tag.structure_id, Tag.territory_id)
            .where(Tag.deleted_at.is_(None)).order_by(Tag.id)):
        if value_key(name) in names:
            owner = {TagScope.PERSONNEL: owner_id, TagScope.STRUCTURE: structure_id,
                     TagScope.TERRITOIRE: territory_id}[TagScope(scope)]
            existing.setdefault((value_key(name), TagScope(scope).value, owner), tag_id)
    found: dict[tuple[int, str], int] = {}
    for index, (_, rows) in enumerate(plan.groups):
        activity = rows[0].activity
        for tag in rows[0].tags:
            key = value_key(tag)
            scopes_of_row = ((key, "personnel", activity["mediator_id"]), (key, "structure", activity["structure_id"]),
                             (key, "territoire", territories.get(activity["structure_id"])),
                             (key, "territoire", plan.territory_id))
            tag_id = next((existing[k] for k in scopes_of_row if k in existing), None)
            if tag_id is None:
                if plan.new_tag_scope == "territoire" and plan.territory_id is not None:
                    created = Tag(name=tag, scope=TagScope.TERRITOIRE, territory_id=plan.territory_id,
                                  created_by_id=user.id)
                    scope_key = (key, "territoire", plan.territory_id)
                else:
                    created = Tag(name=tag, scope=TagScope.PERSONNEL, owner_id=user.id, created_by_id=user.id)
                    scope_key = (key, "personnel", user.id)
                session.add(created)
                session.flush()
                tag_id = existing[scope_key] = created.id
            found[(index, key)] = tag_id
    return found


def apply_activities(session: Session, user: User, plan: ActivityPlan, progress) -> dict:
    total = plan.accompaniments
    progress(0, total)
    followed = {r.beneficiary_id for _, rows in plan.groups for r in rows if r.beneficiary_id}
    cases = _live_cases(session, followed)
    fallback_communes = {}
    for _, rows in plan.groups:
        for row in rows:
            if row.place_key:
                fallback_communes.setdefault(row.place_key, session.get(Structure, row.activity["structure_id"]).commune_id)
    places = _create_places(session, plan, fallback_communes)
    tags = _tag_ids(session, user, plan)
    done = created = anonymous = 0
    batch: list[tuple[int, tuple[str, list[_ActivityRow]]]] = []
    imported_ids: list[int] = []

    def flush_batch():
        nonlocal done, created, anonymous
        activity_rows = []
        for _, (_, rows) in batch:
            values = dict(rows[0].activity)
            values["participants_count"] = len(rows)
            if rows[0].place_key:
                values["place_structure_id"] = places[rows[0].place_key]
            activity_rows.append(values)
        activity_ids = _insert_returning_ids(session, Activity, activity_rows)
        imported_ids.extend(activity_ids)
        themes, anonymous_rows, pending, tag_rows = [], [], [], []
        for activity_id, (index, (_, rows)) in zip(activity_ids, batch, strict=True):
            themes.extend({"activity_id": activity_id, "code": code} for code in rows[0].codes)
            tag_rows.extend({"activity_id": activity_id, "tag_id": tags[(index, value_key(t))]} for t in rows[0].tags)
            for row in rows:
                if row.beneficiary_id:
                    pending.append((activity_id, row.beneficiary_id, False))
                else:
                    anonymous_rows.append({"owner_structure_id": row.activity["structure_id"], "created_by_id": user.id,
                                           "anonymous": True, "random_attributes": False,
                                           "source": RecordSource.IMPORT, **row.anonymous})
                    pending.append((activity_id, None, True))
        _insert_many(session, ActivityThematique, themes)
        _insert_many(session, ActivityTag, list({(r["activity_id"], r["tag_id"]): r for r in tag_rows}.values()))
        anonymous_ids = iter(_insert_returning_ids(session, Beneficiary, anonymous_rows))
        participations = []
        for activity_id, beneficiary_id, is_anonymous in pending:
            if is_anonymous:
                # "Bénéficiaires anonymes sont comptabilisés comme 1 nouveau bénéficiaire à chaque accompagnement."
                participations.append({"activity_id": activity_id, "beneficiary_id": next(anonymous_ids),
                                       "case_id": None, "first_accompaniment": True})
            else:
                participations.append({"activity_id": activity_id, "beneficiary_id": beneficiary_id,
                                       "case_id": cases.get(beneficiary_id), "first_accompaniment": False})
        _insert_many(session, Participation, participations)
        created += len(batch)
        anonymous += len(anonymous_rows)
        done += len(participations)
        progress(done, total)
        batch.clear()

    rows_in_batch = 0
    for index, group in enumerate(plan.groups):
        batch.append((index, group))
        rows_in_batch += len(group[1])
        if rows_in_batch >= APPLY_BATCH:
            flush_batch()
            rows_in_batch = 0
    if batch:
        flush_batch()
    ids = sorted(followed)
    for start in range(0, len(ids), BATCH):
        services.recompute_for(session, ids[start:start + BATCH])
    # Statistics refresh the imported months and the followed people's cells; pathways honour the
    # live referrals towards the import's places (as for an activity logged by hand).
    months = {rows[0].activity["date"] for _, rows in plan.groups}
    cells = {(a["structure_id"], a["date"].replace(day=1), a["mediator_id"])
             for a in (rows[0].activity for _, rows in plan.groups)}
    signals.activities_imported.send(session, activity_ids=imported_ids, dates=months, cells=cells,
                                     beneficiary_ids=followed)
    return {"Activités créées": created, "Accompagnements créés": done,
            "dont bénéficiaires anonymes": anonymous, "Lieux non répertoriés créés": len(places),
            "Activités déjà importées (ignorées)": plan.already}



# --- the two steps ------------------------------------------------------------------------------

ANALYSERS = {ImportKind.BENEFICIARIES: analyse_beneficiaries, ImportKind.ACTIVITIES: analyse_activities}


def analyse(session: Session, user: User, structure: Structure | None, kind: ImportKind | str, content: bytes,
            filename: str | None = None, *, store_communes: bool = False,
            resolutions: dict | None = None) -> ImportAnalysis:
    """Read and validate every row; write nothing (except, with ``store_communes``, the communes of the
    official reference the rows name outside the network: the apply job needs their ids). Raises
    Forbidden for a structure the user does not work for. ``structure`` is None for a coordinator's
    team export of activities; ``resolutions`` are the choices made on the analysis page."""
    kind = ImportKind(kind)
    if kind == ImportKind.ACTIVITIES:
        return analyse_activities(session, user, structure, content, filename, store_communes, resolutions)
    if structure is None:
        raise Forbidden("Choisissez la structure dans laquelle importer.")
    return analyse_beneficiaries(session, user, structure, content, filename, store_communes)


PENDING_CHOICES = "Noms à choisir sur cette page"


def store_upload(session: Session, user: User, structure: Structure | None, analysis: ImportAnalysis,
                 content: bytes, filename: str | None, resolutions: dict | None = None) -> ImportUpload:
    """Keep a file analysed without error until the user confirms it (stale uploads are purged)."""
    if analysis.errors or analysis.plan is None:
        raise DomainError("Seul un fichier sans erreur peut être importé.")
    if analysis.unresolved:
        analysis.summary[PENDING_CHOICES] = len(analysis.unresolved)
    purge_stale_uploads(session)
    upload = ImportUpload(kind=analysis.kind, structure_id=structure.id if structure is not None else None,
                          user_id=user.id, filename=(filename or "fichier")[:200], data=content,
                          sha256=hashlib.sha256(content).hexdigest(), summary=analysis.summary,
                          resolutions=_clean_resolutions(resolutions))
    session.add(upload)
    session.flush()
    return upload


def _clean_resolutions(resolutions: dict | None) -> dict:
    """Choices only (ids or a keyword), never a name: {"mediateur:<key>": "12"}."""
    return {str(k)[:300]: str(v)[:20] for k, v in (resolutions or {}).items()
            if str(k).startswith(("mediateur:", "beneficiaire:")) and (str(v).isdigit() or v in (IGNORE, ANONYMOUS))}


def resolutions_from_form(analysis: ImportAnalysis, form: dict, previous: dict | None = None) -> dict:
    """The choices posted on the analysis page (one select per unresolved name)."""
    chosen = dict(previous or {})
    for choice in analysis.choices:
        value = form.get(choice.field_name)
        if value and value in {v for v, _ in choice.options}:
            chosen[choice.key] = value
    return _clean_resolutions(chosen)


def purge_stale_uploads(session: Session, now: datetime | None = None) -> int:
    limit = (now or utcnow()) - UPLOAD_TTL
    return session.execute(sa.delete(ImportUpload).where(ImportUpload.created_at < limit)
                           .execution_options(synchronize_session=False)).rowcount or 0


def get_upload(session: Session, user: User, upload_id: int) -> ImportUpload:
    """The user's own pending upload (404 otherwise)."""
    upload = session.scalar(sa.select(ImportUpload).where(ImportUpload.id == upload_id,
                                                          ImportUpload.user_id == user.id))
    if upload is None or upload.created_at < utcnow() - UPLOAD_TTL:
        raise NotFound("Ce fichier n'est plus disponible : envoyez-le de nouveau.")
    return upload


def start_import(session: Session, user: User, upload: ImportUpload, *, return_url: str | None = None):
    """Hand the confirmed file to the ``cases.import`` job (progress page) and forget the upload."""
    job = enqueue(session, "cases.import", user=user, structure_id=upload.structure_id,
                  params={"kind": upload.kind.value, "structure_id": upload.structure_id, "return_url": return_url,
                          "resolutions": upload.resolutions or {}},
                  input_name=upload.filename, input_data=upload.data)
    session.delete(upload)
    session.flush()
    return job


def discard_upload(session: Session, upload: ImportUpload) -> None:
    session.delete(upload)
    session.flush()


@register("cases.import")
def import_job(session: Session, job, progress):
    """Analyse the file again, then write everything (one transaction), reporting progress."""
    kind = ImportKind(job.params["kind"])
    user = session.get(User, job.created_by_id)
    structure_id = job.params.get("structure_id")
    structure = session.get(Structure, structure_id) if structure_id is not None else None
    if user is None or (structure_id is not None and structure is None):
        raise DomainError("L'import n'a pas été appliqué : le compte ou la structure n'existe plus.")
    analysis = analyse(session, user, structure, kind, job.input_data or b"", job.input_name, store_communes=True,
                       resolutions=job.params.get("resolutions"))
    if not analysis.ok:
        raise DomainError(analysis.failure_message())
    if kind == ImportKind.BENEFICIARIES:
        result = apply_beneficiaries(session, user, analysis.plan, progress)
        action, created = "import.beneficiaries", result["Bénéficiaires créés"]
    else:
        result = apply_activities(session, user, analysis.plan, progress)
        action, created = "import.activities", result["Accompagnements créés"]
    session.flush()
    record(session, action, actor=user, obj=structure, structure_id=structure.id if structure else None,
           details={"job_id": job.id, "rows": analysis.rows, "created": created,
                    "skipped": analysis.summary.get("Déjà importés (ignorés)",
                                                    analysis.summary.get("Activités déjà importées (ignorées)", 0))})
    if job.params.get("return_url"):
        result["url"] = job.params["return_url"]
    return result
