"""JSON API of coordinators' activities (``/api/v1/activites-coordination``): list, one, create.
Coordinators log their own (permission activities:write); coordinators and administrators read."""

from __future__ import annotations

from datetime import date

from flask import g, request

from mediation.api import (
    ERROR_RESPONSES,
    OPENAPI_SCHEMAS,
    PAGE_PARAMETERS,
    api_access,
    bp,
    error_response,
    openapi_path,
    page_body,
    page_params,
    paged_schema,
)
from mediation.auth.models import Role
from mediation.coordination import services
from mediation.coordination.enums import (
    AnimationTheme,
    AnimationType,
    CoordinationType,
    EventType,
    Initiative,
    Organiser,
    PartnershipNature,
    PartnerType,
    TerritorialLevel,
)
from mediation.coordination.models import CoordinationActivity
from mediation.coordination.services import CoordinationInput, Partner
from mediation.errors import ValidationFailed
from mediation.extensions import db
from mediation.pagination import paginate

FIELDS = {
    "type", "date", "duree", "nom", "notes", "echelon_territorial", "tags_ids", "mediateurs", "structures",
    "autres_acteurs", "type_animation", "type_animation_autre", "initiative", "thematiques_animation",
    "thematique_animation_autre", "participants", "type_evenement", "type_evenement_autre", "organisateurs",
    "organisateur_autre", "nature_partenariat", "nature_partenariat_autre", "structures_partenaires",
}
ERRORS = {
    "duration_min": "duree", "name": "nom", "territorial_level": "echelon_territorial", "tag_ids": "tags_ids",
    "mediators_count": "mediateurs", "structures_count": "structures", "other_actors_count": "autres_acteurs",
    "animation_type": "type_animation", "animation_type_other": "type_animation_autre",
    "animation_themes": "thematiques_animation", "animation_theme_other": "thematique_animation_autre",
    "event_type": "type_evenement", "event_type_other": "type_evenement_autre", "organisers": "organisateurs",
    "organiser_other": "organisateur_autre", "partnership_natures": "nature_partenariat",
    "partnership_nature_other": "nature_partenariat_autre", "partners": "structures_partenaires",
}


def _value(enum_value):
    return enum_value.value if enum_value is not None else None


def activity_json(a: CoordinationActivity) -> dict:
    return {
        "id": a.id, "type": a.type.value, "date": a.date.isoformat(), "duree": a.duration_min, "nom": a.name,
        "notes": a.notes, "echelon_territorial": _value(a.territorial_level),
        "tags": [{"id": t.id, "nom": t.name} for t in a.tags],
        "mediateurs": a.mediators_count, "structures": a.structures_count, "autres_acteurs": a.other_actors_count,
        "type_animation": _value(a.animation_type), "type_animation_autre": a.animation_type_other,
        "initiative": _value(a.initiative), "thematiques_animation": list(a.animation_themes or []),
        "thematique_animation_autre": a.animation_theme_other, "participants": a.participants,
        "type_evenement": _value(a.event_type), "type_evenement_autre": a.event_type_other,
        "organisateurs": list(a.organisers or []), "organisateur_autre": a.organiser_other,
        "nature_partenariat": list(a.partnership_natures or []),
        "nature_partenariat_autre": a.partnership_nature_other,
        "structures_partenaires": list(a.partners or []),
    }


def _input(body: dict) -> CoordinationInput:
    errors = {}
    unknown = sorted(set(body) - FIELDS)
    for name in unknown:
        errors[name] = "Champ inconnu"

    def integer(name):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            errors[name] = "Nombre entier attendu"
            return None
        return value

    def strings(name):
        value = body.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors[name] = "Liste de textes attendue"
            return []
        return value

    def text(name):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = "Texte attendu"
            return None
        return value

    day = None
    if body.get("date") is not None:
        try:
            day = date.fromisoformat(str(body["date"]))
        except ValueError:
            errors["date"] = "Date invalide (attendu AAAA-MM-JJ)"
    tag_ids = body.get("tags_ids") or []
    if not isinstance(tag_ids, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in tag_ids):
        errors["tags_ids"] = "Liste de nombres entiers attendue"
        tag_ids = []
    partners = []
    raw_partners = body.get("structures_partenaires") or []
    if not isinstance(raw_partners, list) or not all(isinstance(p, dict) for p in raw_partners):
        errors["structures_partenaires"] = "Liste d’objets { nom, type, type_autre } attendue"
    else:
        partners = [Partner(name=p.get("nom"), type=p.get("type"), type_other=p.get("type_autre"))
                    for p in raw_partners]
    data = CoordinationInput(
        type=text("type"), date=day, duration_min=integer("duree"), name=text("nom"), notes=text("notes"),
        territorial_level=text("echelon_territorial"), tag_ids=tag_ids, mediators_count=integer("mediateurs"),
        structures_count=integer("structures"), other_actors_count=integer("autres_acteurs"),
        animation_type=text("type_animation"), animation_type_other=text("type_animation_autre"),
        initiative=text("initiative"), animation_themes=strings("thematiques_animation"),
        animation_theme_other=text("thematique_animation_autre"), participants=integer("participants"),
        event_type=text("type_evenement"), event_type_other=text("type_evenement_autre"),
        organisers=strings("organisateurs"), organiser_other=text("organisateur_autre"),
        partnership_natures=strings("nature_partenariat"),
        partnership_nature_other=text("nature_partenariat_autre"), partners=partners,
    )
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    return data


@bp.route("/activites-coordination")
@api_access("activities:read", Role.ADMIN, Role.COORDINATOR)
def coordination_list():
    page, per_page = page_params()
    result = paginate(db.session, services.list_query(g.api_user), page, per_page, exact=True)
    return page_body(result, [activity_json(a) for a in result.items])


@bp.route("/activites-coordination", methods=["POST"])
@api_access("activities:write", Role.COORDINATOR)
def coordination_create():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("Corps JSON attendu (un objet)", errors={"": "Corps JSON attendu (un objet)"})
    try:
        activity = services.log_activity(db.session, g.api_user, _input(body))
    except ValidationFailed as error:
        errors = {ERRORS.get(k, k): v for k, v in (error.errors or {}).items()}
        raise ValidationFailed(error.message, errors=errors) from None
    return activity_json(activity), 201


def _enum(enum_cls) -> dict:
    return {"type": "string", "nullable": True, "enum": [m.value for m in enum_cls]}


def _enum_list(enum_cls) -> dict:
    return {"type": "array", "items": {"type": "string", "enum": [m.value for m in enum_cls]}}


_PROPERTIES = {
    "type": {"type": "string", "enum": [m.value for m in CoordinationType]},
    "date": {"type": "string", "format": "date"},
    "duree": {"type": "integer", "nullable": True, "description": "Durée en minutes"},
    "nom": {"type": "string", "nullable": True}, "notes": {"type": "string", "nullable": True},
    "echelon_territorial": _enum(TerritorialLevel),
    "mediateurs": {"type": "integer", "nullable": True}, "structures": {"type": "integer", "nullable": True},
    "autres_acteurs": {"type": "integer", "nullable": True}, "type_animation": _enum(AnimationType),
    "type_animation_autre": {"type": "string", "nullable": True}, "initiative": _enum(Initiative),
    "thematiques_animation": _enum_list(AnimationTheme),
    "thematique_animation_autre": {"type": "string", "nullable": True},
    "participants": {"type": "integer", "nullable": True}, "type_evenement": _enum(EventType),
    "type_evenement_autre": {"type": "string", "nullable": True}, "organisateurs": _enum_list(Organiser),
    "organisateur_autre": {"type": "string", "nullable": True},
    "nature_partenariat": _enum_list(PartnershipNature),
    "nature_partenariat_autre": {"type": "string", "nullable": True},
    "structures_partenaires": {"type": "array", "items": {"type": "object", "properties": {
        "nom": {"type": "string"}, "type": {"type": "string", "enum": [m.value for m in PartnerType]},
        "type_autre": {"type": "string", "nullable": True}}}},
}
OPENAPI_SCHEMAS["CoordinationActivity"] = {
    "type": "object", "required": ["id", "type", "date"],
    "properties": {"id": {"type": "integer"}, **_PROPERTIES,
                   "tags": {"type": "array", "items": {"type": "object", "properties": {
                       "id": {"type": "integer"}, "nom": {"type": "string"}}}}},
}
OPENAPI_SCHEMAS["CoordinationActivityInput"] = {
    "type": "object", "additionalProperties": False, "required": ["type", "date"],
    "description": "Animation : type d’animation, au moins une thématique d’animation, au moins un médiateur, une "
                   "structure ou un autre acteur ; évènement : participants, type d’évènement, au moins un "
                   "organisateur ; partenariat : au moins une nature et une structure partenaire.",
    "properties": {**_PROPERTIES, "tags_ids": {"type": "array", "items": {"type": "integer"}}},
}
OPENAPI_SCHEMAS["CoordinationActivityPage"] = paged_schema("#/components/schemas/CoordinationActivity")
openapi_path("/activites-coordination", "get", {
    "summary": "Activités de coordination (animations, évènements, partenariats)",
    "description": "Coordination : les siennes ; administration : toutes. Permission activities:read. "
                   "Comptées à part des accompagnements.",
    "parameters": PAGE_PARAMETERS,
    "responses": {"200": {"description": "Une page d’activités", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/CoordinationActivityPage"}}}}, **ERROR_RESPONSES},
})
openapi_path("/activites-coordination", "post", {
    "summary": "Enregistrer une activité de coordination",
    "description": "Coordinateur·rices seulement. Permission activities:write.",
    "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/CoordinationActivityInput"}}}},
    "responses": {"201": {"description": "L’activité créée", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/CoordinationActivity"}}}},
                  "422": error_response("Données invalides : « errors » donne un message par champ"),
                  **ERROR_RESPONSES},
})
