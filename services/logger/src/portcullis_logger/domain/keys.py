"""Where a log lives in the bucket, derived from its id alone (no index needed):

``logs/<workspace>/<yyyy>/<mm>/<dd>/<hh>/<id>.json`` with the UTC hour taken from the
UUIDv7 id's own timestamp. Ids that are UUIDs of another version (not produced by the
gateway, but accepted) go to ``logs/<workspace>/undated/<id>.json``. The workspace is
percent-encoded so no workspace name can escape its prefix.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from portcullis.ids import request_id_time

LOGS_PREFIX = "logs"


class InvalidLogId(ValueError):
    """The id is not a UUID, so no storage key can be derived from it."""


def canonical_id(log_id: str) -> str:
    try:
        return str(uuid.UUID(log_id))
    except (ValueError, AttributeError, TypeError):
        raise InvalidLogId(f"log id {log_id!r} is not a UUID") from None


def workspace_prefix(workspace: str) -> str:
    return f"{LOGS_PREFIX}/{quote(workspace, safe='')}/"


def object_key(workspace: str, log_id: str) -> str:
    """The object key of a log; raises InvalidLogId for an id that is not a UUID."""
    cid = canonical_id(log_id)
    created = request_id_time(cid)
    if created is None:
        return f"{workspace_prefix(workspace)}undated/{cid}.json"
    return f"{workspace_prefix(workspace)}{created:%Y/%m/%d/%H}/{cid}.json"
