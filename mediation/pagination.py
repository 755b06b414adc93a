"""Pagination of a select() without loading everything: one COUNT and one page query.

The lists of the web pages count at most :data:`COUNT_LIMIT` rows: past that, the page says « plus
de 10 000 » and offers the pages up to there (a person does not page through ten thousand rows;
they filter). Counting every row of a network's ten million accompaniments would cost more than
the page itself (~1.5 s at 10 M, ~150 ms at 1 M), on every page. The API counts exactly
(``exact=True``): its clients page through everything."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int
    capped: bool = False  # more rows than ``total`` (the count stopped at its limit)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


COUNT_LIMIT = 10_000


def paginate(session: Session, query: sa.Select, page: int = 1, per_page: int = 25, *, scalars=True,
             exact: bool = False) -> Page:
    """The page ``page`` of ``query``; ``exact``: count every row (the API), else at most
    :data:`COUNT_LIMIT`."""
    count_limit = None if exact else COUNT_LIMIT
    page = max(1, page or 1)
    per_page = min(max(1, per_page or 25), 200)
    counted = query.order_by(None)
    if count_limit is not None:  # the rows past the limit are not counted: one more tells there are more
        counted = counted.limit(count_limit + 1)
    total = session.scalar(sa.select(sa.func.count()).select_from(counted.subquery())) or 0
    capped = count_limit is not None and total > count_limit
    result = session.execute(query.limit(per_page).offset((page - 1) * per_page))
    items = list(result.scalars().all() if scalars else result.all())
    return Page(items=items, page=page, per_page=per_page, total=count_limit if capped else total, capped=capped)


def page_of(items: list, page: int = 1, per_page: int = 25) -> Page:
    """The page ``page`` of a list already computed (a table whose rows are aggregated in Python)."""
    per_page = max(1, per_page)
    page = min(max(1, page or 1), max(1, math.ceil(len(items) / per_page)))
    return Page(items=items[(page - 1) * per_page:page * per_page], page=page, per_page=per_page, total=len(items))


def page_arg(args, name: str = "page") -> int:
    try:
        return max(1, int(args.get(name, 1)))
    except (TypeError, ValueError):
        return 1
