"""Stream framing decoders: SSE per the spec's line rules, NDJSON, split anywhere."""

import pytest
from portcullis_gateway.providers.framing import (
    AWSEventStreamDecoder,
    EventStreamError,
    NDJSONDecoder,
    SSEDecoder,
    decoder_for,
    encode_event,
)

SSE = (
    ": keep-alive comment\r\n\r\n"
    'event: message_start\r\ndata: {"a": "é"}\r\n\r\n'
    'data: {"b":\ndata: 2}\n\n'
    "data: [DONE]\n\n"
    'event: last\ndata: {"c": 3}'
).encode()


@pytest.mark.parametrize("piece", [1, 2, 3, 5, len(SSE)])
def test_sse_events_survive_any_split(piece: int) -> None:
    decoder = SSEDecoder()
    events = []
    for start in range(0, len(SSE), piece):
        events.extend(decoder.feed(SSE[start : start + piece]))
    events.extend(decoder.close())
    assert events == [
        ("message_start", {"a": "é"}),
        (None, {"b": 2}),
        (None, "[DONE]"),
        ("last", {"c": 3}),
    ]


def test_ndjson_lines_and_tail() -> None:
    decoder = decoder_for("ndjson")
    assert isinstance(decoder, NDJSONDecoder)
    out = list(decoder.feed(b'{"a": 1}\n\n{"b"')) + list(decoder.feed(b': 2}\n{"c": 3}'))
    assert out + list(decoder.close()) == [(None, {"a": 1}), (None, {"b": 2}), (None, {"c": 3})]
    assert isinstance(decoder_for("sse"), SSEDecoder)


def test_aws_event_stream_checks_its_checksums() -> None:
    frame = encode_event("messageStop", b'{"stopReason":"end_turn"}')
    assert list(AWSEventStreamDecoder().feed(frame)) == [
        ("messageStop", {"stopReason": "end_turn"})
    ]
    corrupt = frame[:-6] + bytes([frame[-6] ^ 1]) + frame[-5:]
    with pytest.raises(EventStreamError):
        list(AWSEventStreamDecoder().feed(corrupt))
    decoder = AWSEventStreamDecoder()
    assert list(decoder.feed(frame[:20])) == []
    with pytest.raises(EventStreamError):
        list(decoder.close())
