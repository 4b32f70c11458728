"""Events are never lost: with NATS down (at start or later) the gateway serves and
spools to disk, replays when NATS returns, and drains its buffer on shutdown; JetStream
holds every event exactly once per id."""

import asyncio
import time

import httpx
import pytest

MESSAGES = [{"role": "user", "content": "spool me"}]


def health(gw) -> dict:
    return httpx.get(f"{gw.v1}/health", timeout=5).json()


def wait_for(predicate, what: str, wait_s: float = 20.0) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def send_requests(gw, mock, count: int) -> list[str]:
    client = gw.client(mock)
    ids = []
    for i in range(count):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"spool {i}"}]
        )
        assert raw.parse().choices[0].message.content == f"mock reply to: spool {i}"
        ids.append(raw.headers["x-portkey-request-id"])
    # An error answer is an event too.
    response = httpx.post(
        f"{gw.v1}/chat/completions",
        content=b"{broken",
        headers={"x-portkey-custom-host": mock.v1},
    )
    assert response.status_code == 400
    ids.append(response.headers["x-portkey-request-id"])
    return ids


def segments(gw) -> list:
    return list(gw.spool_dir.glob("w-*/*.seg"))


async def assert_exactly_once(gw, events, ids: list[str]) -> None:
    await events.read(gw.nats_url, gw.workspace, ids, wait_s=30)
    await events.read(gw.nats_url, gw.workspace, ids, family="metrics", wait_s=30)
    for family in ("logs", "metrics"):
        counts = await events.count_ids(gw.nats_url, gw.workspace, family)
        assert [counts[i] for i in ids] == [1] * len(ids), family
        assert max(counts.values()) == 1, family


async def test_nats_down_at_start_then_outage_then_shutdown(
    tmp_path, fresh_nats, valkey_server, mock, events, gateway_factory
):
    fresh_nats.process.stop()
    gw = gateway_factory(
        tmp_path,
        fresh_nats.url,
        valkey_server.url,
        publish_timeout_s="0.5",
        replay_interval_s="0.2",
    )
    try:
        # 1. NATS down from the start: the gateway serves and spools.
        assert health(gw)["nats"]["connected"] is False
        first = send_requests(gw, mock, 4)
        wait_for(lambda: health(gw)["events"]["spool_bytes"] > 0, "events in the spool")
        assert segments(gw)
        fresh_nats.process.start()
        await assert_exactly_once(gw, events, first)
        wait_for(lambda: health(gw)["events"]["spool_bytes"] == 0, "the spool to empty")
        assert segments(gw) == []

        # 2. NATS dies while the gateway runs, then comes back.
        fresh_nats.process.kill()
        wait_for(lambda: not health(gw)["nats"]["connected"], "the gateway to see NATS gone")
        second = send_requests(gw, mock, 3)
        wait_for(lambda: health(gw)["events"]["spool_bytes"] > 0, "events in the spool")
        fresh_nats.process.start()
        await assert_exactly_once(gw, events, first + second)
        wait_for(lambda: health(gw)["events"]["spool_bytes"] == 0, "the spool to empty")

        # 3. Shutdown right after answering: the buffer is drained to NATS.
        third = send_requests(gw, mock, 3)
    finally:
        gw.process.stop()
    await assert_exactly_once(gw, events, first + second + third)


async def test_shutdown_with_nats_down_leaves_events_in_the_spool_for_the_next_start(
    tmp_path, fresh_nats, valkey_server, mock, events, gateway_factory
):
    fresh_nats.process.stop()
    gw = gateway_factory(tmp_path, fresh_nats.url, valkey_server.url, replay_interval_s="0.2")
    try:
        ids = send_requests(gw, mock, 2)
    finally:
        gw.process.stop()
    assert segments(gw), "the drained events must be on disk"
    # The next gateway on the same spool dir adopts the dead worker's segments.
    fresh_nats.process.start()
    nxt = gateway_factory(
        tmp_path / "next",
        fresh_nats.url,
        valkey_server.url,
        spool_dir=str(gw.spool_dir),
        workspace=gw.workspace,
        replay_interval_s="0.2",
    )
    try:
        await assert_exactly_once(gw, events, ids)
        await asyncio.sleep(0)
        wait_for(lambda: segments(gw) == [], "the adopted segments to be replayed")
    finally:
        nxt.process.stop()
