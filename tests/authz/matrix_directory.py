"""Authorization matrix: the directory of territories, communes, structures and staff.

Staff (admin, coordinator, mediators) read the shared structure directory; funders have no
directory page (403). Changes are for admins and for coordinators inside their own territory: an
id from another territory answers 404 to a coordinator (see mediation/directory/policy.py).
Forms posted empty re-render with their errors (200) and change nothing; POST-only actions
redirect (302) to the page they were sent from.
"""

import sqlalchemy as sa

from mediation.directory.models import StaffMembership
from mediation.extensions import db
from tests.authz.roles import ADMIN_ONLY_200, ADMINS_200, STAFF_200, expect, refused

# Out of the coordinator's territory: admins only; the coordinator gets « not found ».
FAR_ADMIN_200 = expect(403, anonymous=302, admin=200, coordinator=404)
# POST-only actions: the directory administrators are redirected back; others 403.
ADMINS_302 = expect(403, anonymous=302, admin=302, coordinator=302)
FAR_ADMIN_302 = expect(403, anonymous=302, admin=302, coordinator=404)


def _membership(user):
    def url(n) -> str:
        membership = db.session.scalar(
            sa.select(StaffMembership).where(StaffMembership.user_id == getattr(n, user).id))
        return f"/annuaire/rattachements/{membership.id}/fin"

    return url


ROUTES = {
    "directory.structure_list": [
        {"url": "/annuaire/structures", "expect": STAFF_200},
        {"url": "/annuaire/structures?q=Lointain&page=1", "expect": STAFF_200, "note": "recherche"},
        {"url": "/annuaire/structures?commune=99999&archived=1", "expect": STAFF_200, "note": "filtres"},
    ],
    "directory.structure_export": {"url": "/annuaire/structures/export.csv", "expect": STAFF_200},
    "directory.structure_detail": [
        {"url": lambda n: f"/annuaire/structures/{n.structure_a.id}", "expect": STAFF_200},
        {"url": lambda n: f"/annuaire/structures/{n.structure_far.id}", "expect": STAFF_200,
         "note": "l'annuaire des structures est partagé"},
        {"url": "/annuaire/structures/999999", "expect": expect(404, anonymous=302, funder=403)},
    ],
    "directory.structure_create": [
        {"url": "/annuaire/structures/nouvelle", "expect": ADMINS_200},
        {"url": "/annuaire/structures/nouvelle", "method": "POST", "data": {}, "expect": ADMINS_200,
         "note": "formulaire vide : erreurs, rien n'est créé"},
    ],
    "directory.structure_edit": [
        {"url": lambda n: f"/annuaire/structures/{n.structure_a.id}/modifier", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/structures/{n.structure_far.id}/modifier", "expect": FAR_ADMIN_200},
        {"url": lambda n: f"/annuaire/structures/{n.structure_far.id}/modifier", "method": "POST", "data": {},
         "expect": FAR_ADMIN_200},
    ],
    "directory.structure_archive": [
        {"url": lambda n: f"/annuaire/structures/{n.structure_a.id}/archiver", "method": "POST",
         "expect": ADMINS_302},
        {"url": lambda n: f"/annuaire/structures/{n.structure_far.id}/archiver", "method": "POST",
         "expect": FAR_ADMIN_302},
    ],
    "directory.structure_restore": {
        "url": lambda n: f"/annuaire/structures/{n.structure_far.id}/restaurer", "method": "POST",
        "expect": FAR_ADMIN_302, "note": "pas archivée : message, rien ne change",
    },
    "directory.structure_import": [
        {"url": "/annuaire/structures/import", "expect": ADMINS_200},
        {"url": "/annuaire/structures/import", "method": "POST", "data": {}, "expect": ADMINS_200,
         "note": "sans fichier : erreur"},
    ],
    "directory.needs_import": [
        {"url": "/annuaire/communes/besoins/import", "expect": ADMINS_200},
        {"url": "/annuaire/communes/besoins/import", "method": "POST", "data": {}, "expect": ADMINS_200,
         "note": "sans fichier : erreur"},
    ],
    "directory.territory_list": {"url": "/annuaire/territoires", "expect": ADMINS_200},
    "directory.territory_create": [
        {"url": "/annuaire/territoires/nouveau", "expect": ADMIN_ONLY_200},
        {"url": "/annuaire/territoires/nouveau", "method": "POST", "data": {}, "expect": ADMIN_ONLY_200},
    ],
    "directory.territory_detail": [
        {"url": lambda n: f"/annuaire/territoires/{n.territory.id}", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/territoires/{n.other_territory.id}", "expect": FAR_ADMIN_200},
    ],
    "directory.territory_edit": [
        {"url": lambda n: f"/annuaire/territoires/{n.territory.id}/modifier", "expect": ADMIN_ONLY_200},
        {"url": lambda n: f"/annuaire/territoires/{n.territory.id}/modifier", "method": "POST", "data": {},
         "expect": ADMIN_ONLY_200},
    ],
    "directory.commune_create": [
        {"url": lambda n: f"/annuaire/territoires/{n.territory.id}/communes/nouvelle", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/territoires/{n.other_territory.id}/communes/nouvelle",
         "expect": FAR_ADMIN_200},
        {"url": lambda n: f"/annuaire/territoires/{n.other_territory.id}/communes/nouvelle", "method": "POST",
         "data": {}, "expect": FAR_ADMIN_200},
    ],
    "directory.commune_edit": [
        {"url": lambda n: f"/annuaire/communes/{n.commune_a.id}/modifier", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/communes/{n.commune_far.id}/modifier", "expect": FAR_ADMIN_200},
        {"url": lambda n: f"/annuaire/communes/{n.commune_far.id}/modifier", "method": "POST", "data": {},
         "expect": FAR_ADMIN_200},
    ],
    "directory.user_list": [
        {"url": "/annuaire/comptes", "expect": ADMINS_200},
        {"url": "/annuaire/comptes?role=mediator&structure=1&status=all&q=a&page=2", "expect": ADMINS_200,
         "note": "filtres"},
    ],
    "directory.user_create": [
        {"url": "/annuaire/comptes/nouveau", "expect": ADMINS_200},
        {"url": "/annuaire/comptes/nouveau", "method": "POST", "data": {}, "expect": ADMINS_200},
    ],
    "directory.user_detail": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}", "expect": FAR_ADMIN_200},
    ],
    "directory.user_edit": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/modifier", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/modifier", "method": "POST", "data": {},
         "expect": FAR_ADMIN_200},
    ],
    "directory.user_role": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/role", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/role", "method": "POST",
         "data": {}, "expect": refused(FAR_ADMIN_200), "note": "sans rôle choisi : erreur, rien ne change"},
    ],
    "directory.user_deactivate": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/desactiver", "method": "POST",
         "expect": ADMINS_302},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/desactiver", "method": "POST",
         "expect": FAR_ADMIN_302},
    ],
    "directory.user_reactivate": {
        "url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/reactiver", "method": "POST",
        "expect": ADMINS_302, "note": "déjà actif : message, rien ne change",
    },
    "directory.membership_add": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/rattachements/nouveau", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/rattachements/nouveau", "method": "POST",
         "data": {}, "expect": FAR_ADMIN_200},
    ],
    "directory.membership_end": [
        {"url": _membership("mediator_b"), "expect": ADMINS_200},
        {"url": _membership("mediator_far"), "method": "POST", "data": {}, "expect": FAR_ADMIN_200},
    ],
}
