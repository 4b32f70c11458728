"""Adapter and mock provider agree: an OpenAI request, transformed for Anthropic, is one
the mock (which refuses what the real API refuses) answers, and its answers come back
as the OpenAI shapes the SDK expects. Pure: no server, the mock's format functions."""

from mock_provider import anthropic_format as mock
from mock_provider import bedrock_format as bedrock
from mock_provider import cohere_format as cohere
from mock_provider import gemini_format as gemini
from mock_provider import ollama_format as ollama
from mock_provider.openai_format import encode
from portcullis_gateway.providers import PROVIDERS, ProviderOptions, decoder_for
from portcullis_gateway.providers.framing import SSEDecoder

ADAPTER = PROVIDERS["anthropic"].adapter
OPENAI = {
    "model": "claude-mock",
    "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello you"},
    ],
}


def test_json_round_trip() -> None:
    request = ADAPTER.transform_request(OPENAI, "/chat/completions", ProviderOptions(api_key="k"))
    assert mock.problem(request.body) is None
    answer = ADAPTER.transform_response(200, mock.message(request.body, "hi back"), "")
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "hi back"}
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["prompt_tokens"] == 4 and answer["usage"]["completion_tokens"] == 2


def test_stream_round_trip_with_tools_and_usage() -> None:
    body = {
        **OPENAI,
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
    }
    request = ADAPTER.transform_request(body, "/chat/completions", ProviderOptions())
    assert mock.problem(request.body) is None and "stream_options" not in request.body
    raw = b"".join(data for data, _ in mock.stream(request.body, "unused", 3))
    stream = ADAPTER.stream_transformer(body)
    decoder = SSEDecoder()
    chunks = [c for name, e in decoder.feed(raw) for c in stream.feed(e, name)]
    chunks += stream.finish()
    calls = [c["choices"][0]["delta"].get("tool_calls") for c in chunks if c["choices"]]
    arguments = "".join(call[0]["function"]["arguments"] for call in calls if call)
    assert arguments == '{"echo":"hello you"}'
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 4


def test_gemini_json_and_sse_round_trip() -> None:
    adapter = PROVIDERS["google"].adapter
    body = {**OPENAI, "stream": True, "stream_options": {"include_usage": True}}
    request = adapter.transform_request(body, "/chat/completions", ProviderOptions())
    assert request.path == "/models/claude-mock:streamGenerateContent?alt=sse"
    assert gemini.problem(request.body) is None
    answer = adapter.transform_response(200, gemini.response(request.body, "g", "hi back"), "")
    assert answer["choices"][0]["message"]["content"] == "hi back"
    raw = b"".join(
        b"data: " + encode(e) + b"\r\n\r\n" for e in gemini.stream(request.body, "g", "a b c", 2)
    )
    stream = adapter.stream_transformer(body)
    chunks = [c for name, e in SSEDecoder().feed(raw) for c in stream.feed(e, name)]
    chunks += stream.finish()
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "a b c"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": 3,
        "total_tokens": 7,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def test_cohere_and_ollama_round_trips() -> None:
    body = {**OPENAI, "stream": True, "stream_options": {"include_usage": True}}
    for name, fmt in (("cohere", cohere), ("ollama", ollama)):
        adapter = PROVIDERS[name].adapter
        request = adapter.transform_request(body, "/chat/completions", ProviderOptions())
        answer = adapter.transform_response(
            200,
            fmt.chat({**request.body, "stream": False}, "hi back"),
            "/chat/completions",
            request=body,
        )
        assert answer["choices"][0]["message"]["content"] == "hi back", name
        raw = b"".join(data for data, _ in fmt.chat_stream(request.body, "a b c", 2))
        decoder = decoder_for(adapter.stream_framing)
        stream = adapter.stream_transformer(body)
        chunks = [c for n, e in decoder.feed(raw) for c in stream.feed(e, n)] + stream.finish()
        text = "".join(
            c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]
        )
        assert text == "a b c", name
        assert chunks[-1]["usage"]["prompt_tokens"] == 4, name
        assert chunks[-1]["usage"]["completion_tokens"] == 3, name


def test_vertex_claude_request_is_what_the_mock_accepts() -> None:
    options = ProviderOptions(api_key="t", headers={"vertex-project-id": "p"})
    request = PROVIDERS["vertex-ai"].adapter.transform_request(OPENAI, "/chat/completions", options)
    assert request.body["anthropic_version"] == "vertex-2023-10-16" and "model" not in request.body
    assert mock.problem(request.body) is None
    answer = PROVIDERS["vertex-ai"].adapter.transform_response(
        200, mock.message({**request.body, "model": "claude-mock"}, "ok"), "/chat/completions"
    )
    assert answer["choices"][0]["message"]["content"] == "ok"


def test_bedrock_round_trip_through_the_binary_event_stream() -> None:
    adapter = PROVIDERS["bedrock"].adapter
    body = {**OPENAI, "stream": True, "stream_options": {"include_usage": True}}
    request = adapter.transform_request(body, "/chat/completions", ProviderOptions(api_key="k"))
    assert bedrock.problem(request.body) is None
    answer = adapter.transform_response(
        200, bedrock.converse(request.body, "hi back"), "/chat/completions", request=body
    )
    assert answer["choices"][0]["message"]["content"] == "hi back"
    # The mock frames the stream with its own encoder: the adapter's decoder must agree.
    raw = b"".join(data for data, _ in bedrock.converse_stream(request.body, "a b c", 2))
    decoder = decoder_for(adapter.stream_framing)
    stream = adapter.stream_transformer(body)
    chunks = []
    for start in range(0, len(raw), 5):
        chunks += [c for n, e in decoder.feed(raw[start : start + 5]) for c in stream.feed(e, n)]
    chunks += stream.finish()
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "a b c"
    assert (
        chunks[-1]["usage"]["prompt_tokens"] == 4 and chunks[-1]["usage"]["completion_tokens"] == 3
    )
