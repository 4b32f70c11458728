"""What the log keeps of a body that streams through the gateway: JSON and text bodies
up to a cap as they are, anything else — binary audio, multipart uploads, file
downloads, bodies over the cap — as ``{"content_type", "bytes"}`` only. The tap sees
each chunk as it passes and keeps references, no copies, until the cap is crossed."""

from __future__ import annotations

import msgspec

from portcullis_gateway.domain.bodies import peek_request
from portcullis_gateway.domain.errors import GatewayError

# Bodies above this are logged as metadata: a log event is not a blob store.
LOG_BODY_MAX = 1024 * 1024
_encode = msgspec.json.Encoder().encode
_TEXT_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-www-form-urlencoded")


def is_json_type(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def is_text_type(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or is_json_type(media)


def metadata(content_type: str, size: int) -> bytes:
    return _encode({"content_type": content_type or None, "bytes": size})


class BodyTap:
    __slots__ = ("content_type", "cap", "keep", "parts", "size")

    def __init__(self, content_type: str, cap: int = LOG_BODY_MAX) -> None:
        self.content_type = content_type
        self.cap = cap
        self.keep = is_text_type(content_type)
        self.parts: list[bytes] = []
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if not self.keep:
            return
        if self.size > self.cap:
            self.keep = False
            self.parts = []
        else:
            self.parts.append(chunk)

    def body(self) -> bytes:
        """The body for the log: what passed, or its metadata (itself JSON)."""
        if self.keep:
            return self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)
        return metadata(self.content_type, self.size)

    def request_body(self) -> tuple[bytes, bool, str | None]:
        """The request body for the log, whether it is JSON to embed as is, and the
        model it names (JSON object bodies only)."""
        body = self.body()
        if not self.keep:
            return body, True, None
        if not is_json_type(self.content_type):
            return body, False, None
        try:
            return body, True, peek_request(body).model
        except GatewayError:
            return body, False, None  # not an object, or not JSON at all: logged as text
