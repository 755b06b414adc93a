"""Exports in the national tool's formats (docs/domain/activity-records.md §3.4), XLSX and CSV.

- **Activités**: one row per accompagnement, national column order, after a header block
  "Informations export" (Nom, Prénom, Rôle, Total, date and time) and "Filtres". Mediators get the
  self-export columns (Bénéficiaire, Notes supplémentaires); coordinators and administrators get
  the mediator columns and never the beneficiary's name nor the notes.
- **Bénéficiaires**: the §3.4 columns; mediators only, beneficiaries of their structures.
- **Données d'une personne** (right of access): everything held on one beneficiary, as an XLSX
  workbook with one sheet per kind, or as JSON.

Large exports never load ORM objects: the ordered ids come first (integers), then rows are read
with core selects in batches of :data:`BATCH`. XLSX is streamed by :mod:`mediation.cases.xlsx` into
a spooled temporary file; CSV (``;``, UTF-8 with BOM, for spreadsheet software) too,
from a generator of text chunks. The request's work ends before the download streams (no database
access while the client reads).
"""

from __future__ import annotations

import io
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role, User
from mediation.cases import policy, xlsx
from mediation.cases.enums import (
    DEMARCHE_CODES,
    THEMATIQUE_CODES,
    ActivityType,
    Autonomie,
    DataSource,
    DemarcheThematique,
    Genre,
    Materiel,
    NiveauAtelier,
    PlaceType,
    StatutSocial,
    StructureRedirection,
    Thematique,
    thematique_label,
)
from mediation.cases.exchange import export_id
from mediation.cases.models import (
    Activity,
    ActivityTag,
    ActivityThematique,
    Beneficiary,
    Case,
    CaseNote,
    Consent,
    Participation,
    Tag,
    tranche_age_for,
)
from mediation.cases.search import person_condition
from mediation.directory.models import Commune, Structure
from mediation.tabular import CsvWriter
from mediation.types import in_ids, local_today, to_paris, utcnow

BATCH = 1000
TITLE = object()  # marker: the row is a section title


@dataclass
class Export:
    """Rows of one sheet: the header block, then the table (``columns`` then ``rows``)."""

    sheet: str
    block: list[list]
    columns: list[str]
    rows: Iterable[list]
    filename: str
    table: str | None = None  # an Excel table over the header and rows (the national exports')


def _fmt_datetime(value: datetime | None) -> str:
    return to_paris(value).strftime("%d/%m/%Y à %H:%M") if value else ""


def info_block(user: User, total: int, filters: list[tuple[str, str]], now: datetime | None = None) -> list[list]:
    """"Informations export" then "Filtres", as the national exports start."""
    now = to_paris(now or utcnow())
    rows: list[list] = [
        [TITLE, "Informations export"],
        ["Nom", user.last_name or "-"],
        ["Prénom", user.first_name or "-"],
        ["Rôle", user.role_label],
        ["Total", total],
        ["Date d’export", now.strftime("%d/%m/%Y")],
        ["Heure d’export", now.strftime("%H:%M")],
        [],
        [TITLE, "Filtres"],
    ]
    rows += [[label, value or "-"] for label, value in filters] or [["Aucun filtre", "-"]]
    rows.append([])
    return rows


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


# --- activities ---------------------------------------------------------------------------------
# The national tool's ``buildAccompagnementsWorksheet.ts``: labels, column order and cell values.

COOP_SOURCE_V1 = "Espace coop (V1)"
COOP_SOURCE_V2 = "La Coop de la médiation numérique (V2)"
COOP_SOURCE_FILTER = {DataSource.COOP_V1.value: "Espace Coop (V1)",
                      DataSource.COOP_V2.value: "La Coop de la médiation numérique"}
ANONYMOUS_NAME = "Bénéficiaire anonyme"
_THEMATIQUE_ORDER = {code: index for index, code in enumerate(
    [t.value for t in Thematique] + [t.value for t in DemarcheThematique])}


def coop_role_label(user: User) -> str:
    """The national tool's ``getUserRoleLabel``."""
    if user.role == Role.ADMIN:
        return "Administrateur"
    if user.role == Role.COORDINATOR:
        return "Coordinateur"
    if user.role == Role.MEDIATOR:
        return "Conseiller Numérique" if user.is_conseiller_numerique else "Médiateur"
    return "Rôle non défini"


def coop_info_block(user: User, total: int | None, now: datetime | None = None) -> list[list]:
    """« Informations export » as the national tool writes it (``addExportMetadata``), then a blank row."""
    now = to_paris(now or utcnow())
    rows: list[list] = [[TITLE, "Informations export"], ["Nom", user.last_name or "-"],
                        ["Prénom", user.first_name or "-"], ["Rôle", coop_role_label(user)]]
    if total is not None:
        rows.append(["Total", total])
    rows += [["Date d'export", now.strftime("%d/%m/%Y")], ["Heure d'export", now.strftime("%H:%M")], []]
    return rows


@dataclass
class ActivityFilterLabels:
    """The filters applied, in the rows of the national tool's « Filtres » block (``addFilters``)."""

    du: date | None = None
    au: date | None = None
    source: str | None = None
    lieux: list[str] = field(default_factory=list)
    communes: list[str] = field(default_factory=list)
    departements: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    role: str | None = None
    thematiques: list[str] = field(default_factory=list)          # codes, either family
    tags: list[str] = field(default_factory=list)
    mediator: str | None = None    # « Médiateur » row: one mediator's activities exported by someone else
    extra: list[tuple[str, str]] = field(default_factory=list)    # our own filters (after the national ones)

    def period(self) -> str:
        if self.du and self.au:
            return f"{self.du:%d.%m.%Y} - {self.au:%d.%m.%Y}"
        if self.du:
            return f"Depuis le {self.du:%d.%m.%Y}"
        if self.au:
            return f"Jusqu’au {self.au:%d.%m.%Y}"
        return "-"

    def rows(self) -> list[list]:
        def joined(values: list[str]) -> str:
            return ", ".join(values) or "-"

        ordered = sorted(self.thematiques, key=lambda c: _THEMATIQUE_ORDER.get(c, 99))
        rows: list[list] = [
            [TITLE, "Filtres"],
            ["Période", self.period()],
            ["Source", self.source or "-"],
            ["Lieux d’accompagnement", joined(self.lieux)],
            ["Communes", joined(self.communes)],
            ["Départements", joined(self.departements)],
            ["Type d’accompagnement", joined(self.types)],
            ["Rôle", self.role or "-"],
            ["Thématiques non administratives", joined([thematique_label(c) for c in ordered
                                                         if c in THEMATIQUE_CODES])],
            ["Thématiques administratives", joined([thematique_label(c) for c in ordered if c in DEMARCHE_CODES])],
            ["Tags", joined(self.tags)],
        ]
        rows += [[label, value or "-"] for label, value in self.extra]
        if self.mediator:
            rows.append(["Médiateur", self.mediator])
        rows.append([])
        return rows


def is_self_export(user: User) -> bool:
    """A mediator exports their own activities, with the beneficiary's name and the notes (the
    national tool's self-export); everyone else gets the team layout."""
    return policy.can_see_identity(user) and policy.can_see_notes(user)


def activity_columns(self_export: bool, with_source: bool) -> list[str]:
    """The national headers, in order (``activitesTableHeaders``)."""
    return [
        "Date", "Enregistré le", "Dernière modification le",
        *([] if self_export else ["Prénom du médiateur", "Nom du médiateur", "Rôle", "ID - Conum"]),
        "Type", "Participants",
        *(["Bénéficiaire"] if self_export else []),
        "Canaux d’accompagnement", "Nom du lieu", "Adresse", "Commune", "Code postal", "Code Insee",
        "Durée (min)", "Nom de l’atelier", "Matériel numérique utilisé", "Thématique(s) d’accompagnement",
        "Tags", "Nom de la démarche administrative", "Niveau d’autonomie (ou de l’atelier)",
        "Bénéficiaire réorienté", "Structure de redirection", "Commune du bénéficiaire",
        "Code postal du bénéficiaire", "Code Insee du bénéficiaire", "Genre du bénéficiaire",
        "Tranche d’âge du bénéficiaire", "Statut du bénéficiaire",
        *(["Notes supplémentaires"] if self_export else []),
        *(["Source de la donnée"] if with_source else []),
        "ID CRA",
    ]


def _level(autonomie: str | None, level: str | None) -> str:
    if autonomie:
        return f"{Autonomie(autonomie).stars}/{len(Autonomie)}"
    if level:
        return f"{NiveauAtelier(level).stars}/{len(NiveauAtelier)}"
    return ""


def _activity_batch(session: Session, ids: list[int]):
    """The activities ``ids`` with their places, thématiques, tags and participants. Plain table
    columns (Core statements): rows, not ORM-loaded results (~10 % of a large export's time)."""
    a, u = Activity.__table__.c, User.__table__.c
    place = Structure.__table__.alias("place")
    place_structure_commune = Commune.__table__.alias("place_structure_commune")
    place_commune = Commune.__table__.alias("place_commune")
    activities = {row.id: row for row in session.execute(
        sa.select(a.id, a.type, a.date, a.created_at, a.updated_at, a.recorded_at, a.data_source,
                  a.duration_min, a.place_type, a.demarche_name, a.materiel, a.autonomie, a.oriented,
                  a.redirection, a.notes, a.workshop_title, a.workshop_level, a.source, a.external_id,
                  u.first_name.label("mediator_first_name"), u.last_name.label("mediator_last_name"),
                  u.is_conseiller_numerique,
                  place.c.name.label("place_name"), place.c.address.label("place_address"),
                  place.c.postal_code.label("place_postal_code"),
                  place_structure_commune.c.name.label("place_structure_commune"),
                  place_structure_commune.c.postal_code.label("place_structure_commune_postal"),
                  place_structure_commune.c.insee_code.label("place_structure_insee"),
                  place_commune.c.name.label("place_commune"), place_commune.c.postal_code.label("place_commune_postal"),
                  place_commune.c.insee_code.label("place_commune_insee"))
        .select_from(Activity.__table__)
        .join(User.__table__, u.id == a.mediator_id)
        .outerjoin(place, place.c.id == a.place_structure_id)
        .outerjoin(place_structure_commune, place_structure_commune.c.id == place.c.commune_id)
        .outerjoin(place_commune, place_commune.c.id == a.place_commune_id)
        .where(in_ids(a.id, ids))
    )}
    themes: dict[int, list[str]] = defaultdict(list)
    t = ActivityThematique.__table__.c
    for activity_id, code in session.execute(sa.select(t.activity_id, t.code)
                                             .where(in_ids(t.activity_id, ids))):
        themes[activity_id].append(code)
    tag_names: dict[int, list[str]] = defaultdict(list)
    at, tag = ActivityTag.__table__.c, Tag.__table__.c
    for activity_id, name in session.execute(
            sa.select(at.activity_id, tag.name).select_from(ActivityTag.__table__)
            .join(Tag.__table__, tag.id == at.tag_id)
            .where(in_ids(at.activity_id, ids)).order_by(at.activity_id, tag.name, tag.id)):
        tag_names[activity_id].append(name)
    participants: dict[int, list] = defaultdict(list)
    pa, b, c = Participation.__table__.c, Beneficiary.__table__.c, Commune.__table__.c
    for row in session.execute(
        sa.select(pa.activity_id, b.id, b.anonymous, b.first_name, b.last_name, b.birth_year, b.tranche_age, b.genre,
                  b.statut_social, c.name.label("commune"), c.postal_code.label("postal_code"),
                  c.insee_code.label("insee"))
        .select_from(Participation.__table__)
        .join(Beneficiary.__table__, b.id == pa.beneficiary_id)
        .outerjoin(Commune.__table__, c.id == b.residence_commune_id)
        .where(in_ids(pa.activity_id, ids))
        .order_by(pa.activity_id, pa.id)
    ):
        participants[row.activity_id].append(row)
    return activities, themes, tag_names, participants


def coop_display_name(anonymous: bool, first_name: str | None, last_name: str | None) -> str:
    """The national tool's ``displayNameFromIdentity``: « Prénom Nom », else « Bénéficiaire anonyme »."""
    if anonymous:
        return ANONYMOUS_NAME
    return " ".join(v for v in (first_name, last_name) if v) or ANONYMOUS_NAME


_TYPE_LABELS, _PLACE_LABELS, _MATERIEL_LABELS = ActivityType.labels(), PlaceType.labels(), Materiel.labels()
_REDIRECTION_LABELS, _GENRE_LABELS, _STATUT_LABELS = StructureRedirection.labels(), Genre.labels(), StatutSocial.labels()


def _activity_rows(session: Session, ids: list[int], self_export: bool, with_source: bool) -> Iterator[list]:
    """One row per accompagnement: the activity's cells are built once, then each participant's."""
    today = local_today()
    no_genre, no_statut = _GENRE_LABELS[Genre.NON_COMMUNIQUE.value], _STATUT_LABELS[StatutSocial.NON_COMMUNIQUE.value]
    bands: dict[tuple, str] = {}  # (birth year, declared band) → label
    for chunk in _chunks(ids):
        activities, themes, tag_names, participants = _activity_batch(session, chunk)
        for activity_id in chunk:
            a = activities[activity_id]
            people = participants.get(activity_id, [])
            if a.place_type == PlaceType.LIEU_ACTIVITE:
                place = [a.place_name or "", a.place_address or "", a.place_structure_commune or "",
                         a.place_postal_code or a.place_structure_commune_postal or "", a.place_structure_insee or ""]
            else:
                place = ["", "", a.place_commune or "", a.place_commune_postal or "", a.place_commune_insee or ""]
            created = a.recorded_at or a.created_at
            modified = "" if abs((a.updated_at - a.created_at).total_seconds()) < 1 else _fmt_datetime(a.updated_at)
            common_before = [a.date, _fmt_datetime(created), modified]
            if not self_export:
                # « ID - Conum »: the national tool writes the conseiller numérique flag there (a boolean)
                common_before += [a.mediator_first_name, a.mediator_last_name,
                                  "Conseiller Numérique" if a.is_conseiller_numerique else "Médiateur",
                                  bool(a.is_conseiller_numerique)]
            type_label = _TYPE_LABELS[a.type]
            codes = sorted(themes.get(activity_id, []), key=lambda c: _THEMATIQUE_ORDER.get(c, 99))
            activity_cells = [
                _PLACE_LABELS[a.place_type], *place, a.duration_min, a.workshop_title or "",
                "\n".join(_MATERIEL_LABELS.get(m, m or "") for m in (a.materiel or [])),
                "\n".join(thematique_label(c) for c in codes),
                "\n".join(tag_names.get(activity_id, [])),
                a.demarche_name or "", _level(a.autonomie, a.workshop_level),
                "" if a.oriented is None else ("Oui" if a.oriented else "Non"),
                _REDIRECTION_LABELS.get(a.redirection, a.redirection) if a.redirection else ""]
            source = COOP_SOURCE_V1 if a.data_source == DataSource.COOP_V1 else COOP_SOURCE_V2
            cra = export_id(activity_id, a.external_id)
            for index, p in enumerate(people):
                row = [*common_before, type_label, 1 if len(people) == 1 else f"{index + 1}/{len(people)}"]
                if self_export:
                    row.append(coop_display_name(p.anonymous, p.first_name, p.last_name))
                band = bands.get((p.birth_year, p.tranche_age))
                if band is None:
                    band = bands[(p.birth_year, p.tranche_age)] = tranche_age_for(p.birth_year, today, p.tranche_age).label
                row += [*activity_cells, p.commune or "", p.postal_code or "", p.insee or "",
                        _GENRE_LABELS.get(p.genre, p.genre) if p.genre else no_genre, band,
                        _STATUT_LABELS.get(p.statut_social, p.statut_social) if p.statut_social else no_statut]
                if self_export:
                    row.append((a.notes or "") if index == 0 else "")
                if with_source:
                    row.append(source)
                row.append(cra)
                yield row


def activities_filename(self_export: bool = True) -> str:
    """The national tool's file name (``mes-activites/export/route.ts``), without the extension."""
    return f"coop-numerique_accompagnements_{local_today().isoformat()}"


def export_activities(session: Session, user: User, activity_query: sa.Select,
                      filters: ActivityFilterLabels | list[tuple[str, str]] | None = None, *,
                      include_identity: bool,
                      now: datetime | None = None) -> Export:
    """The activities of ``activity_query`` (already scoped to ``user``), one row per accompagnement,
    in the layout of the national tool's export.

    ``include_identity`` is decided by the caller from its policy: True gives the self-export
    columns (the beneficiary's name and the notes, see :func:`is_self_export`); False gives the
    mediator columns and neither names nor notes, whoever exports. « Source de la donnée » is there
    when the mediators exported have records from the first Coop (the national ``hasCraV1``).
    """
    ids_query = activity_query.with_only_columns(Activity.id).order_by(None).order_by(
        Activity.date.desc(), Activity.id.desc())
    ids = list(session.scalars(ids_query))
    mediators = activity_query.with_only_columns(Activity.mediator_id).order_by(None).distinct()
    with_source = bool(session.scalar(sa.select(Activity.id).where(
        Activity.mediator_id.in_(mediators.scalar_subquery()), Activity.data_source == DataSource.COOP_V1,
        Activity.deleted_at.is_(None)).limit(1)))
    total = 0
    for chunk in _chunks(ids):
        total += session.scalar(sa.select(sa.func.count(Participation.id))
                                .where(in_ids(Participation.activity_id, chunk))) or 0
    if not isinstance(filters, ActivityFilterLabels):  # another page's own filters (label, value)
        filters = ActivityFilterLabels(extra=list(filters or []))
    block = coop_info_block(user, total, now) + filters.rows() + [[""]]
    return Export(sheet="Activités", block=block, columns=activity_columns(include_identity, with_source),
                  rows=_activity_rows(session, ids, include_identity, with_source),
                  filename=activities_filename(include_identity), table="Activités")


# --- beneficiaries ------------------------------------------------------------------------------
# The national tool's ``build-beneficiaires-worksheet.ts``: 13 columns, « Homme »/« Femme », « - ».

BENEFICIARY_COLUMNS = ("Nom", "Prénom", "Année de naissance", "Nom de la commune", "Code INSEE", "Code postal",
                       "N° de téléphone", "E-mail", "Genre", "Tranche d’âge", "Statut",
                       "Nombre d’accompagnements", "Notes supplémentaires")
SEX_LABELS = {Genre.MASCULIN.value: "Homme", Genre.FEMININ.value: "Femme",
              Genre.NON_COMMUNIQUE.value: "Non communiqué"}


def beneficiary_export_query(user: User, search: str | None = None) -> sa.Select:
    """A mediator's own identified people (the national tool's ``mediateurId``): those they
    registered or accompanied, among the beneficiaries they may see."""
    accompanied = (sa.select(Participation.beneficiary_id).join(Activity, Activity.id == Participation.activity_id)
                   .where(Activity.mediator_id == user.id, Activity.deleted_at.is_(None)))
    query = policy.visible_beneficiaries(user).where(
        Beneficiary.anonymous.is_(False),
        sa.or_(Beneficiary.created_by_id == user.id, Beneficiary.id.in_(accompanied)))
    if search:
        query = query.where(person_condition(search, identity=True, ids=(Beneficiary.id,)))
    return query


def _dash(value) -> object:
    return "-" if value is None or value == "" else value


def _beneficiary_rows(session: Session, ids: list[int]) -> Iterator[list]:
    today = local_today()
    for chunk in _chunks(ids):
        rows = {row.id: row for row in session.execute(
            sa.select(Beneficiary.id, Beneficiary.last_name, Beneficiary.first_name, Beneficiary.birth_year,
                      Beneficiary.phone, Beneficiary.email, Beneficiary.genre, Beneficiary.tranche_age,
                      Beneficiary.statut_social, Beneficiary.accompaniments_count, Beneficiary.notes,
                      Commune.name.label("commune"), Commune.insee_code, Commune.postal_code)
            .outerjoin(Commune, Commune.id == Beneficiary.residence_commune_id)
            .where(in_ids(Beneficiary.id, chunk)))}
        for beneficiary_id in chunk:
            b = rows[beneficiary_id]
            yield [b.last_name, b.first_name, _dash(b.birth_year), _dash(b.commune), _dash(b.insee_code),
                   _dash(b.postal_code), _dash(b.phone), _dash(b.email),
                   SEX_LABELS[b.genre or Genre.NON_COMMUNIQUE.value],
                   tranche_age_for(b.birth_year, today, b.tranche_age).label,
                   StatutSocial.label_of(b.statut_social or StatutSocial.NON_COMMUNIQUE.value),
                   b.accompaniments_count, b.notes or ""]


def export_beneficiaries(session: Session, user: User, search: str | None = None, *,
                         now: datetime | None = None) -> Export:
    """The mediator's own people in the national tool's layout: « Informations export », « Filtres »
    (Recherche), a blank and a separator row, then a table (the national tool names it « Activités »
    too)."""
    query = beneficiary_export_query(user, search)
    ids = list(session.scalars(query.with_only_columns(Beneficiary.id).order_by(
        Beneficiary.last_name, Beneficiary.first_name, Beneficiary.id)))
    block = [*coop_info_block(user, len(ids), now), [TITLE, "Filtres"], ["Recherche", search or "-"], [], [""]]
    return Export(sheet="Bénéficiaires", block=block, columns=list(BENEFICIARY_COLUMNS),
                  rows=_beneficiary_rows(session, ids),
                  filename=f"coop-numerique_export-beneficiaires_{local_today().isoformat()}", table="Activités")


# --- writers ------------------------------------------------------------------------------------

def csv_chunks(export: Export) -> Iterator[str]:
    """The export as CSV text chunks (``;``, BOM first): stream them to the client."""
    buffer = io.StringIO()
    writer = CsvWriter(buffer, delimiter=";", lineterminator="\r\n", date_format="%d/%m/%Y", float_format=str)
    yield "\ufeff"
    for row in export.block:
        writer.writerow([v for v in row if v is not TITLE])
    writer.writerow(export.columns)
    for count, row in enumerate(export.rows, start=1):
        writer.writerow(row)
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_csv(export: Export):
    """A spooled temporary file holding the CSV export (UTF-8 bytes), positioned at 0."""
    output = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - returned open
    for chunk in csv_chunks(export):
        output.write(chunk.encode())
    output.seek(0)
    return output


def write_xlsx(sheets: list[Export] | Export):
    """A spooled temporary file holding the workbook (one sheet per Export), positioned at 0.

    A sheet holds at most :data:`xlsx.MAX_ROWS` rows (Excel's limit: past it, Excel drops the rest
    of the sheet on opening): the rows that do not fit go on to « Activités (2) », « Activités (3) »…,
    each starting with a line naming the sheet it continues and the header again."""
    output = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - returned open
    with xlsx.Workbook(output) as workbook:
        for export in sheets if isinstance(sheets, list) else [sheets]:
            _write_sheets(workbook, export)
    output.seek(0)
    return output


def _continued_name(name: str, part: int) -> str:
    suffix = f" ({part})"
    return name[:31] if part == 1 else name[:31 - len(suffix)] + suffix


def _write_sheets(workbook, export: Export) -> None:
    rows = iter(export.rows)
    pending = next(rows, _END)
    part = 1
    while True:
        with workbook.sheet(_continued_name(export.sheet, part)) as sheet:
            if part == 1:
                for row in export.block:
                    if row and row[0] is TITLE:
                        sheet.row(row[1:], xlsx.BOLD)
                    else:
                        sheet.row(row)
            else:
                sheet.row([f"Suite de la feuille « {_continued_name(export.sheet, part - 1)} » : une feuille "
                           f"contient au plus {xlsx.MAX_ROWS:,} lignes.".replace(",", "\u202f")], xlsx.BOLD)
            if export.table:
                sheet.table_header(export.table if part == 1 else f"{export.table}_{part}", export.columns,
                                   xlsx.BOLD_WRAP)
                style = xlsx.WRAP
            else:
                sheet.row(export.columns, xlsx.BOLD)
                style = xlsx.PLAIN
            while pending is not _END and sheet.number < xlsx.MAX_ROWS:
                sheet.row(pending, style)
                pending = next(rows, _END)
        if pending is _END:
            return
        part += 1


_END = object()


# --- a person's own data (right of access) ------------------------------------------------------

def personal_data(session: Session, beneficiary: Beneficiary) -> dict:
    """Everything held on ``beneficiary``, with French keys (the JSON of the right of access)."""
    b = beneficiary
    identity = {
        "Identifiant": b.id,
        "Nom": b.last_name, "Prénom": b.first_name,
        "Année de naissance": b.birth_year,
        "Tranche d’âge": b.tranche_age_at().label,
        "Commune de résidence": b.residence_commune.name if b.residence_commune else None,
        "Code INSEE": b.residence_commune.insee_code if b.residence_commune else None,
        "N° de téléphone": b.phone, "Pas de téléphone": b.no_phone, "E-mail": b.email,
        "Genre": b.genre.label if b.genre else None,
        "Statut": b.statut_social.label if b.statut_social else None,
        "Notes supplémentaires": b.notes,
        "Structure d’enregistrement": b.owner_structure.name,
        "Enregistré le": _fmt_datetime(b.created_at),
        "Dernière modification le": _fmt_datetime(b.updated_at),
        "Origine": b.source.label,
        "Nombre d’accompagnements": b.accompaniments_count,
    }
    consents = [{"Portée": c.scope.label, "Structure": c.structure.name, "Donné le": _fmt_datetime(c.given_at),
                 "Retiré le": _fmt_datetime(c.withdrawn_at)}
                for c in session.scalars(sa.select(Consent).where(Consent.beneficiary_id == b.id).order_by(Consent.id))]
    cases = list(session.scalars(sa.select(Case).where(Case.beneficiary_id == b.id).order_by(Case.id)))
    case_rows = [{"Dossier": c.id, "Structure": c.structure.name, "État": c.state.label,
                  "Ouvert le": _fmt_datetime(c.opened_at), "Clos le": _fmt_datetime(c.closed_at),
                  "Motif de clôture": c.closure_reason.label if c.closure_reason else None} for c in cases]
    notes = [{"Dossier": n.case_id, "Écrite le": _fmt_datetime(n.created_at), "Note": n.body}
             for n in session.scalars(sa.select(CaseNote).where(CaseNote.case_id.in_([c.id for c in cases] or [-1]))
                                      .order_by(CaseNote.created_at, CaseNote.id))]
    accompaniments = []
    activities = session.scalars(
        sa.select(Activity).join(Participation, Participation.activity_id == Activity.id)
        .where(Participation.beneficiary_id == b.id, Activity.deleted_at.is_(None))
        .order_by(Activity.date, Activity.id))
    for a in activities:
        accompaniments.append({
            "Date": a.date.strftime("%d/%m/%Y"), "Type": a.type.label, "Structure": a.structure.name,
            "Canal": a.place_type.label, "Durée (min)": a.duration_min,
            "Thématiques": ", ".join(a.thematique_labels),
            "Matériel": ", ".join(Materiel.label_of(m) for m in (a.materiel or [])),
            "Nom de la démarche": a.demarche_name, "Niveau d’autonomie": a.autonomie.label if a.autonomie else None,
            "Orienté·e": None if a.oriented is None else ("Oui" if a.oriented else "Non"),
            "Structure de redirection": a.redirection.label if a.redirection else None,
            "Notes": a.notes if a.type == ActivityType.INDIVIDUEL else None,
        })
    return {"Identité": identity, "Consentements": consents, "Dossiers": case_rows, "Notes de dossier": notes,
            "Accompagnements": accompaniments}


def personal_data_exports(user: User, data: dict) -> list[Export]:
    """One sheet per kind of data."""
    block_user = info_block(user, len(data["Accompagnements"]), [("Bénéficiaire n°", str(data["Identité"]["Identifiant"]))])
    sheets = [Export(sheet="Identité", block=block_user, columns=["Donnée", "Valeur"],
                     rows=[[k, "" if v is None else v] for k, v in data["Identité"].items()], filename="")]
    for name in ("Consentements", "Dossiers", "Notes de dossier", "Accompagnements"):
        items = data[name]
        columns = list(items[0]) if items else ["Aucune donnée"]
        sheets.append(Export(sheet=name, block=[], columns=columns,
                             rows=[["" if v is None else v for v in item.values()] for item in items], filename=""))
    return sheets

