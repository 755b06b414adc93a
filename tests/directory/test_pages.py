"""Directory pages for each role: allowed, 403 for roles that may not, 404 for ids out of scope;
bad input shows the French message and changes nothing; lists are paginated without N+1."""

import html
from datetime import date

import pytest
import sqlalchemy as sa

from mediation.auth.models import Role, User
from mediation.directory.models import Commune, StaffMembership, Structure
from tests.helpers import count_queries


def text(response) -> str:
    return response.get_data(as_text=True)


def switch(client, login, user):
    client.post("/deconnexion")
    login(client, user)


def table(response) -> str:
    page = text(response)
    return page[page.index("<tbody>"):page.index("</tbody>")]


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count(model.id)))


# --- structures ---------------------------------------------------------------------------

def test_mediator_reads_the_directory_but_changes_nothing(client, login, network):
    login(client, network.mediator)
    page = text(client.get("/annuaire/structures"))
    assert "CCAS Lointain" in page and "Ajouter une structure" not in page
    assert client.get(f"/annuaire/structures/{network.structure_far.id}").status_code == 200
    assert client.get(f"/annuaire/structures/{network.structure_a.id}/modifier").status_code == 403
    assert client.get("/annuaire/structures/nouvelle").status_code == 403
    assert client.post(f"/annuaire/structures/{network.structure_a.id}/archiver").status_code == 403
    assert client.get("/annuaire/territoires").status_code == 403
    assert client.get("/annuaire/comptes").status_code == 403


def test_funder_has_no_directory_page(client, login, network):
    login(client, network.funder)
    for url in ("/annuaire/structures", f"/annuaire/structures/{network.structure_a.id}",
                "/annuaire/structures/export.csv", "/annuaire/territoires", "/annuaire/comptes"):
        assert client.get(url).status_code == 403, url


def test_structure_detail_shows_every_field_with_its_label(client, login, network, session):
    s = network.structure_a
    s.siret, s.typologies, s.services = "21760540400011", ["RFS"], ["Aide aux démarches administratives"]
    s.frais, s.horaires, s.telephone = ["Gratuit"], "Mo-Fr 09:00-12:00\nSa 10:00-12:00", "+33235000000"
    session.flush()
    login(client, network.mediator)
    page = text(client.get(f"/annuaire/structures/{s.id}"))
    for expected in ("SIRET", "21760540400011", "Typologie", "Réseau France Services (RFS)", "Services",
                     "Aide aux démarches administratives", "Frais à charge", "Gratuit",
                     "Horaires d'ouverture", "Mo-Fr 09:00-12:00<br>Sa 10:00-12:00", "+33235000000"):
        assert expected in page, expected
    # a mediator sees the team of their own structure, not of others
    assert "Équipe" in page
    assert "Équipe" not in text(client.get(f"/annuaire/structures/{network.structure_b.id}"))


def test_unknown_structure_is_404(client, login, network):
    login(client, network.admin)
    assert client.get("/annuaire/structures/999999").status_code == 404


def test_admin_creates_a_structure_through_the_form(client, login, network, session):
    login(client, network.admin)
    form = text(client.get("/annuaire/structures/nouvelle"))
    assert '<legend>Services</legend>' in form and 'name="dispositifs"' in form
    response = client.post("/annuaire/structures/nouvelle", data={
        "name": "Espace Numérique Sud", "commune": str(network.commune_far.id), "address": "2 rue Haute",
        "siret": "217 605 404 00011", "services": ["Aide aux démarches administratives",
                                                   "Utilisation sécurisée du numérique"],
        "dispositifs": ["Conseillers numériques"], "latitude": "49,1", "longitude": "1,2",
        "courriels": "a@exemple.fr, b@exemple.fr",
    })
    assert response.status_code == 302
    structure = session.scalar(sa.select(Structure).where(Structure.name == "Espace Numérique Sud"))
    assert structure.siret == "21760540400011" and structure.commune_id == network.commune_far.id
    assert structure.services == ["Aide aux démarches administratives", "Utilisation sécurisée du numérique"]
    assert structure.courriels == ["a@exemple.fr", "b@exemple.fr"]


def test_invalid_siret_shows_the_french_message_and_creates_nothing(client, login, network, session):
    login(client, network.coordinator)
    before = count(session, Structure)
    response = client.post("/annuaire/structures/nouvelle", data={
        "name": "", "commune": str(network.commune_a.id), "address": "1 rue", "siret": "21760540400012",
    })
    assert response.status_code == 422
    page = text(response)
    assert "Le formulaire contient 2 erreurs" in page  # every error at once
    assert "Le nom de la structure est obligatoire." in page
    assert "Ce numéro SIRET n&#39;existe pas : sa clé de contrôle est incorrecte" in page
    assert 'aria-describedby="siret-hint siret-error"' in page
    assert count(session, Structure) == before


def test_coordinator_cannot_pick_a_commune_of_another_territory(client, login, network, session):
    login(client, network.coordinator)
    before = count(session, Structure)
    response = client.post("/annuaire/structures/nouvelle", data={
        "name": "Lieu", "commune": str(network.commune_far.id), "address": "1 rue"})
    assert response.status_code == 200  # not among the choices: the form refuses it
    assert count(session, Structure) == before


def test_coordinator_edits_their_structures_only(client, login, network, session):
    login(client, network.coordinator)
    assert client.get(f"/annuaire/structures/{network.structure_far.id}/modifier").status_code == 404
    assert client.post(f"/annuaire/structures/{network.structure_far.id}/archiver").status_code == 404
    page = client.get(f"/annuaire/structures/{network.structure_a.id}/modifier")
    assert page.status_code == 200 and "France Services A" in text(page)
    response = client.post(f"/annuaire/structures/{network.structure_a.id}/modifier", data={
        "name": "France Services A", "commune": str(network.commune_a.id), "address": "Place du Marché",
        "frais": ["Gratuit"],
    })
    assert response.status_code == 302
    assert network.structure_a.address == "Place du Marché" and network.structure_a.frais == ["Gratuit"]


def test_other_territory_coordinator_gets_404_for_our_structure(client, login, network):
    login(client, network.other_coordinator)
    assert client.get(f"/annuaire/structures/{network.structure_a.id}/modifier").status_code == 404
    assert client.post(f"/annuaire/structures/{network.structure_a.id}/modifier",
                       data={"name": "Piratée"}).status_code == 404
    assert network.structure_a.name == "France Services A"


def test_archive_and_restore_from_the_detail_page(client, login, network):
    login(client, network.coordinator)
    assert client.post(f"/annuaire/structures/{network.structure_b.id}/archiver").status_code == 302
    assert network.structure_b.archived_at is not None
    assert "Médiathèque B" not in table(client.get("/annuaire/structures"))
    assert "Médiathèque B" in table(client.get("/annuaire/structures?archived=1"))
    assert client.post(f"/annuaire/structures/{network.structure_b.id}/restaurer").status_code == 302
    assert network.structure_b.archived_at is None


def test_an_imported_place_is_found_completed_and_published(client, login, network, make_structure, session,
                                                             events):
    """A place named by a Coop file and unknown to the directory is kept out of it (lists, exports,
    guide) until a coordinator finds it, completes its address and publishes it."""
    from mediation.types import utcnow

    place = make_structure(network.commune_a, name="Tiers-lieu du Marché", address=None, postal_code=None,
                           unlisted=True, archived_at=utcnow(), source="Import La Coop")
    login(client, network.coordinator)
    assert "Tiers-lieu du Marché" not in table(client.get("/annuaire/structures"))
    assert "Tiers-lieu du Marché" not in client.get("/annuaire/structures/export.csv").get_data(as_text=True)
    listed = table(client.get("/annuaire/structures?non_repertories=1"))
    assert "Tiers-lieu du Marché" in listed and "Importé, hors annuaire" in listed
    assert "France Services A" not in listed
    detail = text(client.get(f"/annuaire/structures/{place.id}"))
    assert "absent de l'annuaire" in detail and "Import La Coop" in detail
    assert "Publier dans l'annuaire" in detail

    # Without an address it cannot be published: a French message, nothing changes.
    response = client.post(f"/annuaire/structures/{place.id}/restaurer", follow_redirects=True)
    assert "Complétez l'adresse du lieu" in html.unescape(text(response))
    assert place.unlisted and place.archived_at is not None and not events("structure.published")

    place.address, place.postal_code = "3 place du Marché", "76100"
    session.flush()
    response = client.post(f"/annuaire/structures/{place.id}/restaurer", follow_redirects=True)
    assert "est publié dans l'annuaire" in html.unescape(text(response))
    assert not place.unlisted and place.archived_at is None and events("structure.published")
    assert "Tiers-lieu du Marché" in table(client.get("/annuaire/structures"))
    assert "Tiers-lieu du Marché" in client.get("/annuaire/structures/export.csv").get_data(as_text=True)


def test_structure_list_filters_by_commune_and_paginates_without_n_plus_one(
        client, login, network, make_structure):
    for i in range(30):
        make_structure(network.commune_b, name=f"Annexe {i:02d}")
    login(client, network.mediator)
    page = table(client.get(f"/annuaire/structures?commune={network.commune_a.insee_code}"))
    assert "France Services A" in page and "Médiathèque B" not in page
    with count_queries() as few:
        client.get("/annuaire/structures?page=1")
    with count_queries() as many:
        page2 = text(client.get("/annuaire/structures?page=2"))
    assert "Page 2 sur 2" in page2
    assert len(many) == len(few) <= 8


# --- territories and communes -------------------------------------------------------------

def test_territory_pages_by_role(client, login, network):
    login(client, network.admin)
    page = text(client.get("/annuaire/territoires"))
    assert "Métropole Test" in page and "Département Ailleurs" in page
    switch(client, login, network.coordinator)
    page = text(client.get("/annuaire/territoires"))
    assert "Métropole Test" in page and "Département Ailleurs" not in page
    detail = text(client.get(f"/annuaire/territoires/{network.territory.id}"))
    assert "Ville-A" in detail and "Ajouter une commune" in detail and "Modifier le territoire" not in detail
    assert client.get(f"/annuaire/territoires/{network.other_territory.id}").status_code == 404
    assert client.get(f"/annuaire/territoires/{network.territory.id}/modifier").status_code == 403
    assert client.get("/annuaire/territoires/nouveau").status_code == 403
    assert client.get(f"/annuaire/communes/{network.commune_far.id}/modifier").status_code == 404
    assert client.get(f"/annuaire/territoires/{network.other_territory.id}/communes/nouvelle").status_code == 404


def test_admin_creates_a_territory(client, login, network, session):
    login(client, network.admin)
    response = client.post("/annuaire/territoires/nouveau", data={"name": "Métropole Nouvelle", "kind": "metropole"})
    assert response.status_code == 302
    page = text(client.post("/annuaire/territoires/nouveau", data={"name": "Métropole Nouvelle",
                                                                   "kind": "metropole"}))
    assert "Un territoire porte déjà ce nom." in page


def test_duplicate_insee_code_shows_the_message_and_changes_nothing(client, login, network, session):
    login(client, network.coordinator)
    before = count(session, Commune)
    response = client.post(f"/annuaire/territoires/{network.territory.id}/communes/nouvelle", data={
        "insee_code": network.commune_far.insee_code, "name": "Doublon", "population": "100"})
    assert response.status_code == 422
    assert f"Le code INSEE {network.commune_far.insee_code} est déjà celui de la commune Ville-Lointaine." in text(response)
    assert count(session, Commune) == before
    response = client.post(f"/annuaire/territoires/{network.territory.id}/communes/nouvelle", data={
        "insee_code": "76999", "name": "Nouvelle-Ville", "population": "1 200", "latitude": "49,5",
        "longitude": "1,1", "postal_code": "76000"})
    assert response.status_code == 302
    assert count(session, Commune) == before + 1


def test_commune_edit(client, login, network, session):
    login(client, network.coordinator)
    form = text(client.get(f"/annuaire/communes/{network.commune_a.id}/modifier"))
    assert 'name="territory"' not in form and "49,4" in form
    response = client.post(f"/annuaire/communes/{network.commune_a.id}/modifier", data={
        "insee_code": network.commune_a.insee_code, "name": "Ville-A", "population": "-1"})
    assert "La population doit être un nombre entier positif ou nul." in text(response)
    assert network.commune_a.population == 10_000
    switch(client, login, network.admin)
    assert 'name="territory"' in text(client.get(f"/annuaire/communes/{network.commune_a.id}/modifier"))


# --- staff --------------------------------------------------------------------------------

def test_user_list_is_scoped_filtered_and_paginated(client, login, network, make_user):
    login(client, network.coordinator)
    page = text(client.get("/annuaire/comptes"))
    assert "med@test.example" in page and "medb@test.example" in page
    assert "medfar@test.example" not in page and "admin@test.example" not in page
    assert "funder@test.example" not in page
    page = text(client.get(f"/annuaire/comptes?structure={network.structure_b.id}"))
    assert "medb@test.example" in page and "med@test.example" not in page
    page = text(client.get("/annuaire/comptes?role=coordinator"))
    assert "coord@test.example" in page and "medb@test.example" not in page
    client.get("/annuaire/comptes?role=mediator")
    with count_queries() as few:  # 4 mediators
        client.get("/annuaire/comptes?role=mediator")
    for i in range(30):
        make_user(Role.MEDIATOR, structures=[network.structure_a, network.structure_b], email=f"m{i}@test.example")
    with count_queries() as many:  # a full page of 25
        client.get("/annuaire/comptes?role=mediator")
    assert len(many) == len(few) <= 10
    assert "Page 2 sur 2" in text(client.get("/annuaire/comptes?role=mediator&page=2"))


def test_admin_sees_every_account(client, login, network):
    login(client, network.admin)
    page = text(client.get("/annuaire/comptes?status=all"))
    for email in ("medfar@test.example", "funder@test.example", "coord2@test.example"):
        assert email in page


def test_coordinator_creates_a_mediator_with_a_membership(client, login, network, session, outbox):
    login(client, network.coordinator)
    form = text(client.get("/annuaire/comptes/nouveau"))
    assert 'value="admin"' not in form and 'name="territory"' not in form
    response = client.post("/annuaire/comptes/nouveau", data={
        "first_name": "Inès", "last_name": "Roux", "email": "ines@exemple.fr", "role": "mediator",
        "structure": str(network.structure_b.id), "started_on": "2026-01-05", "is_conseiller_numerique": "y"})
    assert response.status_code == 302
    user = session.scalar(sa.select(User).where(User.email == "ines@exemple.fr"))
    assert user.is_conseiller_numerique and user.memberships[0].structure_id == network.structure_b.id
    assert outbox and outbox[-1]["To"] == "ines@exemple.fr"


def test_coordinator_cannot_create_an_admin_even_by_forging_the_form(client, login, network, session):
    login(client, network.coordinator)
    before = count(session, User)
    response = client.post("/annuaire/comptes/nouveau", data={
        "first_name": "Eve", "last_name": "Admin", "email": "eve@exemple.fr", "role": "admin"})
    assert response.status_code == 422
    assert count(session, User) == before


def test_duplicate_email_shows_the_message(client, login, network, session):
    login(client, network.admin)
    before = count(session, User)
    response = client.post("/annuaire/comptes/nouveau", data={
        "first_name": "A", "last_name": "B", "email": "MED@test.example", "role": "mediator"})
    assert "Un compte existe déjà avec cette adresse e-mail." in text(response)
    assert count(session, User) == before


def test_user_pages_out_of_scope_are_404(client, login, network):
    login(client, network.coordinator)
    far = network.mediator_far.id
    assert client.get(f"/annuaire/comptes/{far}").status_code == 404
    assert client.get(f"/annuaire/comptes/{far}/modifier").status_code == 404
    assert client.get(f"/annuaire/comptes/{far}/role").status_code == 404
    assert client.post(f"/annuaire/comptes/{far}/desactiver").status_code == 404
    assert client.get(f"/annuaire/comptes/{network.admin.id}").status_code == 404
    assert network.mediator_far.is_active_account


def test_role_change_page(client, login, network, events):
    login(client, network.coordinator)
    assert client.get(f"/annuaire/comptes/{network.coordinator.id}/role").status_code == 403
    page = text(client.get(f"/annuaire/comptes/{network.mediator_b.id}/role"))
    assert 'value="admin"' not in page
    response = client.post(f"/annuaire/comptes/{network.mediator_b.id}/role", data={"role": "coordinator"})
    assert response.status_code == 302
    assert network.mediator_b.role == Role.COORDINATOR
    assert events("user.role_changed")[-1].details["to"] == "coordinator"


def test_deactivate_from_the_detail_page(client, login, network):
    login(client, network.coordinator)
    page = text(client.get(f"/annuaire/comptes/{network.mediator_b.id}"))
    assert "Désactiver le compte" in page
    assert client.post(f"/annuaire/comptes/{network.mediator_b.id}/desactiver").status_code == 302
    assert not network.mediator_b.is_active_account
    assert "Réactiver le compte" in text(client.get(f"/annuaire/comptes/{network.mediator_b.id}"))


def test_membership_add_and_end_pages(client, login, network, session):
    login(client, network.coordinator)
    response = client.post(f"/annuaire/comptes/{network.mediator.id}/rattachements/nouveau", data={
        "structure": str(network.structure_b.id), "started_on": "2026-03-01", "job_title": "Renfort"})
    assert response.status_code == 302
    membership = session.scalar(sa.select(StaffMembership).where(
        StaffMembership.user_id == network.mediator.id, StaffMembership.structure_id == network.structure_b.id))
    response = client.post(f"/annuaire/rattachements/{membership.id}/fin", data={"ended_on": "2026-02-01"})
    assert "La date de fin ne peut pas précéder la date de début (01/03/2026)." in text(response)
    assert membership.ended_on is None
    assert client.post(f"/annuaire/rattachements/{membership.id}/fin",
                       data={"ended_on": "2026-06-30"}).status_code == 302
    assert membership.ended_on == date(2026, 6, 30)
    far = session.scalar(sa.select(StaffMembership).where(StaffMembership.user_id == network.mediator_far.id))
    assert client.get(f"/annuaire/rattachements/{far.id}/fin").status_code == 404


@pytest.mark.parametrize("role_attr", ["admin", "coordinator"])
def test_every_directory_admin_page_renders(client, login, network, role_attr):
    login(client, getattr(network, role_attr))
    urls = [
        "/annuaire/structures", "/annuaire/structures/nouvelle", "/annuaire/structures/import",
        f"/annuaire/structures/{network.structure_a.id}", f"/annuaire/structures/{network.structure_a.id}/modifier",
        "/annuaire/territoires", f"/annuaire/territoires/{network.territory.id}",
        f"/annuaire/territoires/{network.territory.id}/communes/nouvelle",
        f"/annuaire/communes/{network.commune_a.id}/modifier",
        "/annuaire/comptes", "/annuaire/comptes/nouveau", f"/annuaire/comptes/{network.mediator.id}",
        f"/annuaire/comptes/{network.mediator.id}/modifier", f"/annuaire/comptes/{network.mediator.id}/role",
        f"/annuaire/comptes/{network.mediator.id}/rattachements/nouveau",
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_schema_1_0_2_fields_through_the_form_and_on_the_detail_page(client, login, network, session):
    login(client, network.admin)
    form = text(client.get("/annuaire/structures/nouvelle"))
    assert 'name="presentation_detail"' in form and 'name="formations_labels"' in form
    assert 'name="fiche_acces_libre"' in form and "Formé à « Mon Espace Santé »" in form
    response = client.post("/annuaire/structures/nouvelle", data={
        "name": "Lieu aux deux sites", "commune": str(network.commune_a.id), "address": "2 rue Haute",
        "site_web": "https://lieu.exemple.fr | https://social.exemple/@lieu",
        "presentation_detail": "Ateliers le mardi.\nPermanence le jeudi.",
        "fiche_acces_libre": "https://acceslibre.beta.gouv.fr/app/lieu/", "structure_parente": "Ville-A",
        "source": "Réseau des lieux", "formations_labels": ["Formé à « Mon Espace Santé »"],
        "autres_formations_labels": "Label régional",
    })
    assert response.status_code == 302
    structure = session.scalar(sa.select(Structure).where(Structure.name == "Lieu aux deux sites"))
    assert structure.site_web == "https://lieu.exemple.fr|https://social.exemple/@lieu"
    assert structure.formations_labels == ["Formé à « Mon Espace Santé »"]
    page = text(client.get(f"/annuaire/structures/{structure.id}"))
    assert '<a href="https://lieu.exemple.fr" rel="noopener">' in page
    assert '<a href="https://social.exemple/@lieu" rel="noopener">' in page
    assert "Ateliers le mardi.<br>Permanence le jeudi." in page and "Réseau des lieux" in page
    response = client.post(f"/annuaire/structures/{structure.id}/modifier", data={
        "name": "Lieu aux deux sites", "commune": str(network.commune_a.id), "address": "2 rue Haute",
        "site_web": "https://lieu.exemple.fr | pas une adresse"})
    assert response.status_code == 422 and "Le site web doit être une adresse web complète" in text(response)


def test_large_network_filters_places_by_commune_name_or_code_in_a_text_field(client, login, network, monkeypatch):
    from mediation.directory import views

    monkeypatch.setattr(views, "COMMUNE_CHOICES_MAX", 1)
    login(client, network.mediator)
    html = client.get("/annuaire/structures").get_data(as_text=True)
    assert '<input type="text" id="commune" name="commune"' in html and "<option" not in html.split('id="commune"')[1][:200]
    by_name = table(client.get("/annuaire/structures?commune=ville-a"))
    assert "France Services A" in by_name and "Médiathèque B" not in by_name
    by_code = table(client.get(f"/annuaire/structures?commune={network.commune_b.insee_code}"))
    assert "Médiathèque B" in by_code and "France Services A" not in by_code
    monkeypatch.setattr(views, "COMMUNE_CHOICES_MAX", 300)
    html = client.get("/annuaire/structures").get_data(as_text=True)
    assert '<select id="commune" name="commune">' in html
