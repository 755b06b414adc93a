"""Authorization matrix: beneficiaries, case files and activity records (mediation/cases/policy.py).

Mediators (``mediator`` and ``aidant`` both work for structure_a) log activities and manage the
cases of their structure; only the mediator who logged an activity edits or deletes it (the aidant
is a colleague: 403). Coordinators see their territory's records and admins everything, read-only
(403 on changes). Records of another structure are « not found » (404) for mediators, and for a
coordinator when they are outside the territory. Funders: 403 everywhere.

``ours(n)`` holds a case, a consent and an activity of structure_a (logged by ``mediator``);
``theirs(n)`` the same for structure_far (other territory, logged by ``mediator_far``).
"""

from datetime import timedelta

from mediation.cases import activities, services
from mediation.cases.enums import ActivityType, ConsentScope, PlaceType
from mediation.extensions import db
from mediation.types import local_today
from tests.authz.roles import STAFF_200, expect, refused

MEDIATORS_200 = expect(403, anonymous=302, mediator=200, aidant=200)
MEDIATORS_302 = expect(403, anonymous=302, mediator=302, aidant=302)
MEDIATORS_404 = expect(403, anonymous=302, mediator=404, aidant=404)
AUTHOR_200 = expect(403, anonymous=302, mediator=200)
AUTHOR_302 = expect(403, anonymous=302, mediator=302)
OUT_OF_SCOPE = expect(404, anonymous=302, admin=200, funder=403)  # another territory's record
MISSING = 999_999


def _records(n, key: str, mediator, structure):
    cached = getattr(n, key, None)
    if cached is not None:
        return cached
    session = db.session
    person = services.create_beneficiary(session, mediator, structure.id,
                                         services.BeneficiaryInput(first_name="Matrice", last_name=key))
    case = services.live_case(session, person.id)
    consent = services.record_consent(session, mediator, person, ConsentScope.STRUCTURE, structure.id)
    activity = activities.log_activity(
        session, mediator,
        activities.ActivityInput(type=ActivityType.INDIVIDUEL, structure_id=structure.id,
                                 date=local_today() - timedelta(days=1), duration_min=30,
                                 place_type=PlaceType.A_DISTANCE.value, thematiques=["email"],
                                 beneficiary_id=person.id),
        visible_beneficiary=lambda i: person if int(i) == person.id else None,
    )
    records = {"person": person.id, "case": case.id, "consent": consent.id, "activity": activity.id}
    setattr(n, key, records)
    return records


def ours(n):
    return _records(n, "_cases_ours", n.mediator, n.structure_a)


def theirs(n):
    return _records(n, "_cases_theirs", n.mediator_far, n.structure_far)


ROUTES = {
    # --- activities ---
    "cases.activity_new": [
        {"url": "/activites/nouvelle", "expect": MEDIATORS_200},
        {"url": "/activites/nouvelle", "method": "POST", "data": {}, "expect": refused(MEDIATORS_200),
         "note": "formulaire vide : erreurs, rien n'est enregistré"},
        {"url": lambda n: f"/activites/nouvelle?beneficiaire={ours(n)['person']}", "expect": MEDIATORS_200,
         "note": "pour la même personne"},
        {"url": lambda n: f"/activites/nouvelle?beneficiaire={theirs(n)['person']}", "expect": MEDIATORS_404,
         "note": "bénéficiaire d'une autre structure"},
        {"url": lambda n: f"/activites/nouvelle?dupliquer={theirs(n)['activity']}", "expect": MEDIATORS_404,
         "note": "dupliquer l'activité d'une autre structure"},
    ],
    "cases.workshop_new": [
        {"url": "/activites/atelier/nouveau", "expect": MEDIATORS_200},
        {"url": "/activites/atelier/nouveau", "method": "POST", "data": {}, "expect": refused(MEDIATORS_200),
         "note": "formulaire vide : erreurs"},
    ],
    "cases.activity_list": [
        {"url": "/activites", "expect": STAFF_200},
        {"url": "/activites?du=2026-01-01&au=2026-12-31&type=collectif&thematique=email&page=2",
         "expect": STAFF_200, "note": "filtres"},
    ],
    "cases.activity_detail": [
        {"url": lambda n: f"/activites/{ours(n)['activity']}", "expect": STAFF_200},
        {"url": lambda n: f"/activites/{theirs(n)['activity']}", "expect": OUT_OF_SCOPE,
         "note": "autre structure, autre territoire"},
        {"url": f"/activites/{MISSING}", "expect": expect(404, anonymous=302, funder=403)},
    ],
    "cases.activity_edit": [
        {"url": lambda n: f"/activites/{ours(n)['activity']}/modifier", "expect": AUTHOR_200,
         "note": "seul l'auteur modifie (l'aidante est une collègue : 403)"},
        {"url": lambda n: f"/activites/{ours(n)['activity']}/modifier", "method": "POST", "data": {},
         "expect": refused(AUTHOR_200), "note": "formulaire vide : erreurs, rien n'est changé"},
        {"url": lambda n: f"/activites/{theirs(n)['activity']}/modifier", "expect": MEDIATORS_404},
        {"url": lambda n: f"/activites/{theirs(n)['activity']}/modifier", "method": "POST", "data": {},
         "expect": refused(MEDIATORS_404)},
    ],
    "cases.activity_duplicate": [
        {"url": lambda n: f"/activites/{ours(n)['activity']}/dupliquer", "expect": MEDIATORS_302},
        {"url": lambda n: f"/activites/{theirs(n)['activity']}/dupliquer", "expect": MEDIATORS_404},
    ],
    "cases.activity_delete": [
        {"url": lambda n: f"/activites/{ours(n)['activity']}/supprimer", "method": "POST", "expect": AUTHOR_302},
        {"url": lambda n: f"/activites/{theirs(n)['activity']}/supprimer", "method": "POST",
         "expect": MEDIATORS_404},
    ],
    "cases.activity_restore": [
        {"url": lambda n: f"/activites/{ours(n)['activity']}/restaurer", "method": "POST", "expect": AUTHOR_302,
         "note": "pas supprimée : message, rien ne change"},
        {"url": lambda n: f"/activites/{theirs(n)['activity']}/restaurer", "method": "POST",
         "expect": MEDIATORS_404},
    ],
    # --- cases ---
    "cases.case_list": [
        {"url": "/dossiers", "expect": STAFF_200},
        {"url": "/dossiers?q=Matrice&etat=ouvert&mes=1&page=1", "expect": STAFF_200, "note": "recherche"},
    ],
    "cases.case_detail": [
        {"url": lambda n: f"/dossiers/{ours(n)['case']}", "expect": STAFF_200},
        {"url": lambda n: f"/dossiers/{theirs(n)['case']}", "expect": OUT_OF_SCOPE},
        {"url": f"/dossiers/{MISSING}", "expect": expect(404, anonymous=302, funder=403)},
    ],
    "cases.case_state": [
        {"url": lambda n: f"/dossiers/{ours(n)['case']}/etat", "method": "POST", "data": {"action": "pause"},
         "expect": MEDIATORS_302},
        {"url": lambda n: f"/dossiers/{theirs(n)['case']}/etat", "method": "POST", "data": {"action": "pause"},
         "expect": MEDIATORS_404},
    ],
    "cases.case_note": [
        {"url": lambda n: f"/dossiers/{ours(n)['case']}/notes", "method": "POST", "data": {"body": "Note"},
         "expect": MEDIATORS_302},
        {"url": lambda n: f"/dossiers/{theirs(n)['case']}/notes", "method": "POST", "data": {"body": "Note"},
         "expect": MEDIATORS_404},
    ],
    "cases.consent_new": [
        {"url": lambda n: f"/dossiers/{ours(n)['case']}/consentements", "method": "POST",
         "data": {"scope": "reseau"}, "expect": MEDIATORS_302},
        {"url": lambda n: f"/dossiers/{theirs(n)['case']}/consentements", "method": "POST",
         "data": {"scope": "reseau"}, "expect": MEDIATORS_404},
    ],
    "cases.consent_withdraw": [
        {"url": lambda n: f"/dossiers/{ours(n)['case']}/consentements/{ours(n)['consent']}/retirer",
         "method": "POST", "expect": MEDIATORS_302},
        {"url": lambda n: f"/dossiers/{ours(n)['case']}/consentements/{theirs(n)['consent']}/retirer",
         "method": "POST", "expect": MEDIATORS_404, "note": "consentement d'une autre personne"},
        {"url": lambda n: f"/dossiers/{theirs(n)['case']}/consentements/{theirs(n)['consent']}/retirer",
         "method": "POST", "expect": MEDIATORS_404},
    ],
    # --- beneficiaries ---
    "cases.beneficiary_search": [
        {"url": "/beneficiaires/recherche", "method": "POST", "data": {"q": "Matrice"}, "expect": MEDIATORS_200,
         "note": "suggestions du sélecteur de personne, dans le périmètre"},
    ],
    "cases.beneficiary_new": [
        {"url": "/beneficiaires/nouveau", "expect": MEDIATORS_200},
        {"url": "/beneficiaires/nouveau", "method": "POST", "data": {}, "expect": refused(MEDIATORS_200),
         "note": "formulaire vide : erreurs"},
    ],
    "cases.beneficiary_edit": [
        {"url": lambda n: f"/beneficiaires/{ours(n)['person']}/modifier", "expect": MEDIATORS_200},
        {"url": lambda n: f"/beneficiaires/{ours(n)['person']}/modifier", "method": "POST", "data": {},
         "expect": refused(MEDIATORS_200), "note": "formulaire vide : erreurs"},
        {"url": lambda n: f"/beneficiaires/{theirs(n)['person']}/modifier", "expect": MEDIATORS_404},
        {"url": lambda n: f"/beneficiaires/{theirs(n)['person']}/modifier", "method": "POST", "data": {},
         "expect": refused(MEDIATORS_404)},
    ],
}
