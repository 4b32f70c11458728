"""The gate every JSON text from a caller passes before the gateway decodes it: a
nesting limit, checked on the bytes without recursion, valid UTF-8, and the mapping of
a msgspec type error to a 400 that names the field. Pure.

msgspec's decoder recurses once per level and, past Python's recursion limit, raises
``RecursionError`` (a 500 before this gate); the adapters and the log's redaction
recurse over decoded values as well. No real request nests anywhere near 64 levels
(OpenAI's structured outputs allow 5 levels of schema nesting, about 15 of JSON).
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

import msgspec

from portcullis_gateway.domain.errors import InvalidRequest

MAX_JSON_DEPTH = 64
_decode = msgspec.json.decode
# Everything but brackets and quotes goes before the string spans are cut out.
_NOT_MARKS = bytes(b for b in range(256) if b not in b'[]{}"')
# Opening brackets +1, closing -1, as signed bytes.
_SIGNS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
# Valid JSON this short cannot open more than MAX_JSON_DEPTH levels and close them.
_SHORTEST_TOO_DEEP = 2 * (MAX_JSON_DEPTH + 1)
_COUNT_FIRST_MAX = 16 * 1024
_AT_PATH = re.compile(r" - at `\$\.?(.*)`$")
_MISSING = re.compile(r"^Object missing required field `(.*)`")


def json_depth(data: bytes) -> int:
    """How deeply the JSON text nests (``{}`` is 1, a scalar 0): the most brackets open
    at once, not counting those inside strings. One pass of C-level byte operations
    (translate, split, accumulate) and no recursion. Exact for valid JSON; for text that
    is not JSON it is a number the decoder will not contradict before it fails, since
    the decoder never reads past the first byte that breaks the grammar."""
    if b"\\" in data:
        # A backslash escapes the byte after it, and only inside a string: with the
        # escaped backslashes blanked out first, what is left of ``\\"`` is a quote that
        # closes the string, and every remaining ``\\"`` is one that does not. Blanked,
        # not deleted: a same-length replace is about twice as fast on bodies full of
        # escaped quotes (code, embedded JSON), and the blanks go with the translate.
        data = data.replace(b"\\\\", b"  ").replace(b'\\"', b"  ")
    marks = data.translate(None, _NOT_MARKS)
    # Every quote left opens or closes a string: the even pieces are outside them.
    outside = b"".join(marks.split(b'"')[::2])
    signs = memoryview(outside.translate(_SIGNS)).cast("b")
    return max(accumulate(signs), default=0)


def too_deep(what: str, param: str | None = None) -> InvalidRequest:
    return InvalidRequest(
        f"{what} nests deeper than {MAX_JSON_DEPTH} levels", code="json_too_deep", param=param
    )


def nests_too_deep(data: bytes | str) -> bool:
    """Whether ``data`` nests deeper than ``MAX_JSON_DEPTH``."""
    size = len(data)
    if size < _SHORTEST_TOO_DEEP:
        return False
    # Text that opens no more brackets than the limit, counting those inside strings,
    # cannot nest past it. Two counts settle that for headers and most small bodies at
    # a fraction of the scan's set-up (the scan costs ~5 us on 1 KB, the counts ~1 us);
    # on a large body they would cost as much as the scan, which then runs anyway.
    if size <= _COUNT_FIRST_MAX:
        opens = (
            data.count("[") + data.count("{")
            if isinstance(data, str)
            else (data.count(b"[") + data.count(b"{"))
        )
        if opens <= MAX_JSON_DEPTH:
            return False
    if isinstance(data, str):
        # Brackets, quotes and backslashes are the same single bytes in any encoding.
        data = data.encode("utf-8", "surrogatepass")
    return json_depth(data) > MAX_JSON_DEPTH


def check_depth(data: bytes | str, what: str, param: str | None = None) -> None:
    """A 400 naming the limit when ``data`` nests deeper than ``MAX_JSON_DEPTH``."""
    if nests_too_deep(data):
        raise too_deep(what, param)


def check_utf8(body: bytes, what: str = "request body", param: str | None = None) -> None:
    """A 400 for a body that is not UTF-8, which JSON must be. msgspec checks only the
    strings it builds, so a body that is merely peeked could carry invalid bytes to the
    provider and into the log. Most bodies are ASCII: that check is a word-at-a-time
    scan with no copy; only the rest pay for a decode."""
    if body.isascii():
        return
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"{what} is not valid UTF-8 (byte {exc.start} cannot start or continue a character)",
            code="invalid_utf8",
            param=param,
        ) from None


def decode_json(
    data: bytes | str, what: str, code: str = "invalid_json", param: str | None = None
) -> Any:
    """``data`` decoded, after the depth check; bad bytes, bad JSON and too much nesting
    are 400s naming ``what``."""
    check_depth(data, what, param)
    try:
        return _decode(data)
    except UnicodeDecodeError:
        # msgspec counts from the start of the string it was building: the caller needs
        # the offset in what they sent. (Only bytes can hold invalid UTF-8.)
        assert isinstance(data, bytes)
        check_utf8(data, what, param)
        raise
    except msgspec.DecodeError:
        raise InvalidRequest(f"{what} is not valid JSON", code=code, param=param) from None


def decode_object(data: bytes, what: str = "request body") -> dict:
    """``decode_json`` for a body that must be a JSON object."""
    value = decode_json(data, what)
    if not isinstance(value, dict):
        raise InvalidRequest(f"{what} must be a JSON object", code="invalid_body")
    return value


def field_error(
    exc: msgspec.ValidationError, what: str = "request body", code: str = "invalid_body"
) -> InvalidRequest:
    """msgspec's type error as a 400 whose ``param`` is the field's path as callers
    write it (``messages[0].content``), and whose message names it too (the Anthropic
    error shape has no ``param``)."""
    text = str(exc)
    match = _AT_PATH.search(text)
    path = match.group(1) if match else ""
    detail = text[: match.start()] if match else text
    missing = _MISSING.match(detail)
    if missing:
        field = missing.group(1)
        path = f"{path}.{field}" if path else field
    if not path:
        return InvalidRequest(f"invalid {what}: {detail}", code=code)
    return InvalidRequest(f"invalid {path} in the {what}: {detail}", code=code, param=path)
