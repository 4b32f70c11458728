"""Inference through a real gateway process to the mock provider with the official
openai SDK (sync, async, streaming), and the events it publishes to JetStream."""

import json
import time

import httpx
import msgspec
import pytest

MESSAGES = [{"role": "user", "content": "hello gateway"}]


def test_chat_sync_answers_with_headers_and_forwards_only_the_credential(
    gateway, mock, portkey_headers
):
    mock.clear()
    client = gateway.client(mock, api_key="sk-caller-123", **{"x-portkey-trace-id": "trace-sync-1"})
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    answer = raw.parse()
    assert answer.choices[0].message.content == "mock reply to: hello gateway"
    assert answer.usage.total_tokens == 7
    portkey_headers(raw.headers)
    assert raw.headers["x-portkey-trace-id"] == "trace-sync-1"
    [seen] = mock.requests()
    assert seen["path"] == "/v1/chat/completions"
    assert seen["headers"]["authorization"] == "Bearer sk-caller-123"
    assert not [h for h in seen["headers"] if h.startswith("x-portkey-")]
    assert seen["body"] == {"model": "gpt-4o-mini", "messages": MESSAGES}


async def test_chat_event_carries_body_usage_cost_metadata_and_redacted_headers(
    gateway, mock, events, portkey_headers
):
    client = gateway.async_client(
        mock,
        api_key="sk-secret-abc",
        **{
            "x-portkey-metadata": json.dumps({"_user": "user-42", "env": "test"}),
            "x-portkey-trace-id": "trace-evt-1",
            "x-portkey-api-key": "pk-secret-xyz",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        },
    )
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    )
    request_id = portkey_headers(raw.headers)
    logged, msg = await events.log(gateway, request_id)
    assert logged.id == request_id
    assert logged.workspace == gateway.workspace
    assert logged.organisation_id == "local"
    assert logged.trace_id == "trace-evt-1"
    assert logged.path == "/v1/chat/completions" and logged.method == "POST"
    assert logged.provider == "openai" and logged.model == "gpt-4o-mini"
    assert logged.provider_url == f"{mock.v1}/chat/completions"
    assert logged.status == 200 and logged.is_success
    assert msgspec.json.decode(logged.request_body) == {
        "messages": MESSAGES,
        "model": "gpt-4o-mini",
    }
    assert msgspec.json.decode(logged.response_body) == json.loads(raw.content)
    assert logged.usage.prompt_tokens == 2 and logged.usage.completion_tokens == 5
    assert logged.cost is not None and logged.cost > 0
    assert logged.metadata == {"_user": "user-42", "env": "test"}
    assert logged.user == "user-42"
    assert "authorization" not in logged.request_headers
    assert "x-portkey-api-key" not in logged.request_headers
    assert "secret" not in bytes(msg.data).decode()
    assert logged.request_headers["x-portkey-trace-id"] == "trace-evt-1"
    assert logged.response_headers["x-portkey-request-id"] == request_id
    timings = logged.timings
    assert 0 < timings.first_byte_ms <= timings.total_ms
    assert 0 < timings.upstream_ms <= timings.total_ms
    # Event headers: de-duplication id and the W3C trace of the request's span, which
    # continues the caller's trace.
    assert msg.headers["Nats-Msg-Id"] == request_id
    assert msg.headers["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    metered, metric_msg = await events.metric(gateway, request_id)
    assert metered.id == request_id and metered.cost == logged.cost
    assert metered.total_tokens == 7 and metered.user == "user-42"
    assert metric_msg.headers["traceparent"] == msg.headers["traceparent"]


async def test_async_stream_with_usage_chunk(gateway, mock, events, portkey_headers):
    client = gateway.async_client(mock)
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "stream this please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    request_id = portkey_headers(raw.headers)
    assert raw.headers["content-type"].startswith("text/event-stream")
    text = ""
    usage = None
    async for chunk in raw.parse():
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage:
            usage = chunk.usage
    assert text == "mock reply to: stream this please"
    assert usage.total_tokens == 9
    logged, _ = await events.log(gateway, request_id)
    assert logged.stream is True
    body = msgspec.json.decode(logged.response_body)
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == text
    assert body["choices"][0]["finish_reason"] == "stop"
    assert logged.usage.total_tokens == 9 and logged.usage.estimated is False
    assert logged.cost > 0
    timings = logged.timings
    assert timings.first_byte_ms <= timings.first_token_ms <= timings.total_ms


def test_stream_chunks_arrive_before_the_answer_ends(gateway, mock):
    """Pass-through, not buffering: the first content is readable while the provider is
    still pausing between the later chunks."""
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "a b c d e f"}],
        "stream": True,
        "mock": {"chunk_delay_ms": 150},
    }
    headers = {"x-portkey-custom-host": mock.v1, "authorization": "Bearer k"}
    first_at = None
    lines = []
    with httpx.Client(timeout=10) as client:
        with client.stream(
            "POST", f"{gateway.v1}/chat/completions", json=body, headers=headers
        ) as r:
            for line in r.iter_lines():
                lines.append(line)
                if first_at is None and '"content":"mock"' in line:
                    first_at = time.monotonic()
    ended_at = time.monotonic()
    assert first_at is not None
    assert "data: [DONE]" in lines[-2:]
    # Eight more content chunks, 150 ms apart, were still to come when the first was read.
    assert ended_at - first_at >= 0.6


async def test_stream_with_tool_calls_and_no_usage_is_estimated(
    gateway, mock, events, portkey_headers
):
    client = gateway.async_client(mock)
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "weather in Paris"}],
        tools=[
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": {"type": "object"}},
            }
        ],
        stream=True,
    )
    request_id = portkey_headers(raw.headers)
    calls: dict[int, str] = {}
    async for chunk in raw.parse():
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            calls[call.index] = calls.get(call.index, "") + (call.function.arguments or "")
    assert calls == {0: '{"echo":"weather in Paris"}'}
    logged, _ = await events.log(gateway, request_id)
    message = msgspec.json.decode(logged.response_body)["choices"][0]["message"]
    assert message["tool_calls"] == [
        {
            "id": "call_mock1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"echo":"weather in Paris"}'},
        }
    ]
    assert msgspec.json.decode(logged.response_body)["choices"][0]["finish_reason"] == "tool_calls"
    assert logged.usage.estimated is True and logged.usage.completion_tokens > 0
    assert logged.timings.first_token_ms is not None


async def test_completions_and_embeddings(gateway, mock, events, portkey_headers):
    client = gateway.client(mock)
    raw = client.completions.with_raw_response.create(
        model="gpt-3.5-turbo-instruct", prompt="say hi"
    )
    assert raw.parse().choices[0].text == "mock reply to: say hi"
    completion_id = portkey_headers(raw.headers)
    stream = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="x y", stream=True)
    assert "".join(c.choices[0].text for c in stream if c.choices) == "mock reply to: x y"
    raw = client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["a b", "c"]
    )
    embeddings = raw.parse()
    assert [len(d.embedding) for d in embeddings.data] == [16, 16]
    embedding_id = portkey_headers(raw.headers)
    logged, _ = await events.log(gateway, completion_id)
    assert logged.path == "/v1/completions" and logged.usage.completion_tokens == 5
    logged, _ = await events.log(gateway, embedding_id)
    assert logged.path == "/v1/embeddings"
    assert logged.usage.prompt_tokens == 3
    assert logged.cost is not None and logged.cost > 0  # text-embedding-3-small has a price


async def test_inline_config_routes_and_its_key_is_the_bearer(
    gateway, mock, events, portkey_headers
):
    mock.clear()
    config = {"provider": "openai", "custom_host": mock.v1, "api_key": "sk-from-config"}
    client = gateway.client(None, api_key="sk-caller", **{"x-portkey-config": json.dumps(config)})
    raw = client.chat.completions.with_raw_response.create(model="mock-model", messages=MESSAGES)
    request_id = portkey_headers(raw.headers)
    [seen] = mock.requests()
    assert seen["headers"]["authorization"] == "Bearer sk-from-config"
    logged, msg = await events.log(gateway, request_id)
    assert json.loads(logged.request_headers["x-portkey-config"])["api_key"] == "[REDACTED]"
    assert "sk-from-config" not in bytes(msg.data).decode()
    assert logged.cost is None  # mock-model has no known price
    assert logged.usage.total_tokens == 7


async def test_every_request_publishes_exactly_one_log_and_one_metric(gateway, mock, events):
    client = gateway.async_client(mock)
    ids = []
    for i in range(5):
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"n {i}"}]
        )
        ids.append(raw.headers["x-portkey-request-id"])
    await events.read(gateway.nats_url, gateway.workspace, ids)
    await events.read(gateway.nats_url, gateway.workspace, ids, family="metrics")
    for family in ("logs", "metrics"):
        counts = await events.count_ids(gateway.nats_url, gateway.workspace, family)
        assert [counts[i] for i in ids] == [1] * 5
        assert max(counts.values()) == 1


def test_health_and_metrics(gateway, mock):
    health = httpx.get(f"{gateway.v1}/health").json()
    assert health["status"] == "success"
    assert health["nats"] == {"connected": True, "streams_ready": True}
    assert health["redis"] == {"connected": True}
    gateway.client(mock).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    text = ""
    for _ in range(50):  # metrics are recorded by the publisher, a moment after the answer
        text = httpx.get(f"{gateway.url}/metrics").text
        if "portcullis_gateway_events_published_total" in text and 'status_class="2xx"' in text:
            break
        time.sleep(0.1)
    assert (
        'portcullis_gateway_requests_total{provider="openai",route="/v1/chat/completions",status_class="2xx"}'
        in text
    )
    assert "portcullis_gateway_upstream_latency_seconds_bucket" in text
    assert "portcullis_gateway_event_buffer_depth" in text
    assert "portcullis_gateway_spool_bytes" in text
    assert "portcullis_gateway_events_dropped_total 0.0" in text
    published = [
        line
        for line in text.splitlines()
        if line.startswith("portcullis_gateway_events_published_total")
    ]
    assert float(published[0].split()[-1]) > 0


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings"])
def test_get_on_inference_routes_is_405_with_headers(gateway, path, portkey_headers):
    response = httpx.get(f"{gateway.url}{path}")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    portkey_headers(response.headers, provider="unknown")
