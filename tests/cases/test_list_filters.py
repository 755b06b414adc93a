"""The structure filter of the lists (activities, equipment, referrals) in a network of thousands of
structures (mediation.forms.ListFilter): a part of the name instead of a list of every structure;
the activity export, from the list or from its own form, applies the same filter and says so."""

from __future__ import annotations

import re

import pytest

from mediation.types import local_today


def _page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def two_structures(network, log, activity_input, session):
    log(activity_input(date=local_today()))
    log(activity_input(structure_id=network.structure_b.id, place_structure_id=network.structure_b.id,
                       date=local_today()), user=network.mediator_b)
    log(activity_input(structure_id=network.structure_b.id, place_structure_id=network.structure_b.id,
                       date=local_today()), user=network.mediator_b)
    session.commit()


def test_a_short_list_of_structures_stays_a_list(client, login, network, two_structures):
    login(client, network.coordinator)
    page = _page(client, "/activites")
    assert '<select id="structure" name="structure">' in page and 'name="structure_nom"' not in page
    page = _page(client, f"/activites?structure={network.structure_b.id}")
    assert "2 activités" in page


def test_the_activity_list_and_its_export_filter_by_a_part_of_the_name(client, login, network, two_structures,
                                                                       searches):
    login(client, network.coordinator)
    page = _page(client, "/activites")
    assert 'name="structure_nom"' in page and '<select id="structure"' not in page
    page = _page(client, "/activites?structure_nom=MEDIATHEQUE")
    assert "2 activités" in page and 'value="MEDIATHEQUE"' in page
    # the export button of the list carries the filter
    assert re.search(r'<input type="hidden" name="structure_nom" value="MEDIATHEQUE">', page)
    export = client.post("/echanges/export/activites", data={"format": "csv", "structure_nom": "MEDIATHEQUE"})
    text = export.get_data(as_text=True)
    assert "nom contenant « MEDIATHEQUE »" in text
    assert "Médiathèque B" in text and "France Services A" not in text.split("Médiathèque B", 1)[1]
    # the export's own form offers the same filter
    form = _page(client, "/echanges/export/activites?structure_nom=mediatheque")
    assert re.search(r'<input[^>]*name="structure_nom"[^>]*value="mediatheque"', form)
    assert 'name="structure"' not in form


def test_the_inventory_and_the_referrals_filter_by_a_part_of_the_name(client, login, network, searches):
    login(client, network.coordinator)
    page = _page(client, "/materiel/?structure_nom=mediatheque")
    assert 'name="structure_nom"' in page and "structure_nom=mediatheque" in page  # the exports keep it
    page = _page(client, "/parcours/orientations?structure_nom=ccas")
    assert 'name="structure_nom"' in page and "0 orientation" in page
