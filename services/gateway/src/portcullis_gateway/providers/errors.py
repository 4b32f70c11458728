"""Provider error bodies -> OpenAI-style ``{"error": {message, type, param, code}}``.

Providers disagree on the shape (``{"error": {...}}``, ``{"error": "text"}``, FastAPI's
``{"detail": ...}``, Mistral's ``{"object": "error", "message": ...}``, plain text); the
caller always gets OpenAI's, with the provider's status kept.
"""

from __future__ import annotations

from typing import Any

from portcullis_gateway.providers._openai_shapes import error_body

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def type_for(status: int) -> str:
    return _TYPE_BY_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list) and value:
        # FastAPI validation errors: [{"loc": [...], "msg": "..."}]
        parts = [str(v.get("msg", v)) if isinstance(v, dict) else str(v) for v in value]
        return "; ".join(parts)
    return None


def normalize_error(status: int, body: Any, provider: str) -> tuple[int, dict]:
    """Always returns an error status (a 2xx error body becomes 502)."""
    status = status if status >= 400 else 502
    kind = type_for(status)
    code: Any = None
    param: Any = None
    message: str | None = None
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            message = _text(inner.get("message"))
            inner_kind = inner.get("type")
            kind = inner_kind if isinstance(inner_kind, str) else kind
            code = inner.get("code")
            param = inner.get("param")
        else:
            message = _text(inner) or _text(body.get("detail")) or _text(body.get("message"))
            if isinstance(body.get("type"), str):
                kind = body["type"]
            code = body.get("code")
    elif isinstance(body, str | bytes):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        message = text.strip()[:500] or None
    message = message or f"{provider} returned status {status}"
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    return status, error_body(
        message,
        kind,
        code if isinstance(code, str) else None,
        param if isinstance(param, str) else None,
    )
