"""Anthropic's Messages API through the running gateway with the official anthropic
SDK: untranslated to Anthropic, translated to and from the chat path for every other
wire format (JSON, streams, tools, token counts), errors in Anthropic's shape, a
routing config, and what the log keeps."""

import json

import anthropic
import httpx
import msgspec
import pytest
from portcullis_stack.servers import free_port

KEY = "sk-ant-messages-secret"
MESSAGES = [{"role": "user", "content": "hello messages"}]
REPLY = "mock reply to: hello messages"
SYSTEM = "answer like a lighthouse keeper"
TOOLS = [
    {
        "name": "lookup",
        "description": "look a thing up",
        "input_schema": {"type": "object", "properties": {"echo": {"type": "string"}}},
    }
]

# provider -> (model, custom host below the mock's URL, extra headers)
WIRE_FORMATS = {
    "anthropic": ("claude-sonnet-4-5", "/v1", {}),
    "openai": ("gpt-4o-mini", "/v1", {}),
    "google": ("gemini-2.0-flash", "/v1beta", {}),
    "bedrock": (
        "anthropic.claude-3-haiku-20240307-v1:0",
        "",
        {"x-portkey-aws-region": "eu-west-1"},
    ),
    "cohere": ("command-r-plus", "/v2", {}),
    "ollama": ("llama3.2", "", {}),
    # Claude on Vertex: the Anthropic SDK's request, through OpenAI's shape, to rawPredict.
    "vertex-ai": (
        "claude-sonnet-4-5@20250929",
        "/v1",
        {"x-portkey-vertex-project-id": "proj", "x-portkey-vertex-region": "us-east5"},
    ),
    "azure-openai": (
        "gpt-4o-mini",
        "",
        {"x-portkey-azure-resource-name": "res", "x-portkey-azure-deployment-id": "dep-1"},
    ),
}
TRANSLATED = [name for name in WIRE_FORMATS if name != "anthropic"]
# The mock's route for a chat call in each translated format.
UPSTREAM_PATHS = {
    "openai": "/v1/chat/completions",
    "google": "/v1beta/models/gemini-2.0-flash:",
    "bedrock": "/model/anthropic.claude-3-haiku-20240307-v1:0/converse",
    "cohere": "/v2/chat",
    "ollama": "/api/chat",
    "vertex-ai": "/v1/projects/proj/locations/us-east5/publishers/anthropic/models/",
    "azure-openai": "/openai/deployments/dep-1/chat/completions",
}


def client_for(gateway, mock, provider: str, knobs: str = "", **extra: str):
    """An anthropic client for ``provider`` at the mock; knobs go in the path, since
    native adapters drop a ``mock`` body field."""
    _, suffix, headers = WIRE_FORMATS[provider]
    host = mock.url + (f"/mock/{knobs}" if knobs else "") + suffix
    return anthropic.Anthropic(
        base_url=gateway.url,
        api_key=KEY,
        max_retries=0,
        default_headers={
            "x-portkey-provider": provider,
            "x-portkey-custom-host": host,
            **headers,
            **extra,
        },
    )


def model_of(provider: str) -> str:
    return WIRE_FORMATS[provider][0]


# --- Anthropic behind it: untranslated ---------------------------------------------


def test_anthropic_gets_the_body_untranslated_with_its_headers(gateway, mock):
    mock.clear()
    client = client_for(gateway, mock, "anthropic", **{"anthropic-beta": "beta-x"})
    sent = {
        "model": model_of("anthropic"),
        "max_tokens": 50,
        "system": SYSTEM,
        "messages": MESSAGES,
        "metadata": {"user_id": "u-7"},
    }
    raw = client.messages.with_raw_response.create(**sent, extra_body={"top_k": 5})
    message = raw.parse()
    assert message.content[0].text == REPLY
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert raw.headers["x-portkey-provider"] == "anthropic"
    [seen] = mock.requests()
    assert seen["path"] == "/v1/messages"
    # Fields the chat path cannot carry (top_k, metadata, a top-level system) arrive.
    assert seen["body"] == {**sent, "top_k": 5}
    assert seen["headers"]["x-api-key"] == KEY
    sdk_version = raw.http_response.request.headers["anthropic-version"]
    assert seen["headers"]["anthropic-version"] == sdk_version
    assert seen["headers"]["anthropic-beta"] == "beta-x"
    assert "authorization" not in seen["headers"]
    assert not [h for h in seen["headers"] if h.startswith("x-portkey-")]


def test_anthropic_stream_comes_back_as_anthropic_sent_it(gateway, mock):
    client = client_for(gateway, mock, "anthropic")
    with client.messages.stream(
        model=model_of("anthropic"), max_tokens=50, messages=MESSAGES
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == REPLY
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0
    assert final.stop_reason == "end_turn"
    # Anthropic's ping events are not something the translated path makes up: their
    # presence shows the stream was relayed, not rebuilt.
    mock.clear()
    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/messages",
        json={
            "model": model_of("anthropic"),
            "max_tokens": 50,
            "messages": MESSAGES,
            "stream": True,
        },
        headers={
            "x-api-key": KEY,
            "x-portkey-provider": "anthropic",
            "x-portkey-custom-host": mock.v1,
        },
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read()
    assert b"event: ping" in raw
    # A caller that names no API version gets the one every Anthropic model accepts.
    [seen] = mock.requests()
    assert seen["headers"]["anthropic-version"] == "2023-06-01"


def test_anthropic_tool_use(gateway, mock):
    client = client_for(gateway, mock, "anthropic")
    message = client.messages.create(
        model=model_of("anthropic"), max_tokens=50, messages=MESSAGES, tools=TOOLS
    )
    [block] = message.content
    assert block.type == "tool_use" and block.name == "lookup"
    assert block.input == {"echo": "hello messages"}
    assert message.stop_reason == "tool_use"


def test_anthropic_counts_tokens_itself(gateway, mock):
    mock.clear()
    client = client_for(gateway, mock, "anthropic")
    raw = client.messages.with_raw_response.count_tokens(
        model=model_of("anthropic"), messages=MESSAGES, system=SYSTEM
    )
    # The mock counts words: 2 in the message, 5 in the system prompt.
    assert raw.parse().input_tokens == 7
    assert "x-portkey-tokens-estimated" not in raw.headers
    [seen] = mock.requests()
    assert seen["path"] == "/v1/messages/count_tokens"
    assert seen["headers"]["x-api-key"] == KEY


def test_anthropic_unreachable_is_an_anthropic_shaped_502(gateway):
    client = anthropic.Anthropic(
        base_url=gateway.url,
        api_key=KEY,
        max_retries=0,
        default_headers={
            "x-portkey-provider": "anthropic",
            "x-portkey-custom-host": f"http://127.0.0.1:{free_port()}/v1",
        },
    )
    with pytest.raises(anthropic.APIStatusError) as failed:
        client.messages.create(model=model_of("anthropic"), max_tokens=20, messages=MESSAGES)
    assert failed.value.status_code == 502
    assert failed.value.body["type"] == "error"
    assert failed.value.body["error"]["type"] == "api_error"


# --- every other wire format: through the chat path ---------------------------------


@pytest.mark.parametrize("provider", TRANSLATED)
def test_json_answer_from_every_wire_format(gateway, mock, provider):
    mock.clear()
    client = client_for(gateway, mock, provider)
    raw = client.messages.with_raw_response.create(
        model=model_of(provider), max_tokens=50, messages=MESSAGES, system=SYSTEM
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == REPLY
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert int(raw.headers["content-length"]) == len(raw.http_response.content)
    assert raw.headers["x-portkey-provider"] == provider
    [seen] = mock.requests()
    assert seen["path"].startswith(UPSTREAM_PATHS[provider])
    # The system prompt reached the provider (in whichever field its format has).
    assert SYSTEM in json.dumps(seen["body"])
    # Anthropic's own headers are not sent to another provider.
    assert not {"x-api-key", "anthropic-version"} & set(seen["headers"])


@pytest.mark.parametrize("provider", TRANSLATED)
def test_stream_from_every_wire_format(gateway, mock, provider):
    client = client_for(gateway, mock, provider)
    with client.messages.stream(
        model=model_of(provider), max_tokens=50, messages=MESSAGES
    ) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(deltas) == REPLY
    assert len(deltas) > 1, "the answer came in one piece: the stream was buffered"
    assert final.content[0].text == REPLY
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0


@pytest.mark.parametrize("provider", TRANSLATED)
def test_tool_use_json_and_stream_from_every_wire_format(gateway, mock, provider):
    client = client_for(gateway, mock, provider)
    message = client.messages.create(
        model=model_of(provider), max_tokens=50, messages=MESSAGES, tools=TOOLS
    )
    [block] = [b for b in message.content if b.type == "tool_use"]
    assert block.name == "lookup" and block.input == {"echo": "hello messages"}
    assert message.stop_reason == "tool_use"
    with client.messages.stream(
        model=model_of(provider), max_tokens=50, messages=MESSAGES, tools=TOOLS
    ) as stream:
        final = stream.get_final_message()
    [block] = [b for b in final.content if b.type == "tool_use"]
    assert block.name == "lookup" and block.input == {"echo": "hello messages"}
    assert final.stop_reason == "tool_use"


def test_a_tool_result_goes_back_to_the_provider(gateway, mock):
    mock.clear()
    client = client_for(gateway, mock, "openai")
    client.messages.create(
        model=model_of("openai"),
        max_tokens=50,
        messages=[
            *MESSAGES,
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": 1}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"}],
            },
        ],
        tools=TOOLS,
    )
    [seen] = mock.requests()
    sent = seen["body"]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "toolu_1"
    assert sent[2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "42"}


@pytest.mark.parametrize("provider", TRANSLATED)
def test_count_tokens_is_estimated_for_other_providers(gateway, mock, provider):
    mock.clear()
    client = client_for(gateway, mock, provider)
    raw = client.messages.with_raw_response.count_tokens(
        model=model_of(provider), messages=MESSAGES, system=SYSTEM
    )
    # About four characters a token over the system prompt and the message.
    expected = -(-len(SYSTEM + "\n" + "hello messages") // 4)
    assert raw.parse().input_tokens == expected
    assert raw.headers["x-portkey-tokens-estimated"] == "true"
    assert raw.headers["x-portkey-provider"] == provider
    assert mock.requests() == []


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("provider", list(WIRE_FORMATS))
def test_provider_rate_limit_is_the_sdks_rate_limit_error(gateway, mock, provider, stream):
    client = client_for(gateway, mock, provider, "status=429,error_message=slow-down-please")
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(
            model=model_of(provider), max_tokens=50, messages=MESSAGES, stream=stream
        )
    assert limited.value.status_code == 429
    body = limited.value.body
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    assert "slow-down-please" in body["error"]["message"]


def test_provider_error_mid_stream_is_an_anthropic_error_event(gateway, mock):
    client = client_for(
        gateway, mock, "openai", "fail_after_chunks=1,fail_mode=event,error_message=cut-short"
    )
    with pytest.raises(anthropic.APIStatusError) as failed:
        with client.messages.stream(
            model=model_of("openai"), max_tokens=50, messages=MESSAGES
        ) as stream:
            list(stream.text_stream)
    assert "cut-short" in str(failed.value)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_connection_broken_mid_stream_is_an_error_event_not_a_quiet_end(gateway, mock, provider):
    client = client_for(gateway, mock, provider, "fail_after_chunks=1,fail_mode=drop")
    text = []
    with pytest.raises(anthropic.APIStatusError) as failed:
        with client.messages.stream(
            model=model_of(provider), max_tokens=50, messages=MESSAGES
        ) as stream:
            text.extend(stream.text_stream)
    # What came before the break arrived, and no more.
    assert text and REPLY.startswith("".join(text)) and "".join(text) != REPLY
    assert failed.value.body["type"] == "error"
    assert failed.value.body["error"]["type"] == "api_error"


def test_missing_provider_is_an_anthropic_shaped_400(gateway):
    client = anthropic.Anthropic(base_url=gateway.url, api_key=KEY, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=20, messages=MESSAGES)
    body = refused.value.body
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "x-portkey-provider" in body["error"]["message"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"), (b'{"model": "m"}', "messages")],
)
def test_bad_bodies_are_anthropic_shaped_400s(gateway, mock, content, needle):
    response = httpx.post(
        f"{gateway.url}/v1/messages",
        content=content,
        headers={
            "content-type": "application/json",
            "x-api-key": KEY,
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": mock.v1,
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert needle in body["error"]["message"]


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_body_over_the_limit_is_an_anthropic_shaped_413(gateway, mock, provider):
    client = client_for(gateway, mock, provider)
    # The gateway fixture accepts 64 KiB.
    big = [{"role": "user", "content": "x" * 70_000}]
    with pytest.raises(anthropic.APIStatusError) as refused:
        client.messages.create(model=model_of(provider), max_tokens=20, messages=big)
    assert refused.value.status_code == 413
    assert refused.value.body["error"]["type"] == "request_too_large"


def test_only_post(gateway):
    response = httpx.get(f"{gateway.url}/v1/messages")
    assert response.status_code == 405
    assert response.json()["type"] == "error"


# --- routing -------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_routed_fallback_through_messages(gateway, mock, events, stream):
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {"provider": "openai", "custom_host": mock.url + "/mock/status=500/v1"},
            {"provider": "google", "custom_host": mock.url + "/v1beta", "api_key": "g-key"},
        ],
    }
    client = anthropic.Anthropic(
        base_url=gateway.url,
        api_key=KEY,
        max_retries=0,
        default_headers={"x-portkey-config": json.dumps(config)},
    )
    request = {"model": "gemini-2.0-flash", "max_tokens": 50, "messages": MESSAGES}
    if stream:
        with client.messages.with_streaming_response.create(**request, stream=True) as raw:
            headers = raw.headers
            text = "".join(
                e.delta.text
                for e in raw.parse()
                if e.type == "content_block_delta" and e.delta.type == "text_delta"
            )
    else:
        raw = client.messages.with_raw_response.create(**request)
        headers = raw.headers
        text = raw.parse().content[0].text
    assert text == REPLY
    assert headers["x-portkey-provider"] == "google"
    assert headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    logged, _ = await events.log(gateway, headers["x-portkey-request-id"])
    assert [a.status for a in logged.attempts] == [500, 200]
    assert logged.rescued and logged.path == "/v1/messages"


# --- the log -------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "cohere", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
async def test_the_log_has_the_path_provider_and_usage_and_never_the_key(
    gateway, mock, events, provider, stream
):
    client = client_for(gateway, mock, provider)
    request = {"model": model_of(provider), "max_tokens": 50, "messages": MESSAGES}
    if stream:
        with client.messages.stream(**request) as answer:
            final = answer.get_final_message()
            request_id = answer.response.headers["x-portkey-request-id"]
    else:
        raw = client.messages.with_raw_response.create(**request)
        final = raw.parse()
        request_id = raw.headers["x-portkey-request-id"]
    logged, msg = await events.log(gateway, request_id)
    assert logged.path == "/v1/messages"
    assert logged.provider == provider and logged.status == 200 and logged.is_success
    assert logged.stream is stream
    assert logged.usage.completion_tokens == final.usage.output_tokens
    assert logged.usage.prompt_tokens == final.usage.input_tokens
    assert not logged.usage.estimated
    # The caller's request as sent; the answer in the OpenAI shape every log has.
    assert msgspec.json.decode(logged.request_body)["messages"] == MESSAGES
    body = msgspec.json.decode(logged.response_body)
    assert body["choices"][0]["message"]["content"] == REPLY
    assert KEY.encode() not in msg.data
    assert "x-api-key" not in logged.request_headers
    assert logged.request_headers["x-portkey-provider"] == provider
