"""Need indicators per commune (observatoire): the whole file is checked before anything is
written, errors name the line and the column in French, communes outside the actor's territories
are ignored."""

import io

import pytest
import sqlalchemy as sa

from mediation.directory import needs
from mediation.directory.models import CommuneNeed
from mediation.errors import Forbidden


def stored(session):
    return {n.commune.insee_code: (n.fragility_index, n.share_75_plus, n.poverty_rate, n.source)
            for n in session.scalars(sa.select(CommuneNeed))}


def test_valid_file_is_checked_then_applied(session, network, events):
    a, b = network.commune_a.insee_code, network.commune_b.insee_code
    content = (f"code_insee;indice_fragilite_numerique;part_75_ans_et_plus;taux_pauvrete;source\n"
               f"{a};112,5;9,8;18 %;Mednum 2024\n{b};87;12.1;;INSEE\n").encode()
    report = needs.import_needs(session, network.admin, content, dry_run=True)
    assert report.ok and report.created == 2 and not report.applied
    assert stored(session) == {}
    report = needs.import_needs(session, network.admin, content)
    assert report.applied and report.created == 2
    assert stored(session) == {a: (112.5, 9.8, 18.0, "Mednum 2024"), b: (87.0, 12.1, None, "INSEE")}
    assert events("commune_needs.imported")[-1].details["created"] == 2
    # a second file with one column only updates that column
    report = needs.import_needs(session, network.admin, f"code_insee,taux_pauvrete\n{a},20\n".encode())
    assert report.updated == 1 and stored(session)[a] == (112.5, 9.8, 20.0, "Mednum 2024")


def test_errors_are_listed_and_nothing_is_written(session, network):
    a = network.commune_a.insee_code
    content = (f"code_insee,indice_fragilite_numerique,part_75_ans_et_plus\n"
               f"{a},beaucoup,9\n99999,100,5\n{a},100,5\n,1,1\n76540,100,140\n").encode()
    report = needs.import_needs(session, network.admin, content)
    assert not report.ok and not report.applied
    messages = [(e.line, e.column, e.message) for e in report.errors]
    assert (2, "indice_fragilite_numerique", "« beaucoup » n'est pas un nombre (exemple : 12,5).") in messages
    assert any(line == 3 and column == "code_insee" and "inconnu" in m and "99999" in m
               for line, column, m in messages)
    assert any(line == 4 and "figure déjà à la ligne 2" in m for line, _, m in messages)
    assert (5, "code_insee", "Code INSEE manquant.") in messages
    assert any(line == 6 and column == "part_75_ans_et_plus" and "hors des valeurs possibles" in m
               for line, column, m in messages)
    assert stored(session) == {}


@pytest.mark.parametrize("content, expected", [
    (b"", "Le fichier est vide"),
    (b"code_insee,nom\n76540,Rouen\n", "Aucune colonne d'indicateur"),
    (b"commune,taux_pauvrete\nRouen,12\n", "Colonne obligatoire absente : code_insee."),
    (b"code_insee,taux_pauvrete\n", "aucune ligne de commune"),
])
def test_file_level_errors(session, network, content, expected):
    report = needs.import_needs(session, network.admin, content)
    assert not report.ok and any(expected in e.message for e in report.errors)


def test_communes_outside_the_actors_territories_are_ignored(session, network):
    content = (f"code_insee,taux_pauvrete\n{network.commune_a.insee_code},12\n"
               f"{network.commune_far.insee_code},30\n76540,14\n").encode()
    report = needs.import_needs(session, network.coordinator, content)
    assert report.applied and report.created == 1 and report.ignored == 2
    assert set(stored(session)) == {network.commune_a.insee_code}


def test_mediators_and_funders_may_not_import(session, network):
    for user in (network.mediator, network.funder):
        with pytest.raises(Forbidden):
            needs.import_needs(session, user, b"code_insee,taux_pauvrete\n76540,12\n")


def test_import_page_reports_errors_in_french(client, login, network, session):
    login(client, network.admin)
    data = {"file": (io.BytesIO(b"code_insee,taux_pauvrete\n76540,douze\n"), "besoins.csv")}
    response = client.post("/annuaire/communes/besoins/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Aucune modification n’a été enregistrée." in page and "« douze » n&#39;est pas un nombre" in page
    data = {"file": (io.BytesIO(f"code_insee,taux_pauvrete\n{network.commune_a.insee_code},12\n".encode()),
                     "besoins.csv")}
    response = client.post("/annuaire/communes/besoins/import", data=data, content_type="multipart/form-data",
                           follow_redirects=True)
    assert response.status_code == 200 and "indicateurs de 1 commune(s) ajoutés" in response.get_data(as_text=True)
    assert stored(session)[network.commune_a.insee_code][2] == 12.0
