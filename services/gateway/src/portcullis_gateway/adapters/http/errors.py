"""What can go wrong on a call to a provider, as the HTTP client reports it. The
request path maps each to the gateway's own error once (``adapters.upstream``)."""

from __future__ import annotations


class HttpClientError(Exception):
    """Base of every failure of an upstream call."""


class ConnectFailed(HttpClientError):
    """No connection could be made to any address of the host."""

    def __init__(self, message: str, os_error: OSError | None = None) -> None:
        super().__init__(message)
        self.os_error = os_error


class PrivateAddress(HttpClientError):
    """The host resolved to an address the policy does not let the gateway call."""


class RemoteClosed(HttpClientError):
    """The provider closed the connection before its answer was complete."""

    def __init__(self, message: str, *, before_answer: bool) -> None:
        super().__init__(message)
        # Nothing at all came back: on a reused keep-alive connection this is the race
        # with the provider's idle timeout, and the request may be sent again.
        self.before_answer = before_answer


class ProtocolViolation(HttpClientError):
    """The answer is not valid HTTP/1.1."""


class ConnectTimeout(HttpClientError, TimeoutError):
    """Connecting took longer than the connect timeout (or the request's deadline)."""


class ReadTimeout(HttpClientError, TimeoutError):
    """The provider went quiet for longer than the read timeout, or the request's
    deadline passed."""
