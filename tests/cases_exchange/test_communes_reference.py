"""The official communes reference (shipped as data) and its use by the Coop imports: every postal
code of a commune is accepted, and a commune outside the network's territories is stored, not refused."""

from __future__ import annotations

import time

import sqlalchemy as sa

from mediation.cases import exchange
from mediation.cases.enums import PlaceType
from mediation.cases.exchange_models import ImportKind
from mediation.cases.models import Activity, Beneficiary
from mediation.directory import communes, policy, reference
from mediation.directory.models import Commune
from mediation.jobs import enqueue
from mediation.jobs.models import JobStatus
from tests.cases_exchange.conftest import csv_bytes
from tests.cases_exchange.test_import import ACT_HEADER, BEN_HEADER, act_row, ben_row


def test_the_reference_knows_every_postal_code_of_a_commune():
    ref = reference.reference()
    assert len(ref) > 34_000  # all current communes of France, plus arrondissements
    assert ref.get("76540").postal_codes == ("76000", "76100")
    assert [c.insee_code for c in ref.for_postal_code("76100")] == ["76540"]
    assert [c.insee_code for c in ref.for_postal_code("76000")] == ["76540"]
    assert ref.find("ROUEN", "76100").insee_code == "76540"
    assert ref.find("Rouen", "13001") is None  # wrong postal code
    assert ref.find("St-Étienne", "42100").insee_code == "42218"
    assert ref.find("Marseille", "13001").insee_code == "13055"
    assert ref.get("13201").arrondissement_of == "13055"
    assert ref.get("1053").insee_code == "01053"  # Excel dropped the leading zero
    assert ref.get("99999") is None


def test_the_reference_is_read_once_and_quickly():
    """CPU time of this process (the test machine's cores are shared): ~0.2 s to read, then cached."""
    reference.reference.cache_clear()
    started = time.process_time()
    ref = reference.reference()
    first = time.process_time() - started
    started = time.process_time()
    for _ in range(1000):
        assert reference.reference() is ref and ref.get("76540").name == "Rouen"
    again = time.process_time() - started
    assert first < 1.5 and again < 0.1, (first, again)


def test_rouen_76000_and_76100_both_resolve_to_rouen(session, network, make_commune):
    rouen = make_commune(network.territory, name="Rouen", insee="76540", postal_code="76000")
    found = communes.resolve_codes(session, ["76540"])
    assert found["76540"].id == rouen.id
    assert communes.has_postal_code(rouen, "76000") and communes.has_postal_code(rouen, "76100")
    assert not communes.has_postal_code(rouen, "76300")
    content = csv_bytes([BEN_HEADER,
                         ben_row(**{"Nom": "Durand", "Prénom": "Léa", "Nom de la commune": "Rouen",
                                    "Code INSEE": "76540", "Code postal": "76100"}),
                         ben_row(**{"Nom": "Martin", "Prénom": "Jo", "Nom de la commune": "ROUEN",
                                    "Code INSEE": "76540", "Code postal": "76000"}),
                         ben_row(**{"Nom": "Petit", "Prénom": "Al", "Nom de la commune": "Rouen",
                                    "Code postal": "76100"})])  # no INSEE code: name and postal code
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.BENEFICIARIES, content,
                                "b.csv")
    assert analysis.ok, [str(e) for e in analysis.errors]
    assert [row["residence_commune_id"] for row in analysis.plan.to_create] == [rouen.id] * 3


def test_a_wrong_postal_code_is_still_refused(session, network, make_commune):
    make_commune(network.territory, name="Rouen", insee="76540", postal_code="76000")
    content = csv_bytes([BEN_HEADER, ben_row(**{"Nom": "Durand", "Prénom": "Léa", "Nom de la commune": "Rouen",
                                                 "Code INSEE": "76540", "Code postal": "76300"})])
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.BENEFICIARIES, content,
                                "b.csv")
    assert "Ligne 2, colonne « Code postal » : le code postal de la commune ne correspond pas" in {
        str(e) for e in analysis.errors}


def test_a_residence_outside_every_territory_is_stored(client, login, session, network, eager):
    assert session.scalar(sa.select(Commune).where(Commune.insee_code == "29019")) is None
    content = csv_bytes([BEN_HEADER, ben_row(**{"Nom": "Le Gall", "Prénom": "Anne", "Nom de la commune": "Brest",
                                                 "Code INSEE": "29019", "Code postal": "29200"})])
    from tests.cases_exchange.test_import import apply_upload, upload
    login(client, network.mediator)
    page = upload(client, network, content, "beneficiaires").get_data(as_text=True)
    assert "hors des territoires" not in page
    apply_upload(client, session)
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.last_name == "Le Gall"))
    brest = session.get(Commune, person.residence_commune_id)
    assert (brest.insee_code, brest.name, brest.territory_id) == ("29019", "Brest", None)
    assert "29200" in brest.postal_codes and brest.population > 100_000
    # A commune outside every territory is offered in no picker and belongs to no territory scope.
    assert brest.id not in {c.id for c in session.scalars(policy.communes_for(network.admin))}
    assert brest not in network.territory.communes


def test_places_outside_the_territory_are_kept_in_their_commune(session, network, eager):
    content = csv_bytes([
        ACT_HEADER,
        act_row(network, **{"ID CRA": "home", "Canaux d’accompagnement": "À domicile", "Code Insee": "35238"}),
        act_row(network, **{"ID CRA": "elsewhere", "Canaux d’accompagnement": "Autre lieu", "Commune": "Rouen",
                            "Code postal": "76100"}),
        act_row(network, **{"ID CRA": "far-place", "Nom du lieu": "Médiathèque de Quimper", "Code Insee": "29232"}),
        act_row(network, **{"ID CRA": "resident", "Code Insee du bénéficiaire": "69123"}),
    ])
    analysis = exchange.analyse(session, network.mediator, network.structure_a, ImportKind.ACTIVITIES, content,
                                "a.csv")
    assert analysis.ok, [str(e) for e in analysis.errors]
    codes = ["35238", "76540", "29232", "69123"]
    # The analysis writes nothing: the communes are stored when the import is applied.
    assert not session.scalars(sa.select(Commune).where(Commune.insee_code.in_(codes))).all()
    job = enqueue(session, "cases.import", user=network.mediator,
                  params={"kind": "activites", "structure_id": network.structure_a.id}, input_name="a.csv",
                  input_data=content)
    assert job.status == JobStatus.DONE, job.error

    def activity(external_id):
        return session.scalar(sa.select(Activity).where(Activity.external_id == external_id))

    assert activity("home").place_commune.name == "Rennes"
    assert activity("elsewhere").place_commune.insee_code == "76540"
    far = activity("far-place")
    # A place outside the network is kept as a place (unlisted), in its own commune, never turned into
    # « Autre lieu » nor moved to the importing structure.
    assert far.place_type == PlaceType.LIEU_ACTIVITE and far.place_structure.name == "Médiathèque de Quimper"
    assert far.place_structure.unlisted and far.place_structure.commune.name == "Quimper"
    assert any("lieu absent de l’annuaire" in str(w) for w in analysis.warnings)
    resident = activity("resident").participations[0].beneficiary
    assert session.get(Commune, resident.residence_commune_id).name == "Lyon"
    stored = session.scalars(sa.select(Commune).where(Commune.insee_code.in_(codes))).all()
    assert len(stored) == 4 and all(c.territory_id is None for c in stored)


def test_an_existing_reference_commune_joins_a_territory_when_added(session, network):
    from mediation.directory import services
    communes.resolve_codes(session, ["29019"])
    brest = services.create_commune(session, network.admin, network.territory,
                                    {"insee_code": "29019", "name": "Brest", "postal_code": "29200"})
    assert brest.territory_id == network.territory.id
    assert session.scalar(sa.select(sa.func.count()).select_from(Commune).where(Commune.insee_code == "29019")) == 1
