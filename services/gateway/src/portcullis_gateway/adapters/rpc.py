"""NATS request/reply to the services that own the logs and the analytics tables."""

from __future__ import annotations

import msgspec
import nats.errors
from portcullis.rpc import RpcReply, decode_reply

from portcullis_gateway.adapters.nats_link import NatsLink
from portcullis_gateway.domain.errors import ServiceUnavailable


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
        return decode_reply(message.data)
    except msgspec.DecodeError:
        raise ServiceUnavailable(f"the {service} sent an unreadable reply") from None
