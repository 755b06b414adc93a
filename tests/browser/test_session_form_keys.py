"""The common case of the session form with the keyboard only, counted: a known person (from the
home page's « Nouvelle séance avec … »), 1 h, the place of activity, two thématiques and the
autonomy level, from page load to submission in at most 20 key presses (issue 16 item 3)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.a11y import check_a11y

MAX_KEYS = 20
TOPICS = ("Navigation sur internet", "E-mail")
AUTONOMY = "Autonome avec guidage en cas de besoin (2/3)"


class Keyboard:
    """Presses keys (only Tab, Space, arrows and Enter) and counts them."""

    ALLOWED = {"Tab", "Space", "Enter", "ArrowDown", "ArrowUp", "ArrowLeft", "ArrowRight"}

    def __init__(self, page):
        self.page = page
        self.count = 0

    def press(self, key: str) -> None:
        assert key in self.ALLOWED
        self.page.keyboard.press(key)
        self.count += 1

    def focused(self) -> str:
        """The accessible name of the focused element (its label, or its text)."""
        return self.page.evaluate("""() => {
            const el = document.activeElement;
            if (!el) return '';
            if (el.labels && el.labels.length) return el.labels[0].textContent.trim();
            return (el.textContent || '').trim();
        }""")

    def tab_to(self, name: str, *, open_folds: str | None = None, limit: int = 60) -> None:
        """Tab until the element named ``name`` has the focus; a disclosure whose summary starts
        with ``open_folds`` is opened on the way (Enter) when ``name`` is not found before it."""
        for _ in range(limit):
            current = self.focused()
            if current == name:
                return
            if open_folds and current.startswith(open_folds):
                self.page.keyboard.press("Enter")  # the page is not reloaded: a disclosure opens
                self.count += 1
                open_folds = None
            self.press("Tab")
        raise AssertionError(f"« {name} » jamais atteint au clavier")


def test_common_session_in_at_most_20_keys(page, sign_in, live_server):
    sign_in(page, "mediatrice@demo.test")
    link = page.get_by_role("link", name=re.compile("^Nouvelle séance avec")).first
    href = link.get_attribute("href")
    person_id = int(re.search(r"beneficiaire=(\d+)", href).group(1))

    page.goto(live_server.url + href)
    check_a11y(page)
    # Already set: the person, today, the duration and place of the mediator's last session.
    expect(page.locator(f'input[name="beneficiary_id"][value="{person_id}"]')).to_be_checked()
    expect(page.get_by_label("1 h", exact=True)).to_be_checked()
    expect(page.get_by_role("radio", name="Lieu d’activité")).to_be_checked()
    # Fields that do not apply are not in the way: no commune for the place of activity, no démarches.
    expect(page.get_by_label("Commune", exact=True)).to_be_hidden()
    expect(page.locator("#demarches")).to_be_hidden()

    keys = Keyboard(page)
    for topic in TOPICS:
        keys.tab_to(topic, open_folds="Autres thématiques")
        keys.press("Space")
    keys.tab_to("Avec guidage (1/3)")  # entering the autonomy radio group
    keys.press("ArrowDown")  # moves to and chooses the 2nd level
    expect(page.get_by_label(AUTONOMY)).to_be_checked()
    keys.tab_to("Enregistrer l’accompagnement")
    with page.expect_navigation():
        keys.press("Enter")
    check_a11y(page)
    print(f"\nSéance courante au clavier : {keys.count} touches (plafond {MAX_KEYS}).")
    expect(page.get_by_role("status")).to_contain_text("Accompagnement individuel enregistré (1 participant)")
    assert keys.count <= MAX_KEYS

    from mediation.auth.models import User
    from mediation.cases.models import Activity
    from mediation.extensions import db
    activity_id = int(re.search(r"/activites/(\d+)", page.url).group(1))
    with live_server.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "mediatrice@demo.test"))
        activity = db.session.get(Activity, activity_id)
        assert activity.mediator_id == user.id
        assert [p.beneficiary_id for p in activity.participations] == [person_id]
        assert activity.duration_min == 60
        assert activity.place_type.value == "lieu_activite" and activity.place_structure_id is not None
        assert sorted(activity.thematiques) == ["email", "navigation_sur_internet"]
        assert activity.autonomie.value == "partiellement_autonome"
        assert activity.equipment_kind is None and activity.demarche_name is None


def test_blocks_follow_the_choices_and_keep_what_was_typed(page, sign_in, live_server):
    """With JavaScript: démarches only with « Aide aux démarches administratives », the commune
    only for « À domicile » / « Autre lieu »; a hidden block keeps its values but is not sent."""
    sign_in(page, "mediatrice@demo.test")
    page.goto(live_server.url + "/activites/nouvelle")
    check_a11y(page)
    demarches = page.locator("#demarches")
    commune = page.get_by_label("Commune", exact=True)
    expect(demarches).to_be_hidden()
    aide = page.get_by_label("Aide aux démarches administratives", exact=True)
    if not aide.is_visible():
        page.get_by_text(re.compile(r"^Autres thématiques")).click()
    aide.check()
    expect(demarches).to_be_visible()
    page.get_by_label(re.compile(r"^Logement")).check()
    aide.uncheck()
    expect(demarches).to_be_hidden()
    expect(page.get_by_label(re.compile(r"^Logement"))).to_be_disabled()
    aide.check()
    expect(page.get_by_label(re.compile(r"^Logement"))).to_be_checked()  # kept while hidden
    aide.uncheck()

    page.get_by_role("radio", name="À domicile").check()
    expect(commune).to_be_visible()
    commune.select_option(index=1)
    page.get_by_role("radio", name="Lieu d’activité").check()
    expect(commune).to_be_hidden()
    page.locator('input[name="thematiques"]:not([value="aide_aux_demarches_administratives"]):visible').first.check()
    page.get_by_label(AUTONOMY).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer l’accompagnement").click()
    check_a11y(page)
    # Saved: the hidden démarche and commune were neither sent nor refused.
    expect(page.get_by_role("status")).to_contain_text("Accompagnement individuel enregistré")
    from mediation.cases.models import Activity
    from mediation.extensions import db
    activity_id = int(re.search(r"/activites/(\d+)", page.url).group(1))
    with live_server.app.app_context():
        activity = db.session.get(Activity, activity_id)
        assert "logement" not in activity.thematiques and "aide_aux_demarches_administratives" not in activity.thematiques
        assert activity.place_type.value == "lieu_activite" and activity.place_commune_id is None
