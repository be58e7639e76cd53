"""MAC address → vendor, from the IEEE registries (MA-L/OUI and IAB) that netaddr ships.

The registry data travels with the installed ``netaddr`` package, so lookups need no network
and no file from the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import netaddr


@dataclass(frozen=True, slots=True)
class VendorLookup:
    """Who registered a MAC address's prefix, and which registry said so."""

    vendor: str
    registry: str
    """``MA-L`` (OUI, 24-bit) or ``IAB`` (36-bit)."""
    prefix: str


def is_locally_administered(mac: str) -> bool:
    """True for a locally administered (often randomised) address: IEEE 802 U/L bit set."""
    return bool(int(mac[:2], 16) & 0x02)


def is_group_address(mac: str) -> bool:
    """True for a multicast/broadcast MAC address: IEEE 802 I/G bit set."""
    return bool(int(mac[:2], 16) & 0x01)


@lru_cache(maxsize=65536)
def lookup_vendor(mac: str) -> VendorLookup | None:
    """The registered vendor of ``mac`` (``aa:bb:cc:dd:ee:ff``), or None when unregistered."""
    if is_locally_administered(mac) or is_group_address(mac):
        return None
    eui = netaddr.EUI(mac)
    try:
        iab = eui.iab
        if iab is not None:
            return VendorLookup(iab.registration().org, "IAB", str(iab))
    except netaddr.NotRegisteredError:
        pass
    try:
        oui = eui.oui
        return VendorLookup(oui.registration().org, "MA-L", str(oui))
    except netaddr.NotRegisteredError:
        return None
