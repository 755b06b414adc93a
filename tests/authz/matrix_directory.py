"""Authorization matrix: the directory of territories, communes, structures and staff.

Staff (admin, coordinator, mediators) read the shared structure directory; funders have no
directory page (403). Changes are for admins and for coordinators inside their own territory:
an object of another territory answers 404 to a coordinator, as if it did not exist (see
mediation/directory/policy.py). In the ``network`` fixture, the coordinator's territory holds
commune_a/structure_a and commune_b/structure_b; ``other_territory`` holds commune_far,
structure_far and mediator_far.
"""

from tests.authz.roles import ADMIN_ONLY_200, ADMINS_200, STAFF_200, expect

MISSING = 999_999  # an id no object has

# Directory administrators on an object outside the coordinator's territory.
ADMIN_ONLY_IN_SCOPE = expect(403, anonymous=302, admin=200, coordinator=404)
# POST buttons (archive, deactivate…): done, then back to the detail page.
ADMINS_302 = expect(403, anonymous=302, admin=302, coordinator=302)
ADMIN_ONLY_302_IN_SCOPE = expect(403, anonymous=302, admin=302, coordinator=404)
STAFF_404 = expect(404, anonymous=302, funder=403)
ADMINS_404 = expect(403, anonymous=302, admin=404, coordinator=404)


def _membership(user):
    return user.memberships[0].id


ROUTES = {
    # --- structures ---
    "directory.structure_list": [
        {"url": "/annuaire/structures", "expect": STAFF_200},
        {"url": "/annuaire/structures?q=Lointain&archived=1&page=1", "expect": STAFF_200, "note": "filtres"},
    ],
    "directory.structure_export": {"url": "/annuaire/structures/export.csv", "expect": STAFF_200},
    "directory.structure_detail": [
        {"url": lambda n: f"/annuaire/structures/{n.structure_a.id}", "expect": STAFF_200},
        {"url": lambda n: f"/annuaire/structures/{n.structure_far.id}", "expect": STAFF_200,
         "note": "l'annuaire des structures est partagé"},
        {"url": f"/annuaire/structures/{MISSING}", "expect": STAFF_404},
    ],
    "directory.structure_create": [
        {"url": "/annuaire/structures/nouvelle", "expect": ADMINS_200},
        {"url": "/annuaire/structures/nouvelle", "method": "POST", "data": {}, "expect": ADMINS_200,
         "note": "formulaire vide : erreurs"},
    ],
    "directory.structure_edit": [
        {"url": lambda n: f"/annuaire/structures/{n.structure_a.id}/modifier", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/structures/{n.structure_far.id}/modifier", "expect": ADMIN_ONLY_IN_SCOPE,
         "note": "autre territoire"},
        {"url": f"/annuaire/structures/{MISSING}/modifier", "expect": ADMINS_404},
        {"url": lambda n: f"/annuaire/structures/{n.structure_a.id}/modifier", "method": "POST", "data": {},
         "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/structures/{n.structure_far.id}/modifier", "method": "POST", "data": {},
         "expect": ADMIN_ONLY_IN_SCOPE, "note": "autre territoire"},
    ],
    "directory.structure_archive": [
        {"url": lambda n: f"/annuaire/structures/{n.structure_b.id}/archiver", "method": "POST",
         "expect": ADMINS_302},
        {"url": lambda n: f"/annuaire/structures/{n.structure_far.id}/archiver", "method": "POST",
         "expect": ADMIN_ONLY_302_IN_SCOPE, "note": "autre territoire"},
    ],
    "directory.structure_restore": [
        {"url": lambda n: f"/annuaire/structures/{n.structure_b.id}/restaurer", "method": "POST",
         "expect": ADMINS_302},
        {"url": lambda n: f"/annuaire/structures/{n.structure_far.id}/restaurer", "method": "POST",
         "expect": ADMIN_ONLY_302_IN_SCOPE, "note": "autre territoire"},
    ],
    "directory.structure_import": [
        {"url": "/annuaire/structures/import", "expect": ADMINS_200},
        {"url": "/annuaire/structures/import", "method": "POST", "data": {}, "expect": ADMINS_200,
         "note": "sans fichier : erreur"},
    ],
    # --- territories and communes ---
    "directory.territory_list": {"url": "/annuaire/territoires", "expect": ADMINS_200},
    "directory.territory_create": [
        {"url": "/annuaire/territoires/nouveau", "expect": ADMIN_ONLY_200},
        {"url": "/annuaire/territoires/nouveau", "method": "POST", "data": {}, "expect": ADMIN_ONLY_200},
    ],
    "directory.territory_detail": [
        {"url": lambda n: f"/annuaire/territoires/{n.territory.id}", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/territoires/{n.other_territory.id}", "expect": ADMIN_ONLY_IN_SCOPE,
         "note": "autre territoire"},
    ],
    "directory.territory_edit": [
        {"url": lambda n: f"/annuaire/territoires/{n.territory.id}/modifier", "expect": ADMIN_ONLY_200,
         "note": "renommer un territoire : administrateurs seulement"},
        {"url": lambda n: f"/annuaire/territoires/{n.territory.id}/modifier", "method": "POST", "data": {},
         "expect": ADMIN_ONLY_200},
    ],
    "directory.commune_create": [
        {"url": lambda n: f"/annuaire/territoires/{n.territory.id}/communes/nouvelle", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/territoires/{n.other_territory.id}/communes/nouvelle",
         "expect": ADMIN_ONLY_IN_SCOPE, "note": "autre territoire"},
        {"url": lambda n: f"/annuaire/territoires/{n.territory.id}/communes/nouvelle", "method": "POST",
         "data": {}, "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/territoires/{n.other_territory.id}/communes/nouvelle", "method": "POST",
         "data": {}, "expect": ADMIN_ONLY_IN_SCOPE, "note": "autre territoire"},
    ],
    "directory.commune_edit": [
        {"url": lambda n: f"/annuaire/communes/{n.commune_a.id}/modifier", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/communes/{n.commune_far.id}/modifier", "expect": ADMIN_ONLY_IN_SCOPE,
         "note": "autre territoire"},
        {"url": lambda n: f"/annuaire/communes/{n.commune_a.id}/modifier", "method": "POST", "data": {},
         "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/communes/{n.commune_far.id}/modifier", "method": "POST", "data": {},
         "expect": ADMIN_ONLY_IN_SCOPE, "note": "autre territoire"},
    ],
    # --- staff accounts and memberships ---
    "directory.user_list": [
        {"url": "/annuaire/comptes", "expect": ADMINS_200},
        {"url": "/annuaire/comptes?q=Nom&role=mediator&status=inactive", "expect": ADMINS_200, "note": "filtres"},
    ],
    "directory.user_create": [
        {"url": "/annuaire/comptes/nouveau", "expect": ADMINS_200},
        {"url": "/annuaire/comptes/nouveau", "method": "POST", "data": {}, "expect": ADMINS_200},
    ],
    "directory.user_detail": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}", "expect": ADMIN_ONLY_IN_SCOPE,
         "note": "médiateur d'un autre territoire"},
        {"url": lambda n: f"/annuaire/comptes/{n.funder.id}", "expect": ADMIN_ONLY_IN_SCOPE,
         "note": "compte financeur : hors du périmètre d'un coordinateur"},
    ],
    "directory.user_edit": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/modifier", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/modifier", "expect": ADMIN_ONLY_IN_SCOPE,
         "note": "autre territoire"},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/modifier", "method": "POST", "data": {},
         "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/modifier", "method": "POST", "data": {},
         "expect": ADMIN_ONLY_IN_SCOPE, "note": "autre territoire"},
    ],
    "directory.user_role": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/role", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/role", "expect": ADMIN_ONLY_IN_SCOPE,
         "note": "autre territoire"},
        {"url": lambda n: f"/annuaire/comptes/{n.admin.id}/role", "expect": ADMINS_404 | {"admin": 403},
         "note": "son propre rôle : refusé ; un coordinateur ne voit pas l'administrateur"},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/role", "method": "POST", "data": {},
         "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/role", "method": "POST", "data": {},
         "expect": ADMIN_ONLY_IN_SCOPE, "note": "autre territoire"},
    ],
    "directory.user_deactivate": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/desactiver", "method": "POST",
         "expect": ADMINS_302},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/desactiver", "method": "POST",
         "expect": ADMIN_ONLY_302_IN_SCOPE, "note": "autre territoire"},
    ],
    "directory.user_reactivate": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/reactiver", "method": "POST",
         "expect": ADMINS_302},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/reactiver", "method": "POST",
         "expect": ADMIN_ONLY_302_IN_SCOPE, "note": "autre territoire"},
    ],
    "directory.membership_add": [
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/rattachements/nouveau", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/rattachements/nouveau",
         "expect": ADMIN_ONLY_IN_SCOPE, "note": "autre territoire"},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_b.id}/rattachements/nouveau", "method": "POST",
         "data": {}, "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/comptes/{n.mediator_far.id}/rattachements/nouveau", "method": "POST",
         "data": {}, "expect": ADMIN_ONLY_IN_SCOPE, "note": "autre territoire"},
    ],
    "directory.membership_end": [
        {"url": lambda n: f"/annuaire/rattachements/{_membership(n.mediator_b)}/fin", "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/rattachements/{_membership(n.mediator_far)}/fin",
         "expect": ADMIN_ONLY_IN_SCOPE, "note": "autre territoire"},
        {"url": lambda n: f"/annuaire/rattachements/{_membership(n.mediator_b)}/fin", "method": "POST",
         "data": {}, "expect": ADMINS_200},
        {"url": lambda n: f"/annuaire/rattachements/{_membership(n.mediator_far)}/fin", "method": "POST",
         "data": {}, "expect": ADMIN_ONLY_IN_SCOPE, "note": "autre territoire"},
    ],
}
