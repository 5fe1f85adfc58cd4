"""
The matrix rows of `make bench`: the access matrix page of a tenant of --divisions divisions
against the DataScope change page of one of its divisions (the page whose audience is one
column of the matrix), both whole admin pages through Django's test client as that tenant's
admin (a tenant whose scopes each list about 5% of its divisions), fetched in alternation
round by round in one run; with the queries per page.
"""

from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from benchmarks.measure import paired_spread, summary, timed

MATRIX = "access matrix"
SCOPE_PAGE = "DataScope change page"


def rows(admin, repeat):
    """[(page, median ms, p95 ms, queries, divisions)] for `admin` (a tenant admin), and the
    paired spread of matrix / scope page round by round."""
    from divisions.grants import sync_tenant_admin_group
    from divisions.models import Division
    from divisions.scoping import acting_as, unscoped

    with unscoped("benchmark: the tenant admin's model permissions, as the admin gives them"):
        sync_tenant_admin_group(admin)
    with acting_as(admin):
        divisions = Division.objects.count()
        scope_id = Division.objects.values_list("data_scope_id", flat=True).first()
    client = Client()
    client.force_login(admin)
    paths = {
        MATRIX: reverse("admin:divisions_access_matrix"),
        SCOPE_PAGE: reverse("admin:divisions_datascope_change", args=[scope_id]),
    }
    functions, queries = [], []
    for path in paths.values():

        def get(path=path):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        functions.append(get)
        with CaptureQueriesContext(connections["default"]) as captured:
            get()
        queries.append(len(captured))
    samples = timed(functions, repeat)
    measured = [
        (page, *summary(times), count, divisions)
        for page, times, count in zip(paths, samples, queries, strict=True)
    ]
    return measured, paired_spread(samples[0], samples[1])


def markdown(measured):
    """The section of docs/benchmarks.md for rows(...)."""
    found, spread = measured
    by_page = {page: (median, p95) for page, median, p95, _, _ in found}
    ratio = by_page[MATRIX][0] / by_page[SCOPE_PAGE][0]
    out = [
        "",
        "## The access matrix",
        "",
        f"The admin's access matrix of a tenant of {found[0][4]} divisions against the "
        "DataScope change page of one of its divisions, as that tenant's admin, in "
        "alternation in one run (benchmarks/access_matrix.py). Milliseconds; target: the "
        "matrix under 2x the DataScope page.",
        "",
        "| page | median | p95 | queries |",
        "| --- | ---: | ---: | ---: |",
    ]
    out += [f"| {page} | {m:.1f} | {p:.1f} | {q} |" for page, m, p, q, _ in found]
    out += [
        "",
        f"Matrix / DataScope page: **{ratio:.2f}x** (median over median; per round "
        f"{spread[0]:.2f}–{spread[1]:.2f}).",
    ]
    return out
