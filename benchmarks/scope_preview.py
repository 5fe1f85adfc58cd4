"""
The preview rows of `make bench`: the DataScope page's preview of a change, before saving, for
a tenant of --divisions divisions, against that DataScope change page itself, all through
Django's test client as the tenant's admin, fetched in alternation round by round in one run;
with the queries per request. Two realistic changes of a scope that lists a few divisions:
one more division ticked (one with members), and "everyone" switched on. Each preview is
checked to say that someone gains sight, so the whole answer (users and jobs) is measured.
"""

from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from benchmarks.measure import paired_spread, summary, timed

SCOPE_PAGE = "DataScope change page (GET)"
TICK_ONE = "preview: one division ticked"
EVERYONE = "preview: everyone switched on"


def _changes(admin):
    """(the scope's id, {change: the form's values}) for a scope of the admin's tenant whose
    division has jobs and that does not show them to everyone, and one division with members
    it does not list."""
    from divisions.models import DataScope, Division, User
    from divisions.scoping import acting_as
    from jobs.models import Job

    with acting_as(admin):
        scope = (
            DataScope.objects.filter(is_everyone=False)
            .filter(target_division__in=Job.objects.values("division_id"))
            .select_related("target_division")
            .order_by("target_division__pk")
            .first()
        )
        listed = list(scope.divisions.values_list("pk", flat=True))
        members = User.objects.filter(is_active=True, division__isnull=False)
        ticked = (
            Division.objects.exclude(pk__in=[*listed, scope.target_division.pk])
            .filter(pk__in=members.values("division_id"))
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
    return scope.pk, {
        TICK_ONE: {"listed_divisions": [*listed, ticked]},
        EVERYONE: {"listed_divisions": listed, "is_everyone": "on"},
    }


def rows(admin, repeat):
    """[(request, median ms, p95 ms, queries, divisions)] for `admin` (a tenant admin), and for
    each change the paired spread of preview / scope page round by round."""
    from divisions.grants import sync_tenant_admin_group
    from divisions.models import Division
    from divisions.scoping import acting_as, unscoped

    with unscoped("benchmark: the tenant admin's model permissions, as the admin gives them"):
        sync_tenant_admin_group(admin)
    with acting_as(admin):
        divisions = Division.objects.count()
    scope_id, changes = _changes(admin)
    client = Client()
    client.force_login(admin)
    page = reverse("admin:divisions_datascope_change", args=[scope_id])
    preview = reverse("admin:divisions_datascope_preview", args=[scope_id])

    def get():
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)

    def previewing(values):
        def post():
            response = client.post(preview, values)
            assert response.status_code == 200, (preview, response.status_code)
            answer = response.json()
            assert answer["gained"]["users"] > 0 and answer["jobs"], answer

        return post

    names = [SCOPE_PAGE, *changes]
    functions = [get, *(previewing(values) for values in changes.values())]
    queries = []
    for function in functions:
        with CaptureQueriesContext(connections["default"]) as captured:
            function()
        queries.append(len(captured))
    samples = timed(functions, repeat)
    measured = [
        (name, *summary(times), count, divisions)
        for name, times, count in zip(names, samples, queries, strict=True)
    ]
    spreads = {
        name: paired_spread(times, samples[0])
        for name, times in zip(names[1:], samples[1:], strict=True)
    }
    return measured, spreads


def markdown(measured):
    """The section of docs/benchmarks.md for rows(...)."""
    found, spreads = measured
    page_median = next(median for name, median, _, _, _ in found if name == SCOPE_PAGE)
    out = [
        "",
        "## The DataScope preview",
        "",
        f"The preview of a change on the DataScope page of a tenant of {found[0][4]} divisions "
        "(`POST .../preview/` with the form's values: one more division ticked, or everyone "
        "switched on; each answer says who gains sight and how many jobs) against that "
        "DataScope change page itself, as that tenant's admin, in alternation in one run "
        "(benchmarks/scope_preview.py). Milliseconds; x page = median over the page's median; "
        "per round = the middle half of the same ratio round by round. Target: each preview "
        "under 2x the page.",
        "",
        "| request | median | p95 | queries | x page | per round |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, median, p95, count, _ in found:
        ratio, per_round = "", ""
        if name != SCOPE_PAGE:
            low, high = spreads[name]
            ratio, per_round = f"**{median / page_median:.2f}x**", f"{low:.2f}–{high:.2f}"
        out.append(f"| {name} | {median:.1f} | {p95:.1f} | {count} | {ratio} | {per_round} |")
    return out
