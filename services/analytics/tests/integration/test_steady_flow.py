"""Events arriving in a steady trickle (as from a live gateway) are all acked soon after
they stop: none is left delivered-but-unhandled until the ack deadline. FastStream's
batch pull subscriber did leave some (a nats-py timeout it did not catch dropped the
partial batch; up to max_ack_pending of them, which then stalled the stream)."""

from __future__ import annotations

import asyncio
import time

from portcullis.subjects import ANALYTICS_DURABLE, METRICS_STREAM

WS = "trickle"


async def test_a_trickle_is_acked_promptly(kit, start_analytics, nats_client):
    # A long ack deadline: a message left unhandled would stay un-acked for a minute.
    start_analytics(ack_wait_s="60")
    js = nats_client.jetstream()
    now = int(time.time() * 1000)
    published = 0
    for _ in range(80):  # ~4 s at ~1,000 events/s
        await asyncio.gather(*(kit.publish(js, kit.metered(WS, now), WS) for _ in range(50)))
        published += 50
        await asyncio.sleep(0.05)

    async def all_acked() -> bool:
        info = await js.consumer_info(METRICS_STREAM, ANALYTICS_DURABLE)
        return info.num_pending == 0 and info.num_ack_pending == 0

    await kit.wait_for(all_acked, within=15, what="every event acked well inside ack_wait")
    info = await js.consumer_info(METRICS_STREAM, ANALYTICS_DURABLE)
    assert info.ack_floor.stream_seq == published
    assert info.num_redelivered == 0
