"""Authorization matrix: « Mon compte » (password, recovery codes, second factor, API tokens)
and the API's « who am I » route.

In the ``network`` fixture, admin, coordinator and aidant have a second factor (compulsory for
them); the mediator and the funder have none. Nobody may disable a compulsory second factor, and
pages that need an enrolled second factor send the others away (302). Funders hold API tokens
limited to « indicators:read » (so the matrix's all-scopes token is refused them: the API answers
them 401). A token of somebody else is « not found » (404) for everyone.
"""

from mediation.auth.services import create_api_token
from mediation.extensions import db
from tests.authz.roles import SIGNED_IN_200, expect, refused

WITH_SECOND_FACTOR_200 = expect(302, admin=200, coordinator=200, aidant=200)


def _someone_elses_token(n) -> int:
    token, _ = create_api_token(db.session, n.mediator_far, "Jeton d'un autre", ["directory:read"])
    return token.id


ROUTES = {
    "auth.password_change": [
        {"url": "/compte/mot-de-passe", "expect": SIGNED_IN_200},
        {"url": "/compte/mot-de-passe", "method": "POST", "data": {}, "expect": SIGNED_IN_200,
         "note": "formulaire vide : erreurs, rien n'est changé"},
    ],
    "auth.recovery_codes": [
        {"url": "/compte/codes-de-secours", "expect": WITH_SECOND_FACTOR_200},
        {"url": "/compte/codes-de-secours", "method": "POST", "data": {"code": "000000"},
         "expect": refused(WITH_SECOND_FACTOR_200), "note": "code faux : erreur, codes inchangés"},
    ],
    "auth.totp_disable": [
        {"url": "/compte/double-authentification/desactivation", "expect": expect(302),
         "note": "obligatoire ou non activée : retour à Mon compte"},
        {"url": "/compte/double-authentification/desactivation", "method": "POST",
         "data": {"current_password": "x"}, "expect": expect(302)},
    ],
    "auth.token_list": {"url": "/compte/jetons", "expect": SIGNED_IN_200},
    "auth.token_new": [
        {"url": "/compte/jetons/nouveau", "expect": SIGNED_IN_200},
        {"url": "/compte/jetons/nouveau", "method": "POST", "data": {}, "expect": SIGNED_IN_200,
         "note": "formulaire vide : erreurs, aucun jeton"},
    ],
    "auth.token_revoke": {
        "url": lambda n: f"/compte/jetons/{_someone_elses_token(n)}/revocation", "method": "POST",
        "expect": expect(404, anonymous=302), "note": "jeton d'un autre compte",
    },
    "api.me": {"url": "/api/v1/moi", "expect": expect(200, anonymous=401, funder=401)},
}
