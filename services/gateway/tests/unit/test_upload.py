"""The streamed request body: what is sent as bytes and what as a stream, when it counts
as all read (so the answer may watch the connection), and the limit on the way."""

import pytest
from portcullis_gateway.domain.errors import BodyTooLarge
from portcullis_gateway.routes._upload import Upload
from portcullis_gateway.routes.inference import ClientGone


def receiver(*messages: dict):
    queue = list(messages)

    async def receive() -> dict:
        return queue.pop(0)

    receive.queue = queue
    return receive


def body(data: bytes, more: bool = False) -> dict:
    return {"type": "http.request", "body": data, "more_body": more}


async def drain(stream) -> bytes:
    return b"".join([part async for part in stream])


async def test_one_message_goes_as_bytes():
    upload = Upload(receiver(body(b'{"a": 1}')), 100, "application/json")
    assert await upload.open(8) == b'{"a": 1}'
    assert upload.finished


async def test_a_declared_body_in_hand_is_bytes_though_an_empty_message_follows():
    receive = receiver(body(b"12345", more=True), body(b""))
    upload = Upload(receive, 100, "text/plain")
    assert await upload.open(5) == b"12345"
    assert upload.finished and len(receive.queue) == 1  # left for the disconnect watch


async def test_more_messages_stream_and_finish_at_the_declared_length():
    receive = receiver(body(b"ab", more=True), body(b"cd", more=True), body(b""))
    upload = Upload(receive, 100, "application/octet-stream")
    stream = await upload.open(4)
    assert not isinstance(stream, bytes) and not upload.finished
    first = await anext(stream)
    second = await anext(stream)
    # A client may stop pulling at the declared length: the upload is read all the same.
    assert first + second == b"abcd" and upload.finished


async def test_an_undeclared_stream_finishes_at_its_last_message():
    upload = Upload(receiver(body(b"ab", more=True), body(b"cd")), 100, "audio/mpeg")
    assert await drain(await upload.open(None)) == b"abcd"
    assert upload.finished
    assert upload.tap.parts == [] and upload.tap.size == 4  # binary: only counted


async def test_the_limit_stops_a_stream_and_is_kept_for_the_answer():
    upload = Upload(receiver(body(b"x" * 6, more=True), body(b"x" * 6)), 10, "text/plain")
    stream = await upload.open(None)
    with pytest.raises(BodyTooLarge):
        await drain(stream)
    assert isinstance(upload.failure, BodyTooLarge)
    with pytest.raises(BodyTooLarge):
        await Upload(receiver(), 10, "text/plain").open(11)  # declared: before any read


async def test_a_caller_who_leaves_mid_upload():
    upload = Upload(receiver(body(b"ab", more=True), {"type": "http.disconnect"}), 10, "")
    with pytest.raises(ClientGone):
        await drain(await upload.open(None))
    assert isinstance(upload.failure, ClientGone)
