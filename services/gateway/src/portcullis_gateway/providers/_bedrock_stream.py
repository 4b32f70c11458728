"""Bedrock ConverseStream events (decoded from the AWS event stream) -> OpenAI chunks.

The event name comes from the frame's ``:event-type`` header and the payload has no type
of its own: ``messageStart`` (role), ``contentBlockStart`` (a tool use's id and name),
``contentBlockDelta`` (``text``, ``toolUse.input`` JSON pieces, ``reasoningContent``),
``contentBlockStop``, ``messageStop`` (stop reason) and, after it, ``metadata`` with the
usage. An exception frame (``exception:throttlingException``, ...) is an error mid-stream.
Converse streams carry neither id nor model: the request's model is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from portcullis_gateway.providers._openai_shapes import (
    ChunkWriter,
    error_body,
    openai_finish,
    tool_call,
)


class BedrockStream:
    def __init__(
        self,
        include_usage: bool,
        created: int,
        model: str,
        strict_openai: bool,
        finish_reasons: Mapping[str, str],
        usage_from: Callable[[dict], dict],
    ) -> None:
        self.writer = ChunkWriter(f"chatcmpl-bedrock-{created}", model, created, include_usage)
        self.strict = strict_openai
        self.finish_reasons = finish_reasons
        self.usage_from = usage_from
        self.usage: dict | None = None
        self.error: dict | None = None
        self._tools: dict[int, int] = {}  # content block index -> tool_calls index

    def feed(self, event: object, event_name: str | None = None) -> list[dict]:
        if not isinstance(event, dict) or self.error is not None:
            return []
        name = event_name or ""
        if name.startswith("exception:"):
            kind = name.partition(":")[2]
            self.error = error_body(str(event.get("message") or kind), kind)
            return [self.error]
        if name == "messageStart":
            return [self.writer.role_chunk(event.get("role", "assistant"))]
        if name == "contentBlockStart":
            tool = (event.get("start") or {}).get("toolUse")
            if not isinstance(tool, dict):
                return []
            position = len(self._tools)
            self._tools[event.get("contentBlockIndex", 0)] = position
            call = tool_call(tool.get("toolUseId"), tool.get("name"), "")
            return [self.writer.tool_call_chunk(position, call)]
        if name == "contentBlockDelta":
            return self._delta(event)
        if name == "messageStop":
            finish = openai_finish(self.finish_reasons, event.get("stopReason"))
            return [self.writer.chunk({}, finish)]
        if name == "metadata" and isinstance(event.get("usage"), dict):
            self.usage = self.usage_from(event["usage"])
        return []

    def _delta(self, event: dict) -> list[dict]:
        delta = event.get("delta") or {}
        if "text" in delta:
            return [self.writer.chunk({"content": delta["text"]})]
        if "toolUse" in delta:
            position = self._tools.get(event.get("contentBlockIndex", 0), 0)
            part = (delta["toolUse"] or {}).get("input", "")
            return [self.writer.arguments_chunk(position, part)]
        if "reasoningContent" in delta and not self.strict:
            block = {"index": event.get("contentBlockIndex", 0), "delta": delta["reasoningContent"]}
            return [self.writer.chunk({"content_blocks": [block]})]
        return []

    def finish(self) -> list[dict]:
        return self.writer.final_chunks(self.usage, self.error)
