"""Time as the tables hold it (naive UTC: MySQL keeps no zone) and as the API shows it."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def to_db(value: dt.datetime | None) -> dt.datetime | None:
    """An API timestamp (zone or none; none means UTC) as a naive UTC one."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
