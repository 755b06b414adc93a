"""Authorization matrix: home page and health check (see tests/authz/test_matrix.py)."""

from tests.authz.roles import EVERYONE_200, expect

ROUTES = {
    "home.index": {"url": "/", "expect": expect(200, anonymous=302)},
    "home.health": {"url": "/sante", "expect": EVERYONE_200},
    "home.favicon": {"url": "/favicon.ico", "expect": EVERYONE_200},
}
