"""RequestMetered events -> rows of the ``requests`` table, encoded as JSONEachRow.

Integers are clamped to their column's range so a malformed event cannot make ClickHouse
reject a whole batch; times are formatted in UTC for the DateTime64(3, 'UTC') column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import msgspec
from portcullis.events import RequestMetered

_U8 = 2**8 - 1
_U16 = 2**16 - 1
_U32 = 2**32 - 1


class RequestRow(msgspec.Struct, kw_only=True):
    id: str
    workspace: str
    organisation_id: str
    created_at: str
    trace_id: str
    method: str
    path: str
    provider: str
    model: str
    stream: bool
    status: int
    is_success: bool
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    tokens_estimated: bool
    cost: float | None
    latency_ms: float
    first_token_ms: float | None
    retry_attempts: int
    cache_status: str
    metadata: dict[str, str]
    user: str
    retries_total: int
    fallbacks: int
    rescued: bool


_encoder = msgspec.json.Encoder()


def clickhouse_time(epoch_ms: int) -> str:
    """``YYYY-MM-DD hh:mm:ss.fff`` in UTC, the text form DateTime64(3) parses."""
    seconds, millis = divmod(epoch_ms, 1000)
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{millis:03d}"


def _clamp(value: int, high: int) -> int:
    return min(max(value, 0), high)


def row_from_metered(event: RequestMetered) -> RequestRow:
    return RequestRow(
        id=event.id,
        workspace=event.workspace,
        organisation_id=event.organisation_id,
        created_at=clickhouse_time(event.created_at_ms),
        trace_id=event.trace_id,
        method=event.method,
        path=event.path,
        provider=event.provider,
        model=event.model or "",
        stream=event.stream,
        status=_clamp(event.status, _U16),
        is_success=event.is_success,
        prompt_tokens=_clamp(event.prompt_tokens, _U32),
        completion_tokens=_clamp(event.completion_tokens, _U32),
        total_tokens=_clamp(event.total_tokens, _U32),
        cached_tokens=_clamp(event.cached_tokens, _U32),
        reasoning_tokens=_clamp(event.reasoning_tokens, _U32),
        tokens_estimated=event.tokens_estimated,
        cost=event.cost,
        latency_ms=max(event.latency_ms, 0.0),
        first_token_ms=event.first_token_ms,
        retry_attempts=_clamp(event.retry_attempts, _U16),
        cache_status=event.cache_status,
        metadata=event.metadata,
        user=event.user or "",
        retries_total=_clamp(event.retries_total, _U16),
        fallbacks=_clamp(event.fallbacks, _U8),
        rescued=event.rescued,
    )


def latest_by_id(events: Iterable[RequestMetered]) -> list[RequestMetered]:
    """One event per id (the last one seen), first-seen order kept: a batch that holds a
    redelivered event twice inserts it once."""
    unique: dict[str, RequestMetered] = {}
    for event in events:
        unique[event.id] = event
    return list(unique.values())


def encode_rows(rows: Iterable[RequestRow]) -> bytes:
    """Newline-delimited JSON objects (ClickHouse's JSONEachRow input format)."""
    return _encoder.encode_lines(list(rows))
