"""No log is lost, whatever its size (issue 10): a 5 MB prompt and a 20 MB answer, each
far over NATS's max_payload, are stored whole in S3 and counted in analytics, and a
normal request after them is logged as quickly as ever; ``GET /v1/logs/{id}`` answers
them whole although no NATS reply can carry them (the body goes through the object store)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from minio.error import S3Error
from portcullis_logger.domain.keys import object_key

from tests.e2e.platform import S3_BUCKET, Platform, poll

MB = 1024 * 1024


@pytest.fixture(scope="module")
def big_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    platform = Platform(
        tmp_path_factory.mktemp("big-platform"),
        # The gateway's default body limit (32 MiB) instead of the e2e platform's 256 KiB.
        extra_env={"gateway": {"PORTCULLIS_GATEWAY_MAX_BODY_BYTES": str(32 * MB)}},
    )
    running = platform.build().start()
    yield running
    running.stop()


def _chat(platform: Platform, body: dict) -> httpx.Response:
    response = httpx.post(
        f"{platform.gateway_url}/v1/chat/completions",
        json=body,
        headers={**platform.provider_headers(), "authorization": "Bearer sk-test-big"},
        timeout=60,
    )
    assert response.status_code == 200, response.text[:500]
    return response


def _stored(platform: Platform, request_id: str, wait_s: float = 60) -> dict:
    """The LogObject as the logger wrote it to S3, waiting for it to appear."""
    client = platform.s3_client()
    key = object_key("default", request_id)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            response = client.get_object(S3_BUCKET, key)
        except S3Error:
            assert time.monotonic() < deadline, f"no log in S3 for {request_id}"
            time.sleep(0.2)
            continue
        try:
            return json.loads(response.read())
        finally:
            response.close()
            response.release_conn()


def _counted(platform: Platform, request_ids: list[str]) -> None:
    now = dt.datetime.now(dt.UTC)
    since = (now - dt.timedelta(minutes=10)).isoformat()
    until = (now + dt.timedelta(minutes=10)).isoformat()
    graph = poll(
        lambda: platform.graph("requests", since, until),
        lambda r: r.status_code == 200 and r.json()["summary"]["total"] >= len(request_ids),
        timeout=30,
    )
    assert graph.json()["summary"]["total"] == len(request_ids)


def test_a_5mb_prompt_and_a_20mb_answer_are_logged_whole_and_counted(
    big_platform: Platform,
) -> None:
    prompt = "tell me about portcullises " * (5 * MB // 27)
    assert len(prompt) > 5 * MB - 27
    big_prompt = _chat(
        big_platform, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}
    )
    big_answer = _chat(
        big_platform,
        {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "a long answer, please"}],
            "mock": {"reply_bytes": 20 * MB},
        },
    )
    answer_text = big_answer.json()["choices"][0]["message"]["content"]
    assert len(answer_text) == 20 * MB
    ids = [r.headers["x-portkey-request-id"] for r in (big_prompt, big_answer)]

    stored = _stored(big_platform, ids[0])
    assert stored["request"]["body"]["messages"][0]["content"] == prompt
    assert stored["response"]["body"]["choices"][0]["message"]["content"] == (
        "mock reply to: " + prompt
    )
    assert stored["truncated"] is False
    assert stored["metrics"]["req_units"] > 0  # usage came through with the big body

    stored = _stored(big_platform, ids[1])
    assert stored["response"]["body"]["choices"][0]["message"]["content"] == answer_text
    assert stored["request"]["body"]["mock"] == {"reply_bytes": 20 * MB}
    assert stored["truncated"] is False
    assert stored["request"]["headers"].get("authorization") in (None, "[REDACTED]")

    # Read back through the gateway: the same log the logger wrote.
    via_gateway = big_platform.get_log(ids[1], timeout=10.0)
    assert via_gateway.status_code == 200, via_gateway.text[:300]
    assert via_gateway.json() == stored

    # A normal request right after them is logged within the usual e2e wait.
    small = _chat(
        big_platform,
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "small after big"}]},
    )
    small_id = small.headers["x-portkey-request-id"]
    log = big_platform.get_log(small_id, timeout=2.0)
    assert log.status_code == 200, log.text
    assert log.json()["request"]["body"]["messages"][0]["content"] == "small after big"

    _counted(big_platform, [*ids, small_id])

    # The objects are deleted once their logs are written.
    metrics = httpx.get(f"http://127.0.0.1:{big_platform.logger_port}/metrics").text
    assert "portcullis_logger_oversized_total 2.0" in metrics
    gateway_metrics = httpx.get(f"{big_platform.gateway_url}/metrics").text
    assert "portcullis_gateway_events_oversized_total 2.0" in gateway_metrics
