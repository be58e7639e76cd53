"""DNS lookups from clients to the hospital resolver (RFC 1035), and the resolver's forwarding.

Queries carry one question with RD set (§4.1.1); answers repeat the question and give A records
whose owner is a compression pointer to it (§4.1.4). AAAA queries get an empty NOERROR answer
(the site has no IPv6).
"""

from __future__ import annotations

import random
import struct

from medshield.simulate.context import INTERNET, PUBLIC_RESOLVER, Context, between
from medshield.simulate.facts import communication
from medshield.simulate.population import SimDevice
from medshield.simulate.wire import Nic, Steps, UdpSender

DNS_PORT = 53
TYPE_A = 1
TYPE_AAAA = 28
CLASS_IN = 1
FLAGS_QUERY = 0x0100
FLAGS_ANSWER = 0x8180
_HEADER = struct.Struct("!HHHHHH")


def encode_name(name: str) -> bytes:
    """A domain name as length-prefixed labels ending with the root label (§3.1)."""
    labels = b"".join(len(part).to_bytes(1, "big") + part.encode() for part in name.split("."))
    return labels + b"\0"


def query(txid: int, name: str, qtype: int) -> bytes:
    """A standard recursive query (§4.1.1–4.1.2)."""
    return (
        _HEADER.pack(txid, FLAGS_QUERY, 1, 0, 0, 0)
        + encode_name(name)
        + struct.pack("!HH", qtype, CLASS_IN)
    )


def answer(txid: int, name: str, qtype: int, addresses: list[bytes], ttl: int) -> bytes:
    """The response: question echoed, then one A record per address (§4.1.3)."""
    records = b"".join(
        struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, ttl, 4) + address
        for address in (addresses if qtype == TYPE_A else [])
    )
    count = len(addresses) if qtype == TYPE_A else 0
    header = _HEADER.pack(txid, FLAGS_ANSWER, 1, count, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", qtype, CLASS_IN) + records


def lookup(
    rng: random.Random,
    t: int,
    client: Nic,
    server: Nic,
    name: str,
    address: bytes,
    *,
    aaaa: bool = False,
    ttl: int = 300,
) -> Steps:
    """An A lookup (and AAAA where the stack asks for both, as Windows does)."""
    comm = communication(client, server, DNS_PORT, "udp", "dns")
    for index, qtype in enumerate((TYPE_A, TYPE_AAAA) if aaaa else (TYPE_A,)):
        txid = rng.getrandbits(16)
        port = rng.randrange(49152, 65535)
        ask = UdpSender(client, server, port, DNS_PORT, rng.getrandbits(16))
        tell = UdpSender(server, client, DNS_PORT, port, rng.getrandbits(16))
        frame = ask.frame(query(txid, name, qtype))
        yield (t, frame, (comm,)) if index == 0 else (t, frame)
        t += rng.randrange(300, 2500)
        yield t, tell.frame(answer(txid, name, qtype, [address], ttl))
        t += rng.randrange(100, 600)
    return t


def resolver_forwarding(ctx: Context, resolver: SimDevice) -> Steps:
    """The hospital resolver refreshing external names from a public resolver (cache misses)."""
    rng = ctx.rng("dns-forward", resolver.index)
    upstream = ctx.internet_nic(PUBLIC_RESOLVER)
    t = ctx.start_us + between(rng, 2.0, 20.0)
    while t < ctx.end_us:
        host = rng.choice(INTERNET)
        t = yield from lookup(rng, t, resolver.nic, upstream, host.name, host.ip, ttl=60)
        t += between(rng, 20.0, 90.0)
    return t
