"""Authorization matrix: pathways, diagnosis, referrals, reassignment and loans (web and API).

Mediators (``mediator`` and ``aidant`` both work for structure_a) enrol, diagnose, validate and
refer on the cases their structure holds, and answer the referrals it receives; a case of
another territory (``theirs``) is « not found » (404) for them, and for the coordinator. Only
coordinators (their territory) and administrators reassign, lend mediators and design templates
(mediators: 403). Funders: 403 on pages, 401 on the API (no token). ``ours(n)`` holds the
default template of the territory, a case of structure_a (network consent) enrolled in it, a
second case not enrolled, a referral *to* structure_a from structure_b, and a loan; ``theirs(n)``
the same on the far structure.
"""

from __future__ import annotations

from datetime import timedelta

from mediation.cases import services as case_services
from mediation.cases.enums import ConsentScope
from mediation.directory import loans
from mediation.extensions import db
from mediation.pathways import referrals, versions
from mediation.pathways import services as pathway_services
from mediation.types import local_today
from tests.authz.roles import STAFF_200, expect, refused

MEDIATORS_200 = expect(403, anonymous=302, mediator=200, aidant=200)
MEDIATORS_302 = expect(403, anonymous=302, mediator=302, aidant=302)
MEDIATORS_404 = expect(403, anonymous=302, mediator=404, aidant=404)
MANAGERS_200 = expect(403, anonymous=302, admin=200, coordinator=200)
MANAGERS_302 = expect(403, anonymous=302, admin=302, coordinator=302)
MANAGERS_404 = expect(403, anonymous=302, admin=404, coordinator=404)
ADMIN_ONLY_200_404 = expect(403, anonymous=302, admin=200, coordinator=404)
ADMIN_ONLY_302_404 = expect(403, anonymous=302, admin=302, coordinator=404)
OUT_OF_SCOPE = expect(404, anonymous=302, admin=200, funder=403)
API_STAFF_200 = expect(200, anonymous=401, funder=401)
API_OUT_OF_SCOPE = expect(404, anonymous=401, funder=401, admin=200)
API_MEDIATORS = lambda status: expect(403, anonymous=401, funder=401, mediator=status, aidant=status)  # noqa: E731


def _records(n, key, mediator, structure, coordinator, territory, partner_mediator, partner_structure):
    cached = getattr(n, key, None)
    if cached is not None:
        return cached
    session = db.session
    template = versions.create_default_template(session, coordinator, territory.id)

    def person(name, actor, where):
        beneficiary = case_services.create_beneficiary(session, actor, where.id, case_services.BeneficiaryInput(
            first_name="Matrice", last_name=name))
        case_services.record_consent(session, actor, beneficiary, ConsentScope.RESEAU, where.id)
        return case_services.live_case(session, beneficiary.id)

    case = person(f"{key}-parcours", mediator, structure)
    spare = person(f"{key}-libre", mediator, structure)
    enrolment = pathway_services.enrol(session, mediator, case, template, structure_id=structure.id)
    version = versions.load_version(session, template.current_version.id)
    level = version.levels[0]
    step = level.steps[0]
    records = {"template": template.id, "case": case.id, "spare": spare.id, "enrolment": enrolment.id,
               "level": level.id, "step": step.id}
    if partner_structure is not None:
        incoming = person(f"{key}-oriente", partner_mediator, partner_structure)
        referral = referrals.create_referral(session, partner_mediator, incoming, referrals.ReferralInput(
            to_structure_id=structure.id, from_structure_id=partner_structure.id))
        records["referral"] = referral.id
    loan = loans.create_loan(session, coordinator, loans.LoanInput(
        mediator_id=mediator.id, place=f"commune:{structure.commune_id}" if partner_structure is None
        else f"commune:{partner_structure.commune_id}", starts_on=local_today(),
        ends_on=local_today() + timedelta(days=20)))
    records["loan"] = loan.id
    setattr(n, key, records)
    return records


def ours(n):
    return _records(n, "_pathways_ours", n.mediator, n.structure_a, n.coordinator, n.territory, n.mediator_b,
                    n.structure_b)


def theirs(n):
    records = getattr(n, "_pathways_theirs", None)
    if records is None:
        records = _records(n, "_pathways_theirs", n.mediator_far, n.structure_far, n.other_coordinator,
                           n.other_territory, None, None)
        # a referral out of the far structure is still needed: towards a second far structure
        from tests.conftest import Commune, Structure  # noqa: F401 - same models as the fixtures

        session = db.session
        other = Structure(commune=n.commune_far, name="EPN Lointain", address="2 rue")
        session.add(other)
        session.flush()
        case = session.get(case_services.Case, records["spare"])
        records["referral"] = referrals.create_referral(session, n.mediator_far, case, referrals.ReferralInput(
            to_structure_id=other.id, from_structure_id=n.structure_far.id)).id
    return records


def _url(path):
    return lambda n: path.format(**ours(n))


def _far(path):
    return lambda n: path.format(**theirs(n))


ROUTES = {
    # --- home and notifications ---
    "pathways.index": {"url": "/parcours", "expect": STAFF_200},
    "pathways.notifications_read": {"url": "/parcours/notifications/lues", "method": "POST",
                                    "expect": MEDIATORS_302},
    # --- a person's pathway ---
    "pathways.case_pathway": [
        {"url": _url("/parcours/dossiers/{case}"), "expect": STAFF_200},
        {"url": _far("/parcours/dossiers/{case}"), "expect": OUT_OF_SCOPE, "note": "autre territoire"},
    ],
    "pathways.enrol": [
        {"url": _url("/parcours/dossiers/{spare}/inscription"), "method": "POST",
         "data": lambda n: {"template_id": ours(n)["template"]}, "expect": MEDIATORS_302},
        {"url": _far("/parcours/dossiers/{spare}/inscription"), "method": "POST",
         "data": lambda n: {"template_id": theirs(n)["template"]}, "expect": MEDIATORS_404},
    ],
    "pathways.abandon": [
        {"url": _url("/parcours/inscriptions/{enrolment}/abandonner"), "method": "POST", "expect": MEDIATORS_302},
        {"url": _far("/parcours/inscriptions/{enrolment}/abandonner"), "method": "POST", "expect": MEDIATORS_404},
    ],
    "pathways.assessment_new": [
        {"url": _url("/parcours/dossiers/{case}/diagnostic"), "expect": MEDIATORS_200},
        {"url": _url("/parcours/dossiers/{case}/diagnostic"), "method": "POST", "data": {},
         "expect": refused(MEDIATORS_200), "note": "grille vide : erreurs, rien n'est enregistré"},
        {"url": _far("/parcours/dossiers/{case}/diagnostic"), "expect": MEDIATORS_404},
    ],
    "pathways.validate": [
        {"url": _url("/parcours/inscriptions/{enrolment}/etapes/{step}/valider"), "expect": MEDIATORS_200},
        {"url": _url("/parcours/inscriptions/{enrolment}/etapes/{step}/valider"), "method": "POST", "data": {},
         "expect": refused(MEDIATORS_200), "note": "sans preuve : erreur"},
        {"url": _far("/parcours/inscriptions/{enrolment}/etapes/{step}/valider"), "method": "POST",
         "data": {"narrative": "x"}, "expect": refused(MEDIATORS_404), "note": "dossier non partagé"},
    ],
    "pathways.refer": [
        {"url": _url("/parcours/dossiers/{case}/orienter"), "expect": MEDIATORS_200},
        {"url": _url("/parcours/dossiers/{case}/orienter"), "method": "POST", "data": {}, "expect": refused(MEDIATORS_200)},
        {"url": _far("/parcours/dossiers/{case}/orienter"), "expect": MEDIATORS_404},
    ],
    "pathways.reassign": [
        {"url": _url("/parcours/dossiers/{case}/reaffecter"), "expect": MANAGERS_200},
        {"url": _url("/parcours/dossiers/{case}/reaffecter"), "method": "POST", "data": {}, "expect": refused(MANAGERS_200),
         "note": "formulaire vide : erreurs"},
        {"url": _far("/parcours/dossiers/{case}/reaffecter"), "expect": ADMIN_ONLY_200_404},
    ],
    "pathways.bulk_reassign": [
        {"url": lambda n: f"/parcours/reaffectations?structure={n.structure_a.id}", "expect": MANAGERS_200},
        {"url": "/parcours/reaffectations", "method": "POST", "data": {}, "expect": refused(MANAGERS_200)},
    ],
    # --- referrals ---
    "pathways.referral_list": [
        {"url": "/parcours/orientations", "expect": STAFF_200},
        {"url": "/parcours/orientations?sens=envoyees&statut=proposee&page=2", "expect": STAFF_200},
    ],
    "pathways.referral_detail": [
        {"url": _url("/parcours/orientations/{referral}"), "expect": STAFF_200},
        {"url": _far("/parcours/orientations/{referral}"), "expect": OUT_OF_SCOPE},
    ],
    "pathways.referral_action": [
        {"url": _url("/parcours/orientations/{referral}/accepter"), "method": "POST", "expect": MEDIATORS_302},
        {"url": _url("/parcours/orientations/{referral}/inconnue"), "method": "POST", "expect": MEDIATORS_404},
        {"url": _far("/parcours/orientations/{referral}/accepter"), "method": "POST", "expect": MEDIATORS_404},
    ],
    "pathways.referrals_expire": {"url": "/parcours/orientations/echues", "method": "POST",
                                  "expect": expect(403, anonymous=302, admin=302)},
    # --- loans ---
    "pathways.loan_list": {"url": "/parcours/mises-a-disposition", "expect": STAFF_200},
    "pathways.loan_new": [
        {"url": "/parcours/mises-a-disposition/nouvelle", "expect": MANAGERS_200},
        {"url": "/parcours/mises-a-disposition/nouvelle", "method": "POST", "data": {}, "expect": refused(MANAGERS_200)},
    ],
    "pathways.loan_end": [
        {"url": _url("/parcours/mises-a-disposition/{loan}/terminer"), "method": "POST", "expect": MANAGERS_302},
        {"url": _far("/parcours/mises-a-disposition/{loan}/terminer"), "method": "POST",
         "expect": ADMIN_ONLY_302_404},
    ],
    # --- templates ---
    "pathways.template_list": {"url": "/parcours/modeles", "expect": STAFF_200},
    "pathways.template_new": [
        {"url": "/parcours/modeles/nouveau", "expect": MANAGERS_200},
        {"url": "/parcours/modeles/nouveau", "method": "POST", "data": {}, "expect": refused(MANAGERS_200)},
    ],
    "pathways.template_default": {"url": "/parcours/modeles/par-defaut", "method": "POST", "expect": MANAGERS_302},
    "pathways.template_detail": [
        {"url": _url("/parcours/modeles/{template}"), "expect": STAFF_200},
        {"url": _far("/parcours/modeles/{template}"), "expect": OUT_OF_SCOPE},
    ],
    "pathways.template_edit": [
        {"url": _url("/parcours/modeles/{template}/modifier"), "expect": MANAGERS_200},
        {"url": _url("/parcours/modeles/{template}/modifier"), "method": "POST", "data": {}, "expect": refused(MANAGERS_200)},
        {"url": _far("/parcours/modeles/{template}/modifier"), "expect": ADMIN_ONLY_200_404},
    ],
    "pathways.template_archive": [
        {"url": _url("/parcours/modeles/{template}/archiver"), "method": "POST", "expect": MANAGERS_302},
        {"url": _far("/parcours/modeles/{template}/archiver"), "method": "POST", "expect": ADMIN_ONLY_302_404},
    ],
    "pathways.level_new": [
        {"url": _url("/parcours/modeles/{template}/niveaux/nouveau"), "expect": MANAGERS_200},
        {"url": _url("/parcours/modeles/{template}/niveaux/nouveau"), "method": "POST", "data": {},
         "expect": refused(MANAGERS_200)},
    ],
    "pathways.level_edit": [
        {"url": _url("/parcours/modeles/{template}/niveaux/{level}"), "expect": MANAGERS_200},
        {"url": _url("/parcours/modeles/{template}/niveaux/{level}"), "method": "POST", "data": {},
         "expect": refused(MANAGERS_200)},
        {"url": _far("/parcours/modeles/{template}/niveaux/{level}"), "expect": ADMIN_ONLY_200_404},
    ],
    "pathways.level_action": [
        {"url": _url("/parcours/modeles/{template}/niveaux/{level}/descendre"), "method": "POST",
         "expect": MANAGERS_302},
        {"url": _url("/parcours/modeles/{template}/niveaux/{level}/inconnue"), "method": "POST",
         "expect": MANAGERS_404},
    ],
    "pathways.milestone_new": [
        {"url": _url("/parcours/modeles/{template}/niveaux/{level}/etapes/nouvelle"), "expect": MANAGERS_200},
        {"url": _url("/parcours/modeles/{template}/niveaux/{level}/etapes/nouvelle"), "method": "POST",
         "data": {}, "expect": refused(MANAGERS_200)},
    ],
    "pathways.milestone_edit": [
        {"url": _url("/parcours/modeles/{template}/etapes/{step}"), "expect": MANAGERS_200},
        {"url": _url("/parcours/modeles/{template}/etapes/{step}"), "method": "POST", "data": {},
         "expect": refused(MANAGERS_200)},
        {"url": _far("/parcours/modeles/{template}/etapes/{step}"), "expect": ADMIN_ONLY_200_404},
    ],
    "pathways.milestone_action": {"url": _url("/parcours/modeles/{template}/etapes/{step}/descendre"),
                                  "method": "POST", "expect": MANAGERS_302},
    # --- API ---
    "api.enrolment_list": {"url": "/api/v1/inscriptions", "expect": API_STAFF_200},
    "api.enrolment_detail": [
        {"url": _url("/api/v1/inscriptions/{enrolment}"), "expect": API_STAFF_200},
        {"url": _far("/api/v1/inscriptions/{enrolment}"), "expect": API_OUT_OF_SCOPE},
    ],
    "api.enrolment_create": {"url": "/api/v1/inscriptions", "method": "POST",
                             "json": lambda n: {"dossier_id": ours(n)["spare"], "parcours_id": ours(n)["template"]},
                             "expect": API_MEDIATORS(201)},
    "api.validation_list": {"url": _url("/api/v1/inscriptions/{enrolment}/validations"), "expect": API_STAFF_200},
    "api.validation_create": [
        {"url": _url("/api/v1/inscriptions/{enrolment}/validations"), "method": "POST",
         "json": lambda n: {"etape_id": ours(n)["step"], "recit": "Seule."}, "expect": API_MEDIATORS(201)},
        {"url": _far("/api/v1/inscriptions/{enrolment}/validations"), "method": "POST",
         "json": lambda n: {"etape_id": theirs(n)["step"], "recit": "Seule."}, "expect": API_MEDIATORS(404)},
    ],
    "api.referral_list": {"url": "/api/v1/orientations?sens=envoyees", "expect": API_STAFF_200},
    "api.referral_detail": [
        {"url": _url("/api/v1/orientations/{referral}"), "expect": API_STAFF_200},
        {"url": _far("/api/v1/orientations/{referral}"), "expect": API_OUT_OF_SCOPE},
    ],
    "api.referral_create": {"url": "/api/v1/orientations", "method": "POST",
                            "json": lambda n: {"dossier_id": ours(n)["spare"], "vers_structure_id": n.structure_b.id},
                            "expect": API_MEDIATORS(201)},
    "api.referral_answer": [
        {"url": _url("/api/v1/orientations/{referral}/reponse"), "method": "POST", "json": {"action": "accepter"},
         "expect": API_MEDIATORS(200)},
        {"url": _far("/api/v1/orientations/{referral}/reponse"), "method": "POST", "json": {"action": "accepter"},
         "expect": API_MEDIATORS(404)},
    ],
}
