"""Directory services: territories, communes, structures (national-schema fields)."""

from datetime import date

import pytest
import sqlalchemy as sa

from mediation.directory import services
from mediation.directory.models import Commune, Structure, Territory, TerritoryKind
from mediation.directory.national_schema import DISPOSITIFS, LIST_FIELDS, SERVICES
from mediation.errors import DomainError, Forbidden, ValidationFailed
from mediation.types import local_today
from tests.directory.conftest import siret_with_key


def structure_data(**overrides):
    data = {"name": "Espace numérique du Centre", "address": "3 rue du Port", "siret": None}
    data.update(overrides)
    return data


# --- SIRET and value lists ----------------------------------------------------------------

@pytest.mark.parametrize("siret, valid", [
    ("21760540400011", True),   # Ville de Rouen
    ("21760540400012", False),  # one digit off: wrong Luhn key
    ("2176054040001", False),   # 13 digits
    ("2176054040001A", False),
])
def test_siret_is_checked_with_the_luhn_key(siret, valid):
    assert services.siret_is_valid(siret) is valid


def test_siret_with_spaces_is_normalised_and_a_wrong_key_explained():
    assert services.clean_siret("217 605 404 00011") == "21760540400011"
    with pytest.raises(services.FieldError, match="clé de contrôle"):
        services.clean_siret("21760540400012")
    with pytest.raises(services.FieldError, match="14 chiffres"):
        services.clean_siret("123")


def test_every_value_list_is_the_national_one():
    assert "Maîtrise des outils numériques du quotidien" in SERVICES and len(SERVICES) == 9
    assert "France Services" in DISPOSITIFS and len(DISPOSITIFS) == 11
    assert {f.column for f in LIST_FIELDS} >= {"services", "publics_specifiquement_adresses",
                                               "frais_a_charge", "modalites_acces", "typologie"}


def test_list_values_forgive_case_and_apostrophes_but_refuse_unknown_ones():
    field = next(f for f in LIST_FIELDS if f.attr == "modalites_acces")
    assert services.clean_list("se présenter|Ce lieu n'accueille pas de public", field) == [
        "Se présenter", "Ce lieu n’accueille pas de public"]
    with pytest.raises(services.FieldError, match="« Sur rendez-vous »"):
        services.clean_list(["Se présenter", "Sur rendez-vous"], field)


# --- structures ---------------------------------------------------------------------------

def test_admin_creates_a_structure_with_national_fields_and_it_is_audited(session, network, events):
    structure = services.create_structure(session, network.admin, network.commune_a, structure_data(
        siret="21760540400011", services=["Aide aux démarches administratives"], dispositifs=["France Services"],
        typologies=["RFS"], telephone="02 35 00 00 00", courriels=["Accueil@Exemple.fr"],
        latitude="49,4431", longitude="1.0993", horaires="Mo-Fr 09:00-17:00",
    ))
    assert structure.siret == "21760540400011"
    assert structure.telephone == "+33235000000"
    assert structure.courriels == ["Accueil@exemple.fr"]
    assert structure.latitude == pytest.approx(49.4431)
    assert structure.postal_code == network.commune_a.postal_code
    assert structure.date_maj == local_today()
    event = events("structure.created")[-1]
    assert event.object_id == str(structure.id) and event.actor_id == network.admin.id


def test_invalid_fields_are_all_reported_in_french_and_nothing_is_created(session, network):
    before = session.scalar(sa.select(sa.func.count(Structure.id)))
    with pytest.raises(ValidationFailed) as caught:
        services.create_structure(session, network.admin, network.commune_a, structure_data(
            name="", siret="12345678901234", latitude="95", services=["Cours de cuisine"],
            site_web="www.exemple.fr", presentation_resume="x" * 281,
        ))
    errors = caught.value.errors
    assert errors["name"] == "Le nom de la structure est obligatoire."
    assert "clé de contrôle" in errors["siret"]
    assert errors["latitude"] == "La latitude doit être comprise entre -90 et 90."
    assert "« Cours de cuisine »" in errors["services"]
    assert "https://" in errors["site_web"]
    assert "280 caractères" in errors["presentation_resume"]
    assert session.scalar(sa.select(sa.func.count(Structure.id))) == before


def test_a_siret_belongs_to_one_structure(session, network):
    network.structure_b.siret = "21760540400011"
    session.flush()
    with pytest.raises(ValidationFailed) as caught:
        services.create_structure(session, network.admin, network.commune_a,
                                  structure_data(siret="21760540400011"))
    assert caught.value.errors["siret"] == "Ce SIRET est déjà celui de la structure « Médiathèque B »."


def test_coordinator_creates_only_in_their_territory(session, network):
    services.create_structure(session, network.coordinator, network.commune_b, structure_data())
    with pytest.raises(Forbidden):
        services.create_structure(session, network.coordinator, network.commune_far, structure_data())


def test_mediator_changes_nothing(session, network):
    with pytest.raises(Forbidden):
        services.update_structure(session, network.mediator, network.structure_a, {"name": "Autre"})


def test_update_records_the_changed_fields_and_refreshes_date_maj(session, network, events):
    structure = network.structure_a
    structure.date_maj = date(2024, 1, 1)
    changed = services.update_structure(session, network.coordinator, structure, {
        "name": "France Services A (Hôtel de ville)", "frais": ["Gratuit"], "address": structure.address,
    })
    assert changed == ["frais", "name"]
    assert structure.date_maj == local_today()
    assert events("structure.updated")[-1].details == {"fields": ["frais", "name"]}
    assert services.update_structure(session, network.coordinator, structure, {"frais": ["Gratuit"]}) == []


def test_coordinator_cannot_move_a_structure_out_of_their_territory(session, network):
    with pytest.raises(Forbidden):
        services.update_structure(session, network.coordinator, network.structure_a, {},
                                  commune=network.commune_far)
    with pytest.raises(Forbidden):
        services.update_structure(session, network.coordinator, network.structure_far, {"name": "X"})


def test_archive_then_restore(session, network, events):
    services.archive_structure(session, network.coordinator, network.structure_a)
    assert network.structure_a.archived_at is not None
    with pytest.raises(DomainError, match="déjà archivée"):
        services.archive_structure(session, network.coordinator, network.structure_a)
    services.restore_structure(session, network.admin, network.structure_a)
    assert network.structure_a.archived_at is None
    assert events("structure.archived") and events("structure.restored")
    with pytest.raises(Forbidden):
        services.archive_structure(session, network.other_coordinator, network.structure_a)


def test_latitude_without_longitude_is_refused(session, network):
    with pytest.raises(ValidationFailed) as caught:
        services.create_structure(session, network.admin, network.commune_a, structure_data(latitude="49.1"))
    assert caught.value.errors == {"longitude": "Indiquez la latitude et la longitude, ou aucune des deux."}


# --- territories and communes -------------------------------------------------------------

def test_only_admins_create_territories_and_names_are_unique(session, network, events):
    territory = services.create_territory(session, network.admin, {"name": "Département de l'Eure",
                                                                   "kind": "departement", "code": "27"})
    assert territory.kind == TerritoryKind.DEPARTEMENT
    assert events("territory.created")[-1].object_id == str(territory.id)
    with pytest.raises(ValidationFailed) as caught:
        services.create_territory(session, network.admin, {"name": "département de l'eure", "kind": "departement"})
    assert caught.value.errors == {"name": "Un territoire porte déjà ce nom."}
    with pytest.raises(Forbidden):
        services.create_territory(session, network.coordinator, {"name": "Autre", "kind": "metropole"})
    with pytest.raises(Forbidden):
        services.update_territory(session, network.coordinator, network.territory,
                                  {"name": "Renommée", "kind": "metropole"})


def test_commune_rules(session, network, events):
    commune = services.create_commune(session, network.coordinator, network.territory, {
        "insee_code": "76451", "name": "Mont-Saint-Aignan", "postal_code": "76130",
        "population": "19 413", "latitude": "49,4631", "longitude": "1,0892",
    })
    assert commune.population == 19413 and commune.latitude == pytest.approx(49.4631)
    assert events("commune.created")[-1].object_id == str(commune.id)
    with pytest.raises(ValidationFailed) as caught:
        services.create_commune(session, network.admin, network.territory, {
            "insee_code": "76451", "name": "Doublon", "population": "-3", "latitude": "91",
        })
    assert caught.value.errors == {
        "insee_code": "Le code INSEE 76451 est déjà celui de la commune Mont-Saint-Aignan.",
        "population": "La population doit être un nombre entier positif ou nul.",
        "latitude": "La latitude doit être comprise entre -90 et 90.",
    }
    with pytest.raises(ValidationFailed) as caught:
        services.create_commune(session, network.admin, network.territory, {"insee_code": "7654", "name": "X"})
    assert "5 caractères" in caught.value.errors["insee_code"]
    assert services.clean_insee_code("2a004") == "2A004"
    with pytest.raises(Forbidden):
        services.create_commune(session, network.coordinator, network.other_territory,
                                {"insee_code": "27229", "name": "Évreux"})


def test_only_admins_move_a_commune_to_another_territory(session, network):
    data = {"insee_code": network.commune_a.insee_code, "name": "Ville-A", "population": "12"}
    with pytest.raises(Forbidden):
        services.update_commune(session, network.coordinator, network.commune_a, data,
                                territory=network.other_territory)
    services.update_commune(session, network.admin, network.commune_a, data, territory=network.other_territory)
    assert network.commune_a.territory_id == network.other_territory.id
    assert session.get(Commune, network.commune_a.id).population == 12
    assert session.scalar(sa.select(Territory).where(Territory.id == network.territory.id)) is not None


def test_valid_siret_helper_builds_luhn_numbers():
    assert services.siret_is_valid(siret_with_key("2176054040001"))
