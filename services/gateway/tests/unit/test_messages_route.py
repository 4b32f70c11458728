"""The /v1/messages route's pure parts: the Anthropic SDK's headers in the gateway's
terms, and the ``send`` that turns the chat path's answers into Anthropic's."""

import msgspec
from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.domain.resolution import scan_headers
from portcullis_gateway.routes._anthropic_reply import AnthropicReply
from portcullis_gateway.routes.messages import anthropic_inbound


def test_x_api_key_is_the_key_and_anthropic_headers_become_options():
    inbound = anthropic_inbound(
        scan_headers(
            [
                (b"x-api-key", b"sk-ant-1"),
                (b"anthropic-version", b"2023-06-01"),
                (b"anthropic-beta", b"tools-1"),
                (b"x-portkey-anthropic-beta", b"wins"),
                (b"user-agent", b"Anthropic/Python"),
            ]
        )
    )
    assert inbound.authorization == "Bearer sk-ant-1"
    assert inbound.forward == [("user-agent", "Anthropic/Python")]
    assert inbound.portkey["x-portkey-anthropic-version"] == "2023-06-01"
    assert inbound.portkey["x-portkey-anthropic-beta"] == "wins"


def test_authorization_wins_over_x_api_key():
    inbound = anthropic_inbound(
        scan_headers([(b"authorization", b"Bearer sk-auth"), (b"x-api-key", b"sk-other")])
    )
    assert inbound.authorization == "Bearer sk-auth"
    assert inbound.forward == []


def _reply() -> tuple[AnthropicReply, list[dict], Exchange]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    reply = AnthropicReply(send)
    ex = Exchange("rid", "t", "POST", "/v1/messages", "messages", 0, [])
    ex.model = "gpt-4o-mini"
    reply.ex = ex
    return reply, sent, ex


async def test_a_whole_answer_is_held_converted_and_its_length_fixed():
    reply, sent, ex = _reply()
    answer = {
        "id": "c1",
        "model": "gpt-4o-mini",
        "choices": [{"message": {"content": "hi"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
    payload = msgspec.json.encode(answer)
    headers = [
        (b"x-request-id", b"req_1"),
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await reply({"type": "http.response.start", "status": 200, "headers": headers})
    assert sent == []  # nothing goes out until the body is in
    await reply({"type": "http.response.body", "body": payload[:5], "more_body": True})
    await reply({"type": "http.response.body", "body": payload[5:]})
    start, body = sent
    message = msgspec.json.decode(body["body"])
    assert message["content"] == [{"type": "text", "text": "hi"}]
    assert message["stop_reason"] == "max_tokens"
    out = dict(start["headers"])
    assert out[b"content-length"] == str(len(body["body"])).encode()
    assert out[b"content-type"] == b"application/json"
    assert out[b"x-request-id"] == b"req_1"
    assert ex.response_headers == start["headers"] and ex.status == 200


async def test_an_error_keeps_its_status_in_anthropic_shape():
    reply, sent, ex = _reply()
    error = b'{"error": {"message": "no such model", "type": "invalid_request_error"}}'
    await reply({"type": "http.response.start", "status": 404, "headers": []})
    await reply({"type": "http.response.body", "body": error})
    start, body = sent
    assert start["status"] == 404
    assert msgspec.json.decode(body["body"]) == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "no such model"},
    }


async def test_a_stream_is_converted_as_it_passes_and_ended_by_the_last_body():
    reply, sent, _ = _reply()
    sse = [(b"content-type", b"text/event-stream; charset=utf-8")]
    await reply({"type": "http.response.start", "status": 200, "headers": sse})
    assert sent[0]["headers"] == sse  # started at once: the caller sees the stream begin
    chunk = {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    data = b"data: " + msgspec.json.encode(chunk) + b"\n\n"
    await reply({"type": "http.response.body", "body": data[:9], "more_body": True})
    await reply({"type": "http.response.body", "body": data[9:], "more_body": True})
    await reply({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})
    bodies = [m["body"] for m in sent[1:]]
    assert bodies[0] == b""  # half an event: nothing to say yet
    assert b"event: message_start" in bodies[1] and b'"text":"Hi"' in bodies[1]
    assert bodies[2].endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    assert sent[-1]["more_body"] is False
