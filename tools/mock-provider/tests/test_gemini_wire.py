"""The mock speaks Gemini's generateContent / streamGenerateContent: JSON, SSE
(``alt=sse``) and the JSON-array stream, Google-style errors, and the same knobs."""

import httpx
import msgspec
import pytest

HEADERS = {"x-goog-api-key": "AIza-mock"}


@pytest.fixture(scope="module")
def base(mock_url):
    return mock_url


def user(text: str) -> dict:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def call(base: str, method: str, body: dict, query: str = "", prefix: str = "") -> httpx.Response:
    url = f"{base}{prefix}/v1beta/models/gemini-mock:{method}{query}"
    return httpx.post(url, json=body, headers=HEADERS, timeout=10)


def sse_events(text: str) -> list[dict]:
    return [msgspec.json.decode(b[len("data: ") :]) for b in text.split("\r\n\r\n") if b.strip()]


def test_generate_content_json(base):
    body = {**user("hello there"), "systemInstruction": {"parts": [{"text": "be kind"}]}}
    answer = call(base, "generateContent", body).json()
    candidate = answer["candidates"][0]
    assert candidate["content"] == {
        "parts": [{"text": "mock reply to: hello there"}],
        "role": "model",
    }
    assert candidate["finishReason"] == "STOP"
    assert answer["usageMetadata"] == {
        "promptTokenCount": 4,
        "totalTokenCount": 9,
        "candidatesTokenCount": 5,
    }
    assert answer["modelVersion"] == "gemini-mock"


def test_stream_sse_and_json_array(base):
    response = call(base, "streamGenerateContent", user("a b"), "?alt=sse")
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events)
    assert text == "mock reply to: a b"
    assert [e["candidates"][0].get("finishReason") for e in events][-2:] == [None, "STOP"]
    assert events[-1]["usageMetadata"]["candidatesTokenCount"] == 5
    array = call(base, "streamGenerateContent", user("a b")).json()
    assert isinstance(array, list) and len(array) == len(events)


def test_function_call(base):
    body = {
        **user("find x"),
        "tools": [{"functionDeclarations": [{"name": "lookup"}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
    }
    part = call(base, "generateContent", body).json()["candidates"][0]["content"]["parts"][0]
    assert part == {"functionCall": {"name": "lookup", "args": {"echo": "find x"}}}
    none = {**body, "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}}
    assert (
        "text" in call(base, "generateContent", none).json()["candidates"][0]["content"]["parts"][0]
    )


def test_errors_and_knobs_in_google_shape(base):
    bad = call(base, "generateContent", {"contents": [{"role": "system", "parts": []}]})
    assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT"
    limited = call(base, "generateContent", user("x"), prefix="/mock/status=429,retry_after=2")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert limited.json()["error"] == {
        "code": 429,
        "message": "mock error 429",
        "status": "RESOURCE_EXHAUSTED",
    }
    failing = {**user("a b c"), "mock": {"fail_after_chunks": 2, "fail_mode": "event"}}
    events = sse_events(call(base, "streamGenerateContent", failing, "?alt=sse").text)
    assert len(events) == 3 and events[-1]["error"]["status"] == "UNAVAILABLE"


def test_vertex_routes_for_gemini_and_claude(base):
    scope = f"{base}/v1/projects/p1/locations/us-central1/publishers"
    gemini = httpx.post(f"{scope}/google/models/gemini-2.5-pro:generateContent", json=user("hi"))
    assert gemini.json()["modelVersion"] == "gemini-2.5-pro"
    claude = {
        "anthropic_version": "vertex-2023-10-16",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    answer = httpx.post(
        f"{scope}/anthropic/models/claude-sonnet-4-5@20250929:rawPredict", json=claude
    )
    assert answer.json()["model"] == "claude-sonnet-4-5@20250929"
    streamed = httpx.post(
        f"{scope}/anthropic/models/claude-x:streamRawPredict", json={**claude, "stream": True}
    )
    assert "event: message_stop" in streamed.text
    wrong = httpx.post(
        f"{scope}/anthropic/models/claude-x:rawPredict", json={**claude, "model": "m"}
    )
    assert wrong.status_code == 400
