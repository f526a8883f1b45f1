"""Connections to addresses that users configure (notification channels, scrape targets).

A user who may name a URL must not be able to make the server reach what only the server
can reach: its own loopback (the database, Redis), the private network, link-local
addresses such as the cloud metadata service at 169.254.169.254. Every such connection:

- resolves the host once, checks each address it got (IPv4 inside IPv6 unwrapped), and
  connects to a checked address itself, so a DNS answer that changes between a check and the
  connection (rebinding) cannot get past;
- admits only globally routable unicast addresses, and the networks the operator lists in
  `outbound_allowed_networks` (a private webhook receiver, a scrape target on the LAN).

`OutboundClient` is an httpx client whose every connection goes through that check (TLS still
verifies the URL's host name, and the Host header is the URL's); `connect_socket` does the
same for SMTP.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from failcast.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> (family, address) pairs, as getaddrinfo answers.
Resolver = Callable[[str, int], Awaitable[list[tuple[int, str]]]]

# NAT64 gateways turn 64:ff9b::a.b.c.d into a.b.c.d.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Names that mean this host whatever DNS says.
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class EgressRefused(httpcore.ConnectError):
    """The destination resolves only to addresses that outbound connections may not reach."""


async def system_resolver(host: str, port: int) -> list[tuple[int, str]]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(family, str(sockaddr[0])) for family, _, _, _, sockaddr in infos]


def _embedded(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), or the address itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def parse_address(text: str) -> IPAddress | None:
    """An IP address literal (brackets and an IPv6 zone allowed), or None for a name."""
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class EgressPolicy:
    """Which addresses outbound connections may reach."""

    allowed: tuple[IPNetwork, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return cls(tuple(ipaddress.ip_network(n) for n in settings.outbound_allowed_networks))

    def allows(self, address: str | IPAddress) -> bool:
        ip = parse_address(address) if isinstance(address, str) else address
        if ip is None:
            return False
        inner = _embedded(ip)
        if any(inner in network or ip in network for network in self.allowed):
            return True
        return inner.is_global and not inner.is_multicast

    def check_host(self, host: str) -> str | None:
        """Why `host` (as written in a URL or setting) can never be reached, or None. Names
        are judged when connecting; this refuses literals and local names early."""
        name = host.strip().rstrip(".").lower()
        ip = parse_address(name)
        if ip is None:
            local = name in _LOCAL_NAMES or name.endswith(".localhost")
            if local and not self.allows("127.0.0.1"):
                return f"{host} is this server itself"
            return None
        if not self.allows(ip):
            return f"{host} is a private, loopback, link-local or otherwise internal address"
        return None

    async def resolve(self, host: str, port: int, seconds: float | None) -> list[tuple[int, str]]:
        """The addresses of `host` that may be reached (within `seconds`), or `EgressRefused`."""
        try:
            async with asyncio.timeout(seconds):
                found = await self.resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        unique = list(dict.fromkeys(found))
        allowed = [(family, ip) for family, ip in unique if self.allows(ip)]
        if not allowed:
            shown = unique[0][1] if unique else "nothing"
            raise EgressRefused(f"{host} resolves to {shown}, which may not be reached")
        return allowed


def is_refusal(exc: BaseException) -> bool:
    """Whether an httpx error (or its cause) is the egress policy refusing the destination."""
    return isinstance(exc, EgressRefused) or isinstance(exc.__cause__, EgressRefused)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy admits."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        error: Exception | None = None
        for _, ip in await self.policy.resolve(host, port, timeout):
            try:
                return await self.inner.connect_tcp(
                    ip,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused("outbound connections use TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class OutboundTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the guarded backend. Proxies from the environment are not
    used: the connection would go to the proxy, past the check."""

    def __init__(self, policy: EgressPolicy) -> None:
        super().__init__(trust_env=False)
        # httpx has no parameter for httpcore's network backend; the pool is replaced by one
        # built the same way (httpx's defaults) with the guarded backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy),
        )


class OutboundClient(httpx.AsyncClient):
    """An httpx client for user-configured destinations; carries its policy for SMTP."""

    def __init__(self, policy: EgressPolicy, **kwargs: Any) -> None:
        super().__init__(transport=OutboundTransport(policy), trust_env=False, **kwargs)
        self.egress = policy


async def connect_socket(
    policy: EgressPolicy, host: str, port: int, seconds: float | None
) -> socket.socket:
    """A TCP socket connected to an admitted address of `host` (for clients such as SMTP
    that take a connected socket); `EgressRefused` or `OSError` otherwise."""
    loop = asyncio.get_running_loop()
    error: OSError | None = None
    for family, ip in await policy.resolve(host, port, seconds):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(seconds):
                await loop.sock_connect(sock, (ip, port))
        except (OSError, TimeoutError) as exc:
            sock.close()
            error = exc if isinstance(exc, OSError) else OSError(f"connecting to {host} timed out")
            continue
        return sock
    assert error is not None
    raise error


__all__ = [
    "EgressPolicy",
    "EgressRefused",
    "OutboundClient",
    "OutboundTransport",
    "connect_socket",
    "is_refusal",
    "system_resolver",
]
