"""Dated copies of the long dashboards (mediation.evaluation.snapshots): kept for the figures that
took long to compute, served to those who would compute the very same figures, never to a person
who saved something since, dated on the page, computed again on demand and by the command."""

from __future__ import annotations

import pickle
import time
import zlib
from datetime import date, timedelta

import sqlalchemy as sa

from mediation import snapshots as kept
from mediation.auth.models import Role
from mediation.evaluation import snapshots
from mediation.evaluation.scope import EvaluationFilter, Scope, authorise
from mediation.snapshots import Snapshot
from mediation.types import utcnow
from tests.evaluation.conftest import END, START, YEAR

PERIOD = f"du={YEAR}-01-01&au={YEAR}-12-31"



def _scope(session, user, **filters) -> Scope:
    return Scope(session, user, authorise(session, user, EvaluationFilter(START, END, **filters)))


def _accompaniments(dashboard) -> int:
    return dashboard.figure("moyens.accompagnements").value


def _copies(session) -> int:
    """Dashboards kept: each twice, as the page prints it and complete (the downloads)."""
    rows = session.scalar(sa.select(sa.func.count()).select_from(Snapshot))
    assert rows % 2 == 0
    return rows // 2


def test_a_copy_is_served_until_it_is_too_old_or_its_viewer_wrote(session, network, build, every_one_kept):
    for day in range(1, 7):
        build.activity(date(YEAR, 3, day), [build.person()])
    build.done()
    first = snapshots.dashboard(_scope(session, network.admin))
    assert not first.snapshot and _accompaniments(first) == 6 and _copies(session) == 1

    # A colleague logs one more accompaniment: the copy, dated, does not have it yet.
    build.activity(date(YEAR, 3, 9), [build.person()], mediator=network.aidant)
    build.done()
    served = snapshots.dashboard(_scope(session, network.admin))
    assert served.snapshot and _accompaniments(served) == 6 and served.generated_at == first.generated_at

    # Someone who saved something after the copy was computed gets the figures of now.
    assert _accompaniments(snapshots.dashboard(_scope(session, network.admin), wrote_at=time.time())) == 7
    # « Recalculer maintenant » computes them and replaces the copy for everyone.
    fresh = snapshots.dashboard(_scope(session, network.admin), fresh=True)
    assert not fresh.snapshot and _accompaniments(fresh) == 7
    assert _accompaniments(snapshots.dashboard(_scope(session, network.admin))) == 7 and _copies(session) == 1

    # Past its age, a copy is computed again.
    build.activity(date(YEAR, 3, 10), [build.person()])
    build.done()
    session.execute(sa.update(Snapshot).values(
        computed_at=utcnow() - kept.max_age() - timedelta(seconds=1)))
    again = snapshots.dashboard(_scope(session, network.admin))
    assert not again.snapshot and _accompaniments(again) == 8


def test_a_copy_keeps_what_is_published_only(session, network, build, every_one_kept):
    for day in range(1, 7):
        build.activity(date(YEAR, 3, day), [build.person()])
    build.activity(date(YEAR, 3, 9), [build.person(network.structure_b)], structure=network.structure_b,
                   mediator=network.mediator_b)
    build.done()
    computed = snapshots.dashboard(_scope(session, network.admin))
    contents = session.scalars(sa.select(Snapshot.content)).all()
    assert len(contents) == 2  # as the page prints it, and complete
    for content in contents:
        kept_copy = pickle.loads(zlib.decompress(content))
        cells = [c for t in kept_copy.tables() for r in [*t.rows, t.total] if r for c in r.cells]
        cells += [c for f in kept_copy.figures() for c in (f.numerator, f.denominator) if c]
        assert any(c.hidden for c in cells)  # a structure's single accompaniment, and what would reveal it
        assert all(c.count is None for c in cells) and all(f.count is None for f in kept_copy.figures())
        assert [(f.code, f.display) for f in kept_copy.figures()] == [(f.code, f.display)
                                                                      for f in computed.figures()]


def test_only_the_same_figures_share_a_copy(session, network, build, make_user, every_one_kept):
    for day in range(1, 7):
        build.activity(date(YEAR, 3, day), [build.person()])
    for day in range(1, 6):
        build.activity(date(YEAR, 3, day), [build.person(network.structure_far)], structure=network.structure_far,
                       mediator=network.mediator_far)
    build.done()
    national = snapshots.dashboard(_scope(session, network.admin))
    mine = snapshots.dashboard(_scope(session, network.coordinator))
    theirs = snapshots.dashboard(_scope(session, network.other_coordinator))
    assert not (national.snapshot or mine.snapshot or theirs.snapshot)
    assert (_accompaniments(national), _accompaniments(mine), _accompaniments(theirs)) == (11, 6, 5)
    # The same territory asked by an administrator: same filters, another access, another copy.
    admin_territory = snapshots.dashboard(_scope(session, network.admin, territory_id=network.territory.id))
    assert not admin_territory.snapshot
    assert _copies(session) == 4
    # A second coordinator of the same territory shares the first one's copy.
    colleague = make_user(Role.COORDINATOR, territory=network.territory, email="coord3@test.example")
    assert snapshots.dashboard(_scope(session, colleague)).snapshot
    # A mediator's figures depend on the structures they work for today: never kept.
    snapshots.dashboard(_scope(session, network.mediator))
    assert _copies(session) == 4


def test_a_quick_dashboard_is_not_kept(session, network, build):
    build.activity(date(YEAR, 3, 1), [build.person()])
    build.done()
    assert not snapshots.dashboard(_scope(session, network.admin)).snapshot
    assert not snapshots.dashboard(_scope(session, network.admin)).snapshot
    assert _copies(session) == 0


def test_the_page_dates_a_copy_and_the_viewers_own_write_shows(app, client, login, session, network, build, every_one_kept):
    for day in range(1, 7):
        build.activity(date(YEAR, 3, day), [build.person()])
    build.done()
    # A copy computed before this administrator signs in: signing in writes no figure, it is served.
    snapshots.dashboard(_scope(session, network.admin))
    login(client, network.admin)
    html = client.get(f"/evaluation/?{PERIOD}").get_data(as_text=True)
    assert "Chiffres calculés le" in html
    session.execute(sa.delete(Snapshot))
    first = client.get(f"/evaluation/?{PERIOD}").get_data(as_text=True)
    assert "Chiffres calculés le" not in first
    html = client.get(f"/evaluation/?{PERIOD}").get_data(as_text=True)
    assert "Chiffres calculés le" in html and "ce que d'autres personnes ont saisi depuis n'y figure pas encore" in html
    assert f'<form method="post" action="/evaluation/recalculer?{PERIOD.replace("&", "&amp;")}">' in html
    assert "Recalculer maintenant</button>" in html and "recalculer=1" not in html
    # The downloads give the same copy, with the time it was computed.
    csv = client.get(f"/evaluation/export.csv?{PERIOD}").get_data(as_text=True)
    assert "Produit le" in csv
    # « Recalculer maintenant »: a POST (a GET never computes again), figures of now kept in place
    # of the copy, then the page.
    computed_at = session.scalar(sa.select(sa.func.max(Snapshot.computed_at)))
    assert "Chiffres calculés le" in client.get(f"/evaluation/?{PERIOD}&recalculer=1").get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.max(Snapshot.computed_at))) == computed_at
    time.sleep(0.01)
    response = client.post(f"/evaluation/recalculer?{PERIOD}", data={})
    assert response.status_code == 303 and response.headers["Location"] == f"/evaluation/?{PERIOD}"
    recomputed = session.scalar(sa.select(sa.func.max(Snapshot.computed_at)))
    assert recomputed > computed_at
    html = client.get(f"/evaluation/?{PERIOD}").get_data(as_text=True)
    assert "Chiffres recalculés à l&#39;instant." in html and "Chiffres calculés le" in html
    assert session.scalar(sa.select(sa.func.max(Snapshot.computed_at))) == recomputed  # served, not computed again
    # Without the form's token nothing is computed.
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/evaluation/recalculer?{PERIOD}", data={}).status_code in (302, 303, 400)
        assert session.scalar(sa.select(sa.func.max(Snapshot.computed_at))) == recomputed
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    # The administrator saves something: their next view is computed after it.
    time.sleep(0.01)
    response = client.post("/evaluation/financeurs", data={"name": "Région Test", "kind": "region"})
    assert response.status_code in (200, 302)
    assert "Chiffres calculés le" not in client.get(f"/evaluation/?{PERIOD}").get_data(as_text=True)


def test_the_command_refreshes_viewed_copies_and_forgets_lost_access(app, session, network, build, every_one_kept):
    for day in range(1, 6):
        build.activity(date(YEAR, 3, day), [build.person()])
    build.done()
    snapshots.dashboard(_scope(session, network.admin))
    snapshots.dashboard(_scope(session, network.coordinator))
    build.activity(date(YEAR, 3, 9), [build.person()])
    build.done()
    half_old = utcnow() - kept.max_age() / 2 - timedelta(seconds=1)
    session.execute(sa.update(Snapshot).values(computed_at=half_old))
    # The coordinator now works for another territory: their copy is no longer theirs.
    network.coordinator.territory_id = network.other_territory.id
    session.flush()
    result = app.test_cli_runner().invoke(args=["instantanes"])
    assert result.exit_code == 0, result.output
    assert "2 tableau(x) de bord recalculé(s), 2 supprimé(s)." in result.output  # the two shapes of each
    served = snapshots.dashboard(_scope(session, network.admin))
    assert served.snapshot and _accompaniments(served) == 6 and served.generated_at > half_old
    assert _copies(session) == 1
    # Nobody has viewed it for a week: forgotten.
    session.execute(sa.update(Snapshot).values(viewed_at=utcnow() - timedelta(days=8)))
    result = app.test_cli_runner().invoke(args=["instantanes"])
    assert "0 tableau(x) de bord recalculé(s), 2 supprimé(s)." in result.output and _copies(session) == 0
