"""The inbound Anthropic Messages API: Anthropic request -> OpenAI request, OpenAI answer
-> Anthropic message, OpenAI chunks -> Anthropic SSE events (checked by feeding them back
through the Anthropic adapter's own stream transformer)."""

import msgspec
import pytest
from portcullis_gateway.domain.messages_api import (
    MessagesStream,
    MessagesTranslator,
    answer_from_openai,
    error_from_openai,
    from_openai,
    prompt_text,
    sse,
    to_openai,
)
from portcullis_gateway.providers import PROVIDERS, AdapterError
from portcullis_gateway.providers.framing import SSEDecoder


def test_request_to_openai_exact() -> None:
    body = {
        "model": "gpt-4o-mini",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}]},
                {"type": "text", "text": "And tomorrow?"},
            ]},
        ],
        "tools": [{"name": "weather", "description": "Weather", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
        "stream": True,
        "metadata": {"user_id": "u-1"},
        "top_k": 5,
    }  # fmt: skip
    request, notes = to_openai(body)
    assert request == {
        "model": "gpt-4o-mini",
        "max_tokens": 100,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ]},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}},
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
            {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]},
        ],
        "stop": ["END"],
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather", "parameters": {"type": "object"}}}],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "user": "u-1",
    }  # fmt: skip
    assert notes == ["dropped unsupported parameter top_k"]
    with pytest.raises(AdapterError):
        to_openai({"model": "m"})


def test_answer_to_anthropic_message() -> None:
    answer = {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": "Let me look.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a":1}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 20,
            "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 8},
        },
    }
    assert from_openai(answer) == {
        "id": "chatcmpl-1",
        "type": "message",
        "role": "assistant",
        "model": "gpt-4o-mini",
        "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "output_tokens": 5,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 8,
        },
    }


def chunk(delta: dict, finish: str | None = None) -> dict:
    return {
        "id": "c1",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hi"}),
    chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
    chunk({}, "tool_calls"),
    {"id": "c1", "model": "gpt-4o-mini", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}},
]  # fmt: skip


def test_chunks_to_anthropic_events() -> None:
    stream = MessagesStream("gpt-4o-mini")
    events = [e for c in CHUNKS for e in stream.feed(c)] + stream.finish()
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[4][1]["content_block"] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "f",
        "input": {},
    }
    assert events[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {
            "input_tokens": 9,
            "output_tokens": 4,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    # Round trip: the Anthropic adapter reads these events back into the same answer.
    back = PROVIDERS["anthropic"].adapter.stream_transformer(
        {"stream": True, "stream_options": {"include_usage": True}}, created=1
    )
    raw = b"".join(sse(e) for e in events)
    again = [c for n, e in SSEDecoder().feed(raw) for c in back.feed(e, n)] + back.finish()
    deltas = [c["choices"][0]["delta"] for c in again if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "Hi"
    arguments = "".join(
        d["tool_calls"][0]["function"]["arguments"] for d in deltas if "tool_calls" in d
    )
    assert arguments == '{"a":1}'
    assert again[-1]["usage"]["prompt_tokens"] == 9 and again[-1]["usage"]["completion_tokens"] == 4


def test_errors_in_anthropic_shape() -> None:
    body = {"error": {"message": "slow down", "type": "rate_limit_error"}}
    assert error_from_openai(429, body) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }
    assert error_from_openai(503, None)["error"]["type"] == "api_error"
    assert MessagesStream("m").feed(body)[0][0] == "error"


def _openai_sse(chunks: list[dict]) -> bytes:
    return b"".join(b"data: " + msgspec.json.encode(c) + b"\n\n" for c in chunks) + (
        b"data: [DONE]\n\n"
    )


def _events(raw: bytes) -> list[tuple[str | None, object]]:
    return list(SSEDecoder().feed(raw))


def test_translator_reads_events_split_anywhere() -> None:
    raw = _openai_sse(CHUNKS)
    whole = MessagesTranslator("gpt-4o-mini")
    expected = whole.feed(raw) + whole.close()
    # Byte by byte, events (and a \r\n pair, and UTF-8) fall across network chunks.
    split = MessagesTranslator("gpt-4o-mini")
    pieces = [split.feed(raw[i : i + 1]) for i in range(len(raw))]
    assert b"".join(pieces) + split.close() == expected
    names = [name for name, _ in _events(expected)]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]


def test_translator_stops_after_an_error() -> None:
    translator = MessagesTranslator("m")
    head = _openai_sse(CHUNKS[:2]).removesuffix(b"data: [DONE]\n\n")
    error = b'data: {"error": {"message": "cut short", "type": "server_error"}}\n\n'
    out = translator.feed(head + error + _openai_sse(CHUNKS[2:])) + translator.close()
    events = _events(out)
    assert events[-1] == (
        "error",
        {"type": "error", "error": {"type": "api_error", "message": "cut short"}},
    )
    assert "message_stop" not in [name for name, _ in events]


def test_translator_refuses_bytes_that_are_not_utf8() -> None:
    translator = MessagesTranslator("m")
    out = translator.feed(b"data: \xff\xfe\n\n") + translator.feed(b"more") + translator.close()
    [(name, payload)] = _events(out)
    assert name == "error" and "could not read" in payload["error"]["message"]


def test_whole_answers_keep_their_status() -> None:
    answer = {
        "id": "c",
        "model": "m",
        "choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
    }
    status, body = answer_from_openai(200, msgspec.json.encode(answer))
    assert status == 200 and msgspec.json.decode(body)["content"] == [
        {"type": "text", "text": "hi"}
    ]
    status, body = answer_from_openai(429, b'{"error": {"message": "slow", "type": "x"}}')
    assert status == 429
    assert msgspec.json.decode(body) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow"},
    }
    status, body = answer_from_openai(413, b"too big")
    assert status == 413 and msgspec.json.decode(body)["error"]["type"] == "request_too_large"
    # A 200 that is no completion is the provider's fault, not an empty message.
    status, body = answer_from_openai(200, b"<html>")
    assert status == 502 and msgspec.json.decode(body)["type"] == "error"


def test_prompt_text_for_the_token_estimate() -> None:
    body = {
        "system": [{"type": "text", "text": "sys"}],
        "messages": [
            {"role": "user", "content": "q1"},
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "a1"}, {"type": "tool_use", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "content": [{"type": "text", "text": "r1"}]}],
            },
            "not a message",
        ],
    }
    assert prompt_text(body) == "sys\nq1\na1\nr1"
    assert prompt_text({}) == ""
