"""Ollama's NDJSON chat stream -> OpenAI chunks, and the answer pieces the JSON response
shares with it (tool calls without ids, usage from the eval counts, done_reason)."""

from __future__ import annotations

from portcullis_gateway.providers._openai_shapes import (
    ChunkWriter,
    error_body,
    json_arguments,
    openai_finish,
    openai_usage,
    tool_call,
)

FINISH_REASONS = {"stop": "stop", "length": "length"}


def tool_calls(calls: list, start: int = 0) -> list[dict]:
    """Ollama's calls carry no ids: they are numbered across the answer."""
    out = []
    for position, call in enumerate(calls, start):
        function = call.get("function") or {}
        arguments = json_arguments(function.get("arguments"))
        out.append(tool_call(f"call_{position}", function.get("name"), arguments))
    return out


def usage_from(body: dict) -> dict:
    return openai_usage(int(body.get("prompt_eval_count") or 0), int(body.get("eval_count") or 0))


def finish_reason(body: dict, has_calls: bool) -> str:
    return "tool_calls" if has_calls else openai_finish(FINISH_REASONS, body.get("done_reason"))


class OllamaStream:
    """NDJSON lines -> chunks: the first line also opens the role, tool calls arrive
    whole in one line, and the ``done`` line carries the finish reason and usage."""

    def __init__(self, include_usage: bool, created: int, strict_openai: bool) -> None:
        self.writer = ChunkWriter(f"chatcmpl-ollama-{created}", "", created, include_usage)
        self.strict = strict_openai
        self.usage: dict | None = None
        self.error: dict | None = None
        self._started = False
        self._calls = 0

    def feed(self, event: object, event_name: str | None = None) -> list[dict]:
        if not isinstance(event, dict) or self.error is not None:
            return []
        if "error" in event:
            self.error = error_body(str(event["error"]), "api_error")
            return [self.error]
        out: list[dict] = []
        if not self._started:
            self._started = True
            self.writer.model = str(event.get("model", ""))
            out.append(self.writer.role_chunk())
        message = event.get("message") or {}
        if message.get("thinking") and not self.strict:
            block = {"index": 0, "type": "thinking", "thinking": message["thinking"]}
            out.append(self.writer.chunk({"content_blocks": [block]}))
        if message.get("tool_calls"):
            calls = tool_calls(message["tool_calls"], self._calls)
            for position, call in enumerate(calls, self._calls):
                out.append(self.writer.tool_call_chunk(position, call))
            self._calls += len(calls)
        if message.get("content"):
            out.append(self.writer.chunk({"content": message["content"]}))
        if event.get("done"):
            self.usage = usage_from(event)
            out.append(self.writer.chunk({}, finish_reason(event, self._calls > 0)))
        return out

    def finish(self) -> list[dict]:
        return self.writer.final_chunks(self.usage, self.error)
