"""MAC address → vendor, from the IEEE registries (MA-L/OUI and IAB) that netaddr ships.

The registry data travels with the installed ``netaddr`` package, so lookups need no network
and no file from the user. netaddr loads its whole index (40,000 rows) on first use, which
costs more than an assessment's few hundred lookups; here the same index and registry files
are read directly, each index once into a dict of raw rows, and only the records of the
prefixes actually looked up are parsed, the way netaddr parses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

IAB_PREFIXES = (0x0050C2, 0x40D855)
"""The MA-L blocks the IEEE carved into IABs (netaddr ``IAB.IAB_EUI_VALUES``)."""
EUI48 = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
"""The ``aa:bb:cc:dd:ee:ff`` form read directly; anything else goes through netaddr."""


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
    if EUI48.fullmatch(mac) is None:
        return netaddr_lookup(mac)
    value = int(mac.replace(":", ""), 16)
    if value >> 24 in IAB_PREFIXES:
        iab = value >> 12
        vendor = registered_org("iab", iab)
        if vendor is not None:
            return VendorLookup(vendor, "IAB", iab_text(iab))
    oui = value >> 24
    vendor = registered_org("oui", oui)
    if vendor is None:
        return None
    return VendorLookup(vendor, "MA-L", f"{oui >> 16:02X}-{oui >> 8 & 0xFF:02X}-{oui & 0xFF:02X}")


def iab_text(iab: int) -> str:
    """An IAB as netaddr writes it: the 36-bit block then zeros, ``00-50-C2-AB-C0-00``."""
    shifted = iab << 4
    octets = [(shifted >> shift) & 0xFF for shift in (32, 24, 16, 8, 0)]
    return "-".join(f"{octet:02X}" for octet in octets) + "-00"


def registered_org(registry: str, key: int) -> str | None:
    """The organisation of the first registration of ``key`` in netaddr's ``oui``/``iab``
    registry (netaddr's ``registration().org``), None when it is not registered."""
    row = registry_index(registry).get(str(key).encode("ascii"))
    if row is None:
        return None
    offset, size = (int(field) for field in row.split(b",")[:2])
    with (registry_directory() / f"{registry}.txt").open("rb") as registry_file:
        registry_file.seek(offset)
        record = registry_file.read(size).decode("utf-8")
    return record_org(record)


def record_org(record: str) -> str:
    """The organisation of one registry record: the rest of its ``(hex)`` line after the
    prefix and the ``(hex)`` word, as netaddr's record parser takes it."""
    org = ""
    for line in record.split("\n"):
        stripped = line.strip()
        if "(hex)" in stripped:
            org = stripped.split(None, 2)[2]
    return org


@lru_cache(maxsize=2)
def registry_index(registry: str) -> dict[bytes, bytes]:
    """netaddr's ``<registry>.idx`` as decimal key → ``offset,size`` of its first row.

    Keys stay bytes: converting 40,000 rows to integers is what makes netaddr slow to load.
    """
    rows: dict[bytes, bytes] = {}
    for line in (registry_directory() / f"{registry}.idx").read_bytes().splitlines():
        key, _, rest = line.partition(b",")
        rows.setdefault(key.strip(), rest)
    return rows


@lru_cache(maxsize=1)
def registry_directory() -> Path:
    """Where netaddr keeps its registry files, found without importing netaddr."""
    spec = find_spec("netaddr")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("netaddr is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "eui"


def netaddr_lookup(mac: str) -> VendorLookup | None:
    """The lookup through netaddr itself, for address forms other than ``aa:bb:…``."""
    import netaddr

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
