"""Vertex AI: Gemini, Claude and partner models at Vertex URLs, Bearer token auth,
responses and streams handled by the family's own transforms."""

import pytest
from portcullis_gateway.providers import PROVIDERS, AdapterError, ProviderOptions

ADAPTER = PROVIDERS["vertex-ai"].adapter
VERTEX = {"vertex-project-id": "proj-1", "vertex-region": "europe-west4"}
SCOPE = "/projects/proj-1/locations/europe-west4"


def body(model: str, **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def test_gemini_on_vertex() -> None:
    options = ProviderOptions(api_key="ya29.token", headers=VERTEX)
    request = ADAPTER.transform_request(
        body("gemini-2.5-pro", stream=True), "/chat/completions", options
    )
    assert request.base_url == "https://europe-west4-aiplatform.googleapis.com/v1"
    assert (
        request.path
        == f"{SCOPE}/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    )
    assert request.headers == {
        "content-type": "application/json",
        "authorization": "Bearer ya29.token",
    }
    assert request.body == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_claude_on_vertex() -> None:
    options = ProviderOptions(api_key="ya29.token", headers={**VERTEX, "vertex-region": "global"})
    request = ADAPTER.transform_request(
        body("claude-sonnet-4-5@20250929", max_tokens=10), "/chat/completions", options
    )
    assert request.base_url == "https://aiplatform.googleapis.com/v1"
    assert (
        request.path
        == "/projects/proj-1/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
    )
    assert request.body == {
        "anthropic_version": "vertex-2023-10-16",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 10,
    }
    assert request.headers == {
        "content-type": "application/json",
        "authorization": "Bearer ya29.token",
    }


def test_partner_model_uses_the_openai_endpoint() -> None:
    options = ProviderOptions(api_key="t", headers=VERTEX)
    request = ADAPTER.transform_request(
        body("meta/llama-3.3-70b-instruct-maas"), "/chat/completions", options
    )
    assert request.path == f"{SCOPE}/endpoints/openapi/chat/completions"
    assert request.body["model"] == "meta/llama-3.3-70b-instruct-maas"


def test_missing_project_is_a_400() -> None:
    with pytest.raises(AdapterError) as raised:
        ADAPTER.transform_request(body("gemini-2.0-flash"), "/chat/completions", ProviderOptions())
    assert raised.value.code == "missing_vertex_options"


def test_responses_and_streams_use_the_family_transform() -> None:
    gemini = {
        "candidates": [{"content": {"parts": [{"text": "g"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1},
    }
    claude = {
        "id": "msg_1",
        "type": "message",
        "model": "claude-x",
        "content": [{"type": "text", "text": "c"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    for provider_body, text in ((gemini, "g"), (claude, "c")):
        answer = ADAPTER.transform_response(200, provider_body, "/chat/completions", created=1)
        assert answer["choices"][0]["message"]["content"] == text
    stream = ADAPTER.stream_transformer(body("claude-x", stream=True), created=1)
    chunks = stream.feed({"type": "message_start", "message": {"id": "m", "model": "claude-x"}})
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    status, error = ADAPTER.map_error(
        403, {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}
    )
    assert status == 403 and error["error"]["code"] == "PERMISSION_DENIED"
