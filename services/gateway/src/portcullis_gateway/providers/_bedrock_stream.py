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

from portcullis_gateway.providers.base import ChunkWriter, error_body


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
            return [self.writer.chunk({"role": event.get("role", "assistant"), "content": ""})]
        if name == "contentBlockStart":
            tool = (event.get("start") or {}).get("toolUse")
            if not isinstance(tool, dict):
                return []
            position = len(self._tools)
            self._tools[event.get("contentBlockIndex", 0)] = position
            call = {
                "index": position,
                "id": tool.get("toolUseId"),
                "type": "function",
                "function": {"name": tool.get("name"), "arguments": ""},
            }
            return [self.writer.chunk({"tool_calls": [call]})]
        if name == "contentBlockDelta":
            return self._delta(event)
        if name == "messageStop":
            finish = self.finish_reasons.get(event.get("stopReason"), "stop")
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
            call = {"index": position, "function": {"arguments": part}}
            return [self.writer.chunk({"tool_calls": [call]})]
        if "reasoningContent" in delta and not self.strict:
            block = {"index": event.get("contentBlockIndex", 0), "delta": delta["reasoningContent"]}
            return [self.writer.chunk({"content_blocks": [block]})]
        return []

    def finish(self) -> list[dict]:
        if self.error is not None or not self.writer.include_usage or self.usage is None:
            return []
        return [self.writer.usage_chunk(self.usage)]
