"""Self-assessed services: for each service of the national schema it offers, a place says at what
level (from « information » to « accompagnement sur plusieurs séances »), for which publics, with what
accessibility and whether it is free. Any change goes back to the coordination, which reviews and
publishes it (the date of the last review is shown in the guide). The open data file of places
(schema v1.0.2) carries what maps: the published services join ``services``, « accompagnement sur
plusieurs séances » and « accompagnement individuel » give ``modalites_accompagnement``
« Accompagnement individuel », the publics ``publics_specifiquement_adresses``, the accessibility
``prise_en_charge_specifique``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.appointments import policy
from mediation.appointments.models import AssessmentLevel, AssessmentStatus, ServiceAssessment
from mediation.audit.services import record
from mediation.directory.exchange import export_rows
from mediation.directory.models import Structure
from mediation.directory.national_schema import COLUMN_OF_ATTR, CSV_HEADER, PRISE_EN_CHARGE, PUBLICS, SERVICES
from mediation.errors import Forbidden, ValidationFailed
from mediation.types import utcnow


@dataclass
class AssessmentInput:
    service: str | None = None
    level: str | None = None
    publics: list[str] = field(default_factory=list)
    accessibility: list[str] = field(default_factory=list)
    free_of_charge: bool = True
    details: str | None = None


def of_place(session: Session, structure_id: int) -> list[ServiceAssessment]:
    return list(session.scalars(sa.select(ServiceAssessment).where(ServiceAssessment.structure_id == structure_id)
                                .order_by(ServiceAssessment.service)))


def save(session: Session, actor, structure: Structure, data: AssessmentInput) -> ServiceAssessment:
    """Write the place's self-assessment of a service; it waits for the coordination's review again.
    Raises Forbidden (not the place's team) and ValidationFailed (service, level, lists)."""
    if not policy.can_manage_place(session, actor, structure.id):
        raise Forbidden("Seule l’équipe du lieu ou sa coordination remplit ses services.")
    errors = {}
    if data.service not in SERVICES:
        errors["service"] = "Choisissez un service du schéma national"
    try:
        level = AssessmentLevel(data.level or "")
    except ValueError:
        level = None
        errors["level"] = "Choisissez le niveau proposé"
    if set(data.publics) - set(PUBLICS):
        errors["publics"] = "Public inconnu du schéma national"
    if set(data.accessibility) - set(PRISE_EN_CHARGE):
        errors["accessibility"] = "Prise en charge inconnue du schéma national"
    details = (data.details or "").strip() or None
    if details and len(details) > 500:
        errors["details"] = "500 caractères au maximum"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    item = session.scalar(sa.select(ServiceAssessment).where(ServiceAssessment.structure_id == structure.id,
                                                             ServiceAssessment.service == data.service))
    if item is None:
        item = ServiceAssessment(structure_id=structure.id, service=data.service)
        session.add(item)
    item.level, item.publics, item.accessibility = level, list(data.publics), list(data.accessibility)
    item.free_of_charge, item.details, item.updated_by_id = data.free_of_charge, details, actor.id
    item.status = AssessmentStatus.DRAFT
    session.flush()
    record(session, "assessment.saved", actor=actor, obj=item, structure_id=structure.id,
           details={"service": item.service, "level": level.value})
    return item


def publish(session: Session, actor, item: ServiceAssessment) -> ServiceAssessment:
    """The coordination reviewed it: published, with today's review date."""
    if not policy.can_publish_assessment(actor) or not policy.can_manage_place(session, actor, item.structure_id):
        raise Forbidden("Seule la coordination du territoire relit et publie les services d’un lieu.")
    item.status = AssessmentStatus.PUBLISHED
    item.reviewed_at, item.reviewed_by_id = utcnow(), actor.id
    session.flush()
    record(session, "assessment.published", actor=actor, obj=item, structure_id=item.structure_id,
           details={"service": item.service, "level": item.level.value})
    return item


INDIVIDUAL_LEVELS = {AssessmentLevel.ACCOMPAGNEMENT, AssessmentLevel.PLUSIEURS_SEANCES}


def open_data_rows(session: Session, structures: list[Structure]):
    """National schema v1.0.2 rows of the places, completed with their published self-assessment."""
    published: dict[int, list[ServiceAssessment]] = {}
    ids = [s.id for s in structures]
    for start in range(0, len(ids), 900):
        for item in session.scalars(sa.select(ServiceAssessment).where(
                ServiceAssessment.structure_id.in_(ids[start:start + 900]),
                ServiceAssessment.status == AssessmentStatus.PUBLISHED)):
            published.setdefault(item.structure_id, []).append(item)
    index = {column: i for i, column in enumerate(CSV_HEADER)}
    rows = export_rows(structures)
    yield next(rows)
    for structure, row in zip(structures, rows, strict=True):
        items = published.get(structure.id, [])

        def merge(attr: str, values: set[str], row=row) -> None:
            column = index[COLUMN_OF_ATTR[attr]]
            current = [v for v in str(row[column]).split("|") if v]
            row[column] = "|".join(current + sorted(v for v in values if v not in current))

        merge("services", {i.service for i in items})
        merge("publics", {p for i in items for p in i.publics})
        merge("prise_en_charge", {a for i in items for a in i.accessibility})
        if any(i.level in INDIVIDUAL_LEVELS for i in items):
            merge("modalites_accompagnement", {"Accompagnement individuel"})
        yield row
