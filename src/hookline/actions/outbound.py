"""Outbound safety: refuse destinations on loopback, private, link-local or metadata addresses.

A webhook gateway renders URLs from configuration and sometimes from event data; without this
guard it is a ready-made SSRF tool against the machine it runs on and its cloud metadata
service. Every address a host resolves to must be globally routable unless
`delivery.allow_private_networks` is true. The check runs inside aiohttp's resolver, on the
addresses actually connected to, so DNS rebinding between check and connect cannot slip by.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


class DestinationRefusedError(OSError):
    """The destination resolves to an address outbound calls may not reach."""


# IPv6 ranges that carry an IPv4 address in their last 32 bits and reach it through a
# translator or relay: NAT64 (RFC 6052, RFC 8215), IPv4-compatible, IPv4-translated (SIIT).
_EMBEDS_IPV4_LOW32 = tuple(
    ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002:aabb:ccdd::/48 (6to4)
        return ip.sixtofour
    if ip.teredo is not None:  # 2001::/32: (server, client)
        return ip.teredo[1]
    if any(ip in net for net in _EMBEDS_IPV4_LOW32):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_forbidden_address(address: str) -> bool:
    """Loopback, private, link-local, metadata, reserved and multicast addresses, also when
    an IPv6 address only wraps one of them (mapped, NAT64, 6to4, Teredo, compatible)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and (not embedded.is_global or embedded.is_multicast):
            return True
        if embedded is not None and ip.ipv4_mapped is not None:
            ip = embedded  # plain mapped: judge by the IPv4 address alone
    return not ip.is_global or ip.is_multicast


class OutboundGuard:
    """Decides whether a host may be called; shared by every action."""

    def __init__(self, *, allow_private_networks: bool) -> None:
        self.allow_private_networks = allow_private_networks

    def check_address(self, host: str, address: str) -> None:
        if not self.allow_private_networks and is_forbidden_address(address):
            raise DestinationRefusedError(
                f"refused to connect to {host} ({address}): loopback, private, link-local and "
                "metadata addresses are blocked; set delivery.allow_private_networks: true "
                "to allow them"
            )

    def check_literal(self, host: str) -> None:
        """Check a host written as an IP address (resolvers are skipped for those)."""
        try:
            ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        except ValueError:
            return
        self.check_address(host, host.strip("[]"))

    async def resolve(self, host: str, port: int = 0) -> list[str]:
        """Resolve a host and check every address; used by non-HTTP actions (SMTP)."""
        self.check_literal(host)
        resolver = GuardedResolver(self)
        try:
            results = await resolver.resolve(host, port)
        finally:
            await resolver.close()
        return [r["host"] for r in results]


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses forbidden addresses after resolving."""

    def __init__(self, guard: OutboundGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            self._guard.check_address(host, result["host"])
        return results

    async def close(self) -> None:
        await self._inner.close()
