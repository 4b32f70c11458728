"""SIGTERM / SIGINT: analytics stops pulling, finishes the batch it is inserting or hands
it back (nak), closes chDB and exits 0; every event is counted once after a restart."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import sys
import time

import pytest
from portcullis.subjects import ANALYTICS_DURABLE, METRICS_STREAM
from portcullis_stack.servers import ManagedProcess, free_port, http_ready

WS = "stop"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
async def test_signal_stops_cleanly_and_counts_everything_once(
    sig, kit, start_analytics, nats_client
):
    js = nats_client.jetstream()
    now = int(time.time() * 1000)
    events = [kit.metered(WS, now - i) for i in range(3000)]
    for start in range(0, len(events), 500):
        await asyncio.gather(*(kit.publish(js, e, WS) for e in events[start : start + 500]))

    # Small batches so the stop lands mid-stream; a long ack deadline so a batch neither
    # acked nor handed back would be held back for a minute.
    analytics = start_analytics(batch_size="10", ack_wait_s="60")

    async def inserting() -> bool:
        return analytics.metric("portcullis_analytics_inserted_rows_total") >= 100

    await kit.wait_for(inserting, within=30, what="inserts under way")
    started = time.monotonic()
    analytics.proc.proc.send_signal(sig)
    returncode = await asyncio.to_thread(analytics.proc.proc.wait, 15)
    assert returncode == 0, analytics.proc.tail()
    assert time.monotonic() - started < 8
    info = await js.consumer_info(METRICS_STREAM, ANALYTICS_DURABLE)
    assert info.num_pending > 0, "the stop should come mid-stream"

    # The same chDB directory opens again: the first process released its lock.
    analytics.proc.start(timeout=60)

    async def drained() -> bool:
        info = await js.consumer_info(METRICS_STREAM, ANALYTICS_DURABLE)
        return info.num_pending == 0 and info.num_ack_pending == 0

    await kit.wait_for(drained, within=40, what="the rest inserted after the restart")
    tmin = dt.datetime.fromtimestamp(now / 1000 - 60, dt.UTC).isoformat()
    tmax = dt.datetime.fromtimestamp(now / 1000 + 1, dt.UTC).isoformat()
    reply = await kit.query_graph(nats_client, "requests", WS, tmin, tmax)
    assert reply.status == 200
    assert json.loads(bytes(reply.body))["summary"] == {"total": len(events)}


async def test_signal_while_waiting_for_nats_at_start_exits_at_once(kit, tmp_path):
    port = free_port()
    log_path = tmp_path / "analytics.log"
    waiting = ManagedProcess(
        name="analytics-waiting",
        argv=[sys.executable, "-m", "portcullis_analytics"],
        # Started as soon as it runs: it never gets healthy, NATS is not there.
        ready=lambda: True,
        log_path=log_path,
        env={
            # Nothing listens there: analytics keeps waiting for NATS to come up.
            "PORTCULLIS_ANALYTICS_NATS_URL": f"nats://127.0.0.1:{free_port()}",
            "PORTCULLIS_ANALYTICS_CHDB_PATH": str(tmp_path / "chdb"),
            "PORTCULLIS_ANALYTICS_HTTP_PORT": str(port),
        },
    )
    waiting.start()
    try:

        async def waiting_for_nats() -> bool:
            # The store is opened first; the wait for NATS (nats-py retrying the
            # connection, with no line of ours) comes right after it.
            return '"analytics store ready"' in log_path.read_text(errors="replace")

        # Past start-up, into the wait for NATS: its signal handlers are in place.
        await kit.wait_for(waiting_for_nats, within=60, what="analytics waiting for NATS")
        assert waiting.running
        assert not http_ready(f"http://127.0.0.1:{port}/health")()
        started = time.monotonic()
        waiting.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(waiting.proc.wait, 10) == 0, waiting.tail()
        assert time.monotonic() - started < 5
    finally:
        waiting.kill()
