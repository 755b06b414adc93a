"""API: the indicators with the dashboard's filters (``GET /api/v1/indicateurs``) and their
definitions. Permission ``indicators:read``; a funder's token sees its programmes only (the same
:func:`~mediation.evaluation.scope.authorise` as the pages); suppressed cells are ``null`` with
their marker in ``affichage``."""

from __future__ import annotations

from flask import g, request

from mediation.api import (
    ERROR_RESPONSES,
    OPENAPI_SCHEMAS,
    InvalidParameter,
    api_access,
    bp,
    error_response,
    openapi_path,
)
from mediation.errors import ValidationFailed
from mediation.evaluation import definitions, indicators, policy
from mediation.evaluation.results import Cell, Dashboard, Figure, Table
from mediation.evaluation.scope import PARAMS, Scope, authorise, parse_filter
from mediation.replica import reads_from_replica

SCOPE = "indicators:read"


def _cell(cell: Cell | None):
    if cell is None:
        return None
    return {"valeur": cell.as_json(), "affichage": cell.display, "masque": cell.mask}


def _figure(f: Figure) -> dict:
    return {"code": f.code, "libelle": f.label, "valeur": None if f.mask else f.value, "affichage": f.display,
            "unite": f.unit, "masque": f.mask, "numerateur": _cell(f.numerator), "denominateur": _cell(f.denominator),
            "intervalle": f.interval, "detail": f.detail, "taux_reponse": f.response}


def _table(t: Table) -> dict:
    def row(r):
        return {"cle": r.key, "libelle": r.label, "valeurs": [c.as_json() for c in r.cells],
                "affichages": [c.display for c in r.cells]}

    return {"code": t.code, "indicateur": t.indicator, "titre": t.title, "categorie": t.category,
            "colonnes": t.columns, "lignes": [row(r) for r in t.rows], "total": row(t.total) if t.total else None,
            "note": t.note}


def dashboard_json(dashboard: Dashboard) -> dict:
    return {
        "filtres": dashboard.query_args,
        "filtres_libelles": [{"filtre": label, "valeur": value} for label, value in dashboard.filters],
        "seuil_secret": dashboard.threshold,
        "genere_le": dashboard.generated_at.isoformat(),
        "sections": [{"code": s.code, "titre": s.title, "chiffres": [_figure(f) for f in s.figures],
                      "tableaux": [_table(t) for t in s.tables]} for s in dashboard.sections],
    }


@bp.route("/indicateurs")
@api_access(SCOPE, *policy.DASHBOARD_ROLES)
@reads_from_replica
def indicators_get():
    from mediation.extensions import db

    try:
        f = parse_filter(request.args)
    except ValidationFailed as error:
        raise InvalidParameter(error.message, errors=error.errors) from None
    compare = request.args.get("comparer") or None
    if compare and (compare not in indicators.COMPARE_DIMENSIONS or not policy.can_compare(g.api_user)):
        raise InvalidParameter("Comparaison inconnue ou non permise pour votre rôle.", field="comparer")
    try:
        f = authorise(db.session, g.api_user, f)
    except ValidationFailed as error:
        raise InvalidParameter(error.message, errors=error.errors) from None
    scope = Scope(db.session, g.api_user, f)
    return dashboard_json(indicators.compute_dashboard(scope, compare=compare))


@bp.route("/indicateurs/definitions")
@api_access(SCOPE, *policy.DASHBOARD_ROLES)
def indicator_definitions():
    return {"items": [{"code": i.code, "famille": i.family, "libelle": i.label, "definition": i.definition,
                       "unite": i.unit, "numerateur": i.numerator, "denominateur": i.denominator,
                       "repartitions": list(i.breakdowns), "relance": i.follow_up}
                      for i in definitions.INDICATORS.values()]}


# --- OpenAPI ------------------------------------------------------------------------------------

_CELL = {"type": "object", "nullable": True, "properties": {
    "valeur": {"type": "number", "nullable": True}, "affichage": {"type": "string"},
    "masque": {"type": "string", "nullable": True, "description": "primary (petit effectif) ou secondary"}}}
OPENAPI_SCHEMAS["IndicatorFigure"] = {
    "type": "object", "required": ["code", "libelle", "valeur", "affichage"],
    "properties": {"code": {"type": "string"}, "libelle": {"type": "string"},
                   "valeur": {"type": "number", "nullable": True,
                              "description": "null quand la valeur est masquée (secret statistique) ou non calculable"},
                   "affichage": {"type": "string", "description": "La valeur telle que l'affichent le tableau de "
                                 "bord et le rapport (« < 5 », « s », « — »)"},
                   "unite": {"type": "string"}, "masque": {"type": "string", "nullable": True},
                   "numerateur": _CELL, "denominateur": _CELL, "intervalle": {"type": "string"},
                   "detail": {"type": "string"}, "taux_reponse": {"type": "string"}}}
_ROW = {"type": "object", "properties": {
    "cle": {"type": "string", "nullable": True}, "libelle": {"type": "string"},
    "valeurs": {"type": "array", "items": {"type": "number", "nullable": True}},
    "affichages": {"type": "array", "items": {"type": "string"}}}}
OPENAPI_SCHEMAS["IndicatorTable"] = {
    "type": "object", "required": ["code", "titre", "colonnes", "lignes"],
    "properties": {"code": {"type": "string"}, "indicateur": {"type": "string"}, "titre": {"type": "string"},
                   "categorie": {"type": "string"}, "colonnes": {"type": "array", "items": {"type": "string"}},
                   "lignes": {"type": "array", "items": _ROW}, "total": {**_ROW, "nullable": True},
                   "note": {"type": "string", "nullable": True}}}
OPENAPI_SCHEMAS["Indicators"] = {
    "type": "object", "required": ["filtres", "seuil_secret", "sections"],
    "properties": {
        "filtres": {"type": "object", "additionalProperties": {"type": "string"}},
        "filtres_libelles": {"type": "array", "items": {"type": "object", "properties": {
            "filtre": {"type": "string"}, "valeur": {"type": "string"}}}},
        "seuil_secret": {"type": "integer"},
        "genere_le": {"type": "string", "format": "date-time"},
        "sections": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": "string"}, "titre": {"type": "string"},
            "chiffres": {"type": "array", "items": {"$ref": "#/components/schemas/IndicatorFigure"}},
            "tableaux": {"type": "array", "items": {"$ref": "#/components/schemas/IndicatorTable"}}}}},
    }}
OPENAPI_SCHEMAS["IndicatorDefinitions"] = {
    "type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
        "code": {"type": "string"}, "famille": {"type": "string"}, "libelle": {"type": "string"},
        "definition": {"type": "string"}, "unite": {"type": "string"},
        "numerateur": {"type": "string", "nullable": True}, "denominateur": {"type": "string", "nullable": True},
        "repartitions": {"type": "array", "items": {"type": "string"}}, "relance": {"type": "boolean"}}}}}}

_PARAMETERS = [
    {"name": "du", "in": "query", "description": "Début de la période (AAAA-MM-JJ, incluse) ; 12 derniers mois par défaut. "
     "Financeurs : ramené au 1er du mois (secret statistique, mois entiers)",
     "schema": {"type": "string", "format": "date"}},
    {"name": "au", "in": "query", "description": "Fin de la période (AAAA-MM-JJ, incluse). Financeurs : étendue à la fin du "
     "mois, au plus tard la fin du dernier mois terminé (400 si la période ne contient aucun mois terminé)",
     "schema": {"type": "string", "format": "date"}},
    {"name": "territoire", "in": "query", "description": "Identifiant du territoire (administrateurs)",
     "schema": {"type": "integer", "minimum": 1}},
    {"name": "commune", "in": "query", "description": "Identifiant de la commune de la structure",
     "schema": {"type": "integer", "minimum": 1}},
    {"name": "structure", "in": "query", "description": "Identifiant de la structure",
     "schema": {"type": "integer", "minimum": 1}},
    {"name": "programme", "in": "query", "description": "Identifiant du programme (obligatoire de fait pour un "
     "financeur : le plus récent de ses programmes par défaut)", "schema": {"type": "integer", "minimum": 1}},
    {"name": "mediateur", "in": "query", "description": "Identifiant du médiateur (coordination, administration ; "
     "un médiateur ne peut indiquer que lui-même ; refusé aux financeurs)", "schema": {"type": "integer", "minimum": 1}},
    {"name": "comparer", "in": "query", "description": "Comparaison (coordination, administration)",
     "schema": {"type": "string", "enum": list(indicators.COMPARE_DIMENSIONS)}},
]
assert {p["name"] for p in _PARAMETERS} >= set(PARAMS)

openapi_path("/indicateurs", "get", {
    "summary": "Indicateurs d'impact (moyens, réalisations, résultats, maillage, qualité des données)",
    "description": "Les mêmes chiffres que le tableau de bord et le rapport PDF pour les mêmes filtres. Les "
                   "petits effectifs sont masqués (valeur null, « < 5 » ou « s » en affichage). Un jeton de "
                   "financeur ne voit que les programmes de son financeur. Permission : indicators:read.",
    "parameters": _PARAMETERS,
    "responses": {
        "200": {"description": "Les indicateurs", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Indicators"}}}},
        "400": ERROR_RESPONSES["400"], "401": ERROR_RESPONSES["401"], "403": ERROR_RESPONSES["403"],
        "404": error_response("Programme, territoire, commune, structure ou médiateur hors de votre périmètre"),
    },
})
openapi_path("/indicateurs/definitions", "get", {
    "summary": "Définitions des indicateurs",
    "description": "Code, libellé, définition, numérateur, dénominateur, unité et répartitions de chaque "
                   "indicateur. Permission : indicators:read.",
    "responses": {
        "200": {"description": "Les définitions", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/IndicatorDefinitions"}}}},
        "401": ERROR_RESPONSES["401"], "403": ERROR_RESPONSES["403"],
    },
})
