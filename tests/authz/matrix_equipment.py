"""Authorization matrix: the equipment library (web pages and API).

Mediators of structure A (``mediator`` and ``aidant``) act on structure A's devices and loans and get
404 on the far structure's. Coordinators (their territory) and administrators see the inventory and
loans without names, transfer and write devices off, but do not hand devices over nor open the
agreement (403). Funders see nothing (403), anonymous visitors are sent to sign in (302; API: 401).
Devices and handovers are created on demand and cached on the network.
"""

from __future__ import annotations

import io
from datetime import timedelta

from mediation.cases import policy as cases_policy
from mediation.cases import services as cases_services
from mediation.equipment import services
from mediation.types import local_today
from tests.authz.roles import STAFF_200, expect, refused


def _session():
    from mediation.extensions import db

    return db.session


def _device(n, key="device_a", structure=None, actor=None):
    if not hasattr(n, key):
        structure = structure or n.structure_a
        actor = actor or n.mediator
        setattr(n, key, services.add_device(_session(), actor, services.DeviceInput(
            structure_id=structure.id, kind="tablette", model="Galaxy Tab A", asset_number=f"MAT-{key}",
            condition="bon", origin="achat")))
    return getattr(n, key)


def _person(n, structure, actor):
    return cases_services.create_beneficiary(_session(), actor, structure.id, cases_services.BeneficiaryInput(
        first_name="Emprunteuse", last_name="Matrice"))


def _loan(n, key="loan_a", structure=None, actor=None, scanned=False):
    if not hasattr(n, key):
        structure = structure or n.structure_a
        actor = actor or n.mediator
        device = _device(n, f"device_for_{key}", structure, actor)
        person = _person(n, structure, actor)
        loan = services.hand_over(_session(), actor, services.HandoverInput(
            device_id=device.id, beneficiary_id=person.id, kind="pret", due_on=local_today() + timedelta(days=10),
            conditions_accepted=True), visible_beneficiary=cases_policy.beneficiary_loader(_session(), actor))
        if scanned:
            services.attach_signed_scan(_session(), actor, loan, b"%PDF-1.4 convention signee")
        setattr(n, key, loan)
    return getattr(n, key)


def device(n):
    return _device(n)


def far_device(n):
    return _device(n, "device_far", n.structure_far, n.mediator_far)


def loan(n):
    return _loan(n)


def scanned(n):
    return _loan(n, "loan_scanned", scanned=True)


def far_loan(n):
    return _loan(n, "loan_far", n.structure_far, n.mediator_far)


MEDIATORS = expect(403, anonymous=302, mediator=200, aidant=200)
MEDIATORS_302 = expect(403, anonymous=302, mediator=302, aidant=302)
MEDIATORS_404 = expect(403, anonymous=302, mediator=404, aidant=404)
STAFF_302 = expect(302, funder=403)
FAR = expect(404, anonymous=302, admin=200, funder=403)  # another territory's record: only admins see it
SUPERVISORS_302 = expect(403, anonymous=302, admin=302, coordinator=302)
API_STAFF = expect(200, anonymous=401, funder=401)
API_STAFF_FAR = expect(404, anonymous=401, funder=401, admin=200)
API_MEDIATORS = expect(403, anonymous=401, funder=401, mediator=200, aidant=200)
API_MEDIATORS_404 = expect(403, anonymous=401, funder=401, mediator=404, aidant=404)


def _lend_form(n):
    d = _device(n, "device_to_lend")
    person = _person(n, n.structure_a, n.mediator)
    return {"device_id": d.id, "beneficiary_id": person.id, "kind": "pret",
            "due_on": (local_today() + timedelta(days=7)).isoformat(), "conditions_accepted": "y"}


ROUTES = {
    "equipment.index": {"url": "/materiel/", "expect": STAFF_200},
    "equipment.export": [
        {"url": "/materiel/inventaire.csv", "expect": STAFF_200},
        {"url": "/materiel/inventaire.xlsx", "expect": STAFF_200},
    ],
    "equipment.device_new": [
        {"url": "/materiel/nouveau", "expect": MEDIATORS},
        {"url": "/materiel/nouveau", "method": "POST", "data": {"model": ""}, "expect": refused(MEDIATORS)},
        {"url": "/materiel/nouveau", "method": "POST", "expect": MEDIATORS_302,
         "data": lambda n: {"structure_id": n.structure_a.id, "kind": "smartphone", "model": "Fairphone 4",
                            "asset_number": "FP-1", "condition": "neuf", "origin": "achat"}},
    ],
    "equipment.device_detail": [
        {"url": lambda n: f"/materiel/{device(n).id}", "expect": STAFF_200},
        {"url": lambda n: f"/materiel/{far_device(n).id}", "expect": FAR},
    ],
    "equipment.hand_over": [
        {"url": "/materiel/remise", "expect": MEDIATORS},
        {"url": lambda n: f"/materiel/remise?appareil={far_device(n).id}", "expect": MEDIATORS_404},
        {"url": "/materiel/remise", "method": "POST", "data": _lend_form, "expect": MEDIATORS_302},
        {"url": "/materiel/remise", "method": "POST", "data": {"kind": "pret"}, "expect": refused(MEDIATORS)},
    ],
    "equipment.handover_detail": [
        {"url": lambda n: f"/materiel/remises/{loan(n).id}", "expect": STAFF_200},
        {"url": lambda n: f"/materiel/remises/{far_loan(n).id}", "expect": FAR},
    ],
    "equipment.agreement_pdf": [
        {"url": lambda n: f"/materiel/remises/{loan(n).id}/convention.pdf", "expect": MEDIATORS},
        {"url": lambda n: f"/materiel/remises/{far_loan(n).id}/convention.pdf", "expect": MEDIATORS_404},
    ],
    "equipment.scan_upload": [
        {"url": lambda n: f"/materiel/remises/{loan(n).id}/convention-signee", "method": "POST",
         "data": lambda n: {"scan": (io.BytesIO(b"%PDF-1.4 signee"), "convention.pdf")}, "expect": MEDIATORS_302},
        {"url": lambda n: f"/materiel/remises/{loan(n).id}/convention-signee", "method": "POST",
         "data": lambda n: {"scan": (io.BytesIO(b"GIF89a"), "convention.pdf")}, "expect": refused(MEDIATORS)},
        {"url": lambda n: f"/materiel/remises/{far_loan(n).id}/convention-signee", "method": "POST",
         "data": lambda n: {"scan": (io.BytesIO(b"%PDF-1.4"), "c.pdf")}, "expect": MEDIATORS_404},
    ],
    "equipment.scan_download": [
        {"url": lambda n: f"/materiel/remises/{scanned(n).id}/convention-signee.pdf", "expect": MEDIATORS},
        {"url": lambda n: f"/materiel/remises/{scanned(n).id}/convention-signee.png", "expect": MEDIATORS_404,
         "note": "ce n'est pas le format du fichier"},
        {"url": lambda n: f"/materiel/remises/{loan(n).id}/convention-signee.pdf", "expect": MEDIATORS_404,
         "note": "pas encore de convention signée"},
    ],
    "equipment.return_device": [
        {"url": lambda n: f"/materiel/remises/{loan(n).id}/retour", "expect": MEDIATORS},
        {"url": lambda n: f"/materiel/remises/{loan(n).id}/retour", "method": "POST",
         "data": {"condition": "endommage"}, "expect": MEDIATORS_302},
        {"url": lambda n: f"/materiel/remises/{far_loan(n).id}/retour", "method": "POST",
         "data": {"condition": "bon"}, "expect": MEDIATORS_404},
    ],
    "equipment.set_condition": [
        {"url": lambda n: f"/materiel/{device(n).id}/etat", "method": "POST", "data": {"condition": "usage"},
         "expect": MEDIATORS_302},
    ],
    "equipment.transfer": [
        {"url": lambda n: f"/materiel/{device(n).id}/transfert", "method": "POST",
         "data": lambda n: {"structure_id": n.structure_b.id}, "expect": SUPERVISORS_302},
        {"url": lambda n: f"/materiel/{far_device(n).id}/transfert", "method": "POST",
         "data": lambda n: {"structure_id": n.structure_b.id}, "expect": expect(403, anonymous=302, admin=302,
                                                                                coordinator=404)},
    ],
    "equipment.write_off": [
        {"url": lambda n: f"/materiel/{device(n).id}/reforme", "method": "POST", "data": {"reason": "Perdu"},
         "expect": STAFF_302},
        {"url": lambda n: f"/materiel/{far_device(n).id}/reforme", "method": "POST", "data": {"reason": "Perdu"},
         "expect": expect(404, anonymous=302, admin=302, funder=403)},
    ],
    "equipment.reminders": {"url": "/materiel/rappels", "method": "POST", "expect": STAFF_302,
                            "note": "sans « confirmer » : rien n'est lancé (le job est testé à part)"},
    # --- API -------------------------------------------------------------------------------------
    "api.equipment_devices": [
        {"url": "/api/v1/materiel", "expect": API_STAFF},
        {"url": "/api/v1/materiel", "scopes": ["directory:read"], "expect": expect(403, anonymous=401, funder=401),
         "note": "jeton sans equipment:read"},
    ],
    "api.equipment_device": [
        {"url": lambda n: f"/api/v1/materiel/{device(n).id}", "expect": API_STAFF},
        {"url": lambda n: f"/api/v1/materiel/{far_device(n).id}", "expect": API_STAFF_FAR},
    ],
    "api.equipment_handovers": {"url": "/api/v1/materiel/remises?en_retard=1", "expect": API_STAFF},
    "api.equipment_handover_create": [
        {"url": "/api/v1/materiel/remises", "method": "POST", "json": {"type": "pret"},
         "expect": expect(403, anonymous=401, funder=401, mediator=422, aidant=422)},
        {"url": "/api/v1/materiel/remises", "method": "POST", "json": {"type": "pret"}, "scopes": ["equipment:read"],
         "expect": expect(403, anonymous=401, funder=401), "note": "jeton sans equipment:write"},
    ],
    "api.equipment_handover_return": [
        {"url": lambda n: f"/api/v1/materiel/remises/{loan(n).id}/retour", "method": "POST",
         "json": {"etat": "endommage"}, "expect": API_MEDIATORS},
        {"url": lambda n: f"/api/v1/materiel/remises/{far_loan(n).id}/retour", "method": "POST",
         "json": {"etat": "bon"}, "expect": API_MEDIATORS_404},
    ],
}
