"""The DataScope change page and its preview cost a number of queries that does not grow with
the tenant's divisions or users: who sees the division's jobs is asked of the rule once for
every division, not once per group of users."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from divisions.audience import audience_of
from divisions.scoping import unscoped
from tests.divisions.test_access_matrix import grow
from tests.divisions.test_admin_scope import scope_url
from tests.divisions.test_scope_preview import form_values, preview_url

# The page as acme's tenant admin: the user, the scope and its listed divisions, the admin's
# permissions, the form's pickers, the audience (three) and the two histories; on SQLite the
# session, on PostgreSQL the request's savepoint and the admin's table-privilege checks.
PAGE_QUERIES = {"sqlite": 14, "postgresql": 18}


def queries_of(function):
    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured)


def test_the_audience_is_three_queries_whatever_the_number_of_divisions(
    world, django_assert_num_queries
):
    with unscoped("test check"), django_assert_num_queries(3):
        small = audience_of(world.d.hq)
    grow(world.tenants.acme, 12)
    with unscoped("test check"), django_assert_num_queries(3):
        assert audience_of(world.d.hq) == small


def test_the_scope_page_is_the_same_queries_at_two_sizes(client, world, django_assert_num_queries):
    client.force_login(world.u.acme_admin)
    url = scope_url(world.d.hq)
    client.get(url)  # the first request of a process also fills the content types' cache
    with django_assert_num_queries(PAGE_QUERIES[connection.vendor]):
        assert client.get(url).status_code == 200
    # Twelve more divisions, each with a member of its own: twelve more groups of users.
    grow(world.tenants.acme, 12)
    with django_assert_num_queries(PAGE_QUERIES[connection.vendor]):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["adminform"].form.fields["listed_divisions"].queryset) == 15


def test_the_preview_costs_the_same_at_two_sizes(client, world):
    client.force_login(world.u.acme_admin)
    url = preview_url(world.d.hq)
    values = form_values([world.d.plumbing], everyone=True)
    small = queries_of(lambda: client.post(url, values))
    grow(world.tenants.acme, 12)
    response = client.post(url, values)
    assert response.status_code == 200
    assert queries_of(lambda: client.post(url, values)) == small
