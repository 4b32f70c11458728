"""Analytics graphs (Portkey's /analytics/graphs/{requests,cost,tokens,latency}; the
requests/rescued graph shapes its own rows in domain/rescued.py): a query
becomes parameterised SQL, and the result rows become the ``analytics-graph`` body.

Buckets: one minute for ranges up to an hour, one hour up to two days, one day beyond.
They are aligned to the caller's UTC offset (a day starts at local midnight of
``time_min``'s offset) and every bucket in the range is returned, empty ones with zeros,
so a chart has no gaps. Both ends of the range are inclusive.

Units: cost is stored in USD and reported in cents (full precision, never rounded);
latency in milliseconds (to the microsecond); averages are per request (cost: per request
with a known price). Percentiles are exact and linearly interpolated between the two
nearest latencies (ClickHouse's quantileExactInclusive, numpy's default).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import msgspec
from portcullis.clickhouse import Param, quote_identifier
from portcullis.rpc import AnalyticsQuery

RESCUED_GRAPH = "requests/rescued"  # its own shape: see domain/rescued.py
GRAPHS = ("requests", "cost", "tokens", "latency", RESCUED_GRAPH)

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

# Per graph: the aggregate columns (name, SQL) computed per bucket and for the summary.
_METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "requests": (("total", "count()"),),
    "cost": (("total", "sum(cost) * 100"), ("avg", "avg(cost) * 100")),
    "tokens": (("total", "sum(total_tokens)"), ("avg", "avg(total_tokens)")),
    "latency": (
        ("avg", "avg(latency_ms)"),
        # Exact, linearly interpolated percentiles (numpy's default method).
        ("p50", "quantileExactInclusive(0.5)(latency_ms)"),
        ("p90", "quantileExactInclusive(0.9)(latency_ms)"),
        ("p99", "quantileExactInclusive(0.99)(latency_ms)"),
    ),
}
_INTEGER_FIELDS = frozenset({("requests", "total"), ("tokens", "total")})
# Latency is reported to the microsecond; finer digits are float noise of interpolation.
_LATENCY_DECIMALS = 3
SUMMARY_BUCKET = -1

# Bounds on one query (issue 10): a range of 0001-9999 in day buckets is 3.65 million
# data points, hundreds of MB of answer. The range is bounded by a setting
# (MAX_WINDOW_DAYS, passed in); the bucket count by this constant, whatever the setting.
DEFAULT_MAX_WINDOW_DAYS = 366
MAX_BUCKETS = 1500
# ClickHouse's DateTime64 range; a time outside it cannot be a row's time.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2299, 12, 31, tzinfo=dt.UTC)
# status_code is a UInt16 column; HTTP statuses are three digits.
_STATUS_RANGE = range(100, 600)


class QueryError(ValueError):
    """A query the caller must fix: answered with HTTP 400."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Buckets:
    origin_ms: int  # start of bucket 0, epoch ms
    step_ms: int
    count: int
    tz: dt.tzinfo  # the caller's offset, for the timestamps we return


@dataclass
class _Binder:
    """Allocates ``{pN:Type}`` placeholders; values never enter the SQL text."""

    params: dict[str, Param] = field(default_factory=dict)

    def bind(self, value: Param, ch_type: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"{{{name}:{ch_type}}}"


@dataclass(frozen=True)
class GraphQuery:
    graph: str
    workspace: str
    start_ms: int
    end_ms: int
    buckets: Buckets
    filters: dict[str, str]


def parse_time(value: str, name: str) -> dt.datetime:
    """ISO 8601 with an offset (``2026-02-23T14:20:31+05:30``; ``Z`` too). A time with no
    offset is taken as UTC."""
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise QueryError(
            f"{name} must be an ISO 8601 date-time with offset, "
            f"e.g. 2026-02-23T14:20:31+05:30; got {value!r}",
            "invalid_time",
        ) from None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    # Compared as aware times: no conversion, so 0001-01-01T00:00+05:00 cannot overflow.
    if not EARLIEST <= moment <= LATEST:
        raise QueryError(
            f"{name} must be between {EARLIEST.date()} and {LATEST.date()}; got {value!r}",
            "invalid_time",
        )
    return moment


def _epoch_ms(moment: dt.datetime) -> int:
    return round(moment.timestamp() * 1000)


def choose_buckets(start: dt.datetime, end: dt.datetime) -> Buckets:
    span_ms = _epoch_ms(end) - _epoch_ms(start)
    if span_ms <= HOUR_MS:
        step, local = MINUTE_MS, start.replace(second=0, microsecond=0)
    elif span_ms <= 2 * DAY_MS:
        step, local = HOUR_MS, start.replace(minute=0, second=0, microsecond=0)
    else:
        step, local = DAY_MS, start.replace(hour=0, minute=0, second=0, microsecond=0)
    origin = _epoch_ms(local)
    count = (_epoch_ms(end) - origin) // step + 1
    return Buckets(origin_ms=origin, step_ms=step, count=count, tz=start.tzinfo or dt.UTC)


def graph_query(
    query: AnalyticsQuery, max_window_days: int = DEFAULT_MAX_WINDOW_DAYS
) -> GraphQuery:
    if query.graph not in GRAPHS:
        raise QueryError(
            f"unknown graph {query.graph!r}; one of {', '.join(GRAPHS)}", "invalid_graph"
        )
    start = parse_time(query.time_min, "time_of_generation_min")
    end = parse_time(query.time_max, "time_of_generation_max")
    if end < start:
        raise QueryError(
            "time_of_generation_max is before time_of_generation_min", "invalid_time_range"
        )
    if end - start > dt.timedelta(days=max_window_days):
        raise QueryError(
            f"the time range is {(end - start).days} days; the limit is {max_window_days} "
            "(MAX_WINDOW_DAYS): ask for a shorter range",
            "time_range_too_long",
        )
    buckets = choose_buckets(start, end)
    if buckets.count > MAX_BUCKETS:
        raise QueryError(
            f"the time range makes {buckets.count} buckets; the limit is {MAX_BUCKETS} "
            "(MAX_BUCKETS): ask for a shorter range",
            "time_range_too_long",
        )
    filters = dict(query.filters)
    # Checked here, before any SQL is built or run: a malformed filter is the caller's
    # 400, never the store's error (which would read as a 503).
    filter_conditions(_Binder(), filters)
    return GraphQuery(
        graph=query.graph,
        workspace=query.workspace,
        start_ms=_epoch_ms(start),
        end_ms=_epoch_ms(end),
        buckets=buckets,
        filters=filters,
    )


# --- filters ---------------------------------------------------------------------------


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _in(binder: _Binder, column: str, values: list[Param], ch_type: str) -> str:
    return f"{column} IN ({', '.join(binder.bind(v, ch_type) for v in values)})"


def _metadata(binder: _Binder, value: str) -> str | None:
    try:
        pairs = msgspec.json.decode(value)
    except (msgspec.DecodeError, RecursionError):
        raise QueryError("metadata must be a JSON object", "invalid_filter") from None
    if not isinstance(pairs, dict):
        raise QueryError("metadata must be a JSON object", "invalid_filter")
    conditions = []
    for key, raw in pairs.items():
        if isinstance(raw, dict | list):
            raise QueryError("metadata values must be strings", "invalid_filter")
        if raw is None:
            continue
        text = raw if isinstance(raw, str) else msgspec.json.encode(raw).decode()
        k = binder.bind(key, "String")
        conditions.append(
            f"(mapContains(metadata, {k}) AND metadata[{k}] = {binder.bind(text, 'String')})"
        )
    return " AND ".join(conditions) or None


def _statuses(name: str, value: str) -> list[Param]:
    try:
        codes = [int(v) for v in _csv(value)]
    except ValueError:
        raise QueryError(f"{name} must be comma separated integers", "invalid_filter") from None
    for code in codes:
        if code not in _STATUS_RANGE:
            raise QueryError(
                f"{name} values are HTTP statuses (100-599); got {code}", "invalid_filter"
            )
    return list(codes)


def _number(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise QueryError(f"{name} must be a number", "invalid_filter") from None
    if not math.isfinite(number):
        raise QueryError(f"{name} must be a finite number; got {value!r}", "invalid_filter")
    return number


def _org_models(binder: _Binder, value: str) -> str | None:
    alternatives = []
    for pair in _csv(value):
        provider, sep, model = pair.partition("__")
        if not sep:
            raise QueryError("ai_org_model entries look like provider__model", "invalid_filter")
        alternatives.append(
            f"(provider = {binder.bind(provider, 'String')} AND model = {binder.bind(model, 'String')})"
        )
    return f"({' OR '.join(alternatives)})" if alternatives else None


_RANGES = {
    "cost_min": ("cost * 100 >= {}", "Float64"),
    "cost_max": ("cost * 100 <= {}", "Float64"),
    "total_units_min": ("total_tokens >= {}", "Float64"),
    "total_units_max": ("total_tokens <= {}", "Float64"),
    "prompt_token_min": ("prompt_tokens >= {}", "Float64"),
    "prompt_token_max": ("prompt_tokens <= {}", "Float64"),
    "completion_token_min": ("completion_tokens >= {}", "Float64"),
    "completion_token_max": ("completion_tokens <= {}", "Float64"),
}
_LISTS = {
    "ai_model": "model",
    "ai_org": "provider",
    "trace_id": "trace_id",
}


def filter_conditions(binder: _Binder, filters: dict[str, str]) -> list[str]:
    """SQL conditions for the filters we know; unknown names are ignored, as Portkey's
    API ignores parameters it does not use. Empty values mean "no filter"."""
    conditions: list[str] = []
    for name in sorted(filters):
        value = filters[name]
        if not value or not value.strip():
            continue
        condition: str | None = None
        if name == "metadata":
            condition = _metadata(binder, value)
        elif name == "ai_org_model":
            condition = _org_models(binder, value)
        elif name == "status_code":
            condition = _in(binder, "status", _statuses(name, value), "UInt16")
        elif name in _LISTS:
            condition = _in(binder, _LISTS[name], list(_csv(value)), "String")
        elif name in _RANGES:
            template, ch_type = _RANGES[name]
            condition = template.format(binder.bind(_number(name, value), ch_type))
        if condition:
            conditions.append(condition)
    return conditions


# --- SQL -------------------------------------------------------------------------------


def bucketed_source(
    query: GraphQuery, database: str, columns: str, *conditions: str
) -> tuple[str, _Binder]:
    """The rows a graph aggregates: its ``bucket`` index plus ``columns``, for the query's
    workspace, range and filters (and any extra ``conditions``), with values bound."""
    binder = _Binder()
    where = [
        f"workspace = {binder.bind(query.workspace, 'String')}",
        f"created_at >= fromUnixTimestamp64Milli({binder.bind(query.start_ms, 'Int64')}, 'UTC')",
        f"created_at <= fromUnixTimestamp64Milli({binder.bind(query.end_ms, 'Int64')}, 'UTC')",
        *filter_conditions(binder, query.filters),
        *conditions,
    ]
    origin = binder.bind(query.buckets.origin_ms, "Int64")
    step = binder.bind(query.buckets.step_ms, "Int64")
    # FINAL: a redelivered event that has not been merged away yet still counts once.
    source = (
        f"SELECT intDiv(toUnixTimestamp64Milli(created_at) - {origin}, {step}) AS bucket, "
        f"{columns} "
        f"FROM {quote_identifier(database)}.requests FINAL "
        f"WHERE {' AND '.join(where)}"
    )
    return source, binder


def graph_sql(query: GraphQuery, database: str) -> tuple[str, dict[str, Param]]:
    """One statement: the summary row (bucket -1) and one row per non-empty bucket."""
    source, binder = bucketed_source(query, database, "cost, total_tokens, latency_ms")
    metrics = ", ".join(f"{expr} AS {name}" for name, expr in _METRICS[query.graph])
    sql = (
        f"SELECT toInt64({SUMMARY_BUCKET}) AS bucket, {metrics} FROM ({source}) "
        f"UNION ALL "
        f"SELECT bucket, {metrics} FROM ({source}) GROUP BY bucket "
        f"ORDER BY bucket"
    )
    return sql, binder.params


# --- result shaping --------------------------------------------------------------------


def _value(graph: str, name: str, raw: Any) -> int | float:
    # sum/avg over no (priced) rows is NULL; a quantile of nothing is NaN.
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return 0
    if (graph, name) in _INTEGER_FIELDS:
        return int(raw)
    if graph == "latency":
        return round(float(raw), _LATENCY_DECIMALS)
    return float(raw)


def _point(graph: str, row: dict[str, Any] | None) -> dict[str, int | float]:
    return {name: _value(graph, name, (row or {}).get(name)) for name, _ in _METRICS[graph]}


def bucket_timestamp(buckets: Buckets, index: int) -> str:
    moment = dt.datetime.fromtimestamp(
        (buckets.origin_ms + index * buckets.step_ms) / 1000, tz=buckets.tz
    )
    return moment.isoformat(timespec="milliseconds")


def graph_body(query: GraphQuery, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Portkey's analytics-graph object, every bucket of the range present."""
    by_bucket = {int(row["bucket"]): row for row in rows}
    data_points = [
        {"timestamp": bucket_timestamp(query.buckets, i), **_point(query.graph, by_bucket.get(i))}
        for i in range(query.buckets.count)
    ]
    return {
        "object": "analytics-graph",
        "summary": _point(query.graph, by_bucket.get(SUMMARY_BUCKET)),
        "data_points": data_points,
    }
