"""The requests/rescued graph: SQL over rescued rows only, and Portkey's body shape."""

from portcullis.rpc import AnalyticsQuery
from portcullis_analytics.domain.graphs import graph_query
from portcullis_analytics.domain.rescued import rescued_body, rescued_sql


def q(**filters):
    return graph_query(
        AnalyticsQuery(
            graph="requests/rescued",
            workspace="ws",
            time_min="2026-02-23T00:00:00+05:30",
            time_max="2026-02-23T00:02:00+05:30",
            filters=filters,
        )
    )


def test_sql_counts_rescued_rows_by_kind_and_retry_with_bound_values():
    evil = "x' OR 1=1 --"
    sql, params = rescued_sql(q(ai_model=evil), "portcullis")
    assert evil not in sql and evil in params.values()
    assert "FROM `portcullis`.requests FINAL" in sql
    assert sql.count("rescued") == 1 and " AND rescued" in sql
    assert "toUInt8(fallbacks > 0) AS by_fallback" in sql
    assert "GROUP BY bucket, by_fallback, retry_success_count" in sql
    assert params["p0"] == "ws"


def test_body_splits_retry_and_fallback_per_bucket_and_sums_the_summary():
    rows = [
        {"bucket": 0, "by_fallback": 0, "retry_success_count": 2, "n": 1},
        {"bucket": 0, "by_fallback": 0, "retry_success_count": 1, "n": 3},
        {"bucket": 0, "by_fallback": 1, "retry_success_count": 0, "n": 2},
        {"bucket": 2, "by_fallback": 1, "retry_success_count": 0, "n": 5},
    ]
    body = rescued_body(q(), rows)
    assert body["object"] == "analytics-graph"
    assert body["summary"] == {"retry": 4, "fallback": 7}
    assert body["data_points"] == [
        {
            "timestamp": "2026-02-23T00:00:00.000+05:30",
            "retry": [
                {"retry_success_count": 1, "count": 3},
                {"retry_success_count": 2, "count": 1},
            ],
            "fallback": 2,
        },
        {"timestamp": "2026-02-23T00:01:00.000+05:30", "retry": [], "fallback": 0},
        {"timestamp": "2026-02-23T00:02:00.000+05:30", "retry": [], "fallback": 5},
    ]


def test_no_rescued_rows_is_all_zeros():
    body = rescued_body(q(), [])
    assert body["summary"] == {"retry": 0, "fallback": 0}
    assert [(p["retry"], p["fallback"]) for p in body["data_points"]] == [([], 0)] * 3
