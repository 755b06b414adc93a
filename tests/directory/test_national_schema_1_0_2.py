"""Every exported file of places validates against the national schema v1.0.2 (Table Schema, checked
with frictionless). tests/data/schema-lieux-mediation-numerique-1.0.2.json is a copy of
https://github.com/LaMednum/standard-mediation-num/blob/e347ff40a0072ed2e0caf7f04384dfd2c84dbaff/schema.json
("version": "v1.0.2")."""

from __future__ import annotations

import json
from pathlib import Path

import frictionless
import sqlalchemy as sa

from mediation.directory import exchange
from mediation.directory.models import Structure
from mediation.directory.national_schema import CSV_HEADER, FORMATIONS_LABELS, LIST_FIELDS, MODALITES_ACCES
from tests.directory.conftest import parse_csv

SCHEMA_FILE = Path(__file__).parent.parent / "data" / "schema-lieux-mediation-numerique-1.0.2.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def validate(csv_text: str) -> frictionless.Report:
    resource = frictionless.Resource(data=csv_text.encode("utf-8"), format="csv", encoding="utf-8",
                                     schema=frictionless.Schema.from_descriptor(SCHEMA))
    return resource.validate()


def test_the_copy_is_schema_1_0_2_and_our_columns_are_its_columns():
    assert SCHEMA["version"] == "v1.0.2"
    assert list(CSV_HEADER) == [f["name"] for f in SCHEMA["fields"]]
    code_insee = next(f for f in SCHEMA["fields"] if f["name"] == "code_insee")
    assert code_insee["constraints"]["required"] is False


def test_every_value_list_is_spelled_as_the_schema(session):
    """A value we offer, written as we export it, matches the schema's pattern for its column."""
    import re
    patterns = {f["name"]: f["constraints"].get("pattern") for f in SCHEMA["fields"]}
    for field in LIST_FIELDS:
        if field.column == "typologie":
            continue
        for value in field.values:
            written = exchange._cell(Structure(**{field.attr: [value]}), field.column, field.attr)
            assert re.fullmatch(patterns[field.column], written), (field.column, written)
    assert "Ce lieu n'accueille pas de public" in {exchange._cell(Structure(modalites_acces=[v]), "modalites_acces",
                                                                  "modalites_acces") for v in MODALITES_ACCES}


def test_exported_places_validate_against_the_schema(session, network):
    full = network.structure_a
    full.siret, full.typologies = "21760540400011", ["RFS", "MUNI"]
    full.services = ["Aide aux démarches administratives"]
    full.modalites_acces = ["Se présenter", "Ce lieu n’accueille pas de public"]
    full.dispositifs = ["Point d'accès numérique CAF"]
    full.formations_labels = list(FORMATIONS_LABELS[:3])
    full.courriels = ["accueil@exemple.fr", "direction@exemple.fr"]
    full.site_web = "https://exemple.fr|https://social.exemple/@lieu"
    full.presentation_detail, full.source, full.structure_parente = "Ateliers\net permanences.", "Réseau", "Ville"
    full.autres_formations_labels, full.fiche_acces_libre = "Label local", "https://acceslibre.beta.gouv.fr/x/"
    full.telephone, full.latitude, full.longitude = "+33235000000", 49.44, 1.09
    full.itinerance = ["Fixe"]
    session.flush()
    structures = session.scalars(sa.select(Structure).order_by(Structure.id)).all()
    text = exchange.export_csv(structures)
    report = validate(text)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    rows = parse_csv(text)
    assert rows[0]["site_web"] == "https://exemple.fr|https://social.exemple/@lieu"
    assert rows[0]["modalites_acces"] == "Se présenter|Ce lieu n'accueille pas de public"
    assert all(r["pivot"] for r in rows)  # "00000000000000" for a place without SIRET nor RNA
    # and the validator is not blind: a wrong value is reported.
    assert not validate(text.replace("Se présenter|", "Se presenter|")).valid


def test_import_without_code_insee_and_with_several_sites(session, network, make_commune):
    rouen = make_commune(network.territory, name="Rouen", insee="76540", postal_code="76000")
    header = ["nom", "pivot", "commune", "code_postal", "adresse", "site_web", "presentation_detail",
              "formations_labels", "fiche_acces_libre"]
    lines = [",".join(header),
             'Lieu de Rouen,00000000000000,Rouen,76100,1 rue,"https://a.fr|https://b.fr",Détail,'
             '"Formé à « Mon Espace Santé »",https://acceslibre.beta.gouv.fr/r/']
    report = exchange.import_structures(session, network.admin, "\n".join(lines).encode())
    assert report.ok and report.created == 1, report.errors
    place = session.scalar(sa.select(Structure).where(Structure.name == "Lieu de Rouen"))
    assert place.commune_id == rouen.id and place.siret is None and place.site_web == "https://a.fr|https://b.fr"
    assert place.formations_labels == ["Formé à « Mon Espace Santé »"] and place.presentation_detail == "Détail"
    report = exchange.import_structures(session, network.admin,
                                        b"nom,commune,code_postal,adresse\nLieu,Brest,29200,1 rue\n")
    assert [e.column for e in report.errors] == ["code_insee"] and "Brest (29019)" in report.errors[0].message
