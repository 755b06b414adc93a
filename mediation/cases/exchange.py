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

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import User
from mediation.cases import activities as activity_rules
from mediation.cases import services, signals
from mediation.cases.duplicates import normalise_name
from mediation.cases.enums import (
    ActivityType,
    Autonomie,
    CaseState,
    Genre,
    NiveauAtelier,
    PlaceType,
    RecordSource,
    StatutSocial,
    StructureRedirection,
    TrancheAge,
)
from mediation.cases.exchange_models import ImportKind, ImportUpload
from mediation.cases.models import Activity, ActivityThematique, Beneficiary, Case, Participation
from mediation.cases.tabular import (
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
    parse_stars,
    read_table,
    text_of,
    value_key,
)
from mediation.directory import communes
from mediation.directory.models import Commune, StaffMembership, Structure
from mediation.errors import DomainError, Forbidden, NotFound
from mediation.jobs import enqueue, register
from mediation.types import local_today, utcnow

BATCH = 500
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
    COMMUNE = Column("Nom de la commune")
    INSEE = Column("Code INSEE")
    CODE_POSTAL = Column("Code postal")
    TELEPHONE = Column("N° de téléphone", aliases=("Téléphone", "Numéro de téléphone"))
    EMAIL = Column("E-mail", aliases=("Email", "Courriel"))
    GENRE = Column("Genre")
    TRANCHE = Column("Tranche d’âge")  # ignored: derived from the birth year
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


def _row_insee(table, cells, columns) -> str | None:
    """The INSEE code of a row, or — when absent — that of the one commune of its name and postal code."""
    insee_col, name_col, postal_col = columns
    insee = insee_code(table.get(cells, insee_col))
    if insee is None:
        return communes.find_code(text_of(table.get(cells, name_col)), text_of(table.get(cells, postal_col)))
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
        errors_before = len(analysis.errors)
        parsed: dict[str, Any] = {}
        for key, column, parser in (
            ("birth_year", B.ANNEE, lambda v: parse_int(v, "année de naissance invalide (attendu AAAA)")),
            ("genre", B.GENRE, parse_genre),
            ("statut_social", B.STATUT, lambda v: parse_choice(v, STATUTS, "statut inconnu")),
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
        if external_id in existing:
            plan.already += 1
            continue
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


def _insert_returning_ids(session: Session, model, rows: list[dict]) -> list[int]:
    if not rows:
        return []
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

    ALL = [DATE, CREATED, MODIFIED, MEDIATOR_FIRST_NAME, MEDIATOR_LAST_NAME, ROLE, CONUM, TYPE, PARTICIPANTS,
           BENEFICIAIRE, CANAL, LIEU_NOM, LIEU_ADRESSE, LIEU_COMMUNE, LIEU_CODE_POSTAL, LIEU_INSEE, DUREE, ATELIER,
           MATERIEL, THEMATIQUES, TAGS, DEMARCHE, NIVEAU, REORIENTE, REDIRECTION, BEN_COMMUNE, BEN_CODE_POSTAL,
           BEN_INSEE, BEN_GENRE, BEN_TRANCHE, BEN_STATUT, NOTES, SOURCE, ID_CRA]


PLACE_COMMUNE = (A.LIEU_INSEE, A.LIEU_COMMUNE, A.LIEU_CODE_POSTAL)
RESIDENCE_COMMUNE = (A.BEN_INSEE, A.BEN_COMMUNE, A.BEN_CODE_POSTAL)
ANONYMOUS_NAMES = {"anonyme", "beneficiaire anonyme", "non communique"}
# Activity-level columns that every row of one CRA must repeat identically.
GROUP_COLUMNS = (A.DATE, A.TYPE, A.CANAL, A.DUREE, A.THEMATIQUES)


@dataclass
class _ActivityRow:
    line: int
    group_values: dict  # column label → raw text (consistency check)
    activity: dict
    codes: list[str]
    participant_index: tuple[int, int] | None
    beneficiary_id: int | None
    anonymous: dict


@dataclass
class ActivityPlan:
    structure_id: int
    groups: list[tuple[str, list[_ActivityRow]]] = field(default_factory=list)
    already: int = 0

    @property
    def accompaniments(self) -> int:
        return sum(len(rows) for _, rows in self.groups)


class _Context:
    """Lookups shared by every row of an activities import (loaded once)."""

    def __init__(self, session: Session, user: User, structure: Structure, table: Table, store_communes: bool):
        self.structure = structure
        self.user = user
        insee_codes = set()
        for _, cells in table.rows:
            insee_codes.add(_row_insee(table, cells, PLACE_COMMUNE))
            insee_codes.add(_row_insee(table, cells, RESIDENCE_COMMUNE))
        self.communes = _communes_byinsee_code(session, insee_codes, store_communes)
        territory_id = structure.commune.territory_id
        self.territory_id = territory_id
        places = session.execute(
            sa.select(Structure.id, Structure.name, Commune.insee_code).join(Commune, Commune.id == Structure.commune_id)
            .where(sa.or_(Commune.territory_id == territory_id, Structure.id == structure.id))
        ).all()
        self.places: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for place_id, name, insee in places:
            self.places[normalise_name(name)].append((place_id, insee))
        staff = session.execute(
            sa.select(User.id, User.first_name, User.last_name).join(StaffMembership, StaffMembership.user_id == User.id)
            .where(StaffMembership.structure_id == structure.id).distinct()
        ).all()
        self.mediators: dict[tuple[str, str], set[int]] = defaultdict(set)
        for user_id, first, last in staff:
            self.mediators[(normalise_name(first), normalise_name(last))].add(user_id)
        held = sa.select(Case.beneficiary_id).where(Case.structure_id == structure.id)
        people = session.execute(
            sa.select(Beneficiary.id, Beneficiary.first_name, Beneficiary.last_name).where(
                Beneficiary.anonymous.is_(False), Beneficiary.deleted_at.is_(None),
                sa.or_(Beneficiary.owner_structure_id == structure.id, Beneficiary.id.in_(held)))
        ).all()
        self.people: dict[str, set[int]] = defaultdict(set)
        for person_id, first, last in people:
            self.people[normalise_name(f"{first}{last}")].add(person_id)
            self.people[normalise_name(f"{last}{first}")].add(person_id)

    def place(self, name: str | None, insee: str | None) -> int | None:
        candidates = self.places.get(normalise_name(name), []) if name else []
        if insee:
            candidates = [c for c in candidates if c[1] == insee] or candidates
        return candidates[0][0] if len(candidates) == 1 else None

    def mediator(self, first: str | None, last: str | None) -> int | None:
        found = self.mediators.get((normalise_name(first), normalise_name(last))) if first and last else None
        return next(iter(found)) if found and len(found) == 1 else None


# Column of the import where each field's error is reported (field names of the activity rules).
ACTIVITY_FIELD_COLUMNS = {
    "date": A.DATE, "type": A.TYPE, "duration_min": A.DUREE, "place_type": A.CANAL,
    "place_structure_id": A.LIEU_NOM, "place_commune_id": A.LIEU_INSEE, "thematiques": A.THEMATIQUES,
    "demarches": A.THEMATIQUES, "demarche_name": A.DEMARCHE, "materiel": A.MATERIEL, "autonomie": A.NIVEAU,
    "workshop_level": A.NIVEAU, "oriented": A.REORIENTE, "redirection": A.REDIRECTION,
    "workshop_title": A.ATELIER, "participants": A.PARTICIPANTS, "anon_genre": A.BEN_GENRE,
    "anon_tranche_age": A.BEN_TRANCHE, "anon_statut_social": A.BEN_STATUT, "external_id": A.ID_CRA,
}


def _parse_activity_row(ctx: _Context, analysis: ImportAnalysis, table: Table, line: int, cells: list,
                        today: date) -> _ActivityRow | None:
    """One row: its cells are read here (the file's formats), then checked by the same rule
    functions as the form and the API (:mod:`mediation.cases.activities`), field by field."""
    errors = services.Errors()  # field → first message, as for the form

    def cell(column):
        return table.get(cells, column)

    def parse(name, column, parser, *args):
        try:
            return parser(cell(column), *args)
        except CellError as error:
            errors.add(name, str(error))
            return None

    day = activity_rules.check_date(parse("date", A.DATE, parse_date), errors, today)
    kind = parse("type", A.TYPE, parse_choice, TYPES,
                 "type inconnu (attendu « Accompagnement individuel » ou « Atelier collectif »)")
    if kind is None:
        errors.add("type", "Veuillez renseigner le type d’activité")
    duration = activity_rules.check_duration(
        parse("duration_min", A.DUREE, parse_int, "durée invalide (attendu un nombre de minutes)"), errors)

    place_type = activity_rules.check_place_type(
        parse("place_type", A.CANAL, parse_choice, PLACES, "canal inconnu (attendu Lieu d’activité, Autre lieu, "
                                                            "À domicile ou À distance)"), errors)
    place_structure_id = place_commune_id = None
    if place_type == PlaceType.LIEU_ACTIVITE:
        name = text_of(cell(A.LIEU_NOM))
        place_insee = _row_insee(table, cells, PLACE_COMMUNE)
        found = ctx.place(name, place_insee)
        outside = ctx.communes.get(place_insee or "")
        if found is None and outside is not None and outside.territory_id != ctx.territory_id:
            # A place of another network: kept in its own commune, as an « autre lieu » (never moved).
            place_type, place_commune_id = PlaceType.AUTRE, outside.id
            analysis.warn(line, A.LIEU_NOM.label, f"lieu d’activité hors du territoire du réseau : "
                                                  f"importé comme « Autre lieu » à {outside.name}")
        else:
            place_structure_id = activity_rules.check_place_structure(name, found, errors,
                                                                      fallback_id=ctx.structure.id)
            if found is None:
                analysis.warn(line, A.LIEU_NOM.label, "lieu d’activité introuvable dans l’annuaire : la structure "
                                                      "d’import est retenue")
    elif place_type in (PlaceType.AUTRE, PlaceType.DOMICILE):
        insee = _row_insee(table, cells, PLACE_COMMUNE)
        commune = ctx.communes.get(insee) if insee else None
        place_commune_id = activity_rules.check_place_commune(insee, commune.id if commune else None, errors,
                                                              known=commune is not None)
    elif place_type == PlaceType.A_DISTANCE:
        place_commune_id = ctx.structure.commune_id

    codes = parse("thematiques", A.THEMATIQUES, parse_list, THEMATIQUES, activity_rules.UNKNOWN_THEMATIQUE) or []
    codes, has_demarches = activity_rules.check_thematiques(codes, errors)
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
        redirection = activity_rules.check_redirection(
            oriented, oriented and parse("redirection", A.REDIRECTION, parse_choice, REDIRECTIONS,
                                         activity_rules.UNKNOWN_REDIRECTION), errors)
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
    residence = ctx.communes.get(_row_insee(table, cells, RESIDENCE_COMMUNE) or "")
    beneficiary_id = None
    name = text_of(cell(A.BENEFICIAIRE))
    if name and value_key(name) not in ANONYMOUS_NAMES:
        found = ctx.people.get(normalise_name(name), set())
        if len(found) == 1:
            beneficiary_id = next(iter(found))
        else:
            analysis.warn(line, A.BENEFICIAIRE.label,
                          "plusieurs bénéficiaires suivis portent ce nom : accompagnement importé comme anonyme"
                          if found else "bénéficiaire suivi introuvable : accompagnement importé comme anonyme")

    external_id = text_of(cell(A.ID_CRA))
    if external_id is None:
        errors.add("external_id", "identifiant du CRA obligatoire")
    elif len(external_id) > 100:
        errors.add("external_id", "identifiant trop long (100 caractères au maximum)")
    notes = text_of(cell(A.NOTES))
    for name, message in errors.by_field.items():
        analysis.error(line, ACTIVITY_FIELD_COLUMNS[name].label, message)
    if errors:
        return None
    mediator_id = ctx.mediator(text_of(cell(A.MEDIATOR_FIRST_NAME)), text_of(cell(A.MEDIATOR_LAST_NAME))) or ctx.user.id
    return _ActivityRow(
        line=line,
        group_values={c.label: value_key(text_of(cell(c)) or "") for c in GROUP_COLUMNS},
        activity={
            "type": ActivityType(kind), "mediator_id": mediator_id, "structure_id": ctx.structure.id, "date": day,
            "duration_min": duration, "place_type": PlaceType(place_type), "place_structure_id": place_structure_id,
            "place_commune_id": place_commune_id, "demarche_name": demarche,
            "materiel": materiel, "autonomie": autonomie and Autonomie(autonomie), "oriented": oriented if individual
            else None, "redirection": redirection and StructureRedirection(redirection), "notes": notes,
            "workshop_title": title, "workshop_level": level and NiveauAtelier(level),
            "source": RecordSource.IMPORT, "external_id": external_id, "created_by_id": ctx.user.id,
        },
        codes=codes,
        participant_index=participant_index,
        beneficiary_id=beneficiary_id,
        anonymous={"genre": genre and Genre(genre), "tranche_age": tranche and TrancheAge(tranche),
                   "statut_social": statut and StatutSocial(statut),
                   "residence_commune_id": residence.id if residence else None},
    )


def _check_group(analysis: ImportAnalysis, external_id: str, rows: list[_ActivityRow]) -> bool:
    first = rows[0]
    ok = True
    for row in rows[1:]:
        for label, value in row.group_values.items():
            if value != first.group_values[label]:
                analysis.error(row.line, label, f"valeur différente de la ligne {first.line} pour le même CRA "
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


def analyse_activities(session: Session, user: User, structure: Structure, content: bytes,
                       filename: str | None, store_communes: bool = False) -> ImportAnalysis:
    analysis = ImportAnalysis(ImportKind.ACTIVITIES)
    _check_structure(session, user, structure)
    table = read_table(content, filename, A.ALL, [A.DATE, A.TYPE, A.ID_CRA], "Activités", analysis)
    if table is None:
        return analysis
    ctx = _Context(session, user, structure, table, store_communes)
    today = local_today()
    groups: dict[str, list[_ActivityRow]] = {}
    for line, cells in table.rows:
        row = _parse_activity_row(ctx, analysis, table, line, cells, today)
        if row is not None:
            groups.setdefault(row.activity["external_id"], []).append(row)
    for external_id, rows in groups.items():
        _check_group(analysis, external_id, rows)
    existing = set()
    ids = list(groups)
    for start in range(0, len(ids), 1000):
        existing |= set(session.scalars(sa.select(Activity.external_id).where(
            Activity.structure_id == structure.id, Activity.external_id.in_(ids[start:start + 1000]))))
    existing |= _own_exported_ids(session, structure, ids)
    plan = ActivityPlan(structure.id)
    for external_id, rows in groups.items():
        if external_id in existing:
            plan.already += 1
        else:
            plan.groups.append((external_id, rows))
    rows = [r for _, group in plan.groups for r in group]
    analysis.summary = {
        "Lignes lues": analysis.rows,
        "Activités à créer": len(plan.groups),
        "dont ateliers collectifs": sum(1 for _, g in plan.groups if g[0].activity["type"] == ActivityType.COLLECTIF),
        "Accompagnements à créer": len(rows),
        "rattachés à un bénéficiaire suivi": sum(1 for r in rows if r.beneficiary_id),
        "Activités déjà importées (ignorées)": plan.already,
    }
    analysis.plan = plan
    analysis.to_create = len(plan.groups)
    return analysis


OWN_ID_PREFIX = "med-"


def export_id(activity_id: int, external_id: str | None) -> str:
    """The "ID CRA" of an export: the external id of imported activities, else ``med-<id>``."""
    return external_id or f"{OWN_ID_PREFIX}{activity_id}"


def _own_exported_ids(session: Session, structure: Structure, ids: list[str]) -> set[str]:
    """``med-<id>`` of our own exports, when that activity already is in the structure."""
    own = {int(i[len(OWN_ID_PREFIX):]): i for i in ids if i.startswith(OWN_ID_PREFIX) and i[len(OWN_ID_PREFIX):].isdigit()}
    found = set()
    keys = list(own)
    for start in range(0, len(keys), 1000):
        found |= set(session.scalars(sa.select(Activity.id).where(
            Activity.structure_id == structure.id, Activity.id.in_(keys[start:start + 1000]))))
    return {own[i] for i in found}


def _live_cases(session: Session, beneficiary_ids: set[int]) -> dict[int, int]:
    ids = sorted(beneficiary_ids)
    found = {}
    for start in range(0, len(ids), 1000):
        for beneficiary_id, case_id in session.execute(sa.select(Case.beneficiary_id, Case.id).where(
                Case.beneficiary_id.in_(ids[start:start + 1000]), Case.state != CaseState.CLOSED)):
            found[beneficiary_id] = case_id
    return found


def apply_activities(session: Session, user: User, plan: ActivityPlan, progress) -> dict:
    total = plan.accompaniments
    progress(0, total)
    followed = {r.beneficiary_id for _, rows in plan.groups for r in rows if r.beneficiary_id}
    cases = _live_cases(session, followed)
    done = created = anonymous = 0
    batch: list[tuple[str, list[_ActivityRow]]] = []
    imported_ids: list[int] = []

    def flush_batch():
        nonlocal done, created, anonymous
        activity_rows = []
        for _, rows in batch:
            values = dict(rows[0].activity)
            values["participants_count"] = len(rows)
            activity_rows.append(values)
        activity_ids = _insert_returning_ids(session, Activity, activity_rows)
        imported_ids.extend(activity_ids)
        themes, anonymous_rows, pending = [], [], []
        for activity_id, (_, rows) in zip(activity_ids, batch, strict=True):
            themes.extend({"activity_id": activity_id, "code": code} for code in rows[0].codes)
            for row in rows:
                if row.beneficiary_id:
                    pending.append((activity_id, row.beneficiary_id, False))
                else:
                    anonymous_rows.append({"owner_structure_id": plan.structure_id, "created_by_id": user.id,
                                           "anonymous": True, "random_attributes": False,
                                           "source": RecordSource.IMPORT, **row.anonymous})
                    pending.append((activity_id, None, True))
        if themes:
            session.execute(sa.insert(ActivityThematique).execution_options(insertmanyvalues_page_size=PAGE), themes)
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
        session.execute(sa.insert(Participation).execution_options(insertmanyvalues_page_size=PAGE), participations)
        created += len(batch)
        anonymous += len(anonymous_rows)
        done += len(participations)
        progress(done, total)
        batch.clear()

    rows_in_batch = 0
    for group in plan.groups:
        batch.append(group)
        rows_in_batch += len(group[1])
        if rows_in_batch >= BATCH:
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
    signals.activities_imported.send(session, activity_ids=imported_ids, dates=months, beneficiary_ids=followed)
    return {"Activités créées": created, "Accompagnements créés": done,
            "dont bénéficiaires anonymes": anonymous, "Activités déjà importées (ignorées)": plan.already}


# --- the two steps ------------------------------------------------------------------------------

ANALYSERS = {ImportKind.BENEFICIARIES: analyse_beneficiaries, ImportKind.ACTIVITIES: analyse_activities}


def analyse(session: Session, user: User, structure: Structure, kind: ImportKind | str, content: bytes,
            filename: str | None = None, *, store_communes: bool = False) -> ImportAnalysis:
    """Read and validate every row; write nothing (except, with ``store_communes``, the communes of the
    official reference the rows name outside the network: the apply job needs their ids). Raises
    Forbidden for a structure the user does not work for."""
    return ANALYSERS[ImportKind(kind)](session, user, structure, content, filename, store_communes)


def store_upload(session: Session, user: User, structure: Structure, analysis: ImportAnalysis, content: bytes,
                 filename: str | None) -> ImportUpload:
    """Keep a file analysed without error until the user confirms it (stale uploads are purged)."""
    if not analysis.ok:
        raise DomainError("Seul un fichier sans erreur peut être importé.")
    purge_stale_uploads(session)
    upload = ImportUpload(kind=analysis.kind, structure_id=structure.id, user_id=user.id,
                          filename=(filename or "fichier")[:200], data=content,
                          sha256=hashlib.sha256(content).hexdigest(), summary=analysis.summary)
    session.add(upload)
    session.flush()
    return upload


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
                  params={"kind": upload.kind.value, "structure_id": upload.structure_id, "return_url": return_url},
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
    structure = session.get(Structure, job.params["structure_id"])
    if user is None or structure is None:
        raise DomainError("L'import n'a pas été appliqué : le compte ou la structure n'existe plus.")
    analysis = analyse(session, user, structure, kind, job.input_data or b"", job.input_name, store_communes=True)
    if not analysis.ok:
        raise DomainError(analysis.failure_message())
    if kind == ImportKind.BENEFICIARIES:
        result = apply_beneficiaries(session, user, analysis.plan, progress)
        action, created = "import.beneficiaries", result["Bénéficiaires créés"]
    else:
        result = apply_activities(session, user, analysis.plan, progress)
        action, created = "import.activities", result["Accompagnements créés"]
    session.flush()
    record(session, action, actor=user, obj=structure, structure_id=structure.id,
           details={"job_id": job.id, "rows": analysis.rows, "created": created,
                    "skipped": analysis.summary.get("Déjà importés (ignorés)",
                                                    analysis.summary.get("Activités déjà importées (ignorées)", 0))})
    if job.params.get("return_url"):
        result["url"] = job.params["return_url"]
    return result
