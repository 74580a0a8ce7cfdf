"""The outbound guard's address rules, IPv6 wrappings of IPv4 included."""

from __future__ import annotations

import pytest

from hookline.actions.outbound import is_forbidden_address


class TestForbiddenAddresses:
    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1",  # loopback
            "10.0.0.1",  # private
            "169.254.169.254",  # cloud metadata (link-local)
            "100.64.0.1",  # carrier-grade NAT
            "::1",  # IPv6 loopback
            "fe80::1%eth0",  # IPv6 link-local with a zone
            "fd00:ec2::254",  # AWS metadata over IPv6 (unique local)
            "::ffff:127.0.0.1",  # IPv4-mapped loopback
            "64:ff9b::a00:1",  # NAT64 to 10.0.0.1
            "64:ff9b::a9fe:a9fe",  # NAT64 to the metadata address
            "64:ff9b:1::a00:1",  # local-use NAT64 prefix
            "2002:7f00:1::",  # 6to4 of 127.0.0.1
            "::127.0.0.1",  # IPv4-compatible loopback
            "::ffff:0:7f00:1",  # IPv4-translated loopback
            "224.0.0.1",  # multicast
        ],
    )
    def test_refused(self, address):
        """Addresses that reach this machine, its network or its cloud are refused."""
        assert is_forbidden_address(address)

    @pytest.mark.parametrize(
        "address",
        [
            "1.1.1.1",  # a public IPv4 address
            "2606:4700::1111",  # a public IPv6 address
            "::ffff:1.1.1.1",  # IPv4-mapped public
            "64:ff9b::101:101",  # NAT64 to a public address
        ],
    )
    def test_allowed(self, address):
        """Public destinations, however written, may be called."""
        assert not is_forbidden_address(address)
