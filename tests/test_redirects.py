"""Open redirects: every redirect target taken from the request goes through
mediation.redirects.safe_target; only a path of this site passes, whatever the spelling."""

from urllib.parse import quote, urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediation.auth.models import Role
from mediation.redirects import is_same_origin_path, safe_target
from tests.conftest import PASSWORD

ORIGIN = "https://mediation.example.org/connexion"
DEFAULT = "/"

# Pieces an attacker combines to leave the site: separators browsers drop or read as « / »,
# schemes, hosts, percent-encoded and Unicode look-alike spellings.
DANGEROUS_PIECES = [
    "/", "//", "\\", "/\\", "\\/", "\t", "\n", "\r", " ", "\x00", "\x0b", "\x0c", "\u00a0", "\u2028",
    "\u200b", "%09", "%0a", "%0d", "%2f", "%2F", "%5c", "%5C", "%252f", "%25252f", "%00", "／", "＼",
    "﹨", "⁄", "javascript:", "JaVaScRiPt:", "data:", "vbscript:", "http:", "HTTPS:", "//evil.example",
    "evil.example", "@evil.example", "évil.example", ":", "?", "#", "..", "./", "%2e%2e",
]
SAFE_PIECES = ["dossiers", "73", "compte", "?page=2", "&q=jean", "#haut", "-", "_", "é"]


def browser_target(location: str) -> tuple[str, str]:
    """Where a browser goes for ``Location: location`` sent by ORIGIN: (scheme, host). Browsers
    drop tabs and newlines anywhere and leading/trailing spaces, and read « \\ » as « / »."""
    cleaned = "".join(c for c in location if c not in "\t\n\r").strip("\x00 \x0b\x0c")
    cleaned = cleaned.replace("\\", "/")
    parts = urlsplit(urljoin(ORIGIN, cleaned))
    return parts.scheme, parts.netloc


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(DANGEROUS_PIECES + SAFE_PIECES), min_size=1, max_size=6),
       st.sampled_from(["", "/", "//", "/\\", "\\", " /", "\t/"]))
def test_no_spelling_leaves_the_site(pieces, start):
    value = start + "".join(pieces)
    result = safe_target(value, DEFAULT)
    assert result in (value, DEFAULT)
    assert browser_target(result) == ("https", "mediation.example.org"), value
    if result == value:
        assert value.startswith("/") and value[1:2] not in ("/", "\\")
        assert not any(c in value for c in "\t\n\r\\ ")


@settings(max_examples=300)
@given(st.text(min_size=1, max_size=40))
def test_any_text_either_passes_as_a_local_path_or_falls_back(value):
    result = safe_target(value, DEFAULT)
    assert result in (value, DEFAULT)
    assert browser_target(result) == ("https", "mediation.example.org")
    # Percent-encoding the text changes nothing: still on the site.
    encoded = quote(value, safe="/:?#&=")
    assert browser_target(safe_target(encoded, DEFAULT)) == ("https", "mediation.example.org")


@pytest.mark.parametrize("value", [
    "/%09/evil.example", "/\t/evil.example", "/\n/evil.example", "//evil.example", "/\\evil.example",
    "\\\\evil.example", "/%2F/evil.example", "/%5Cevil.example", "/%252F%252Fevil.example",
    "https://evil.example/", "HTTP://evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>", " //evil.example", "／／evil.example", "/／evil.example",
    "/\u3000/evil.example", "/\u200b/evil.example", "", None, 42, "dossiers/73", "/" + "a" * 3000,
])
def test_known_attacks_fall_back_to_the_default(value):
    assert safe_target(value, DEFAULT) == DEFAULT
    assert not is_same_origin_path(value)


@pytest.mark.parametrize("value", ["/dossiers/73", "/compte", "/?page=2", "/dossiers?q=%C3%A9l%C3%A9a&page=2",
                                   "/activites/nouvelle?beneficiaire=4#formulaire", "/structures/été"])
def test_paths_of_the_site_pass_unchanged(value):
    assert safe_target(value, DEFAULT) == value


def test_under_keeps_the_target_inside_a_section():
    assert safe_target("/mandats/nouveau", "/mandats", under="/mandats") == "/mandats/nouveau"
    assert safe_target("/mandats", "/x", under="/mandats") == "/mandats"
    for outside in ("/mandatsfaux", "/dossiers/73", "/mandats/../dossiers/73", "/mandats/%2e%2e/compte"):
        assert safe_target(outside, "/mandats", under="/mandats") == "/mandats", outside


@pytest.mark.parametrize("next_value", ["/%09/evil.example", "/%0a/evil.example", "/%5Cevil.example",
                                        "%2F%2Fevil.example", "/%2F%2Fevil.example", "javascript:alert(1)"])
def test_sign_in_never_sends_to_another_site(client, make_user, next_value):
    user = make_user(Role.MEDIATOR)
    response = client.post(f"/connexion?next={next_value}", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_reproduction_tab_after_the_slash(client, make_user):
    """The reported attack: POST /connexion?next=/%09/evil.example answered Location: //evil.example."""
    user = make_user(Role.MEDIATOR)
    response = client.post("/connexion?next=/%09/evil.example", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]
    assert browser_target(response.headers["Location"]) == ("https", "mediation.example.org")


def test_sign_in_still_returns_to_the_page_asked(client, make_user):
    user = make_user(Role.MEDIATOR)
    response = client.post("/connexion?next=/compte", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/compte"


def test_second_factor_step_checks_the_target_too(client, make_user, login):
    import pyotp

    from tests.conftest import TOTP_SECRET

    user = make_user(Role.MEDIATOR, totp=True)
    first = client.post("/connexion?next=/%09/evil.example", data={"email": user.email, "password": PASSWORD})
    assert first.headers["Location"].endswith("/connexion/verification")
    with client.session_transaction() as s:
        s["next"] = "/\t/evil.example"  # even a value planted in the session is checked again
    done = client.post("/connexion/verification", data={"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert done.status_code == 302 and done.headers["Location"] == "/"
