"""Completed flows as flat tuples of plain values, for the trip between processes.

Pickling frozen slotted dataclasses (every flow, endpoint and datagram) runs Python code per
object and costs more than building the flows did; nested tuples of ints, floats, strings and
bytes pickle in C. The reader process sends flows this way (see :mod:`medshield.ingest`).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import fields
from functools import lru_cache
from typing import Any

from medshield.core.enums import Direction
from medshield.core.flow import Datagram, DirectionStats, Endpoint, FlowEnd, FlowPayload, FlowRecord

FLAT_FIELDS = {
    FlowPayload: (
        "flow",
        "client_bytes",
        "server_bytes",
        "client_truncated",
        "server_truncated",
        "client_gap",
        "server_gap",
        "client_first_ts",
        "server_first_ts",
        "datagrams",
    ),
    FlowRecord: (
        "flow_id",
        "transport",
        "client",
        "server",
        "first_seen",
        "last_seen",
        "c2s",
        "s2c",
        "iat_min",
        "iat_mean",
        "iat_max",
        "iat_std",
        "vlan",
        "end_reason",
        "source",
    ),
    Endpoint: ("ip", "port", "mac"),
    DirectionStats: ("packets", "bytes", "payload_bytes", "tcp_flags"),
    Datagram: ("direction", "ts", "payload"),
}
"""The fields :func:`flat_payload` writes out, in order. Should a class gain a field, the
flat form no longer applies and flows travel as ordinary pickles instead."""


@lru_cache(maxsize=1)
def flat_form_applies() -> bool:
    """Do the flow classes still have exactly the fields of :data:`FLAT_FIELDS`?"""
    return all(
        tuple(item.name for item in fields(cls)) == names for cls, names in FLAT_FIELDS.items()
    )


FlatRecord = tuple[Any, ...]
FlatPayload = tuple[Any, ...]
Endpoints = dict[tuple[Any, ...], Endpoint]
"""Endpoints already rebuilt, by their flat form: equal endpoints come back as one object."""


def flat_record(flow: FlowRecord) -> FlatRecord:
    """A flow record as nested tuples of plain values, which pickle without a Python call."""
    client, server, c2s, s2c = flow.client, flow.server, flow.c2s, flow.s2c
    return (
        flow.flow_id,
        flow.transport,
        (client.ip, client.port, client.mac),
        (server.ip, server.port, server.mac),
        flow.first_seen,
        flow.last_seen,
        (c2s.packets, c2s.bytes, c2s.payload_bytes, c2s.tcp_flags),
        (s2c.packets, s2c.bytes, s2c.payload_bytes, s2c.tcp_flags),
        flow.iat_min,
        flow.iat_mean,
        flow.iat_max,
        flow.iat_std,
        flow.vlan,
        flow.end_reason.value,
        flow.source,
    )


def record_of(flat: FlatRecord, endpoints: Endpoints) -> FlowRecord:
    """The flow record :func:`flat_record` wrote out."""
    (flow_id, transport, client, server, first_seen, last_seen, c2s, s2c) = flat[:8]
    (iat_min, iat_mean, iat_max, iat_std, vlan, end_reason, source) = flat[8:15]
    client_endpoint = endpoints.get(client) or endpoints.setdefault(client, Endpoint(*client))
    server_endpoint = endpoints.get(server) or endpoints.setdefault(server, Endpoint(*server))
    return FlowRecord(
        flow_id,
        transport,
        client_endpoint,
        server_endpoint,
        first_seen,
        last_seen,
        DirectionStats(*c2s),
        DirectionStats(*s2c),
        iat_min,
        iat_mean,
        iat_max,
        iat_std,
        vlan,
        FlowEnd(end_reason),
        source,
    )


def flat_payload(payload: FlowPayload) -> FlatPayload:
    """A flow and its first bytes as nested tuples of plain values."""
    return (
        flat_record(payload.flow),
        payload.client_bytes,
        payload.server_bytes,
        payload.client_truncated,
        payload.server_truncated,
        payload.client_gap,
        payload.server_gap,
        payload.client_first_ts,
        payload.server_first_ts,
        tuple([(int(d.direction), d.ts, d.payload) for d in payload.datagrams]),
    )


def payload_of(flat: FlatPayload, endpoints: Endpoints) -> FlowPayload:
    """The flow :func:`flat_payload` wrote out."""
    (record, client_bytes, server_bytes, client_truncated, server_truncated) = flat[:5]
    (client_gap, server_gap, client_first_ts, server_first_ts, datagrams) = flat[5:]
    return FlowPayload(
        record_of(record, endpoints),
        client_bytes,
        server_bytes,
        client_truncated,
        server_truncated,
        client_gap,
        server_gap,
        client_first_ts,
        server_first_ts,
        tuple([Datagram(Direction(d), ts, data) for d, ts, data in datagrams]),
    )


def pack_payloads(payloads: Sequence[FlowPayload]) -> bytes:
    """Flows pickled for another process: flat when the classes allow, else as they are."""
    if flat_form_applies():
        return pickle.dumps((True, [flat_payload(p) for p in payloads]), pickle.HIGHEST_PROTOCOL)
    return pickle.dumps((False, list(payloads)), pickle.HIGHEST_PROTOCOL)


def unpack_payloads(packed: bytes) -> list[FlowPayload]:
    """The flows :func:`pack_payloads` packed."""
    flat, values = pickle.loads(packed)
    if not flat:
        payloads: list[FlowPayload] = values
        return payloads
    endpoints: Endpoints = {}
    return [payload_of(value, endpoints) for value in values]


def pack_records(flows: Sequence[FlowRecord]) -> bytes:
    """Flow records pickled for another process: flat when the classes allow."""
    if flat_form_applies():
        return pickle.dumps((True, [flat_record(f) for f in flows]), pickle.HIGHEST_PROTOCOL)
    return pickle.dumps((False, list(flows)), pickle.HIGHEST_PROTOCOL)


def unpack_records(packed: bytes) -> list[FlowRecord]:
    """The flow records :func:`pack_records` packed."""
    flat, values = pickle.loads(packed)
    if not flat:
        flows: list[FlowRecord] = values
        return flows
    endpoints: Endpoints = {}
    return [record_of(value, endpoints) for value in values]
