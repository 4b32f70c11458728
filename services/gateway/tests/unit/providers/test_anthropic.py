"""The Anthropic adapter beyond its golden fixtures (test_golden.py): streams without
usage, errors kept for the log, thinking blocks for non-strict callers, 400s."""

from pathlib import Path

import pytest
from portcullis_gateway.providers import PROVIDERS, AdapterError, ProviderOptions
from portcullis_gateway.providers.anthropic import ADAPTER
from portcullis_gateway.providers.framing import SSEDecoder

FIXTURES = Path(__file__).parents[2] / "fixtures" / "providers" / "anthropic"
CREATED = 1700000000


def run_stream(raw: bytes, openai_request: dict, strict: bool = True, piece: int = 7) -> list:
    """Feed the provider stream in small byte pieces, as the network would."""
    decoder = SSEDecoder()
    stream = ADAPTER.stream_transformer(openai_request, created=CREATED, strict_openai=strict)
    out: list = []
    for start in range(0, len(raw), piece):
        for name, event in decoder.feed(raw[start : start + piece]):
            out.extend(stream.feed(event, name))
    for name, event in decoder.close():
        out.extend(stream.feed(event, name))
    return out + stream.finish()


def test_stream_without_include_usage_sends_no_usage_chunk() -> None:
    raw = (FIXTURES / "stream_text.sse").read_bytes()
    chunks = run_stream(raw, {"model": "m", "stream": True})
    assert all(chunk["choices"] for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_stream_error_is_kept_for_the_log() -> None:
    stream = ADAPTER.stream_transformer({"stream": True}, created=CREATED)
    stream.feed({"type": "error", "error": {"type": "api_error", "message": "boom"}})
    assert stream.error == {
        "error": {"message": "boom", "type": "api_error", "param": None, "code": None}
    }
    # Nothing after an error reaches the client.
    assert stream.feed({"type": "message_stop"}) == [] and stream.finish() == []


THINKING_EVENTS = [
    {"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 3}}},
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": ""},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "hm"},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "signature_delta", "signature": "s"},
    },
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "ok"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}},
]


@pytest.mark.parametrize("strict", [True, False])
def test_thinking_blocks_only_reach_non_strict_callers(strict: bool) -> None:
    stream = ADAPTER.stream_transformer({"stream": True}, created=CREATED, strict_openai=strict)
    deltas = [c["choices"][0]["delta"] for e in THINKING_EVENTS for c in stream.feed(e)]
    extras = [d["content_blocks"] for d in deltas if "content_blocks" in d]
    if strict:
        assert extras == []
    else:
        assert extras == [
            [{"index": 0, "type": "thinking", "thinking": ""}],
            [{"index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}}],
            [{"index": 0, "delta": {"type": "signature_delta", "signature": "s"}}],
        ]
    assert "".join(d.get("content") or "" for d in deltas) == "ok"
    assert stream.usage == {
        "prompt_tokens": 3,
        "completion_tokens": 7,
        "total_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def test_unsupported_endpoint_and_bad_tool_arguments_are_400s() -> None:
    with pytest.raises(AdapterError) as endpoint:
        ADAPTER.transform_request({"input": "x"}, "/embeddings", ProviderOptions())
    assert endpoint.value.status == 400 and endpoint.value.code == "unsupported_endpoint"
    bad = {
        "model": "c",
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": "{oops"}}],
            }
        ],
    }
    with pytest.raises(AdapterError) as arguments:
        ADAPTER.transform_request(bad, "/chat/completions", ProviderOptions(api_key="sk-secret"))
    assert arguments.value.body()["error"]["code"] == "invalid_tool_arguments"
    assert "sk-secret" not in str(arguments.value)


def test_registered_with_prices_id() -> None:
    spec = PROVIDERS["anthropic"]
    assert spec.adapter is ADAPTER and spec.prices_id == "anthropic"
