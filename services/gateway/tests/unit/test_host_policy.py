import pytest
from portcullis_gateway.domain.errors import HostNotAllowed, InvalidRequest
from portcullis_gateway.domain.host_policy import HostPolicy, is_public_address, matches_allowlist

STRICT = HostPolicy(allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8790/v1",
        "http://localhost/v1",
        "http://api.localhost/v1",
        "http://10.1.2.3/v1",
        "http://172.16.0.1/v1",
        "http://192.168.1.1/v1",
        "http://169.254.169.254/latest",  # cloud metadata
        "http://0.0.0.0/v1",
        "http://[::1]:8000/v1",
        "http://[fe80::1]/v1",
        "http://[::ffff:127.0.0.1]/v1",
        "http://127.1/v1",  # legacy short form
        "http://2130706433/v1",  # 127.0.0.1 as one number
        "http://0x7f.0.0.1/v1",
        "http://100.64.0.1/v1",  # carrier-grade NAT, not public
    ],
)
def test_non_public_literal_hosts_are_refused_by_default(url):
    with pytest.raises(HostNotAllowed):
        STRICT.check(url)


def test_private_hosts_allowed_when_the_operator_says_so():
    policy = HostPolicy(allow_private=True)
    assert policy.check("http://127.0.0.1:8790/v1/") == "http://127.0.0.1:8790/v1"
    assert policy.check("http://localhost:1/v1") == "http://localhost:1/v1"


def test_public_hosts_pass_and_trailing_slash_is_dropped():
    assert STRICT.check("https://api.example.com/v1/") == "https://api.example.com/v1"
    assert STRICT.check("https://8.8.8.8/v1") == "https://8.8.8.8/v1"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/v1",
        "file:///etc/passwd",
        "gopher://example.com",
        "http:///v1",
        "http://user:pass@example.com/v1",
        "http://example.com/v1?key=1",
        "http://example.com:99999/v1",
        "example.com/v1",
    ],
)
def test_malformed_or_unsafe_urls_are_400(url):
    with pytest.raises(InvalidRequest):
        STRICT.check(url)


def test_allowlist_restricts_hosts():
    policy = HostPolicy(allow_private=False, allowlist=("api.example.com", "*.corp.example"))
    assert policy.check("https://api.example.com/v1")
    assert policy.check("https://llm.corp.example/v1")
    with pytest.raises(HostNotAllowed, match="allowlist"):
        policy.check("https://evil.example.org/v1")
    with pytest.raises(HostNotAllowed):
        policy.check("https://corp.example/v1")  # *.suffix means subdomains only


def test_allowlist_does_not_override_the_private_address_rule():
    policy = HostPolicy(allow_private=False, allowlist=("127.0.0.1",))
    with pytest.raises(HostNotAllowed):
        policy.check("http://127.0.0.1/v1")


def test_matches_allowlist_and_public_address_helpers():
    assert matches_allowlist("a.b.c", ("*.b.c",))
    assert not matches_allowlist("xb.c", ("*.b.c",))
    assert is_public_address("1.1.1.1")
    assert is_public_address("2606:4700:4700::1111")
    assert not is_public_address("::ffff:10.0.0.1")
    assert not is_public_address("224.0.0.1")
    assert not is_public_address("not-an-ip")
