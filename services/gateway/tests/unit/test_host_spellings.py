"""One notion of a host: however a private address is spelled in a custom host
(Unicode digits and full stops, legacy IPv4 forms, IPv6 forms that embed IPv4, a
trailing dot, upper case), the custom-host policy refuses it, and whatever address the
HTTP client would connect to for a URL the policy lets through is a public one."""

from __future__ import annotations

import asyncio
import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from portcullis_gateway.adapters.http import ConnectFailed, HttpClient, PrivateAddress, split_url
from portcullis_gateway.domain.errors import GatewayError
from portcullis_gateway.domain.host_policy import HostPolicy, is_public_address

PRIVATE_V4 = ["127.0.0.1", "10.1.2.3", "169.254.169.254", "192.168.0.10", "172.16.5.4", "0.0.0.0"]
# Digit forms that IDNA (UTS-46) maps to ASCII digits.
_DIGIT_FORMS = [
    lambda d: d,
    lambda d: chr(0xFF10 + int(d)),  # full-width
    lambda d: chr(0x1D7CE + int(d)),  # mathematical bold
    lambda d: "⓪" if d == "0" else chr(0x2460 + int(d) - 1),  # circled
]
_DOTS = [".", "。", "．", "｡"]


@st.composite
def unicode_dotted(draw, address: str) -> str:
    dot = draw(st.sampled_from(_DOTS))
    out = []
    for part in address.split("."):
        out.append("".join(draw(st.sampled_from(_DIGIT_FORMS))(d) for d in part))
    host = dot.join(out)
    return host + (dot if draw(st.booleans()) else "")


def legacy_forms(address: str) -> list[str]:
    value = int(ipaddress.IPv4Address(address))
    a, b, c, d = address.split(".")
    return [
        str(value),
        hex(value),
        f"0{int(a):o}.{b}.{c}.{d}",
        f"{a}.{(int(b) << 16) + (int(c) << 8) + int(d)}",
        f"{a}.{b}.{(int(c) << 8) + int(d)}",
    ]


def embedded_v6(address: str) -> list[str]:
    v4 = int(ipaddress.IPv4Address(address))
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (v4 << 80))
    return [
        f"[::ffff:{address}]",
        f"[64:ff9b::{address}]",
        f"[::{address}]" if address != "0.0.0.0" else "[::]",
        f"[{sixtofour}]",
        f"[{str(sixtofour).upper()}]",
    ]


def spellings() -> st.SearchStrategy[str]:
    v4 = st.sampled_from(PRIVATE_V4)
    return st.one_of(
        v4.flatmap(unicode_dotted),
        v4.flatmap(lambda a: st.sampled_from(legacy_forms(a))),
        v4.flatmap(lambda a: st.sampled_from(embedded_v6(a))),
        st.sampled_from(
            [
                "localhost",
                "LOCALHOST",
                "localhost.",
                "ｌｏｃａｌｈｏｓｔ",
                "api.localhost",
                "[::1]",
                "[0:0:0:0:0:0:0:1]",
                "[fd00::1]",
                "[fe80::1]",
            ]
        ),
    )


def resolve(url: str, address_allowed) -> list[str]:
    """The addresses the client would open a socket to for ``url``, under the address
    check ``address_allowed`` (None: no check); raises as the client does."""
    client = HttpClient(
        connect_timeout_s=1, read_timeout_s=1, pool_size=1, address_allowed=address_allowed
    )
    origin, _ = split_url(url)
    loop = asyncio.new_event_loop()
    try:
        found = loop.run_until_complete(client._addresses(origin, loop))
    finally:
        loop.close()
    return [sockaddr[0] for _, sockaddr in found]


def would_connect_to(url: str) -> list[str] | None:
    """Where the client would connect with no policy; None for nowhere (the URL or the
    name does not resolve)."""
    try:
        return resolve(url, None)
    except (ValueError, ConnectFailed):
        return None


def client_refuses(url: str) -> bool:
    try:
        resolve(url, is_public_address)
    except (ValueError, PrivateAddress, ConnectFailed):
        return True
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=spellings())
def test_every_spelling_of_a_private_host_is_refused_by_policy_and_client(host: str) -> None:
    url = f"http://{host}:8080/v1"
    policy = HostPolicy(allow_private=False)
    try:
        policy.check(url)
        passed = True
    except GatewayError as err:
        assert err.status in (400, 403)
        passed = False
    addresses = would_connect_to(url)
    if passed:
        # What the policy let through may only ever reach public addresses.
        assert addresses is None or all(is_public_address(a) for a in addresses), (
            host,
            addresses,
        )
    # And the client, judging the addresses it resolved, refuses on its own.
    if addresses is not None and not all(is_public_address(a) for a in addresses):
        assert client_refuses(url), (host, addresses)
    # For these spellings the policy itself already refuses, before any lookup.
    assert not passed, (host, addresses)


def test_a_public_host_passes_and_is_judged_as_the_client_parses_it() -> None:
    policy = HostPolicy(allow_private=False)
    # Full-width letters map to the same ASCII host the client will resolve.
    url = "https://ａｐｉ.openai.com/v1"
    assert policy.check(url) == url
    origin, target = split_url(url + "/chat/completions")
    assert origin.host == "api.openai.com" and target == "/v1/chat/completions"


def test_embedded_ipv4_forms_take_the_embedded_address() -> None:
    for form in ("::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "::10.0.0.1"):
        assert not is_public_address(form), form
    # Teredo carries both ends; a private client end is not public.
    assert not is_public_address("2001:0:4136:e378:8000:63bf:80ff:fffe")
    assert is_public_address("64:ff9b::808:808")  # NAT64 of 8.8.8.8
    assert is_public_address("2606:4700:4700::1111")


def test_an_address_with_a_trailing_dot_is_connected_to_as_that_address() -> None:
    # Found by the fuzzing suite: the policy passed "127.0.0.1." (an allowed host) as the
    # address, then the client asked a resolver for the name "127.0.0.1." and failed.
    origin, _ = split_url("http://127.0.0.1.:8080/v1")
    assert (origin.host, origin.literal, origin.port) == ("127.0.0.1", "127.0.0.1", 8080)
    assert split_url("http://example.com./v1")[0].host == "example.com."
