"""
Keyset ("seek") pagination for the job list, in any of its orders (ORDERS; newest first by
default).

Why not page numbers: `LIMIT 25 OFFSET n` makes the database walk past n rows to throw them
away, and Django's Paginator also runs an unbounded COUNT(*); both grow with the data, so page
4,000 of a million visible jobs would be slow. Here every page is "the 25 jobs just older (or
newer) than this one": a `WHERE (created_at, id) < (c, i) ORDER BY created_at DESC, id DESC
LIMIT 26` that walks the (tenant|division, -created_at, -id) indexes and reads 26 rows however
deep the page. The 26th row only says whether there is a further page. The total shown above
the list is a capped count (COUNT over at most CAP + 1 rows), so it costs at most that much.

A cursor is the `page` parameter: "<direction>.<page number>.<created_at in µs>.<id>", e.g.
"o.2.1732356000123456.42" means page 2, the jobs after job 42 (created at that instant) in the
list's order ("o": onwards, "n": back towards the first page). The orders by title and by
status lead with that value, so their cursors carry it too, as ".v<base64url of the value>".
Every order ends in (created_at, id), so the key is unique and no job is skipped or repeated.
The page number is only shown to people; the key alone decides which rows come back, so a
forged cursor can show nothing the user could not reach by paging. Links stay valid when jobs
are added (nothing shifts, unlike offsets). A malformed cursor means the first page.
"""

import base64
import binascii
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
_CURSOR = re.compile(
    r"([on])\.([0-9]{1,10})\.(-?[0-9]{1,18})\.([0-9]{1,19})(?:\.v([A-Za-z0-9_-]{0,400}))?"
)

# Each order: its key, most significant first, as (field, descending). The first field of the
# title and status orders is the cursor's `lead`.
NEWEST = "newest"
ORDERS = {
    NEWEST: (("created_at", True), ("pk", True)),
    "oldest": (("created_at", False), ("pk", False)),
    "title": (("title", False), ("created_at", True), ("pk", True)),
    "status": (("status", False), ("created_at", True), ("pk", True)),
}


def _lead_field(order):
    field = ORDERS[order][0][0]
    return None if field == "created_at" else field


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the jobs older or newer than (created_at, id)."""

    direction: str
    number: int
    created_at: datetime
    pk: int
    lead: str | None = None

    @classmethod
    def parse(cls, value):
        """The cursor in `value`, or None when it is missing or malformed."""
        match = _CURSOR.fullmatch(value or "")
        if not match:
            return None
        direction, number, micros, pk, lead = match.groups()
        number, pk = int(number), int(pk)
        if not (2 <= number <= MAX_PAGE and 1 <= pk <= MAX_ID):
            return None
        try:
            created_at = _EPOCH + timedelta(microseconds=int(micros))
            if lead is not None:
                lead = base64.urlsafe_b64decode(lead + "=" * (-len(lead) % 4)).decode()
        except (OverflowError, binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return cls(direction, number, created_at, pk, lead)

    @classmethod
    def after(cls, direction, number, job, order=NEWEST):
        """The cursor for page `number`, next to `job` in `direction` of `order`."""
        lead = _lead_field(order)
        return cls(direction, number, job.created_at, job.pk, lead and getattr(job, lead))

    def fits(self, order):
        """True when this cursor was made for `order` (it carries a lead exactly when the
        order has one); a cursor of another order means the first page."""
        return (self.lead is None) == (_lead_field(order) is None)

    def key(self, order):
        """The cursor's values for the fields of `order`'s key."""
        values = {"created_at": self.created_at, "pk": self.pk}
        if (lead := _lead_field(order)) is not None:
            values[lead] = self.lead
        return [(field, descending, values[field]) for field, descending in ORDERS[order]]

    def __str__(self):
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        text = f"{self.direction}.{self.number}.{micros}.{self.pk}"
        if self.lead is not None:
            encoded = base64.urlsafe_b64encode(self.lead.encode()).decode().rstrip("=")
            text += f".v{encoded}"
        return text


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


def _beyond(key, backwards=False):
    """Rows after the key (before it, `backwards`) in the order: a lexicographic comparison
    written as an OR of "equal on the first fields, past it on the next"."""
    beyond, equal = Q(pk__in=[]), Q()
    for field, descending, value in key:
        past = "lt" if descending != backwards else "gt"
        beyond |= equal & Q(**{f"{field}__{past}": value})
        equal &= Q(**{field: value})
    # Implied by the OR, but PostgreSQL can only start an index scan at a plain bound: without
    # it a deep page of the title or status order walks the index from the list's start.
    field, descending, value = key[0]
    at_or_past = "lte" if descending != backwards else "gte"
    return Q(**{f"{field}__{at_or_past}": value}) & beyond


def ordering(order, backwards=False):
    """The ORDER BY of `order` (reversed, `backwards`)."""
    return [
        f"{'-' if descending != backwards else ''}{field}" for field, descending in ORDERS[order]
    ]


def page_of(queryset, cursor, order=NEWEST):
    """The page of `queryset` (in `order`, whatever order it had) that `cursor` points at."""
    if cursor is not None and not cursor.fits(order):
        cursor = None
    if cursor is not None and cursor.direction == NEWER:
        rows = list(
            queryset.filter(_beyond(cursor.key(order), backwards=True)).order_by(
                *ordering(order, backwards=True)
            )[: PER_PAGE + 1]
        )
        if len(rows) > PER_PAGE:
            jobs = rows[:PER_PAGE][::-1]
            number = max(cursor.number, 2)
            return Page(
                jobs,
                number,
                newer=Cursor.after(NEWER, number - 1, jobs[0], order),
                older=Cursor.after(OLDER, number + 1, jobs[-1], order),
                newest=False,
            )
        # Reached the start of the list: that is the first page, whatever number the link carried.
        cursor = None
    in_order = queryset.order_by(*ordering(order))
    if order == NEWEST:
        in_order = _among_first_matches(in_order, PER_PAGE + 1, cursor)
    if cursor is not None:
        in_order = in_order.filter(_beyond(cursor.key(order)))
    rows = list(in_order[: PER_PAGE + 1])
    jobs = rows[:PER_PAGE]
    number = cursor.number if cursor is not None else 1
    page = Page(jobs, number, newest=cursor is None)
    if cursor is not None and jobs:
        page.newer = Cursor.after(NEWER, number - 1, jobs[0], order)
    if len(rows) > PER_PAGE:
        page.older = Cursor.after(OLDER, number + 1, jobs[-1], order)
    return page


def _among_first_matches(queryset, wanted, cursor=None, in_order=True):
    """A job search narrowed to its first `wanted` matches by the database's title index, where
    the queryset offers it (jobs.managers.JobQuerySet.among_first_matches); same rows (the
    same number of them, up to `wanted`, when not `in_order`)."""
    narrow = getattr(queryset, "among_first_matches", None)
    return queryset if narrow is None else narrow(wanted, cursor, in_order=in_order)


def page_total(page, queryset):
    """The list's capped total: a first page with no further page holds every row, so it needs
    no count (a rare search pays one statement, not two); otherwise capped_count."""
    if page.newest and page.older is None:
        return len(page.jobs)
    return capped_count(queryset)


def capped_count(queryset):
    """How many rows `queryset` has, counting at most COUNT_CAP + 1 of them."""
    # Any COUNT_CAP + 1 matches count the same as the newest: the database need not order them.
    counted = _among_first_matches(queryset, COUNT_CAP + 1, in_order=False)
    return counted.order_by()[: COUNT_CAP + 1].count()
