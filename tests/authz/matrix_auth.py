"""Authorization matrix: sign-in, second factor, password reset, own account.

Public pages answer everyone; a signed-in visitor of the sign-in page is sent home (302). The
second-factor step without a pending sign-in goes back to the sign-in page (302).
"""

from mediation.auth.services import password_reset_token
from tests.authz.roles import EVERYONE_200, SIGNED_IN_200, expect

SIGNED_IN_GO_HOME = expect(302, anonymous=200)

ROUTES = {
    "auth.login": [
        {"url": "/connexion", "expect": SIGNED_IN_GO_HOME},
        {"url": "/connexion", "method": "POST", "data": {}, "expect": SIGNED_IN_GO_HOME,
         "note": "formulaire vide : erreurs pour l'anonyme"},
    ],
    "auth.login_second_factor": [
        {"url": "/connexion/verification", "expect": expect(302)},
        {"url": "/connexion/verification", "method": "POST", "data": {"code": "123456"}, "expect": expect(302)},
    ],
    "auth.logout": {"url": "/deconnexion", "method": "POST", "expect": expect(302), "signs_out": True},
    "auth.logout_everywhere": {"url": "/compte/deconnexion-partout", "method": "POST", "expect": expect(302),
                               "signs_out": True, "note": "toutes les sessions du compte se ferment"},
    "auth.password_forgotten": [
        {"url": "/mot-de-passe-oublie", "expect": EVERYONE_200},
        {"url": "/mot-de-passe-oublie", "method": "POST", "data": {}, "expect": EVERYONE_200},
    ],
    "auth.password_reset": [
        {"url": "/mot-de-passe/jeton-invalide", "expect": expect(302), "note": "lien invalide"},
        {"url": lambda n: f"/mot-de-passe/{password_reset_token(n.mediator_far)}", "expect": EVERYONE_200,
         "note": "lien valide"},
        {"url": "/mot-de-passe/jeton-invalide", "method": "POST", "data": {"password": "x" * 14,
                                                                           "confirm": "x" * 14},
         "expect": expect(302), "note": "lien invalide : rien n'est changé"},
    ],
    "auth.totp_setup": [
        {"url": "/compte/double-authentification", "expect": SIGNED_IN_200},
        {"url": "/compte/double-authentification", "method": "POST", "data": {"code": "000000"},
         "expect": expect(200, anonymous=302, mediator=422, funder=422),
         "note": "code faux : erreur (422), rien n'est activé ; déjà activée (200) pour les autres rôles"},
    ],
    "auth.account": {"url": "/compte", "expect": SIGNED_IN_200},
}
