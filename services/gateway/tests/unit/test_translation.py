"""The per-target translation the request path runs: which calls pass bytes through
untouched, how native calls are built (URL, headers, credentials, provider options), and
that answers and streams come back exactly as the adapters' golden fixtures say."""

import json
from pathlib import Path

import msgspec
import pytest
from portcullis_gateway.domain.errors import InvalidRequest
from portcullis_gateway.domain.resolution import Target
from portcullis_gateway.domain.translation import (
    StreamTranslator,
    prepare,
    provider_options,
    translate_answer,
)
from portcullis_gateway.providers import PROVIDERS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "providers"
MESSAGES = [{"role": "user", "content": "Hi"}]
CREATED = 1700000000
FORWARD = [("user-agent", "OpenAI/Python 1.0"), ("content-type", "text/plain")]


def target(provider: str, custom_host: str | None = None, key: str = "sk-key") -> Target:
    spec = PROVIDERS[provider]
    return Target(
        provider=provider,
        base_url=custom_host or spec.base_url,
        credential=(spec.auth_header, spec.authorization(key)),
        custom_host=custom_host is not None,
        timeout_s=None,
        prices_id=spec.prices_id,
        api_key=key,
    )


def body(**fields) -> bytes:
    return msgspec.json.encode({"model": "m", "messages": MESSAGES, **fields})


def test_openai_passes_the_same_bytes_and_its_stream_untranslated() -> None:
    raw = body(stream=True, seed=3)
    call = prepare(
        PROVIDERS["openai"], target("openai"), "/chat/completions", raw, [], "a=1", True, None
    )
    assert call.body is raw
    assert call.adapter is None  # neither the answer nor the stream is touched
    assert call.url == "https://api.openai.com/v1/chat/completions?a=1"
    assert call.headers == [
        ("content-type", "application/json"),
        ("authorization", "Bearer sk-key"),
    ]


def test_a_compatible_provider_rewrites_only_bodies_that_hold_its_quirks() -> None:
    spec = PROVIDERS["mistral-ai"]
    plain = body(temperature=0.5)
    untouched = prepare(spec, target("mistral-ai"), "/chat/completions", plain, [], "", False, None)
    assert untouched.body is plain and untouched.notes is None
    quirky = body(seed=7, logit_bias={"1": 2}, tool_choice="required")
    call = prepare(spec, target("mistral-ai"), "/chat/completions", quirky, [], "", False, None)
    sent = msgspec.json.decode(call.body)
    assert sent["random_seed"] == 7 and "seed" not in sent
    assert sent["tool_choice"] == "any" and "logit_bias" not in sent
    assert call.notes == ["dropped unsupported parameter logit_bias"]


def test_a_compatible_providers_stream_is_translated_so_usage_arrives() -> None:
    call = prepare(
        PROVIDERS["groq"],
        target("groq"),
        "/chat/completions",
        body(stream=True),
        [],
        "",
        True,
        None,
    )
    assert call.adapter is PROVIDERS["groq"].adapter
    assert call.openai_body == {"model": "m", "messages": MESSAGES, "stream": True}


def test_anthropic_call_uses_the_custom_host_its_own_auth_and_options() -> None:
    portkey = {
        "x-portkey-provider": "anthropic",
        "x-portkey-anthropic-beta": "prompt-caching-2024-07-31",
        "x-portkey-metadata": "{}",
    }
    options = provider_options(portkey, None, "sk-ant")
    assert options.headers == {"anthropic-beta": "prompt-caching-2024-07-31"}
    call = prepare(
        PROVIDERS["anthropic"],
        target("anthropic", "http://mock/v1", key="sk-ant"),
        "/chat/completions",
        body(max_tokens=10, seed=1),
        FORWARD,
        "",
        False,
        options,
    )
    assert call.url == "http://mock/v1/messages"
    headers = dict(call.headers)
    assert headers["x-api-key"] == "sk-ant"
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert headers["user-agent"] == "OpenAI/Python 1.0"
    # The caller's content-type gave way to the provider's; no name is sent twice.
    assert [name for name, _ in call.headers].count("content-type") == 1
    assert headers["content-type"] == "application/json"
    assert msgspec.json.decode(call.body)["max_tokens"] == 10
    assert call.notes == ["dropped unsupported parameter seed"]


def test_config_options_win_over_headers_and_strict_mode_is_read() -> None:
    portkey = {
        "x-portkey-azure-resource-name": "from-header",
        "x-portkey-strict-open-ai-compliance": "false",
    }
    options = provider_options(portkey, {"azure-resource-name": "from-config"}, None)
    assert options.headers["azure-resource-name"] == "from-config"
    assert options.strict_openai is False


def test_azure_builds_its_path_and_refuses_a_missing_resource_with_a_400() -> None:
    spec = PROVIDERS["azure-openai"]
    options = provider_options(
        {
            "x-portkey-azure-resource-name": "res",
            "x-portkey-azure-deployment-id": "dep",
            "x-portkey-azure-api-version": "2024-06-01",
        },
        None,
        "az-key",
    )
    call = prepare(
        spec, target("azure-openai"), "/chat/completions", body(), [], "", False, options
    )
    assert call.url == (
        "https://res.openai.azure.com/openai/deployments/dep/chat/completions"
        "?api-version=2024-06-01"
    )
    assert dict(call.headers)["api-key"] == "az-key"
    with pytest.raises(InvalidRequest) as refused:
        prepare(
            spec,
            target("azure-openai"),
            "/chat/completions",
            body(),
            [],
            "",
            False,
            provider_options({}, None, "k"),
        )
    assert refused.value.status == 400 and "azure-resource-name" in refused.value.message


def _case(provider: str, name: str) -> dict:
    return json.loads((FIXTURES / provider / name).read_text())


def _native(provider: str, openai_request: dict):
    return prepare(
        PROVIDERS[provider],
        target(provider, "http://mock"),
        "/chat/completions",
        msgspec.json.encode(openai_request),
        [],
        "",
        bool(openai_request.get("stream")),
        provider_options({}, None, "k"),
    )


def test_answers_and_errors_come_back_in_openai_shape() -> None:
    case = _case("anthropic", "response_tool_use.json")
    call = _native("anthropic", case.get("openai_request") or {"model": "m", "messages": MESSAGES})
    status, answer = translate_answer(call, 200, msgspec.json.encode(case["provider_response"]))
    answer = msgspec.json.decode(answer)
    expected = case["openai_response"]
    assert status == 200
    assert answer["choices"] == expected["choices"] and answer["usage"] == expected["usage"]
    error = _case("anthropic", "response_error_overloaded.json")
    status, body_ = translate_answer(
        call, error["status"], msgspec.json.encode(error["provider_response"])
    )
    assert (status, msgspec.json.decode(body_)) == (
        error["openai_status"],
        error["openai_response"],
    )
    status, body_ = translate_answer(call, 502, b"<html>bad gateway</html>")
    assert status == 502 and "bad gateway" in msgspec.json.decode(body_)["error"]["message"]


def _translate_stream(provider: str, stream_file: str) -> tuple[list, StreamTranslator]:
    path = FIXTURES / provider / stream_file
    expected = json.loads(
        path.with_name(path.name.rsplit(".", 1)[0] + ".expected.json").read_text()
    )
    translator = StreamTranslator(_native(provider, expected["openai_request"]), CREATED)
    raw = path.read_bytes()
    sent = b"".join(translator.feed(raw[i : i + 5]) for i in range(0, len(raw), 5))
    sent += translator.finish()
    events = [block.removeprefix(b"data: ") for block in sent.split(b"\n\n") if block]
    return events, translator, expected


@pytest.mark.parametrize(
    ("provider", "stream_file"),
    [
        ("anthropic", "stream_tool_use.sse"),
        ("google", "stream_text_then_tool.sse"),
        ("bedrock", "stream_text_then_tool.bin"),
        ("cohere", "stream_text.sse"),
        ("ollama", "stream_chat.ndjson"),
    ],
)
def test_streams_become_the_golden_openai_chunks_then_done(provider, stream_file) -> None:
    events, translator, expected = _translate_stream(provider, stream_file)
    assert events[-1] == b"[DONE]"
    chunks = [msgspec.json.decode(e) for e in events[:-1]]
    assert chunks == expected["chunks"]
    assert translator.usage is not None and not translator.ended


@pytest.mark.parametrize(
    ("provider", "stream_file"),
    [("anthropic", "stream_error.sse"), ("bedrock", "stream_throttled.bin")],
)
def test_a_provider_error_mid_stream_is_the_last_event_and_no_done(provider, stream_file):
    events, translator, _ = _translate_stream(provider, stream_file)
    assert events[-1] != b"[DONE]"
    last = msgspec.json.decode(events[-1])
    assert last["error"] == translator.error and translator.ended


def test_a_corrupt_stream_ends_with_a_readable_error() -> None:
    translator = StreamTranslator(
        _native("bedrock", {"model": "m", "messages": MESSAGES, "stream": True})
    )
    sent = translator.feed(b"\x00\x00\x00\x20" + b"\xff" * 40)
    assert translator.ended and b"could not read" in sent
    assert translator.feed(b"more") == b"" and translator.finish() == b""


def test_which_endpoints_a_provider_serves() -> None:
    from portcullis_gateway.domain.translation import serves

    # OpenAI's wire format: listed inference endpoints, and anything beyond inference
    # passes through for the provider to judge.
    assert serves(PROVIDERS["openai"], "/embeddings")
    assert serves(PROVIDERS["groq"], "/images/generations")
    assert not serves(PROVIDERS["groq"], "/embeddings")  # known not to be served
    # A native format serves only what its adapter translates.
    assert serves(PROVIDERS["cohere"], "/rerank")
    assert not serves(PROVIDERS["anthropic"], "/embeddings")
    assert not serves(PROVIDERS["anthropic"], "/images/generations")


def test_a_token_count_in_a_response_header_replaces_the_adapters_guess() -> None:
    request = {"model": "cohere.embed-english-v3", "input": ["hello", "good morning"]}
    call = prepare(
        PROVIDERS["bedrock"],
        target("bedrock", "http://mock"),
        "/embeddings",
        msgspec.json.encode(request),
        [],
        "",
        False,
        provider_options({}, None, "k"),
    )
    answer = msgspec.json.encode({"embeddings": [[0.1], [0.2]], "texts": request["input"]})
    _, guessed = translate_answer(call, 200, answer, {})
    assert msgspec.json.decode(guessed)["usage"]["prompt_tokens"] == 5  # 4 chars a token
    _, counted = translate_answer(call, 200, answer, {"x-amzn-bedrock-input-token-count": "3"})
    assert msgspec.json.decode(counted)["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
