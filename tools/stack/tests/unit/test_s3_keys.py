import stat

import pytest
from portcullis_stack.s3_keys import S3Keys, keys_for, read_identities
from pydantic import SecretStr

UNSET = SecretStr("")


def test_first_run_makes_keys_kept_owner_only_and_reused_after(tmp_path):
    path = tmp_path / "data" / "s3-identities.json"
    first = keys_for(path, "", UNSET)
    assert len(first.access_key) == 20 and len(first.secret_key.get_secret_value()) == 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = keys_for(path, "", UNSET)
    assert again == first
    assert read_identities(path) == first


def test_configured_keys_win_and_are_what_the_store_is_given(tmp_path):
    path = tmp_path / "s3-identities.json"
    keys_for(path, "", UNSET)
    configured = keys_for(path, "AKCONFIGURED", SecretStr("configured-secret"))
    assert configured == S3Keys("AKCONFIGURED", SecretStr("configured-secret"))
    assert read_identities(path) == configured
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_half_a_pair_is_refused_naming_both_settings(tmp_path):
    with pytest.raises(ValueError, match="PORTCULLIS_S3_ACCESS_KEY and PORTCULLIS_S3_SECRET_KEY"):
        keys_for(tmp_path / "s3-identities.json", "AKONLY", UNSET)
    assert not (tmp_path / "s3-identities.json").exists()


def test_a_stale_temporary_file_does_not_leak_its_mode(tmp_path):
    path = tmp_path / "s3-identities.json"
    stale = tmp_path / "s3-identities.json.tmp"
    stale.write_text("left by a crash")
    stale.chmod(0o644)
    keys_for(path, "", UNSET)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not stale.exists()


def test_repr_never_shows_the_secret():
    keys = S3Keys.generate()
    assert keys.secret_key.get_secret_value() not in repr(keys)
