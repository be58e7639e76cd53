"""Small helpers the dissectors share: flow context, per-datagram dispatch, readable text.

Nothing here knows a protocol; each helper exists so that every dissector fills the common
:class:`~medshield.core.observation.Observation` fields and treats bad bytes the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypedDict

from medshield.core.errors import DissectorError
from medshield.core.flow import Datagram, Endpoint, FlowPayload
from medshield.core.observation import Observation


class FlowContext(TypedDict):
    """The :class:`Observation` fields that come from the flow, ready for ``**`` unpacking."""

    ts: float
    flow_id: int | None
    client: Endpoint | None
    server: Endpoint | None


def flow_context(payload: FlowPayload, ts: float | None = None) -> FlowContext:
    """Observation fields of ``payload``'s flow; ``ts`` defaults to the flow's first packet."""
    flow = payload.flow
    return FlowContext(
        ts=flow.first_seen if ts is None else ts,
        flow_id=flow.flow_id,
        client=flow.client,
        server=flow.server,
    )


def client_context(payload: FlowPayload) -> FlowContext:
    """Context for a fact read from the client's byte stream (stamped with its first byte)."""
    return flow_context(payload, payload.client_first_ts)


def server_context(payload: FlowPayload) -> FlowContext:
    """Context for a fact read from the server's byte stream (stamped with its first byte)."""
    return flow_context(payload, payload.server_first_ts)


DatagramParser = Callable[[Datagram, FlowContext], Sequence[Observation]]


def dissect_datagrams(payload: FlowPayload, parse: DatagramParser) -> list[Observation]:
    """Run ``parse`` on every datagram of a UDP flow.

    A datagram that does not parse is skipped, so one bad datagram does not hide the good
    ones; when none parses, the first error is raised so that the pipeline counts the flow.
    """
    observations: list[Observation] = []
    first_error: DissectorError | None = None
    parsed_any = False
    for datagram in payload.datagrams:
        try:
            found = parse(datagram, flow_context(payload, datagram.ts))
        except DissectorError as error:
            first_error = first_error or error
            continue
        parsed_any = True
        observations.extend(found)
    if not parsed_any and first_error is not None:
        raise first_error
    return observations


_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")
"""ANSI CSI sequences, which banners often carry, and C0 controls (tab and newline kept)."""


def readable(raw: bytes, limit: int = 256) -> str:
    """``raw`` as text for a record: UTF-8 (undecodable bytes replaced), no control
    characters, outer whitespace stripped, at most ``limit`` characters."""
    text = raw[: limit * 4].decode("utf-8", errors="replace")
    return _CONTROL.sub("", text).strip()[:limit]


def hex_colon(raw: bytes) -> str:
    """Bytes as lower-case hex pairs joined by colons (MAC addresses, client identifiers)."""
    return raw.hex(":")
