"""The mock speaks Anthropic's Messages API: JSON, the SSE event stream, errors in
Anthropic's shape, and the same knobs as the OpenAI routes."""

import httpx
import msgspec
import pytest
from mock_provider import anthropic_format

HEADERS = {"x-api-key": "sk-ant-mock", "anthropic-version": "2023-06-01"}


@pytest.fixture(scope="module")
def base(mock_url):
    return mock_url


def events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], msgspec.json.decode(lines["data"])))
    return out


def ask(base: str, **body) -> httpx.Response:
    payload = {"model": "claude-mock", "max_tokens": 64, **body}
    return httpx.post(f"{base}/v1/messages", json=payload, headers=HEADERS, timeout=10)


def test_message_json(base):
    answer = ask(
        base,
        system=[{"type": "text", "text": "be kind"}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "hello there"}]}],
    ).json()
    assert answer["type"] == "message" and answer["model"] == "claude-mock"
    assert answer["content"] == [{"type": "text", "text": "mock reply to: hello there"}]
    assert answer["stop_reason"] == "end_turn"
    assert answer["usage"]["input_tokens"] == 4 and answer["usage"]["output_tokens"] == 5


def test_message_stream_event_sequence(base):
    response = ask(base, stream=True, messages=[{"role": "user", "content": "a b"}])
    assert response.headers["content-type"].startswith("text/event-stream")
    seen = events(response.text)
    assert [name for name, _ in seen] == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 5,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    text = "".join(e["delta"]["text"] for n, e in seen if n == "content_block_delta")
    assert text == "mock reply to: a b"
    assert seen[0][1]["message"]["usage"]["input_tokens"] == 2
    assert seen[-2][1]["usage"] == {"output_tokens": 5}


def test_tool_use_json_and_stream(base):
    tools = [{"name": "lookup", "input_schema": {"type": "object"}}]
    messages = [{"role": "user", "content": "find x"}]
    answer = ask(base, tools=tools, tool_choice={"type": "any"}, messages=messages).json()
    assert answer["stop_reason"] == "tool_use"
    assert answer["content"][0]["input"] == {"echo": "find x"}
    seen = events(ask(base, tools=tools, messages=messages, stream=True).text)
    partial = "".join(e["delta"]["partial_json"] for n, e in seen if n == "content_block_delta")
    assert msgspec.json.decode(partial) == {"echo": "find x"}
    assert seen[1][1]["content_block"]["type"] == "tool_use"


def test_refuses_what_the_real_api_refuses(base):
    missing = httpx.post(
        f"{base}/v1/messages", json={"model": "m", "messages": [{"role": "user", "content": "x"}]}
    )
    assert missing.status_code == 400
    assert missing.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
    system_role = ask(base, messages=[{"role": "system", "content": "x"}])
    assert system_role.status_code == 400


def test_knobs_answer_in_anthropic_shape(base):
    overloaded = ask(base, messages=[{"role": "user", "content": "x"}], mock={"status": 529})
    assert overloaded.status_code == 529
    assert overloaded.json()["error"]["type"] == "overloaded_error"
    limited = httpx.post(
        f"{base}/mock/status=429,retry_after=3/v1/messages",
        json={"model": "m", "max_tokens": 5, "messages": []},
    )
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert limited.json()["error"]["type"] == "rate_limit_error"


def test_mid_stream_error_event(base):
    response = ask(
        base,
        stream=True,
        messages=[{"role": "user", "content": "a b c"}],
        mock={"fail_after_chunks": 2, "fail_mode": "event", "error_message": "Overloaded"},
    )
    seen = events(response.text)
    assert [n for n, _ in seen].count("content_block_delta") == 2
    assert seen[-1] == ("error", anthropic_format.error_body(529, "Overloaded"))


def test_count_tokens(base):
    response = httpx.post(
        f"{base}/v1/messages/count_tokens",
        json={
            "model": "m",
            "system": "one two",
            "messages": [{"role": "user", "content": "three"}],
        },
    )
    assert response.json() == {"input_tokens": 3}
