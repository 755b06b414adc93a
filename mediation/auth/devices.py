"""Where a sign-in attempt comes from, for throttling: the client address and whether the browser
is a « known device » of the account.

A known device is a browser where the account signed in successfully: it gets a signed cookie
(``mediation_appareil``, HttpOnly, 180 days) listing opaque tokens of the accounts signed in
there (an HMAC of the e-mail with ``SECRET_KEY``, never the address itself; at most 5 accounts).
On a known device the per-account limit (failures from every address together) does not apply:
an attacker spreading guesses over many addresses locks the account everywhere else, never on
the owner's usual computer or phone. The per (account, address) and per-address limits always
apply. The cookie proves nothing else: it does not sign anyone in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from mediation import ratelimit

COOKIE = "mediation_appareil"
LIFETIME = timedelta(days=180)
MAX_ACCOUNTS = 5


@dataclass(frozen=True)
class Origin:
    """A sign-in attempt's client address (after MEDIATION_TRUSTED_PROXIES) and the known-device
    tokens its browser presented."""

    address: str
    device_tokens: frozenset[str] = frozenset()

    def knows(self, email: str) -> bool:
        return device_token(email) in self.device_tokens


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def device_token(email: str) -> str:
    return ratelimit.key("known-device", email)[:32]


def _tokens(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        data = _serializer().loads(raw, max_age=int(LIFETIME.total_seconds()))
    except BadSignature:
        return []
    return [t for t in data if isinstance(t, str)][:MAX_ACCOUNTS] if isinstance(data, list) else []


def current_origin() -> Origin:
    """The current request's origin (outside a request: an unknown address, no known device)."""
    if not has_request_context():
        return Origin("hors-requete")
    return Origin(request.remote_addr or "inconnu", frozenset(_tokens(request.cookies.get(COOKIE))))


def remember(response, email: str):
    """After a successful sign-in: this browser becomes a known device of the account."""
    token = device_token(email)
    tokens = [token] + [t for t in _tokens(request.cookies.get(COOKIE)) if t != token]
    response.set_cookie(
        COOKIE, _serializer().dumps(tokens[:MAX_ACCOUNTS]), max_age=int(LIFETIME.total_seconds()),
        httponly=True, secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), samesite="Lax",
    )
    return response
