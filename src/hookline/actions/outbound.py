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


def is_forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
