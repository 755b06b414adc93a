"""The French day of a stored UTC timestamp, computed by the database (``types.local_day``), is the
day a person in France saw on the clock: the same as Python's Europe/Paris conversion, around
midnight and across both summer-time changes, on SQLite and on PostgreSQL."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from mediation.types import UTCDateTime, local_day, to_paris

MOMENTS = [
    datetime(2026, 12, 3, 23, 30, tzinfo=UTC),   # winter: already 4 December in Paris
    datetime(2026, 12, 3, 22, 59, tzinfo=UTC),   # still 3 December
    datetime(2026, 7, 1, 22, 30, tzinfo=UTC),    # summer (UTC+2): already 2 July
    datetime(2026, 7, 1, 21, 59, tzinfo=UTC),
    datetime(2026, 3, 28, 23, 30, tzinfo=UTC),   # the night summer time starts (29 March 2026)
    datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
    datetime(2026, 3, 29, 22, 30, tzinfo=UTC),   # first summer evening: 30 March in Paris
    datetime(2026, 10, 24, 22, 30, tzinfo=UTC),  # the night summer time ends (25 October 2026)
    datetime(2026, 10, 25, 22, 30, tzinfo=UTC),  # first winter evening: still 25 October
    datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, tzinfo=UTC),
]


def test_the_database_gives_the_french_day_of_a_utc_timestamp(session):
    table = sa.Table("local_day_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("at", UTCDateTime), prefixes=["TEMPORARY"])
    table.create(session.connection())
    moments = MOMENTS + [datetime(2026, 1, 1, 0, 17, tzinfo=UTC) + timedelta(hours=7 * i) for i in range(1300)]
    session.execute(table.insert(), [{"id": i, "at": m} for i, m in enumerate(moments)])
    found = dict(session.execute(sa.select(table.c.id, local_day(table.c.at))).all())
    for i, moment in enumerate(moments):
        day = found[i]
        assert str(day) == to_paris(moment).date().isoformat(), moment
