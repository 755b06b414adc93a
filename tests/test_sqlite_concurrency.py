"""The embedded SQLite database under concurrent writers: requests that write take the write lock
up front (BEGIN IMMEDIATE), so simultaneous saves wait their turn instead of failing with
"database is locked" (a 503)."""

from __future__ import annotations

import threading

from flask_migrate import upgrade

from mediation import create_app
from mediation.auth.models import Role, User
from mediation.auth.services import hash_password
from mediation.extensions import db
from tests.conftest import PASSWORD


def test_simultaneous_sign_ins_all_succeed(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'c.sqlite3'}",
                      "SECRET_KEY": "x", "MEDIATION_ENV": "test", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        for n in range(4):
            db.session.add(User(email=f"m{n}@test.example", first_name="A", last_name=str(n),
                                role=Role.MEDIATOR, password_hash=hash_password(PASSWORD)))
        db.session.commit()
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        client = app.test_client()
        for _ in range(8):
            response = client.post("/connexion", data={"email": f"m{n}@test.example", "password": PASSWORD})
            client.post("/deconnexion")
            with lock:
                statuses.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        db.engine.dispose()
    assert statuses == [302] * 32
