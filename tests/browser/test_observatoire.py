"""The observatoire in the browser: the coordinator's dashboard shows the map of need against
coverage (an image with a name and a description) and its table, with the demo's illustrative
values marked; the need import refuses a wrong file with its errors listed. Every page passes
axe-core."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.a11y import check_a11y


def test_coordinator_reads_the_observatoire_and_imports_needs(page, sign_in, tmp_path):
    sign_in(page, "coordination@demo.test")
    page.goto("/evaluation/")
    check_a11y(page)
    block = page.locator("#observatoire")
    expect(block.get_by_role("img", name="Observatoire : besoin et couverture par commune")).to_be_visible()
    expect(block).to_contain_text("Valeurs illustratives")
    table = block.get_by_role("table", name="Observatoire : besoin et couverture par commune")
    expect(table.get_by_role("row", name="Duclair")).to_contain_text("oui")
    expect(block).to_contain_text("Communes de besoin élevé sans lieu à moins de 10 km : Duclair.")

    page.goto("/annuaire/territoires")
    check_a11y(page)
    page.get_by_role("link", name="Importer des indicateurs de besoin par commune").click()
    page.wait_for_url("**/annuaire/communes/besoins/import")
    check_a11y(page)
    wrong = tmp_path / "besoins.csv"
    wrong.write_text("code_insee;taux_pauvrete\n76540;beaucoup\n99999;12\n", encoding="utf-8")
    page.get_by_label("Fichier CSV").set_input_files(str(wrong))
    page.get_by_role("button", name="Importer").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Aucune modification n’a été enregistrée.")
    expect(alert).to_contain_text("« beaucoup » n'est pas un nombre")
    expect(alert).to_contain_text("Code INSEE inconnu")
    check_a11y(page)
