"""Gemini's ``streamGenerateContent?alt=sse`` events -> OpenAI chat completion chunks.

Each event is a whole GenerateContentResponse holding the next slice of each candidate:
text parts become content deltas, a ``functionCall`` part arrives complete and becomes
one tool-call chunk, ``finishReason`` ends the choice. ``usageMetadata`` is repeated
cumulatively on the events; the last one is the provider's total. An ``error`` event
mid-stream becomes the OpenAI error event.
"""

from __future__ import annotations

from collections.abc import Callable

from portcullis_gateway.providers._openai_shapes import ChunkWriter


class GeminiStream:
    def __init__(
        self,
        include_usage: bool,
        created: int,
        strict_openai: bool,
        finish_reason: Callable[[str, bool], str | None],
        function_call: Callable[[dict, int], dict],
        usage_from: Callable[[dict], dict],
        map_error: Callable[[int, object], tuple[int, dict]],
    ) -> None:
        self.writer = ChunkWriter("", "", created, include_usage)
        self.strict = strict_openai
        self.finish_reason = finish_reason
        self.function_call = function_call
        self.usage_from = usage_from
        self.map_error = map_error
        self.usage: dict | None = None
        self.error: dict | None = None
        self._started = False
        self._calls: dict[int, int] = {}  # candidate index -> tool calls sent so far

    def feed(self, event: object, event_name: str | None = None) -> list[dict]:
        if not isinstance(event, dict) or self.error is not None:
            return []
        if "error" in event:
            self.error = self.map_error(500, event)[1]
            return [self.error]
        if isinstance(event.get("usageMetadata"), dict):
            self.usage = self.usage_from(event["usageMetadata"])
        out: list[dict] = []
        if not self._started:
            self._started = True
            self.writer.id = str(event.get("responseId") or "")
            self.writer.model = str(event.get("modelVersion") or "")
            out.append(self.writer.role_chunk())
        for candidate in event.get("candidates") or ():
            index = candidate.get("index", 0)
            for part in (candidate.get("content") or {}).get("parts") or ():
                out.extend(self._part(index, part))
            reason = candidate.get("finishReason")
            if reason is not None:
                finish = self.finish_reason(reason, self._calls.get(index, 0) > 0)
                out.append(self._at(index, self.writer.chunk({}, finish)))
        return out

    def _part(self, index: int, part: dict) -> list[dict]:
        if "functionCall" in part:
            position = self._calls.get(index, 0)
            self._calls[index] = position + 1
            call = self.function_call(part["functionCall"], position)
            return [self._at(index, self.writer.tool_call_chunk(position, call))]
        if part.get("thought"):
            if self.strict:
                return []
            block = {"index": 0, "type": "thinking", "thinking": part.get("text", "")}
            return [self._at(index, self.writer.chunk({"content_blocks": [block]}))]
        if part.get("text"):
            return [self._at(index, self.writer.chunk({"content": part["text"]}))]
        return []

    @staticmethod
    def _at(index: int, chunk: dict) -> dict:
        chunk["choices"][0]["index"] = index
        return chunk

    def finish(self) -> list[dict]:
        return self.writer.final_chunks(self.usage, self.error)
