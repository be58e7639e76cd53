"""Service announcements: mDNS from printers (RFC 6762, RFC 6763) and SSDP from IoT gateways.

mDNS announcements are unsolicited responses (QR and AA set) to 224.0.0.251:5353 with IP TTL
255 (RFC 6762 §8.3, §11), carrying PTR, SRV, TXT and A records for the printer's IPP service.
SSDP ``NOTIFY * HTTP/1.1`` alive messages go to 239.255.255.250:1900 (UPnP Device Architecture
2.0 §1.2.2) with IP TTL 2.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from medshield.simulate.context import Context, between
from medshield.simulate.dns import encode_name
from medshield.simulate.population import SimDevice
from medshield.simulate.wire import Item, Nic, UdpSender, ip_bytes, multicast_mac

MDNS_PORT = 5353
MDNS_GROUP = ip_bytes("224.0.0.251")
SSDP_PORT = 1900
SSDP_GROUP = ip_bytes("239.255.255.250")
CACHE_FLUSH = 0x8000
TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_SRV = 1, 12, 16, 33


def _record(name: str, rtype: int, rclass: int, ttl: int, data: bytes) -> bytes:
    return encode_name(name) + struct.pack("!HHIH", rtype, rclass, ttl, len(data)) + data


def _txt(entries: list[str]) -> bytes:
    return b"".join(len(e.encode()).to_bytes(1, "big") + e.encode() for e in entries)


def mdns_announcement(printer: SimDevice) -> bytes:
    """An unsolicited mDNS response announcing the printer's IPP service (RFC 6763 §4–6)."""
    host = f"{printer.hostname}.local"
    instance = f"{printer.product.manufacturer} {printer.product.model} ({printer.hostname})"
    service = "_ipp._tcp.local"
    full = f"{instance}.{service}"
    records = [
        _record(service, TYPE_PTR, 1, 4500, encode_name(full)),
        _record(
            full, TYPE_SRV, 1 | CACHE_FLUSH, 120, struct.pack("!HHH", 0, 0, 631) + encode_name(host)
        ),
        _record(
            full,
            TYPE_TXT,
            1 | CACHE_FLUSH,
            4500,
            _txt(
                [
                    "txtvers=1",
                    f"ty={printer.product.manufacturer} {printer.product.model}",
                    "rp=ipp/print",
                    "pdl=application/pdf,image/urf",
                ]
            ),
        ),
        _record(host, TYPE_A, 1 | CACHE_FLUSH, 120, printer.ip),
    ]
    header = struct.pack("!HHHHHH", 0, 0x8400, 0, len(records), 0, 0)
    return header + b"".join(records)


def ssdp_notify(gateway: SimDevice, target: str, uuid: str) -> bytes:
    """An ``ssdp:alive`` NOTIFY for one notification type."""
    usn = f"uuid:{uuid}" if target.startswith("uuid:") else f"uuid:{uuid}::{target}"
    lines = (
        "NOTIFY * HTTP/1.1",
        "HOST: 239.255.255.250:1900",
        "CACHE-CONTROL: max-age=1800",
        f"LOCATION: http://{gateway.ip_text}:49152/description.xml",
        f"NT: {target}",
        "NTS: ssdp:alive",
        f"SERVER: Linux/4.9 UPnP/1.0 {gateway.product.model.replace(' ', '-')}/"
        f"{gateway.product.firmware}",
        f"USN: {usn}",
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def mdns_announcer(ctx: Context, printer: SimDevice) -> Iterator[Item]:
    """Announcements at start-up (twice, one second apart, RFC 6762 §8.3), then every ~5 min."""
    rng = ctx.rng("mdns", printer.index)
    group = Nic(multicast_mac(MDNS_GROUP), MDNS_GROUP)
    sender = UdpSender(printer.nic, group, MDNS_PORT, MDNS_PORT, rng.getrandbits(16), ttl=255)
    payload = mdns_announcement(printer)
    t = ctx.ready(printer) + between(rng, 0.5, 3.0)
    for _ in range(2):
        yield t, sender.frame(payload)
        t += between(rng, 1.0, 1.2)
    while True:
        t += between(rng, 240.0, 360.0)
        if t >= ctx.end_us:
            return
        yield t, sender.frame(payload)


def ssdp_announcer(ctx: Context, gateway: SimDevice) -> Iterator[Item]:
    """Three NOTIFY messages (root device, UUID, device type) every 30–60 seconds."""
    rng = ctx.rng("ssdp", gateway.index)
    group = Nic(multicast_mac(SSDP_GROUP), SSDP_GROUP)
    sender = UdpSender(gateway.nic, group, SSDP_PORT, SSDP_PORT, rng.getrandbits(16), ttl=2)
    uuid = f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
    uuid += f"a{rng.getrandbits(12):03x}-{gateway.mac.hex()}"
    targets = ("upnp:rootdevice", f"uuid:{uuid}", "urn:schemas-upnp-org:device:Basic:1")
    t = ctx.ready(gateway) + between(rng, 1.0, 5.0)
    while t < ctx.end_us:
        for target in targets:
            yield t, sender.frame(ssdp_notify(gateway, target, uuid))
            t += rng.randrange(200, 2_000)
        t += between(rng, 30.0, 60.0)
