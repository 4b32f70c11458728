import base64
import struct

import msgspec
import pytest
from mock_provider import openai_format as fmt
from mock_provider.knobs import KnobError, Knobs, from_body, merge, split_path


def test_path_knobs_are_split_from_the_route():
    knobs, route = split_path("/mock/status=500,latency_ms=100/v1/chat/completions")
    assert knobs == {"status": "500", "latency_ms": "100"}
    assert route == "/v1/chat/completions"
    assert split_path("/v1/chat/completions") == ({}, "/v1/chat/completions")
    assert split_path("/mock/requests") == ({}, "/mock/requests")


def test_body_knobs_win_over_path_knobs_and_strings_are_parsed():
    knobs = merge({"status": "500", "latency_ms": "100"}, {"status": 429})
    assert knobs == Knobs(status=429, latency_ms=100)
    assert from_body(None) == Knobs()


@pytest.mark.parametrize("bad", [{"nope": 1}, {"status": "x"}, [1]])
def test_bad_knobs_are_refused(bad):
    with pytest.raises(KnobError):
        merge({}, bad) if isinstance(bad, dict) else merge({"a": "1"}, bad)
    with pytest.raises(KnobError):
        split_path("/mock/status=1,oops/v1/x")


def test_split_reply_joins_back():
    reply = "mock reply to: the quick brown fox"
    assert "".join(fmt.split_reply(reply, None)) == reply
    assert len(fmt.split_reply(reply, None)) == 7
    parts = fmt.split_reply(reply, 3)
    assert len(parts) == 3 and "".join(parts) == reply


def test_chat_completion_echoes_and_counts_words():
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello there"},
        ],
    }
    answer = fmt.chat_completion(body, fmt.reply_for("hello there", None))
    assert answer["choices"][0]["message"]["content"] == "mock reply to: hello there"
    assert answer["usage"]["prompt_tokens"] == 4
    assert answer["usage"]["completion_tokens"] == 5
    assert answer["model"] == "gpt-4o-mini"


def test_tools_make_the_mock_call_the_first_tool():
    body = {
        "messages": [{"role": "user", "content": "Paris"}],
        "tools": [{"type": "function", "function": {"name": "weather"}}],
    }
    message = fmt.chat_completion(body, "x")["choices"][0]["message"]
    assert message["tool_calls"][0]["function"] == {
        "name": "weather",
        "arguments": '{"echo":"Paris"}',
    }
    assert fmt.first_tool({**body, "tool_choice": "none"}) is None


def test_chat_stream_shape_with_usage():
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "a b"}],
        "stream_options": {"include_usage": True},
    }
    stream = fmt.ChatStream(body, "x y", None)
    head = msgspec.json.decode(stream.head()[6:])
    assert head["choices"][0]["delta"]["role"] == "assistant" and head["usage"] is None
    pieces, finish, tokens = stream.pieces_and_finish()
    assert [msgspec.json.decode(p[6:])["choices"][0]["delta"]["content"] for p in pieces] == [
        "x",
        " y",
    ]
    assert msgspec.json.decode(finish[6:])["choices"][0]["finish_reason"] == "stop"
    usage = msgspec.json.decode(stream.usage_chunk(tokens)[6:])
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] == 4


def test_embeddings_float_and_base64_agree():
    floats = fmt.embeddings({"input": ["a b", "c"], "dimensions": 4})
    b64 = fmt.embeddings({"input": ["a b", "c"], "dimensions": 4, "encoding_format": "base64"})
    vector = floats["data"][0]["embedding"]
    decoded = struct.unpack("<4f", base64.b64decode(b64["data"][0]["embedding"]))
    assert decoded == pytest.approx(vector, rel=1e-6)
    assert floats["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert fmt.embedding_vector("a b", 4) == vector  # deterministic


def test_error_body_types():
    assert fmt.error_body(429, None)["error"]["type"] == "rate_limit_error"
    assert fmt.error_body(503, "down")["error"] == {
        "message": "down",
        "type": "server_error",
        "param": None,
        "code": None,
    }
