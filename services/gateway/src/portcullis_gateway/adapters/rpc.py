"""NATS request/reply to the services that own the logs and the analytics tables."""

from __future__ import annotations

import logging

import msgspec
import nats.errors
from portcullis import oversized
from portcullis.rpc import RpcReply, decode_reply

from portcullis_gateway.adapters.nats_link import NatsLink
from portcullis_gateway.domain.errors import ServiceUnavailable

log = logging.getLogger(__name__)


async def call(
    link: NatsLink, subject: str, payload: bytes, service: str, timeout_s: float
) -> RpcReply:
    if not link.connected:
        raise ServiceUnavailable(f"the {service} cannot be asked: NATS is not connected")
    assert link.nc is not None
    try:
        message = await link.nc.request(subject, payload, timeout=timeout_s)
    except nats.errors.NoRespondersError:
        raise ServiceUnavailable(f"no {service} is running to answer this request") from None
    except nats.errors.TimeoutError:
        raise ServiceUnavailable(
            f"the {service} did not answer within {timeout_s:g} s; try again"
        ) from None
    except nats.errors.Error as exc:
        raise ServiceUnavailable(f"the {service} cannot be asked: {type(exc).__name__}") from None
    try:
        reply = decode_reply(message.data)
    except msgspec.DecodeError:
        raise ServiceUnavailable(f"the {service} sent an unreadable reply") from None
    if reply.object is not None:
        reply = await _collect(link, reply, service)
    return reply


async def _collect(link: NatsLink, reply: RpcReply, service: str) -> RpcReply:
    """A body the service put into the object store because no reply could carry it."""
    assert link.nc is not None and reply.object is not None
    js = link.nc.jetstream()
    try:
        data = await oversized.fetch(js, reply.object)
    except (nats.errors.Error, oversized.ObjectCorrupt) as exc:
        raise ServiceUnavailable(f"the {service}'s answer could not be read: {exc}") from None
    if data is None:
        raise ServiceUnavailable(f"the {service}'s answer was gone before it was read")
    try:
        await oversized.delete(js, reply.object)
    except nats.errors.Error as exc:  # the bucket's TTL removes it
        log.warning("could not delete a read reply object", extra={"error": type(exc).__name__})
    return RpcReply(status=reply.status, body=msgspec.Raw(data))
