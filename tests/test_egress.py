"""Outbound connections to user-configured destinations reach only public addresses and the
operator's allowed networks, judged on the address actually connected to."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from failcast.config import Settings
from failcast.egress import (
    EgressPolicy,
    EgressRefused,
    OutboundClient,
    connect_socket,
    is_refusal,
)

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)

INTERNAL = [
    "127.0.0.1",
    "127.10.20.30",
    "0.0.0.0",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "::1",
    "::",
    "::ffff:169.254.169.254",
    "::ffff:127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::1",
    "fe80::1",
    "fd00::1",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
]
PUBLIC = ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused(address: str) -> None:
    assert not EgressPolicy().allows(address)
    assert EgressPolicy().check_host(address) is not None
    assert EgressPolicy().check_host(f"[{address}]" if ":" in address else address) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_admitted(address: str) -> None:
    assert EgressPolicy().allows(address)
    assert EgressPolicy().check_host(address) is None


def test_the_operator_allowlist_admits_its_networks_only() -> None:
    policy = EgressPolicy(LOOPBACK)
    assert policy.allows("127.0.0.1") and policy.allows("::ffff:127.0.0.1")
    assert not policy.allows("169.254.169.254") and not policy.allows("10.0.0.1")
    assert policy.check_host("localhost") is None
    assert EgressPolicy().check_host("localhost") is not None
    assert EgressPolicy().check_host("db.localhost.") is not None
    # Names are judged when connecting, on what they resolve to.
    assert EgressPolicy().check_host("hooks.example.com") is None


def test_settings_take_comma_separated_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAILCAST_OUTBOUND_ALLOWED_NETWORKS", "10.1.2.3/8, 192.168.0.0/24")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.outbound_allowed_networks == ["10.0.0.0/8", "192.168.0.0/24"]
    assert EgressPolicy.from_settings(settings).allows("10.9.9.9")
    monkeypatch.setenv("FAILCAST_OUTBOUND_ALLOWED_NETWORKS", "not-a-network")
    with pytest.raises(ValueError, match="CIDR"):
        Settings(_env_file=None)  # type: ignore[call-arg]


class _Recorder(BaseHTTPRequestHandler):
    hosts: list[str] = []

    def do_GET(self) -> None:
        type(self).hosts.append(self.headers["Host"])
        body = b"internal_secret 42\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def internal_server() -> Iterator[tuple[int, list[str]]]:
    """A real HTTP server on loopback standing for an internal service; records Host headers."""

    class Handler(_Recorder):
        hosts: list[str] = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, Handler.hosts
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class FakeDns:
    """A resolver that answers each name from a script, one answer per lookup: a name that
    first resolves to a public address and then to loopback is DNS rebinding."""

    def __init__(self, script: dict[str, list[str]]) -> None:
        self.script = {name: list(answers) for name, answers in script.items()}
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[tuple[int, str]]:
        self.lookups.append(host)
        answers = self.script[host]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        family = 10 if ":" in address else 2
        return [(family, address)]


async def test_a_name_resolving_to_loopback_is_refused_when_connecting(
    internal_server: tuple[int, list[str]],
) -> None:
    port, hosts = internal_server
    dns = FakeDns({"metrics.example.com": ["127.0.0.1"]})
    async with OutboundClient(EgressPolicy(resolver=dns)) as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await http.get(f"http://metrics.example.com:{port}/")
    assert is_refusal(caught.value)
    assert hosts == []  # nothing reached the internal server
    assert dns.lookups == ["metrics.example.com"]


async def test_rebinding_after_a_harmless_first_answer_does_not_get_through(
    internal_server: tuple[int, list[str]],
) -> None:
    port, hosts = internal_server
    # The first lookup (any check made ahead of time) sees a public address; the lookup the
    # connection uses sees loopback. Only the latter decides.
    dns = FakeDns({"rebind.example.com": ["93.184.216.34", "127.0.0.1"]})
    policy = EgressPolicy(resolver=dns)
    assert await policy.resolve("rebind.example.com", port, 5) == [(2, "93.184.216.34")]
    async with OutboundClient(policy) as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await http.get(f"http://rebind.example.com:{port}/")
    assert is_refusal(caught.value)
    assert hosts == []


async def test_an_allowed_destination_is_reached_at_the_checked_address_with_its_own_name(
    internal_server: tuple[int, list[str]],
) -> None:
    port, hosts = internal_server
    dns = FakeDns({"receiver.internal": ["127.0.0.1"]})
    async with OutboundClient(EgressPolicy(LOOPBACK, resolver=dns)) as http:
        response = await http.get(f"http://receiver.internal:{port}/metrics")
    assert response.text == "internal_secret 42\n"
    # The connection went to the address that was checked; the request still names the host.
    assert hosts == [f"receiver.internal:{port}"]


async def test_literal_internal_urls_are_refused_without_a_lookup(
    internal_server: tuple[int, list[str]],
) -> None:
    port, hosts = internal_server
    for url in (
        f"http://127.0.0.1:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://0.0.0.0:{port}/",
        f"http://2130706433:{port}/",
    ):
        async with OutboundClient(EgressPolicy()) as http:
            with pytest.raises(httpx.ConnectError) as caught:
                await http.get(url)
        assert is_refusal(caught.value), url
    assert hosts == []


async def test_sockets_for_smtp_go_through_the_same_check(
    internal_server: tuple[int, list[str]],
) -> None:
    port, _ = internal_server
    dns = FakeDns({"mail.example.com": ["127.0.0.1"]})
    with pytest.raises(EgressRefused):
        await connect_socket(EgressPolicy(resolver=dns), "mail.example.com", port, 5)
    allowed = await connect_socket(
        EgressPolicy(LOOPBACK, resolver=dns), "mail.example.com", port, 5
    )
    try:
        assert allowed.getpeername() == ("127.0.0.1", port)
    finally:
        allowed.close()
