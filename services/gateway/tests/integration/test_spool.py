"""Events are never lost: with NATS down (at start or later) the gateway serves and
spools to disk, replays when NATS returns, and drains its buffer on shutdown; JetStream
holds every event exactly once per id."""

import asyncio
import json
import time
import uuid
import zlib

import httpx
import nats
import pytest
from portcullis import oversized
from portcullis.events import decode_log
from portcullis.oversized import OBJECT_HEADER
from portcullis.subjects import metrics_subject
from portcullis_gateway.adapters.spool import _HEADER, SpooledMessage, frame, read_frames

MESSAGES = [{"role": "user", "content": "spool me"}]


def health(gw) -> dict:
    return httpx.get(f"{gw.v1}/health", timeout=5).json()


def metrics_text(gw) -> str:
    return httpx.get(f"{gw.url}/metrics", timeout=5).text


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


def _orphan_segment(spool_dir, entries: list[bytes]) -> None:
    """A segment left by a dead worker (no lock held): the gateway adopts and replays it."""
    orphan = spool_dir / "w-1"
    orphan.mkdir(parents=True)
    (orphan / f"{1:020d}.seg").write_bytes(b"".join(entries))


async def test_poison_entries_go_to_dead_letters_and_the_entries_after_them_are_published(
    tmp_path, fresh_nats, valkey_server, events, gateway_factory
):
    workspace = f"t{uuid.uuid4().hex[:10]}"
    metrics = metrics_subject(workspace)
    good = [
        SpooledMessage(metrics, f"good-{i}", {"Nats-Msg-Id": f"good-{i}"}, b"{}") for i in (1, 2)
    ]
    payload = b"\x93not a spooled message"
    undecodable = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
    # JetStream refuses this one for good (400: expected stream does not match).
    refused = SpooledMessage(
        metrics, "refused", {"Nats-Msg-Id": "refused", "Nats-Expected-Stream": "NOPE"}, b"{}"
    )
    # Over max_payload on a subject with no oversized path (only logs have one).
    too_big = SpooledMessage(metrics, "too-big", {"Nats-Msg-Id": "too-big"}, b"x" * (2 << 20))
    _orphan_segment(
        tmp_path / "spool",
        [frame(good[0]), undecodable, frame(refused), frame(too_big), frame(good[1])],
    )

    gw = gateway_factory(
        tmp_path, fresh_nats.url, valkey_server.url, workspace=workspace, replay_interval_s="0.2"
    )
    try:
        await events.read(gw.nats_url, workspace, ["good-1", "good-2"], family="metrics")
        wait_for(lambda: segments(gw) == [], "the segment to be replayed and removed")
        counts = await events.count_ids(gw.nats_url, workspace, "metrics")
        assert counts == {"good-1": 1, "good-2": 1}
        dead = sorted(p.name for p in (gw.spool_dir / "dead-letters").iterdir())
        assert dead == [
            f"{1:020d}-{len(frame(good[0]))}.undecodable.bin",
            f"{metrics}-refused.refused.seg",
            f"{metrics}-too-big.too_big.seg",
        ]
        parked = list(read_frames((gw.spool_dir / "dead-letters" / dead[2]).read_bytes()))
        assert parked == [too_big]  # kept whole, replayable
        text = metrics_text(gw)
        for reason in ("undecodable", "refused", "too_big"):
            assert f'portcullis_gateway_events_dead_lettered_total{{reason="{reason}"}} 1.0' in text
    finally:
        gw.process.stop()
    log_text = (tmp_path / "gateway.log").read_text()
    assert log_text.count("event dead-lettered") == 3


async def test_an_oversized_event_spooled_while_nats_is_down_is_replayed_through_the_object_store(
    tmp_path, fresh_nats, valkey_server, mock, events, gateway_factory
):
    fresh_nats.process.stop()
    gw = gateway_factory(tmp_path, fresh_nats.url, valkey_server.url, replay_interval_s="0.2")
    prompt = "spooled and big " * (2 << 20 >> 4)  # 2 MiB: over NATS's default 1 MiB
    try:
        raw = gw.client(mock).chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}]
        )
        request_id = raw.headers["x-portkey-request-id"]
        wait_for(lambda: health(gw)["events"]["spool_bytes"] > 4 << 20, "the big event spooled")
        fresh_nats.process.start()

        ref = (await events.read(gw.nats_url, gw.workspace, [request_id], wait_s=30))[request_id]
        assert ref.headers[OBJECT_HEADER] == request_id
        assert len(ref.data) < 64 * 1024  # the reference, not the event
        small = decode_log(ref.data)
        assert (small.id, small.status, bytes(small.request_body)) == (request_id, 200, b"null")
        assert small.usage is not None and small.usage.prompt_tokens > 0

        nc = await nats.connect(gw.nats_url)
        try:
            stored = await oversized.fetch(nc.jetstream(), request_id)
        finally:
            await nc.close()
        assert stored is not None
        full = decode_log(stored)
        assert json.loads(bytes(full.request_body))["messages"][0]["content"] == prompt
        assert full.usage == small.usage

        metered = (await events.metric(gw, request_id))[0]
        assert metered.prompt_tokens == small.usage.prompt_tokens
        wait_for(lambda: health(gw)["events"]["spool_bytes"] == 0, "the spool to empty")
        text = metrics_text(gw)
        assert "portcullis_gateway_events_oversized_total 1.0" in text
    finally:
        gw.process.stop()
