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
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from mediation.auth.models import User
from mediation.cases import policy, xlsx
from mediation.cases.enums import (
    ActivityType,
    Autonomie,
    Genre,
    Materiel,
    NiveauAtelier,
    PlaceType,
    RecordSource,
    StatutSocial,
    StructureRedirection,
    thematique_label,
)
from mediation.cases.exchange import A, B, export_id
from mediation.cases.models import (
    Activity,
    ActivityThematique,
    Beneficiary,
    Case,
    CaseNote,
    Consent,
    Participation,
    tranche_age_for,
)
from mediation.cases.search import person_condition
from mediation.directory.models import Commune, Structure
from mediation.tabular import CsvWriter
from mediation.types import local_today, to_paris, utcnow

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

def is_self_export(user: User) -> bool:
    """Mediators export with the beneficiary's name and the notes; nobody else does."""
    return policy.can_see_identity(user) and policy.can_see_notes(user)


def activity_columns(self_export: bool, with_source: bool) -> list[str]:
    columns = [A.DATE.label, A.CREATED.label, A.MODIFIED.label]
    if not self_export:
        columns += [A.MEDIATOR_FIRST_NAME.label, A.MEDIATOR_LAST_NAME.label, A.ROLE.label, A.CONUM.label]
    columns += [A.TYPE.label, A.PARTICIPANTS.label]
    if self_export:
        columns.append(A.BENEFICIAIRE.label)
    columns += [c.label for c in (A.CANAL, A.LIEU_NOM, A.LIEU_ADRESSE, A.LIEU_COMMUNE, A.LIEU_CODE_POSTAL,
                                  A.LIEU_INSEE, A.DUREE, A.ATELIER, A.MATERIEL, A.THEMATIQUES, A.TAGS, A.DEMARCHE,
                                  A.NIVEAU, A.REORIENTE, A.REDIRECTION, A.BEN_COMMUNE, A.BEN_CODE_POSTAL,
                                  A.BEN_INSEE, A.BEN_GENRE, A.BEN_TRANCHE, A.BEN_STATUT)]
    if self_export:
        columns.append(A.NOTES.label)
    if with_source:
        columns.append(A.SOURCE.label)
    columns.append(A.ID_CRA.label)
    return columns


def _level(autonomie: str | None, level: str | None) -> str:
    if autonomie:
        return f"{Autonomie(autonomie).stars}/{len(Autonomie)}"
    if level:
        return f"{NiveauAtelier(level).stars}/{len(NiveauAtelier)}"
    return ""


def _activity_batch(session: Session, ids: list[int]):
    place = aliased(Structure)
    place_structure_commune = aliased(Commune)
    place_commune = aliased(Commune)
    activities = {row.id: row for row in session.execute(
        sa.select(Activity.id, Activity.type, Activity.date, Activity.created_at, Activity.updated_at,
                  Activity.duration_min, Activity.place_type, Activity.demarche_name, Activity.materiel,
                  Activity.autonomie, Activity.oriented, Activity.redirection, Activity.notes,
                  Activity.workshop_title, Activity.workshop_level, Activity.source, Activity.external_id,
                  User.first_name.label("mediator_first_name"), User.last_name.label("mediator_last_name"),
                  User.is_conseiller_numerique,
                  place.name.label("place_name"), place.address.label("place_address"),
                  place.postal_code.label("place_postal_code"),
                  place_structure_commune.name.label("place_structure_commune"),
                  place_structure_commune.postal_code.label("place_structure_commune_postal"),
                  place_structure_commune.insee_code.label("place_structure_insee"),
                  place_commune.name.label("place_commune"), place_commune.postal_code.label("place_commune_postal"),
                  place_commune.insee_code.label("place_commune_insee"))
        .join(User, User.id == Activity.mediator_id)
        .outerjoin(place, place.id == Activity.place_structure_id)
        .outerjoin(place_structure_commune, place_structure_commune.id == place.commune_id)
        .outerjoin(place_commune, place_commune.id == Activity.place_commune_id)
        .where(Activity.id.in_(ids))
    )}
    themes: dict[int, list[str]] = defaultdict(list)
    for activity_id, code in session.execute(sa.select(ActivityThematique.activity_id, ActivityThematique.code)
                                             .where(ActivityThematique.activity_id.in_(ids))):
        themes[activity_id].append(code)
    participants: dict[int, list] = defaultdict(list)
    for row in session.execute(
        sa.select(Participation.activity_id, Beneficiary.id, Beneficiary.anonymous, Beneficiary.first_name,
                  Beneficiary.last_name, Beneficiary.birth_year, Beneficiary.tranche_age, Beneficiary.genre,
                  Beneficiary.statut_social, Commune.name.label("commune"),
                  Commune.postal_code.label("postal_code"), Commune.insee_code.label("insee"))
        .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
        .outerjoin(Commune, Commune.id == Beneficiary.residence_commune_id)
        .where(Participation.activity_id.in_(ids))
        .order_by(Participation.activity_id, Participation.id)
    ):
        participants[row.activity_id].append(row)
    return activities, themes, participants


def _activity_rows(session: Session, ids: list[int], self_export: bool, with_source: bool) -> Iterator[list]:
    for chunk in _chunks(ids):
        activities, themes, participants = _activity_batch(session, chunk)
        for activity_id in chunk:
            a = activities[activity_id]
            people = participants.get(activity_id, [])
            if a.place_type == PlaceType.LIEU_ACTIVITE:
                place = [a.place_name or "", a.place_address or "", a.place_structure_commune or "",
                         a.place_postal_code or a.place_structure_commune_postal or "", a.place_structure_insee or ""]
            else:
                place = ["", "", a.place_commune or "", a.place_commune_postal or "", a.place_commune_insee or ""]
            modified = "" if abs((a.updated_at - a.created_at).total_seconds()) < 1 else _fmt_datetime(a.updated_at)
            common_before = [a.date, _fmt_datetime(a.created_at), modified]
            if not self_export:
                common_before += [a.mediator_first_name, a.mediator_last_name,
                                  "Conseiller Numérique" if a.is_conseiller_numerique else "Médiateur", ""]
            for index, p in enumerate(people):
                row = [*common_before, ActivityType(a.type).label,
                       1 if len(people) == 1 else f"{index + 1}/{len(people)}"]
                if self_export:
                    row.append("Anonyme" if p.anonymous else f"{p.first_name} {p.last_name}")
                row += [PlaceType(a.place_type).label, *place, a.duration_min, a.workshop_title or "",
                        "\n".join(Materiel.label_of(m) for m in (a.materiel or [])),
                        "\n".join(thematique_label(c) for c in sorted(themes.get(activity_id, []))),
                        "", a.demarche_name or "", _level(a.autonomie, a.workshop_level),
                        "" if a.oriented is None else ("Oui" if a.oriented else "Non"),
                        StructureRedirection.label_of(a.redirection) if a.redirection else "",
                        p.commune or "", p.postal_code or "", p.insee or "",
                        Genre.label_of(p.genre or Genre.NON_COMMUNIQUE.value),
                        tranche_age_for(p.birth_year, a.date, p.tranche_age).label,
                        StatutSocial.label_of(p.statut_social or StatutSocial.NON_COMMUNIQUE.value)]
                if self_export:
                    row.append((a.notes or "") if index == 0 else "")
                if with_source:
                    row.append(RecordSource.label_of(a.source))
                row.append(export_id(activity_id, a.external_id))
                yield row


def export_activities(session: Session, user: User, activity_query: sa.Select,
                      filters: list[tuple[str, str]], *, include_identity: bool) -> Export:
    """The activities of ``activity_query`` (already scoped to ``user``), one row per accompagnement.

    ``include_identity`` is decided by the caller from its policy: True gives the self-export
    columns (the beneficiary's name and the notes, see :func:`is_self_export`); False gives the
    mediator columns and neither names nor notes, whoever exports.
    """
    ids_query = activity_query.with_only_columns(Activity.id).order_by(None).order_by(
        Activity.date.desc(), Activity.id.desc())
    ids = list(session.scalars(ids_query))
    self_export = include_identity
    with_source = False
    total = 0
    for chunk in _chunks(ids):
        total += session.scalar(sa.select(sa.func.count(Participation.id))
                                .where(Participation.activity_id.in_(chunk))) or 0
        with_source = with_source or bool(session.scalar(sa.select(Activity.id).where(
            Activity.id.in_(chunk), Activity.source == RecordSource.IMPORT).limit(1)))
    return Export(sheet="Activités", block=info_block(user, total, filters),
                  columns=activity_columns(self_export, with_source),
                  rows=_activity_rows(session, ids, self_export, with_source),
                  filename=f"activites-{local_today().isoformat()}")


# --- beneficiaries ------------------------------------------------------------------------------

def beneficiary_export_query(user: User, search: str | None = None) -> sa.Select:
    """Identified beneficiaries of the mediator's structures (nobody else's)."""
    query = policy.visible_beneficiaries(user).where(Beneficiary.anonymous.is_(False))
    if search:
        query = query.where(person_condition(search, identity=True, ids=(Beneficiary.id,)))
    return query


def _beneficiary_rows(session: Session, ids: list[int]) -> Iterator[list]:
    today = local_today()
    for chunk in _chunks(ids):
        rows = {row.id: row for row in session.execute(
            sa.select(Beneficiary.id, Beneficiary.last_name, Beneficiary.first_name, Beneficiary.birth_year,
                      Beneficiary.phone, Beneficiary.email, Beneficiary.genre, Beneficiary.tranche_age,
                      Beneficiary.statut_social, Beneficiary.accompaniments_count, Beneficiary.notes,
                      Commune.name.label("commune"), Commune.insee_code, Commune.postal_code)
            .outerjoin(Commune, Commune.id == Beneficiary.residence_commune_id)
            .where(Beneficiary.id.in_(chunk)))}
        for beneficiary_id in chunk:
            b = rows[beneficiary_id]
            yield [b.last_name, b.first_name, b.birth_year or "", b.commune or "", b.insee_code or "",
                   b.postal_code or "", b.phone or "", b.email or "",
                   Genre.label_of(b.genre or Genre.NON_COMMUNIQUE.value),
                   tranche_age_for(b.birth_year, today, b.tranche_age).label,
                   StatutSocial.label_of(b.statut_social or StatutSocial.NON_COMMUNIQUE.value),
                   b.accompaniments_count, b.notes or ""]


def export_beneficiaries(session: Session, user: User, search: str | None = None) -> Export:
    query = beneficiary_export_query(user, search)
    ids = list(session.scalars(query.with_only_columns(Beneficiary.id).order_by(
        Beneficiary.last_name, Beneficiary.first_name, Beneficiary.id)))
    return Export(sheet="Bénéficiaires", block=info_block(user, len(ids), [("Recherche", search or "")]),
                  columns=[c.label for c in B.EXPORT], rows=_beneficiary_rows(session, ids),
                  filename=f"beneficiaires-{local_today().isoformat()}")


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
    """A spooled temporary file holding the workbook (one sheet per Export), positioned at 0."""
    output = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - returned open
    with xlsx.Workbook(output) as workbook:
        for export in sheets if isinstance(sheets, list) else [sheets]:
            with workbook.sheet(export.sheet) as sheet:
                for row in export.block:
                    if row and row[0] is TITLE:
                        sheet.row(row[1:], xlsx.BOLD)
                    else:
                        sheet.row(row)
                sheet.row(export.columns, xlsx.BOLD)
                for row in export.rows:
                    sheet.row(row)
    output.seek(0)
    return output


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

