"""The request pieces every native adapter reads the same way (providers/_messages.py)
and the OpenAI chunks every stream transformer writes (providers/_openai_shapes.py)."""

import pytest
from portcullis_gateway.providers._messages import (
    DataURL,
    add_tool_result,
    image_url,
    parse_data_url,
    stop_list,
    tool_arguments,
)
from portcullis_gateway.providers._openai_shapes import ChunkWriter
from portcullis_gateway.providers.base import DROP, AdapterError


@pytest.mark.parametrize(
    ("stop", "expected"),
    [("END", ["END"]), (["a", "b"], ["a", "b"]), ([], DROP), (7, DROP), ({"x": 1}, DROP)],
)
def test_stop_list_is_a_list_or_nothing(stop, expected) -> None:
    assert stop_list(stop, {}) == expected


def test_data_urls_and_image_parts() -> None:
    assert parse_data_url("data:image/png;base64,iVBO") == DataURL("image/png", "iVBO")
    assert parse_data_url("data:application/pdf;base64,JVBE") == DataURL("application/pdf", "JVBE")
    assert parse_data_url("https://x/y.png") is None
    assert image_url({"image_url": {"url": "https://x/y.png"}}) == "https://x/y.png"
    assert image_url({"image_url": "https://x/y.png"}) == "https://x/y.png"
    assert image_url({"image_url": {"url": ""}}) is None
    assert image_url({"image_url": {}}) is None


def test_tool_arguments_decode_or_refuse() -> None:
    assert tool_arguments({"function": {"arguments": '{"a": 1}'}}) == {"a": 1}
    assert tool_arguments({"function": {}}) == {}
    with pytest.raises(AdapterError) as caught:
        tool_arguments({"id": "c1", "function": {"arguments": "{not json"}})
    assert caught.value.code == "invalid_tool_arguments"


def _is_result(block: dict) -> bool:
    return "result" in block


def test_parallel_tool_results_share_one_user_turn() -> None:
    turns: list[dict] = [{"role": "assistant", "content": []}]
    add_tool_result(turns, {"result": 1}, "content", _is_result)
    add_tool_result(turns, {"result": 2}, "content", _is_result)
    assert turns[1:] == [{"role": "user", "content": [{"result": 1}, {"result": 2}]}]
    # A user turn of text is the caller's own: a result after it opens a new turn.
    turns.append({"role": "user", "parts": [{"text": "and?"}]})
    add_tool_result(turns, {"result": 3}, "parts", _is_result)
    assert turns[-1] == {"role": "user", "parts": [{"result": 3}]}


def test_stream_ends_with_usage_only_when_asked_and_not_after_an_error() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    asked = ChunkWriter("id-1", "m", 1700000000, include_usage=True)
    assert asked.final_chunks(usage, None) == [
        {
            "id": "id-1",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "m",
            "choices": [],
            "usage": usage,
        }
    ]
    assert asked.final_chunks(None, None) == []
    assert asked.final_chunks(usage, {"error": {}}) == []
    assert ChunkWriter("id-1", "m", 0, include_usage=False).final_chunks(usage, None) == []
