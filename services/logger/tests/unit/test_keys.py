"""Storage keys derive from the log id alone."""

import uuid

import pytest
import uuid_utils
from portcullis_logger.domain.keys import InvalidLogId, canonical_id, object_key, workspace_prefix

# A UUIDv7 whose 48-bit timestamp is 2024-03-05T07:08:09.010Z.
_MS = 1709622489010
V7 = str(uuid.UUID(int=(_MS << 80) | (0x7 << 76) | (0x2 << 62) | 0x123))


def test_v7_id_gives_a_dated_key():
    assert object_key("default", V7) == f"logs/default/2024/03/05/07/{V7}.json"


def test_key_uses_the_canonical_id():
    assert object_key("default", V7.upper()) == object_key("default", V7)
    assert canonical_id("{" + V7 + "}") == V7


def test_key_of_a_generated_id_is_within_the_hour_of_its_creation():
    log_id = str(uuid_utils.uuid7())
    key = object_key("w", log_id)
    assert key.startswith("logs/w/") and key.endswith(f"/{log_id}.json")
    assert len(key.split("/")) == 7


def test_other_uuid_versions_are_stored_undated():
    v4 = str(uuid.uuid4())
    assert object_key("w", v4) == f"logs/w/undated/{v4}.json"


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "../../etc/passwd", "1234"])
def test_non_uuid_ids_have_no_key(bad):
    with pytest.raises(InvalidLogId):
        object_key("w", bad)


def test_workspace_cannot_escape_its_prefix():
    assert workspace_prefix("a/../b") == "logs/a%2F..%2Fb/"
    assert object_key("a/b", V7).startswith("logs/a%2Fb/2024/")
