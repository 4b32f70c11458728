import msgspec
from portcullis_gateway.domain.stream import CHAT, COMPLETION, assemble, iter_events

enc = msgspec.json.encode


def sse(payload) -> bytes:
    return b"data: " + enc(payload) + b"\n\n"


def chunk(delta=None, finish=None, index=0, usage=None, choices=True):
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 7,
        "model": "gpt-4o-mini",
    }
    body["choices"] = (
        [{"index": index, "delta": delta or {}, "finish_reason": finish}] if choices else []
    )
    if usage is not None:
        body["usage"] = usage
    return sse(body)


USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def test_content_stream_with_usage_chunk_assembles_a_chat_completion():
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hello"}),
        chunk({"content": " world"}),
        chunk({}, "stop"),
        chunk(usage=USAGE, choices=False),
        b"data: [DONE]\n\n",
    ]
    summary = assemble(chunks, CHAT)
    assert summary.body == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 7,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello world"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
    assert summary.usage == USAGE
    assert summary.done is True
    assert summary.first_token_chunk == 1  # the role chunk carries no token
    assert summary.text == "Hello world"


def test_events_split_across_network_chunks_and_crlf():
    whole = chunk({"content": "abc"}).replace(b"\n", b"\r\n") + b"data: [DONE]\r\n\r\n"
    pieces = [whole[:7], whole[7:30], whole[30:-5], whole[-5:]]
    summary = assemble(pieces, CHAT)
    assert summary.body["choices"][0]["message"]["content"] == "abc"
    assert summary.done
    assert summary.first_token_chunk == 2  # the event completes in the third piece


def test_tool_calls_are_merged_by_index():
    chunks = [
        chunk(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ],
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "now", "arguments": "{}"},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        chunk({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ]
    summary = assemble(chunks, CHAT)
    message = summary.body["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": "{}"}},
    ]
    assert summary.body["choices"][0]["finish_reason"] == "tool_calls"
    assert summary.first_token_chunk == 0
    assert "usage" not in summary.body and summary.usage is None


def test_multiple_choices_and_refusal():
    chunks = [
        chunk({"content": "a"}, index=0),
        chunk({"content": "b"}, index=1),
        chunk({"refusal": "no"}, index=2),
        chunk({}, "stop", index=0),
    ]
    body = assemble(chunks, CHAT).body
    assert [c["message"].get("content") for c in body["choices"]] == ["a", "b", None]
    assert body["choices"][2]["message"]["refusal"] == "no"


def test_text_completion_stream():
    def c(text, finish=None):
        return sse(
            {
                "id": "cmpl-1",
                "object": "text_completion",
                "created": 1,
                "model": "m",
                "choices": [{"index": 0, "text": text, "finish_reason": finish}],
            }
        )

    summary = assemble([c("Hi"), c(" there"), c("", "length"), b"data: [DONE]\n\n"], COMPLETION)
    assert summary.body["object"] == "text_completion"
    assert summary.body["choices"] == [
        {"index": 0, "text": "Hi there", "logprobs": None, "finish_reason": "length"}
    ]


def test_error_event_and_missing_done_are_reported():
    summary = assemble(
        [chunk({"content": "par"}), sse({"error": {"message": "boom", "type": "server_error"}})],
        CHAT,
    )
    assert summary.error == {"message": "boom", "type": "server_error"}
    assert summary.done is False
    assert summary.body["choices"][0]["message"]["content"] == "par"


def test_comments_event_fields_and_garbage_are_ignored():
    data = (
        b": keep-alive\n\nevent: message\nid: 1\n"
        + chunk({"content": "x"})
        + b"data: {not json}\n\n"
    )
    summary = assemble([data], CHAT)
    assert summary.body["choices"][0]["message"]["content"] == "x"


def test_unterminated_last_event_is_still_read():
    summary = assemble([chunk({"content": "x"})[:-2]], CHAT)
    assert summary.text == "x"


def test_iter_events_keeps_the_incomplete_rest():
    events, rest = iter_events(b"data: 1\n\ndata: 2\n\ndata: 3")
    assert events == [b"1", b"2"]
    assert rest == b"data: 3"
