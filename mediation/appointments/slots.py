"""Opening hours and the slots they give.

Hours are written as in the national schema (OpenStreetMap ``opening_hours``, simple form:
``Mo-Fr 09:00-12:30,13:30-17:30; Sa 09:00-12:00``); a rule ``off`` closes its days. A slot is a start
time in one of the spans, every ``duration`` minutes, that ends within the span and does not meet a
blocked period (closure, a mediator's time blocked). Nothing here writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mediation.types import LOCAL_TIMEZONE, to_paris

DAY_CODES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")

Hours = dict[int, list[tuple[time, time]]]


def _clock(text: str) -> time | None:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes == 0:
        return time(23, 59)
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


def parse_hours(osm: str | None) -> Hours | None:
    """Weekday (0 = Monday) → spans; None when the value is not in the simple form we read."""
    if not osm or not osm.strip():
        return None
    result: Hours = {}
    for rule in [r.strip() for r in osm.split(";") if r.strip()]:
        match = re.fullmatch(r"((?:[A-Z][a-z](?:-[A-Z][a-z])?,?)+)\s+(.+)", rule)
        if not match:
            return None
        days_part, times_part = match.groups()
        days: list[int] = []
        for chunk in days_part.strip(",").split(","):
            start, _, end = chunk.partition("-")
            if start == "PH" or end == "PH":
                continue
            if start not in DAY_CODES or (end and end not in DAY_CODES):
                return None
            first, last = DAY_CODES.index(start), DAY_CODES.index(end or start)
            days.extend(range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)])
        if times_part.strip() == "off":
            for day in days:
                result[day] = []
            continue
        spans = []
        for span in times_part.split(","):
            opening, _, closing = span.strip().partition("-")
            start_t, end_t = _clock(opening), _clock(closing)
            if start_t is None or end_t is None or end_t <= start_t:
                return None
            spans.append((start_t, end_t))
        for day in days:
            result.setdefault(day, []).extend(spans)
    return result


def is_open(hours: Hours | None, moment: datetime) -> bool:
    """Is the place open at ``moment`` (Paris time)?"""
    if not hours:
        return False
    local = to_paris(moment)
    return any(start <= local.time() < end for start, end in hours.get(local.weekday(), []))


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    capacity: int
    taken: int = 0

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.taken)

    @property
    def local_start(self) -> datetime:
        return to_paris(self.starts_at)

    @property
    def key(self) -> str:
        """The slot as a form value: its start in UTC, ISO."""
        return self.starts_at.strftime("%Y-%m-%dT%H:%MZ")


def parse_key(value: str | None) -> datetime | None:
    try:
        moment = datetime.strptime((value or "").strip(), "%Y-%m-%dT%H:%MZ")
    except ValueError:
        return None
    from datetime import UTC

    return moment.replace(tzinfo=UTC)


def starts_between(hours: Hours | None, duration_min: int, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """Every (start, end) in UTC of the slots of the opening hours, ``first`` to ``last`` included."""
    from datetime import UTC

    if not hours:
        return []
    step = timedelta(minutes=duration_min)
    result = []
    day = first
    while day <= last:
        for opening, closing in hours.get(day.weekday(), []):
            start = datetime.combine(day, opening, LOCAL_TIMEZONE)
            end_of_span = datetime.combine(day, closing, LOCAL_TIMEZONE)
            while start + step <= end_of_span:
                result.append((start.astimezone(UTC), (start + step).astimezone(UTC)))
                start += step
        day += timedelta(days=1)
    return result


def overlaps(start: datetime, end: datetime, blocks) -> bool:
    return any(b.starts_at < end and start < b.ends_at for b in blocks)
