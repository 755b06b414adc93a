"""Finding a person ignores case and accents, on names, birth year, phone and number — the same
rule on the case list, the API and the beneficiaries export, within the user's scope."""

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from mediation.search import _ACCENTED, fold_text, folded


def _case_count(client, q):
    page = client.get("/dossiers", query_string={"q": q}).get_data(as_text=True)
    return page


def test_case_search_ignores_accents_and_case(client, login, network, make_beneficiary):
    make_beneficiary(first_name="Océane", last_name="Roux", birth_year=2004, phone="+33629273115")
    make_beneficiary(first_name="Claude", last_name="Bertrand", birth_year=2004)
    make_beneficiary(first_name="Claude", last_name="Bertrand", birth_year=1961)
    make_beneficiary(first_name="Hélène", last_name="Lœuvre")
    login(client, network.mediator)
    for q in ("oceane", "OCEANE", "Océane", "océ", "OCÉANE roux", "roux oceane"):
        page = _case_count(client, q)
        assert "Océane Roux" in page and "1 dossier" in page, q
    for q in ("06 29 27 31 15", "0629273115", "+33 6 29 27 31 15", "629273115"):
        assert "Océane Roux" in _case_count(client, q), q
    assert "2 dossiers" in _case_count(client, "claude bertrand")
    page = _case_count(client, "bertrand 1961")
    assert "1 dossier" in page
    assert "Hélène Lœuvre" in _case_count(client, "loeuvre helene")
    assert "0 dossier" in _case_count(client, "oceanie")
    # LIKE wildcards typed by the user are literal characters.
    assert "0 dossier" in _case_count(client, "%")
    assert "0 dossier" in _case_count(client, "_")


def test_search_stays_in_scope_and_coordinators_search_by_number_only(client, login, network, make_beneficiary):
    mine = make_beneficiary(first_name="Océane", last_name="Roux")
    make_beneficiary(structure=network.structure_b, actor=network.mediator_b, first_name="Oceane", last_name="Autre")
    login(client, network.mediator)
    page = _case_count(client, "oceane")
    assert "Océane Roux" in page and "Autre" not in page
    client.post("/deconnexion")
    login(client, network.coordinator)
    assert "0 dossier" in _case_count(client, "oceane")
    assert "1 dossier" in _case_count(client, f"n° {mine.id}")


def test_api_and_export_use_the_same_rule(client, network, make_beneficiary, session):
    from mediation.auth.services import create_api_token

    make_beneficiary(first_name="Océane", last_name="Roux", birth_year=2004)
    make_beneficiary(first_name="Paul", last_name="Durand")
    _token, secret = create_api_token(session, network.mediator, name="t", scopes=["beneficiaries:read"])
    body = client.get("/api/v1/beneficiaires", query_string={"q": "OCEANE"},
                      headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert [p["nom"] for p in body["items"]] == ["Roux"]
    from mediation.cases.exports import beneficiary_export_query
    from mediation.cases.models import Beneficiary

    ids = session.scalars(beneficiary_export_query(network.mediator, "oceane 2004").with_only_columns(Beneficiary.id))
    assert len(list(ids)) == 1


def test_sql_fold_equals_python_fold_on_the_database(session):
    """PostgreSQL's translate() and SQLite's registered function fold every listed letter like Python."""
    text = _ACCENTED + _ACCENTED.upper() + "ŒœÆæß Ça-VA"
    assert session.scalar(sa.select(folded(sa.literal(text)))) == fold_text(text)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(_ACCENTED + "abcXYZ ÉÈŒ-'")), max_size=30))
def test_sql_fold_matches_python_fold_for_any_name(app, text):
    from mediation.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        assert connection.scalar(sa.select(folded(sa.literal(text)))) == fold_text(text)
