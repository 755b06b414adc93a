"""Oversized requests and malformed import files: refused with a clear French message, nothing written."""

from __future__ import annotations

import io
import random

import pytest
import sqlalchemy as sa

from mediation.auth import services as auth_services
from mediation.cases.models import Activity, Beneficiary


@pytest.fixture
def small_uploads(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)


def totals(session) -> tuple[int, int]:
    return (session.scalar(sa.select(sa.func.count()).select_from(Activity)),
            session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)))


def test_oversized_import_is_a_french_413_page(client, login, network, session, small_uploads):
    login(client, network.mediator)
    before = totals(session)
    response = client.post("/echanges/import", data={
        "kind": "activites", "structure_id": str(network.structure_a.id),
        "file": (io.BytesIO(b"a;b\n" * 40_000), "gros.csv")}, content_type="multipart/form-data")
    assert response.status_code == 413 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Fichier trop volumineux" in page and "dépasse la taille autorisée" in page
    assert totals(session) == before


def test_oversized_api_body_is_a_french_413_json(client, network, session, small_uploads):
    _, raw = auth_services.create_api_token(session, network.mediator, "Gros", ["activities:write"])
    session.flush()
    before = totals(session)
    response = client.post("/api/v1/activites", headers={"Authorization": f"Bearer {raw}"},
                           json={"notes": "x" * 100_000})
    assert response.status_code == 413 and response.mimetype == "application/json"
    assert response.json["error"]["title"] == "Fichier trop volumineux"
    assert totals(session) == before


@pytest.mark.parametrize("filename", ["donnees.csv", "donnees.xlsx"])
@pytest.mark.parametrize("kind", ["activites", "beneficiaires"])
def test_random_binary_import_is_refused_clearly(client, login, network, session, filename, kind):
    login(client, network.mediator)
    before = totals(session)
    noise = random.Random(filename + kind).randbytes(20_000)
    response = client.post("/echanges/import", data={
        "kind": kind, "structure_id": str(network.structure_a.id), "file": (io.BytesIO(noise), filename)},
        content_type="multipart/form-data")
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    assert "Rien ne sera importé." in page and "<td>Fichier</td>" in page, page[-3000:]  # a file-level error
    assert "Appliquer" not in page  # nothing stored to apply
    assert totals(session) == before
