import logging

import msgspec
from portcullis_gateway.adapters.events import EventPipeline
from portcullis_gateway.adapters.nats_link import NatsLink
from portcullis_gateway.adapters.spool import Spool
from portcullis_gateway.domain.cost import PriceBook
from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.metrics import GatewayMetrics


def pipeline(tmp_path, buffer_max: int) -> EventPipeline:
    return EventPipeline(
        link=NatsLink("nats://127.0.0.1:1"),
        spool=Spool(tmp_path, 1_000_000),
        prices=PriceBook(),
        metrics=GatewayMetrics(),
        workspace="ws",
        organisation_id="org",
        buffer_max=buffer_max,
        batch_max=10,
        publish_timeout_s=1,
        drain_timeout_s=1,
        replay_interval_s=1,
    )


def exchange(n: int) -> Exchange:
    ex = Exchange(f"id-{n}", "t", "POST", "/v1/chat/completions", "chat", 0, [])
    ex.status = 200
    ex.provider = "openai"
    return ex


def test_a_full_buffer_drops_counts_and_warns(tmp_path, caplog):
    events = pipeline(tmp_path, buffer_max=2)
    with caplog.at_level(logging.WARNING):
        for n in range(5):
            events.record(exchange(n))
    assert [ex.request_id for ex in events.buffer] == ["id-0", "id-1"]
    text = events.metrics.render().decode()
    assert "portcullis_gateway_events_dropped_total 6.0" in text  # 3 requests x 2 events
    # The dropped requests are still counted as requests.
    assert 'status_class="2xx"} 3.0' in text
    warnings = [r for r in caplog.records if "event buffer full" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited, not one per drop
    assert warnings[0].dropped == 1


def test_build_makes_a_log_and_a_metric_message_per_exchange(tmp_path):
    events = pipeline(tmp_path, buffer_max=10)
    messages = events.build([exchange(1), exchange(2)])
    assert [(m.subject, m.msg_id) for m in messages] == [
        ("pk.logs.ws", "id-1"),
        ("pk.metrics.ws", "id-1"),
        ("pk.logs.ws", "id-2"),
        ("pk.metrics.ws", "id-2"),
    ]
    assert all(m.headers["Nats-Msg-Id"] == m.msg_id for m in messages)


def test_one_broken_exchange_does_not_stop_the_batch(tmp_path):
    events = pipeline(tmp_path, buffer_max=10)
    broken = exchange(9)
    broken.request_headers = None  # type: ignore[assignment] — a bug in the request path
    messages = events.build([broken, exchange(1)])
    assert [m.msg_id for m in messages] == ["id-1", "id-1"]
    assert "portcullis_gateway_events_build_failed_total 1.0" in events.metrics.render().decode()


async def test_shutdown_spools_the_buffer_and_late_requests_when_nats_is_away(tmp_path):
    events = pipeline(tmp_path, buffer_max=10)
    events.spool.open()
    events.record(exchange(1))
    await events.close()
    events.record(exchange(2))  # a request that finished after the drain
    ids = [m.msg_id for s in events.spool.sealed_segments() for m in events.spool.read_segment(s)]
    assert ids == ["id-1", "id-1", "id-2", "id-2"]
    events.spool.close()
    events.record(exchange(3))  # spool shut as well: counted, not silently lost
    assert "portcullis_gateway_events_dropped_total 2.0" in events.metrics.render().decode()


def test_a_caller_traceparent_rides_on_the_events_when_tracing_is_off(tmp_path):
    events = pipeline(tmp_path, buffer_max=10)
    ex = exchange(1)
    ex.trace_context = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    log_message, metric_message = events.build([ex])
    assert log_message.headers["traceparent"] == ex.trace_context
    assert metric_message.headers["traceparent"] == ex.trace_context


def test_build_masks_the_requests_credentials_wherever_they_came_back(tmp_path):
    events = pipeline(tmp_path, buffer_max=10)
    ex = exchange(3)
    key = "sk-echoed-by-the-provider"
    ex.secrets = [key]
    ex.status = 401
    ex.request_headers = [(b"x-custom-echo", key.encode())]  # no secret-looking name
    ex.response_body = (
        b'{"error": {"message": "Incorrect API key provided: ' + key.encode() + b'"}}'
    )
    ex.error = {"message": f"provider said {key}"}
    messages = events.build([ex])
    assert len(messages) == 2
    for message in messages:
        assert key.encode() not in message.data
    logged = msgspec.json.decode(messages[0].data)
    assert logged["request_headers"]["x-custom-echo"] == "[REDACTED]"
    assert logged["error"]["message"] == "provider said [REDACTED]"
    body = logged["response_body"]
    assert body["error"]["message"] == "Incorrect API key provided: [REDACTED]"
