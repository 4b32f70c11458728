"""OpenAI-compatible providers: the registry, each quirk as an exact request, streams
normalised to OpenAI's final usage chunk, and provider error shapes made OpenAI's."""

import json
from pathlib import Path

import pytest
from genai_prices import data as prices
from portcullis_gateway.providers import PROVIDERS, AdapterError, ProviderOptions
from portcullis_gateway.providers.framing import SSEDecoder
from portcullis_gateway.providers.openai_compat import OpenAICompatAdapter

FIXTURES = Path(__file__).parents[2] / "fixtures" / "providers" / "openai_compat"
REQUIRED = [
    "mistral", "groq", "together", "fireworks", "deepseek", "perplexity", "openrouter",
    "xai", "deepinfra", "cerebras", "sambanova", "nvidia-nim", "lmstudio", "vllm",
    "huggingface",
]  # fmt: skip


def adapter(name: str) -> OpenAICompatAdapter:
    spec = PROVIDERS[name]
    assert isinstance(spec.adapter, OpenAICompatAdapter)
    return spec.adapter


def test_registry_has_the_required_providers_with_real_prices_ids() -> None:
    known_prices = {p.id for p in prices.providers}
    for name in REQUIRED:
        spec = PROVIDERS[name]
        assert spec.base_url.startswith(("https://", "http://127.0.0.1"))
        assert spec.routes == spec.adapter.quirks.endpoints
        assert spec.prices_id is None or spec.prices_id in known_prices, name
    compatible = {s.name for s in PROVIDERS.values() if isinstance(s.adapter, OpenAICompatAdapter)}
    assert len(compatible - {"openai"}) >= 15
    # The request path today reads these; aliases share the canonical spec.
    assert PROVIDERS["mistral"] is PROVIDERS["mistral-ai"]
    assert PROVIDERS["openai"].authorization("k") == "Bearer k"


def test_mistral_quirks_exact_request() -> None:
    body = {
        "model": "mistral-small-latest",
        "messages": [{"role": "user", "content": "hi"}],
        "seed": 3,
        "max_completion_tokens": 50,
        "tool_choice": "required",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "logprobs": True,
        "top_p": 1.5,
        "stream_options": {"include_usage": True},
    }
    request = adapter("mistral").transform_request(
        body, "/chat/completions", ProviderOptions(api_key="mk")
    )
    assert (request.method, request.path) == ("POST", "/chat/completions")
    assert request.headers == {"content-type": "application/json", "authorization": "Bearer mk"}
    assert request.body == {
        "model": "mistral-small-latest",
        "messages": [{"role": "user", "content": "hi"}],
        "random_seed": 3,
        "max_tokens": 50,
        "tool_choice": "any",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "top_p": 1,
    }
    assert request.notes == [
        "dropped unsupported parameter logprobs",
        "clamped top_p from 1.5 to 1",
        "dropped unsupported parameter stream_options",
    ]


@pytest.mark.parametrize(
    ("provider", "body", "sent", "notes"),
    [
        (
            "groq",
            {"model": "m", "n": 3, "logit_bias": {"1": 2}, "temperature": 0.5},
            {"model": "m", "n": 1, "temperature": 0.5},
            ["clamped n from 3 to 1", "dropped unsupported parameter logit_bias"],
        ),
        (
            "perplexity",
            {"model": "sonar", "tools": [], "stop": "x", "max_completion_tokens": 9},
            {"model": "sonar", "max_tokens": 9},
            ["dropped unsupported parameter tools", "dropped unsupported parameter stop"],
        ),
        (
            "cerebras",
            {"model": "llama3.1-8b", "temperature": 1.9, "presence_penalty": 1},
            {"model": "llama3.1-8b", "temperature": 1.5},
            [
                "clamped temperature from 1.9 to 1.5",
                "dropped unsupported parameter presence_penalty",
            ],
        ),
        ("vllm", {"model": "m", "seed": 1, "n": 2}, {"model": "m", "seed": 1, "n": 2}, []),
    ],
)
def test_quirks(provider: str, body: dict, sent: dict, notes: list) -> None:
    request = adapter(provider).transform_request(body, "/chat/completions", ProviderOptions())
    assert request.body == sent and request.notes == notes
    assert "authorization" not in request.headers  # no key given, none invented


def test_endpoint_the_provider_lacks_is_a_400() -> None:
    with pytest.raises(AdapterError) as raised:
        adapter("groq").transform_request({"input": "x"}, "/embeddings", ProviderOptions())
    assert raised.value.status == 400 and "groq" in str(raised.value)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("stream_*.sse")), ids=lambda p: p.stem)
def test_stream_golden(path: Path) -> None:
    expected = json.loads(path.with_suffix(".expected.json").read_text())
    stream = PROVIDERS[expected["provider"]].adapter.stream_transformer(expected["openai_request"])
    decoder = SSEDecoder()
    raw = path.read_bytes()
    out: list = []
    for start in range(0, len(raw), 11):
        for name, event in decoder.feed(raw[start : start + 11]):
            out.extend(stream.feed(event, name))
    assert out + stream.finish() == expected["chunks"]


def test_stream_usage_is_kept_but_not_sent_unless_asked() -> None:
    stream = adapter("groq").stream_transformer({"stream": True})
    chunk = {"id": "c", "choices": [{"index": 0, "delta": {}}], "x_groq": {"usage": {"a": 1}}}
    assert stream.feed(chunk) == [{"id": "c", "choices": [{"index": 0, "delta": {}}]}]
    assert stream.usage == {"a": 1} and stream.finish() == []


@pytest.mark.parametrize(
    ("status", "body", "expected_status", "error"),
    [
        (
            429,
            {"error": {"message": "slow down", "type": "rate_limit_error", "code": "rl"}},
            429,
            {"message": "slow down", "type": "rate_limit_error", "param": None, "code": "rl"},
        ),
        (
            422,
            {"detail": [{"loc": ["body", "x"], "msg": "extra fields not permitted"}]},
            422,
            {
                "message": "extra fields not permitted",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            },
        ),
        (
            400,
            {"object": "error", "message": "bad model", "type": "invalid_model", "code": 1500},
            400,
            {"message": "bad model", "type": "invalid_model", "param": None, "code": "1500"},
        ),
        (
            503,
            {"error": "Model is overloaded"},
            503,
            {"message": "Model is overloaded", "type": "api_error", "param": None, "code": None},
        ),
        (
            502,
            b"<html>Bad Gateway</html>",
            502,
            {
                "message": "<html>Bad Gateway</html>",
                "type": "api_error",
                "param": None,
                "code": None,
            },
        ),
        (
            200,
            None,
            502,
            {
                "message": "deepinfra returned status 502",
                "type": "api_error",
                "param": None,
                "code": None,
            },
        ),
    ],
)
def test_error_shapes_become_openai_errors(status, body, expected_status, error) -> None:
    assert adapter("deepinfra").map_error(status, body) == (expected_status, {"error": error})


def test_success_body_passes_through_and_error_body_is_mapped() -> None:
    ok = {"id": "x", "object": "chat.completion", "choices": []}
    assert adapter("together").transform_response(200, ok, "/chat/completions") is ok
    mapped = adapter("together").transform_response(401, {"error": "no key"}, "/chat/completions")
    assert mapped["error"]["type"] == "authentication_error"
