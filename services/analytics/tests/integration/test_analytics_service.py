"""Analytics as a real process on chDB: RequestMetered events published the way the
gateway publishes them become one row each, and the query RPC answers exact graphs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid

from portcullis.dead_letter import REASON_HEADER
from portcullis.subjects import ANALYTICS_DURABLE, DLQ_STREAM, METRICS_STREAM, dlq_subject

WS = "acme"


async def test_events_become_rows_once_and_graphs_answer(kit, start_analytics, nats_client):
    analytics = start_analytics(batch_wait_s="0.1", trace_exporter="console")
    js = nats_client.jetstream()
    now = int(time.time() * 1000)
    # Routing: request 1 was rescued by a fallback, 2 and 4 by their first retry.
    routing = {
        1: {"fallbacks": 1, "rescued": True},
        2: {"retry_attempts": 1, "retries_total": 1, "rescued": True},
        4: {"retry_attempts": 1, "retries_total": 1, "rescued": True},
    }
    events = [
        kit.metered(
            WS,
            now - i * 1000,
            total_tokens=10 * (i + 1),
            cost=0.001 * (i + 1),
            latency_ms=100.0 * (i + 1),
            metadata={"env": "prod" if i % 2 else "dev"},
            **routing.get(i, {}),
        )
        for i in range(10)
    ]
    trace_id, parent_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    await kit.publish(js, events[0], WS, header=f"00-{trace_id}-{parent_span}-01")
    for event in events[1:5]:
        await kit.publish(js, event, WS, header=f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01")
    await kit.publish(js, b"\x00 not a metric", WS, msg_id="poison")
    for event in events[5:]:
        await kit.publish(js, event, WS)
    # Same event again under another Nats-Msg-Id: JetStream keeps it, the sink must not.
    await kit.publish(js, events[3], WS, msg_id="replayed-from-spool")

    tmin = dt.datetime.fromtimestamp(now / 1000 - 60, dt.UTC).isoformat()
    tmax = dt.datetime.fromtimestamp(now / 1000 + 1, dt.UTC).isoformat()

    async def all_acked() -> bool:
        info = await js.consumer_info(METRICS_STREAM, ANALYTICS_DURABLE)
        return info.num_pending == 0 and info.num_ack_pending == 0

    await kit.wait_for(all_acked, what="every metric event acked")

    requests = await kit.query_graph(nats_client, "requests", WS, tmin, tmax)
    assert requests.status == 200
    body = json.loads(bytes(requests.body))
    assert body["object"] == "analytics-graph"
    assert body["summary"] == {"total": 10}
    assert sum(p["total"] for p in body["data_points"]) == 10
    # A 61 s range: one-minute buckets (two or three, by where the range starts).
    assert len(body["data_points"]) in (2, 3)
    assert all(p["timestamp"][17:23] == "00.000" for p in body["data_points"])

    cost = json.loads(bytes((await kit.query_graph(nats_client, "cost", WS, tmin, tmax)).body))
    assert abs(cost["summary"]["total"] - 5.5) < 1e-9  # 0.055 USD in cents
    assert abs(cost["summary"]["avg"] - 0.55) < 1e-9
    tokens = json.loads(bytes((await kit.query_graph(nats_client, "tokens", WS, tmin, tmax)).body))
    assert tokens["summary"] == {"total": 550, "avg": 55.0}
    latency = json.loads(
        bytes((await kit.query_graph(nats_client, "latency", WS, tmin, tmax)).body)
    )
    assert latency["summary"] == {"avg": 550.0, "p50": 550.0, "p90": 910.0, "p99": 991.0}

    prod = await kit.query_graph(
        nats_client, "requests", WS, tmin, tmax, metadata='{"env":"prod"}', no_such_filter="x"
    )
    assert json.loads(bytes(prod.body))["summary"] == {"total": 5}

    rescued = await kit.query_graph(nats_client, "requests/rescued", WS, tmin, tmax)
    assert rescued.status == 200
    rescued_body = json.loads(bytes(rescued.body))
    assert rescued_body["summary"] == {"retry": 2, "fallback": 1}
    assert sum(p["fallback"] for p in rescued_body["data_points"]) == 1
    assert [r for p in rescued_body["data_points"] for r in p["retry"]] in (
        [{"retry_success_count": 1, "count": 2}],
        [{"retry_success_count": 1, "count": 1}] * 2,  # the two fell in different minutes
    )

    bad = await kit.query_graph(nats_client, "requests", WS, "last tuesday", tmax)
    assert bad.status == 400 and bad.error.code == "invalid_time"
    assert bad.error.type == "invalid_request_error"

    parked = await js.get_last_msg(DLQ_STREAM, dlq_subject("metrics", WS))
    assert parked.data == b"\x00 not a metric"
    assert "undecodable" in parked.headers[REASON_HEADER]

    assert analytics.metric("portcullis_analytics_consumed_total") == 12
    assert analytics.metric('portcullis_analytics_dead_lettered_total{reason="undecodable"}') == 1
    assert analytics.metric("portcullis_analytics_batch_size_count") >= 1
    assert (
        analytics.metric('portcullis_analytics_query_seconds_count{graph="latency",status="200"}')
        == 1
    )

    # The event's own trace continues into analytics (child of the gateway's span).
    spans = [
        json.loads(line) for line in analytics.log_text().splitlines() if line.startswith('{"name"')
    ]
    assert any(
        s["name"] == "analytics.store"
        and s["context"]["trace_id"] == f"0x{trace_id}"
        and s["parent_id"] == f"0x{parent_span}"
        for s in spans
    )

    # A restart on the same chDB directory: migrations are a no-op, the data is there.
    analytics.proc.stop()
    restarted = start_analytics()
    started_line = next(
        json.loads(line)
        for line in restarted.log_text().splitlines()
        if '"analytics store ready"' in line
    )
    assert started_line["migrated"] == []
    again = await kit.query_graph(nats_client, "requests", WS, tmin, tmax)
    assert json.loads(bytes(again.body))["summary"] == {"total": 10}


async def test_poison_does_not_block_the_batch_behind_it(kit, start_analytics, nats_client):
    start_analytics(batch_size="50", batch_wait_s="0.5")
    js = nats_client.jetstream()
    now = int(time.time() * 1000)
    # Poison first, in the same batch as valid events.
    await kit.publish(js, b'{"id": 1}', WS, msg_id="poison-1")
    events = [kit.metered(WS, now, latency_ms=10.0) for _ in range(20)]
    await asyncio.gather(*(kit.publish(js, e, WS) for e in events))

    tmin = dt.datetime.fromtimestamp(now / 1000 - 5, dt.UTC).isoformat()
    tmax = dt.datetime.fromtimestamp(now / 1000 + 5, dt.UTC).isoformat()

    async def counted() -> bool:
        reply = await kit.query_graph(nats_client, "requests", WS, tmin, tmax)
        return json.loads(bytes(reply.body))["summary"]["total"] == len(events)

    await kit.wait_for(counted, what="the valid events of the batch")

    async def settled() -> bool:  # acks are asynchronous
        info = await js.consumer_info(METRICS_STREAM, ANALYTICS_DURABLE)
        return info.num_ack_pending == 0 and info.num_pending == 0

    await kit.wait_for(settled, within=10, what="every message settled")
    parked = await js.get_last_msg(DLQ_STREAM, dlq_subject("metrics", WS))
    assert parked.data == b'{"id": 1}'
