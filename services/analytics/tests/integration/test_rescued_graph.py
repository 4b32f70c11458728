"""The routing columns (migration 0003) and the requests/rescued graph on real chDB, through
both adapters: exact counts for a known set of rows, and rows written before the
migration reading as "not rescued"."""

from __future__ import annotations

import datetime as dt

from portcullis.clickhouse import apply_migrations, load_migrations
from portcullis.rpc import AnalyticsQuery
from portcullis_analytics.domain.graphs import graph_query
from portcullis_analytics.domain.rescued import rescued_body, rescued_sql
from portcullis_analytics.domain.rows import encode_rows, latest_by_id, row_from_metered

T0 = dt.datetime(2026, 2, 23, 10, 0, tzinfo=dt.UTC)
T0_MS = int(T0.timestamp() * 1000)
HOUR = 3_600_000
WS = "acme"


async def rescued_graph(store, tmax=T0 + dt.timedelta(hours=2, minutes=59), **filters):
    query = graph_query(
        AnalyticsQuery(
            graph="requests/rescued",
            workspace=WS,
            time_min=T0.isoformat(),
            time_max=tmax.isoformat(),
            filters=filters,
        )
    )
    sql, params = rescued_sql(query, store.database)
    return rescued_body(query, await store.select(sql, params))


async def insert(store, events) -> None:
    await store.insert_rows(encode_rows(row_from_metered(e) for e in latest_by_id(events)))


async def test_rescued_graph_counts_exactly(open_store, kit):
    store = open_store()
    await store.open()
    by_retry_1 = kit.metered(WS, T0_MS + 1_000, retry_attempts=1, retries_total=1, rescued=True)
    events = [
        # hour 0: two rescued at retry 1 (one redelivered), one at retry 2, one by fallback
        # (after retrying the first target), one plain success, one failure after retries.
        by_retry_1,
        kit.metered(WS, T0_MS + 2_000, retry_attempts=1, retries_total=1, rescued=True),
        kit.metered(WS, T0_MS + 3_000, retry_attempts=2, retries_total=2, rescued=True),
        kit.metered(WS, T0_MS + 4_000, retries_total=1, fallbacks=1, rescued=True),
        kit.metered(WS, T0_MS + 5_000),
        kit.metered(WS, T0_MS + 6_000, retries_total=3, status=502, is_success=False),
        # hour 2: two fallback rescues, one of them from anthropic's model.
        kit.metered(WS, T0_MS + 2 * HOUR + 1, fallbacks=2, rescued=True),
        kit.metered(
            WS, T0_MS + 2 * HOUR + 2, fallbacks=1, rescued=True, provider="anthropic", model="c"
        ),
    ]
    noise = [
        kit.metered("other", T0_MS + 10, fallbacks=1, rescued=True),
        kit.metered(WS, T0_MS - 1, retry_attempts=1, retries_total=1, rescued=True),
    ]
    await insert(store, events + noise)
    await insert(store, [by_retry_1])  # redelivered: still one request

    body = await rescued_graph(store)
    assert body["object"] == "analytics-graph"
    assert body["summary"] == {"retry": 3, "fallback": 3}
    assert body["data_points"] == [
        {
            "timestamp": "2026-02-23T10:00:00.000+00:00",
            "retry": [
                {"retry_success_count": 1, "count": 2},
                {"retry_success_count": 2, "count": 1},
            ],
            "fallback": 1,
        },
        {"timestamp": "2026-02-23T11:00:00.000+00:00", "retry": [], "fallback": 0},
        {"timestamp": "2026-02-23T12:00:00.000+00:00", "retry": [], "fallback": 2},
    ]

    # The usual filters apply.
    only_anthropic = await rescued_graph(store, ai_org="anthropic")
    assert only_anthropic["summary"] == {"retry": 0, "fallback": 1}

    columns = await store.select(
        "SELECT sum(retries_total) AS retries, sum(fallbacks) AS fallbacks, "
        "countIf(rescued) AS rescued FROM portcullis.requests FINAL WHERE workspace = 'acme'"
    )
    assert columns == [{"retries": 9, "fallbacks": 4, "rescued": 7}]


async def test_rows_from_before_the_routing_migration_read_as_not_rescued(open_store, kit):
    store = open_store()
    before = [m for m in load_migrations() if m.version < 3]
    assert await store._run(lambda: apply_migrations(store._sql(), "portcullis", before)) == [
        1,
        2,
    ]
    # A row as the old schema took it: no routing columns.
    old = b'{"id":"old","workspace":"acme","organisation_id":"o","created_at":"2026-02-23 10:00:01.000","trace_id":"t","method":"POST","path":"/v1/chat/completions","provider":"openai","model":"m","stream":false,"status":200,"is_success":true,"prompt_tokens":1,"completion_tokens":1,"total_tokens":2,"cached_tokens":0,"reasoning_tokens":0,"tokens_estimated":false,"cost":null,"latency_ms":5.0,"first_token_ms":null,"retry_attempts":0,"cache_status":"DISABLED","metadata":{},"user":""}\n'  # noqa: E501
    await store.insert_rows(old)

    assert await store.open() == [3]  # only the new migration runs
    assert await store.open() == []
    await insert(store, [kit.metered(WS, T0_MS + 2_000, fallbacks=1, rescued=True)])
    rows = await store.select(
        "SELECT id, retries_total, fallbacks, rescued FROM portcullis.requests FINAL "
        "WHERE id = 'old'"
    )
    assert rows == [{"id": "old", "retries_total": 0, "fallbacks": 0, "rescued": False}]
    body = await rescued_graph(store, tmax=T0 + dt.timedelta(minutes=1))
    assert body["summary"] == {"retry": 0, "fallback": 1}
