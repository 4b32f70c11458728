"""The few facts the request path needs from bodies it otherwise passes through
untouched: the request's model and stream flag, and whether a provider's error body is
already OpenAI-shaped. msgspec skips every other field without building it."""

from __future__ import annotations

import msgspec

from portcullis_gateway.domain.errors import InvalidRequest, error_body
from portcullis_gateway.domain.json_input import check_utf8, field_error, too_deep


class RequestPeek(msgspec.Struct):
    model: str | None = None
    stream: bool | None = None


_peek_request = msgspec.json.Decoder(RequestPeek).decode


def peek_request(body: bytes) -> RequestPeek:
    """The model and stream flag, type-checked; the body's other fields are the
    provider's to judge. The body is not depth-checked here (the hot path never decodes
    it): a nesting deep enough to make msgspec's skipping recurse too far is still a
    400, the rest passes as it is."""
    check_utf8(body)
    try:
        return _peek_request(body)
    except msgspec.ValidationError as exc:
        if str(exc).startswith("Expected `object`"):
            raise InvalidRequest(
                "request body must be a JSON object", code="invalid_body"
            ) from None
        raise field_error(exc) from None
    except msgspec.DecodeError:
        raise InvalidRequest("request body is not valid JSON", code="invalid_json") from None
    except RecursionError:
        raise too_deep("request body") from None


class _ErrorPeek(msgspec.Struct):
    error: object = None


_peek_error = msgspec.json.Decoder(_ErrorPeek).decode

_TYPES_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}
_MAX_WRAPPED_TEXT = 500


def provider_error_body(provider: str, status: int, body: bytes) -> tuple[bytes, bool]:
    """The body to answer a provider error with, and whether it is the provider's own.

    An OpenAI-style error object passes through byte for byte; anything else (HTML from
    a proxy, plain text, ``{"error": "text"}``) is wrapped so clients can parse it.
    """
    message = None
    try:
        peek = _peek_error(body)
        if isinstance(peek.error, dict):
            return body, True
        if isinstance(peek.error, str):
            message = peek.error
    except msgspec.DecodeError:
        pass
    if message is None:
        text = body.decode("utf-8", "replace").strip()
        message = text[:_MAX_WRAPPED_TEXT] if text else "no body"
    kind = _TYPES_BY_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return (
        error_body(f"{provider} answered {status}: {message}", kind, "provider_error"),
        False,
    )
