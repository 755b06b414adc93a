"""The person picker as a combobox (static/js/person-picker.js), with the keyboard only: two letters,
ArrowDown, Enter, and the session is saved with that person. The number of key presses is printed."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.a11y import check_a11y


class Keyboard:
    """The page's keyboard, counting every key pressed."""

    def __init__(self, page):
        self.page, self.presses = page, 0

    def type(self, text: str) -> None:
        for character in text:
            self.press(character)

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.presses += 1


def test_choose_a_person_with_two_letters_arrow_down_and_enter(page, sign_in):
    sign_in(page, "mediatrice@demo.test")
    page.goto("/activites/nouvelle")
    check_a11y(page)
    combobox = page.get_by_role("combobox", name="Rechercher un bénéficiaire suivi")
    expect(combobox).to_be_focused()
    expect(combobox).to_have_attribute("aria-expanded", "false")
    # Without JavaScript's help this button re-renders the form; with it, the combobox does the work.
    expect(page.get_by_role("button", name="Rechercher")).to_have_count(0)
    someone = page.locator("#beneficiary_id-choix li").nth(1).locator("label").inner_text()
    two_letters = someone.strip()[:2]

    keys = Keyboard(page)
    keys.type(two_letters)
    listbox = page.get_by_role("listbox", name="Personnes trouvées")
    expect(listbox).to_be_visible()
    expect(combobox).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("status").filter(has_text="trouvée")).to_have_count(1)
    check_a11y(page)  # with the popup open
    keys.press("ArrowDown")
    first = listbox.get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(combobox).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
    chosen = first.inner_text().split(" (")[0].strip()
    # Escape closes the popup, ArrowDown opens it again (checked, not counted).
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(combobox).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowDown")
    expect(first).to_have_attribute("aria-selected", "true")
    keys.press("Enter")  # chooses; never submits the form
    expect(listbox).to_be_hidden()
    expect(page).to_have_url("/activites/nouvelle")
    expect(combobox).to_have_value(chosen)
    radio = page.locator("#beneficiary_id-choix input[type=radio]:checked")
    expect(radio).to_have_count(1)
    expect(page.locator(f"label[for='{radio.get_attribute('id')}']")).to_contain_text(chosen)
    picker_keys = keys.presses
    assert picker_keys == 4

    # The rest of the session with the keyboard only, then save.
    for locator in (page.get_by_role("radio", name="Lieu d’activité"), page.get_by_label("E-mail", exact=True),
                    page.get_by_label("Autonome avec guidage en cas de besoin (2/3)")):
        locator.focus()
        keys.press("Space")
    page.get_by_role("button", name="Enregistrer l’accompagnement").focus()
    with page.expect_navigation():
        keys.press("Enter")
    check_a11y(page)
    expect(page.get_by_role("status")).to_contain_text("Accompagnement individuel enregistré (1 participant)")
    expect(page.get_by_role("main")).to_contain_text(chosen)
    print(f"\nSélecteur de personne : {picker_keys} touches pour choisir la personne "
          f"(2 lettres, Flèche bas, Entrée), {keys.presses} pour tout l’accompagnement.")
