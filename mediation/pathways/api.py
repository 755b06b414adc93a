"""API of pathways: enrolments, milestone validations and referrals, within the token owner's
scope (pathways/policy.py).

- ``GET /inscriptions``, ``GET /inscriptions/{id}`` (pathways:read): staff; the enrolments of the
  cases they may see, with their progress (levels, steps, next recommended step).
- ``POST /inscriptions`` (pathways:write): mediators enrol a case they may act on.
- ``GET /inscriptions/{id}/validations`` (pathways:read), ``POST`` (pathways:write, mediators):
  prerequisites are enforced here as on the web (422/400 with a French message).
- ``GET /orientations`` (``sens`` recues|envoyees, ``statut``), ``GET /orientations/{id}``
  (pathways:read); ``POST /orientations`` and ``POST /orientations/{id}/reponse`` (pathways:write,
  mediators of the sending or receiving structure).

No names nor free text leave the API here: ids, codes, dates and states only. An id outside the
scope is a 404; a token without the permission a 403.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, request
from sqlalchemy.orm import joinedload

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
from mediation.auth.models import Role
from mediation.errors import Forbidden, ValidationFailed
from mediation.extensions import db
from mediation.pagination import paginate
from mediation.pathways import policy, referrals, services
from mediation.pathways.enums import EnrolmentState, ReferralStatus
from mediation.pathways.models import Enrolment, MilestoneValidation, Referral

STAFF = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)


def _iso(value):
    return value.isoformat() if value is not None else None


class Body:
    """A JSON object read field by field; every problem is reported at once (422)."""

    def __init__(self, allowed: set[str]):
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationFailed("Le corps de la requête doit être un objet JSON.", field="corps")
        self.data = data
        self.errors = {key: "Champ inconnu" for key in data if key not in allowed}

    def integer(self, key: str, *, required: bool = False):
        value = self.data.get(key)
        if value is None:
            if required:
                self.errors.setdefault(key, "Champ obligatoire")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors.setdefault(key, "Nombre entier attendu")
            return None
        return value

    def text(self, key: str):
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            self.errors.setdefault(key, "Texte attendu")
            return None
        return value

    def raise_if_any(self):
        if self.errors:
            raise ValidationFailed(next(iter(self.errors.values())), errors=dict(self.errors))


def _mapped(error: ValidationFailed, mapping: dict[str, str]) -> ValidationFailed:
    errors = {mapping.get(k, k): v for k, v in (error.errors or {}).items()}
    if error.field and not errors:
        errors[mapping.get(error.field, error.field)] = error.message
    return ValidationFailed(error.message, errors=errors)


# --- enrolments ---------------------------------------------------------------------------------

def validation_json(v: MilestoneValidation) -> dict:
    return {"id": v.id, "etape_id": v.milestone_id, "valide_le": _iso(v.validated_at),
            "valide_par_id": v.validated_by_id, "structure_id": v.structure_id, "activite_id": v.activity_id,
            "score_pix": v.pix_score, "automatique": v.automatic}


def enrolment_json(enrolment: Enrolment, progress: services.Progress | None = None) -> dict:
    body = {"id": enrolment.id, "dossier_id": enrolment.case_id, "parcours_id": enrolment.template_id,
            "version": enrolment.version.number, "structure_id": enrolment.structure_id,
            "inscrit_le": _iso(enrolment.enrolled_at), "etat": enrolment.state.value,
            "termine_le": _iso(enrolment.completed_at)}
    if progress is not None:
        nxt = progress.next_step
        body["progression"] = {
            "etapes_validees": progress.done_steps, "etapes": progress.total_steps,
            "niveaux_atteints": progress.levels_done, "niveaux": len(progress.levels),
            "termine": progress.completed,
            "prochaine_etape_id": nxt.milestone.id if nxt and enrolment.state == EnrolmentState.EN_COURS else None,
            "niveaux_detail": [{
                "niveau": level.level.position, "titre": level.level.title, "atteint": level.done,
                "etapes": [{"id": s.milestone.id, "titre": s.milestone.title, "validee": s.done,
                            "prerequis_manquants": [m.id for m in s.missing],
                            "alignements": [{"referentiel": a.framework, "code": a.code, "niveau": a.level}
                                            for a in s.milestone.alignments]} for s in level.steps],
            } for level in progress.levels],
        }
    return body


def _enrolment(enrolment_id: int) -> Enrolment | None:
    return policy.get_enrolment(db.session, g.api_user, enrolment_id, joinedload(Enrolment.version),
                                joinedload(Enrolment.case))


@bp.route("/inscriptions")
@api_access("pathways:read", *STAFF)
def enrolment_list():
    page, per_page = page_params()
    query = policy.visible_enrolments(g.api_user).options(joinedload(Enrolment.version))
    case_id = request.args.get("dossier")
    if case_id:
        if not is_id(case_id):
            raise InvalidParameter("Le paramètre « dossier » est un identifiant numérique.", field="dossier")
        query = query.where(Enrolment.case_id == int(case_id))
    state = request.args.get("etat")
    if state:
        if state not in {s.value for s in EnrolmentState}:
            raise InvalidParameter("Le paramètre « etat » vaut en_cours, termine ou abandonne.", field="etat")
        query = query.where(Enrolment.state == state)
    result = paginate(db.session, query.order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc()), page, per_page, exact=True)
    return page_body(result, [enrolment_json(e) for e in result.items])


@bp.route("/inscriptions/<int:enrolment_id>")
@api_access("pathways:read", *STAFF)
def enrolment_detail(enrolment_id: int):
    enrolment = _enrolment(enrolment_id)
    if enrolment is None:
        return api_error(404, "Aucune inscription accessible ne porte ce numéro.")
    return enrolment_json(enrolment, services.compute_progress(db.session, enrolment))


@bp.route("/inscriptions", methods=["POST"])
@api_access("pathways:write", Role.MEDIATOR)
def enrolment_create():
    body = Body({"dossier_id", "parcours_id", "structure_id"})
    case_id = body.integer("dossier_id", required=True)
    template_id = body.integer("parcours_id", required=True)
    structure_id = body.integer("structure_id")
    body.raise_if_any()
    case = policy.get_case(db.session, g.api_user, case_id)
    if case is None:
        return api_error(404, "Aucun dossier accessible ne porte ce numéro.")
    template = policy.get_template(db.session, g.api_user, template_id)
    if template is None:
        return api_error(404, "Aucun parcours accessible ne porte ce numéro.")
    try:
        enrolment = services.enrol(db.session, g.api_user, case, template, structure_id=structure_id)
    except ValidationFailed as error:
        raise _mapped(error, {"template_id": "parcours_id"}) from None
    return enrolment_json(enrolment, services.compute_progress(db.session, enrolment)), 201


@bp.route("/inscriptions/<int:enrolment_id>/validations")
@api_access("pathways:read", *STAFF)
def validation_list(enrolment_id: int):
    enrolment = _enrolment(enrolment_id)
    if enrolment is None:
        return api_error(404, "Aucune inscription accessible ne porte ce numéro.")
    validations = db.session.scalars(sa.select(MilestoneValidation).where(MilestoneValidation.enrolment_id == enrolment.id)
                                     .order_by(MilestoneValidation.validated_at, MilestoneValidation.id)).all()
    return {"items": [validation_json(v) for v in validations]}


VALIDATION_ERRORS = {"milestone_id": "etape_id", "structure_id": "structure_id", "activity_id": "activite_id",
                     "narrative": "recit", "pix_score": "score_pix"}


@bp.route("/inscriptions/<int:enrolment_id>/validations", methods=["POST"])
@api_access("pathways:write", Role.MEDIATOR)
def validation_create(enrolment_id: int):
    enrolment = _enrolment(enrolment_id)
    if enrolment is None:
        return api_error(404, "Aucune inscription accessible ne porte ce numéro.")
    body = Body({"etape_id", "structure_id", "activite_id", "recit", "score_pix"})
    data = services.ValidationInput(milestone_id=body.integer("etape_id", required=True),
                                    structure_id=body.integer("structure_id"), activity_id=body.integer("activite_id"),
                                    narrative=body.text("recit"), pix_score=body.integer("score_pix"))
    body.raise_if_any()
    try:
        validation = services.validate_milestone(db.session, g.api_user, enrolment, data)
    except ValidationFailed as error:
        raise _mapped(error, VALIDATION_ERRORS) from None
    return validation_json(validation), 201


# --- referrals ----------------------------------------------------------------------------------

def referral_json(r: Referral) -> dict:
    return {"id": r.id, "dossier_id": r.case_id, "depuis_structure_id": r.from_structure_id,
            "vers_structure_id": r.to_structure_id, "etape_id": r.milestone_id, "service": r.service,
            "distance_km": r.distance_km, "etat": r.status.value, "cree_le": _iso(r.created_at),
            "echeance": _iso(r.due_on), "repondu_le": _iso(r.responded_at),
            "motif_refus": r.decline_reason.value if r.decline_reason else None, "termine_le": _iso(r.closed_at),
            "activite_honoree_id": r.honoured_activity_id, "issue_automatique": r.automatic_outcome}


@bp.route("/orientations")
@api_access("pathways:read", *STAFF)
def referral_list():
    page, per_page = page_params()
    direction = request.args.get("sens", "recues")
    if direction not in referrals.DIRECTIONS:
        raise InvalidParameter("Le paramètre « sens » vaut recues ou envoyees.", field="sens")
    status = request.args.get("statut")
    if status and status not in {s.value for s in ReferralStatus}:
        raise InvalidParameter("Le paramètre « statut » est inconnu.", field="statut")
    result = paginate(db.session, referrals.listing(g.api_user, direction=direction, status=status), page, per_page, exact=True)
    return page_body(result, [referral_json(r) for r in result.items])


@bp.route("/orientations/<int:referral_id>")
@api_access("pathways:read", *STAFF)
def referral_detail(referral_id: int):
    referral = policy.get_referral(db.session, g.api_user, referral_id)
    if referral is None:
        return api_error(404, "Aucune orientation accessible ne porte ce numéro.")
    return referral_json(referral)


REFERRAL_ERRORS = {"to_structure_id": "vers_structure_id", "from_structure_id": "depuis_structure_id",
                   "milestone_id": "etape_id", "motive": "message", "service": "service"}


@bp.route("/orientations", methods=["POST"])
@api_access("pathways:write", Role.MEDIATOR)
def referral_create():
    body = Body({"dossier_id", "vers_structure_id", "depuis_structure_id", "service", "etape_id", "message"})
    case_id = body.integer("dossier_id", required=True)
    data = referrals.ReferralInput(to_structure_id=body.integer("vers_structure_id", required=True),
                                   from_structure_id=body.integer("depuis_structure_id"), service=body.text("service"),
                                   milestone_id=body.integer("etape_id"), motive=body.text("message"))
    body.raise_if_any()
    case = policy.get_case(db.session, g.api_user, case_id)
    if case is None:
        return api_error(404, "Aucun dossier accessible ne porte ce numéro.")
    try:
        referral = referrals.create_referral(db.session, g.api_user, case, data)
    except ValidationFailed as error:
        raise _mapped(error, REFERRAL_ERRORS) from None
    return referral_json(referral), 201


ANSWERS = ("accepter", "refuser", "annuler", "honoree", "non_honoree")


@bp.route("/orientations/<int:referral_id>/reponse", methods=["POST"])
@api_access("pathways:write", Role.MEDIATOR)
def referral_answer(referral_id: int):
    referral = policy.get_referral(db.session, g.api_user, referral_id)
    if referral is None:
        return api_error(404, "Aucune orientation accessible ne porte ce numéro.")
    body = Body({"action", "motif_refus", "commentaire"})
    action, reason, comment = body.text("action"), body.text("motif_refus"), body.text("commentaire")
    if action not in ANSWERS:
        body.errors.setdefault("action", "Action attendue : " + ", ".join(ANSWERS))
    body.raise_if_any()
    user = g.api_user
    try:
        if action == "accepter":
            referrals.accept(db.session, user, referral)
        elif action == "refuser":
            referrals.decline(db.session, user, referral, reason, comment)
        elif action == "annuler":
            referrals.cancel(db.session, user, referral)
        else:
            referrals.record_outcome(db.session, user, referral, honoured=action == "honoree")
    except ValidationFailed as error:
        raise _mapped(error, {"decline_reason": "motif_refus", "decline_comment": "commentaire"}) from None
    except Forbidden as error:
        return api_error(403, error.message)
    return referral_json(referral)


# --- OpenAPI ------------------------------------------------------------------------------------

ID = {"in": "path", "required": True, "schema": {"type": "integer"}}
NOT_FOUND = error_response("Introuvable dans votre périmètre")
INVALID = error_response("Données invalides (le détail par champ est dans error.errors)")
REFUSED = error_response("Règle non respectée (prérequis manquant, consentement absent…)")
CONFLICT = error_response("Déjà fait (inscription en cours, étape déjà validée, orientation en cours) ou "
                          "dossier modifié entre-temps")


def _json(description: str, ref: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _body(ref: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": ref}}}}


NULLABLE_INT = {"type": "integer", "nullable": True}
NULLABLE_DATE = {"type": "string", "format": "date-time", "nullable": True}
OPENAPI_SCHEMAS.update({
    "Enrolment": {
        "type": "object", "required": ["id", "dossier_id", "parcours_id", "version", "etat"],
        "properties": {
            "id": {"type": "integer"}, "dossier_id": {"type": "integer"}, "parcours_id": {"type": "integer"},
            "version": {"type": "integer"}, "structure_id": {"type": "integer"},
            "inscrit_le": {"type": "string", "format": "date-time"},
            "etat": {"type": "string", "enum": [s.value for s in EnrolmentState]}, "termine_le": NULLABLE_DATE,
            "progression": {"type": "object", "description": "Seulement dans le détail d'une inscription",
                            "properties": {
                                "etapes_validees": {"type": "integer"}, "etapes": {"type": "integer"},
                                "niveaux_atteints": {"type": "integer"}, "niveaux": {"type": "integer"},
                                "termine": {"type": "boolean"}, "prochaine_etape_id": NULLABLE_INT,
                                "niveaux_detail": {"type": "array", "items": {"type": "object"}}}},
        },
    },
    "EnrolmentPage": paged_schema("#/components/schemas/Enrolment"),
    "EnrolmentInput": {
        "type": "object", "required": ["dossier_id", "parcours_id"], "additionalProperties": False,
        "properties": {"dossier_id": {"type": "integer"}, "parcours_id": {"type": "integer"},
                       "structure_id": {"type": "integer", "description": "Structure pour laquelle vous "
                                        "intervenez (facultatif si vous n'en avez qu'une)"}},
    },
    "MilestoneValidation": {
        "type": "object", "required": ["id", "etape_id", "valide_le", "automatique"],
        "properties": {"id": {"type": "integer"}, "etape_id": {"type": "integer"},
                       "valide_le": {"type": "string", "format": "date-time"}, "valide_par_id": NULLABLE_INT,
                       "structure_id": NULLABLE_INT, "activite_id": NULLABLE_INT, "score_pix": NULLABLE_INT,
                       "automatique": {"type": "boolean",
                                       "description": "Niveau ou parcours atteint, calculé"}},
    },
    "MilestoneValidationList": {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/MilestoneValidation"}}}},
    "MilestoneValidationInput": {
        "type": "object", "required": ["etape_id"], "additionalProperties": False,
        "properties": {"etape_id": {"type": "integer"}, "structure_id": {"type": "integer"},
                       "activite_id": {"type": "integer", "description": "Une activité de la personne"},
                       "recit": {"type": "string", "description": "Obligatoire sans activite_id"},
                       "score_pix": {"type": "integer", "minimum": 0, "maximum": 1024}},
    },
    "Referral": {
        "type": "object", "required": ["id", "dossier_id", "depuis_structure_id", "vers_structure_id", "etat"],
        "properties": {
            "id": {"type": "integer"}, "dossier_id": {"type": "integer"}, "depuis_structure_id": {"type": "integer"},
            "vers_structure_id": {"type": "integer"}, "etape_id": NULLABLE_INT,
            "service": {"type": "string", "nullable": True}, "distance_km": {"type": "number", "nullable": True},
            "etat": {"type": "string", "enum": [s.value for s in ReferralStatus]},
            "cree_le": {"type": "string", "format": "date-time"}, "echeance": {"type": "string", "format": "date"},
            "repondu_le": NULLABLE_DATE, "motif_refus": {"type": "string", "nullable": True},
            "termine_le": NULLABLE_DATE, "activite_honoree_id": NULLABLE_INT, "issue_automatique": {"type": "boolean"},
        },
    },
    "ReferralPage": paged_schema("#/components/schemas/Referral"),
    "ReferralInput": {
        "type": "object", "required": ["dossier_id", "vers_structure_id"], "additionalProperties": False,
        "properties": {"dossier_id": {"type": "integer"}, "vers_structure_id": {"type": "integer"},
                       "depuis_structure_id": {"type": "integer"},
                       "service": {"type": "string", "description": "Service du schéma national"},
                       "etape_id": {"type": "integer"}, "message": {"type": "string"}},
    },
    "ReferralAnswer": {
        "type": "object", "required": ["action"], "additionalProperties": False,
        "properties": {"action": {"type": "string", "enum": list(ANSWERS)},
                       "motif_refus": {"type": "string", "description": "Pour refuser"},
                       "commentaire": {"type": "string"}},
    },
})

openapi_path("/inscriptions", "get", {
    "summary": "Inscriptions à un parcours des dossiers de votre périmètre",
    "description": "Dossiers suivis par vos structures ou partagés avec elles (consentement réseau). "
                   "Permission pathways:read.",
    "parameters": PAGE_PARAMETERS + [
        {"name": "dossier", "in": "query", "schema": {"type": "integer"}},
        {"name": "etat", "in": "query", "schema": {"type": "string", "enum": [s.value for s in EnrolmentState]}}],
    "responses": {"200": _json("Une page d'inscriptions", "#/components/schemas/EnrolmentPage"), **ERROR_RESPONSES},
})
openapi_path("/inscriptions", "post", {
    "summary": "Inscrire un dossier à un parcours (dernière version)",
    "description": "Médiateur·rices. Permission pathways:write.",
    "requestBody": _body("#/components/schemas/EnrolmentInput"),
    "responses": {"201": _json("L'inscription", "#/components/schemas/Enrolment"), "404": NOT_FOUND,
                  "409": CONFLICT, "422": INVALID, **ERROR_RESPONSES},
})
openapi_path("/inscriptions/{enrolment_id}", "get", {
    "summary": "Une inscription et sa progression (niveaux, étapes, prochaine étape conseillée)",
    "parameters": [{"name": "enrolment_id", **ID}],
    "responses": {"200": _json("L'inscription", "#/components/schemas/Enrolment"), "404": NOT_FOUND,
                  **ERROR_RESPONSES},
})
openapi_path("/inscriptions/{enrolment_id}/validations", "get", {
    "summary": "Étapes validées d'une inscription",
    "parameters": [{"name": "enrolment_id", **ID}],
    "responses": {"200": _json("Les validations", "#/components/schemas/MilestoneValidationList"),
                  "404": NOT_FOUND, **ERROR_RESPONSES},
})
openapi_path("/inscriptions/{enrolment_id}/validations", "post", {
    "summary": "Valider une étape, avec sa preuve",
    "description": "Médiateur·rices d'une structure qui suit le dossier ou avec qui il est partagé. Les prérequis "
                   "sont vérifiés ; le niveau et le parcours sont atteints automatiquement. Permission "
                   "pathways:write.",
    "parameters": [{"name": "enrolment_id", **ID}],
    "requestBody": _body("#/components/schemas/MilestoneValidationInput"),
    "responses": {"201": _json("La validation", "#/components/schemas/MilestoneValidation"),
                  "404": NOT_FOUND, "409": CONFLICT, "422": INVALID, **ERROR_RESPONSES},
})
openapi_path("/orientations", "get", {
    "summary": "Orientations reçues ou envoyées par vos structures",
    "description": "Permission pathways:read.",
    "parameters": PAGE_PARAMETERS + [
        {"name": "sens", "in": "query", "schema": {"type": "string", "enum": list(referrals.DIRECTIONS),
                                                    "default": "recues"}},
        {"name": "statut", "in": "query", "schema": {"type": "string", "enum": [s.value for s in ReferralStatus]}}],
    "responses": {"200": _json("Une page d'orientations", "#/components/schemas/ReferralPage"), **ERROR_RESPONSES},
})
openapi_path("/orientations", "post", {
    "summary": "Orienter une personne vers une autre structure",
    "description": "Exige le consentement réseau de la personne. Permission pathways:write.",
    "requestBody": _body("#/components/schemas/ReferralInput"),
    "responses": {"201": _json("L'orientation", "#/components/schemas/Referral"), "404": NOT_FOUND,
                  "409": CONFLICT, "422": INVALID, **ERROR_RESPONSES},
})
openapi_path("/orientations/{referral_id}", "get", {
    "summary": "Une orientation",
    "parameters": [{"name": "referral_id", **ID}],
    "responses": {"200": _json("L'orientation", "#/components/schemas/Referral"), "404": NOT_FOUND,
                  **ERROR_RESPONSES},
})
openapi_path("/orientations/{referral_id}/reponse", "post", {
    "summary": "Répondre à une orientation ou en indiquer l'issue",
    "description": "accepter / refuser (avec motif_refus) / honoree / non_honoree : structure d'accueil ; "
                   "annuler : structure qui a orienté. Accepter confie le dossier à la structure d'accueil. "
                   "Permission pathways:write.",
    "parameters": [{"name": "referral_id", **ID}],
    "requestBody": _body("#/components/schemas/ReferralAnswer"),
    "responses": {"200": _json("L'orientation", "#/components/schemas/Referral"), "400": REFUSED,
                  "404": NOT_FOUND, "409": CONFLICT, "422": INVALID, **ERROR_RESPONSES},
})
