"""Cohere v2's chat SSE events -> OpenAI chat completion chunks.

Events (``type`` in each payload): ``message-start`` (id), ``content-delta`` (text),
``tool-plan-delta``, ``tool-call-start`` / ``tool-call-delta`` (OpenAI-shaped tool call
pieces, by ``index``), ``content-start`` / ``content-end`` / ``tool-call-end`` (nothing to
send), and ``message-end`` with the finish reason and usage. Cohere's stream has no
model name, so the request's is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from portcullis_gateway.providers._openai_shapes import ChunkWriter, error_body, openai_finish


def _message(event: dict) -> dict:
    return (event.get("delta") or {}).get("message") or {}


class CohereStream:
    def __init__(
        self,
        include_usage: bool,
        created: int,
        model: str,
        finish_reasons: Mapping[str, str],
        usage_from: Callable[[dict], dict],
    ) -> None:
        self.writer = ChunkWriter("", model, created, include_usage)
        self.finish_reasons = finish_reasons
        self.usage_from = usage_from
        self.usage: dict | None = None
        self.error: dict | None = None

    def feed(self, event: object, event_name: str | None = None) -> list[dict]:
        if not isinstance(event, dict) or self.error is not None:
            return []
        kind = event.get("type") or event_name
        if kind == "message-start":
            self.writer.id = str(event.get("id", ""))
            return [self.writer.role_chunk()]
        if kind == "content-delta":
            text = (_message(event).get("content") or {}).get("text", "")
            return [self.writer.chunk({"content": text})]
        if kind in ("tool-call-start", "tool-call-delta"):
            call = dict(_message(event).get("tool_calls") or {})
            call["index"] = event.get("index", 0)
            return [self.writer.chunk({"tool_calls": [call]})]
        if kind == "message-end":
            delta = event.get("delta") or {}
            if isinstance(delta.get("usage"), dict):
                self.usage = self.usage_from(delta["usage"])
            finish = openai_finish(self.finish_reasons, delta.get("finish_reason"))
            return [self.writer.chunk({}, finish)]
        if kind == "error" or "error" in event:
            detail = event.get("error")
            message = detail.get("message") if isinstance(detail, dict) else detail
            self.error = error_body(str(message or event.get("message") or "cohere stream error"))
            return [self.error]
        return []

    def finish(self) -> list[dict]:
        return self.writer.final_chunks(self.usage, self.error)
