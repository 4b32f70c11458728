"""Golden tests for every adapter with a wire format of its own: the exact provider
request for an OpenAI request, the OpenAI response for a provider response, and the
chunk sequence for a provider stream. Fixtures (tests/fixtures/providers/<name>/)
follow each provider's public API reference; the expected sides are written by hand."""

import json
from pathlib import Path

import pytest
from portcullis_gateway.providers import PROVIDERS, ProviderOptions, decoder_for

FIXTURES = Path(__file__).parents[2] / "fixtures" / "providers"
ADAPTED = ("anthropic", "google", "cohere", "ollama", "bedrock")
CREATED = 1700000000


def _cases(pattern: str) -> list:
    return [
        pytest.param(name, path, id=f"{name}-{path.stem}")
        for name in ADAPTED
        for path in sorted((FIXTURES / name).glob(pattern))
        if not path.name.endswith(".expected.json")
    ]


@pytest.mark.parametrize(("provider", "path"), _cases("request_*.json"))
def test_request_golden(provider: str, path: Path) -> None:
    case = json.loads(path.read_text())
    raw = case["options"]
    options = ProviderOptions(api_key=raw.get("api_key"), headers=raw.get("headers", {}))
    request = PROVIDERS[provider].adapter.transform_request(
        case["openai_request"], case.get("endpoint", "/chat/completions"), options
    )
    expected = case["provider_request"]
    assert (request.method, request.path) == (expected["method"], expected["path"])
    assert request.base_url == expected.get("base_url")
    assert request.headers == expected["headers"]
    assert request.body == expected["body"]
    assert request.notes == case["notes"]


@pytest.mark.parametrize(("provider", "path"), _cases("response_*.json"))
def test_response_golden(provider: str, path: Path) -> None:
    case = json.loads(path.read_text())
    adapter = PROVIDERS[provider].adapter
    answer = adapter.transform_response(
        case["status"],
        case["provider_response"],
        case.get("endpoint", "/chat/completions"),
        created=CREATED,
        strict_openai=case.get("strict_openai", True),
        request=case.get("openai_request"),
    )
    assert answer == case["openai_response"]
    if "openai_status" in case:
        mapped = adapter.map_error(case["status"], case["provider_response"])
        assert mapped == (case["openai_status"], case["openai_response"])


def run_stream(provider: str, raw: bytes, request: dict, strict: bool = True) -> list:
    """Feed the provider stream in small byte pieces, as the network would."""
    adapter = PROVIDERS[provider].adapter
    decoder = decoder_for(adapter.stream_framing)
    stream = adapter.stream_transformer(request, created=CREATED, strict_openai=strict)
    out: list = []
    for start in range(0, len(raw), 7):
        for name, event in decoder.feed(raw[start : start + 7]):
            out.extend(stream.feed(event, name))
    for name, event in decoder.close():
        out.extend(stream.feed(event, name))
    return out + stream.finish()


@pytest.mark.parametrize(("provider", "path"), _cases("stream_*"))
def test_stream_golden(provider: str, path: Path) -> None:
    expected = json.loads(path.with_suffix(".expected.json").read_text())
    chunks = run_stream(provider, path.read_bytes(), expected["openai_request"])
    assert chunks == expected["chunks"]
    # Without include_usage the same stream ends without the usage chunk.
    plain = {k: v for k, v in expected["openai_request"].items() if k != "stream_options"}
    assert run_stream(provider, path.read_bytes(), plain) == [
        c for c in expected["chunks"] if "error" in c or c["choices"]
    ]
