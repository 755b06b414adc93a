"""The communes reference carries the centre of each commune when its build is given a centres
file; a commune created in a territory from the reference takes that centre."""

import gzip
import json

import pytest

from mediation.directory import reference as reference_module
from mediation.directory import reference_build, services


@pytest.fixture
def small_reference(tmp_path):
    package = tmp_path / "package"
    (package / "data").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@etalab/decoupage-administratif", "version": "9.9.9"}))
    (package / "data" / "communes.json").write_text(json.dumps([
        {"code": "76540", "nom": "Rouen", "type": "commune-actuelle", "departement": "76", "region": "28",
         "population": 114083, "codesPostaux": ["76000", "76100"]},
        {"code": "76222", "nom": "Duclair", "type": "commune-actuelle", "departement": "76", "region": "28",
         "population": 3996, "codesPostaux": ["76480"]},
    ]))
    centres = tmp_path / "centres.csv"
    centres.write_text("code,latitude,longitude\n76540,49.443232,1.099971\n", encoding="utf-8")
    output = tmp_path / "communes.csv.gz"
    assert reference_build.build(package, output, centres=centres) == 2
    return output


def test_build_writes_the_centres_and_names_their_file(small_reference):
    text = gzip.decompress(small_reference.read_bytes()).decode()
    assert text.splitlines()[0] == "# @etalab/decoupage-administratif 9.9.9 ; centres : centres.csv"
    loaded = reference_module.load(small_reference)
    rouen, duclair = loaded.get("76540"), loaded.get("76222")
    assert (rouen.latitude, rouen.longitude) == (49.4432, 1.1)
    assert duclair.latitude is None and duclair.longitude is None  # no centre given: left empty


def test_invalid_centre_stops_the_build(tmp_path, small_reference):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,latitude,longitude\n76540,149.4,1.1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="invalid coordinates for 76540"):
        reference_build.build(tmp_path / "package", tmp_path / "out.csv.gz", centres=bad)


def test_the_shipped_reference_reads_with_its_coordinate_columns():
    loaded = reference_module.load()
    assert len(loaded) > 34_000 and loaded.get("76540").name == "Rouen"


def test_a_commune_created_from_the_reference_takes_its_centre(session, network, small_reference, monkeypatch):
    loaded = reference_module.load(small_reference)
    monkeypatch.setattr(reference_module, "reference", lambda: loaded)
    commune = services.create_commune(session, network.admin, network.territory,
                                      {"insee_code": "76540", "name": "Rouen", "postal_code": "76000",
                                       "population": "114083"})
    assert (commune.latitude, commune.longitude) == (49.4432, 1.1)
    typed = services.create_commune(session, network.admin, network.territory,
                                    {"insee_code": "76222", "name": "Duclair", "postal_code": "76480",
                                     "latitude": "49,48", "longitude": "0,88"})
    assert (typed.latitude, typed.longitude) == (49.48, 0.88)
