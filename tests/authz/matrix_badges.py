"""Authorization matrix: badges (Open Badges documents, staff pages, API) and the wallet.

Open Badges documents, the public verification link and the wallet are public (the wallet is
opened by a card or a one-time code, not by a staff session: without one, /carnet/mon-carnet sends
to the code page). A person's badges follow the pathways scope: structure A's case is reached by
admin, the coordinator of « Métropole Test » and structure A's mediators; the far structure's case
by admin only (404 for the others). Mediators issue, revoke, reissue and print cards (admin and
coordinators read: 403); coordinators and admin manage issuers, badge classes and endorsements.
Data (a template per territory, a person with a badge, a card, a workshop) is created on demand.
"""

from __future__ import annotations

from mediation.badges import services as badge_services
from mediation.carnet import wallet
from mediation.cases import activities
from mediation.cases import policy as cases_policy
from mediation.cases import services as cases_services
from mediation.cases.enums import ActivityType, ConsentScope, PlaceType, Thematique
from mediation.pathways import services as pathway_services
from mediation.pathways import versions
from mediation.types import local_today
from tests.authz.roles import ADMINS_200, EVERYONE_200, STAFF_200, expect, refused


def _session():
    from mediation.extensions import db

    return db.session


def _badge(n, key="mine"):
    """(case, assertion) of a person of structure A (``mine``) or of the far structure (``far``)."""
    attr = f"badge_{key}"
    if not hasattr(n, attr):
        session = _session()
        far = key == "far"
        structure = n.structure_far if far else n.structure_a
        mediator = n.mediator_far if far else n.mediator
        coordinator = n.other_coordinator if far else n.coordinator
        territory = n.other_territory if far else n.territory
        template = versions.create_default_template(session, coordinator, territory.id)
        person = cases_services.create_beneficiary(session, mediator, structure.id, cases_services.BeneficiaryInput(
            first_name="Badge", last_name=f"Matrice{key}", email=f"badge.{key}@example.org"))
        cases_services.record_consent(session, mediator, person, ConsentScope.STRUCTURE, structure.id)
        case = cases_services.live_case(session, person.id)
        enrolment = pathway_services.enrol(session, mediator, case, template)
        step = next(m for m in versions.load_version(session, template.current_version.id).milestones
                    if m.kind == "etape")
        validation = pathway_services.validate_milestone(session, mediator, enrolment, pathway_services.ValidationInput(
            milestone_id=step.id, structure_id=structure.id, narrative="Observé"))
        assertion = badge_services.assertions_of(session, person.id)[0]
        setattr(n, attr, (case, assertion, validation, template))
    return getattr(n, attr)


def case(n, key="mine"):
    return _badge(n, key)[0]


def assertion(n, key="mine"):
    return _badge(n, key)[1]


def validation(n):
    return _badge(n)[2]


def template(n, key="mine"):
    return _badge(n, key)[3]


def card(n):
    if not hasattr(n, "badge_card"):
        n.badge_card = wallet.print_card(_session(), n.mediator, case(n).beneficiary).card
    return n.badge_card


def endorsement(n):
    if not hasattr(n, "badge_endorsement"):
        n.badge_endorsement = badge_services.endorse(_session(), n.coordinator, assertion(n).badge_class,
                                                     n.structure_b, "Reconnu")
    return n.badge_endorsement


def workshop(n):
    if not hasattr(n, "badge_workshop"):
        session = _session()
        data = activities.ActivityInput(
            type=ActivityType.COLLECTIF, structure_id=n.structure_a.id, date=local_today(), duration_min=60,
            place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=n.structure_a.id,
            thematiques=[Thematique.EMAIL.value], workshop_title="Atelier", participant_ids=[case(n).beneficiary_id])
        n.badge_workshop = activities.log_activity(session, n.mediator, data,
                                                   visible_beneficiary=cases_policy.beneficiary_loader(session, n.mediator))
    return n.badge_workshop


MEDIATORS = expect(403, anonymous=302, mediator=200, aidant=200)
MEDIATORS_302 = expect(403, anonymous=302, mediator=302, aidant=302)
FAR_ADMIN_READS = expect(404, anonymous=302, admin=200, funder=403)
FAR_ADMIN_403 = expect(404, anonymous=302, admin=403, funder=403)
MANAGERS_302 = expect(403, anonymous=302, admin=302, coordinator=302)
MANAGERS_200 = expect(403, anonymous=302, admin=200, coordinator=200)
ANON_302 = expect(302)
API_STAFF = expect(200, anonymous=401, funder=401)
API_MEDIATORS_422 = expect(403, anonymous=401, funder=401, mediator=422, aidant=422)

ROUTES = {
    # --- Open Badges documents (public) ---
    "ob.issuer": {"url": lambda n: f"/ob/emetteurs/{assertion(n).badge_class.issuer_id}", "expect": EVERYONE_200},
    "ob.revocation_list": {"url": lambda n: f"/ob/emetteurs/{assertion(n).badge_class.issuer_id}/revocations",
                           "expect": EVERYONE_200},
    "ob.badge_class": {"url": lambda n: f"/ob/badges/{assertion(n).badge_class_id}", "expect": EVERYONE_200},
    "ob.badge_image": [
        {"url": lambda n: f"/ob/badges/{assertion(n).badge_class_id}/image.png", "expect": EVERYONE_200},
        {"url": lambda n: f"/ob/badges/{assertion(n).badge_class_id}/image.svg", "expect": EVERYONE_200},
    ],
    "ob.assertion": [
        {"url": lambda n: f"/ob/assertions/{assertion(n).uid}", "expect": EVERYONE_200},
        {"url": "/ob/assertions/inconnue", "expect": expect(404)},
    ],
    "ob.baked": [
        {"url": lambda n: f"/ob/assertions/{assertion(n).uid}/badge.png", "expect": EVERYONE_200},
        {"url": lambda n: f"/ob/assertions/{assertion(n, 'far').uid}/badge.svg", "expect": EVERYONE_200},
    ],
    "ob.endorsement": {"url": lambda n: f"/ob/approbations/{endorsement(n).uid}", "expect": EVERYONE_200},
    # Open Badges 3.0: the credential (VC-JWT, and JSON with a Data Integrity proof; also when revoked:
    # its status says so), the issuer's profile (controller of the key), its status lists, the JWK.
    "ob.credential_v3": [
        {"url": lambda n: f"/ob/v3/attestations/{assertion(n).uid}", "expect": EVERYONE_200},
        {"url": lambda n: f"/ob/v3/attestations/{assertion(n, 'far').uid}?telecharger=1", "expect": EVERYONE_200},
        {"url": "/ob/v3/attestations/inconnue", "expect": expect(404)},
    ],
    "ob.credential_v3_json": [
        {"url": lambda n: f"/ob/v3/attestations/{assertion(n).uid}/badge.json", "expect": EVERYONE_200},
        {"url": "/ob/v3/attestations/inconnue/badge.json", "expect": expect(404)},
    ],
    "ob.status_list_v3_json": {"url": lambda n: f"/ob/v3/emetteurs/{assertion(n).badge_class.issuer_id}/statuts.json",
                               "expect": EVERYONE_200},
    "ob.profile_v3": [
        {"url": lambda n: f"/ob/v3/emetteurs/{assertion(n).badge_class.issuer_id}", "expect": EVERYONE_200},
        {"url": "/ob/v3/emetteurs/999999", "expect": expect(404)},
    ],
    "ob.status_list_v3": [
        {"url": lambda n: f"/ob/v3/emetteurs/{assertion(n).badge_class.issuer_id}/statuts", "expect": EVERYONE_200},
        {"url": "/ob/v3/emetteurs/999999/statuts", "expect": expect(404)},
    ],
    "ob.key_v3": {"url": "/ob/v3/cle", "expect": EVERYONE_200},
    "ob.public_verify": [
        {"url": lambda n: f"/badges/verifier/{assertion(n).uid}", "expect": EVERYONE_200},
        {"url": lambda n: f"/badges/verifier/{assertion(n).uid}", "method": "POST",
         "data": {"contact": "badge.mine@example.org"}, "expect": EVERYONE_200},
    ],
    "ob.wallet_identity": [
        {"url": lambda n: f"/carnet/identite/{badge_services.wallet_for(_session(), case(n).beneficiary).uid}",
         "expect": EVERYONE_200},
        {"url": "/carnet/identite/inconnue", "expect": expect(404)},
    ],
    # --- staff pages ---
    "badges.index": [
        {"url": "/badges/", "expect": STAFF_200},
        {"url": "/badges/?page=2", "expect": STAFF_200, "note": "page"},
    ],
    "badges.person": [
        {"url": lambda n: f"/badges/dossiers/{case(n).id}", "expect": STAFF_200},
        {"url": lambda n: f"/badges/dossiers/{case(n, 'far').id}", "expect": FAR_ADMIN_READS, "note": "autre territoire"},
    ],
    "badges.issue": [
        {"url": lambda n: f"/badges/dossiers/{case(n).id}/delivrer", "method": "POST",
         "data": lambda n: {"validation_id": validation(n).id}, "expect": MEDIATORS_302, "note": "déjà délivré"},
        {"url": lambda n: f"/badges/dossiers/{case(n, 'far').id}/delivrer", "method": "POST", "data": {},
         "expect": FAR_ADMIN_403},
    ],
    "badges.revoke": [
        {"url": lambda n: f"/badges/dossiers/{case(n).id}/badges/{assertion(n).id}/revoquer", "expect": MEDIATORS},
        {"url": lambda n: f"/badges/dossiers/{case(n).id}/badges/{assertion(n).id}/redelivrer", "method": "POST",
         "data": {"reason": "Erreur de saisie"}, "expect": MEDIATORS_302},
        {"url": lambda n: f"/badges/dossiers/{case(n, 'far').id}/badges/{assertion(n, 'far').id}/revoquer",
         "method": "POST", "data": {"reason": "x"}, "expect": FAR_ADMIN_403},
    ],
    "badges.card_print": [
        {"url": lambda n: f"/badges/dossiers/{case(n).id}/carte", "method": "POST", "expect": MEDIATORS},
        {"url": lambda n: f"/badges/dossiers/{case(n, 'far').id}/carte", "method": "POST", "expect": FAR_ADMIN_403},
    ],
    "badges.card_revoke": [
        {"url": lambda n: f"/badges/dossiers/{case(n).id}/carte/{card(n).id}/desactiver", "method": "POST",
         "expect": MEDIATORS_302},
        {"url": lambda n: f"/badges/dossiers/{case(n).id}/carte/999999/desactiver", "method": "POST",
         "expect": expect(403, anonymous=302, mediator=404, aidant=404), "note": "carte inconnue"},
    ],
    "badges.verify": [
        {"url": "/badges/verifier", "expect": STAFF_200},
        {"url": "/badges/verifier", "method": "POST", "data": {}, "expect": refused(STAFF_200), "note": "formulaire vide"},
    ],
    "badges.case_verify": [
        {"url": lambda n: f"/badges/dossiers/{case(n).id}/verifier", "expect": STAFF_200},
        {"url": lambda n: f"/badges/dossiers/{case(n, 'far').id}/verifier", "method": "POST", "data": {},
         "expect": refused(FAR_ADMIN_READS)},
    ],
    "badges.case_import": [
        {"url": lambda n: f"/badges/dossiers/{case(n).id}/importer", "method": "POST", "data": {"url": ""},
         "expect": MEDIATORS_302, "note": "adresse vide : message"},
    ],
    "badges.class_list": {"url": "/badges/modeles", "expect": STAFF_200},
    "badges.class_detail": [
        {"url": lambda n: f"/badges/modeles/{assertion(n).badge_class_id}", "expect": STAFF_200},
        {"url": lambda n: f"/badges/modeles/{assertion(n).badge_class_id}", "method": "POST",
         "data": {"description": "", "criteria": ""}, "expect": refused(expect(403, anonymous=302, admin=200, coordinator=200)),
         "note": "erreurs affichées"},
        {"url": lambda n: f"/badges/modeles/{assertion(n, 'far').badge_class_id}",
         "expect": expect(404, anonymous=302, admin=200, funder=403)},
    ],
    "badges.endorse": [
        {"url": lambda n: f"/badges/modeles/{assertion(n).badge_class_id}/approbations", "method": "POST",
         "data": lambda n: {"structure_id": n.structure_b.id, "comment": "Reconnu"}, "expect": MANAGERS_302},
        {"url": lambda n: f"/badges/modeles/{assertion(n, 'far').badge_class_id}/approbations", "method": "POST",
         "data": {}, "expect": expect(403, anonymous=302, admin=302, coordinator=404)},
    ],
    "badges.endorsement_withdraw": {
        "url": lambda n: f"/badges/approbations/{endorsement(n).id}/retirer", "method": "POST",
        "expect": MANAGERS_302},
    "badges.issuer_list": {"url": "/badges/emetteurs", "expect": ADMINS_200},
    "badges.issuer_edit": [
        {"url": lambda n: f"/badges/emetteurs/{assertion(n).badge_class.issuer_id}", "expect": MANAGERS_200},
        {"url": lambda n: f"/badges/emetteurs/{assertion(n).badge_class.issuer_id}", "method": "POST",
         "data": {"name": ""}, "expect": refused(MANAGERS_200), "note": "erreurs affichées"},
        {"url": lambda n: f"/badges/emetteurs/{assertion(n, 'far').badge_class.issuer_id}",
         "expect": expect(403, anonymous=302, admin=200, coordinator=404)},
    ],
    "badges.settings": [
        {"url": lambda n: f"/badges/parcours/{template(n).id}", "expect": STAFF_200},
        {"url": lambda n: f"/badges/parcours/{template(n).id}", "method": "POST", "data": {"auto_issue": "y"},
         "expect": MANAGERS_302},
    ],
    "badges.workshop": [
        {"url": lambda n: f"/badges/ateliers/{workshop(n).id}", "expect": MEDIATORS},
        {"url": lambda n: f"/badges/ateliers/{workshop(n).id}", "method": "POST", "data": {"milestone_id": ""},
         "expect": refused(MEDIATORS), "note": "étape manquante"},
    ],
    # --- the wallet (public) ---
    "wallet.enter": [
        {"url": "/carnet/", "expect": EVERYONE_200},
        {"url": "/carnet/", "method": "POST", "data": {"code": "ABCD"}, "expect": refused(EVERYONE_200)},
    ],
    "wallet.by_card": {"url": "/carnet/c/jeton-inconnu", "expect": expect(404)},
    "wallet.code_request": [
        {"url": "/carnet/code", "expect": EVERYONE_200},
        {"url": "/carnet/code", "method": "POST", "data": {"contact": ""}, "expect": refused(EVERYONE_200)},
    ],
    "wallet.code_enter": [
        {"url": "/carnet/code/saisir", "expect": EVERYONE_200},
        {"url": "/carnet/code/saisir", "method": "POST", "data": {}, "expect": refused(EVERYONE_200)},
    ],
    "wallet.home": {"url": "/carnet/mon-carnet", "expect": ANON_302, "note": "sans carnet ouvert"},
    "wallet.leave": {"url": "/carnet/quitter", "method": "POST", "expect": ANON_302},
    "wallet.choose_language": {"url": "/carnet/langue", "method": "POST", "data": {"lang": "en", "next": "/carnet/"},
                               "expect": ANON_302, "note": "public : la langue est gardée dans le navigateur"},
    "wallet.large_type": {"url": "/carnet/grands-caracteres", "method": "POST", "data": {"large": "1"},
                          "expect": ANON_302, "note": "public : gardé dans le navigateur"},
    "wallet.follow_up": [
        {"url": "/carnet/questionnaire/1", "expect": ANON_302, "note": "sans carnet ouvert"},
        {"url": "/carnet/questionnaire/1", "method": "POST", "data": {"online_alone": "oui"}, "expect": ANON_302,
         "note": "sans carnet ouvert"},
    ],
    "wallet.attach_email": {"url": lambda n: f"/carnet/badges/{assertion(n).uid}/adresse-email", "method": "POST",
                            "expect": ANON_302, "note": "sans carnet ouvert : rien n'est changé"},
    "wallet.carry": {"url": lambda n: f"/carnet/badges/{assertion(n).uid}/emporter", "expect": ANON_302,
                     "note": "sans carnet ouvert"},
    "wallet.mandate_revocation": [
        {"url": "/carnet/mandats/1/revocation", "expect": ANON_302, "note": "sans carnet ouvert"},
        {"url": "/carnet/mandats/1/revocation", "method": "POST", "data": {"demarches": ["papiers"]},
         "expect": ANON_302, "note": "sans carnet ouvert"},
    ],
    # --- API ---
    "api.badge_classes": [
        {"url": "/api/v1/badges/modeles", "expect": API_STAFF},
        {"url": "/api/v1/badges/modeles", "scopes": ["directory:read"], "expect": expect(403, anonymous=401, funder=401),
         "note": "sans badges:read"},
    ],
    "api.assertions": {"url": "/api/v1/badges/assertions", "expect": API_STAFF},
    "api.assertion_issue": {"url": "/api/v1/badges/assertions", "method": "POST", "json": {},
                            "expect": API_MEDIATORS_422},
    "api.assertion_revoke": [
        {"url": lambda n: f"/api/v1/badges/assertions/{assertion(n).id}/revocation", "method": "POST", "json": {},
         "expect": API_MEDIATORS_422},
        {"url": lambda n: f"/api/v1/badges/assertions/{assertion(n, 'far').id}/revocation", "method": "POST",
         "json": {}, "expect": expect(404, anonymous=401, funder=401, admin=403, coordinator=403)},
    ],
    "api.wallet_data": {"url": "/api/v1/carnet", "expect": expect(401)},
}
