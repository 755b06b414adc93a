"""Authorization matrix: training records (web pages and API).

Each staff member sees their own records (``mediator`` reads its own page; ``aidant`` gets 404 on
the mediator's); coordinators see the staff of their territory (404 for the far structure's mediator),
administrators everyone. The Aidants Connect habilitation is recorded and removed by the coordination
only: the aidant gets 403 on their own. The skills table, the exports and the coordination's alerts
are for coordinators and administrators. Records are created on demand (cached on the network).
"""

from __future__ import annotations

from datetime import date

from mediation.training.demo import certificate_pdf
from mediation.training.models import TrainingKind, TrainingRecord
from tests.authz.roles import expect


def _session():
    from mediation.extensions import db

    return db.session


def _record(n, person, key, kind=TrainingKind.PIX):
    if not hasattr(n, key):
        entry = TrainingRecord(user_id=person.id, kind=kind, obtained_on=date(2025, 2, 1),
                               expires_on=date(2028, 2, 1), certificate=certificate_pdf("Pix", "Matrice"),
                               certificate_type="application/pdf")
        _session().add(entry)
        _session().flush()
        setattr(n, key, entry)
    return getattr(n, key)


def mine(n):
    """A record of ``network.mediator`` (structure A, the coordinator's territory)."""
    return _record(n, n.mediator, "training_mine")


def far(n):
    return _record(n, n.mediator_far, "training_far")


def habilitation(n):
    from sqlalchemy import select

    return _session().scalar(select(TrainingRecord).where(TrainingRecord.user_id == n.aidant.id))


SUPERVISORS = expect(403, anonymous=302, admin=200, coordinator=200)
SUPERVISORS_302 = expect(403, anonymous=302, admin=302, coordinator=302)
OWN_PAGE = expect(403, anonymous=302, admin=200, coordinator=200, mediator=200, aidant=404)
FAR_PAGE = expect(403, anonymous=302, admin=200, coordinator=404, mediator=404, aidant=404)
API_ALL = expect(200, anonymous=401, funder=401)

ROUTES = {
    "training.index": [
        {"url": "/formations/", "expect": expect(200, anonymous=302, funder=403),
         "note": "les médiateurs y lisent leurs propres formations"},
        {"url": "/formations/?q=Nom&page=2", "expect": expect(200, anonymous=302, funder=403)},
    ],
    "training.person": [
        {"url": lambda n: f"/formations/personnes/{n.mediator.id}", "expect": OWN_PAGE},
        {"url": lambda n: f"/formations/personnes/{n.mediator_far.id}", "expect": FAR_PAGE, "note": "autre territoire"},
        {"url": lambda n: f"/formations/personnes/{n.mediator.id}", "method": "POST", "data": {},
         "expect": expect(403, anonymous=302, admin=422, coordinator=422, mediator=422, aidant=404),
         "note": "formulaire vide : erreurs affichées"},
        {"url": lambda n: f"/formations/personnes/{n.aidant.id}", "method": "POST",
         "data": {"kind": "aidants_connect", "obtained_on": "2026-01-05"},
         "expect": expect(403, anonymous=302, admin=302, coordinator=302, mediator=404, aidant=403),
         "note": "l'habilitation est enregistrée par la coordination"},
        {"url": lambda n: f"/formations/personnes/{n.mediator_far.id}", "method": "POST",
         "data": {"kind": "pix", "obtained_on": "2026-01-05"}, "expect": expect(
             403, anonymous=302, admin=302, coordinator=404, mediator=404, aidant=404)},
    ],
    "training.certificate_file": [
        {"url": lambda n: f"/formations/{mine(n).id}/attestation.pdf", "expect": OWN_PAGE},
        {"url": lambda n: f"/formations/{mine(n).id}/attestation.png", "expect": expect(
            403, anonymous=302, admin=404, coordinator=404, mediator=404, aidant=404), "note": "pas une image"},
        {"url": lambda n: f"/formations/{far(n).id}/attestation.pdf", "expect": FAR_PAGE},
    ],
    "training.certificate": [
        {"url": lambda n: f"/formations/{mine(n).id}/attestation", "method": "POST", "data": {},
         "expect": expect(403, anonymous=302, admin=422, coordinator=422, mediator=422, aidant=404),
         "note": "sans fichier"},
    ],
    "training.delete": [
        {"url": lambda n: f"/formations/{mine(n).id}/suppression", "method": "POST", "data": {},
         "expect": expect(403, anonymous=302, admin=302, coordinator=302, mediator=302, aidant=404)},
        {"url": lambda n: f"/formations/{habilitation(n).id}/suppression", "method": "POST", "data": {},
         "expect": expect(403, anonymous=302, admin=302, coordinator=302, mediator=404, aidant=403),
         "note": "sa propre habilitation : réservé à la coordination"},
        {"url": lambda n: f"/formations/{far(n).id}/suppression", "method": "POST", "data": {},
         "expect": expect(403, anonymous=302, admin=302, coordinator=404, mediator=404, aidant=404)},
    ],
    "training.skills": [
        {"url": "/formations/competences", "expect": SUPERVISORS},
        {"url": "/formations/competences?service=Inconnu", "expect": expect(403, anonymous=302, admin=422,
                                                                             coordinator=422)},
    ],
    "training.skills_export": {"url": "/formations/competences.csv", "expect": SUPERVISORS},
    "training.export": {"url": "/formations/export.csv", "expect": SUPERVISORS},
    "training.notices_read": {"url": "/formations/notifications/lues", "method": "POST", "data": {},
                              "expect": SUPERVISORS_302},
    "api.trainings": [
        {"url": "/api/v1/formations", "expect": API_ALL},
        {"url": "/api/v1/formations", "scopes": ["directory:read"],
         "expect": expect(403, anonymous=401, funder=401), "note": "jeton sans la permission"},
        {"url": "/api/v1/formations?personne=abc", "expect": expect(400, anonymous=401, funder=401)},
    ],
    "api.person_habilitation": [
        {"url": lambda n: f"/api/v1/personnes/{n.aidant.id}/habilitation",
         "expect": expect(404, anonymous=401, funder=401, admin=200, coordinator=200, aidant=200)},
        {"url": lambda n: f"/api/v1/personnes/{n.mediator_far.id}/habilitation",
         "expect": expect(404, anonymous=401, funder=401, admin=200)},
    ],
}
