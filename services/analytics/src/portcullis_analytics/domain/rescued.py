"""Portkey's /analytics/graphs/requests/rescued: requests that succeeded after a failed
call, split into those rescued by retrying the same target and those rescued by falling
back to another one.

A rescued request that moved to another target at least once counts as a fallback rescue,
even if it also retried on the way; the others are retry rescues, grouped by the retry at
which they succeeded (``retry_success_count``, the answering target's retries). Buckets
and filters are those of the other graphs (domain/graphs.py).
"""

from __future__ import annotations

from typing import Any

from portcullis.clickhouse import Param

from portcullis_analytics.domain.graphs import GraphQuery, bucket_timestamp, bucketed_source


def rescued_sql(query: GraphQuery, database: str) -> tuple[str, dict[str, Param]]:
    """One row per (bucket, rescued by fallback?, retry count) that has rescued requests."""
    source, binder = bucketed_source(query, database, "retry_attempts, fallbacks", "rescued")
    sql = (
        "SELECT bucket, toUInt8(fallbacks > 0) AS by_fallback, "
        # A fallback rescue has no retry count of its own: group all of them under 0.
        "if(by_fallback = 1, 0, retry_attempts) AS retry_success_count, count() AS n "
        f"FROM ({source}) "
        "GROUP BY bucket, by_fallback, retry_success_count "
        "ORDER BY bucket, by_fallback, retry_success_count"
    )
    return sql, binder.params


def rescued_body(query: GraphQuery, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Portkey's analytics-graph object for the rescued graph, every bucket present."""
    retries: dict[int, list[dict[str, int]]] = {}
    fallbacks: dict[int, int] = {}
    for row in rows:
        bucket, count = int(row["bucket"]), int(row["n"])
        if int(row["by_fallback"]):
            fallbacks[bucket] = fallbacks.get(bucket, 0) + count
        else:
            retries.setdefault(bucket, []).append(
                {"retry_success_count": int(row["retry_success_count"]), "count": count}
            )
    data_points = [
        {
            "timestamp": bucket_timestamp(query.buckets, i),
            "retry": sorted(retries.get(i, []), key=lambda r: r["retry_success_count"]),
            "fallback": fallbacks.get(i, 0),
        }
        for i in range(query.buckets.count)
    ]
    return {
        "object": "analytics-graph",
        "summary": {
            "retry": sum(r["count"] for points in retries.values() for r in points),
            "fallback": sum(fallbacks.values()),
        },
        "data_points": data_points,
    }
