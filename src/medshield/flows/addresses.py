"""Address helpers: the sortable numeric forms used on the hot path and their text forms.

IP addresses are two uint64 halves of an IPv6 address, IPv4 being IPv4-mapped
(RFC 4291 §2.5.5.2); MAC addresses are the 48-bit value in a uint64, 0 meaning "none".
"""

from __future__ import annotations

import ipaddress

import numpy as np
import numpy.typing as npt

IPV4_MAPPED_HIGH = 0xFFFF
"""Bits 32–47 of the low half of ``::ffff:a.b.c.d``."""
LIMITED_BROADCAST = 0xFFFFFFFF
"""255.255.255.255 (RFC 919 §7)."""


def ip_text(high: int, low: int) -> str:
    """Text form of an address: dotted quad for IPv4-mapped, RFC 5952 form for IPv6."""
    if high == 0 and low >> 32 == IPV4_MAPPED_HIGH:
        v4 = low & 0xFFFFFFFF
        return f"{v4 >> 24}.{(v4 >> 16) & 0xFF}.{(v4 >> 8) & 0xFF}.{v4 & 0xFF}"
    return str(ipaddress.IPv6Address((high << 64) | low))


def ipv4_text(address: int) -> str:
    """Dotted quad of a 32-bit IPv4 address."""
    return ip_text(0, (IPV4_MAPPED_HIGH << 32) | address)


def mac_text(mac: int) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` (lower case), or None for 0 (no MAC seen)."""
    if not mac:
        return None
    return mac.to_bytes(6, "big").hex(":")


def is_group_address(
    high: npt.NDArray[np.uint64], low: npt.NDArray[np.uint64]
) -> npt.NDArray[np.bool_]:
    """Limited broadcast, IPv4 multicast 224.0.0.0/4 (RFC 5771) or IPv6 multicast ff00::/8
    (RFC 4291 §2.7). Subnet-directed broadcasts cannot be told from hosts without the mask."""
    mapped = (high == 0) & ((low >> np.uint64(32)) == IPV4_MAPPED_HIGH)
    v4 = low & np.uint64(0xFFFFFFFF)
    v4_group = mapped & ((v4 == LIMITED_BROADCAST) | ((v4 >> np.uint64(28)) == 0xE))
    v6_group = ~mapped & ((high >> np.uint64(56)) == 0xFF)
    result: npt.NDArray[np.bool_] = v4_group | v6_group
    return result
