"""API of activity records and beneficiaries, within the token owner's scope (cases/policy.py).

- ``GET /activites``, ``GET /activites/{id}`` (activities:read): staff; notes for mediators only.
- ``POST /activites``, ``PATCH /activites/{id}`` (activities:write): mediators; an activity is
  changed only by the mediator who logged it. Same rules and messages as the web forms
  (mediation/cases/activities.py).
- ``GET /beneficiaires``, ``GET /beneficiaires/{id}`` (beneficiaries:read): identified
  beneficiaries; identity, contact details and notes for mediators only.
- ``POST /beneficiaires``, ``PATCH /beneficiaires/{id}`` (beneficiaries:write): mediators.

An id outside the scope is a 404; a token without the scope a 403; invalid data a 422 whose
``errors`` name each field of the JSON body with a French message.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from flask import g, request
from sqlalchemy.orm import joinedload, selectinload

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
from mediation.auth.models import Role, User
from mediation.cases import activities, policy, services
from mediation.cases.activities import ActivityInput, AnonymousCounters, AnonymousInput
from mediation.cases.enums import (
    ActivityType,
    Autonomie,
    DemarcheThematique,
    EquipmentKind,
    Genre,
    Materiel,
    NiveauAtelier,
    PlaceType,
    StatutSocial,
    StructureRedirection,
    Thematique,
    TrancheAge,
)
from mediation.cases.models import Activity, Beneficiary, Participation
from mediation.cases.search import person_condition
from mediation.directory import communes
from mediation.errors import ValidationFailed
from mediation.extensions import db
from mediation.pagination import paginate


def _iso(value):
    return value.isoformat() if value is not None else None


def _value(member):
    """An enum's stored value (services may leave the plain string on a fresh object)."""
    return getattr(member, "value", member)


# --- reading JSON bodies ------------------------------------------------------------------------

class _Body:
    """Typed reading of a JSON object; collects every problem, raised at once as a 422."""

    def __init__(self, allowed: set[str], prefix: str = ""):
        data = request.get_json(silent=True) if not prefix else None
        self.errors: dict[str, str] = {}
        self.prefix = prefix
        self.data = data if isinstance(data, dict) else {}
        if not prefix and not isinstance(data, dict):
            raise ValidationFailed("Le corps de la requête doit être un objet JSON.", field="corps")
        for key in self.data:
            if key not in allowed:
                self.errors[prefix + key] = "Champ inconnu"

    @classmethod
    def nested(cls, parent: _Body, key: str, allowed: set[str]) -> _Body:
        child = cls.__new__(cls)
        child.errors = parent.errors
        child.prefix = f"{parent.prefix}{key}."
        value = parent.data.get(key)
        child.data = value if isinstance(value, dict) else {}
        if value is not None and not isinstance(value, dict):
            parent.errors[parent.prefix + key] = "Objet JSON attendu"
        for name in child.data:
            if name not in allowed:
                child.errors[child.prefix + name] = "Champ inconnu"
        return child

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def _fail(self, key: str, message: str):
        self.errors.setdefault(self.prefix + key, message)

    def text(self, key: str):
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            return self._fail(key, "Texte attendu")
        return value

    def integer(self, key: str):
        value = self.data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return self._fail(key, "Nombre entier attendu")
        return value

    def boolean(self, key: str):
        value = self.data.get(key)
        if value is not None and not isinstance(value, bool):
            return self._fail(key, "Booléen attendu (true ou false)")
        return value

    def day(self, key: str):
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        return self._fail(key, "Date invalide (attendu AAAA-MM-JJ)")

    def strings(self, key: str) -> list[str] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return self._fail(key, "Liste de codes attendue")
        return value

    def integers(self, key: str) -> list[int] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return self._fail(key, "Liste de nombres entiers attendue")
        return value

    def counts(self, key: str) -> dict[str, int] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                  for v in value.values()):
            return self._fail(key, "Objet {code: nombre} attendu")
        return value

    def commune_id(self, key: str):
        code = self.text(key)
        if not code:
            return None
        # A commune outside the network's territories is kept (stored from the official reference).
        commune = communes.resolve_codes(db.session, [code]).get(code.strip().upper())
        if commune is None:
            return self._fail(key, "Commune inconnue")
        return commune.id

    def raise_if_any(self):
        if self.errors:
            raise ValidationFailed(next(iter(self.errors.values())), errors=dict(self.errors))


def _raise_mapped(error: ValidationFailed, mapping: dict[str, str]):
    """Re-raise a service's ValidationFailed with the API's field names."""
    errors = {}
    for name, message in (error.errors or {}).items():
        errors.setdefault(mapping.get(name, name), message)
    if error.field and not errors:
        errors[mapping.get(error.field, error.field)] = error.message
    raise ValidationFailed(error.message, errors=errors) from None


# --- activities ---------------------------------------------------------------------------------

ACTIVITY_FIELDS = {
    "type", "structure_id", "date", "duree", "type_lieu", "lieu_structure_id", "lieu_commune_insee",
    "thematiques", "nom_demarche", "materiel", "autonomie", "oriente", "structure_redirection",
    "equipement_type", "equipement_nombre", "notes", "titre_atelier", "niveau_atelier", "beneficiaire_id",
    "beneficiaire_anonyme", "participants_ids", "anonymes", "tags_ids",
}
ANONYMOUS_FIELDS = {"commune_insee", "genre", "tranche_age", "statut", "deja_accompagne"}
COUNTER_FIELDS = {"total", "deja_accompagnes", "genres", "tranches_age", "statuts"}
ACTIVITY_ERRORS = {
    "structure_id": "structure_id", "date": "date", "duration_min": "duree", "place_type": "type_lieu",
    "place_structure_id": "lieu_structure_id", "place_commune_id": "lieu_commune_insee",
    "thematiques": "thematiques", "demarches": "thematiques", "demarche_name": "nom_demarche",
    "materiel": "materiel", "autonomie": "autonomie", "redirection": "structure_redirection",
    "equipment_kind": "equipement_type", "equipment_count": "equipement_nombre", "workshop_title": "titre_atelier",
    "workshop_level": "niveau_atelier", "beneficiary_id": "beneficiaire_id", "type": "type",
    "anon_genre": "beneficiaire_anonyme.genre", "anon_tranche_age": "beneficiaire_anonyme.tranche_age",
    "anon_statut_social": "beneficiaire_anonyme.statut",
    "anon_residence_commune_id": "beneficiaire_anonyme.commune_insee", "participant_ids": "participants_ids",
    "anon_total": "anonymes.total", "anon_already": "anonymes.deja_accompagnes", "anon_genres": "anonymes.genres",
    "anon_ages": "anonymes.tranches_age", "anon_statuts": "anonymes.statuts", "tag_ids": "tags_ids",
}


def _activity_input(body: _Body, data: ActivityInput) -> ActivityInput:
    """Overlay the body's fields on ``data`` (a new input, or the activity's current values)."""
    simple = {
        "structure_id": ("structure_id", body.integer), "date": ("date", body.day),
        "duree": ("duration_min", body.integer), "type_lieu": ("place_type", body.text),
        "lieu_structure_id": ("place_structure_id", body.integer),
        "lieu_commune_insee": ("place_commune_id", body.commune_id),
        "thematiques": ("thematiques", body.strings), "nom_demarche": ("demarche_name", body.text),
        "materiel": ("materiel", body.strings), "autonomie": ("autonomie", body.text),
        "oriente": ("oriented", body.boolean), "structure_redirection": ("redirection", body.text),
        "equipement_type": ("equipment_kind", body.text), "equipement_nombre": ("equipment_count", body.integer),
        "notes": ("notes", body.text), "titre_atelier": ("workshop_title", body.text),
        "niveau_atelier": ("workshop_level", body.text), "beneficiaire_id": ("beneficiary_id", body.integer),
        "participants_ids": ("participant_ids", body.integers), "tags_ids": ("tag_ids", body.integers),
    }
    changes = {}
    for key, (attribute, read) in simple.items():
        if key in body:
            value = read(key)
            if attribute in ("thematiques", "materiel", "participant_ids", "tag_ids") and value is None:
                value = []
            changes[attribute] = value
    if "beneficiaire_anonyme" in body:
        anon = _Body.nested(body, "beneficiaire_anonyme", ANONYMOUS_FIELDS)
        changes["anonymous"] = AnonymousInput(
            residence_commune_id=anon.commune_id("commune_insee"), genre=anon.text("genre"),
            tranche_age=anon.text("tranche_age"), statut_social=anon.text("statut"),
            already_accompanied=bool(anon.boolean("deja_accompagne")))
        changes.setdefault("beneficiary_id", None)
    if "anonymes" in body:
        counters = _Body.nested(body, "anonymes", COUNTER_FIELDS)
        changes["counters"] = AnonymousCounters(
            total=counters.integer("total") or 0, already_accompanied=counters.integer("deja_accompagnes") or 0,
            genres=counters.counts("genres") or {}, ages=counters.counts("tranches_age") or {},
            statuts=counters.counts("statuts") or {})
    body.raise_if_any()
    return replace(data, **changes)


def activity_json(user: User, a: Activity) -> dict:
    body = {
        "id": a.id, "type": a.type.value, "date": a.date.isoformat(), "duree": a.duration_min,
        "structure_id": a.structure_id, "mediateur_id": a.mediator_id, "type_lieu": a.place_type.value,
        "lieu_structure_id": a.place_structure_id,
        "lieu_commune_insee": a.place_commune.insee_code if a.place_commune else None,
        "thematiques": sorted(a.thematiques), "nom_demarche": a.demarche_name, "materiel": list(a.materiel or []),
        "autonomie": _value(a.autonomie), "oriente": a.oriented, "structure_redirection": _value(a.redirection),
        "equipement_type": _value(a.equipment_kind), "equipement_nombre": a.equipment_count,
        "titre_atelier": a.workshop_title, "niveau_atelier": _value(a.workshop_level),
        "participants": a.participants_count,
        "beneficiaires_ids": [p.beneficiary_id for p in a.participations if not p.beneficiary.anonymous],
        "tags": [{"id": t.id, "nom": t.name} for t in a.tags],
        "source": a.source.value, "id_externe": a.external_id,
        "source_donnee": _value(a.data_source), "enregistre_le": _iso(a.first_recorded_at),
        "cree_le": _iso(a.created_at), "modifie_le": _iso(a.updated_at),
    }
    if policy.can_see_notes(user):
        body["notes"] = a.notes
    return body


ACTIVITY_OPTIONS = (selectinload(Activity.thematique_rows), joinedload(Activity.place_commune),
                    selectinload(Activity.tags),
                    selectinload(Activity.participations).joinedload(Participation.beneficiary))


def _date_param(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidParameter(f"Le paramètre « {name} » doit être une date AAAA-MM-JJ.", field=name) from None


def _load_activity(activity_id: int) -> Activity | None:
    activity = policy.get_activity(db.session, g.api_user, activity_id, *ACTIVITY_OPTIONS)
    return None if activity is None or activity.deleted_at is not None else activity


@bp.route("/activites")
@api_access("activities:read", Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)
def activity_list():
    page, per_page = page_params()
    query = policy.visible_activities(g.api_user)
    du, au = _date_param("du"), _date_param("au")
    if du:
        query = query.where(Activity.date >= du)
    if au:
        query = query.where(Activity.date <= au)
    kind = request.args.get("type")
    if kind:
        if kind not in {t.value for t in ActivityType}:
            raise InvalidParameter("Le paramètre « type » vaut individuel ou collectif.", field="type")
        query = query.where(Activity.type == kind)
    structure = request.args.get("structure")
    if structure:
        if not is_id(structure):
            raise InvalidParameter("Le paramètre « structure » est un identifiant numérique.", field="structure")
        query = query.where(Activity.structure_id == int(structure))
    result = paginate(db.session, query.options(*ACTIVITY_OPTIONS).order_by(Activity.date.desc(), Activity.id.desc()),
                      page, per_page, exact=True)
    return page_body(result, [activity_json(g.api_user, a) for a in result.items])


@bp.route("/activites/<int:activity_id>")
@api_access("activities:read", Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)
def activity_detail(activity_id: int):
    activity = _load_activity(activity_id)
    if activity is None:
        return api_error(404, "Aucune activité accessible ne porte ce numéro.")
    return activity_json(g.api_user, activity)


@bp.route("/activites", methods=["POST"])
@api_access("activities:write", Role.MEDIATOR)
def activity_create():
    body = _Body(ACTIVITY_FIELDS)
    kind = body.text("type")
    if kind not in {t.value for t in ActivityType}:
        body.errors.setdefault("type", "Veuillez choisir le type : individuel ou collectif")
        body.raise_if_any()
    data = _activity_input(body, ActivityInput(type=ActivityType(kind)))
    try:
        activity = activities.log_activity(db.session, g.api_user, data,
                                           visible_beneficiary=policy.beneficiary_loader(db.session, g.api_user))
    except ValidationFailed as error:
        _raise_mapped(error, ACTIVITY_ERRORS)
    return activity_json(g.api_user, _load_activity(activity.id)), 201


@bp.route("/activites/<int:activity_id>", methods=["PATCH"])
@api_access("activities:write", Role.MEDIATOR)
def activity_update(activity_id: int):
    activity = _load_activity(activity_id)
    if activity is None:
        return api_error(404, "Aucune activité accessible ne porte ce numéro.")
    if not policy.can_edit_activity(g.api_user, activity):
        return api_error(403, "Seul·e le·la médiateur·rice qui a enregistré cette activité peut la modifier.")
    body = _Body(ACTIVITY_FIELDS)
    if "type" in body and body.data["type"] != activity.type.value:
        body.errors["type"] = "Le type d’une activité ne peut pas être modifié"
    data = _activity_input(body, activities.input_from_activity(activity))
    try:
        activities.update_activity(db.session, g.api_user, activity, data,
                                   visible_beneficiary=policy.beneficiary_loader(db.session, g.api_user))
    except ValidationFailed as error:
        _raise_mapped(error, ACTIVITY_ERRORS)
    db.session.expire(activity)
    return activity_json(g.api_user, _load_activity(activity.id))


# --- beneficiaries ------------------------------------------------------------------------------

BENEFICIARY_FIELDS = {"structure_id", "prenom", "nom", "email", "telephone", "pas_de_telephone",
                      "annee_naissance", "commune_insee", "genre", "statut", "notes"}
BENEFICIARY_ERRORS = {"first_name": "prenom", "last_name": "nom", "email": "email", "phone": "telephone",
                      "birth_year": "annee_naissance", "residence_commune_id": "commune_insee", "genre": "genre",
                      "statut_social": "statut", "notes": "notes"}


def _beneficiary_input(body: _Body, data: services.BeneficiaryInput) -> services.BeneficiaryInput:
    readers = {"prenom": ("first_name", body.text), "nom": ("last_name", body.text), "email": ("email", body.text),
               "telephone": ("phone", body.text), "pas_de_telephone": ("no_phone", body.boolean),
               "annee_naissance": ("birth_year", body.integer), "commune_insee": ("residence_commune_id", body.commune_id),
               "genre": ("genre", body.text), "statut": ("statut_social", body.text), "notes": ("notes", body.text)}
    changes = {}
    for key, (attribute, read) in readers.items():
        if key in body:
            value = read(key)
            changes[attribute] = bool(value) if attribute == "no_phone" else value
    body.raise_if_any()
    return replace(data, **changes)


def beneficiary_json(user: User, b: Beneficiary) -> dict:
    body = {
        "id": b.id, "structure_id": b.owner_structure_id, "genre": _value(b.genre),
        "statut": _value(b.statut_social), "tranche_age": b.tranche_age_at().value,
        "commune_insee": b.residence_commune.insee_code if b.residence_commune else None,
        "nombre_accompagnements": b.accompaniments_count, "source": b.source.value,
        "cree_le": _iso(b.created_at), "modifie_le": _iso(b.updated_at),
    }
    if policy.can_see_identity(user):
        body.update({"prenom": b.first_name, "nom": b.last_name, "email": b.email, "telephone": b.phone,
                     "pas_de_telephone": b.no_phone, "annee_naissance": b.birth_year, "notes": b.notes,
                     "id_externe": b.external_id})
    return body


def _load_beneficiary(beneficiary_id: int) -> Beneficiary | None:
    beneficiary = policy.get_beneficiary(db.session, g.api_user, beneficiary_id)
    return None if beneficiary is None or beneficiary.anonymous else beneficiary


@bp.route("/beneficiaires")
@api_access("beneficiaries:read", Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)
def beneficiary_list():
    page, per_page = page_params()
    query = (policy.visible_beneficiaries(g.api_user).where(Beneficiary.anonymous.is_(False))
             .options(joinedload(Beneficiary.residence_commune)))
    q = (request.args.get("q") or "").strip()
    if q:
        if len(q) > 100:
            raise InvalidParameter("Le paramètre « q » ne peut dépasser 100 caractères.", field="q")
        if not policy.can_see_identity(g.api_user):
            raise InvalidParameter("La recherche par nom est réservée aux médiateur·rices.", field="q")
        query = query.where(person_condition(q, identity=True, ids=(Beneficiary.id,)))
    result = paginate(db.session, query.order_by(Beneficiary.id), page, per_page, exact=True)
    return page_body(result, [beneficiary_json(g.api_user, b) for b in result.items])


@bp.route("/beneficiaires/<int:beneficiary_id>")
@api_access("beneficiaries:read", Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)
def beneficiary_detail(beneficiary_id: int):
    beneficiary = _load_beneficiary(beneficiary_id)
    if beneficiary is None:
        return api_error(404, "Aucun bénéficiaire accessible ne porte ce numéro.")
    return beneficiary_json(g.api_user, beneficiary)


@bp.route("/beneficiaires", methods=["POST"])
@api_access("beneficiaries:write", Role.MEDIATOR)
def beneficiary_create():
    body = _Body(BENEFICIARY_FIELDS)
    structures = {s.id for s in activities.mediator_structures(db.session, g.api_user)}
    structure_id = body.integer("structure_id")
    if structure_id is None and len(structures) == 1 and "structure_id" not in body.errors:
        structure_id = next(iter(structures))
    if structure_id is None:
        body.errors.setdefault("structure_id", "Veuillez choisir la structure pour laquelle vous intervenez")
    elif structure_id not in structures:
        body.errors.setdefault("structure_id", "Vous n'intervenez pas pour cette structure")
    data = _beneficiary_input(body, services.BeneficiaryInput())
    try:
        beneficiary = services.create_beneficiary(db.session, g.api_user, structure_id, data)
    except ValidationFailed as error:
        _raise_mapped(error, BENEFICIARY_ERRORS)
    return beneficiary_json(g.api_user, beneficiary), 201


@bp.route("/beneficiaires/<int:beneficiary_id>", methods=["PATCH"])
@api_access("beneficiaries:write", Role.MEDIATOR)
def beneficiary_update(beneficiary_id: int):
    beneficiary = _load_beneficiary(beneficiary_id)
    if beneficiary is None:
        return api_error(404, "Aucun bénéficiaire accessible ne porte ce numéro.")
    body = _Body(BENEFICIARY_FIELDS - {"structure_id"})
    data = _beneficiary_input(body, services.beneficiary_input_from(beneficiary))
    try:
        services.update_beneficiary(db.session, g.api_user, beneficiary, data)
    except ValidationFailed as error:
        _raise_mapped(error, BENEFICIARY_ERRORS)
    return beneficiary_json(g.api_user, beneficiary)


# --- OpenAPI ------------------------------------------------------------------------------------

def _enum(cls, nullable: bool = True) -> dict:
    schema = {"type": "string", "enum": [m.value for m in cls]}
    if nullable:
        schema["nullable"] = True
    return schema


def _counts(cls) -> dict:
    return {"type": "object", "description": "Nombre par code (" + ", ".join(m.value for m in cls) + ")",
            "additionalProperties": {"type": "integer", "minimum": 0}}


THEMATIQUE_VALUES = [m.value for m in Thematique] + [m.value for m in DemarcheThematique]
OPENAPI_SCHEMAS["Activity"] = {
    "type": "object",
    "required": ["id", "type", "date", "duree", "structure_id", "mediateur_id", "type_lieu", "thematiques",
                 "participants", "beneficiaires_ids", "source"],
    "properties": {
        "id": {"type": "integer"},
        "type": _enum(ActivityType, nullable=False),
        "date": {"type": "string", "format": "date"},
        "duree": {"type": "integer", "description": "Durée en minutes"},
        "structure_id": {"type": "integer", "description": "Structure pour laquelle l'activité a été faite"},
        "mediateur_id": {"type": "integer"},
        "type_lieu": _enum(PlaceType, nullable=False),
        "lieu_structure_id": {"type": "integer", "nullable": True},
        "lieu_commune_insee": {"type": "string", "nullable": True},
        "thematiques": {"type": "array", "items": {"type": "string", "enum": THEMATIQUE_VALUES}},
        "nom_demarche": {"type": "string", "nullable": True},
        "materiel": {"type": "array", "items": {"type": "string", "enum": [m.value for m in Materiel]}},
        "autonomie": _enum(Autonomie),
        "oriente": {"type": "boolean", "nullable": True},
        "structure_redirection": _enum(StructureRedirection),
        "equipement_type": _enum(EquipmentKind),
        "equipement_nombre": {"type": "integer", "nullable": True},
        "titre_atelier": {"type": "string", "nullable": True},
        "niveau_atelier": _enum(NiveauAtelier),
        "participants": {"type": "integer", "description": "Nombre d'accompagnements (participants)"},
        "beneficiaires_ids": {"type": "array", "items": {"type": "integer"},
                              "description": "Bénéficiaires suivis (les anonymes sont seulement comptés)"},
        "notes": {"type": "string", "nullable": True, "description": "Médiateur·rices seulement"},
        "source": {"type": "string", "enum": ["saisie", "import"]},
        "id_externe": {"type": "string", "nullable": True},
        "tags": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "nom": {"type": "string"}}}},
        "source_donnee": {"type": "string", "nullable": True, "enum": ["coop_v1", "coop_v2"],
                          "description": "Importée de La Coop : « Espace coop (V1) » ou la Coop actuelle"},
        "enregistre_le": {"type": "string", "format": "date-time",
                          "description": "Enregistrement d'origine (celui de La Coop pour une activité importée)"},
        "cree_le": {"type": "string", "format": "date-time"},
        "modifie_le": {"type": "string", "format": "date-time"},
    },
}
OPENAPI_SCHEMAS["ActivityInput"] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Création : « type », « date », « duree », « type_lieu » et au moins une thématique sont "
                   "obligatoires ; modification (PATCH) : seuls les champs envoyés changent.",
    "properties": {
        "type": _enum(ActivityType, nullable=False),
        "structure_id": {"type": "integer"},
        "date": {"type": "string", "format": "date"},
        "duree": {"type": "integer", "minimum": 1, "maximum": 1440},
        "type_lieu": _enum(PlaceType, nullable=False),
        "lieu_structure_id": {"type": "integer", "nullable": True},
        "lieu_commune_insee": {"type": "string", "nullable": True},
        "thematiques": {"type": "array", "items": {"type": "string", "enum": THEMATIQUE_VALUES}},
        "nom_demarche": {"type": "string", "nullable": True},
        "materiel": {"type": "array", "items": {"type": "string", "enum": [m.value for m in Materiel]}},
        "autonomie": _enum(Autonomie),
        "oriente": {"type": "boolean", "nullable": True},
        "structure_redirection": _enum(StructureRedirection),
        "equipement_type": _enum(EquipmentKind),
        "equipement_nombre": {"type": "integer", "nullable": True},
        "notes": {"type": "string", "nullable": True},
        "titre_atelier": {"type": "string", "nullable": True},
        "niveau_atelier": _enum(NiveauAtelier),
        "beneficiaire_id": {"type": "integer", "nullable": True,
                            "description": "Accompagnement individuel d'un bénéficiaire suivi"},
        "beneficiaire_anonyme": {
            "type": "object", "additionalProperties": False,
            "description": "Accompagnement individuel anonyme (informations facultatives)",
            "properties": {"commune_insee": {"type": "string", "nullable": True}, "genre": _enum(Genre),
                           "tranche_age": _enum(TrancheAge), "statut": _enum(StatutSocial),
                           "deja_accompagne": {"type": "boolean"}},
        },
        "participants_ids": {"type": "array", "items": {"type": "integer"},
                             "description": "Atelier : bénéficiaires suivis"},
        "tags_ids": {"type": "array", "items": {"type": "integer"},
                     "description": "Tags : les vôtres, ceux de votre structure ou de votre territoire"},
        "anonymes": {
            "type": "object", "additionalProperties": False, "description": "Atelier : participants anonymes",
            "properties": {"total": {"type": "integer", "minimum": 0},
                           "deja_accompagnes": {"type": "integer", "minimum": 0},
                           "genres": _counts(Genre), "tranches_age": _counts(TrancheAge),
                           "statuts": _counts(StatutSocial)},
        },
    },
}
OPENAPI_SCHEMAS["Beneficiary"] = {
    "type": "object",
    "required": ["id", "structure_id", "tranche_age", "nombre_accompagnements", "source"],
    "properties": {
        "id": {"type": "integer"},
        "structure_id": {"type": "integer", "description": "Structure d'enregistrement"},
        "prenom": {"type": "string", "description": "Médiateur·rices seulement"},
        "nom": {"type": "string", "description": "Médiateur·rices seulement"},
        "email": {"type": "string", "nullable": True},
        "telephone": {"type": "string", "nullable": True},
        "pas_de_telephone": {"type": "boolean"},
        "annee_naissance": {"type": "integer", "nullable": True},
        "commune_insee": {"type": "string", "nullable": True},
        "genre": _enum(Genre),
        "statut": _enum(StatutSocial),
        "tranche_age": _enum(TrancheAge, nullable=False),
        "notes": {"type": "string", "nullable": True},
        "nombre_accompagnements": {"type": "integer"},
        "source": {"type": "string", "enum": ["saisie", "import"]},
        "id_externe": {"type": "string", "nullable": True},
        "cree_le": {"type": "string", "format": "date-time"},
        "modifie_le": {"type": "string", "format": "date-time"},
    },
}
OPENAPI_SCHEMAS["BeneficiaryInput"] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Création : « prenom » et « nom » obligatoires ; « structure_id » si vous intervenez pour "
                   "plusieurs structures. Modification (PATCH) : seuls les champs envoyés changent.",
    "properties": {
        "structure_id": {"type": "integer"},
        "prenom": {"type": "string", "maxLength": 100},
        "nom": {"type": "string", "maxLength": 100},
        "email": {"type": "string", "nullable": True},
        "telephone": {"type": "string", "nullable": True},
        "pas_de_telephone": {"type": "boolean"},
        "annee_naissance": {"type": "integer", "nullable": True},
        "commune_insee": {"type": "string", "nullable": True},
        "genre": _enum(Genre),
        "statut": _enum(StatutSocial),
        "notes": {"type": "string", "nullable": True},
    },
}
OPENAPI_SCHEMAS["ActivityPage"] = paged_schema("#/components/schemas/Activity")
OPENAPI_SCHEMAS["BeneficiaryPage"] = paged_schema("#/components/schemas/Beneficiary")

NOT_FOUND = error_response("Introuvable dans votre périmètre")
INVALID = error_response("Données invalides : « errors » donne un message par champ")
ID_PARAMETER = {"in": "path", "required": True, "schema": {"type": "integer"}}


def _json_body(ref: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _json_response(description: str, ref: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


openapi_path("/activites", "get", {
    "summary": "Activités (une par CRA) de votre périmètre",
    "description": "Médiateur·rices : les activités de leurs structures et les leurs ; coordination : celles des "
                   "structures du territoire ; sans les notes hors médiateur·rices. Permission activities:read.",
    "parameters": PAGE_PARAMETERS + [
        {"name": "du", "in": "query", "description": "Date minimale (AAAA-MM-JJ)",
         "schema": {"type": "string", "format": "date"}},
        {"name": "au", "in": "query", "description": "Date maximale (AAAA-MM-JJ)",
         "schema": {"type": "string", "format": "date"}},
        {"name": "type", "in": "query", "schema": _enum(ActivityType, nullable=False)},
        {"name": "structure", "in": "query", "description": "Identifiant de la structure",
         "schema": {"type": "integer"}},
    ],
    "responses": {"200": _json_response("Une page d'activités", "#/components/schemas/ActivityPage"),
                  **ERROR_RESPONSES},
})
openapi_path("/activites", "post", {
    "summary": "Enregistrer une activité (accompagnement individuel ou atelier collectif)",
    "description": "Médiateur·rices seulement. Permission activities:write.",
    "requestBody": _json_body("#/components/schemas/ActivityInput"),
    "responses": {"201": _json_response("L'activité créée", "#/components/schemas/Activity"),
                  "422": INVALID, **ERROR_RESPONSES},
})
openapi_path("/activites/{activity_id}", "get", {
    "summary": "Une activité",
    "parameters": [{"name": "activity_id", **ID_PARAMETER}],
    "responses": {"200": _json_response("L'activité", "#/components/schemas/Activity"), "404": NOT_FOUND,
                  **ERROR_RESPONSES},
})
openapi_path("/activites/{activity_id}", "patch", {
    "summary": "Modifier une activité",
    "description": "Par le·la médiateur·rice qui l'a enregistrée. Permission activities:write.",
    "parameters": [{"name": "activity_id", **ID_PARAMETER}],
    "requestBody": _json_body("#/components/schemas/ActivityInput"),
    "responses": {"200": _json_response("L'activité modifiée", "#/components/schemas/Activity"),
                  "404": NOT_FOUND, "422": INVALID, **ERROR_RESPONSES},
})
openapi_path("/beneficiaires", "get", {
    "summary": "Bénéficiaires suivis de votre périmètre",
    "description": "Identité, coordonnées et notes pour les médiateur·rices seulement. Permission "
                   "beneficiaries:read.",
    "parameters": PAGE_PARAMETERS + [
        {"name": "q", "in": "query", "description": "Recherche dans le nom ou le prénom (médiateur·rices)",
         "schema": {"type": "string", "maxLength": 100}},
    ],
    "responses": {"200": _json_response("Une page de bénéficiaires", "#/components/schemas/BeneficiaryPage"),
                  **ERROR_RESPONSES},
})
openapi_path("/beneficiaires", "post", {
    "summary": "Enregistrer un bénéficiaire suivi (et ouvrir son dossier)",
    "description": "Médiateur·rices seulement. Permission beneficiaries:write.",
    "requestBody": _json_body("#/components/schemas/BeneficiaryInput"),
    "responses": {"201": _json_response("Le bénéficiaire créé", "#/components/schemas/Beneficiary"),
                  "422": INVALID, **ERROR_RESPONSES},
})
openapi_path("/beneficiaires/{beneficiary_id}", "get", {
    "summary": "Un bénéficiaire suivi",
    "parameters": [{"name": "beneficiary_id", **ID_PARAMETER}],
    "responses": {"200": _json_response("Le bénéficiaire", "#/components/schemas/Beneficiary"), "404": NOT_FOUND,
                  **ERROR_RESPONSES},
})
openapi_path("/beneficiaires/{beneficiary_id}", "patch", {
    "summary": "Modifier un bénéficiaire suivi",
    "description": "Médiateur·rices seulement. Permission beneficiaries:write.",
    "parameters": [{"name": "beneficiary_id", **ID_PARAMETER}],
    "requestBody": _json_body("#/components/schemas/BeneficiaryInput"),
    "responses": {"200": _json_response("Le bénéficiaire modifié", "#/components/schemas/Beneficiary"),
                  "404": NOT_FOUND, "422": INVALID, **ERROR_RESPONSES},
})
