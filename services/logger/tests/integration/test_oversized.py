"""Oversized events (decision 0005): the event in the JetStream Object Store, a reference
on pk.logs. The logger writes the whole event, deletes the object once acked, and stays
idempotent when a reference comes again after the object is gone."""

from __future__ import annotations

import json

import msgspec
from minio.error import S3Error
from portcullis import oversized
from portcullis.events import encode
from portcullis.subjects import logs_subject
from portcullis_logger.domain.keys import object_key

MB = 1024 * 1024


async def publish_reference(js, event, workspace: str, msg_id: str, max_payload: int, put=True):
    """What the gateway does with an event over max_payload."""
    data = encode(event)
    assert not oversized.fits(len(data), max_payload)
    if put:
        await oversized.put(js, event.id, data, max_payload)
    headers = {"Nats-Msg-Id": msg_id, oversized.OBJECT_HEADER: event.id}
    await js.publish(logs_subject(workspace), oversized.reference(data), headers=headers)


def stored(s3_client, bucket: str, workspace: str, event) -> dict | None:
    try:
        response = s3_client.get_object(bucket, object_key(workspace, event.id))
    except S3Error:  # not there (yet)
        return None
    try:
        return json.loads(response.read())
    finally:
        response.close()
        response.release_conn()


async def test_an_oversized_event_is_written_whole_then_its_object_deleted(
    kit, start_logger, nats_client, s3_client, bucket, workspace
):
    logger = start_logger()
    js = nats_client.jetstream()
    prompt = "x" * (3 * MB)
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]})
    event = kit.make_event(workspace, request_body=msgspec.Raw(body.encode()))
    await publish_reference(js, event, workspace, "first", nats_client.max_payload)

    async def written() -> bool:
        return logger.metric("portcullis_logger_written_total") == 1

    await kit.wait_for(written, what="the oversized log written")
    log = stored(s3_client, bucket, workspace, event)
    assert log is not None
    assert log["request"]["body"]["messages"][0]["content"] == prompt
    assert log["response"]["body"] == json.loads(kit.RESPONSE_BODY)
    assert log["truncated"] is False
    assert log["metrics"]["req_units"] == 7
    assert logger.metric("portcullis_logger_oversized_total") == 1

    async def deleted() -> bool:
        return await oversized.fetch(js, event.id) is None

    await kit.wait_for(deleted, what="the object deleted after the ack")

    # The same reference again (a replay past the duplicate window): the object is gone,
    # the log is in S3 already, so it is acked and the whole log is left as it is.
    await publish_reference(js, event, workspace, "again", nats_client.max_payload, put=False)

    async def settled() -> bool:
        info = await js.consumer_info("PK_LOGS", "logger")
        return info.num_pending == 0 and info.num_ack_pending == 0

    await kit.wait_for(settled, what="the second reference acked")
    assert logger.metric("portcullis_logger_consumed_total") == 2
    assert logger.metric("portcullis_logger_objects_missing_total") == 0
    assert stored(s3_client, bucket, workspace, event)["request"]["body"] == json.loads(body)


async def test_a_reference_whose_object_is_gone_is_logged_without_bodies_marked_truncated(
    kit, start_logger, nats_client, s3_client, bucket, workspace
):
    logger = start_logger()
    js = nats_client.jetstream()
    big = msgspec.Raw(json.dumps({"input": "y" * (2 * MB)}).encode())
    event = kit.make_event(workspace, request_body=big)
    await publish_reference(js, event, workspace, "lost", nats_client.max_payload, put=False)

    async def written() -> bool:
        return logger.metric("portcullis_logger_written_total") == 1

    await kit.wait_for(written, what="the reference logged")
    log = stored(s3_client, bucket, workspace, event)
    assert log["truncated"] is True
    assert log["request"]["body"] is None and log["response"]["body"] is None
    # The request itself is logged: status, usage, cost, metadata.
    assert log["response"]["status"] == 200
    assert log["metrics"]["total_units"] == 12 and log["metrics"]["cost"] == 0.000123
    assert log["metrics"]["metadata.key"] == ["env"]
    assert logger.metric("portcullis_logger_objects_missing_total") == 1
