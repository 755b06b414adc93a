"""« Statistiques » kept a few minutes (mediation.stats.snapshots): an administrator's or a
coordinator's figures served again to the same access, dated on the page and in the workbook, never
to a person who saved something since; a mediator's are never kept; ``flask instantanes`` computes
them again."""

from __future__ import annotations

import time
from datetime import date, timedelta
from io import BytesIO

import sqlalchemy as sa
from openpyxl import load_workbook

from mediation import snapshots as kept
from mediation.snapshots import Snapshot
from mediation.stats import snapshots
from mediation.stats.coop import CoopFilters
from mediation.types import LOCAL_TIMEZONE, utcnow
from tests.evaluation.conftest import YEAR

FILTERS = CoopFilters(start=date(YEAR, 1, 1), end=date(YEAR, 12, 31))
PERIOD = f"du={YEAR}-01-01&au={YEAR}-12-31"



def _copies(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Snapshot).where(Snapshot.kind == snapshots.KIND))


def test_statistics_are_kept_for_the_same_access_and_computed_again_for_a_writer(session, network, build,
                                                                                  every_one_kept):
    build.activity(date(YEAR, 3, 1), [build.person()])
    build.done()
    first = snapshots.statistics(session, network.admin, FILTERS)
    assert not first.kept and first.value.accompaniments == 1 and _copies(session) == 1
    build.activity(date(YEAR, 3, 2), [build.person()])
    build.done()
    served = snapshots.statistics(session, network.admin, FILTERS)
    assert served.kept and served.value.accompaniments == 1 and served.computed_at == first.computed_at
    assert snapshots.statistics(session, network.admin, FILTERS, wrote_at=time.time()).value.accompaniments == 2
    assert snapshots.statistics(session, network.admin, FILTERS, fresh=True).value.accompaniments == 2
    # Another access, another copy: the coordinator's territory, another territory's coordinator.
    assert not snapshots.statistics(session, network.coordinator, FILTERS).kept
    assert not snapshots.statistics(session, network.other_coordinator, FILTERS).kept
    assert snapshots.statistics(session, network.other_coordinator, FILTERS).value.accompaniments == 0
    assert _copies(session) == 3
    # A mediator's own figures: never kept.
    assert not snapshots.statistics(session, network.mediator, FILTERS).kept
    assert not snapshots.statistics(session, network.mediator, FILTERS).kept
    assert _copies(session) == 3


def test_the_page_and_the_workbook_are_dated(client, login, session, network, build, every_one_kept):
    build.activity(date(YEAR, 3, 1), [build.person()])
    build.done()
    login(client, network.coordinator)
    assert "Chiffres calculés le" not in client.get(f"/statistiques/?{PERIOD}").get_data(as_text=True)
    html = client.get(f"/statistiques/?{PERIOD}").get_data(as_text=True)
    assert "Chiffres calculés le" in html
    assert f'<form method="post" action="/statistiques/recalculer?{PERIOD.replace("&", "&amp;")}">' in html
    computed_at = session.scalar(sa.select(Snapshot.computed_at).where(Snapshot.kind == snapshots.KIND))
    sheet = load_workbook(BytesIO(client.get(f"/statistiques/export.xlsx?{PERIOD}").data)).active
    text = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None)
    assert computed_at.astimezone(LOCAL_TIMEZONE).strftime("%H:%M") in text
    # « Recalculer maintenant »: a POST computes now and keeps it in place of the copy; a GET does not.
    client.get(f"/statistiques/?{PERIOD}&recalculer=1")
    assert session.scalar(sa.select(Snapshot.computed_at).where(Snapshot.kind == snapshots.KIND)) == computed_at
    time.sleep(0.01)
    response = client.post(f"/statistiques/recalculer?{PERIOD}", data={})
    assert response.status_code == 303 and response.headers["Location"] == f"/statistiques/?{PERIOD}"
    recomputed = session.scalar(sa.select(Snapshot.computed_at).where(Snapshot.kind == snapshots.KIND))
    assert recomputed > computed_at
    html = client.get(f"/statistiques/?{PERIOD}").get_data(as_text=True)
    assert "Chiffres recalculés à l&#39;instant." in html and "Chiffres calculés le" in html


def test_the_command_refreshes_statistics(app, session, network, build, every_one_kept):
    build.activity(date(YEAR, 3, 1), [build.person()])
    build.done()
    snapshots.statistics(session, network.admin, FILTERS)
    snapshots.statistics(session, network.coordinator, CoopFilters(FILTERS.start, FILTERS.end,
                                                                   mediator_id=network.mediator.id))
    build.activity(date(YEAR, 3, 2), [build.person()])
    build.done()
    session.execute(sa.update(Snapshot).values(computed_at=utcnow() - kept.max_age() / 2 - timedelta(seconds=1)))
    # The coordinator now works for another territory: their copy is no longer theirs.
    network.coordinator.territory_id = network.other_territory.id
    session.flush()
    result = app.test_cli_runner().invoke(args=["instantanes"])
    assert result.exit_code == 0, result.output
    assert "1 tableau(x) de bord recalculé(s), 1 supprimé(s)." in result.output
    served = snapshots.statistics(session, network.admin, FILTERS)
    assert served.kept and served.value.accompaniments == 2
