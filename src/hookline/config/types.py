"""Value types at the YAML edge: durations ("10s", "5m", "1h"), byte sizes ("5MiB") and
IP networks ("203.0.113.0/24", "2001:db8::1")."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}

_SIZE = re.compile(r"^\s*(?P<n>\d+)\s*(?P<unit>B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.IGNORECASE)
_UNIT_BYTES = {
    "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3,
}  # fmt: skip


def parse_duration(value: object) -> timedelta:
    """Accept `timedelta`, a number of seconds or a string like "500ms", "10s", "1h"."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 10s, 5m or 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match["n"]) * _UNIT_SECONDS[match["unit"]]
    else:
        raise ValueError(f"expected a duration such as 10s, 5m or 1h, got {value!r}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    try:
        return timedelta(seconds=seconds)
    except (OverflowError, ValueError):  # inf, nan, or past timedelta's ~2.7 million years
        raise ValueError(f"the duration {value!r} is too large") from None


def parse_size(value: object) -> int:
    """Accept a number of bytes or a string like "5MiB", "512KB"."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and (match := _SIZE.match(value)):
        size = int(match["n"]) * _UNIT_BYTES[(match["unit"] or "b").lower()]
        if size > 0:
            return size
    raise ValueError(f"expected a size such as 5MiB or 512KB, got {value!r}")


def _format_duration(value: timedelta) -> str:
    seconds, micros = divmod(value // timedelta(microseconds=1), 1_000_000)
    return f"{seconds}.{micros:06d}".rstrip("0") + "s" if micros else f"{seconds}s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(_format_duration, return_type=str)
]
ByteSize = Annotated[int, BeforeValidator(parse_size)]


def parse_network(value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Accept an IP address or a CIDR network; a network with host bits set is refused."""
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an IP address or network such as 203.0.113.0/24, got {value!r}")
    try:
        return ipaddress.ip_network(value.strip())
    except ValueError as exc:
        raise ValueError(
            f"expected an IP address or network such as 203.0.113.0/24: {exc}"
        ) from None


IpNetwork = Annotated[
    ipaddress.IPv4Network | ipaddress.IPv6Network,
    BeforeValidator(parse_network),
    PlainSerializer(str, return_type=str),
]
