"""The stream client's parts that decide what counts: its HTTP response parsing (split
anywhere), its stream check, and its percentiles."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

from streamclient import ResponseReader, check_stream, percentile  # noqa: E402
from upstream import STREAM_CHUNKS, sse_body  # noqa: E402


def chunked(body: bytes, sizes: list[int]) -> bytes:
    out, pos = b"", 0
    for size in sizes:
        part = body[pos : pos + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
        pos += size
    assert pos >= len(body)
    return out + b"0\r\n\r\n"


def feed_in_pieces(raw: bytes, step: int) -> ResponseReader:
    reader = ResponseReader()
    for i in range(0, len(raw), step):
        assert not reader.done, "done before the last byte"
        reader.feed(raw[i : i + step])
    return reader


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 100_000])
def test_chunked_response_split_anywhere(step):
    body = sse_body(5).encode()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    reader = feed_in_pieces(head + chunked(body, [10, 1, 300, len(body)]), step)
    assert reader.done
    assert reader.status == 200
    assert bytes(reader.body) == body
    assert reader.headers["content-type"] == "text/event-stream"


@pytest.mark.parametrize("step", [1, 5, 100_000])
def test_content_length_response(step):
    body = b'{"choices":[]}'
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    reader = feed_in_pieces(raw, step)
    assert reader.done and bytes(reader.body) == body


def test_body_started_turns_true_with_the_first_body_byte_only():
    reader = ResponseReader()
    reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert reader.status == 200 and not reader.body_started
    reader.feed(b"4\r\n")
    assert not reader.body_started  # a chunk-size line is framing, not the first byte
    reader.feed(b"da")
    assert reader.body_started and not reader.done


def test_bad_chunk_framing_is_refused():
    reader = ResponseReader()
    with pytest.raises(ValueError):
        reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n")


def test_the_upstream_stream_passes_the_check_and_a_short_one_does_not():
    body = sse_body().encode()
    check_stream(200, body, STREAM_CHUNKS)
    with pytest.raises(ValueError, match="events"):
        check_stream(200, sse_body(STREAM_CHUNKS - 1).encode(), STREAM_CHUNKS)
    with pytest.raises(ValueError, match="DONE"):
        check_stream(200, body.replace(b"data: [DONE]", b""), STREAM_CHUNKS)
    with pytest.raises(ValueError, match="status 500"):
        check_stream(500, b'{"error":"x"}', STREAM_CHUNKS)


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0
    # p99 of 10 values is the largest: no interpolation past the measured values.
    assert percentile([float(v) for v in range(10)], 99) == 9.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 0)
