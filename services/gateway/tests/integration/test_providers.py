"""Every wire format through the running gateway with the official openai SDK, against
the mock provider speaking that format: JSON, streaming with include_usage, tool calls,
errors mid-stream, and what the log records (provider, usage, notes on dropped fields)."""

import json

import httpx
import msgspec
import openai
import pytest

MESSAGES = [{"role": "user", "content": "hello native"}]
REPLY = "mock reply to: hello native"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "look a thing up",
            "parameters": {"type": "object", "properties": {"echo": {"type": "string"}}},
        },
    }
]

# provider -> (model, custom host below the mock's URL, extra x-portkey-* headers)
WIRE_FORMATS = {
    "anthropic": ("claude-sonnet-4-5", "/v1", {"x-portkey-anthropic-beta": "beta-x"}),
    "google": ("gemini-2.0-flash", "/v1beta", {}),
    "vertex-ai": (
        "gemini-2.0-flash",
        "/v1",
        {"x-portkey-vertex-project-id": "proj", "x-portkey-vertex-region": "europe-west4"},
    ),
    "bedrock": (
        "anthropic.claude-3-haiku-20240307-v1:0",
        "",
        {"x-portkey-aws-region": "eu-west-1"},
    ),
    "cohere": ("command-r-plus", "/v2", {}),
    "ollama": ("llama3.2", "", {}),
    "azure-openai": (
        "gpt-4o-mini",
        "",
        {
            "x-portkey-azure-resource-name": "res",
            "x-portkey-azure-deployment-id": "dep-1",
            "x-portkey-azure-api-version": "2024-10-21",
        },
    ),
    "groq": ("llama-3.1-8b-instant", "/v1", {}),
}
# What each provider's mock route is, to prove the call really went out in its format.
UPSTREAM_PATHS = {
    "anthropic": "/v1/messages",
    "google": "/v1beta/models/gemini-2.0-flash:",
    "vertex-ai": "/v1/projects/proj/locations/europe-west4/publishers/google/models/",
    "bedrock": "/model/anthropic.claude-3-haiku-20240307-v1:0/converse",
    "cohere": "/v2/chat",
    "ollama": "/api/chat",
    "azure-openai": "/openai/deployments/dep-1/chat/completions",
    "groq": "/v1/chat/completions",
}


def client_for(gateway, mock, provider: str, knobs: str = "", **extra) -> openai.OpenAI:
    """A client for ``provider`` at the mock; ``knobs`` go in the path, since a native
    adapter drops the unknown ``mock`` body field (as it should)."""
    _, suffix, headers = WIRE_FORMATS[provider]
    host = mock.url + (f"/mock/{knobs}" if knobs else "") + suffix
    return gateway.client(
        None,
        api_key="sk-native-key",
        **{
            "x-portkey-provider": provider,
            "x-portkey-custom-host": host,
            **headers,
            **extra,
        },
    )


@pytest.mark.parametrize("provider", list(WIRE_FORMATS))
async def test_chat_json_in_every_wire_format(gateway, mock, events, provider):
    mock.clear()
    model = WIRE_FORMATS[provider][0]
    raw = client_for(gateway, mock, provider).chat.completions.with_raw_response.create(
        model=model, messages=MESSAGES, max_tokens=50
    )
    answer = raw.parse()
    assert answer.object == "chat.completion"
    assert answer.choices[0].message.content == REPLY
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    assert raw.headers["x-portkey-provider"] == provider
    [seen] = mock.requests()
    assert seen["path"].startswith(UPSTREAM_PATHS[provider])
    logged, _ = await events.log(gateway, raw.headers["x-portkey-request-id"])
    assert logged.provider == provider and logged.status == 200 and logged.is_success
    assert logged.usage.total_tokens == answer.usage.total_tokens
    assert not logged.usage.estimated
    # Priced from genai-prices under the provider's own id (Ollama models are local).
    assert (logged.cost is None) == (provider == "ollama")


@pytest.mark.parametrize("provider", list(WIRE_FORMATS))
async def test_chat_stream_in_every_wire_format_ends_with_usage(gateway, mock, events, provider):
    model = WIRE_FORMATS[provider][0]
    client = client_for(gateway, mock, provider)
    with client.chat.completions.with_streaming_response.create(
        model=model,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=50,
    ) as response:
        request_id = response.headers["x-portkey-request-id"]
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    # OpenAI's shape: the usage comes once, last, in a chunk with no choices.
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    logged, _ = await events.log(gateway, request_id)
    assert logged.stream and logged.provider == provider
    assert logged.usage.total_tokens == chunks[-1].usage.total_tokens
    body = msgspec.json.decode(logged.response_body)
    assert body["choices"][0]["message"]["content"] == REPLY


@pytest.mark.parametrize("provider", ["anthropic", "google", "bedrock", "cohere", "ollama"])
async def test_stream_without_include_usage_still_logs_the_providers_usage(
    gateway, mock, events, provider
):
    model = WIRE_FORMATS[provider][0]
    client = client_for(gateway, mock, provider)
    with client.chat.completions.with_streaming_response.create(
        model=model, messages=MESSAGES, stream=True, max_tokens=50
    ) as response:
        request_id = response.headers["x-portkey-request-id"]
        chunks = list(response.parse())
    assert all(c.usage is None for c in chunks)
    logged, _ = await events.log(gateway, request_id)
    assert logged.usage.completion_tokens > 0 and not logged.usage.estimated


@pytest.mark.parametrize("provider", ["anthropic", "google", "bedrock", "cohere", "ollama"])
def test_tool_calls_json_and_stream(gateway, mock, provider):
    model = WIRE_FORMATS[provider][0]
    client = client_for(gateway, mock, provider)
    answer = client.chat.completions.create(
        model=model, messages=MESSAGES, tools=TOOLS, max_tokens=50
    )
    [call] = answer.choices[0].message.tool_calls
    assert call.function.name == "lookup"
    assert json.loads(call.function.arguments) == {"echo": "hello native"}
    assert answer.choices[0].finish_reason == "tool_calls"
    chunks = list(
        client.chat.completions.create(
            model=model, messages=MESSAGES, tools=TOOLS, max_tokens=50, stream=True
        )
    )
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert deltas[0].function.name == "lookup"
    arguments = "".join(d.function.arguments or "" for d in deltas)
    assert json.loads(arguments) == {"echo": "hello native"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


@pytest.mark.parametrize("provider", ["anthropic", "google", "cohere", "ollama"])
async def test_provider_error_mid_stream_reaches_the_client_and_the_log(
    gateway, mock, events, provider
):
    model = WIRE_FORMATS[provider][0]
    client = client_for(gateway, mock, provider, "fail_after_chunks=1,fail_mode=event")
    stream = client.chat.completions.with_streaming_response.create(
        model=model, messages=MESSAGES, stream=True, max_tokens=50
    )
    with stream as response:
        request_id = response.headers["x-portkey-request-id"]
        with pytest.raises(openai.APIError) as failed:
            list(response.parse())
    logged, _ = await events.log(gateway, request_id)
    assert not logged.is_success
    # The client saw the provider's own message, and the log says the same.
    assert failed.value.message and logged.error["message"] == failed.value.message


@pytest.mark.parametrize("provider", ["anthropic", "google", "bedrock", "cohere", "ollama"])
def test_provider_errors_keep_their_status_in_openai_shape(gateway, mock, provider):
    client = client_for(gateway, mock, provider, "status=429")
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(
            model=WIRE_FORMATS[provider][0], messages=MESSAGES, max_tokens=50
        )
    assert limited.value.status_code == 429
    error = limited.value.body
    assert isinstance(error, dict) and error.get("message")


async def test_dropped_parameters_are_noted_in_the_log_not_refused(gateway, mock, events):
    raw = client_for(gateway, mock, "anthropic").chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5",
        messages=MESSAGES,
        max_tokens=50,
        seed=3,
        logit_bias={"1": 1},
        temperature=1.7,
    )
    assert raw.parse().choices[0].message.content == REPLY
    logged, _ = await events.log(gateway, raw.headers["x-portkey-request-id"])
    assert "dropped unsupported parameter seed" in logged.notes
    assert "dropped unsupported parameter logit_bias" in logged.notes
    assert any(note.startswith("clamped temperature") for note in logged.notes)


def test_provider_headers_reach_the_provider_in_its_own_names(gateway, mock):
    mock.clear()
    client_for(gateway, mock, "anthropic").chat.completions.create(
        model="claude-sonnet-4-5", messages=MESSAGES, max_tokens=20
    )
    [seen] = mock.requests()
    assert seen["headers"]["x-api-key"] == "sk-native-key"
    assert seen["headers"]["anthropic-beta"] == "beta-x"
    assert "authorization" not in seen["headers"]
    assert not [h for h in seen["headers"] if h.startswith("x-portkey-")]


def test_config_target_fields_carry_provider_settings(gateway, mock):
    mock.clear()
    config = {
        "provider": "azure-openai",
        "api_key": "az-config-key",
        "custom_host": mock.url,
        "resource_name": "cfg-res",
        "deployment_id": "cfg-dep",
        "api_version": "2024-06-01",
    }
    response = httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "gpt-4o-mini", "messages": MESSAGES},
        headers={"x-portkey-config": json.dumps(config)},
    )
    assert response.status_code == 200, response.text
    [seen] = mock.requests()
    assert seen["path"] == "/openai/deployments/cfg-dep/chat/completions"
    assert "api-version=2024-06-01" in seen["query"]
    assert seen["headers"]["api-key"] == "az-config-key"


def test_a_missing_provider_setting_is_a_clear_400(gateway, mock):
    response = httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "gemini-2.0-flash", "messages": MESSAGES},
        headers={"x-portkey-provider": "vertex-ai", "x-portkey-custom-host": mock.url + "/v1"},
    )
    assert response.status_code == 400
    assert "x-portkey-vertex-project-id" in response.json()["error"]["message"]


@pytest.mark.parametrize("strict", ["true", "false"])
def test_strict_compliance_off_keeps_thinking_blocks(gateway, mock, strict):
    extra = {"x-portkey-strict-open-ai-compliance": strict}
    client = client_for(gateway, mock, "anthropic", **extra)
    answer = client.chat.completions.create(
        model="claude-sonnet-4-5",
        messages=MESSAGES,
        max_tokens=2000,
        extra_body={"thinking": {"type": "enabled", "budget_tokens": 1024}},
    )
    message = answer.choices[0].message
    assert message.content == REPLY
    blocks = (message.model_extra or {}).get("content_blocks")
    if strict == "true":
        assert blocks is None
    else:
        assert blocks[0]["type"] == "thinking" and blocks[0]["signature"] == "mock-sig"


def test_bedrock_with_iam_keys_is_signed_with_sigv4(gateway, mock):
    mock.clear()
    keys = {
        "x-portkey-aws-access-key-id": "AKIDMOCKEXAMPLE",
        "x-portkey-aws-secret-access-key": "mock-secret-key",  # the mock's secret
        "x-portkey-aws-session-token": "session-123",
    }
    answer = client_for(gateway, mock, "bedrock", **keys).chat.completions.create(
        model=WIRE_FORMATS["bedrock"][0], messages=MESSAGES, max_tokens=20
    )
    assert answer.choices[0].message.content == REPLY
    [seen] = mock.requests()
    authorization = seen["headers"]["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDMOCKEXAMPLE/")
    assert "/eu-west-1/bedrock/aws4_request" in authorization
    assert seen["headers"]["x-amz-security-token"] == "session-123"
    # A wrong secret gives a signature the mock (verifying like AWS) refuses.
    wrong = {**keys, "x-portkey-aws-secret-access-key": "not-the-secret"}
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client_for(gateway, mock, "bedrock", **wrong).chat.completions.create(
            model=WIRE_FORMATS["bedrock"][0], messages=MESSAGES, max_tokens=20
        )
    assert "signature" in refused.value.message.lower()
    assert "not-the-secret" not in refused.value.message


def _service_account(mock) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "proj",
            "private_key_id": "key-1",
            "private_key": pem,
            "client_email": "gw-test@proj.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": mock.url + "/token",
        }
    )


@pytest.mark.parametrize("model", ["gemini-2.0-flash", "claude-sonnet-4-5@20250929"])
def test_vertex_service_account_becomes_a_cached_bearer_token(gateway, mock, model):
    mock.clear()
    client = client_for(
        gateway,
        mock,
        "vertex-ai",
        **{"x-portkey-vertex-service-account-json": _service_account(mock)},
    )
    for _ in range(2):
        answer = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=20)
        assert answer.choices[0].message.content == REPLY
    seen = mock.requests()
    minted = [r for r in seen if r["path"] == "/token"]
    calls = [r for r in seen if r["path"] != "/token"]
    assert len(minted) == 1  # the second request reused the cached token
    assert len(calls) == 2
    assert all(c["headers"]["authorization"].startswith("Bearer ya29.mock-") for c in calls)
    assert "sk-native-key" not in str(calls[0]["headers"])


@pytest.mark.parametrize("stream", [False, True])
async def test_routing_falls_back_across_wire_formats(gateway, mock, events, stream):
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {"provider": "anthropic", "custom_host": f"{mock.url}/mock/status=529/v1"},
            {"provider": "google", "custom_host": mock.url + "/v1beta"},
        ],
    }
    client = gateway.client(None, api_key="sk-any", **{"x-portkey-config": json.dumps(config)})
    if stream:
        with client.chat.completions.with_streaming_response.create(
            model="gemini-2.0-flash", messages=MESSAGES, stream=True, max_tokens=20
        ) as response:
            headers = response.headers
            text = "".join(c.choices[0].delta.content or "" for c in response.parse() if c.choices)
    else:
        raw = client.chat.completions.with_raw_response.create(
            model="gemini-2.0-flash", messages=MESSAGES, max_tokens=20
        )
        headers, text = raw.headers, raw.parse().choices[0].message.content
    assert text == REPLY
    assert headers["x-portkey-provider"] == "google"
    assert headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    logged, _ = await events.log(gateway, headers["x-portkey-request-id"])
    assert [(a.provider, a.status) for a in logged.attempts] == [
        ("anthropic", 529),
        ("google", 200),
    ]
    # The failed attempt's error is the OpenAI-shaped form of Anthropic's own error.
    assert logged.attempts[0].error["message"]


async def test_rerank_to_cohere_goes_through_its_adapter(gateway, mock, events):
    mock.clear()
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{gateway.v1}/rerank",
            json={
                "model": "rerank-v3.5",
                "query": "red fox",
                "documents": ["a dog", {"text": "a red fox"}],
                "return_documents": True,
            },
            headers={
                "x-portkey-provider": "cohere",
                "x-portkey-custom-host": mock.url + "/v2",
                "authorization": "Bearer co-key",
            },
        )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["object"] == "list" and answer["model"] == "rerank-v3.5"
    assert answer["results"][0] == {"index": 1, "relevance_score": 1.0}
    [seen] = mock.requests()
    assert seen["path"] == "/v2/rerank"
    # Cohere's own body: documents as strings, the field it does not take dropped.
    assert seen["body"]["documents"] == ["a dog", "a red fox"]
    assert "return_documents" not in seen["body"]
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert logged.kind == "rerank" and logged.provider == "cohere"
    assert "dropped unsupported parameter return_documents" in logged.notes
