"""The gateway's own failures, one type per thing a caller can act on, each mapped once
to an HTTP status and an OpenAI-style body ``{"error": {"message", "type", "param",
"code"}}``. Messages name the problem and never carry a secret."""

from __future__ import annotations

import msgspec

_encode = msgspec.json.Encoder().encode


class GatewayError(Exception):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"

    # OpenAI's ``param``: the body field (``messages[0].content``), the header or the
    # config path (``targets[1].retry.attempts``) the caller must fix, if there is one.
    param: str | None = None

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if param is not None:
            self.param = param

    def as_dict(self) -> dict:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}

    def body(self) -> bytes:
        return error_body(self.message, self.type, self.code, self.param)


class InvalidRequest(GatewayError):
    """Malformed body, headers or config: the caller must fix the request."""


class BodyTooLarge(GatewayError):
    status = 413
    code = "request_too_large"


class HostNotAllowed(GatewayError):
    """A custom host the operator's policy refuses (SSRF guard)."""

    status = 403
    type = "permission_error"
    code = "custom_host_not_allowed"


class NotFound(GatewayError):
    status = 404
    code = "not_found"


class MethodNotAllowed(GatewayError):
    status = 405
    code = "method_not_allowed"


class ProviderCredentialsRefused(GatewayError):
    """The provider's identity service refused the credentials the request carries (a
    revoked or disabled service-account key, say): the caller must fix them."""

    status = 401
    type = "authentication_error"
    code = "provider_credentials_refused"


class UpstreamUnreachable(GatewayError):
    status = 502
    type = "api_error"
    code = "upstream_unreachable"


class UpstreamTimeout(GatewayError):
    status = 504
    type = "timeout_error"
    code = "upstream_timeout"


class RequestTimeout(GatewayError):
    """The target did not answer within ``request_timeout`` / x-portkey-request-timeout."""

    status = 408
    type = "timeout_error"
    code = "request_timeout"


class CircuitOpen(GatewayError):
    """Every target the request could use has its circuit open (too many failures)."""

    status = 503
    type = "api_error"
    code = "circuit_open"


class ServiceUnavailable(GatewayError):
    """A backing service (logger, analytics, NATS) cannot answer right now."""

    status = 503
    type = "api_error"
    code = "service_unavailable"


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> bytes:
    return _encode({"error": {"message": message, "type": type_, "param": param, "code": code}})
