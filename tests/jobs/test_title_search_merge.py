"""Title search among a member's few divisions on PostgreSQL (proone_title_search in
divisions/database/title_search.sql): one newest-first scan per division, merged in one
statement planned once per session."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from divisions import rls
from divisions.database import source
from divisions.scoping import acting_as, unscoped
from jobs.models import Job
from tests.factories import DivisionFactory, UserFactory, allow

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# The most divisions the search merges one by one, as the source states it.
FEW = int(
    re.search(
        r"cardinality\(visible\) <= (\d+)", (source.DIRECTORY / "title_search.sql").read_text()
    ).group(1)
)
NEEDLES_EACH = 10  # one job in three of each division's thirty


@pytest.fixture
def reach(world):
    """A member who sees exactly FEW divisions: their own, the ones that list it and Acme's
    everyone division (Plumbing); in each, NEEDLES_EACH "Needle" jobs among "Hay", at times
    that interleave the divisions (the newest needle of each comes first), every other job
    done, and a newer needle in Acme's head office, which the member does not see."""
    acme = world.tenants.acme
    divisions = [DivisionFactory(tenant=acme, name=f"Reach {n}") for n in range(FEW - 1)]
    member = UserFactory(division=divisions[0], username="reach-member")
    for division in divisions[1:]:
        allow(division, divisions[0])
    now = timezone.now()
    with unscoped("test world"):
        Job.objects.create(tenant=acme, division=world.d.hq, title="Needle", created_at=now)
        Job.objects.bulk_create(
            Job(
                tenant=acme,
                division=division,
                title="Needle" if n % 3 == 0 else "Hay",
                status=Job.Status.DONE if n % 2 == 0 else Job.Status.OPEN,
                created_at=now - timedelta(minutes=n * FEW + at + 1),
            )
            for at, division in enumerate([*divisions, world.d.plumbing])
            for n in range(3 * NEEDLES_EACH)
        )
    return member


def newest(term, wanted, before=None, status=None):
    """The ids proone_title_search returns (the newest `wanted` matches, older than `before`)."""
    created, pk = (before.created_at, before.pk) if before is not None else (None, None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT array_agg(x) FROM public.{rls.TITLE_SEARCH}(%s, %s, NULL, %s, %s, %s) x",
            [term, status, wanted, created, pk],
        )
        return set(cursor.fetchone()[0] or ())


def test_the_newest_matches_among_every_one_of_few_divisions(reach):
    """Read division by division (at most FEW): each one's newest needle is among the FEW
    newest, so a division the merge left out would be missing; later pages too; more than the
    first WALK jobs hold is read on by the same merge (wanted 101 and a count's 1,001), and
    the head office's needle, newer than all, is never among them."""
    with acting_as(reach), connection.cursor() as cursor:
        cursor.execute("SELECT cardinality(proone_visible_divisions())")
        assert cursor.fetchone()[0] == FEW  # the merge's case, not the tenant walked
        matches = list(Job.objects.filter(title__icontains="needle").order_by("-created_at", "-pk"))
        assert len({job.division_id for job in matches[:FEW]}) == FEW  # one of each
        assert len(matches) == FEW * NEEDLES_EACH
        for wanted in (1, 3, FEW, 25, 100, 101, 1001):
            assert newest("needle", wanted) == {job.pk for job in matches[:wanted]}, wanted
        for status in (Job.Status.OPEN, Job.Status.DONE):
            of_status = {job.pk for job in matches if job.status == status}
            assert 0 < len(of_status) < len(matches)
            assert newest("needle", 101, status=status) == of_status, status
        assert newest("needle", FEW, before=matches[9]) == {job.pk for job in matches[10:][:FEW]}
        assert newest("nothing-matches", FEW) == set()


def test_the_session_keeps_its_plan_cache_mode(reach):
    """The merge is planned generically inside the function only: the caller's setting is
    what it was, for the rest of the transaction too, whether the function returned after its
    first pass or from reading on (with the generic plan asked for)."""
    with acting_as(reach), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = auto")
        for wanted in (3, 1001):
            assert newest("needle", wanted)
            cursor.execute("SHOW plan_cache_mode")
            assert cursor.fetchone() == ("auto",), wanted
