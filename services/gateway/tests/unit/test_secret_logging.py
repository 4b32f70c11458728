"""Process output: the filter on the gateway's log handler masks the current request's
credential values in the message, its arguments, the exception and the extras, through
the same JSON formatter the service uses."""

import io
import logging

import msgspec
from portcullis.telemetry import JsonFormatter
from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.secret_logging import CURRENT, SecretsFilter, masking

KEY = "sk-process-output-key-1"


def capture() -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("gateway"))
    handler.addFilter(SecretsFilter())
    logger = logging.getLogger(f"test.secret_logging.{id(out)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, out


def exchange_with(*secrets: str) -> Exchange:
    ex = Exchange("id-1", "t", "POST", "/v1/chat/completions", "chat", 0, [])
    ex.secrets = list(secrets)
    return ex


def test_the_current_requests_key_is_masked_everywhere_in_a_record():
    logger, out = capture()
    token = CURRENT.set(exchange_with(KEY))
    try:
        try:
            raise ValueError(f"provider refused {KEY}")
        except ValueError:
            logger.exception("call with %s failed", KEY, extra={"detail": f"key={KEY}"})
    finally:
        CURRENT.reset(token)
    text = out.getvalue()
    assert KEY not in text
    line = msgspec.json.decode(text.splitlines()[0])
    assert line["msg"] == "call with [REDACTED] failed"
    assert "provider refused [REDACTED]" in line["exc"]
    assert line["detail"] == "key=[REDACTED]"


def test_outside_a_request_nothing_is_changed():
    logger, out = capture()
    logger.info("plain %s", "text")
    assert msgspec.json.decode(out.getvalue())["msg"] == "plain text"


def test_the_publisher_masks_for_the_exchange_it_logs_about():
    logger, out = capture()
    with masking(exchange_with(KEY)):
        logger.warning("building %s", KEY)
    logger.warning("after %s", KEY)  # no request current any more: left as it is
    first, second = out.getvalue().splitlines()
    assert KEY not in first and KEY in second
