"""Authorization matrix: the audit log (admins only)."""

from tests.authz.roles import ADMIN_ONLY_200

ROUTES = {
    "audit.event_list": [
        {"url": "/admin/journal/", "expect": ADMIN_ONLY_200},
        {"url": lambda n: f"/admin/journal/?object_type=structures&object_id={n.structure_far.id}",
         "expect": ADMIN_ONLY_200, "note": "filtres"},
    ],
}
