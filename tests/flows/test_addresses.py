"""Address helpers."""

from __future__ import annotations

import ipaddress

import numpy as np

from medshield.flows.addresses import ip_text, ipv4_text, is_group_address, mac_text


def halves(address: str) -> tuple[int, int]:
    parsed = ipaddress.ip_address(address)
    value = int(parsed) | (0xFFFF << 32) if parsed.version == 4 else int(parsed)
    return value >> 64, value & (2**64 - 1)


def test_text_forms() -> None:
    assert ip_text(*halves("192.0.2.1")) == "192.0.2.1"
    assert ip_text(*halves("2001:db8::1")) == "2001:db8::1"
    assert ipv4_text(0xC0000201) == "192.0.2.1"
    assert mac_text(0x00005E005301) == "00:00:5e:00:53:01"
    assert mac_text(0) is None


def test_group_addresses() -> None:
    addresses = [
        "255.255.255.255",
        "224.0.0.251",
        "239.1.2.3",
        "ff02::1",
        "192.0.2.255",
        "10.0.0.1",
        "2001:db8::1",
    ]
    high, low = zip(*(halves(a) for a in addresses), strict=True)
    found = is_group_address(np.array(high, dtype=np.uint64), np.array(low, dtype=np.uint64))
    assert found.tolist() == [True, True, True, True, False, False, False]
