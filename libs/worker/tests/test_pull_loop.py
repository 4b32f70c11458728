"""The pull loop's decisions: how much to fetch while messages are held, when a batch is
full enough, and how a fetch is split into handler calls."""

from portcullis_worker.pull_loop import (
    FETCH_WAIT_S,
    MIN_FETCH_S,
    PullSizing,
    fetch_size,
    handler_calls,
    still_to_fill,
)


def test_concurrent_messages_hold_every_slot_plus_one_batch():
    sizing = PullSizing.concurrent_messages(batch=64, concurrency=32)
    assert sizing.max_held == 96
    assert fetch_size(0, sizing) == 64
    # 48 held: room for 48, at least half of what may be held, so it fetches them.
    assert fetch_size(48, sizing) == 48
    # Less room than that: wait for handlers to finish rather than fetch a trickle.
    assert fetch_size(49, sizing) == 0
    assert fetch_size(96, sizing) == 0


def test_concurrent_messages_with_few_slots_still_fetch_in_batches():
    sizing = PullSizing.concurrent_messages(batch=64, concurrency=4)
    assert fetch_size(0, sizing) == 64
    assert fetch_size(34, sizing) == 34
    assert fetch_size(35, sizing) == 0


def test_one_batch_at_a_time_fetches_only_once_the_batch_is_settled():
    sizing = PullSizing.one_batch_at_a_time(batch_size=500, batch_wait_s=0.2)
    assert fetch_size(0, sizing) == 500
    # Even a small batch still being inserted keeps the next one in JetStream.
    assert fetch_size(1, sizing) == 0
    assert fetch_size(500, sizing) == 0


def test_collection_windows():
    assert PullSizing.concurrent_messages(64, 32).fetch_window_s == FETCH_WAIT_S
    assert PullSizing.one_batch_at_a_time(500, 0.2).fetch_window_s == 0.2
    # Shorter than nats-py can ask the server for: raised, not fetched with no wait.
    assert PullSizing.one_batch_at_a_time(500, 0).fetch_window_s == MIN_FETCH_S * 2


def test_a_batch_is_filled_until_full_or_out_of_time():
    assert still_to_fill(0, 500, 0.2) == 500
    assert still_to_fill(120, 500, 0.1) == 380
    assert still_to_fill(500, 500, 0.1) == 0
    assert still_to_fill(120, 500, MIN_FETCH_S / 2) == 0


def test_handler_calls_per_message_or_per_batch():
    fetched = ["a", "b", "c"]
    assert handler_calls(fetched, per_message=True) == [["a"], ["b"], ["c"]]
    assert handler_calls(fetched, per_message=False) == [["a", "b", "c"]]
    assert handler_calls([], per_message=False) == []
