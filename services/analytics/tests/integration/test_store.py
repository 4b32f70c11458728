"""The analytics store on real chDB, through both adapters (chDB directly, and
clickhouse-connect's client driving chDB): migrations, de-duplication, and graph queries
whose totals, averages and percentiles are checked against numbers computed here."""

from __future__ import annotations

import datetime as dt

import pytest
from portcullis.clickhouse import applied_versions, load_migrations
from portcullis.rpc import AnalyticsQuery
from portcullis_analytics.domain.graphs import graph_body, graph_query, graph_sql
from portcullis_analytics.domain.rows import encode_rows, latest_by_id, row_from_metered

T0 = dt.datetime(2026, 2, 23, 10, 0, tzinfo=dt.UTC)
T0_MS = int(T0.timestamp() * 1000)
HOUR = 3_600_000
WS = "acme"


async def graph(store, name: str, tmin=T0, tmax=T0 + dt.timedelta(hours=2, minutes=59), **filters):
    query = graph_query(
        AnalyticsQuery(
            graph=name,
            workspace=WS,
            time_min=tmin.isoformat(),
            time_max=tmax.isoformat(),
            filters=filters,
        )
    )
    sql, params = graph_sql(query, store.database)
    return graph_body(query, await store.select(sql, params))


async def insert(store, events) -> None:
    await store.insert_rows(encode_rows(row_from_metered(e) for e in latest_by_id(events)))


async def test_migrations_apply_once_and_twice_is_a_no_op(open_store):
    store = open_store()
    versions = [m.version for m in load_migrations()]
    assert await store.open() == versions
    assert await store.open() == []
    await store.close()

    # A restart on the same data directory finds them applied.
    again = open_store()
    assert await again.open() == []
    rows = await again.select(
        "SELECT version, count() AS n FROM portcullis.schema_migrations GROUP BY version ORDER BY version"
    )
    assert [(r["version"], r["n"]) for r in rows] == [(v, 1) for v in versions]
    engine = await again.select(
        "SELECT engine FROM system.tables WHERE database = 'portcullis' AND name = 'requests'"
    )
    assert engine == [{"engine": "ReplacingMergeTree"}]
    checksums = await again._run(lambda: applied_versions(again._sql(), "portcullis"))
    assert checksums == {m.version: m.checksum() for m in load_migrations()}
    assert await again._run(lambda: load_migrations()[0].has_run(again._sql(), "portcullis"))


@pytest.fixture
async def loaded(open_store, kit):
    """Known rows over three hours, inserted in two batches with redelivered duplicates,
    plus noise (another workspace, outside the range) that no query may count."""
    store = open_store()
    await store.open()
    events = [
        # hour 0
        kit.metered(
            WS,
            T0_MS + 1_000,
            total_tokens=10,
            cost=0.0001,
            latency_ms=100.0,
            metadata={"env": "prod"},
        ),
        kit.metered(
            WS,
            T0_MS + 2_000,
            total_tokens=20,
            cost=0.0002,
            latency_ms=200.0,
            metadata={"env": "dev"},
        ),
        kit.metered(
            WS,
            T0_MS + 3_000,
            total_tokens=30,
            cost=None,
            latency_ms=300.0,
            model="claude-3",
            provider="anthropic",
            status=429,
            is_success=False,
        ),
        # hour 1 is empty; hour 2
        kit.metered(
            WS,
            T0_MS + 2 * HOUR + 5,
            total_tokens=40,
            cost=0.0004,
            latency_ms=50.0,
            metadata={"env": "prod", "team": "a\tb'c\\d\n{x}"},
        ),
        kit.metered(
            WS,
            T0_MS + 2 * HOUR + 6,
            total_tokens=50,
            cost=0.0005,
            latency_ms=1000.0,
            metadata={"env": "prod"},
        ),
    ]
    noise = [
        kit.metered("other", T0_MS + 10, total_tokens=999, latency_ms=9999.0),
        kit.metered(WS, T0_MS - 1, total_tokens=999, latency_ms=9999.0),
        kit.metered(WS, T0_MS + 3 * HOUR, total_tokens=999, latency_ms=9999.0),
    ]
    await insert(store, events[:3] + noise + [events[0]])  # duplicate inside a batch
    await insert(store, events[1:] + [events[2]])  # redelivered across batches
    return store, events


async def test_duplicates_are_counted_once(loaded):
    store, events = loaded
    body = await graph(store, "requests")
    assert body["summary"] == {"total": len(events)}
    assert [p["total"] for p in body["data_points"]] == [3, 0, 2]
    assert [p["timestamp"] for p in body["data_points"]] == [
        "2026-02-23T10:00:00.000+00:00",
        "2026-02-23T11:00:00.000+00:00",
        "2026-02-23T12:00:00.000+00:00",
    ]


async def test_cost_graph_is_exact_in_cents(loaded):
    store, events = loaded
    body = await graph(store, "cost")
    priced = [e.cost for e in events if e.cost is not None]
    assert body["summary"]["total"] == pytest.approx(sum(priced) * 100, rel=1e-12)
    assert body["summary"]["avg"] == pytest.approx(sum(priced) * 100 / len(priced), rel=1e-12)
    # Tiny costs survive: hour 0 is 0.03 cents in all.
    assert body["data_points"][0]["total"] == pytest.approx(0.03, rel=1e-12)
    assert body["data_points"][1] == {
        "timestamp": body["data_points"][1]["timestamp"],
        "total": 0,
        "avg": 0,
    }


async def test_tokens_graph_is_exact(loaded):
    store, events = loaded
    body = await graph(store, "tokens")
    assert body["summary"] == {"total": 150, "avg": 30.0}
    assert [(p["total"], p["avg"]) for p in body["data_points"]] == [(60, 20.0), (0, 0), (90, 45.0)]


async def test_latency_percentiles_are_exact(loaded, kit):
    store, events = loaded
    body = await graph(store, "latency")
    latencies = [e.latency_ms for e in events]
    summary = body["summary"]
    assert summary["avg"] == pytest.approx(sum(latencies) / len(latencies))
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        assert summary[name] == pytest.approx(kit.percentile(latencies, q), abs=1e-3)
    assert summary["p50"] == 200.0 and summary["p90"] == 720.0 and summary["p99"] == 972.0
    hour2 = body["data_points"][2]
    assert (hour2["avg"], hour2["p50"], hour2["p90"]) == (525.0, 525.0, 905.0)


async def test_filters(loaded):
    store, _ = loaded

    async def total(**filters) -> int:
        return (await graph(store, "requests", **filters))["summary"]["total"]

    assert await total(metadata='{"env": "prod"}') == 3
    assert await total(metadata='{"env": "prod", "team": "a\\tb\'c\\\\d\\n{x}"}') == 1
    assert await total(metadata='{"env": "nope"}') == 0
    assert await total(ai_model="claude-3") == 1
    assert await total(ai_model="gpt-4o-mini, claude-3") == 5
    assert await total(ai_org_model="anthropic__claude-3") == 1
    assert await total(ai_org_model="openai__claude-3") == 0
    assert await total(status_code="429") == 1
    assert await total(total_units_min="30", total_units_max="40") == 2
    assert await total(cost_min="0.03") == 2  # cents: 0.04 and 0.05
    assert await total(unknown_filter="whatever") == 5


async def test_minute_buckets_in_the_callers_offset(loaded):
    store, _ = loaded
    tz = dt.timezone(dt.timedelta(hours=5, minutes=30))
    body = await graph(
        store,
        "requests",
        tmin=T0.astimezone(tz),
        tmax=(T0 + dt.timedelta(minutes=2)).astimezone(tz),
    )
    assert [p["timestamp"] for p in body["data_points"]] == [
        "2026-02-23T15:30:00.000+05:30",
        "2026-02-23T15:31:00.000+05:30",
        "2026-02-23T15:32:00.000+05:30",
    ]
    assert [p["total"] for p in body["data_points"]] == [3, 0, 0]
