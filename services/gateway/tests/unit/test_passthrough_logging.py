"""The pure parts of the pass-through endpoints: which endpoint a path is, what the log
keeps of a streamed body, typed-event streams (Responses API, audio) assembled for the
log, and the input/output token spelling of usage."""

import msgspec
import pytest
from portcullis_gateway.domain.body_log import BodyTap, is_json_type, is_text_type
from portcullis_gateway.domain.cost import PriceBook
from portcullis_gateway.domain.endpoints import KINDS, check_suffix, endpoint_of
from portcullis_gateway.domain.errors import InvalidRequest
from portcullis_gateway.domain.exchange import Exchange, build_logged
from portcullis_gateway.domain.stream import CHAT, EVENTS, assemble
from portcullis_gateway.domain.usage import from_openai, prompt_text

enc = msgspec.json.encode


@pytest.mark.parametrize(
    ("suffix", "kind", "route"),
    [
        ("/images/generations", "images.generations", "/v1/images/generations"),
        ("/audio/speech", "audio.speech", "/v1/audio/speech"),
        ("/files/file-abc/content", "files", "/v1/files"),
        ("/fine_tuning/jobs/ftjob-1/events", "fine_tuning.jobs", "/v1/fine_tuning/jobs"),
        ("/responses/resp_1/input_items", "responses", "/v1/responses"),
        ("/models", "models", "/v1/models"),
        ("/vector_stores/vs_1", "passthrough", "/v1/*"),
        ("/images/unknown", "passthrough", "/v1/*"),
    ],
)
def test_endpoint_kind_and_a_bounded_metrics_label(suffix, kind, route):
    endpoint = endpoint_of(suffix)
    assert (endpoint.kind, endpoint.route) == (kind, route)
    assert endpoint.kind in KINDS


@pytest.mark.parametrize("suffix", ["/files/../admin", "/a/%2e%2e/b", "/a/./b", "/x/%2E"])
def test_dot_segments_are_refused(suffix):
    with pytest.raises(InvalidRequest) as info:
        check_suffix(suffix)
    assert info.value.code == "invalid_path"


def test_ordinary_segments_with_dots_pass():
    check_suffix("/files/file.v2..jsonl/content")


def test_content_types():
    assert is_json_type("application/json; charset=utf-8")
    assert is_json_type("application/problem+json")
    assert not is_json_type("multipart/form-data; boundary=x")
    assert is_text_type("text/plain") and is_text_type("application/x-ndjson")
    assert not is_text_type("audio/mpeg") and not is_text_type("")


def test_tap_keeps_small_json_and_finds_the_model():
    tap = BodyTap("application/json")
    for part in (b'{"model": "tts-1", ', b'"input": "hi"}'):
        tap.feed(part)
    assert tap.request_body() == (b'{"model": "tts-1", "input": "hi"}', True, "tts-1")


def test_tap_logs_binary_and_oversized_bodies_as_metadata():
    audio = BodyTap("audio/mpeg")
    audio.feed(b"\xff" * 1000)
    audio.feed(b"\xfb" * 24)
    assert audio.parts == []  # nothing kept on the way
    assert msgspec.json.decode(audio.body()) == {"content_type": "audio/mpeg", "bytes": 1024}
    big = BodyTap("application/json", cap=10)
    big.feed(b'{"a": "0123456789"}')
    body, known_json, model = big.request_body()
    assert msgspec.json.decode(body) == {"content_type": "application/json", "bytes": 19}
    assert known_json and model is None


def test_tap_logs_invalid_json_as_text():
    tap = BodyTap("application/json")
    tap.feed(b"{not json")
    assert tap.request_body() == (b"{not json", False, None)


def _event(kind: str, **fields) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + enc({"type": kind, **fields}) + b"\n\n"


RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "model": "gpt-4o-mini",
    "status": "completed",
    "output": [{"type": "message", "content": [{"type": "output_text", "text": "Hi there"}]}],
    "usage": {
        "input_tokens": 5,
        "input_tokens_details": {"cached_tokens": 1},
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 7,
    },
}
STREAM = [
    _event("response.created", response={**RESPONSE, "status": "in_progress", "usage": None}),
    _event("response.output_text.delta", delta="Hi"),
    _event("response.output_text.delta", delta=" there"),
    _event("response.completed", response=RESPONSE),
]


def test_responses_stream_assembles_to_the_completed_response():
    summary = assemble(STREAM, EVENTS)
    assert summary.body == RESPONSE
    assert summary.usage == RESPONSE["usage"]
    assert summary.first_token_chunk == 1 and summary.text == "Hi there"
    assert summary.done and summary.error is None


def test_responses_stream_error_event_and_failed_response():
    failed = {**RESPONSE, "status": "failed", "error": {"code": "server_error", "message": "x"}}
    summary = assemble([STREAM[0], _event("response.failed", response=failed)], EVENTS)
    assert summary.error == {"code": "server_error", "message": "x"}
    broken = assemble(
        [STREAM[0], STREAM[1], _event("error", code="server_error", message="boom")], EVENTS
    )
    assert broken.error == {"message": "boom", "type": "server_error", "code": "server_error"}
    assert not broken.done and broken.body["status"] == "in_progress"


def test_typed_events_without_a_response_log_their_last_event():
    events = [
        b'data: {"type":"transcript.text.delta","delta":"hel"}\n\n',
        b'data: {"type":"transcript.text.done","text":"hello",'
        b'"usage":{"input_tokens":4,"output_tokens":1,"total_tokens":5}}\n\n',
    ]
    summary = assemble(events, EVENTS)
    assert summary.body["text"] == "hello" and summary.usage["total_tokens"] == 5
    assert summary.done and summary.text == "hel"


def test_chat_chunks_are_not_read_as_typed_events_nor_typed_events_as_chat():
    chat = assemble(STREAM, CHAT)  # what the log did before: no crash, no text
    assert chat.body["object"] == "chat.completion" and chat.body["choices"] == []
    assert assemble([b"data: [1, 2]\n\n", b"data: nope\n\n"], EVENTS).body == {}


def test_input_output_usage_maps_to_prompt_and_completion():
    usage = from_openai(RESPONSE["usage"])
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (5, 2, 7)
    assert (usage.cached_tokens, usage.reasoning_tokens) == (1, 0)
    derived = from_openai({"input_tokens": 3, "output_tokens": 4})
    assert derived.total_tokens == 7
    chat = from_openai({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
    assert (chat.prompt_tokens, chat.completion_tokens) == (1, 2)


def test_prompt_text_reads_the_responses_input():
    assert prompt_text(b'{"input": "plain words"}') == "plain words"
    items = b'{"input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}'
    assert prompt_text(items) == "hi"
    assert prompt_text(b'{"input": [[1, 2, 3]]}') == ""  # token arrays (embeddings)


def test_a_responses_stream_exchange_logs_the_response_usage_and_kind():
    ex = Exchange("id-1", "t", "POST", "/v1/responses", "responses", 1, [])
    ex.provider, ex.prices_id, ex.status, ex.stream = "openai", "openai", 200, True
    ex.request_body, ex.request_body_json = b'{"model":"gpt-4o-mini","input":"hi"}', True
    ex.chunks, ex.chunk_ms = STREAM, [1.0, 2.0, 3.0, 4.0]
    logged = build_logged(ex, workspace="w", organisation_id="o", prices=PriceBook())
    assert logged.kind == "responses" and logged.model == "gpt-4o-mini"
    assert msgspec.json.decode(logged.response_body) == RESPONSE
    assert logged.usage.prompt_tokens == 5 and not logged.usage.estimated
    assert logged.timings.first_token_ms == 2.0 and logged.cost > 0
