"""The logger as a real process: RequestLogged events published the way the gateway
publishes them end up as LogObjects at their documented S3 key, readable by id over NATS."""

from __future__ import annotations

import asyncio
import json

import nats.js.errors
from minio.error import S3Error
from portcullis.dead_letter import DELIVERIES_HEADER, REASON_HEADER, SUBJECT_HEADER
from portcullis.events import Attempt
from portcullis.ids import new_request_id, request_id_time
from portcullis.subjects import DLQ_STREAM, LOGGER_DURABLE, LOGS_STREAM, dlq_subject


def expected_key(workspace: str, log_id: str) -> str:
    t = request_id_time(log_id)
    assert t is not None
    return f"logs/{workspace}/{t:%Y/%m/%d/%H}/{log_id}.json"


def object_bytes(s3_client, bucket: str, key: str) -> bytes | None:
    try:
        response = s3_client.get_object(bucket, key)
    except S3Error as err:
        if err.code == "NoSuchKey":
            return None
        raise
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def keys_under(s3_client, bucket: str, prefix: str) -> list[str]:
    return [o.object_name for o in s3_client.list_objects(bucket, prefix, recursive=True)]


async def test_event_is_stored_as_log_object_and_served_by_id(
    kit, start_logger, nats_client, s3_client, bucket, workspace
):
    logger = start_logger(trace_exporter="console")
    js = nats_client.jetstream()
    # Routed by a fallback config: the first target failed, the second answered.
    attempts = [
        Attempt(
            path="config.targets[0]",
            provider="anthropic",
            status=529,
            latency_ms=12.5,
            error={"message": "overloaded", "type": "api_error"},
        ),
        Attempt(path="config.targets[1]", provider="openai", status=200, latency_ms=300.2),
    ]
    event = kit.make_event(
        workspace,
        attempts=attempts,
        fallbacks=1,
        rescued=True,
        last_used_option_index="config.targets[1]",
    )
    header, trace_id, parent_span = kit.traceparent()
    await kit.publish(js, event, workspace, header=header)

    key = expected_key(workspace, event.id)

    async def stored() -> bool:
        return object_bytes(s3_client, bucket, key) is not None

    await kit.wait_for(stored, what="the log object")
    raw = object_bytes(s3_client, bucket, key)
    assert raw is not None
    # Bodies are embedded byte for byte, never re-encoded (note the odd spacing).
    assert kit.REQUEST_BODY in raw and kit.RESPONSE_BODY in raw
    assert b"sk-should-never-be-stored" not in raw

    log = json.loads(raw)
    assert set(log) >= {"_id", "request", "response", "organisation_id", "created_at", "metrics"}
    assert log["_id"] == event.id
    assert log["organisation_id"] == "org-test"
    assert log["created_at"].endswith("Z")
    assert log["request"]["url"] == "https://api.openai.com/v1/chat/completions"
    assert log["request"]["method"] == "POST"
    assert log["request"]["body"] == json.loads(kit.REQUEST_BODY)
    assert log["request"]["headers"]["authorization"] == "[REDACTED]"
    assert log["request"]["portkeyHeaders"] == {"x-portkey-provider": "openai"}
    assert log["response"] == {
        "status": 200,
        "headers": {"content-type": "application/json"},
        "body": json.loads(kit.RESPONSE_BODY),
        "responseTime": 322,
        "lastUsedOptionJsonPath": "$.config.targets[1]",
    }
    assert log["attempts"] == [
        {
            "path": "config.targets[0]",
            "provider": "anthropic",
            "status": 529,
            "latency_ms": 12.5,
            "error": {"message": "overloaded", "type": "api_error"},
        },
        {"path": "config.targets[1]", "provider": "openai", "status": 200, "latency_ms": 300.2},
    ]
    metrics = log["metrics"]
    assert metrics["ai_org"] == "openai" and metrics["ai_model"] == "gpt-4o-mini"
    assert (metrics["req_units"], metrics["res_units"], metrics["total_units"]) == (7, 5, 12)
    assert metrics["cost"] == 0.000123
    assert metrics["metadata.key"] == ["env"] and metrics["metadata.value"] == ["test"]
    assert (metrics["fallbacks"], metrics["rescued"]) == (1, True)
    assert "retries_total" not in metrics  # zero counts are omitted, as everywhere in metrics

    # Log by id: the stored bytes exactly; unknown -> 404; not a UUID -> 400.
    reply = await kit.get_log(nats_client, event.id, workspace)
    assert reply.status == 200 and bytes(reply.body) == raw
    missing = await kit.get_log(nats_client, new_request_id(), workspace)
    assert missing.status == 404 and missing.error.code == "log_not_found"
    invalid = await kit.get_log(nats_client, "not-a-uuid", workspace)
    assert invalid.status == 400 and invalid.error.type == "invalid_request_error"

    # The worker's span continues the gateway's trace (parent = the traceparent's span).
    def continued() -> bool:
        for line in logger.log_text().splitlines():
            if line.startswith('{"name"') and trace_id in line:
                span = json.loads(line)
                if span["name"].endswith("process") and span["parent_id"] == f"0x{parent_span}":
                    return True
        return False

    async def span_exported() -> bool:
        return continued()

    await kit.wait_for(span_exported, what="a process span in the gateway's trace")
    assert logger.metric("portcullis_logger_written_total") == 1


async def test_redelivered_event_is_stored_once(
    kit, start_logger, nats_client, s3_client, bucket, workspace
):
    logger = start_logger()
    js = nats_client.jetstream()
    event = kit.make_event(workspace)
    # Different Nats-Msg-Ids, so JetStream keeps both copies (as after a spool replay).
    await kit.publish(js, event, workspace, msg_id="first")
    await kit.publish(js, event, workspace, msg_id="second")

    async def both_written() -> bool:
        return logger.metric("portcullis_logger_written_total") == 2

    await kit.wait_for(both_written, what="both copies written")
    assert keys_under(s3_client, bucket, f"logs/{workspace}/") == [
        expected_key(workspace, event.id)
    ]


async def test_sigkill_with_unacked_messages_loses_and_duplicates_nothing(
    kit, start_logger, nats_client, s3_client, bucket, workspace
):
    js = nats_client.jetstream()
    events = [kit.make_event(workspace) for _ in range(400)]
    await asyncio.gather(*(kit.publish(js, e, workspace) for e in events))

    logger = start_logger(ack_wait_s="1", s3_concurrency="2", pull_batch="32")

    async def in_flight() -> bool:
        info = await js.consumer_info(LOGS_STREAM, LOGGER_DURABLE)
        return info.num_ack_pending > 0

    await kit.wait_for(in_flight, within=10, what="un-acked deliveries")
    logger.proc.kill()
    info = await js.consumer_info(LOGS_STREAM, LOGGER_DURABLE)
    assert info.num_ack_pending > 0, "the kill must leave delivered, un-acked messages"
    assert info.ack_floor.stream_seq < len(events)

    logger.proc.start(timeout=30)

    async def drained() -> bool:
        info = await js.consumer_info(LOGS_STREAM, LOGGER_DURABLE)
        return info.num_pending == 0 and info.num_ack_pending == 0

    await kit.wait_for(drained, within=60, what="every event acked after the restart")
    keys = keys_under(s3_client, bucket, f"logs/{workspace}/")
    assert sorted(keys) == sorted(expected_key(workspace, e.id) for e in events)
    # The un-acked ones came back to the new process.
    assert logger.metric("portcullis_logger_redeliveries_total") > 0


async def test_replicas_share_the_durable_consumer(
    kit, start_logger, nats_client, s3_client, bucket, workspace
):
    replicas = [start_logger(pull_batch="4", s3_concurrency="2") for _ in range(2)]
    js = nats_client.jetstream()
    events = [kit.make_event(workspace) for _ in range(120)]
    await asyncio.gather(*(kit.publish(js, e, workspace) for e in events))

    async def all_written() -> bool:
        return sum(r.metric("portcullis_logger_written_total") for r in replicas) >= len(events)

    await kit.wait_for(all_written, within=60, what="all events written")
    consumed = [r.metric("portcullis_logger_consumed_total") for r in replicas]
    assert all(c > 0 for c in consumed), f"both replicas should take work: {consumed}"
    assert len(keys_under(s3_client, bucket, f"logs/{workspace}/")) == len(events)


async def test_poison_message_goes_to_dlq_without_blocking(
    kit, start_logger, nats_client, s3_client, bucket, workspace
):
    logger = start_logger()
    js = nats_client.jetstream()
    await kit.publish(js, b"{not json", workspace, msg_id="poison")
    event = kit.make_event(workspace)
    await kit.publish(js, event, workspace)

    async def stored() -> bool:
        return object_bytes(s3_client, bucket, expected_key(workspace, event.id)) is not None

    await kit.wait_for(stored, what="the valid event behind the poison one")
    parked = await js.get_last_msg(DLQ_STREAM, dlq_subject("logs", workspace))
    assert parked.data == b"{not json"
    assert "undecodable" in parked.headers[REASON_HEADER]
    assert parked.headers[SUBJECT_HEADER] == f"pk.logs.{workspace}"
    assert logger.metric('portcullis_logger_dead_lettered_total{reason="undecodable"}') == 1

    async def settled() -> bool:  # acks are asynchronous
        info = await js.consumer_info(LOGS_STREAM, LOGGER_DURABLE)
        return info.num_ack_pending == 0 and info.num_pending == 0

    await kit.wait_for(settled, within=10, what="both messages settled")


async def test_start_before_s3_then_outage_dead_letters_after_max_deliver(
    kit, start_logger, nats_client, tmp_path, workspace, s3_server
):
    from portcullis_stack.servers import seaweed_ports, seaweed_process

    # Its own store, on the keys start_logger hands the logger; its ports are drawn now
    # so the logger can be pointed at it before it runs.
    seaweed = seaweed_process(tmp_path / "own-s3", s3_server.keys).lay_out()
    endpoint = f"127.0.0.1:{seaweed_ports(seaweed).s3}"
    # The logger comes up first and waits for S3 (start order does not matter).
    logger = start_logger(
        wait=False,
        s3_endpoint=endpoint,
        nak_delay_s="0.05",
        max_deliver="3",
        s3_connect_timeout_s="0.5",
    )
    try:
        await asyncio.sleep(1.0)
        assert not logger.proc.ready()
        seaweed.start(timeout=60)
        await asyncio.to_thread(logger.proc.wait_ready, 30)
        seaweed.kill()  # the outage

        js = nats_client.jetstream()
        event = kit.make_event(workspace)
        await kit.publish(js, event, workspace)

        async def parked() -> bool:
            try:
                await js.get_last_msg(DLQ_STREAM, dlq_subject("logs", workspace))
            except nats.js.errors.NotFoundError:
                return False
            return True

        await kit.wait_for(parked, within=30, what="the event in the DLQ")
        msg = await js.get_last_msg(DLQ_STREAM, dlq_subject("logs", workspace))
        assert msg.headers[DELIVERIES_HEADER] == "3"
        assert "S3 write failed" in msg.headers[REASON_HEADER]
        assert logger.metric("portcullis_logger_write_failures_total") == 3
        assert logger.metric('portcullis_logger_dead_lettered_total{reason="write_failed"}') == 1

        unavailable = await kit.get_log(nats_client, event.id, workspace)
        assert unavailable.status == 503 and unavailable.error.code == "store_unavailable"
    finally:
        seaweed.kill()
