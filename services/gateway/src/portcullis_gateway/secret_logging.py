"""Process output masks the credentials of the request being served: a logging filter
on the service's handler replaces, in every record, each credential value that request
carries (``Exchange.secrets``), found through a context variable set when the request
starts. Each request runs in a task of its own, so the variable is that request's.
Code that logs about a request outside its task (the publisher) sets it for the time
of the call (``masking``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from portcullis_gateway.domain.secret_values import mask_text

if TYPE_CHECKING:
    from portcullis_gateway.domain.exchange import Exchange

CURRENT: ContextVar[Exchange | None] = ContextVar("portcullis_gateway_exchange", default=None)
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}
_formatter = logging.Formatter()


class SecretsFilter(logging.Filter):
    """Masks the current request's credential values in a record's message, its
    exception text and its string extras. Free when no request is current."""

    def filter(self, record: logging.LogRecord) -> bool:
        exchange = CURRENT.get()
        secrets = exchange.secrets if exchange is not None else ()
        if not secrets:
            return True
        message = record.getMessage()
        masked = mask_text(message, secrets)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info, secrets)
        for key, value in record.__dict__.items():
            if key not in _RESERVED and isinstance(value, str):
                record.__dict__[key] = mask_text(value, secrets)
        return True


@contextmanager
def masking(exchange: Exchange) -> Iterator[None]:
    """Log about ``exchange`` from outside its request's task, its credentials masked."""
    token = CURRENT.set(exchange)
    try:
        yield
    finally:
        CURRENT.reset(token)
