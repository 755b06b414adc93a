"""Pick-lists that become a search (mediation.forms.pick_list): a national network has thousands of
places, communes and mediators, which an administrator's forms listed in full. Above
``MEDIATION_PICK_LIST_LIMIT`` choices the field is a search box and its « Rechercher » button (no
JavaScript), which shows the form again, as typed, with the matches; nothing is saved by a search,
and a choice outside the person's scope is refused as before."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import sqlalchemy as sa

from mediation.auth.models import User
from mediation.directory.models import Loan, StaffMembership, Structure
from mediation.evaluation.models import Funder, FunderKind, Programme
from mediation.types import local_today


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S).group(0)
    return re.findall(r">([^<]*)</option>", select)


def boxes(page: str, name: str) -> dict[str, bool]:
    """The labels of a checkbox list, and whether each is checked."""
    found = re.findall(rf'<input (checked )?id="[^"]+" name="{name}"[^>]*> <label[^>]*>([^<]*)</label>', page)
    return {label: bool(checked) for checked, label in found}


def test_a_short_list_stays_a_list(client, login, network):
    login(client, network.admin)
    page = text(client.get("/annuaire/comptes/nouveau"))
    assert "rechercher_choix" not in page
    assert options(page, "structure")[1:] == ["CCAS Lointain — Ville-Lointaine", "France Services A — Ville-A",
                                              "Médiathèque B — Ville-B"]


def test_a_search_shows_the_form_again_with_the_matches_and_saves_nothing(client, login, network, session,
                                                                          searches, outbox):
    login(client, network.admin)
    page = text(client.get("/annuaire/comptes/nouveau"))
    assert "Chercher parmi les 3 structures" in page and 'name="structure-recherche"' in page
    assert options(page, "structure") == ["— Aucune —"]
    typed = {"first_name": "Inès", "last_name": "Roux", "email": "ines@exemple.fr", "role": "mediator"}
    before = session.scalar(sa.select(sa.func.count()).select_from(User))
    # case and accents ignored; the commune's name is searched too
    response = client.post("/annuaire/comptes/nouveau", data={**typed, "structure-recherche": "MEDIATHEQUE",
                                                              "rechercher_choix": "structure"})
    page = text(response)
    assert response.status_code == 200 and "1 résultat pour « MEDIATHEQUE »" in page
    assert options(page, "structure") == ["— Aucune —", "Médiathèque B — Ville-B"]
    assert f'<option selected value="{network.structure_b.id}">' in page  # the one match, chosen
    assert 'value="ines@exemple.fr"' in page  # what was typed stays
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == before and not outbox
    page = text(client.post("/annuaire/comptes/nouveau", data={**typed, "structure-recherche": "ville",
                                                               "rechercher_choix": "structure"}))
    assert "3 résultats pour « ville »" in page and "<option selected" not in page.split('name="structure"')[1]
    page = text(client.post("/annuaire/comptes/nouveau", data={**typed, "structure-recherche": "piscine",
                                                               "rechercher_choix": "structure"}))
    assert "Aucun résultat pour « piscine »" in page
    response = client.post("/annuaire/comptes/nouveau", data={**typed, "structure": str(network.structure_b.id),
                                                              "structure-recherche": "mediatheque"})
    assert response.status_code == 302
    user = session.scalar(sa.select(User).where(User.email == "ines@exemple.fr"))
    assert [m.structure_id for m in user.memberships] == [network.structure_b.id]


def test_a_search_lists_only_what_the_person_may_choose(client, login, network, session, searches):
    login(client, network.coordinator)
    page = text(client.post("/annuaire/comptes/nouveau", data={"structure-recherche": "ccas",
                                                               "rechercher_choix": "structure"}))
    assert "Aucun résultat pour « ccas »" in page and "CCAS Lointain" not in page
    # the structure of another territory, forged: refused, nothing created
    response = client.post("/annuaire/comptes/nouveau", data={
        "first_name": "Eve", "last_name": "Ailleurs", "email": "eve@exemple.fr", "role": "mediator",
        "structure": str(network.structure_far.id)})
    assert response.status_code in (200, 422)
    assert session.scalar(sa.select(User).where(User.email == "eve@exemple.fr")) is None


def test_the_value_chosen_stays_listed_after_a_new_search(client, login, network, session, searches):
    login(client, network.admin)
    page = text(client.post(f"/annuaire/comptes/{network.mediator_b.id}/rattachements/nouveau", data={
        "structure": str(network.structure_a.id), "structure-recherche": "mediatheque", "rechercher_choix": "structure"}))
    assert options(page, "structure") == ["— Choisir —", "France Services A — Ville-A", "Médiathèque B — Ville-B"]
    assert f'<option selected value="{network.structure_a.id}">' in page


def test_the_list_of_accounts_filters_by_a_part_of_the_structure_s_name(client, login, network, searches):
    login(client, network.admin)
    page = text(client.get("/annuaire/comptes"))
    assert 'name="structure_nom"' in page and '<select id="structure"' not in page
    page = text(client.get("/annuaire/comptes?structure_nom=médiathèque"))
    assert "medb@test.example" in page and "med@test.example" not in page
    page = text(client.get("/annuaire/comptes?structure_nom=ville-a"))  # the commune's name
    assert "med@test.example" in page and "aidant@test.example" in page and "medb@test.example" not in page


def test_a_structure_s_commune_is_found_by_name_or_insee_code(client, login, network, session, searches):
    login(client, network.coordinator)
    page = text(client.post("/annuaire/structures/nouvelle", data={
        "name": "Espace numérique", "commune-recherche": network.commune_b.insee_code, "rechercher_choix": "commune"}))
    assert options(page, "commune") == [f"Ville-B ({network.commune_b.insee_code})"]
    assert 'value="Espace numérique"' in page
    assert session.scalar(sa.select(Structure).where(Structure.name == "Espace numérique")) is None
    page = text(client.post("/annuaire/structures/nouvelle", data={"commune-recherche": "lointaine",
                                                                   "rechercher_choix": "commune"}))
    assert "Aucun résultat" in page  # another territory's commune
    # editing: the structure's own commune is listed and chosen before any search
    page = text(client.get(f"/annuaire/structures/{network.structure_a.id}/modifier"))
    assert options(page, "commune") == [f"Ville-A ({network.commune_a.insee_code})"]


def test_a_loan_finds_its_mediator_and_its_place_by_search(client, login, network, session, searches):
    login(client, network.coordinator)
    page = text(client.post("/parcours/mises-a-disposition/nouvelle", data={
        "mediator_id-recherche": network.mediator_b.last_name, "rechercher_choix": "mediator_id",
        "place-recherche": "ville-b", "note": "Permanence"}))
    assert options(page, "mediator_id") == ["— Choisir —", network.mediator_b.full_name]
    # communes and structures, by the commune's name
    assert options(page, "place") == ["— Choisir —", "Commune de Ville-B", "Médiathèque B (Ville-B)"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Loan)) == 0
    today = local_today()
    response = client.post("/parcours/mises-a-disposition/nouvelle", data={
        "mediator_id": str(network.mediator_b.id), "place": f"structure:{network.structure_a.id}",
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat()})
    assert response.status_code == 302, text(response)
    loan = session.scalar(sa.select(Loan))
    assert loan.mediator_id == network.mediator_b.id and loan.structure_id == network.structure_a.id


def test_a_programme_keeps_its_structures_checked_and_adds_those_found(client, login, network, session, searches):
    funder = Funder(name="CAF 76", kind=FunderKind.CAF)
    session.add(funder)
    session.flush()
    programme = Programme(funder_id=funder.id, name="Parentalité", starts_on=local_today().replace(month=1, day=1),
                          ends_on=local_today().replace(month=12, day=31), territory_id=network.territory.id)
    programme.structures = [network.structure_a]
    session.add(programme)
    session.flush()
    login(client, network.admin)
    page = text(client.get(f"/evaluation/programmes/{programme.id}/modifier"))
    assert boxes(page, "structure_ids") == {"France Services A": True}
    form = {"name": "Parentalité", "funder_id": funder.id, "starts_on": programme.starts_on.isoformat(),
            "ends_on": programme.ends_on.isoformat(), "territory_id": network.territory.id,
            "structure_ids": [network.structure_a.id]}
    page = text(client.post(f"/evaluation/programmes/{programme.id}/modifier", data={
        **form, "structure_ids-recherche": "médiathèque", "rechercher_choix": "structure_ids"}))
    assert boxes(page, "structure_ids") == {"France Services A": True, "Médiathèque B": False}
    assert [s.id for s in programme.structures] == [network.structure_a.id]  # nothing saved by a search
    response = client.post(f"/evaluation/programmes/{programme.id}/modifier", data={
        **form, "structure_ids": [network.structure_a.id, network.structure_b.id]})
    assert response.status_code == 302
    session.refresh(programme)
    assert sorted(s.id for s in programme.structures) == sorted([network.structure_a.id, network.structure_b.id])


def test_memberships_are_untouched_by_a_search(client, login, network, session, searches):
    login(client, network.admin)
    before = session.scalar(sa.select(sa.func.count()).select_from(StaffMembership))
    response = client.post(f"/annuaire/comptes/{network.mediator_b.id}/rattachements/nouveau", data={
        "structure": str(network.structure_a.id), "started_on": "2026-01-05", "rechercher_choix": "structure"})
    assert response.status_code == 200
    assert session.scalar(sa.select(sa.func.count()).select_from(StaffMembership)) == before


def test_wildcards_typed_are_plain_letters(client, login, network, session, make_structure, searches):
    make_structure(network.commune_a, name="Espace 100% numérique")
    login(client, network.admin)
    page = text(client.post("/annuaire/comptes/nouveau", data={"structure-recherche": "100%",
                                                               "rechercher_choix": "structure"}))
    assert options(page, "structure")[1:] == ["Espace 100% numérique — Ville-A"]
    page = text(client.post("/annuaire/comptes/nouveau", data={"structure-recherche": "_",
                                                               "rechercher_choix": "structure"}))
    assert "Aucun résultat pour « _ »" in page
