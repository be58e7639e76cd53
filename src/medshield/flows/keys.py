"""Bidirectional flow keys for a batch, and the grouping of its packets by key.

A key is the unordered pair of (address, port) endpoints with the IP protocol and the
outermost VLAN id. Endpoints are put in a canonical order (``a`` ≤ ``b``), so both
directions of a conversation share a key and each packet gets a ``side`` (0 when sent by
``a``). Packets to a broadcast or multicast address also carry their source MAC in the key:
hosts without an address yet (DHCP DISCOVER from 0.0.0.0, RFC 2131 §4.1) would otherwise
share one flow.

Grouping hashes the key columns into one uint64, sorts on it (stable, so packets of a group
stay in capture order), and checks the columns for hash collisions, falling back to an
exact lexicographic sort if there is one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medshield.flows.addresses import is_group_address
from medshield.flows.headers import Headers

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

FlowKey = tuple[int, int, int, int, int, int]
"""(a_high, a_low, b_high, b_low, packed vlan/proto/ports, source MAC for group traffic)."""

_MIX = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9),
    np.uint64(0xD6E8FEB86659FD93),
    np.uint64(0xFF51AFD7ED558CCD),
    np.uint64(0xC4CEB9FE1A85EC53),
)


def pack_key_fields(vlan: int, proto: int, a_port: int, b_port: int) -> int:
    """The packed key column: VLAN id + 1 (0 when untagged), protocol, both ports."""
    return ((vlan + 1) << 48) | (proto << 32) | (a_port << 16) | b_port


def unpack_key_fields(packed: int) -> tuple[int, int, int, int]:
    """Inverse of :func:`pack_key_fields`: (vlan or -1, proto, a_port, b_port)."""
    return (packed >> 48) - 1, (packed >> 32) & 0xFF, (packed >> 16) & 0xFFFF, packed & 0xFFFF


@dataclass(frozen=True, slots=True)
class Grouping:
    """The flow packets of a batch, ordered by key, with their groups.

    ``order`` holds batch indices; every other per-packet array is already in that order.
    """

    order: I64
    side: npt.NDArray[np.uint8]
    group_start: I64
    group_end: I64
    keys: list[FlowKey]


def group_flows(headers: Headers, eligible: npt.NDArray[np.bool_]) -> Grouping:
    """Key and group the packets selected by ``eligible`` (see module docstring)."""
    index = np.flatnonzero(eligible)
    columns, side = _key_columns(headers, index)
    order_in_subset, starts, ends = group_rows(columns)
    first_rows = order_in_subset[starts]
    key_lists = [column[first_rows].tolist() for column in columns]
    return Grouping(
        order=index[order_in_subset],
        side=side[order_in_subset],
        group_start=starts,
        group_end=ends,
        keys=list(zip(*key_lists, strict=True)),
    )


def _key_columns(headers: Headers, index: I64) -> tuple[list[U64], npt.NDArray[np.uint8]]:
    src_hi, src_lo = headers.src_hi[index], headers.src_lo[index]
    dst_hi, dst_lo = headers.dst_hi[index], headers.dst_lo[index]
    ported = headers.has_ports[index]
    sport = np.where(ported, headers.sport[index], 0).astype(np.uint64)
    dport = np.where(ported, headers.dport[index], 0).astype(np.uint64)
    swap = (src_hi > dst_hi) | (
        (src_hi == dst_hi) & ((src_lo > dst_lo) | ((src_lo == dst_lo) & (sport > dport)))
    )
    a_hi, b_hi = np.where(swap, dst_hi, src_hi), np.where(swap, src_hi, dst_hi)
    a_lo, b_lo = np.where(swap, dst_lo, src_lo), np.where(swap, src_lo, dst_lo)
    a_port, b_port = np.where(swap, dport, sport), np.where(swap, sport, dport)
    vlan = (headers.vlan[index].astype(np.int64) + 1).astype(np.uint64)
    proto = headers.proto[index].astype(np.uint64)
    packed = (vlan << np.uint64(48)) | (proto << np.uint64(32)) | (a_port << np.uint64(16)) | b_port
    group = is_group_address(dst_hi, dst_lo)
    mac = np.where(group, headers.src_mac[index], np.uint64(0))
    return [a_hi, a_lo, b_hi, b_lo, packed, mac], swap.astype(np.uint8)


def group_rows(columns: list[U64]) -> tuple[I64, I64, I64]:
    """Group equal rows of ``columns``: (stable order, group starts, group ends) in that order."""
    order = _order(columns)
    count = len(order)
    boundary = np.zeros(count, dtype=np.bool_)
    if count:
        boundary[0] = True
        for column in columns:
            ordered = column[order]
            boundary[1:] |= ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(boundary).astype(np.int64)
    ends = np.append(starts[1:], count).astype(np.int64)
    return order, starts, ends


def _order(columns: list[U64]) -> I64:
    """A stable order that makes equal keys adjacent: hash sort, exact sort on collision."""
    if not len(columns[0]):
        return np.zeros(0, dtype=np.int64)
    digest = np.zeros(len(columns[0]), dtype=np.uint64)
    for index, column in enumerate(columns):
        factor = _MIX[index % len(_MIX)]
        digest ^= column * factor
        digest ^= digest >> np.uint64(29)
    digest *= _MIX[0]
    digest ^= digest >> np.uint64(32)
    order = np.argsort(digest, kind="stable")
    ordered = digest[order]
    same = ordered[1:] == ordered[:-1]
    for column in columns:
        values = column[order]
        if bool((same & (values[1:] != values[:-1])).any()):
            return np.lexsort(columns[::-1]).astype(np.int64)
    return order.astype(np.int64)
