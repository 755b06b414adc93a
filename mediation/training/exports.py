"""CSV exports of the training records and of the skills table (through the one CSV writer,
:mod:`mediation.tabular`: « ; », dates jj/mm/aaaa, a BOM for spreadsheet software)."""

from __future__ import annotations

import io
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from mediation.auth.models import User
from mediation.directory.models import StaffMembership, Structure
from mediation.directory.scopes import active_membership_clause
from mediation.errors import Forbidden
from mediation.tabular import CsvWriter
from mediation.training import policy
from mediation.training.models import TrainingRecord
from mediation.training.services import SOON_DAYS, Skills
from mediation.types import local_today

RECORD_COLUMNS = ("Nom", "Prénom", "Rôle", "Structures actuelles", "Formation ou certification", "Intitulé",
                  "Organisme", "Obtenue le", "Valable jusqu’au", "État", "Attestation jointe")


def _text(rows) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    CsvWriter(buffer, delimiter=";", lineterminator="\r\n", date_format="%d/%m/%Y").writerows(rows)
    return buffer.getvalue()


def record_rows(session: Session, actor: User):
    """Header, then one row per record of the people in the actor's scope (supervisors only)."""
    if not policy.is_supervisor(actor):
        raise Forbidden("Les exports des formations sont réservés à la coordination.")
    today = local_today()
    person = aliased(User)  # not the User of the scope's subquery (no correlation)
    entries = session.execute(
        policy.visible_records(actor).add_columns(person).join(person, person.id == TrainingRecord.user_id)
        .order_by(person.last_name, person.first_name, person.id, TrainingRecord.obtained_on)).all()
    places: dict[int, list[str]] = defaultdict(list)
    ids = {user.id for _, user in entries}
    if ids:
        for user_id, name in session.execute(
                sa.select(StaffMembership.user_id, Structure.name).join(Structure)
                .where(StaffMembership.user_id.in_(ids), active_membership_clause(StaffMembership.user_id, today))
                .order_by(Structure.name)):
            places[user_id].append(name)
    yield RECORD_COLUMNS
    for entry, user in entries:
        yield (user.last_name, user.first_name, user.role_label, " | ".join(places.get(user.id, [])),
               entry.kind.label, entry.title, entry.organisation, entry.obtained_on, entry.expires_on,
               entry.status(today, SOON_DAYS), entry.certificate_type is not None)


def records_csv(session: Session, actor: User) -> str:
    return _text(record_rows(session, actor))


def skills_rows(table: Skills):
    kinds = table.kinds
    yield ("Commune", "Structure", "Personnes en poste", *(k.short_label for k in kinds), "Sans personne formée")
    for row in table.structures:
        yield (row.commune, row.label, row.staff, *(row.count(k) for k in kinds),
               ", ".join(k.short_label for k in row.gaps))
    for row in table.communes:
        yield (row.label, f"Toute la commune ({row.structures} structure{'s' if row.structures > 1 else ''})",
               row.staff, *(row.count(k) for k in kinds), ", ".join(k.short_label for k in row.gaps))


def skills_csv(table: Skills) -> str:
    return _text(skills_rows(table))
