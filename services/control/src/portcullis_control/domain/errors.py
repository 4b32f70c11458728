"""The control plane's errors, one type per failure a caller can act on, each mapped once
to an HTTP status and the OpenAI-style body ``{"error": {"message", "type", "param",
"code"}}``. Messages name the field or scope at fault and never carry a secret."""

from __future__ import annotations


class ControlError(Exception):
    status = 400
    type = "invalid_request_error"
    code: str | None = None

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def body(self) -> dict[str, object]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(ControlError):
    code = "invalid_request"


class Unauthenticated(ControlError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class MissingScope(ControlError):
    status = 403
    type = "permission_error"
    code = "missing_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"this API key lacks the scope {scope!r}", param=scope)
        self.scope = scope


class NotFound(ControlError):
    status = 404
    code = "not_found"


class Conflict(ControlError):
    status = 409
    code = "conflict"


def duplicate_name(what: str, name: str | None, where: str = "this workspace") -> Conflict:
    return Conflict(f"a {what} named {name!r} already exists in {where}", param="name")
