"""Identifiers. Request ids are UUIDv7: unique, sortable, and they carry their own
creation time, so a log's storage key can be derived from its id alone."""

from __future__ import annotations

import datetime as dt
import uuid

import uuid_utils


def new_request_id() -> str:
    return str(uuid_utils.uuid7())


def new_trace_id() -> str:
    return str(uuid_utils.uuid4())


def request_id_time(request_id: str) -> dt.datetime | None:
    """The creation time encoded in a UUIDv7, or None if the id is not one."""
    try:
        value = uuid.UUID(request_id)
    except ValueError:
        return None
    if value.version != 7:
        return None
    ms = value.int >> 80
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
