"""Lists count at most ``pagination.COUNT_LIMIT`` rows on the web pages (« plus de … »), and
exactly in the API."""

import re

from mediation import pagination
from mediation.auth import services


def test_web_list_stops_counting_at_the_limit_and_says_so(client, login, network, make_structure,
                                                          monkeypatch):
    for i in range(28):
        make_structure(network.commune_a, name=f"Lieu {i}")
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 26)
    login(client, network.admin)
    html = client.get("/annuaire/structures").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "du réseau (plus de 26)" in text
    assert "Page 1 sur plus de 2 · plus de 26 résultats" in text
    assert "précisez les filtres" in text
    assert 'rel="next"' in html
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 10_000)
    html = client.get("/annuaire/structures").get_data(as_text=True)
    assert "plus de" not in " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_capped_page_offers_the_pages_up_to_the_limit(session, network, make_structure, monkeypatch):
    import sqlalchemy as sa

    from mediation.directory.models import Structure

    for i in range(6):
        make_structure(network.commune_a, name=f"Lieu {i}")
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 4)
    query = sa.select(Structure).order_by(Structure.id)
    page = pagination.paginate(session, query, 1, 2)
    assert (page.total, page.capped, page.pages, page.has_next) == (4, True, 2, True)
    assert not pagination.paginate(session, query, 2, 2).has_next
    everything = session.scalar(sa.select(sa.func.count()).select_from(Structure))
    exact = pagination.paginate(session, query, 1, 2, exact=True)
    assert (exact.total, exact.capped) == (everything, False)


def test_api_counts_every_row(client, session, network, make_structure, monkeypatch):
    for i in range(6):
        make_structure(network.commune_a, name=f"Lieu {i}")
    _, raw = services.create_api_token(session, network.mediator, "Tests", ["directory:read"])
    session.flush()
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 4)
    body = client.get("/api/v1/structures?per_page=2", headers={"Authorization": f"Bearer {raw}"}).json
    assert body["total"] > 4
    assert body["pages"] == -(-body["total"] // 2)
