"""Training endpoints (read-only, scope ``trainings:read``): the records of the people in the
token owner's scope (a mediator: their own; a coordinator: the staff of their territory), and one
person's habilitation as derived from them."""

from __future__ import annotations

from flask import g, request

from mediation.api import (
    ERROR_RESPONSES,
    OPENAPI_SCHEMAS,
    PAGE_PARAMETERS,
    InvalidParameter,
    api_access,
    api_error,
    bp,
    error_response,
    is_id,
    openapi_path,
    page_body,
    page_params,
    paged_schema,
)
from mediation.extensions import db
from mediation.pagination import paginate
from mediation.training import habilitation, policy
from mediation.training.models import TrainingKind, TrainingRecord
from mediation.training.services import SOON_DAYS
from mediation.types import local_today


def record_json(entry: TrainingRecord, today) -> dict:
    return {
        "id": entry.id,
        "personne_id": entry.user_id,
        "type": entry.kind.value,
        "libelle": entry.name,
        "organisme": entry.organisation,
        "obtenue_le": entry.obtained_on.isoformat(),
        "valable_jusqu_au": entry.expires_on.isoformat() if entry.expires_on else None,
        "etat": entry.status(today, SOON_DAYS),
        "attestation": entry.certificate_type,
    }


OPENAPI_SCHEMAS["Formation"] = {
    "type": "object",
    "required": ["id", "personne_id", "type", "libelle", "obtenue_le", "etat"],
    "properties": {
        "id": {"type": "integer"},
        "personne_id": {"type": "integer"},
        "type": {"type": "string", "enum": [k.value for k in TrainingKind]},
        "libelle": {"type": "string"},
        "organisme": {"type": "string", "nullable": True},
        "obtenue_le": {"type": "string", "format": "date"},
        "valable_jusqu_au": {"type": "string", "format": "date", "nullable": True},
        "etat": {"type": "string", "enum": ["valide", "expire bientôt", "expirée", "à venir"]},
        "attestation": {"type": "string", "nullable": True,
                        "description": "Type du fichier de l’attestation jointe (application/pdf, image/jpeg, image/png)"},
    },
}
OPENAPI_SCHEMAS["FormationPage"] = paged_schema("#/components/schemas/Formation")


@bp.route("/formations")
@api_access("trainings:read")
def trainings():
    page, per_page = page_params()
    query = policy.visible_records(g.api_user)
    person = (request.args.get("personne") or "").strip()
    if person:
        if not is_id(person):
            raise InvalidParameter("Le paramètre « personne » doit être un identifiant numérique.", field="personne")
        query = query.where(TrainingRecord.user_id == int(person))
    kind = (request.args.get("type") or "").strip()
    if kind:
        if kind not in {k.value for k in TrainingKind}:
            raise InvalidParameter("Type de formation inconnu.", field="type")
        query = query.where(TrainingRecord.kind == kind)
    result = paginate(db.session, query.order_by(TrainingRecord.id), page, per_page, exact=True)
    today = local_today()
    return page_body(result, [record_json(e, today) for e in result.items])


openapi_path("/formations", "get", {
    "summary": "Formations et certifications des personnels de votre périmètre",
    "description": "Médiateur·rices : les leurs ; coordination : celles des personnels de son territoire. "
                   "Filtrables par personne et par type.",
    "parameters": PAGE_PARAMETERS + [
        {"name": "personne", "in": "query", "schema": {"type": "integer"}},
        {"name": "type", "in": "query", "schema": {"type": "string", "enum": [k.value for k in TrainingKind]}},
    ],
    "responses": {"200": {"description": "Une page de formations", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/FormationPage"}}}}, **ERROR_RESPONSES},
})


@bp.route("/personnes/<int:person_id>/habilitation")
@api_access("trainings:read")
def person_habilitation(person_id: int):
    person = policy.get_person(db.session, g.api_user, person_id)
    if person is None:
        return api_error(404, "Aucune personne de votre périmètre ne porte ce numéro.")
    today = local_today()
    current = habilitation.current_habilitation(person, today)
    problem = habilitation.habilitation_problem(person, today)
    return {
        "personne_id": person.id,
        "aidant_designe": person.is_aidant,
        "habilite": person.is_aidant and current is not None,
        "valable_jusqu_au": current.expires_on.isoformat() if current and current.expires_on else None,
        "motif": None if (person.is_aidant and current is not None) else (
            problem if person.is_aidant else "Cette personne n’est pas désignée aidant·e."),
    }


openapi_path("/personnes/{person_id}/habilitation", "get", {
    "summary": "Habilitation d’aidant d’une personne, déduite de ses formations",
    "parameters": [{"name": "person_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {
        "200": {"description": "L’habilitation", "content": {"application/json": {"schema": {
            "type": "object", "required": ["personne_id", "aidant_designe", "habilite"],
            "properties": {"personne_id": {"type": "integer"}, "aidant_designe": {"type": "boolean"},
                           "habilite": {"type": "boolean"},
                           "valable_jusqu_au": {"type": "string", "format": "date", "nullable": True},
                           "motif": {"type": "string", "nullable": True}}}}}},
        "404": error_response("Personne inconnue ou hors de votre périmètre"),
        **ERROR_RESPONSES,
    },
})
