"""Beaconing: an inside host calling one internet service on a clock, with same-size messages.

An implant checks in with its command-and-control server every *sleep* seconds, give or
take its jitter, and its check-ins barely change size (MITRE ATT&CK T1071 application layer
protocol, T1573 encrypted channel, T1029 scheduled transfer). The analysis is RITA's
(activecm/rita beacon analysis, as used in AC-Hunter): group connections by (inside client,
outside server, server port, transport), take the intervals between connection starts and
the bytes each connection's client sent, and measure their dispersion with the median
absolute deviation about the median (MADM), which a missed or retried beacon barely moves.
A series is a beacon when it has at least :data:`MIN_CONNECTIONS` connections, a median
interval of at least :data:`MIN_PERIOD_S`, an interval MADM within
:data:`MAX_TIMING_DISPERSION` of the median, and client sizes whose MADM is within
:data:`MAX_SIZE_DISPERSION` of their median (or :data:`SIZE_TOLERANCE_BYTES`).

Only connections from a private address to a globally routable one count, as RITA's
``internal_subnets`` filter does: clinical telemetry to the pump server, HL7 feeds and SNMP
polls are periodic by design and stay inside. A connection is a TCP flow that carries the
client's SYN (flow records continuing a long connection past the flow table's active timeout
are not new connections) or a UDP flow. NTP is left out: RFC 5905 §7.3 clients poll their
servers on a fixed power-of-two period by design.

Severity: :attr:`Severity.HIGH`; :attr:`Severity.CRITICAL` when the beaconing host is a
clinical host (it speaks DICOM, HL7 or MQTT): a medical device taking orders from outside.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field

from medshield.core.enums import AlertKind, Severity, Transport, transport_label
from medshield.core.finding import Alert
from medshield.core.flow import TCP_SYN, Endpoint, FlowRecord
from medshield.detection.base import Namer, PassiveDetector
from medshield.detection.hosts import ClinicalHosts, is_inside, is_outside

UDP_PROTOCOL = 17
MIN_CONNECTIONS = 8
"""Connections a series needs before its regularity means anything (7 intervals).

RITA drops pairs under ``unique_connection_threshold`` (4) and weighs the count against a
day of logs; a sensor's capture may be minutes long, and with fewer than 8 connections a
handful of chance-regular visits (a page reloaded by a script, a retry loop) would pass the
dispersion tests. 8 check-ins are 4 minutes of a 30 s implant, 8 minutes of a 60 s one.
"""
MIN_PERIOD_S = 1.0
"""Smallest median interval that is a sleep, not a burst: the parallel and pipelined
connections a client opens at once to one server (a page's assets, an app's API calls) are
milliseconds apart and regular for that reason alone. RITA's ports drop sub-second deltas."""
MAX_TIMING_DISPERSION = 0.10
"""Largest interval MADM as a fraction of the median interval.

RITA scores timing dispersion as 1 - MADM/median; an implant with uniform jitter ±J has
MADM/median ≈ J/2, so 0.10 admits sleeps jittered by up to ±20 % (Cobalt Strike's and
Sliver's customary settings), while human browsing, whose gaps vary several-fold, sits
above 0.3.
"""
MAX_SIZE_DISPERSION = 0.10
"""Largest MADM of the client's bytes per connection as a fraction of their median."""
SIZE_TOLERANCE_BYTES = 32
"""A size MADM this small is similar whatever the median: RITA's data-size dispersion
cut-off (32 bytes), which absorbs padding and variable-length headers of small check-ins."""
MAX_TRACKED = 4096
"""Connections remembered per series: a day of 30 s beacons is 2,880. Beyond it the series
is a strobe (RITA's term for a pair hammering a service), counted but not timed further."""
PERIODIC_BY_DESIGN = frozenset({(UDP_PROTOCOL, 123)})
"""(transport, server port) of protocols that poll on a fixed clock by specification: NTP
(RFC 5905 §7.3)."""

SeriesKey = tuple[str, str | None, str, int, int]
"""(client IP, client MAC, server IP, server port, transport)."""


@dataclass(slots=True)
class _Series:
    """The connections of one client to one outside service."""

    starts: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    connections: int = 0
    last: float = 0.0
    apps: set[str] = field(default_factory=set)

    def add(self, flow: FlowRecord, app: str) -> None:
        self.connections += 1
        self.last = max(self.last, flow.last_seen)
        if app:
            self.apps.add(app)
        if len(self.starts) < MAX_TRACKED:
            self.starts.append(flow.first_seen)
            self.sizes.append(flow.c2s.payload_bytes)


@dataclass(frozen=True, slots=True)
class Regularity:
    """What makes a series a beacon: its period and sizes, with their dispersions (MADM)."""

    period: float
    period_madm: float
    size: float
    size_madm: float


def madm(values: list[float]) -> float:
    """Median absolute deviation about the median (RITA's dispersion measure)."""
    middle = statistics.median(values)
    return statistics.median(abs(value - middle) for value in values)


def regularity(starts: list[float], sizes: list[int]) -> Regularity:
    """The median interval between ``starts`` and the median size, with their MADMs."""
    ordered = sorted(starts)
    intervals = [later - earlier for earlier, later in itertools.pairwise(ordered)]
    floats = [float(size) for size in sizes]
    return Regularity(
        statistics.median(intervals),
        madm(intervals),
        statistics.median(floats),
        madm(floats),
    )


def is_beacon(found: Regularity) -> bool:
    """The module's thresholds, applied to one series."""
    if found.period < MIN_PERIOD_S:
        return False
    if found.period_madm > MAX_TIMING_DISPERSION * found.period:
        return False
    return found.size_madm <= max(SIZE_TOLERANCE_BYTES, MAX_SIZE_DISPERSION * found.size)


class BeaconingDetector(PassiveDetector):
    """Regular, same-size connections from an inside host to an outside service."""

    name = "beaconing"
    kind = AlertKind.BEACONING

    def __init__(self, min_connections: int = MIN_CONNECTIONS) -> None:
        """``min_connections`` defaults to :data:`MIN_CONNECTIONS`; at least 3 (two
        intervals) are needed for a median and a dispersion."""
        self.min_connections = max(3, min_connections)
        self.series: dict[SeriesKey, _Series] = {}
        self.clinical = ClinicalHosts()

    def flow(self, flow: FlowRecord, app: str) -> None:
        """Count a new connection from an inside client to an outside server."""
        self.clinical.note(flow, app)
        client, server = flow.client, flow.server
        if not (is_inside(client.ip) and is_outside(server.ip)):
            return
        if (flow.transport, server.port) in PERIODIC_BY_DESIGN:
            return
        if flow.transport == Transport.TCP:
            if not flow.c2s.tcp_flags & TCP_SYN:
                return  # the rest of a connection already counted, or begun before capture
        elif flow.transport != UDP_PROTOCOL:
            return
        key = (client.ip, client.mac, server.ip, server.port, flow.transport)
        self.series.setdefault(key, _Series()).add(flow, app)

    def alerts(self, name: Namer) -> list[Alert]:
        """One alert per beaconing series."""
        found: list[Alert] = []
        for key, series in self.series.items():
            if len(series.starts) < self.min_connections:
                continue
            measured = regularity(series.starts, series.sizes)
            if is_beacon(measured):
                found.append(self._alert(name, key, series, measured))
        return found

    def _alert(self, name: Namer, key: SeriesKey, series: _Series, found: Regularity) -> Alert:
        ip, mac, server, port, transport = key
        clinical = self.clinical.of(ip)
        apps = "/".join(sorted(series.apps)) or transport_label(transport)
        evidence = (
            f"{series.connections} {apps} connections to {server}:{port}/"
            f"{transport_label(transport)} every {found.period:.1f} s "
            f"(MADM {found.period_madm:.2f} s), each sending {found.size:.0f} B "
            f"(MADM {found.size_madm:.0f} B)"
        )
        if clinical:
            evidence += f"; the host speaks {', '.join(clinical)}"
        return Alert(
            kind=self.kind,
            severity=Severity.CRITICAL if clinical else Severity.HIGH,
            device=name(Endpoint(ip, 0, mac)),
            peer=name(Endpoint(server, 0)),
            start=min(series.starts),
            end=series.last,
            evidence=evidence,
        )
