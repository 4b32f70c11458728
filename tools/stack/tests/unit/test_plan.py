import os
from pathlib import Path

from portcullis_stack.plan import (
    DataPaths,
    build_plan,
    port_claims,
    service_env,
)
from portcullis_stack.s3_keys import S3Keys
from portcullis_stack.settings import StackSettings
from pydantic import SecretStr

KEYS = S3Keys("AKPLAN", SecretStr("plan-secret"))


def _settings(**overrides) -> StackSettings:
    return StackSettings(**overrides)


def test_defaults_are_the_documented_ports(monkeypatch):
    for name in [k for k in os.environ if k.startswith("PORTCULLIS_")]:
        monkeypatch.delenv(name)
    s = StackSettings()
    assert (s.nats_port, s.nats_monitor_port, s.valkey_port) == (14222, 18222, 16379)
    assert (s.s3_port, s.seaweed_master_port, s.seaweed_volume_port, s.seaweed_filer_port) == (
        18333,
        19333,
        18080,
        18888,
    )
    assert (s.gateway_port, s.logger_http_port, s.analytics_http_port, s.mock_port) == (
        8787,
        8788,
        8789,
        8790,
    )
    assert s.data_dir == Path(".portcullis")


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORTCULLIS_GATEWAY_PORT", "9787")
    monkeypatch.setenv("PORTCULLIS_DATA_DIR", "/srv/pc")
    s = StackSettings()
    assert s.gateway_port == 9787
    assert s.data_dir == Path("/srv/pc")


def test_gateway_env_points_at_nats_valkey_and_its_spool():
    s = _settings(nats_port=1111, valkey_port=2222, gateway_port=3333)
    env = service_env(s, DataPaths.under(Path("/data")), KEYS)["gateway"]
    assert env["PORTCULLIS_GATEWAY_NATS_URL"] == "nats://127.0.0.1:1111"
    assert env["PORTCULLIS_GATEWAY_REDIS_URL"] == "redis://127.0.0.1:2222/0"
    assert env["PORTCULLIS_GATEWAY_PORT"] == "3333"
    assert env["PORTCULLIS_GATEWAY_HOST"] == "127.0.0.1"
    assert env["PORTCULLIS_GATEWAY_SPOOL_DIR"] == "/data/spool/gateway"
    # The mock provider is on loopback: the SSRF guard must let it through here.
    assert env["PORTCULLIS_GATEWAY_ALLOW_PRIVATE_CUSTOM_HOSTS"] == "true"


def test_logger_env_carries_the_s3_endpoint_keys_and_bucket():
    s = _settings(s3_port=4444, logger_http_port=5555, s3_bucket="b1")
    env = service_env(s, DataPaths.under(Path("/data")), KEYS)["logger"]
    assert env["PORTCULLIS_LOGGER_S3_ENDPOINT"] == "127.0.0.1:4444"
    assert env["PORTCULLIS_LOGGER_S3_ACCESS_KEY"] == "AKPLAN"
    assert env["PORTCULLIS_LOGGER_S3_SECRET_KEY"] == "plan-secret"
    assert env["PORTCULLIS_LOGGER_S3_BUCKET"] == "b1"
    assert env["PORTCULLIS_LOGGER_S3_SECURE"] == "false"
    assert env["PORTCULLIS_LOGGER_HTTP_PORT"] == "5555"
    assert env["PORTCULLIS_LOGGER_NATS_URL"] == "nats://127.0.0.1:14222"


def test_analytics_env_uses_chdb_under_the_data_dir():
    s = _settings(analytics_http_port=6666)
    env = service_env(s, DataPaths.under(Path("/data")), KEYS)["analytics"]
    assert env["PORTCULLIS_ANALYTICS_BACKEND"] == "chdb"
    assert env["PORTCULLIS_ANALYTICS_CHDB_PATH"] == "/data/chdb"
    assert env["PORTCULLIS_ANALYTICS_HTTP_PORT"] == "6666"


def test_every_service_gets_unbuffered_output_and_its_own_prefix_only():
    envs = service_env(_settings(), DataPaths.under(Path("/data")), KEYS)
    prefixes = {
        "mock": "PORTCULLIS_MOCK_",
        "gateway": "PORTCULLIS_GATEWAY_",
        "logger": "PORTCULLIS_LOGGER_",
        "analytics": "PORTCULLIS_ANALYTICS_",
    }
    assert set(envs) == set(prefixes)
    for name, env in envs.items():
        assert env["PYTHONUNBUFFERED"] == "1"
        others = [k for k in env if k != "PYTHONUNBUFFERED"]
        assert others and all(k.startswith(prefixes[name]) for k in others), name


def test_port_claims_cover_every_port_and_seaweed_grpc_ports():
    s = _settings(s3_port=20001, seaweed_master_port=20002)
    claims = {c.port: c for c in port_claims(s)}
    assert claims[20001].setting == "PORTCULLIS_S3_PORT"
    assert claims[30001].setting == "PORTCULLIS_S3_PORT"
    assert "gRPC" in claims[30001].owner
    assert claims[30002].setting == "PORTCULLIS_SEAWEED_MASTER_PORT"
    for port in (14222, 18222, 16379, 18080, 28080, 18888, 28888, 8787, 8788, 8789, 8790):
        assert port in claims, port
    assert len(port_claims(s)) == 15


def test_plan_starts_infra_then_services_with_data_under_data_dir(tmp_path):
    s = _settings(nats_port=1111, mock_port=7777)
    plan = build_plan(s, DataPaths.under(tmp_path), "/venv/bin/python", KEYS)
    assert [p.name for p in plan] == [
        "nats",
        "valkey",
        "seaweedfs",
        "mock",
        "gateway",
        "logger",
        "analytics",
    ]
    by_name = {p.name: p for p in plan}
    assert str(tmp_path / "nats") in by_name["nats"].argv
    assert "-js" in by_name["nats"].argv and "1111" in by_name["nats"].argv
    assert str(tmp_path / "valkey") in by_name["valkey"].argv
    assert f"-dir={tmp_path / 'seaweedfs'}" in by_name["seaweedfs"].argv
    # The store takes only the keys in the data dir's identities file, and the secret
    # is on no command line (`ps` shows those to every user).
    assert f"-s3.config={tmp_path / 's3-identities.json'}" in by_name["seaweedfs"].argv
    assert not [p.name for p in plan if any("plan-secret" in a for a in p.argv)]
    assert by_name["gateway"].argv == ["/venv/bin/python", "-m", "portcullis_gateway"]
    assert by_name["mock"].argv[-4:] == ["--host", "127.0.0.1", "--port", "7777"]


def test_shell_command_execs_and_quotes(tmp_path):
    weird = DataPaths.under(tmp_path / "with space")
    plan = build_plan(_settings(), weird, "/venv/bin/python", KEYS)
    cmd = next(p for p in plan if p.name == "valkey").shell_command()
    assert cmd.startswith("exec ")
    assert f"'{tmp_path / 'with space' / 'valkey'}'" in cmd


def test_every_process_is_in_exactly_one_stop_phase(tmp_path):
    from portcullis_stack.up import STOP_PHASES

    names = [p.name for p in build_plan(_settings(), DataPaths.under(tmp_path), "python", KEYS)]
    phased = [name for phase in STOP_PHASES for name in phase]
    assert sorted(phased) == sorted(names)
    # The gateway stops before the workers, and they before NATS.
    position = {name: i for i, phase in enumerate(STOP_PHASES) for name in phase}
    assert position["gateway"] < position["logger"] < position["nats"]
