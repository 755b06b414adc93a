"""Authorization matrix: mandates (web pages and API).

Only habilitated aidants act on mandates, and only on those of the structures they work for: the
``aidant`` column (structure A) gets 200 on structure A's mandate and 404 on the far structure's.
The plain ``mediator`` (structure A, not an aidant) gets 403 everywhere. Administrators and
coordinators list mandates without names and transfer them (404 outside a coordinator's
territory); they do not open the pages that show names (403). The verification page is public.
Mandates, a revocation request and a notification are created on demand (cached on the network).
"""

from __future__ import annotations

from mediation.cases import services as cases_services
from mediation.directory.notifications import NotificationKind
from mediation.mandates import services
from mediation.mandates.enums import Demarche, IdentityCheck, MandateDuration, RevocationReason
from mediation.mandates.models import MandateNotification
from tests.authz.roles import expect, refused


def _session():
    from mediation.extensions import db

    return db.session


def _mandate(n, structure=None, actor=None, key="mandate_a", revoke_one=False):
    if not hasattr(n, key):
        session = _session()
        structure = structure or n.structure_a
        actor = actor or n.aidant
        person = cases_services.create_beneficiary(session, actor, structure.id, cases_services.BeneficiaryInput(
            first_name="Mandante", last_name=f"Matrice{key}"))
        checked = services.CheckedDraft(structure, person, [Demarche.SOCIAL, Demarche.PAPIERS],
                                        MandateDuration.MONTH, IdentityCheck.PIECE_IDENTITE)
        mandate = services.issue_mandate(session, actor, checked)
        if revoke_one:
            services.revoke_authorizations(session, actor, mandate, [mandate.authorizations[1]],
                                           RevocationReason.AUTRE)
        setattr(n, key, mandate)
    return getattr(n, key)


def mine(n):
    return _mandate(n)


def far(n):
    return _mandate(n, n.structure_far, n.mediator_far, key="mandate_far")


def revoked(n):
    return _mandate(n, key="mandate_revoked", revoke_one=True)


def _request(n):
    if not hasattr(n, "revocation_request"):
        n.revocation_request = services.request_revocation(_session(), mine(n), channel="portefeuille")
    return n.revocation_request


def _notification(n):
    if not hasattr(n, "notification"):
        n.notification = MandateNotification(user_id=n.aidant.id, mandate_id=mine(n).id,
                                             kind=NotificationKind.EXPIRATION_PROCHE)
        _session().add(n.notification)
        _session().flush()
    return n.notification


AIDANT_ONLY = expect(403, anonymous=302, aidant=200)  # pages with names: habilitated aidants of the structure
AIDANT_404 = expect(403, anonymous=302, aidant=404)  # another structure's mandate
AIDANT_302 = expect(403, anonymous=302, aidant=302)
AIDANT_422 = expect(403, anonymous=302, aidant=422)
SUPERVISORS = expect(403, anonymous=302, admin=200, coordinator=200, aidant=200)
TRANSFER = expect(403, anonymous=302, admin=200, coordinator=200)
TRANSFER_FAR = expect(403, anonymous=302, admin=200, coordinator=404)
API_AIDANT = expect(403, anonymous=401, funder=401, aidant=200)
API_AIDANT_404 = expect(403, anonymous=401, funder=401, aidant=404)
API_AIDANT_422 = expect(403, anonymous=401, funder=401, aidant=422)

ROUTES = {
    "mandates.index": [
        {"url": "/mandats/", "expect": SUPERVISORS},
        {"url": "/mandats/?etat=tous&page=2", "expect": SUPERVISORS, "note": "filtre et page"},
    ],
    "mandates.new": [
        {"url": "/mandats/nouveau", "expect": AIDANT_ONLY},
        {"url": "/mandats/nouveau", "method": "POST", "data": {}, "expect": refused(AIDANT_ONLY),
         "note": "formulaire incomplet : erreurs affichées"},
    ],
    "mandates.confirm": [
        {"url": "/mandats/nouveau/confirmation", "expect": AIDANT_302, "note": "sans projet : retour à l'étape 1"},
        {"url": "/mandats/nouveau/confirmation", "method": "POST", "data": {}, "expect": AIDANT_302},
    ],
    "mandates.detail": [
        {"url": lambda n: f"/mandats/{mine(n).id}", "expect": AIDANT_ONLY},
        {"url": lambda n: f"/mandats/{far(n).id}", "expect": AIDANT_404, "note": "autre structure"},
    ],
    "mandates.attestation_pdf": [
        {"url": lambda n: f"/mandats/{mine(n).id}/attestation.pdf", "expect": AIDANT_ONLY},
        {"url": lambda n: f"/mandats/{far(n).id}/attestation.pdf", "expect": AIDANT_404},
    ],
    "mandates.renew": [
        {"url": lambda n: f"/mandats/{mine(n).id}/renouveler", "expect": AIDANT_ONLY},
        {"url": lambda n: f"/mandats/{mine(n).id}/renouveler", "method": "POST", "data": {},
         "expect": refused(AIDANT_ONLY), "note": "formulaire incomplet"},
        {"url": lambda n: f"/mandats/{far(n).id}/renouveler", "method": "POST", "data": {}, "expect": refused(AIDANT_404)},
    ],
    "mandates.use": [
        {"url": lambda n: f"/mandats/{mine(n).id}/utiliser", "expect": AIDANT_ONLY},
        {"url": lambda n: f"/mandats/{mine(n).id}/utiliser", "method": "POST",
         "data": {"demarche": "social", "description": "Carte vitale"}, "expect": AIDANT_302},
        {"url": lambda n: f"/mandats/{far(n).id}/utiliser", "method": "POST",
         "data": {"demarche": "social", "description": "Carte vitale"}, "expect": AIDANT_404},
    ],
    "mandates.revoke": [
        {"url": lambda n: f"/mandats/{mine(n).id}/revoquer", "expect": AIDANT_ONLY},
        {"url": lambda n: f"/mandats/{mine(n).id}/revoquer", "method": "POST",
         "data": {"demarches": ["social"], "reason": "autre"}, "expect": AIDANT_ONLY,
         "note": "sans code : refusé, formulaire affiché"},
        {"url": lambda n: f"/mandats/{far(n).id}/revoquer", "method": "POST",
         "data": {"demarches": ["social"], "reason": "autre"}, "expect": AIDANT_404},
    ],
    "mandates.revocation_pdf": [
        {"url": lambda n: f"/mandats/{revoked(n).id}/revocation.pdf", "expect": AIDANT_ONLY},
        {"url": lambda n: f"/mandats/{mine(n).id}/revocation.pdf", "expect": AIDANT_404, "note": "rien de révoqué"},
        {"url": lambda n: f"/mandats/{far(n).id}/revocation.pdf", "expect": AIDANT_404},
    ],
    "mandates.signed_scan": [
        {"url": lambda n: f"/mandats/{mine(n).id}/mandat-signe", "expect": AIDANT_404, "note": "pas de copie"},
        {"url": lambda n: f"/mandats/{mine(n).id}/mandat-signe", "method": "POST", "data": {},
         "expect": AIDANT_422, "note": "sans fichier"},
        {"url": lambda n: f"/mandats/{far(n).id}/mandat-signe", "method": "POST", "data": {}, "expect": AIDANT_404},
    ],
    "mandates.close_request": [
        {"url": lambda n: f"/mandats/demandes/{_request(n).id}/cloture", "method": "POST", "data": {},
         "expect": AIDANT_422, "note": "sans explication"},
    ],
    "mandates.notification_read": [
        {"url": lambda n: f"/mandats/notifications/{_notification(n).id}/lue", "method": "POST",
         "expect": AIDANT_302},
    ],
    "mandates.activity_check": [
        {"url": "/mandats/verification", "expect": AIDANT_ONLY},
        {"url": "/mandats/verification", "method": "POST", "data": {}, "expect": AIDANT_ONLY},
    ],
    "mandates.transfer": [
        {"url": lambda n: f"/mandats/{mine(n).id}/transfert", "expect": TRANSFER},
        {"url": lambda n: f"/mandats/{far(n).id}/transfert", "expect": TRANSFER_FAR, "note": "hors territoire"},
        {"url": lambda n: f"/mandats/{mine(n).id}/transfert", "method": "POST", "data": {}, "expect": TRANSFER,
         "note": "sans code : formulaire affiché"},
    ],
    "mandates.structure_scopes": [
        {"url": lambda n: f"/mandats/structures/{n.structure_a.id}/demarches", "expect": TRANSFER},
        {"url": lambda n: f"/mandats/structures/{n.structure_far.id}/demarches", "expect": TRANSFER_FAR,
         "note": "hors territoire"},
        {"url": lambda n: f"/mandats/structures/{n.structure_a.id}/demarches", "method": "POST",
         "data": {"demarches": ["social"]}, "expect": expect(403, anonymous=302, admin=302, coordinator=302)},
    ],
    "mandates.verify": [
        {"url": lambda n: f"/mandats/verifier/{mine(n).public_token}", "expect": expect(200)},
        {"url": "/mandats/verifier/inconnu-inconnu-inconnu-inconnu", "expect": expect(404)},
    ],
    "api.mandates": [
        {"url": "/api/v1/mandats", "expect": API_AIDANT},
        {"url": "/api/v1/mandats", "scopes": ["directory:read"], "expect": expect(403, anonymous=401, funder=401),
         "note": "jeton sans mandates:read"},
    ],
    "api.mandate": [
        {"url": lambda n: f"/api/v1/mandats/{mine(n).id}", "expect": API_AIDANT},
        {"url": lambda n: f"/api/v1/mandats/{far(n).id}", "expect": API_AIDANT_404},
    ],
    "api.mandate_create": [
        {"url": "/api/v1/mandats", "method": "POST", "json": {}, "expect": API_AIDANT_422},
    ],
    "api.mandate_revoke": [
        {"url": lambda n: f"/api/v1/mandats/{mine(n).id}/revocation", "method": "POST",
         "json": {"motif": "inconnu"}, "expect": API_AIDANT_422},
        {"url": lambda n: f"/api/v1/mandats/{far(n).id}/revocation", "method": "POST",
         "json": {"motif": "autre"}, "expect": API_AIDANT_404},
    ],
}
