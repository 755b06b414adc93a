"""Authorization matrix: imports, exports, duplicates and merges, retention (mediation/cases/exchange_views.py)
and the cases API (mediation/cases/api.py).

- The team import (a coordinator's Coop team export): coordinators and admins. A pending import
  (choices, apply, discard) is its sender's only: 404 for every other importer.
- Imports, the beneficiaries export, a person's own data, duplicates and merges: mediators only
  (``mediator`` and ``aidant`` both work for structure_a); coordinators and admins never see names
  (403). Another structure's records or uploads are « not found » (404).
- The activities export: all staff (coordinators and admins without names nor notes).
- Retention: admins only; a POST without the confirmation box changes nothing (200).
- API: each role's token holds every scope; funders hold none (401). Creating and changing is for
  mediators (403 for admins and coordinators); another structure's id is a 404 for mediators and
  for a coordinator of another territory.

``ours(n)`` holds two records of the same person in structure_a (a probable pair), an activity
logged by ``mediator`` and a merge of two other records; ``theirs(n)`` the same in structure_far.
"""

from datetime import timedelta

from mediation.cases import activities, duplicates, services
from mediation.cases.enums import ActivityType, PlaceType
from mediation.cases.exchange_models import ImportKind, ImportUpload
from mediation.extensions import db
from mediation.types import local_today
from tests.authz.roles import ADMIN_ONLY_200, STAFF_200, expect

MEDIATORS_200 = expect(403, anonymous=302, mediator=200, aidant=200)
MEDIATORS_302 = expect(403, anonymous=302, mediator=302, aidant=302)
MEDIATORS_404 = expect(403, anonymous=302, mediator=404, aidant=404)
IMPORTERS_404 = expect(404, anonymous=302, funder=403)  # someone else's pending import
COORDINATION_200 = expect(403, anonymous=302, admin=200, coordinator=200)
TOKEN_200 = expect(200, anonymous=401, funder=401)
TOKEN_MEDIATORS = expect(403, anonymous=401, funder=401)  # + the mediators' status
OUT_OF_SCOPE_API = expect(404, anonymous=401, funder=401, admin=200)


def _records(n, key: str, mediator, structure):
    cached = getattr(n, key, None)
    if cached is not None:
        return cached
    session = db.session

    def person(first, last, **fields):
        return services.create_beneficiary(session, mediator, structure.id, services.BeneficiaryInput(
            first_name=first, last_name=last, **fields))

    first = person("Matrice", f"Doublon{key}", phone="0600000001")
    second = person("Matrice", f"Doublon{key}", email="matrice@example.org")
    kept, merged = person("Fusion", f"Gardée{key}"), person("Fusion", f"Partie{key}")
    merge = duplicates.merge_beneficiaries(session, mediator, kept, merged)
    activity = activities.log_activity(
        session, mediator,
        activities.ActivityInput(type=ActivityType.INDIVIDUEL, structure_id=structure.id,
                                 date=local_today() - timedelta(days=1), duration_min=30,
                                 place_type=PlaceType.A_DISTANCE.value, thematiques=["email"],
                                 beneficiary_id=first.id),
        visible_beneficiary=lambda i: first if int(i) == first.id else None,
    )
    upload = ImportUpload(kind=ImportKind.BENEFICIARIES, structure_id=structure.id, user_id=mediator.id,
                          filename="f.csv", data=b"Nom;Prenom\n", sha256="0" * 64, summary={})
    session.add(upload)
    session.flush()
    records = {"first": first.id, "second": second.id, "merge": merge.id, "activity": activity.id,
               "upload": upload.id}
    setattr(n, key, records)
    return records


def ours(n):
    return _records(n, "_exchange_ours", n.mediator, n.structure_a)


def theirs(n):
    return _records(n, "_exchange_theirs", n.mediator_far, n.structure_far)


def _pair(records) -> str:
    return f"/echanges/doublons/{records['first']}/{records['second']}"


ROUTES = {
    "cases_exchange.index": {"url": "/echanges/", "expect": STAFF_200},
    # --- imports ---
    "cases_exchange.import_file": [
        {"url": "/echanges/import", "expect": MEDIATORS_200},
        {"url": "/echanges/import", "method": "POST", "data": {}, "expect": MEDIATORS_200,
         "note": "formulaire vide : erreurs, rien n'est analysé"},
    ],
    "cases_exchange.import_team": [
        {"url": "/echanges/import/equipe", "expect": COORDINATION_200},
        {"url": "/echanges/import/equipe", "method": "POST", "data": {}, "expect": COORDINATION_200,
         "note": "formulaire vide : erreurs, rien n'est analysé"},
    ],
    "cases_exchange.import_choices": {
        "url": lambda n: f"/echanges/import/{theirs(n)['upload']}/choix", "method": "POST",
        "expect": IMPORTERS_404, "note": "fichier envoyé par quelqu'un d'autre",
    },
    "cases_exchange.import_apply": {
        "url": lambda n: f"/echanges/import/{theirs(n)['upload']}/appliquer", "method": "POST",
        "expect": IMPORTERS_404, "note": "fichier envoyé par quelqu'un d'autre",
    },
    "cases_exchange.import_discard": {
        "url": lambda n: f"/echanges/import/{theirs(n)['upload']}/abandonner", "method": "POST",
        "expect": IMPORTERS_404, "note": "fichier envoyé par quelqu'un d'autre",
    },
    # --- exports ---
    "cases_exchange.export_activities": [
        {"url": "/echanges/export/activites?type=collectif", "expect": STAFF_200},
        {"url": "/echanges/export/activites", "method": "POST", "data": {"format": "csv"}, "expect": STAFF_200,
         "note": "téléchargement (sans noms ni notes hors médiateurs)"},
    ],
    "cases_exchange.export_beneficiaries": [
        {"url": "/echanges/export/beneficiaires", "expect": MEDIATORS_200},
        {"url": "/echanges/export/beneficiaires", "method": "POST", "data": {"format": "csv"},
         "expect": MEDIATORS_200, "note": "téléchargement"},
    ],
    "cases_exchange.personal_data": [
        {"url": lambda n: f"/echanges/beneficiaires/{ours(n)['first']}/donnees", "expect": MEDIATORS_200},
        {"url": lambda n: f"/echanges/beneficiaires/{theirs(n)['first']}/donnees", "expect": MEDIATORS_404,
         "note": "bénéficiaire d'une autre structure"},
        {"url": lambda n: f"/echanges/beneficiaires/{ours(n)['first']}/donnees", "method": "POST",
         "data": {"format": "json"}, "expect": MEDIATORS_200, "note": "téléchargement"},
        {"url": lambda n: f"/echanges/beneficiaires/{theirs(n)['first']}/donnees", "method": "POST",
         "data": {"format": "json"}, "expect": MEDIATORS_404, "note": "bénéficiaire d'une autre structure"},
    ],
    # --- duplicates and merges ---
    "cases_exchange.duplicate_list": {"url": "/echanges/doublons?page=1", "expect": MEDIATORS_200},
    "cases_exchange.duplicate_merge": [
        {"url": lambda n: _pair(ours(n)), "expect": MEDIATORS_200},
        {"url": lambda n: _pair(theirs(n)), "expect": MEDIATORS_404, "note": "fiches d'une autre structure"},
        {"url": lambda n: f"/echanges/doublons/{ours(n)['first']}/{theirs(n)['second']}", "expect": MEDIATORS_404,
         "note": "une des deux fiches est d'une autre structure"},
        {"url": lambda n: _pair(ours(n)), "method": "POST", "data": lambda n: {"keep": str(ours(n)["first"])},
         "expect": MEDIATORS_302, "note": "fusion, puis la liste des fusions"},
        {"url": lambda n: _pair(theirs(n)), "method": "POST", "data": lambda n: {"keep": str(theirs(n)["first"])},
         "expect": MEDIATORS_404, "note": "fiches d'une autre structure"},
    ],
    "cases_exchange.merge_list": {"url": "/echanges/fusions", "expect": MEDIATORS_200},
    "cases_exchange.merge_undo": [
        {"url": lambda n: f"/echanges/fusions/{ours(n)['merge']}/annuler", "method": "POST",
         "expect": MEDIATORS_302, "note": "annulation de la fusion"},
        {"url": lambda n: f"/echanges/fusions/{theirs(n)['merge']}/annuler", "method": "POST",
         "expect": MEDIATORS_404, "note": "fusion d'une autre structure"},
    ],
    # --- retention ---
    "cases_exchange.retention_page": [
        {"url": "/echanges/conservation", "expect": ADMIN_ONLY_200},
        {"url": "/echanges/conservation", "method": "POST", "data": {}, "expect": ADMIN_ONLY_200,
         "note": "sans la case de confirmation : rien n'est lancé"},
    ],
    # --- API ---
    "api.activity_list": [
        {"url": "/api/v1/activites?du=2020-01-01&type=individuel", "expect": TOKEN_200},
        {"url": "/api/v1/activites", "scopes": ["beneficiaries:read"],
         "expect": expect(403, anonymous=401, funder=401), "note": "jeton sans activities:read"},
    ],
    "api.activity_detail": [
        {"url": lambda n: f"/api/v1/activites/{ours(n)['activity']}", "expect": TOKEN_200},
        {"url": lambda n: f"/api/v1/activites/{theirs(n)['activity']}", "expect": OUT_OF_SCOPE_API,
         "note": "activité d'une autre structure (autre territoire)"},
    ],
    "api.activity_create": [
        {"url": "/api/v1/activites", "method": "POST", "json": {"type": "individuel"},
         "expect": expect(403, anonymous=401, funder=401, mediator=422, aidant=422),
         "note": "données incomplètes : erreurs par champ"},
        {"url": "/api/v1/activites", "method": "POST", "json": {}, "scopes": ["activities:read"],
         "expect": expect(403, anonymous=401, funder=401), "note": "jeton sans activities:write"},
    ],
    "api.activity_update": [
        {"url": lambda n: f"/api/v1/activites/{ours(n)['activity']}", "method": "PATCH", "json": {"duree": 40},
         "expect": expect(403, anonymous=401, funder=401, mediator=200),
         "note": "seul·e l'auteur·rice modifie (l'aidant, collègue : 403)"},
        {"url": lambda n: f"/api/v1/activites/{theirs(n)['activity']}", "method": "PATCH", "json": {"duree": 40},
         "expect": expect(403, anonymous=401, funder=401, mediator=404, aidant=404),
         "note": "activité d'une autre structure"},
    ],
    "api.beneficiary_list": [
        {"url": "/api/v1/beneficiaires?page=1", "expect": TOKEN_200},
        {"url": "/api/v1/beneficiaires", "scopes": ["activities:read"],
         "expect": expect(403, anonymous=401, funder=401), "note": "jeton sans beneficiaries:read"},
    ],
    "api.beneficiary_detail": [
        {"url": lambda n: f"/api/v1/beneficiaires/{ours(n)['first']}", "expect": TOKEN_200},
        {"url": lambda n: f"/api/v1/beneficiaires/{theirs(n)['first']}", "expect": OUT_OF_SCOPE_API,
         "note": "bénéficiaire d'une autre structure (autre territoire)"},
    ],
    "api.beneficiary_create": [
        {"url": "/api/v1/beneficiaires", "method": "POST", "json": {"prenom": "Api", "nom": "Matrice"},
         "expect": expect(403, anonymous=401, funder=401, mediator=201, aidant=201)},
        {"url": "/api/v1/beneficiaires", "method": "POST", "json": {}, "scopes": ["beneficiaries:read"],
         "expect": expect(403, anonymous=401, funder=401), "note": "jeton sans beneficiaries:write"},
    ],
    "api.beneficiary_update": [
        {"url": lambda n: f"/api/v1/beneficiaires/{ours(n)['first']}", "method": "PATCH", "json": {"notes": "x"},
         "expect": expect(403, anonymous=401, funder=401, mediator=200, aidant=200)},
        {"url": lambda n: f"/api/v1/beneficiaires/{theirs(n)['first']}", "method": "PATCH", "json": {"notes": "x"},
         "expect": expect(403, anonymous=401, funder=401, mediator=404, aidant=404),
         "note": "bénéficiaire d'une autre structure"},
    ],
}
