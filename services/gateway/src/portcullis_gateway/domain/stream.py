"""Assemble a streamed OpenAI answer (server-sent events) into the object the same
request would have returned without streaming, for the log: chat and text-completion
chunks, or the typed events of the Responses API and the audio streams (``EVENTS``).

The request path only keeps the raw chunks and their arrival times; this runs later,
off the request path, in the event publisher.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

CHAT = "chat"
COMPLETION = "completion"
EVENTS = "events"
# The events that end a typed-event stream.
_FINAL_EVENTS = frozenset(
    {
        "response.completed",
        "response.incomplete",
        "response.failed",
        "transcript.text.done",
        "speech.audio.done",
    }
)


class FunctionDelta(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(msgspec.Struct):
    index: int = 0
    id: str | None = None
    type: str | None = None
    function: FunctionDelta | None = None


class Delta(msgspec.Struct):
    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChoiceChunk(msgspec.Struct):
    index: int = 0
    delta: Delta | None = None
    text: str | None = None  # text completions
    finish_reason: str | None = None


class Chunk(msgspec.Struct):
    id: str | None = None
    created: int | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    choices: list[ChoiceChunk] | None = None
    usage: dict | None = None
    error: dict | None = None


_decode_chunk = msgspec.json.Decoder(Chunk).decode


@dataclass
class _Choice:
    role: str | None = None
    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: dict[int, dict] = field(default_factory=dict)
    finish_reason: str | None = None


@dataclass
class StreamSummary:
    body: dict
    usage: dict | None
    # Index of the chunk that carried the first token (content, refusal, reasoning or a
    # tool call), for time to first token.
    first_token_chunk: int | None
    error: dict | None
    done: bool
    text: str  # all generated text, for a local token estimate when usage is missing


def iter_events(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete ``data`` payloads in ``buffer`` and the incomplete rest."""
    events: list[bytes] = []
    normalised = buffer.replace(b"\r\n", b"\n") if b"\r" in buffer else buffer
    *complete, rest = normalised.split(b"\n\n")
    for block in complete:
        if block.startswith(b"data:") and b"\n" not in block:
            events.append(block[5:].lstrip(b" "))  # the common event: one data line
            continue
        data = [line[5:].lstrip(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
        if data:
            events.append(b"\n".join(data))
    return events, rest


class StreamAssembler:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.choices: dict[int, _Choice] = {}
        self.meta: dict = {}
        self.usage: dict | None = None
        self.error: dict | None = None
        self.done = False
        self.first_token_chunk: int | None = None
        # Each is taken from the first chunk that has it; looked for until found.
        self._missing_meta = ["id", "created", "model", "system_fingerprint"]

    def feed_all(self, chunks: list[bytes]) -> StreamSummary:
        buffer = b""
        for index, chunk in enumerate(chunks):
            if self.first_token_chunk is not None:
                # Chunk indexes only date the first token: the rest is split in one go.
                events, buffer = iter_events(buffer + b"".join(chunks[index:]))
                for data in events:
                    self._event(data, index)
                break
            events, buffer = iter_events(buffer + chunk)
            for data in events:
                self._event(data, index)
        if buffer.strip():
            events, _ = iter_events(buffer + b"\n\n")
            for data in events:
                self._event(data, len(chunks) - 1)
        return self.summary()

    def _event(self, data: bytes, chunk_index: int) -> None:
        if data == b"[DONE]":
            self.done = True
            return
        try:
            chunk = _decode_chunk(data)
        except msgspec.DecodeError:
            return  # not ours to judge; the caller already got the bytes
        if chunk.error is not None:
            self.error = chunk.error
            return
        missing = self._missing_meta
        if missing:
            for key in tuple(missing):
                value = getattr(chunk, key)
                if value is not None:
                    self.meta[key] = value
                    missing.remove(key)
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices or ():
            if self._choice(choice) and self.first_token_chunk is None:
                self.first_token_chunk = chunk_index

    def _choice(self, chunk: ChoiceChunk) -> bool:
        """Merge one choice delta; True when it carried generated output."""
        state = self.choices.get(chunk.index)
        if state is None:  # not setdefault: it would build a _Choice for every event
            state = self.choices[chunk.index] = _Choice()
        if chunk.finish_reason is not None:
            state.finish_reason = chunk.finish_reason
        if chunk.text:
            state.content.append(chunk.text)
            return True
        delta = chunk.delta
        if delta is None:
            return False
        produced = False
        if delta.role:
            state.role = delta.role
        if delta.content:
            state.content.append(delta.content)
            produced = True
        if delta.refusal:
            state.refusal.append(delta.refusal)
            produced = True
        if delta.reasoning_content:
            state.reasoning.append(delta.reasoning_content)
            produced = True
        for call in delta.tool_calls or ():
            produced = True
            slot = state.tool_calls.setdefault(
                call.index,
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if call.id:
                slot["id"] = call.id
            if call.type:
                slot["type"] = call.type
            if call.function is not None:
                if call.function.name:
                    slot["function"]["name"] += call.function.name
                if call.function.arguments:
                    slot["function"]["arguments"] += call.function.arguments
        return produced

    def summary(self) -> StreamSummary:
        choices = []
        texts = []
        for index in sorted(self.choices):
            state = self.choices[index]
            text = "".join(state.content)
            texts.append(text)
            texts.extend(c["function"]["arguments"] for c in state.tool_calls.values())
            if self.kind == COMPLETION:
                choices.append(
                    {
                        "index": index,
                        "text": text,
                        "logprobs": None,
                        "finish_reason": state.finish_reason,
                    }
                )
                continue
            message: dict = {"role": state.role or "assistant", "content": text or None}
            if state.refusal:
                message["refusal"] = "".join(state.refusal)
            if state.reasoning:
                message["reasoning_content"] = "".join(state.reasoning)
            if state.tool_calls:
                message["tool_calls"] = [state.tool_calls[i] for i in sorted(state.tool_calls)]
            choices.append(
                {
                    "index": index,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": state.finish_reason,
                }
            )
        body = {
            "id": self.meta.get("id"),
            "object": "chat.completion" if self.kind == CHAT else "text_completion",
            "created": self.meta.get("created"),
            "model": self.meta.get("model"),
        }
        if "system_fingerprint" in self.meta:
            body["system_fingerprint"] = self.meta["system_fingerprint"]
        body["choices"] = choices
        if self.usage is not None:
            body["usage"] = self.usage
        return StreamSummary(
            body=body,
            usage=self.usage,
            first_token_chunk=self.first_token_chunk,
            error=self.error,
            done=self.done,
            text="".join(texts),
        )


class EventStreamAssembler(StreamAssembler):
    """Streams of typed events (``{"type": "response.output_text.delta", ...}``): the
    Responses API, whose last ``response.*`` event carries the whole response and its
    usage, and the audio streams, whose last event (``transcript.text.done``) is the
    answer. The log's body is that response, else that last event."""

    def __init__(self) -> None:
        super().__init__(EVENTS)
        self.response: dict | None = None
        self.last: dict | None = None
        self.text: list[str] = []

    def _event(self, data: bytes, chunk_index: int) -> None:
        if data == b"[DONE]":
            self.done = True
            return
        try:
            event = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        self.last = event
        if kind in _FINAL_EVENTS:
            self.done = True
        response = event.get("response")
        if isinstance(response, dict):
            self.response = response
            if isinstance(response.get("error"), dict):
                self.error = response["error"]
        delta = event.get("delta")
        if isinstance(kind, str) and kind.endswith("text.delta") and isinstance(delta, str):
            self.text.append(delta)
            if self.first_token_chunk is None:
                self.first_token_chunk = chunk_index
        if kind == "error":
            self.error = {
                "message": event.get("message"),
                "type": "server_error",
                "code": event.get("code"),
            }

    def summary(self) -> StreamSummary:
        body = self.response if self.response is not None else (self.last or {})
        usage = body.get("usage")
        return StreamSummary(
            body=body,
            usage=usage if isinstance(usage, dict) else None,
            first_token_chunk=self.first_token_chunk,
            error=self.error,
            done=self.done,
            text="".join(self.text),
        )


def assemble(chunks: list[bytes], kind: str) -> StreamSummary:
    assembler = EventStreamAssembler() if kind == EVENTS else StreamAssembler(kind)
    return assembler.feed_all(chunks)
