"""Nothing is lost and nothing counts twice when parts of the platform die mid-flight."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import httpx

from tests.e2e.platform import S3_BUCKET, Platform, poll


async def _send(platform: Platform, count: int, pause: float, on_sent=None) -> list[str]:
    """Send ``count`` chat completions one after another; return their request ids."""
    ids: list[str] = []
    async with httpx.AsyncClient(timeout=10) as client:
        for n in range(count):
            response = await client.post(
                f"{platform.gateway_url}/v1/chat/completions",
                json={
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": f"message {n}"}],
                },
                headers={**platform.provider_headers(), "authorization": "Bearer sk-test"},
            )
            assert response.status_code == 200, response.text
            ids.append(response.headers["x-portkey-request-id"])
            if on_sent:
                await on_sent(n)
            await asyncio.sleep(pause)
    return ids


def _stored_log_keys(platform: Platform) -> list[str]:
    client = platform.s3_client()
    return [
        obj.object_name for obj in client.list_objects(S3_BUCKET, prefix="logs/", recursive=True)
    ]


def _assert_each_exactly_once(platform: Platform, ids: list[str], since: str, until: str) -> None:
    assert len(set(ids)) == len(ids)
    # Every request has its log, fetchable by id through the public API.
    deadline = time.monotonic() + 60
    missing = set(ids)
    while missing and time.monotonic() < deadline:
        missing = {i for i in missing if platform.get_log(i, timeout=0).status_code != 200}
        if missing:
            time.sleep(0.5)
    assert not missing, f"{len(missing)} of {len(ids)} requests have no log"

    # One object per request: a redelivery overwrote, it did not add.
    keys = _stored_log_keys(platform)
    assert len(keys) == len(ids)
    assert {k.rsplit("/", 1)[-1].removesuffix(".json") for k in keys} == set(ids)

    # Analytics counts each request once.
    counted = poll(
        lambda: platform.graph("requests", since, until),
        lambda r: r.status_code == 200 and r.json()["summary"]["total"] >= len(ids),
        timeout=30,
    )
    assert counted.json()["summary"]["total"] == len(ids)


def _window() -> tuple[str, str]:
    now = dt.datetime.now(dt.UTC)
    return (now - dt.timedelta(minutes=5)).isoformat(), (now + dt.timedelta(minutes=30)).isoformat()


def test_nats_killed_and_restarted_while_requests_flow(own_platform: Platform) -> None:
    since, until = _window()
    nats = own_platform["nats"]

    async def chaos(n: int) -> None:
        if n == 20:
            await asyncio.to_thread(nats.kill)
        if n == 60:
            await asyncio.to_thread(nats.start, 60)

    ids = asyncio.run(_send(own_platform, 100, 0.03, on_sent=chaos))
    assert nats.running
    _assert_each_exactly_once(own_platform, ids, since, until)
    # The outage really happened under load: events went through the disk spool.
    metrics = httpx.get(f"{own_platform.gateway_url}/metrics", timeout=5).text
    spooled = sum(
        float(line.rpartition(" ")[2])
        for line in metrics.splitlines()
        if line.startswith("portcullis_gateway_events_spooled_total")
    )
    assert spooled > 0


def test_logger_killed_mid_flight_redelivers_without_duplicates(own_platform: Platform) -> None:
    since, until = _window()
    logger = own_platform["logger"]

    async def chaos(n: int) -> None:
        if n == 30:
            await asyncio.to_thread(logger.kill)
        if n == 70:
            await asyncio.to_thread(logger.start, 60)

    ids = asyncio.run(_send(own_platform, 100, 0.02, on_sent=chaos))
    _assert_each_exactly_once(own_platform, ids, since, until)
