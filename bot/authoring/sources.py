"""The linter's checks of dates and sources: an ``as_of`` is a promise, and a fact a
member may doubt says where it comes from.

- ``as_of`` is never in the future; a volatile map's is at most six months old (older is
  a warning: the map still works, but its facts are due a check).
- Every ``sources`` entry (the map's and each concept's) has an https URL, a title, a
  publisher and a real date that is neither in the future nor after the map's ``as_of``
  (the map cannot have been checked against a source that did not exist yet); no URL
  is given twice in one list.
- In a volatile map, every concept has at least one source.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from bot.models import BundledConcept, BundledMap, Citation, date_floor

# A volatile map's as_of older than this many months is due a check (a warning only).
STALE_AFTER_MONTHS = 6
Report = Callable[[Sequence[str], str], None]


def _month(value: str) -> str:
    return value[:7]


def _months_after(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later (the month's last day where it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    for last in (day.day, 30, 29, 28):
        try:
            return datetime.date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("every month has 28 days")


def _url_key(url: str) -> str:
    """A URL as compared with others: scheme and host case, and a trailing slash, aside."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.casefold()}{path}{query}"


class SourceChecks:
    """The date and source checks of one map; ``add`` reports a problem, ``warn`` a warning."""

    def __init__(self, add: Report, warn: Report, today: datetime.date) -> None:
        self.add = add
        self.warn = warn
        self.today = today

    def check(self, bundled: BundledMap) -> None:
        head = (bundled.topic,)
        if bundled.as_of is not None:
            self._check_as_of(head, bundled)
        self._check_list(head, "sources", bundled.sources, bundled.as_of)
        self._walk(bundled.concepts, head, bundled)

    def _check_as_of(self, head: Sequence[str], bundled: BundledMap) -> None:
        assert bundled.as_of is not None
        checked = date_floor(bundled.as_of)
        if checked > self.today:
            self.add(head, f"as_of {bundled.as_of} is in the future; give the month you checked")
        elif bundled.volatile and self.today > _months_after(checked, STALE_AFTER_MONTHS):
            self.warn(
                head,
                f"as_of {bundled.as_of} is more than six months old; check the facts again",
            )

    def _walk(
        self, concepts: Sequence[BundledConcept], path: tuple[str, ...], bundled: BundledMap
    ) -> None:
        for concept in concepts:
            trail = (*path, concept.title)
            self._check_list(trail, "sources", concept.sources, bundled.as_of)
            if bundled.volatile and not concept.sources:
                self.add(trail, "has no sources; a volatile map gives each concept at least one")
            self._walk(concept.children or [], trail, bundled)

    def _check_list(
        self, trail: Sequence[str], field: str, sources: Sequence[Citation], as_of: str | None
    ) -> None:
        seen: dict[str, int] = {}
        for number, source in enumerate(sources, start=1):
            where = f"{field} {number}"
            if source.url is None:  # the loader refuses it; a linted draft may lack it
                self.add(trail, f"{where}: url is required")
                continue
            if not source.url.startswith("https://"):
                self.add(trail, f"{where}: url must start with https://")
            key = _url_key(source.url)
            if key in seen:
                self.add(trail, f"{where}: repeats {field} {seen[key]} ({source.url})")
            seen.setdefault(key, number)
            if source.publisher is None:
                self.add(trail, f"{where}: give its publisher")
            if source.date is None:
                self.add(trail, f"{where}: give the date it was published (YYYY-MM-DD)")
                continue
            if date_floor(source.date) > self.today:
                self.add(trail, f"{where}: date {source.date} is in the future")
            elif as_of is not None and _month(source.date) > _month(as_of):
                self.add(
                    trail,
                    f"{where}: dated {source.date}, after the map's as_of {as_of}; "
                    "move as_of to when the map was checked",
                )
