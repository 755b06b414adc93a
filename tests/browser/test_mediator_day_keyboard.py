"""A mediator's day with the keyboard only (Tab, Space, Enter and typing), key presses printed:
the week on the home page, a probable duplicate taken instead of a new person, consent recorded
in place while referring a person."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.a11y import check_a11y

pytestmark = pytest.mark.browser


class Keys:
    def __init__(self, page):
        self.page, self.count = page, 0

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += len(text)

    def focused(self) -> str:
        return self.page.evaluate("""() => { const el = document.activeElement; if (!el) return '';
            if (el.labels && el.labels.length) return el.labels[0].textContent.trim();
            return (el.textContent || '').replace(/\\s+/g, ' ').trim(); }""")

    def tab_to(self, pattern: str, limit: int = 80) -> None:
        for _ in range(limit):
            if re.search(pattern, self.focused()):
                return
            self.press("Tab")
        raise AssertionError(f"« {pattern} » jamais atteint au clavier")


def test_the_week_leads_to_a_duplicated_session(page, sign_in, live_server):
    sign_in(page, "mediatrice@demo.test")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ma semaine")
    keys = Keys(page)
    keys.tab_to(r"^Dupliquer")
    with page.expect_navigation():
        keys.press("Enter")
    check_a11y(page)
    assert "/activites/nouvelle" in page.url or "/activites/atelier/nouveau" in page.url, page.url
    print(f"\nMa semaine → dupliquer une séance : {keys.count} touches")


def test_a_probable_duplicate_is_taken_instead_of_a_new_person(page, sign_in, live_server):
    from mediation.cases.models import Beneficiary
    from mediation.extensions import db

    sign_in(page, "mediatrice@demo.test")
    link = page.get_by_role("link", name=re.compile("^Nouvelle séance avec")).first
    person_id = int(re.search(r"beneficiaire=(\d+)", link.get_attribute("href")).group(1))
    with live_server.app.app_context():
        person = db.session.get(Beneficiary, person_id)
        first, last, year = person.first_name, person.last_name, person.birth_year
        db.session.remove()
    before = _count_people(live_server)

    page.goto("/beneficiaires/nouveau")
    check_a11y(page)
    keys = Keys(page)
    keys.tab_to(r"^Prénom")
    keys.type(first)
    keys.tab_to(r"^Nom")
    keys.type(last)
    if year:
        keys.tab_to(r"^Année de naissance")
        keys.type(str(year))
    with page.expect_navigation():
        keys.press("Enter")
    check_a11y(page)
    expect(page.get_by_role("heading", name=re.compile("peut-être déjà"))).to_be_visible()
    assert _count_people(live_server) == before  # nothing created yet
    keys.tab_to(r"^Enregistrer un accompagnement avec")
    with page.expect_navigation():
        keys.press("Enter")
    check_a11y(page)
    expect(page.locator(f'input[name="beneficiary_id"][value="{person_id}"]')).to_be_checked()
    assert _count_people(live_server) == before
    print(f"\nDoublon probable repris au lieu d'une nouvelle personne : {keys.count} touches")


def test_consent_is_recorded_in_place_while_referring(page, sign_in, live_server):
    from mediation.auth.models import User
    from mediation.cases.enums import CaseState, ConsentScope
    from mediation.cases.models import Case, Consent
    from mediation.directory.models import StaffMembership
    from mediation.extensions import db

    with live_server.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "mediatrice@demo.test"))
        mine = sa.select(StaffMembership.structure_id).where(StaffMembership.user_id == user.id)
        consented = sa.select(Consent.beneficiary_id).where(Consent.scope == ConsentScope.RESEAU,
                                                            Consent.withdrawn_at.is_(None))
        case_id, person_id = db.session.execute(
            sa.select(Case.id, Case.beneficiary_id).where(Case.structure_id.in_(mine), Case.state == CaseState.OPEN,
                                                          Case.beneficiary_id.not_in(consented))
            .order_by(Case.id.desc()).limit(1)).one()
        db.session.remove()

    sign_in(page, "mediatrice@demo.test")
    page.goto(f"/parcours/dossiers/{case_id}/orienter")
    check_a11y(page)
    keys = Keys(page)
    keys.tab_to(r" — [\d\s,]+k?m$")  # the first suggested structure (« Nom — 440 m », « Nom — 3,2 km »)
    keys.press("Space")
    keys.tab_to(r"^La personne accepte le partage au sein du réseau")
    keys.press("Space")
    keys.tab_to(r"^Envoyer l'orientation")
    with page.expect_navigation():
        keys.press("Enter")
    check_a11y(page)
    expect(page.get_by_role("status")).to_contain_text("Orientation vers")
    with live_server.app.app_context():
        consent = db.session.scalar(sa.select(Consent).where(Consent.beneficiary_id == person_id,
                                                             Consent.scope == ConsentScope.RESEAU,
                                                             Consent.withdrawn_at.is_(None)))
        assert consent is not None and consent.recorded_by_id == user.id
        db.session.remove()
    print(f"\nOrientation avec consentement recueilli sur place : {keys.count} touches")


def _count_people(live_server) -> int:
    from mediation.cases.models import Beneficiary
    from mediation.extensions import db

    with live_server.app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Beneficiary))
        db.session.remove()
    return count
