"""The batch consumer's failure paths, driven with real JetStream deliveries and a store
double (a fake of our own port) that fails on demand: a failed insert is redelivered
and then stored once; a row ClickHouse keeps refusing is dead-lettered after
max_deliver; while ClickHouse is down nothing is dead-lettered."""

from __future__ import annotations

import time

import pytest
from nats.js.api import AckPolicy, ConsumerConfig
from portcullis.dead_letter import DELIVERIES_HEADER, REASON_HEADER
from portcullis.subjects import DLQ_STREAM, METRICS_STREAM, dlq_subject
from portcullis_analytics.entrypoints.consumer import store_batch
from portcullis_analytics.metrics import AnalyticsMetrics
from portcullis_analytics.runtime import Runtime
from portcullis_analytics.settings import AnalyticsSettings

WS = "acme"


class StoreDouble:
    """Our AnalyticsStore port: records inserts, fails the first ``fail`` of them."""

    def __init__(self, fail: int, reachable: bool = True) -> None:
        self.fail = fail
        self.reachable = reachable
        self.inserted: list[bytes] = []
        self.attempts = 0

    async def insert_rows(self, payload: bytes) -> None:
        self.attempts += 1
        if self.attempts <= self.fail:
            raise RuntimeError("Code: 27. DB::Exception: Cannot parse input")
        self.inserted.append(payload)

    async def ping(self) -> bool:
        return self.reachable


class JetStreamPublisher:
    """What the consumer needs from the broker: a JetStream publish."""

    def __init__(self, js) -> None:
        self.js = js

    async def publish(self, message, subject, headers=None, *, stream):
        return await self.js.publish(subject, message, headers=headers, stream=stream)


@pytest.fixture
async def harness(nats_client, kit):
    js = nats_client.jetstream()
    await js.add_consumer(
        METRICS_STREAM,
        ConsumerConfig(
            durable_name="t",
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=-1,
            filter_subject="pk.metrics.>",
        ),
    )
    sub = await js.pull_subscribe("pk.metrics.>", durable="t", stream=METRICS_STREAM)

    def runtime(store: StoreDouble, max_deliver: int = 5) -> Runtime:
        settings = AnalyticsSettings(nak_delay_s=0.01, max_deliver=max_deliver)
        return Runtime(
            settings=settings,
            broker=JetStreamPublisher(js),
            store=store,
            metrics=AnalyticsMetrics(),
        )

    async def deliver(rt: Runtime, expect: int) -> list:
        msgs = await sub.fetch(batch=expect, timeout=5)
        assert len(msgs) == expect
        await store_batch(msgs, rt)
        return msgs

    events = [kit.metered(WS, int(time.time() * 1000)) for _ in range(3)]
    for event in events:
        await kit.publish(js, event, WS)
    return js, runtime, deliver, events


async def settled(js, kit) -> None:
    """Acks are asynchronous: wait (bounded) until the server has all three."""

    async def done() -> bool:
        info = await js.consumer_info(METRICS_STREAM, "t")
        return (
            info.num_ack_pending == 0 and info.num_pending == 0 and info.ack_floor.stream_seq == 3
        )

    await kit.wait_for(done, within=10, what="all three messages settled")


async def test_failed_insert_is_redelivered_then_stored_once(harness, kit):
    js, runtime, deliver, events = harness
    store = StoreDouble(fail=1)
    rt = runtime(store)
    await deliver(rt, 3)  # insert fails -> nak
    assert store.inserted == []
    again = await deliver(rt, 3)  # redelivered -> inserted -> acked
    assert [m.metadata.num_delivered for m in again] == [2, 2, 2]
    assert len(store.inserted) == 1 and len(store.inserted[0].splitlines()) == 3
    assert rt.metrics.registry.get_sample_value("portcullis_analytics_insert_failures_total") == 1
    assert rt.metrics.registry.get_sample_value("portcullis_analytics_redeliveries_total") == 3
    await settled(js, kit)


async def test_row_refused_at_max_deliver_is_dead_lettered(harness, kit):
    js, runtime, deliver, events = harness
    rt = runtime(StoreDouble(fail=10**6), max_deliver=2)
    await deliver(rt, 3)
    await deliver(rt, 3)  # second delivery: alone still refused, ClickHouse answers -> DLQ
    parked = await js.get_last_msg(DLQ_STREAM, dlq_subject("metrics", WS))
    assert parked.headers[DELIVERIES_HEADER] == "2"
    assert "ClickHouse insert failed" in parked.headers[REASON_HEADER]
    await settled(js, kit)


async def test_nothing_is_dead_lettered_while_clickhouse_is_down(harness):
    js, runtime, deliver, events = harness
    rt = runtime(StoreDouble(fail=10**6, reachable=False), max_deliver=1)
    await deliver(rt, 3)
    info = await js.consumer_info(METRICS_STREAM, "t")
    assert info.num_ack_pending == 3  # nak'ed with back-off, waiting to come back
    stream = await js.stream_info(DLQ_STREAM)
    assert stream.state.messages == 0
