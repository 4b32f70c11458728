"""The shared ClickHouse helpers in portcullis.clickhouse: parameter text, URLs, names,
migration discovery."""

import pytest
from portcullis.clickhouse import (
    chdb_param_text,
    load_migrations,
    parse_clickhouse_url,
    quote_identifier,
)


def test_param_text_escapes_what_the_text_form_would_misread():
    assert chdb_param_text("a\tb\nc\\d'e") == "a\\tb\\nc\\\\d'e"
    assert chdb_param_text(True) == "1" and chdb_param_text(False) == "0"
    assert chdb_param_text(42) == "42"
    assert chdb_param_text(0.1) == "0.1"


def test_clickhouse_url_parts():
    target = parse_clickhouse_url("https://analyst:p%40ss@ch.internal/metrics")
    assert (target.host, target.port, target.secure) == ("ch.internal", 8443, True)
    assert (target.username, target.password, target.database) == ("analyst", "p@ss", "metrics")
    plain = parse_clickhouse_url("http://ch:8124")
    assert (plain.port, plain.username, plain.password, plain.database) == (
        8124,
        "default",
        "",
        None,
    )
    assert "p@ss" not in repr(target)


@pytest.mark.parametrize("bad", ["ch:8123", "ftp://ch", "http://ch/bad-name"])
def test_bad_clickhouse_urls(bad):
    with pytest.raises(ValueError):
        parse_clickhouse_url(bad)


def test_identifiers():
    assert quote_identifier("portcullis_1") == "`portcullis_1`"
    for bad in ("", "1db", "a-b", "a`b", "a b"):
        with pytest.raises(ValueError):
            quote_identifier(bad)


def test_migrations_are_numbered_in_order_with_stable_checksums():
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "requests"
    assert all(m.checksum() == m.checksum() and len(m.checksum()) == 64 for m in migrations)
    ddl = migrations[0].statements("`db`")[0]
    assert "ReplacingMergeTree" in ddl and "ORDER BY (workspace, created_at, id)" in ddl


def test_store_follows_the_backend_setting(tmp_path):
    from portcullis_analytics.adapters.store import open_store
    from portcullis_analytics.settings import AnalyticsSettings

    embedded = open_store(AnalyticsSettings(chdb_path=str(tmp_path / "ch")))
    assert (embedded.name, embedded.database) == ("chdb", "portcullis")
    assert (tmp_path / "ch").is_dir()
    server = open_store(
        AnalyticsSettings(backend="clickhouse", clickhouse_url="http://u:p@ch:8123/metrics")
    )
    assert (server.name, server.database) == ("clickhouse", "metrics")
    with pytest.raises(ValueError):
        open_store(AnalyticsSettings(backend="clickhouse"))
