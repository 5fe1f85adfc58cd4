"""
Keyset ("seek") pagination for the job list, newest first.

Why not page numbers: `LIMIT 25 OFFSET n` makes the database walk past n rows to throw them
away, and Django's Paginator also runs an unbounded COUNT(*); both grow with the data, so page
4,000 of a million visible jobs would be slow. Here every page is "the 25 jobs just older (or
newer) than this one": a `WHERE (created_at, id) < (c, i) ORDER BY created_at DESC, id DESC
LIMIT 26` that walks the (tenant|division, -created_at, -id) indexes and reads 26 rows however
deep the page. The 26th row only says whether there is a further page. The total shown above
the list is a capped count (COUNT over at most CAP + 1 rows), so it costs at most that much.

A cursor is the `page` parameter: "<direction>.<page number>.<created_at in µs>.<id>", e.g.
"o.2.1732356000123456.42" means page 2, the jobs older than job 42 created at that instant.
The page number is only shown to people; the key alone decides which rows come back, so a
forged cursor can show nothing the user could not reach by paging. Links stay valid when jobs
are added (nothing shifts, unlike offsets). A malformed cursor means the first page.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q

PER_PAGE = 25
COUNT_CAP = 1000
OLDER, NEWER = "o", "n"
MAX_ID = 2**63 - 1
MAX_PAGE = 10**9

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"([on])\.([0-9]{1,10})\.(-?[0-9]{1,18})\.([0-9]{1,19})")


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the jobs older or newer than (created_at, id)."""

    direction: str
    number: int
    created_at: datetime
    pk: int

    @classmethod
    def parse(cls, value):
        """The cursor in `value`, or None when it is missing or malformed."""
        match = _CURSOR.fullmatch(value or "")
        if not match:
            return None
        direction, number, micros, pk = match.groups()
        number, pk = int(number), int(pk)
        if not (2 <= number <= MAX_PAGE and 1 <= pk <= MAX_ID):
            return None
        try:
            created_at = _EPOCH + timedelta(microseconds=int(micros))
        except OverflowError:
            return None
        return cls(direction, number, created_at, pk)

    @classmethod
    def after(cls, direction, number, job):
        """The cursor for page `number`, next to `job` in `direction`."""
        return cls(direction, number, job.created_at, job.pk)

    def __str__(self):
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        return f"{self.direction}.{self.number}.{micros}.{self.pk}"


@dataclass
class Page:
    """One page of jobs, with cursors for the pages either side (None at the ends)."""

    jobs: list
    number: int = 1
    newer: Cursor | None = None
    older: Cursor | None = None
    newest: bool = True

    @property
    def first_index(self):
        return (self.number - 1) * PER_PAGE + 1

    @property
    def last_index(self):
        return self.first_index + len(self.jobs) - 1


def _older_than(created_at, pk):
    return Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk)


def _newer_than(created_at, pk):
    return Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk)


def page_of(queryset, cursor):
    """The page of `queryset` (any order; newest first is imposed) that `cursor` points at."""
    if cursor is not None and cursor.direction == NEWER:
        rows = list(
            queryset.filter(_newer_than(cursor.created_at, cursor.pk)).order_by("created_at", "pk")[
                : PER_PAGE + 1
            ]
        )
        if len(rows) > PER_PAGE:
            jobs = rows[:PER_PAGE][::-1]
            number = max(cursor.number, 2)
            return Page(
                jobs,
                number,
                newer=Cursor.after(NEWER, number - 1, jobs[0]),
                older=Cursor.after(OLDER, number + 1, jobs[-1]),
                newest=False,
            )
        # Reached the newest jobs: that is the first page, whatever number the link carried.
        cursor = None
    newest_first = queryset.order_by("-created_at", "-pk")
    if cursor is not None:
        newest_first = newest_first.filter(_older_than(cursor.created_at, cursor.pk))
    rows = list(newest_first[: PER_PAGE + 1])
    jobs = rows[:PER_PAGE]
    number = cursor.number if cursor is not None else 1
    page = Page(jobs, number, newest=cursor is None)
    if cursor is not None and jobs:
        page.newer = Cursor.after(NEWER, number - 1, jobs[0])
    if len(rows) > PER_PAGE:
        page.older = Cursor.after(OLDER, number + 1, jobs[-1])
    return page


def capped_count(queryset):
    """How many rows `queryset` has, counting at most COUNT_CAP + 1 of them."""
    return queryset.order_by()[: COUNT_CAP + 1].count()
