"""Property: on random worlds, paging through /api/jobs/ yields exactly the oracle's jobs."""

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divisions.scoping import unscoped
from jobs import pagination
from jobs.pagination import ORDERS
from tests import oracle
from tests.strategies import build, worlds

from .conftest import mint

# Small pages, so that the worlds' few jobs span several of them.
PER_PAGE = 3
# Two tenants at least in every world: jobs spread over both, and always an active member and
# an active tenant admin of the first tenant, besides the world's random users.
JOBS = st.lists(st.tuples(st.integers(0, 1), st.one_of(st.none(), st.integers(0, 3))), min_size=8)
MEMBER, ADMIN = (0, 0, True, False, False), (0, None, True, True, True)


@st.composite
def busy_worlds(draw):
    """A random world with enough jobs for several pages, and users who see some."""
    divisions, scopes, users, _ = draw(worlds())
    return divisions, scopes, [MEMBER, ADMIN, *users], draw(JOBS.map(lambda jobs: jobs[:24]))


def paged_ids(api, token, sort):
    """Every job id reached by following `next` from the first page, and the pages' count."""
    seen, url, pages = [], f"/api/jobs/?sort={sort}", 0
    while url:
        response = api("get", url, token)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [job["id"] for job in body["results"]]
        url, pages = body["next"], pages + 1
        assert pages <= 20, "the pages do not end"
    return seen


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(description=busy_worlds(), sort=st.sampled_from(list(ORDERS)))
def test_paging_the_api_matches_the_oracle(db, api, monkeypatch, description, sort):
    monkeypatch.setattr(pagination, "PER_PAGE", PER_PAGE)
    with unscoped("property test world"), transaction.atomic():
        users = build(description)
        world = oracle.snapshot()
        try:
            for user in users:
                _, token = mint(user)
                if not user.is_active:
                    assert api("get", "/api/jobs/", token).status_code == 401
                    continue
                seen = paged_ids(api, token, sort)
                assert len(seen) == len(set(seen)), f"a job listed twice for {user.username}"
                assert set(seen) == oracle.visible_jobs(world, user), user.username
        finally:
            transaction.set_rollback(True)
