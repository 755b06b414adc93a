"""Pagination of a select() without loading everything: one COUNT and one page query."""

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

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(session: Session, query: sa.Select, page: int = 1, per_page: int = 25, *, scalars=True) -> Page:
    page = max(1, page or 1)
    per_page = min(max(1, per_page or 25), 200)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    result = session.execute(query.limit(per_page).offset((page - 1) * per_page))
    items = list(result.scalars().all() if scalars else result.all())
    return Page(items=items, page=page, per_page=per_page, total=total or 0)


def page_arg(args, name: str = "page") -> int:
    try:
        return max(1, int(args.get(name, 1)))
    except (TypeError, ValueError):
        return 1
