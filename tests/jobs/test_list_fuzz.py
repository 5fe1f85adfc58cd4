"""Random query strings never break the job list: a page or a 400, never a server error."""

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.oracle import snapshot, visible_jobs

KEYS = st.sampled_from(["q", "status", "division", "sort", "page", "x", "", "q[]", "PAGE", "\x00"])
VALUES = st.one_of(
    st.text(max_size=300),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["open", "done", "in_progress", "", "1", "-1", "o.2.1.1", "n.9.-5.3", "title"]),
    st.from_regex(
        r"[on]\.[0-9]{1,3}\.-?[0-9]{1,20}\.[0-9]{1,5}\.v[A-Za-z0-9_=-]{0,12}", fullmatch=True
    ),
    st.from_regex(r"[on]\.[0-9]{1,12}\.-?[0-9]{1,20}\.[0-9]{1,21}", fullmatch=True),
)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def signed_in(client, world):
    client.force_login(world.u.alice)
    return client, visible_jobs(snapshot(), world.u.alice)


@FUZZ
@given(params=st.lists(st.tuples(KEYS, VALUES), max_size=8))
def test_random_parameters_repeated_or_not(signed_in, params):
    client, visible = signed_in
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
    response = client.get(f"/jobs/?{query}")
    assert response.status_code in (200, 400), query
    if response.status_code == 200:
        assert {job.pk for job in response.context["page"].jobs} <= visible


@FUZZ
@given(params=st.dictionaries(st.text(max_size=20), st.text(max_size=50), max_size=6))
def test_a_dict_of_random_keys(signed_in, params):
    client, _ = signed_in
    assert client.get("/jobs/", params).status_code in (200, 400)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_raw_bytes_in_the_query_string(signed_in, raw):
    client, _ = signed_in
    query = "".join(chr(b) if chr(b).isalnum() or chr(b) in "=&.-" else f"%{b:02X}" for b in raw)
    assert client.get(f"/jobs/?{query}").status_code in (200, 400)


@FUZZ
@given(params=st.lists(st.tuples(KEYS, VALUES), max_size=8))
def test_random_parameters_to_the_export(signed_in, params):
    client, visible = signed_in
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
    response = client.get(f"/jobs/export.csv?{query}")
    assert response.status_code in (200, 400), query
    if response.status_code == 200:
        lines = b"".join(response.streaming_content).decode().splitlines()[1:]
        assert {int(line.split(",", 1)[0]) for line in lines} <= visible
