"""Authorization matrix: the JSON API under /api/v1.

Each role calls with its own personal token holding every scope; funders cannot hold a token
(``create_api_token`` refuses them), so they call without one, like the anonymous column: 401.
A token without the route's scope gets 403.
"""

from tests.authz.roles import EVERYONE_200, expect

TOKEN_200 = expect(200, anonymous=401, funder=401)
TOKEN_WITHOUT_SCOPE = expect(403, anonymous=401, funder=401)

ROUTES = {
    "api.openapi": {"url": "/api/v1/openapi.json", "expect": EVERYONE_200},
    "api.structures": [
        {"url": "/api/v1/structures", "expect": TOKEN_200},
        {"url": "/api/v1/structures", "scopes": ["activities:read"], "expect": TOKEN_WITHOUT_SCOPE,
         "note": "jeton sans directory:read"},
    ],
    "api.structure_detail": [
        {"url": lambda n: f"/api/v1/structures/{n.structure_a.id}", "expect": TOKEN_200},
        {"url": lambda n: f"/api/v1/structures/{n.structure_far.id}", "expect": TOKEN_200,
         "note": "l'annuaire des structures est partagé"},
        {"url": "/api/v1/structures/999999", "expect": expect(404, anonymous=401, funder=401)},
        {"url": lambda n: f"/api/v1/structures/{n.structure_a.id}", "scopes": ["activities:read"],
         "expect": TOKEN_WITHOUT_SCOPE, "note": "jeton sans directory:read"},
    ],
    "api.communes": [
        {"url": "/api/v1/communes?page=1&per_page=10", "expect": TOKEN_200},
        {"url": "/api/v1/communes", "scopes": ["activities:read"], "expect": TOKEN_WITHOUT_SCOPE,
         "note": "jeton sans directory:read"},
    ],
}
