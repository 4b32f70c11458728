"""Logs arriving in a steady trickle (as from a live gateway) are all written and acked
soon after they stop: none is left delivered-but-unhandled until the ack deadline."""

from __future__ import annotations

import asyncio

from portcullis.subjects import LOGGER_DURABLE, LOGS_STREAM


async def test_a_trickle_is_acked_promptly(
    kit, start_logger, nats_client, s3_client, bucket, workspace
):
    # A long ack deadline: a message left unhandled would stay un-acked for a minute.
    start_logger(ack_wait_s="60")
    js = nats_client.jetstream()
    published = 0
    for _ in range(60):  # ~3 s at ~400 logs/s
        await asyncio.gather(
            *(kit.publish(js, kit.make_event(workspace), workspace) for _ in range(20))
        )
        published += 20
        await asyncio.sleep(0.05)

    async def all_acked() -> bool:
        info = await js.consumer_info(LOGS_STREAM, LOGGER_DURABLE)
        return info.num_pending == 0 and info.num_ack_pending == 0

    await kit.wait_for(all_acked, within=20, what="every log acked well inside ack_wait")
    info = await js.consumer_info(LOGS_STREAM, LOGGER_DURABLE)
    assert info.ack_floor.stream_seq == published
    assert info.num_redelivered == 0
    keys = list(s3_client.list_objects(bucket, f"logs/{workspace}/", recursive=True))
    assert len(keys) == published
