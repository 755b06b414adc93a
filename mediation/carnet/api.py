"""JSON API of « Mon carnet »: ``GET /api/v1/carnet`` with the person's own card token
(``Authorization: Bearer <jeton de la carte>``): the wallet's data (badges, progress, referrals)."""

from __future__ import annotations

from flask import request

from mediation.api import OPENAPI_SCHEMAS, api_access, api_error, bp, error_response, openapi_path
from mediation.badges import documents
from mediation.badges.api import api_json
from mediation.carnet import wallet
from mediation.extensions import db


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _iso(value):
    return value.isoformat() if value is not None else None


@bp.route("/carnet")
@api_access(None)
def wallet_data():
    header = request.headers.get("Authorization", "")
    raw = header[7:].strip() if header.lower().startswith("bearer ") else ""
    card = wallet.card_by_token(db.session, raw) if raw else None
    if card is None:
        return api_error(401, "Jeton de carte absent, invalide ou désactivé.", "Non authentifié")
    data = wallet.contents(db.session, card.wallet)
    return api_json({
        "prenom": data.first_name,
        "badges": [{
            "nom": b.badge_class.name,
            "niveau": b.badge_class.level_label,
            "atteste": b.badge_class.description,
            "emetteur": b.badge_class.issuer.name,
            "approuve_par": b.endorsers,
            "delivre_le": _iso(b.assertion.issued_at),
            "url": documents.assertion_url(b.assertion),
            "image_cuite": documents.baked_url(b.assertion),
            "verification": documents.verify_page_url(b.assertion),
        } for b in data.badges],
        "parcours": [{
            "nom": p.enrolment.template.name,
            "etapes_validees": p.done_steps,
            "etapes": p.total_steps,
            "termine": p.completed,
            "prochaine_etape": p.next_step.milestone.title if p.next_step else None,
        } for p in data.progresses],
        "orientations": [{
            "structure": r.to_structure.name,
            "adresse": r.to_structure.address,
            "telephone": r.to_structure.telephone,
            "prise_rdv": r.to_structure.prise_rdv,
            "etat": r.status.label,
            "avant_le": r.due_on.isoformat(),
        } for r in data.referrals],
    })


OPENAPI_SCHEMAS["Wallet"] = {
    "type": "object",
    "properties": {
        "prenom": {"type": "string", "nullable": True},
        "badges": {"type": "array", "items": {"type": "object"}},
        "parcours": {"type": "array", "items": {"type": "object"}},
        "orientations": {"type": "array", "items": {"type": "object"}},
    },
}


openapi_path("/carnet", "get", {
    "summary": "Le carnet de la personne (jeton de sa carte)", "tags": ["Carnet"],
    "description": "Authentification par le jeton de la carte imprimée (Authorization: Bearer <jeton>), pas par "
                   "un jeton personnel.",
    "security": [{"bearer": []}],
    "responses": {"200": _json("#/components/schemas/Wallet", "Le carnet"),
                  "401": error_response("Jeton de carte absent, invalide ou désactivé")},
})
