"""Redelivery with back-off, then the dead-letter subject."""

from portcullis_worker.redelivery import DeadLetter, Retry, after_failure, backoff_s


def test_retries_with_exponential_backoff_before_the_limit():
    assert after_failure(1, 5, 1.0, "x") == Retry(1.0)
    assert after_failure(2, 5, 1.0, "x") == Retry(2.0)
    assert after_failure(4, 5, 0.5, "x") == Retry(4.0)


def test_dead_letters_at_the_limit_with_the_reason():
    decision = after_failure(5, 5, 1.0, "S3 write failed")
    assert isinstance(decision, DeadLetter)
    assert decision.reason == "S3 write failed (after 5 deliveries)"
    assert isinstance(after_failure(9, 5, 1.0, "x"), DeadLetter)


def test_backoff_is_capped():
    assert backoff_s(30, 1.0) == 60.0
