"""The Responses API's wire format: a response object, its stored input items, and its
stream of typed SSE events (``response.created`` ... ``response.completed``). Pure and
deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

from mock_provider import openai_format as fmt
from mock_provider.openai_extra_format import new_id, now


def input_text(raw: object) -> str:
    """The last user text of a Responses ``input`` (a string or a list of items)."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        for item in reversed(raw):
            if isinstance(item, dict) and item.get("role") == "user":
                return fmt._text_of(item.get("content"))
    return ""


def input_items(raw: object) -> list[dict]:
    """The stored input items, as ``GET /v1/responses/{id}/input_items`` lists them."""
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        content = item.get("content")
        if isinstance(content, str):
            content = [{"type": "input_text", "text": content}]
        out.append(
            {
                "id": new_id("msg_"),
                "type": item.get("type", "message"),
                "role": item.get("role", "user"),
                "status": "completed",
                "content": content,
            }
        )
    return out


def response_usage(body: dict, reply: str) -> dict:
    items = body.get("input")
    texts = (
        [items]
        if isinstance(items, str)
        else [fmt._text_of(i.get("content")) for i in items or () if isinstance(i, dict)]
    )
    prompt = sum(fmt.words(t) for t in texts) + fmt.words(body.get("instructions") or "")
    output = fmt.words(reply)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + output,
    }


def _message(item_id: str, text: str, status: str = "completed") -> dict:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}] if text else [],
    }


def response_object(body: dict, reply: str, response_id: str | None = None) -> dict:
    return {
        "id": response_id or new_id("resp_"),
        "object": "response",
        "created_at": now(),
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model", "mock-model"),
        "output": [_message(new_id("msg_"), reply)],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": response_usage(body, reply),
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _event(kind: str, seq: int, **fields) -> bytes:
    payload = {"type": kind, "sequence_number": seq, **fields}
    return b"event: " + kind.encode() + b"\ndata: " + fmt.encode(payload) + b"\n\n"


def response_stream(final: dict, pieces: int | None) -> Iterator[tuple[bytes, bool]]:
    """The Responses API's stream for ``final``: (event bytes, is content). No [DONE]:
    the API ends with ``response.completed``."""
    item = final["output"][0]
    text = item["content"][0]["text"] if item["content"] else ""
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
    seq = count()
    yield _event("response.created", next(seq), response=started), False
    yield _event("response.in_progress", next(seq), response=started), False
    yield (
        _event(
            "response.output_item.added",
            next(seq),
            output_index=0,
            item=_message(item["id"], "", "in_progress"),
        ),
        False,
    )
    empty = {"type": "output_text", "text": "", "annotations": []}
    yield _event("response.content_part.added", next(seq), **where, part=empty), False
    for piece in fmt.split_reply(text, pieces):
        yield (
            _event("response.output_text.delta", next(seq), **where, delta=piece, logprobs=[]),
            True,
        )
    yield _event("response.output_text.done", next(seq), **where, text=text, logprobs=[]), False
    part = {"type": "output_text", "text": text, "annotations": []}
    yield _event("response.content_part.done", next(seq), **where, part=part), False
    yield _event("response.output_item.done", next(seq), output_index=0, item=item), False
    yield _event("response.completed", next(seq), response=final), False


def response_error_event(message: str | None) -> bytes:
    return _event(
        "error", 0, code="server_error", message=message or "mock stream failure", param=None
    )
