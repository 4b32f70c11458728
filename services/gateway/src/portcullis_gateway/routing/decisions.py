"""Pure routing decisions: which outcome is a failure, whether and when to retry, which
load-balance target to pick. No I/O and no clock: randomness and time come in as
arguments so every rule is testable as a function."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from email.utils import parsedate_to_datetime

from portcullis_gateway.routing.config import DEFAULT_RETRY_CODES, RetrySpec

BACKOFF_BASE_S = 0.25
BACKOFF_MAX_S = 8.0


def is_success(status: int) -> bool:
    return 200 <= status < 300


def triggers_fallback(
    status: int, gateway_side: bool, on_status_codes: frozenset[int] | None
) -> bool:
    """Move on to the next fallback target? By default on any non-2xx; with
    ``on_status_codes`` only on those. A gateway-side failure (unreachable, timeout,
    refused host) always counts: the target gave no answer at all."""
    if gateway_side:
        return True
    if on_status_codes is None:
        return not is_success(status)
    return status in on_status_codes


def may_call_again(calls_made: int, max_attempts: int) -> bool:
    """Another upstream call for this request (a retry or the next fallback target)?
    Every call counts, whichever target it went to, so a config's size cannot multiply
    one request into more than ``max_attempts`` calls."""
    return calls_made < max_attempts


def retry_codes(retry: RetrySpec | None) -> frozenset[int]:
    if retry is None or retry.on_status_codes is None:
        return DEFAULT_RETRY_CODES
    return frozenset(retry.on_status_codes)


def should_retry(status: int, retry: RetrySpec | None, retries_done: int) -> bool:
    """Another try on the same target? Gateway-side failures carry their own status
    (502 unreachable, 504 read timeout, 408 request_timeout) and follow the same list."""
    if retry is None or retries_done >= retry.attempts:
        return False
    return status in retry_codes(retry)


def parse_retry_after(ms_header: str | None, header: str | None, now_s: float) -> float | None:
    """Seconds the provider asked us to wait: ``retry-after-ms`` first (OpenAI's,
    precise), then ``Retry-After`` as seconds or an HTTP date."""
    if ms_header:
        try:
            value = float(ms_header) / 1000
            if value >= 0:
                return value
        except ValueError:
            pass
    if header:
        text = header.strip()
        try:
            value = float(text)
            return value if value >= 0 else None
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(text).timestamp() - now_s)
        except (TypeError, ValueError, IndexError):
            return None
    return None


def backoff_s(
    retries_done: int, jitter: float, retry_after_s: float | None, cap_s: float
) -> float | None:
    """Wait before retry number ``retries_done + 1``; None means "do not retry here".

    Exponential (0.25 s, 0.5 s, 1 s, ... up to 8 s) with "equal jitter" (half fixed,
    half random, ``jitter`` in [0, 1)) so replicas retrying together spread out. A
    provider's Retry-After wins when given; past ``cap_s`` the wait is not worth it and
    the request moves on (to a fallback target, or the caller gets the 429)."""
    if retry_after_s is not None:
        return retry_after_s if retry_after_s <= cap_s else None
    delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2**retries_done))
    return min(cap_s, delay / 2 + delay / 2 * jitter)


def weighted_index(weights: Sequence[float], u: float) -> int:
    """The index ``u`` (uniform in [0, 1)) falls on when weights are laid end to end;
    zero weights are never picked."""
    total = sum(weights)
    point = u * total
    running = 0.0
    last = 0
    for i, weight in enumerate(weights):
        if weight <= 0:
            continue
        running += weight
        last = i
        if point < running:
            return i
    return last  # u * total rounding up to total


def sticky_u(values: Sequence[str]) -> float:
    """A stable number in [0, 1) from the sticky fields' values: the same conversation
    lands on the same target on every replica, with no shared state."""
    digest = hashlib.blake2b("\x1f".join(values).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
