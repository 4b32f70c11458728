"""Analytics graph queries: time parsing, buckets, filters -> bound SQL, result shaping."""

import datetime as dt

import pytest
from portcullis.rpc import AnalyticsQuery
from portcullis_analytics.domain.graphs import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    QueryError,
    choose_buckets,
    graph_body,
    graph_query,
    graph_sql,
    parse_time,
)


def q(graph="requests", tmin="2026-02-23T00:00:00Z", tmax="2026-02-23T00:59:00Z", **filters):
    return AnalyticsQuery(
        graph=graph, workspace="ws", time_min=tmin, time_max=tmax, filters=filters
    )


# --- time ---


def test_parse_time_accepts_offsets_z_and_naive_as_utc():
    assert parse_time("2026-02-23T14:20:31+05:30", "t").utcoffset() == dt.timedelta(hours=5.5)
    assert parse_time("2026-02-23T14:20:31Z", "t").utcoffset() == dt.timedelta(0)
    assert parse_time("2026-02-23T14:20:31", "t").tzinfo == dt.UTC


@pytest.mark.parametrize("bad", ["yesterday", "", "2026-13-01T00:00:00Z", "1700000000"])
def test_bad_times_are_query_errors(bad):
    with pytest.raises(QueryError) as err:
        graph_query(q(tmin=bad))
    assert err.value.code == "invalid_time"


def test_max_before_min_is_an_error():
    with pytest.raises(QueryError) as err:
        graph_query(q(tmin="2026-02-23T01:00:00Z", tmax="2026-02-23T00:00:00Z"))
    assert err.value.code == "invalid_time_range"


def test_unknown_graph_is_an_error():
    with pytest.raises(QueryError):
        graph_query(q(graph="users"))


# --- buckets ---


def utc(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


def test_up_to_an_hour_is_per_minute():
    b = choose_buckets(utc("2026-02-23T10:00:30+00:00"), utc("2026-02-23T11:00:30+00:00"))
    assert b.step_ms == MINUTE_MS
    assert b.origin_ms == int(utc("2026-02-23T10:00:00+00:00").timestamp() * 1000)
    assert b.count == 61


def test_up_to_two_days_is_per_hour():
    b = choose_buckets(utc("2026-02-23T10:20:00+00:00"), utc("2026-02-25T10:20:00+00:00"))
    assert (b.step_ms, b.count) == (HOUR_MS, 49)


def test_longer_is_per_day_aligned_to_the_callers_midnight():
    start = utc("2026-02-23T14:20:31+05:30")
    b = choose_buckets(start, utc("2026-03-01T00:00:00+05:30"))
    assert b.step_ms == DAY_MS
    assert b.origin_ms == int(utc("2026-02-23T00:00:00+05:30").timestamp() * 1000)
    assert b.count == 7


# --- SQL ---


def test_sql_binds_every_value():
    evil = "x' OR 1=1 --"
    sql, params = graph_sql(
        graph_query(q(ai_model=f"gpt-4o,{evil}", metadata='{"env": "' + evil + '"}')),
        "portcullis",
    )
    assert evil not in sql
    assert evil in params.values()
    assert "FROM `portcullis`.requests FINAL" in sql
    assert "{p0:String}" in sql  # workspace
    assert params["p0"] == "ws"


def test_known_filters_become_conditions_and_unknown_are_ignored():
    sql, params = graph_sql(
        graph_query(
            q(
                metadata='{"env":"prod","tier":3}',
                ai_model="gpt-4o",
                ai_org_model="openai__gpt-4o,anthropic__claude",
                status_code="200, 429",
                trace_id="t1",
                cost_min="0.5",
                total_units_max="100",
                weighted_feedback_min="2",
                virtual_keys="vk1",
            )
        ),
        "db",
    )
    assert "mapContains(metadata" in sql and "metadata[" in sql
    assert "model IN (" in sql and "provider = " in sql
    assert "status IN (" in sql and "trace_id IN (" in sql
    assert "cost * 100 >= " in sql and "total_tokens <= " in sql
    assert "feedback" not in sql and "virtual" not in sql
    values = list(params.values())
    for expected in (
        "prod",
        "3",
        "gpt-4o",
        "openai",
        "anthropic",
        "claude",
        200,
        429,
        "t1",
        0.5,
        100.0,
    ):
        assert expected in values


def test_empty_filter_values_are_no_filter():
    sql, _ = graph_sql(graph_query(q(ai_model=" ", metadata="")), "db")
    assert "model IN" not in sql and "mapContains" not in sql


@pytest.mark.parametrize(
    "filters",
    [
        {"metadata": "not json"},
        {"metadata": "[1,2]"},
        {"metadata": '{"a": {"b": 1}}'},
        {"status_code": "ok"},
        {"cost_min": "cheap"},
        {"ai_org_model": "openai"},
    ],
)
def test_malformed_known_filters_are_errors(filters):
    with pytest.raises(QueryError) as err:
        graph_sql(graph_query(q(**filters)), "db")
    assert err.value.code == "invalid_filter"


def test_database_name_must_be_an_identifier():
    with pytest.raises(ValueError):
        graph_sql(graph_query(q()), "db; DROP TABLE x")


@pytest.mark.parametrize(
    ("graph", "columns"),
    [
        ("requests", ["count() AS total"]),
        ("cost", ["sum(cost) * 100 AS total", "avg(cost) * 100 AS avg"]),
        ("tokens", ["sum(total_tokens) AS total", "avg(total_tokens) AS avg"]),
        ("latency", ["avg(latency_ms) AS avg", "quantileExactInclusive(0.99)(latency_ms) AS p99"]),
    ],
)
def test_each_graph_selects_its_aggregates(graph, columns):
    sql, _ = graph_sql(graph_query(q(graph=graph)), "db")
    for column in columns:
        assert column in sql


# --- shaping ---


def test_body_has_every_bucket_and_the_summary():
    query = graph_query(
        q(graph="latency", tmin="2026-02-23T10:00:00+01:00", tmax="2026-02-23T10:03:00+01:00")
    )
    rows = [
        {"bucket": -1, "avg": 150.0, "p50": 150.0, "p90": 190.00000000000003, "p99": 199.0},
        {"bucket": 1, "avg": 100.0, "p50": 100.0, "p90": 100.0, "p99": 100.0},
        {"bucket": 3, "avg": 200.0, "p50": 200.0, "p90": 200.0, "p99": 200.0},
    ]
    body = graph_body(query, rows)
    assert body["object"] == "analytics-graph"
    assert body["summary"] == {"avg": 150.0, "p50": 150.0, "p90": 190.0, "p99": 199.0}
    assert [p["timestamp"] for p in body["data_points"]] == [
        "2026-02-23T10:00:00.000+01:00",
        "2026-02-23T10:01:00.000+01:00",
        "2026-02-23T10:02:00.000+01:00",
        "2026-02-23T10:03:00.000+01:00",
    ]
    assert [p["avg"] for p in body["data_points"]] == [0, 100.0, 0, 200.0]


def test_empty_aggregates_are_zero_and_totals_are_integers():
    query = graph_query(q(graph="tokens"))
    body = graph_body(query, [{"bucket": -1, "total": 0, "avg": None}])
    assert body["summary"] == {"total": 0, "avg": 0}
    assert isinstance(body["summary"]["total"], int)
    latency = graph_body(
        graph_query(q(graph="latency")),
        [{"bucket": -1, "avg": None, "p50": float("nan"), "p90": None, "p99": None}],
    )
    assert latency["summary"] == {"avg": 0, "p50": 0, "p90": 0, "p99": 0}


def test_tiny_costs_keep_full_precision():
    body = graph_body(
        graph_query(q(graph="cost")), [{"bucket": -1, "total": 1.5e-05, "avg": 5e-06}]
    )
    assert body["summary"] == {"total": 1.5e-05, "avg": 5e-06}


# --- bounds (issue 10) ---


def test_a_range_over_the_window_is_refused_naming_the_limit():
    with pytest.raises(QueryError) as err:
        graph_query(q(tmin="0001-01-01T00:00:00Z", tmax="9999-12-31T00:00:00Z"))
    assert err.value.code == "invalid_time"  # outside ClickHouse's DateTime64 range
    with pytest.raises(QueryError) as err:
        graph_query(q(tmin="2000-01-01T00:00:00Z", tmax="2026-01-01T00:00:00Z"))
    assert err.value.code == "time_range_too_long"
    assert "MAX_WINDOW_DAYS" in err.value.message and "366" in err.value.message
    assert (
        graph_query(q(tmin="2025-01-01T00:00:00Z", tmax="2026-01-01T00:00:00Z")).buckets.count
        == 366
    )
    with pytest.raises(QueryError):
        graph_query(q(tmin="2026-01-01T00:00:00Z", tmax="2026-01-05T00:00:00Z"), max_window_days=3)


def test_the_bucket_count_is_bounded_whatever_the_window_setting():
    with pytest.raises(QueryError) as err:
        graph_query(q(tmin="2020-01-01T00:00:00Z", tmax="2026-01-01T00:00:00Z"), 10_000)
    assert err.value.code == "time_range_too_long"
    assert "MAX_BUCKETS" in err.value.message


@pytest.mark.parametrize("edge", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_times_at_the_calendar_edges_are_query_errors_not_overflows(edge):
    with pytest.raises(QueryError) as err:
        graph_query(q(tmin=edge, tmax=edge))
    assert err.value.code == "invalid_time"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("status_code", "70000", "HTTP statuses"),
        ("status_code", "-1", "HTTP statuses"),  # reached ClickHouse and came back a 503
        ("status_code", "200,abc", "comma separated integers"),
        ("cost_min", "inf", "finite"),
        ("cost_max", "nan", "finite"),
        ("total_units_min", "ten", "a number"),
        ("metadata", "[" * 100_000 + "]" * 100_000, "JSON object"),
        ("ai_org_model", "gpt-4o", "provider__model"),
    ],
)
def test_malformed_filters_are_refused_before_any_sql_runs(name, value, fragment):
    with pytest.raises(QueryError) as err:
        graph_query(q(**{name: value}))
    assert err.value.code == "invalid_filter"
    assert fragment in err.value.message
