"""Browser test harness: a live server on a fresh, migrated SQLite file loaded with the demo, and
Playwright driving Debian's Chromium (never a downloaded browser). Every page a test visits must
pass an axe-core WCAG 2.1 A/AA check (``check_a11y``); a page left unchecked fails the test.

One browser per session, a new context (cookies, storage) per test. On failure, a screenshot and
the page's HTML are written to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
from werkzeug.serving import make_server

from mediation import create_app
from tests.browser.a11y import check_a11y
from tests.conftest import TOTP_SECRET

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PASSWORD = "mot-de-passe-demo-navigateur"
BROWSER_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if BROWSER_DIR in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# --- TOTP codes that respect the server's replay protection ---------------------------------

class TotpCodes:
    """Codes for the demo's fixed secret. The server accepts a code once per 30-second step and
    user (steps now-1, now, now+1), so each user's next code must be for a later step than the
    last one used: borrow the next step when possible, otherwise wait for it."""

    def __init__(self, secret: str = TOTP_SECRET):
        self.secret = secret
        self.totp = pyotp.TOTP(secret)
        self.last_step: dict[str, int] = {}
        self.secrets: dict[str, str] = {}

    def register(self, email: str, secret: str) -> None:
        """Remember the secret of an account enrolled during the tests."""
        self.secrets[email] = secret

    def code_for(self, email: str) -> str:
        totp = pyotp.TOTP(self.secrets.get(email, self.secret))
        while True:
            now = time.time()
            step = int(now // 30)
            wanted = max(step, self.last_step.get(email, -1) + 1)
            if wanted <= step + 1:
                self.last_step[email] = wanted
                return totp.at(wanted * 30)
            time.sleep((step + 1) * 30 - now + 0.05)


# --- live server ------------------------------------------------------------------------------

@dataclass
class LiveServer:
    url: str
    app: object
    password: str
    totp: TotpCodes
    tmp: Path
    accounts: list = field(default_factory=list)

    def invite_user(self, role, *, email: str, first_name: str, last_name: str,
                    territory_name: str | None = None) -> str:
        """Create an account in the live database as the demo administrator, through the
        directory's service (which e-mails an invitation); returns the invitation link."""
        import sqlalchemy as sa

        from mediation.auth.models import User
        from mediation.directory import staff
        from mediation.directory.models import Territory
        from mediation.extensions import db

        with self.app.app_context():
            admin = db.session.scalar(sa.select(User).where(User.email == "admin@demo.test"))
            territory = None
            if territory_name:
                territory = db.session.scalar(sa.select(Territory).where(Territory.name == territory_name))
            outbox = self.app.extensions.setdefault("outbox", [])
            sent = len(outbox)
            staff.create_user(db.session, admin, email=email, first_name=first_name, last_name=last_name,
                              role=role, territory=territory)
            db.session.commit()
            db.session.remove()
        invitations = [m for m in outbox[sent:] if m["To"] == email]
        assert invitations, f"no invitation e-mailed to {email}"
        link = re.search(r"https?://\S+", invitations[-1].get_content())
        assert link, invitations[-1].get_content()
        return link.group(0)


@pytest.fixture(scope="session")
def live_server():
    from flask_migrate import upgrade

    from mediation.demo import load_demo
    from mediation.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="mediation-browser-"))
    database_url = f"sqlite:///{tmp / 'browser.sqlite3'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDIATION_INSTANCE_PATH", str(tmp))
        mp.setenv("DATABASE_URL", database_url)
        mp.setenv("SECRET_KEY", secrets.token_hex(32))
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "SESSION_COOKIE_SECURE": False,
                "REMEMBER_COOKIE_SECURE": False,
                "WTF_CSRF_ENABLED": True,  # browser tests go through real CSRF tokens
                "MEDIATION_OUTBOX_DIR": str(tmp / "outbox"),
                "MEDIATION_ENV": "test",
            }
        )
    app.instance_path = str(tmp)
    totp = TotpCodes()
    with app.app_context():
        upgrade()
        accounts = load_demo(db.session, password=DEMO_PASSWORD, totp_secret=totp.secret)
        db.session.commit()
        db.session.remove()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["MEDIATION_PUBLIC_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=app, password=DEMO_PASSWORD, totp=totp, tmp=tmp, accounts=accounts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


# --- Playwright -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = (f"Chromium introuvable ({CHROMIUM}) : installez le paquet Debian « chromium » "
                   "(`make browser`). Aucun navigateur n'est téléchargé.")
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class A11yTracker:
    """Remembers each document the page loads until ``check_a11y`` has looked at it."""

    def __init__(self, page):
        self.page = page
        self.pending: str | None = None
        self.unchecked: list[str] = []
        page.on("load", self._loaded)

    def _loaded(self, _page) -> None:
        if self.pending is not None:
            self.unchecked.append(self.pending)
        self.pending = self.page.url

    def checked(self) -> None:
        self.pending = None

    def missed(self) -> list[str]:
        return self.unchecked + ([self.pending] if self.pending else [])


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:150]


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    tracker = A11yTracker(page)
    page._a11y_tracker = tracker
    try:
        yield page
        failed = any(getattr(request.node, f"rep_{when}", None) is not None
                     and getattr(request.node, f"rep_{when}").failed for when in ("setup", "call"))
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = _artifact_name(request.node.nodeid)
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                (ARTIFACTS / f"{name}.html").write_text(page.content(), encoding="utf-8")
            except Exception as error:  # noqa: BLE001 — a failed screenshot must not hide the failure
                print(f"capture d'écran impossible : {error}")
        elif tracker.missed():
            pytest.fail("Pages visitées sans contrôle d'accessibilité (appelez check_a11y(page)) : "
                        + ", ".join(tracker.missed()), pytrace=False)
    finally:
        context.close()


# --- journeys -------------------------------------------------------------------------------

@pytest.fixture
def sign_in(live_server):
    """Sign in through the real form with the keyboard (fill, then Enter), including the second
    factor when the account has one. Checks accessibility of each page on the way."""

    def do_sign_in(page, email: str, *, password: str | None = None) -> bool:
        """Returns True when the second factor was asked."""
        page.goto("/connexion")
        check_a11y(page)
        page.get_by_label("Adresse e-mail").fill(email)
        password_field = page.get_by_label("Mot de passe")
        password_field.fill(password or live_server.password)
        with page.expect_navigation():
            password_field.press("Enter")
        check_a11y(page)
        if not page.url.endswith("/connexion/verification"):
            return False
        code_field = page.get_by_label("Code à 6 chiffres")
        code_field.fill(live_server.totp.code_for(email))
        with page.expect_navigation():
            code_field.press("Enter")
        check_a11y(page)
        return True

    return do_sign_in


@pytest.fixture
def sign_out():
    def do_sign_out(page):
        with page.expect_navigation():
            page.get_by_role("button", name="Se déconnecter", exact=True).click()
        check_a11y(page)

    return do_sign_out
