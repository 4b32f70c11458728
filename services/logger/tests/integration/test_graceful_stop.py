"""SIGTERM / SIGINT: the logger stops pulling, finishes or hands back (nak) what it holds,
and exits 0; nothing is lost and nothing waits out its ack deadline."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from aiohttp import web
from portcullis.subjects import LOGGER_DURABLE, LOGS_STREAM
from portcullis_stack.servers import free_port


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
async def test_signal_stops_cleanly_and_loses_nothing(
    sig, kit, start_logger, nats_client, s3_client, bucket, workspace
):
    js = nats_client.jetstream()
    events = [kit.make_event(workspace) for _ in range(1500)]
    for start in range(0, len(events), 250):
        await asyncio.gather(*(kit.publish(js, e, workspace) for e in events[start : start + 250]))

    # A long ack deadline: a message neither acked nor handed back (nak) would be held
    # back for a minute, so the drain below tells a clean hand-back from a crash.
    settings = {"ack_wait_s": "60", "s3_concurrency": "4", "pull_batch": "64"}
    logger = start_logger(**settings)

    async def writing() -> bool:
        return logger.metric("portcullis_logger_written_total") >= 50

    await kit.wait_for(writing, within=30, what="writes under way")
    started = time.monotonic()
    logger.proc.proc.send_signal(sig)
    returncode = await asyncio.to_thread(logger.proc.proc.wait, 15)
    assert returncode == 0, logger.proc.tail()
    assert time.monotonic() - started < 8

    info = await js.consumer_info(LOGS_STREAM, LOGGER_DURABLE)
    assert info.num_pending > 0, "the stop should come mid-stream"

    logger.proc.start(timeout=30)

    async def drained() -> bool:
        info = await js.consumer_info(LOGS_STREAM, LOGGER_DURABLE)
        return info.num_pending == 0 and info.num_ack_pending == 0

    # Well inside the 60 s ack deadline: whatever the first process held came back at once.
    await kit.wait_for(drained, within=40, what="the rest written after the restart")
    keys = {o.object_name for o in s3_client.list_objects(bucket, f"logs/{workspace}/", True)}
    assert len(keys) == len(events)
    # The handed-back messages were delivered a second time, to the new process.
    assert logger.metric("portcullis_logger_redeliveries_total") > 0


async def test_writes_stuck_past_the_grace_are_handed_back(
    kit, start_logger, nats_client, s3_client, bucket, workspace
):
    # An S3 that says the bucket exists and then never answers a PUT (until released).
    release = asyncio.Event()

    async def bucket_exists(request: web.Request) -> web.Response:
        return web.Response(status=200)

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(status=500)

    app = web.Application()
    app.router.add_route("HEAD", "/{bucket}", bucket_exists)
    app.router.add_route("PUT", "/{tail:.*}", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        js = nats_client.jetstream()
        events = [kit.make_event(workspace) for _ in range(20)]
        await asyncio.gather(*(kit.publish(js, e, workspace) for e in events))
        # Started without blocking: this test's event loop is serving the fake S3.
        stuck = start_logger(
            wait=False,
            s3_endpoint=f"127.0.0.1:{port}",
            s3_region="us-east-1",
            s3_concurrency="4",
            pull_batch="8",
            stop_grace_s="1",
            ack_wait_s="60",
        )
        await asyncio.to_thread(stuck.wait_started, 30)

        async def writes_hanging() -> bool:
            info = await js.consumer_info(LOGS_STREAM, LOGGER_DURABLE)
            return info.num_ack_pending >= 4

        await kit.wait_for(writes_hanging, within=15, what="writes stuck in flight")
        started = time.monotonic()
        stuck.proc.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(stuck.proc.proc.wait, 15) == 0, stuck.proc.tail()
        assert time.monotonic() - started < 6
    finally:
        release.set()
        await runner.cleanup()

    healthy = start_logger()

    async def drained() -> bool:
        info = await js.consumer_info(LOGS_STREAM, LOGGER_DURABLE)
        return info.num_pending == 0 and info.num_ack_pending == 0

    # Far inside the 60 s ack deadline: the stuck writes, and those waiting for a slot
    # behind them, were handed back, not abandoned.
    await kit.wait_for(drained, within=20, what="the handed-back logs written")
    keys = {o.object_name for o in s3_client.list_objects(bucket, f"logs/{workspace}/", True)}
    assert len(keys) == len(events)
    assert healthy.metric("portcullis_logger_redeliveries_total") >= 4


async def test_signal_while_waiting_for_s3_at_start_exits_at_once(kit, start_logger):
    # Nothing listens there: the logger keeps waiting for its store to come up.
    waiting = start_logger(wait=False, s3_endpoint=f"127.0.0.1:{free_port()}")

    async def waiting_for_s3() -> bool:
        log_path = waiting.proc.log_path
        return log_path.exists() and "S3 not reachable yet" in waiting.log_text()

    # Its signal handlers are in place once it says so; a signal before would kill it.
    await kit.wait_for(waiting_for_s3, within=30, what="the logger waiting for S3")
    assert waiting.proc.running and not waiting.proc.ready()
    started = time.monotonic()
    waiting.proc.proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(waiting.proc.proc.wait, 10) == 0, waiting.proc.tail()
    assert time.monotonic() - started < 5
