"""Authorization matrix: appointments (booking with a referral, agenda, one appointment, a place's
settings and self-assessed services) and the public guide.

``ours(n)``: structure_a takes appointments (« Aide aux démarches administratives »), a person of
structure_a (network consent) has an appointment tomorrow, a self-assessed service waits for review
and a blocked period; ``theirs(n)`` the same on the far structure (other territory). Mediators of
structure_a act on theirs; the far records are « not found » (404) for everyone but admins.
Coordinators and admins manage places in scope and publish; funders get 403; anonymous visitors are
sent to sign in, except on the guide, which is public.
"""

from __future__ import annotations

from datetime import timedelta

from mediation.appointments import assessments, services
from mediation.cases import services as case_services
from mediation.cases.enums import ConsentScope
from mediation.directory.models import Structure
from mediation.extensions import db
from mediation.pathways import referrals
from mediation.types import local_today, utcnow
from tests.authz.roles import EVERYONE_200, STAFF_200, expect

SERVICE = "Aide aux démarches administratives"
MEDIATORS_200 = expect(403, anonymous=302, mediator=200, aidant=200)
MEDIATORS_302 = expect(403, anonymous=302, mediator=302, aidant=302)
OUT_OF_SCOPE = expect(404, anonymous=302, admin=200, funder=403)
OUT_OF_SCOPE_302 = expect(404, anonymous=302, admin=302, funder=403)
STAFF_302 = expect(302, anonymous=302, funder=403)
MANAGERS_302 = expect(403, anonymous=302, admin=302, coordinator=302)


def _records(n, key, mediator, structure, partner):
    cached = getattr(n, key, None)
    if cached is not None:
        return cached
    session = db.session
    structure.horaires = "Mo-Su 09:00-12:00,14:00-17:00"
    structure.services = [SERVICE]
    offer = services.save_offer(session, mediator, structure, services.OfferInput(service=SERVICE, capacity=2))
    beneficiary = case_services.create_beneficiary(session, mediator, structure.id, case_services.BeneficiaryInput(
        first_name="Matrice", last_name=f"{key}-rdv"))
    case_services.record_consent(session, mediator, beneficiary, ConsentScope.RESEAU, structure.id)
    case = case_services.live_case(session, beneficiary.id)
    day = local_today() + timedelta(days=1)
    slots = services.slots(session, offer, day, day)
    appointment = services.book(session, mediator, offer=offer, starts_at=slots[0].starts_at, case=case)
    block = services.block_time(session, mediator, structure, utcnow() + timedelta(days=3),
                                utcnow() + timedelta(days=3, hours=1), "Matrice")
    item = assessments.save(session, mediator, structure, assessments.AssessmentInput(service=SERVICE, level="information"))
    # A referral from this place to another one that takes appointments (same territory).
    other = partner
    other.horaires, other.services = "Mo-Su 09:00-12:00,14:00-17:00", [SERVICE]
    other_offer = services.offer_for(session, other.id, SERVICE) or services.save_offer(
        session, n.admin, other, services.OfferInput(service=SERVICE, capacity=2))
    referral = referrals.create_referral(session, mediator, case, referrals.ReferralInput(
        to_structure_id=other.id, from_structure_id=structure.id, service=SERVICE))
    records = {"structure": structure.id, "case": case.id, "appointment": appointment.id, "block": block.id,
               "assessment": item.id, "slot": slots[1].key, "offer": offer.id,
               "referral": referral.id, "referral_slot": services.slots(session, other_offer, day, day)[2].key}
    setattr(n, key, records)
    return records


def ours(n):
    return _records(n, "_appointments_ours", n.mediator, n.structure_a, n.structure_b)


def theirs(n):
    if getattr(n, "_appointments_far_partner", None) is None:
        n._appointments_far_partner = Structure(commune=n.commune_far, name="Médiathèque Lointaine", address="3 rue")
        db.session.add(n._appointments_far_partner)
        db.session.flush()
    return _records(n, "_appointments_theirs", n.mediator_far, n.structure_far, n._appointments_far_partner)


def _both(path, method="GET", mine=None, far=OUT_OF_SCOPE, data=None):
    cases = [{"url": lambda n: path(ours(n)), "method": method, "expect": mine},
             {"url": lambda n: path(theirs(n)), "method": method, "expect": far}]
    if data is not None:
        for case in cases:
            case["data"] = data
    return cases


ROUTES = {
    "appointments.refer_and_book": [
        {"url": lambda n: f"/rendez-vous/dossiers/{ours(n)['case']}/orienter?service={SERVICE}", "expect": MEDIATORS_200},
        {"url": lambda n: f"/rendez-vous/dossiers/{theirs(n)['case']}/orienter", "expect":
            expect(403, anonymous=302, mediator=404, aidant=404)},
        {"url": lambda n: f"/rendez-vous/dossiers/{ours(n)['case']}/orienter", "method": "POST",
         "expect": expect(403, anonymous=302, mediator=422, aidant=422),
         "note": "no place chosen: the form comes back with its message"},
    ],
    "appointments.book_for_referral": [
        {"url": lambda n: f"/rendez-vous/orientations/{ours(n)['referral']}/reserver", "expect": MEDIATORS_200},
        {"url": lambda n: f"/rendez-vous/orientations/{ours(n)['referral']}/reserver", "method": "POST",
         "data": lambda n: {"slot": ours(n)["referral_slot"]}, "expect": MEDIATORS_302},
        {"url": lambda n: f"/rendez-vous/orientations/{theirs(n)['referral']}/reserver",
         "expect": expect(403, anonymous=302, mediator=404, aidant=404)},
    ],
    "appointments.agenda": [
        {"url": "/rendez-vous/", "expect": STAFF_200},
        {"url": lambda n: f"/rendez-vous/?lieu={theirs(n)['structure']}", "expect": OUT_OF_SCOPE},
    ],
    "appointments.detail": _both(lambda r: f"/rendez-vous/{r['appointment']}", mine=STAFF_200),
    "appointments.ics": _both(lambda r: f"/rendez-vous/{r['appointment']}/agenda.ics", mine=STAFF_200),
    "appointments.act": [
        {"url": lambda n: f"/rendez-vous/{ours(n)['appointment']}/annuler", "method": "POST", "expect": MEDIATORS_302},
        {"url": lambda n: f"/rendez-vous/{theirs(n)['appointment']}/venu", "method": "POST",
         "expect": expect(403, anonymous=302, mediator=404, aidant=404)},
    ],
    "appointments.move": [
        {"url": lambda n: f"/rendez-vous/{ours(n)['appointment']}/deplacer", "expect": MEDIATORS_200},
        {"url": lambda n: f"/rendez-vous/{ours(n)['appointment']}/deplacer", "method": "POST",
         "data": lambda n: {"slot": ours(n)["slot"]}, "expect": MEDIATORS_302},
        {"url": lambda n: f"/rendez-vous/{theirs(n)['appointment']}/deplacer", "method": "POST",
         "expect": expect(403, anonymous=302, mediator=404, aidant=404)},
    ],
    "appointments.place": _both(lambda r: f"/rendez-vous/lieux/{r['structure']}", mine=STAFF_200),
    "appointments.offer_save": _both(lambda r: f"/rendez-vous/lieux/{r['structure']}/offres", "POST",
                                     mine=STAFF_302, far=OUT_OF_SCOPE_302,
                                     data={"service": SERVICE, "duration_min": "45", "capacity": "1"}),
    "appointments.block_add": _both(lambda r: f"/rendez-vous/lieux/{r['structure']}/plages", "POST",
                                    mine=STAFF_302, far=OUT_OF_SCOPE_302,
                                    data={"day": (local_today() + timedelta(days=5)).strftime("%d/%m/%Y"),
                                          "start": "09:00", "end": "10:00"}),
    "appointments.block_remove": _both(lambda r: f"/rendez-vous/plages/{r['block']}/supprimer", "POST",
                                       mine=STAFF_302, far=OUT_OF_SCOPE_302),
    "appointments.assessment_save": _both(lambda r: f"/rendez-vous/lieux/{r['structure']}/services", "POST",
                                          mine=STAFF_302, far=OUT_OF_SCOPE_302,
                                          data={"service": SERVICE, "level": "plusieurs_seances"}),
    "appointments.assessment_publish": _both(lambda r: f"/rendez-vous/services/{r['assessment']}/publier", "POST",
                                             mine=MANAGERS_302, far=expect(403, anonymous=302, admin=302, coordinator=404)),
    "wallet.my_appointments": {"url": "/carnet/mes-rendez-vous", "expect": expect(302),
                               "note": "no wallet opened in this browser: sent to open it"},
    "wallet.cancel_appointment": {"url": lambda n: f"/carnet/mes-rendez-vous/{ours(n)['appointment']}/annuler",
                                  "method": "POST", "expect": expect(302)},
    "api.places": [
        {"url": "/api/v1/lieux?commune=Ville-A", "expect": EVERYONE_200},
        {"url": "/api/v1/lieux", "expect": expect(400), "note": "no commune: refused, for everyone"},
    ],
    "api.place": {"url": lambda n: f"/api/v1/lieux/{ours(n)['structure']}", "expect": EVERYONE_200},
    "api.slots": {"url": lambda n: f"/api/v1/lieux/{ours(n)['structure']}/creneaux",
                  "expect": expect(200, anonymous=401, funder=401)},
    "api.appointment_list": {"url": "/api/v1/rendez-vous", "expect": expect(200, anonymous=401, funder=401)},
    "api.appointment_create": {
        "url": "/api/v1/rendez-vous", "method": "POST",
        "json": lambda n: {"offre_id": ours(n)["offer"], "dossier_id": ours(n)["case"], "debut": ours(n)["slot"]},
        "expect": expect(403, anonymous=401, funder=401, mediator=201, aidant=201)},
    "api.appointment_cancel": [
        {"url": lambda n: f"/api/v1/rendez-vous/{ours(n)['appointment']}/annulation", "method": "POST",
         "expect": expect(403, anonymous=401, funder=401, mediator=200, aidant=200)},
        {"url": lambda n: f"/api/v1/rendez-vous/{theirs(n)['appointment']}/annulation", "method": "POST",
         "expect": expect(403, anonymous=401, funder=401, mediator=404, aidant=404)},
    ],
    "guide.search": [
        {"url": "/guide/", "expect": EVERYONE_200},
        {"url": "/guide/?ou=Ville-A&service=Aide+aux+d%C3%A9marches+administratives&ouvert=1", "expect": EVERYONE_200},
    ],
    "guide.place": {"url": lambda n: f"/guide/lieux/{ours(n)['structure']}", "expect": EVERYONE_200},
    "guide.printable": {"url": lambda n: f"/guide/communes/{n.commune_a.id}/liste", "expect": EVERYONE_200},
    "guide.open_data": {"url": "/guide/lieux.csv", "expect": EVERYONE_200},
}
