"""Phones and 200 % zoom: the back-office header and menu take at most 15 % of a 360 × 740 screen,
the menu folds and opens from the keyboard without JavaScript, and pages do not scroll sideways."""

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import check_a11y

pytestmark = pytest.mark.browser

PAGES = ["/", "/dossiers", "/activites", "/activites/nouvelle", "/parcours/orientations", "/evaluation/",
         "/annuaire/structures", "/compte"]


def _header_height(page) -> float:
    return page.locator("header.site-header").bounding_box()["height"]


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "sans-js"])
def test_header_is_small_and_the_menu_folds_on_a_phone(browser, live_server, sign_in, javascript):
    # Signed in with JavaScript (the sign-in journey checks each page with axe, which needs it), then
    # the same session in a context with or without JavaScript. Without JavaScript axe-core cannot
    # run (its timers never fire): the pages' accessibility is checked by the JavaScript variant.
    signing = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 360, "height": 740})
    sign_in(signing.new_page(), "mediateur@demo.test")
    state = signing.storage_state()
    signing.close()
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 360, "height": 740},
                                  java_script_enabled=javascript, storage_state=state)
    context.set_default_timeout(10_000)
    page = context.new_page()
    a11y = check_a11y if javascript else (lambda _page: None)
    try:
        for path in PAGES:
            page.goto(path)
            a11y(page)
            height = _header_height(page)
            assert height <= 0.15 * 740, (path, height)
            assert _overflow(page) <= 1, (path, _overflow(page))
        # Keyboard: from the top of the page, the menu is the second stop after the skip link and brand.
        page.goto("/")
        navigation = page.get_by_role("navigation", name="Navigation principale")
        expect(navigation).to_be_hidden()
        presses = 0
        page.keyboard.press("Tab")  # skip link
        presses += 1
        while page.evaluate("document.activeElement.textContent.trim()") != "Menu" and presses < 5:
            page.keyboard.press("Tab")
            presses += 1
        assert presses <= 3, presses
        page.keyboard.press("Enter")
        expect(navigation).to_be_visible()
        a11y(page)
        expect(navigation.get_by_role("link", name="Dossiers")).to_be_visible()
        with page.expect_navigation():
            navigation.get_by_role("link", name="Dossiers").click()
        a11y(page)
        assert page.url.endswith("/dossiers")
        print(f"\nMenu atteint en {presses} appuis sur Tab ; en-tête {_header_height(page):.0f} px sur 740")
    finally:
        context.close()


def test_pages_are_usable_at_200_percent_zoom(browser, live_server, sign_in):
    # 200 % zoom on a 1280 × 900 screen lays pages out at 640 × 450 CSS pixels.
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 640, "height": 450},
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        sign_in(page, "mediateur@demo.test")
        for path in PAGES:
            page.goto(path)
            check_a11y(page)
            assert _overflow(page) <= 1, (path, _overflow(page))
            assert _header_height(page) <= 0.25 * 450, (path, _header_height(page))
    finally:
        context.close()
