"""Keyset cursors: they round-trip, and anything malformed reads as "the first page"."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.pagination import Cursor

MOMENTS = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(
    direction=st.sampled_from("on"),
    number=st.integers(2, 10**9),
    created_at=MOMENTS,
    pk=st.integers(1, 2**63 - 1),
)
def test_a_cursor_round_trips_exactly(direction, number, created_at, pk):
    cursor = Cursor(direction, number, created_at, pk)
    assert Cursor.parse(str(cursor)) == cursor


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "2",
        "x.2.1.1",
        "o.1.1.1",  # page 1 has no cursor
        "o.2.1.0",
        "o.2.1.9223372036854775808",
        "o.2.999999999999999999.1",  # beyond datetime's range
        "o.2.1.1\n",
        "o.2.1.1.",
        "o.٢.1.1",
        "o.99999999999.1.1",
    ],
)
def test_malformed_cursors_mean_the_first_page(value):
    assert Cursor.parse(value) is None
