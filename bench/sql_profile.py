"""Where the time of logging an activity goes, statement by statement (issue 18, point 1).

In-process (Flask's test client, no server): sign a mediator in, then ``POST /activites/nouvelle``
``--requests`` times, timing every SQL statement from SQLAlchemy's cursor events, and the whole
request. Prints, per statement (its first words), the count per request and the mean time, and the
time outside SQL (Python). Run it on a 20 000 and a 1 000 000 base to see what grows with the data:

    python -m bench.sql_profile --url postgresql://…/base --requests 200 [--explain]

The activities it creates are removed again (as the HTTP bench does).
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import time
from collections import defaultdict

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from bench.http_load import PASSWORD, _activity_form, _prepare_users, _remove_activities, csrf_token


class _Db:
    def __init__(self, app):
        self.app = app


def _shape(statement: str) -> str:
    text = " ".join(statement.split())
    text = re.sub(r"\(\s*%\(.*", "(…", text)
    return text[:150]


def main(argv=None) -> int:
    from mediation import create_app
    from mediation.extensions import db

    parser = argparse.ArgumentParser(prog="python -m bench.sql_profile")
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the three slowest statements")
    args = parser.parse_args(argv)

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "MEDIATION_ENV": "development", "SECRET_KEY": "bench",
                      "MEDIATION_LOGIN_MAX_FAILURES": 1000})
    user_id, email, structure_id = _prepare_users(_Db(app), 1)[0]
    gc.freeze()  # as wsgi.py does once the app is built
    timings: dict[str, list[float]] = defaultdict(list)
    samples: dict[str, tuple] = {}
    state = {"on": False}

    with app.app_context():
        engine = db.engine

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["t0"] = time.perf_counter()

        @sa.event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            if state["on"]:
                key = _shape(statement)
                timings[key].append((time.perf_counter() - conn.info["t0"]) * 1000)
                samples.setdefault(key, (statement, parameters))

        @sa.event.listens_for(engine, "commit")
        def _commit(conn):
            conn.info["c0"] = time.perf_counter()

    client = app.test_client()
    html = client.get("/connexion").get_data(as_text=True)
    response = client.post("/connexion", data={"csrf_token": csrf_token(html), "email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    html = client.get("/activites/nouvelle").get_data(as_text=True)
    token = csrf_token(html)
    cookie = client.get_cookie("mediation_session").value
    created, totals, cpu = [], [], []
    for i in range(args.requests + 10):
        client.set_cookie("mediation_session", cookie)  # the confirmation message is not kept (as the bench)
        state["on"] = i >= 10
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.post("/activites/nouvelle", data=MultiDict(_activity_form(token, structure_id, i)))
        if state["on"]:
            totals.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        created.append(int(response.headers["Location"].rsplit("/", 1)[1]))
    state["on"] = False
    n = args.requests
    sql_total = sum(sum(v) for v in timings.values()) / n
    print(f"requests: {n}, mean {statistics.mean(totals):.2f} ms, median {statistics.median(totals):.2f} ms, "
          f"Python CPU median {statistics.median(cpu):.2f} ms, "
          f"SQL {sql_total:.2f} ms/request, statements {sum(len(v) for v in timings.values()) / n:.1f}/request")
    rows = sorted(timings.items(), key=lambda kv: -sum(kv[1]))
    for key, values in rows:
        print(f"{len(values) / n:5.1f} × {statistics.mean(values):7.3f} ms (max {max(values):7.2f})  {key}")
    if args.explain:
        with app.app_context():
            for key, _ in rows[:3]:
                statement, parameters = samples[key]
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                raw = db.engine.raw_connection()
                try:
                    cursor = raw.cursor()
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    print("\n" + key + "\n" + "\n".join(r[0] for r in cursor.fetchall()))
                    raw.rollback()
                finally:
                    raw.close()
    with app.app_context():
        _remove_activities(db.session, created)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
