from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from portcullis_gateway.routing import (
    RetrySpec,
    backoff_s,
    parse_retry_after,
    should_retry,
    triggers_fallback,
    weighted_index,
)
from portcullis_gateway.routing.decisions import BACKOFF_MAX_S


@pytest.mark.parametrize(
    ("status", "gateway_side", "codes", "expected"),
    [
        (200, False, None, False),
        (201, False, None, False),
        (400, False, None, True),
        (500, False, None, True),
        (500, False, frozenset({429}), False),
        (429, False, frozenset({429}), True),
        (408, True, frozenset({429}), True),  # a timeout always counts
        (502, True, None, True),
    ],
)
def test_what_triggers_a_fallback(status, gateway_side, codes, expected):
    assert triggers_fallback(status, gateway_side, codes) is expected


def test_retry_defaults_and_limits():
    retry = RetrySpec(attempts=2)
    assert should_retry(429, retry, 0) and should_retry(503, retry, 1)
    assert not should_retry(503, retry, 2)  # attempts used up
    assert not should_retry(400, retry, 0)
    assert not should_retry(408, retry, 0)  # not in the default list
    assert not should_retry(500, None, 0)
    assert should_retry(408, RetrySpec(attempts=1, on_status_codes=[408]), 0)
    assert not should_retry(500, RetrySpec(attempts=1, on_status_codes=[408]), 0)


def test_retry_after_headers():
    assert parse_retry_after("1500", "9", 0) == 1.5  # ms first: more precise
    assert parse_retry_after(None, "2", 0) == 2
    assert parse_retry_after("soon", "3", 0) == 3
    assert parse_retry_after(None, None, 0) is None
    assert parse_retry_after(None, "-1", 0) is None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    date = format_datetime(datetime(2026, 1, 1, 0, 0, 4, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(None, date, now.timestamp()) == pytest.approx(4)
    assert parse_retry_after(None, "not a date", 0) is None


def test_retry_after_wins_up_to_the_cap():
    assert backoff_s(0, 0.5, 2.0, cap_s=10) == 2.0
    assert backoff_s(0, 0.5, 30.0, cap_s=10) is None  # too long: give up here


@given(st.integers(0, 10), st.floats(0, 1, exclude_max=True))
def test_backoff_grows_exponentially_with_bounded_jitter(retries, jitter):
    delay = backoff_s(retries, jitter, None, cap_s=100)
    full = min(BACKOFF_MAX_S, 0.25 * 2**retries)
    assert full / 2 <= delay <= full


@given(
    st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=8).filter(
        lambda w: sum(w) > 0
    ),
    st.floats(0, 1, exclude_max=True),
)
def test_weighted_index_never_picks_a_zero_weight(weights, u):
    index = weighted_index(weights, u)
    assert 0 <= index < len(weights)
    assert weights[index] > 0


@given(st.lists(st.integers(1, 20), min_size=1, max_size=6))
def test_weighted_index_shares_follow_the_weights(weights):
    # A uniform grid of u values lands on each index in proportion to its weight.
    n = 2000
    counts = [0] * len(weights)
    for k in range(n):
        counts[weighted_index(weights, (k + 0.5) / n)] += 1
    total = sum(weights)
    for count, weight in zip(counts, weights, strict=True):
        assert abs(count / n - weight / total) <= 1 / n * len(weights) + 1e-9
