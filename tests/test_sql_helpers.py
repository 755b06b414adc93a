"""Two SQL helpers the statistics rely on, on SQLite and on PostgreSQL: ``types.in_ids`` (a list of
keys as one array constant on PostgreSQL) selects exactly what ``IN`` selects, whatever the list,
also when the statement comes from SQLAlchemy's cache with another list; ``stats.people.marginals``
(each key grouped apart, in one statement) gives what one ``GROUP BY`` per key gives, NULLs
included."""

from collections import Counter, defaultdict

import sqlalchemy as sa

from mediation.stats.people import marginals
from mediation.types import in_ids
from tests.conftest import is_postgres


def _probe(session):
    table = sa.Table("sql_helper_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("kind", sa.String(10)), sa.Column("place", sa.Integer), sa.Column("n", sa.Integer),
                     prefixes=["TEMPORARY"])
    table.create(session.connection())
    kinds = ["a", "b", None, "c"]
    session.execute(table.insert(), [{"id": i, "kind": kinds[i % 4], "place": None if i % 7 == 0 else i % 5,
                                      "n": i % 3} for i in range(1, 301)])
    return table


def test_in_ids_selects_what_in_selects_on_every_list(session):
    table = _probe(session)
    statements = []
    sa.event.listen(session.get_bind(), "before_cursor_execute",
                    lambda conn, cursor, statement, *args: statements.append(statement))
    lists = [[1, 2, 3], [4, 5, 6], [250], [], list(range(1, 301, 2)), [7, 7, 8], [999_999]]
    for ids in lists:
        for other in ([2, 4], list(range(100, 140))):
            query = sa.select(table.c.id).where(sa.or_(in_ids(table.c.id, ids), in_ids(table.c.place, other)))
            expected = sa.select(table.c.id).where(sa.or_(table.c.id.in_(ids), table.c.place.in_(other)))
            assert sorted(session.scalars(query)) == sorted(session.scalars(expected)), (ids, other)
    assert sorted(session.scalars(sa.select(table.c.id).where(sa.not_(in_ids(table.c.id, range(2, 301)))))) == [1]
    if is_postgres():  # one constant per list, not one placeholder per key
        assert "= ANY ('{1,3,5,7," in "".join(statements)
        assert all("%(" not in statement for statement in statements if "= ANY (" in statement)


def test_marginals_are_one_group_by_per_key(session):
    table = _probe(session)
    rows = sa.select(table.c.kind, table.c.place, (table.c.n >= 1).label("some"), table.c.n).where(table.c.id > 10)
    found = marginals(session, rows, ["kind", "place"], lambda c: [sa.func.sum(c.n), sa.func.count()], by=["some"])
    for key, by_value in zip(["kind", "place"], found, strict=True):
        expected: dict = defaultdict(lambda: [0, 0])
        for value, some, n in session.execute(sa.select(table.c[key], table.c.n >= 1, table.c.n).where(table.c.id > 10)):
            expected[(value, bool(some))][0] += n
            expected[(value, bool(some))][1] += 1
        assert {(value, bool(some)): [int(n), count] for (value, some), (n, count) in by_value.items()} == expected
    assert (None, True) in found[0] and (None, False) in found[1]  # a NULL value is a value of its own
    counts = marginals(session, sa.select(table.c.kind, table.c.place), ["kind", "place"], lambda c: [sa.func.count()])
    assert [Counter({key[0]: n for key, (n,) in by_value.items()}) for by_value in counts] == [
        Counter(session.scalars(sa.select(table.c[key]))) for key in ("kind", "place")]
