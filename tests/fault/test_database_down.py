"""The database unreachable: French 503 page (built without the layout, which reads the signed-in
user) or JSON error under /api/, with Retry-After; never a bare 500."""

from __future__ import annotations

import pytest

from mediation import create_app
from mediation.extensions import db


@pytest.fixture
def down_app(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "down", "MEDIATION_ENV": "test",
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/absente?connect_timeout=2",
                      "MEDIATION_OUTBOX_DIR": str(tmp_path / "outbox")})
    yield app
    with app.app_context():
        db.engine.dispose()


def test_pages_answer_a_french_503_when_the_database_is_down(down_app):
    client = down_app.test_client()
    response = client.get("/sante")  # (signed-in users: covered by ``python -m loadtest --fault``)
    assert response.status_code == 503 and response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page and "momentanément indisponible" in page and "rien n&#39;a été enregistré" in page


def test_api_answers_a_french_503_json_when_the_database_is_down(down_app):
    response = down_app.test_client().get("/api/v1/moi", headers={"Authorization": "Bearer x" * 3})
    assert response.status_code == 503 and response.mimetype == "application/json"
    assert response.json["error"]["title"] == "Service indisponible"
    assert "rien n'a été enregistré" in response.json["error"]["message"]
