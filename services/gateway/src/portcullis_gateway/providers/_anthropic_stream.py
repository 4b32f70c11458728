"""Anthropic's SSE event stream -> OpenAI ``chat.completion.chunk`` dicts.

Anthropic sends ``message_start`` (id, model, input usage), per content block
``content_block_start`` / ``content_block_delta`` (``text_delta``, ``input_json_delta``,
``thinking_delta``, ``signature_delta``) / ``content_block_stop``, then ``message_delta``
(stop reason, cumulative output tokens) and ``message_stop``; ``ping`` may come any time
and ``error`` ends a failing stream. Usage is kept from those events so the final usage
chunk is the provider's own figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from portcullis_gateway.providers._openai_shapes import (
    ChunkWriter,
    error_body,
    openai_finish,
    tool_call,
)


class AnthropicStream:
    def __init__(
        self,
        include_usage: bool,
        created: int,
        strict_openai: bool,
        finish_reasons: Mapping[str, str],
        json_tool: str,
        usage_from: Callable[[dict], dict],
    ) -> None:
        self.writer = ChunkWriter("", "", created, include_usage)
        self.strict = strict_openai
        self.finish_reasons = finish_reasons
        self.json_tool = json_tool
        self.usage_from = usage_from
        self.raw_usage: dict = {}
        self.usage: dict | None = None
        self.error: dict | None = None
        self.finished = False
        # content block index -> OpenAI tool_calls index (or -1 for the json_schema tool)
        self._tools: dict[int, int] = {}

    def feed(self, event: object, event_name: str | None = None) -> list[dict]:
        if not isinstance(event, dict) or self.error is not None:
            return []
        kind = event.get("type") or event_name
        handler = getattr(self, f"_on_{kind}", None)
        return handler(event) if handler is not None else []

    def finish(self) -> list[dict]:
        return self.writer.final_chunks(self.usage, self.error)

    def _take_usage(self, usage: object) -> None:
        if isinstance(usage, dict):
            # message_delta repeats cumulative figures; later values win.
            self.raw_usage.update({k: v for k, v in usage.items() if v is not None})
            self.usage = self.usage_from(self.raw_usage)

    def _on_message_start(self, event: dict) -> list[dict]:
        message = event.get("message") or {}
        self.writer.id = str(message.get("id", ""))
        self.writer.model = str(message.get("model", ""))
        self._take_usage(message.get("usage"))
        return [self.writer.role_chunk()]

    def _on_content_block_start(self, event: dict) -> list[dict]:
        block = event.get("content_block") or {}
        index = event.get("index", 0)
        kind = block.get("type")
        if kind == "tool_use" and block.get("name") == self.json_tool:
            self._tools[index] = -1
            return []
        if kind == "tool_use":
            position = sum(1 for v in self._tools.values() if v >= 0)
            self._tools[index] = position
            call = tool_call(block.get("id"), block.get("name"), "")
            return [self.writer.tool_call_chunk(position, call)]
        if kind == "text" and block.get("text"):
            return [self.writer.chunk({"content": block["text"]})]
        if kind in ("thinking", "redacted_thinking") and not self.strict:
            return [self.writer.chunk({"content_blocks": [{"index": index, **block}]})]
        return []

    def _on_content_block_delta(self, event: dict) -> list[dict]:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        index = event.get("index", 0)
        if kind == "text_delta":
            return [self.writer.chunk({"content": delta.get("text", "")})]
        if kind == "input_json_delta":
            part = delta.get("partial_json", "")
            position = self._tools.get(index, 0)
            if position < 0:
                return [self.writer.chunk({"content": part})] if part else []
            return [self.writer.arguments_chunk(position, part)]
        if kind in ("thinking_delta", "signature_delta") and not self.strict:
            return [self.writer.chunk({"content_blocks": [{"index": index, "delta": delta}]})]
        return []

    def _on_message_delta(self, event: dict) -> list[dict]:
        self._take_usage(event.get("usage"))
        reason = (event.get("delta") or {}).get("stop_reason")
        if reason is None:
            return []
        finish = openai_finish(self.finish_reasons, reason)
        if finish == "tool_calls" and not any(v >= 0 for v in self._tools.values()):
            finish = "stop"  # only the json_schema tool was "called": that is the answer
        self.finished = True
        return [self.writer.chunk({}, finish)]

    def _on_error(self, event: dict) -> list[dict]:
        error = event.get("error") or {}
        message = error.get("message") or "anthropic stream error"
        self.error = error_body(message, error.get("type") or "api_error")
        return [self.error]
