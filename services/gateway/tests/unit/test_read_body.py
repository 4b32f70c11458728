import pytest
from portcullis_gateway.domain.errors import BodyTooLarge
from portcullis_gateway.routes.inference import ClientGone, read_body


def receiver(*messages):
    queue = list(messages)

    async def receive():
        return queue.pop(0)

    return receive


async def test_single_message_body():
    body = await read_body(receiver({"type": "http.request", "body": b"{}"}), 10, 2)
    assert body == b"{}"


async def test_chunked_body_is_joined():
    receive = receiver(
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": True},
        {"type": "http.request", "body": b"e"},
    )
    assert await read_body(receive, 10, None) == b"abcde"


async def test_declared_length_over_the_limit_is_refused_before_reading():
    with pytest.raises(BodyTooLarge):
        await read_body(receiver(), 10, 11)


async def test_chunked_body_over_the_limit_is_refused_while_reading():
    receive = receiver(
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
    )
    with pytest.raises(BodyTooLarge):
        await read_body(receive, 10, None)


async def test_disconnect_while_reading():
    receive = receiver(
        {"type": "http.request", "body": b"x", "more_body": True}, {"type": "http.disconnect"}
    )
    with pytest.raises(ClientGone):
        await read_body(receive, 10, None)
