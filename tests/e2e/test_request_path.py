"""One request through every service: the official openai SDK against the gateway, the
answer from the mock provider, the log fetched back by id, the request counted."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import openai
import pytest

from tests.e2e.platform import Platform, poll


def _window() -> tuple[str, str]:
    now = dt.datetime.now(dt.UTC)
    return (
        (now - dt.timedelta(minutes=10)).isoformat(),
        (now + dt.timedelta(minutes=10)).isoformat(),
    )


def _client(platform: Platform, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{platform.gateway_url}/v1",
        api_key="sk-test-not-a-real-key",
        default_headers=platform.provider_headers(**headers),
        max_retries=0,
    )


def test_chat_completion_is_answered_logged_and_counted(platform: Platform) -> None:
    since, until = _window()
    before = platform.graph("requests", since, until).json()["summary"]["total"]
    client = _client(
        platform, **{"x-portkey-metadata": json.dumps({"_user": "ada", "team": "core"})}
    )

    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello spine"}]
    )
    completion = raw.parse()

    assert "hello spine" in completion.choices[0].message.content
    request_id = raw.headers["x-portkey-request-id"]
    assert raw.headers["x-portkey-provider"] == "openai"
    assert raw.headers["x-portkey-cache-status"] == "DISABLED"
    assert raw.headers["x-portkey-retry-attempt-count"] == "0"
    assert raw.headers["x-portkey-trace-id"]

    log = platform.get_log(request_id, timeout=2.0)
    assert log.status_code == 200, log.text
    stored = log.json()
    assert stored["_id"] == request_id
    assert stored["request"]["body"]["messages"][0]["content"] == "hello spine"
    assert stored["response"]["status"] == 200
    assert (
        stored["response"]["body"]["choices"][0]["message"]["content"]
        == completion.choices[0].message.content
    )
    assert "sk-test-not-a-real-key" not in log.text

    counted = poll(
        lambda: platform.graph("requests", since, until),
        lambda r: r.status_code == 200 and r.json()["summary"]["total"] >= before + 1,
        timeout=5,
    )
    assert counted.json()["object"] == "analytics-graph"
    assert counted.json()["summary"]["total"] == before + 1


async def test_async_stream_passes_chunks_and_logs_the_assembled_answer(platform: Platform) -> None:
    client = openai.AsyncOpenAI(
        base_url=f"{platform.gateway_url}/v1",
        api_key="sk-test-not-a-real-key",
        default_headers=platform.provider_headers(),
        max_retries=0,
    )
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "stream me a few words"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    request_id = raw.headers["x-portkey-request-id"]
    stream = raw.parse()
    pieces: list[str] = []
    usage = None
    chunks = 0
    async for chunk in stream:
        chunks += 1
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    text = "".join(pieces)
    assert chunks > 2, "the answer came in one piece: streaming was buffered"
    assert "stream me a few words" in text
    assert usage is not None and usage.completion_tokens > 0

    log = platform.get_log(request_id, timeout=2.0)
    assert log.status_code == 200, log.text
    stored = log.json()
    assert stored["response"]["body"]["choices"][0]["message"]["content"] == text
    assert stored["metrics"]["res_units"] == usage.completion_tokens
    assert stored["metrics"]["req_units"] == usage.prompt_tokens


def test_sync_stream_without_usage_still_answers(platform: Platform) -> None:
    client = _client(platform)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "tiny"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "tiny" in text


def test_completions_and_embeddings(platform: Platform) -> None:
    client = _client(platform)
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi")
    assert completion.choices[0].text
    embedding = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(embedding.data) == 2 and len(embedding.data[0].embedding) > 0


def test_provider_error_reaches_the_caller_with_its_status(platform: Platform) -> None:
    client = _client(platform)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "x"}],
            extra_body={"mock": {"status": 429, "retry_after": 1}},
        )
    assert caught.value.status_code == 429
    request_id = caught.value.response.headers["x-portkey-request-id"]
    log = platform.get_log(request_id, timeout=2.0)
    assert log.status_code == 200
    assert log.json()["response"]["status"] == 429


@pytest.mark.parametrize(
    ("headers", "body", "status", "needle"),
    [
        ({"x-portkey-provider": "openai"}, b"{not json", 400, "json"),
        ({"x-portkey-provider": "openai"}, b"[1, 2]", 400, "object"),
        ({}, b'{"model": "m", "messages": []}', 400, "provider"),
        (
            {"x-portkey-provider": "no-such-llm"},
            b'{"model": "m", "messages": []}',
            400,
            "no-such-llm",
        ),
        (
            {
                "x-portkey-provider": "openai",
                "x-portkey-custom-host": "http://169.254.169.254/latest",
            },
            b'{"model": "m", "messages": []}',
            None,
            "custom_host",
        ),
        ({"x-portkey-config": "{broken"}, b'{"model": "m", "messages": []}', 400, "config"),
        (
            {"x-portkey-provider": "openai", "x-portkey-metadata": "[]"},
            b'{"model": "m", "messages": []}',
            400,
            "metadata",
        ),
    ],
)
def test_bad_input_is_a_clear_4xx(platform: Platform, headers, body, status, needle) -> None:
    response = httpx.post(
        f"{platform.gateway_url}/v1/chat/completions",
        content=body,
        headers={
            "content-type": "application/json",
            "authorization": "Bearer sk-secret-abc",
            **headers,
        },
        timeout=10,
    )
    assert 400 <= response.status_code < 500, response.text
    if status is not None:
        assert response.status_code == status
    error = response.json()["error"]
    assert {"message", "type", "code"} <= error.keys()
    assert needle in error["message"].lower()
    assert "sk-secret-abc" not in response.text
    assert response.headers["x-portkey-request-id"]


def test_body_over_the_limit_is_413(platform: Platform) -> None:
    response = httpx.post(
        f"{platform.gateway_url}/v1/chat/completions",
        content=b'{"model": "m", "messages": [{"role": "user", "content": "'
        + b"x" * (300 * 1024)
        + b'"}]}',
        headers={**platform.provider_headers(), "content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["error"]["message"]


def test_unknown_log_is_404(platform: Platform) -> None:
    response = httpx.get(
        f"{platform.gateway_url}/v1/logs/01890a5d-ac96-774b-bcce-b302099a8057", timeout=5
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("params", "code", "needle"),
    [
        # 3.65 million day buckets before issue 10, and a 503 for everyone meanwhile.
        (("0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"), "invalid_time", "between 1900"),
        (("2020-01-01T00:00:00Z", "2026-01-01T00:00:00Z"), "time_range_too_long", "366"),
        # Reached ClickHouse as a UInt16 and came back a 503.
        (("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "-1"), "invalid_filter", "100-599"),
    ],
)
def test_a_bad_graph_query_is_a_400_from_analytics_not_a_503(
    platform: Platform, params, code, needle
) -> None:
    query = {"time_of_generation_min": params[0], "time_of_generation_max": params[1]}
    if len(params) > 2:
        query["status_code"] = params[2]
    response = httpx.get(
        f"{platform.gateway_url}/v1/analytics/graphs/requests", params=query, timeout=10
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and needle in error["message"]
