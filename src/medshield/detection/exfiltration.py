"""Data exfiltration: an inside host sending far more to one internet address than it gets back.

MITRE ATT&CK TA0010 (T1041 exfiltration over the C2 channel, T1048 over an alternative
protocol, T1567 over a web service) describes the traffic; the detection follows ATT&CK's own
advice for T1030/T1048 ("a client sending significantly more data than it receives from a
server") and the outgoing-volume analytics of Zeek/RITA (per-pair byte totals of
internal-to-external connections only, RITA's ``internal_subnets`` filtering, its "large
amount of outgoing data" threat modifier).

Every flow between a private (inside) address and a globally routable unicast (outside)
address adds its transport payload bytes to the pair (inside host, outside address): what the
inside side sent is *out*, what it received is *in*, whichever side opened the connection (an
inside server answering an outside client leaks just the same). Bytes are booked in the
minute the flow ended, by then they have left. A pair raises an alert when, within a sliding
:data:`WINDOW_S`, it sent at least :data:`MIN_BYTES_OUT` and at least
:data:`MIN_OUT_IN_RATIO` times what it received; overlapping qualifying windows form one
episode and one alert.

Never exfiltration here: transfers between inside hosts (DICOM C-STOREs to the PACS,
backups to an on-site server: both ends are private) and downloads (the ratio). A leak kept
under the rate (T1030 data transfer size limits) is left to the per-device volume baseline.

Severity: :attr:`Severity.HIGH`; :attr:`Severity.CRITICAL` when the sender is a clinical host
(:class:`ClinicalHosts`: it speaks DICOM, HL7 or MQTT), whose data is patient data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from medshield.core.enums import AlertKind, Severity
from medshield.core.finding import Alert
from medshield.core.flow import Endpoint, FlowRecord
from medshield.detection.base import Namer, PassiveDetector
from medshield.detection.hosts import ClinicalHosts, is_inside, is_outside

MIN_BYTES_OUT = 10_000_000
"""Bytes an inside host must send to one outside address within :data:`WINDOW_S` (10 MB).

Sized against what clinical devices and workstations send to the internet: telemetry,
check-ins and browsing requests are kilobytes per minute (the download dominates), while
staging a handful of studies or a mailbox export is tens of MB (RITA treats 25 MB moved to
one host as a large transfer, ``threat_intel_datasize_threshold``). 10 MB in ten minutes is
a sustained ~17 kB/s upload, which no benign role on a clinical segment keeps up towards a
single internet address.
"""
WINDOW_S = 600.0
"""Sliding window over which the upload is summed (10 minutes).

Long enough to take in an upload split over many connections or chunked by the flow table,
short enough that a busy workstation's request bytes of a whole shift never add up to it.
"""
MIN_OUT_IN_RATIO = 5.0
"""How much more the inside host must send than it receives within the window.

HTTP(S) browsing and software updates receive 10-100 times what they send (requests versus
responses); an upload receives only acknowledgements and a short reply. A ratio of 5 keeps
large two-way sessions (video calls, remote support) out while every bulk upload passes.
"""
BUCKET_S = 60.0
"""Granularity of the per-pair counters: one row per active minute bounds the state by
pairs and minutes, not flows, at the cost of a minute's precision in the window edges."""


@dataclass(slots=True)
class _Minute:
    """What one pair exchanged in the flows that ended within one :data:`BUCKET_S`."""

    sent: int = 0
    received: int = 0
    flows: int = 0
    first: float = math.inf
    last: float = -math.inf
    apps: set[str] = field(default_factory=set)

    def add(self, flow: FlowRecord, sent: int, received: int, app: str) -> None:
        self.sent += sent
        self.received += received
        self.flows += 1
        self.first = min(self.first, flow.first_seen)
        self.last = max(self.last, flow.last_seen)
        if app:
            self.apps.add(app)


@dataclass(frozen=True, slots=True)
class _Episode:
    """Consecutive minutes of one pair covered by qualifying windows, summed."""

    sent: int
    received: int
    flows: int
    start: float
    end: float
    apps: frozenset[str]

    @classmethod
    def of(cls, minutes: list[_Minute]) -> _Episode:
        return cls(
            sum(m.sent for m in minutes),
            sum(m.received for m in minutes),
            sum(m.flows for m in minutes),
            min(m.first for m in minutes),
            max(m.last for m in minutes),
            frozenset(app for m in minutes for app in m.apps),
        )


PairKey = tuple[str, str | None, str]
"""(inside IP, inside MAC, outside IP)."""


class ExfiltrationDetector(PassiveDetector):
    """Bulk uploads from an inside host to one internet address (module docstring)."""

    name = "exfiltration"
    kind = AlertKind.DATA_EXFILTRATION

    def __init__(
        self,
        min_bytes_out: int = MIN_BYTES_OUT,
        window_s: float = WINDOW_S,
        min_ratio: float = MIN_OUT_IN_RATIO,
    ) -> None:
        """Thresholds default to the module's; a site may tune them, tests probe their edges."""
        self.min_bytes_out = min_bytes_out
        self.window_s = window_s
        self.min_ratio = min_ratio
        self.pairs: dict[PairKey, dict[int, _Minute]] = {}
        self.clinical = ClinicalHosts()

    def flow(self, flow: FlowRecord, app: str) -> None:
        """Book the flow's bytes to its (inside, outside) pair, if it crosses the border."""
        self.clinical.note(flow, app)
        client, server = flow.client, flow.server
        if is_inside(client.ip) and is_outside(server.ip):
            inside, outside = client, server
            sent, received = flow.c2s.payload_bytes, flow.s2c.payload_bytes
        elif is_inside(server.ip) and is_outside(client.ip):
            inside, outside = server, client
            sent, received = flow.s2c.payload_bytes, flow.c2s.payload_bytes
        else:
            return
        if not sent and not received:
            return
        minutes = self.pairs.setdefault((inside.ip, inside.mac, outside.ip), {})
        minute = minutes.setdefault(int(flow.last_seen // BUCKET_S), _Minute())
        minute.add(flow, sent, received, app)

    def alerts(self, name: Namer) -> list[Alert]:
        """One alert per pair and upload episode."""
        found: list[Alert] = []
        for (ip, mac, outside), minutes in self.pairs.items():
            for episode in self._episodes(minutes):
                found.append(self._alert(name, Endpoint(ip, 0, mac), outside, episode))
        return found

    def _episodes(self, minutes: dict[int, _Minute]) -> Iterator[_Episode]:
        """Merge the qualifying windows of one pair into episodes."""
        keys = sorted(minutes)
        rows = [minutes[k] for k in keys]
        span = max(1, math.ceil(self.window_s / BUCKET_S))
        windows: list[tuple[int, int]] = []
        left = 0
        for right, key in enumerate(keys):
            while key - keys[left] >= span:
                left += 1
            start = self._first_qualifying(rows, left, right)
            if start is not None:
                windows.append((start, right))
        runs: list[list[int]] = []
        for start, end in sorted(windows):
            if runs and start <= runs[-1][1] + 1 and keys[start] - keys[runs[-1][1]] < span:
                runs[-1][1] = max(runs[-1][1], end)
            else:
                runs.append([start, end])
        for start, end in runs:
            yield _Episode.of(rows[start : end + 1])

    def _first_qualifying(self, rows: list[_Minute], left: int, right: int) -> int | None:
        """The earliest ``i`` in ``[left, right]`` whose window ``rows[i..right]`` qualifies.

        Windows ending at ``right`` all end together, so their union starts at that ``i``.
        Dropping earlier minutes can only lower ``sent``, so the scan stops once it is short.
        """
        sent = sum(row.sent for row in rows[left : right + 1])
        received = sum(row.received for row in rows[left : right + 1])
        for i in range(left, right + 1):
            if sent < self.min_bytes_out:
                return None
            if sent >= self.min_ratio * received:
                return i
            sent -= rows[i].sent
            received -= rows[i].received
        return None

    def _alert(self, name: Namer, inside: Endpoint, outside: str, episode: _Episode) -> Alert:
        clinical = self.clinical.of(inside.ip)
        apps = "/".join(sorted(episode.apps)) or "unidentified"
        flows = f"{episode.flows} {apps} flow{'s' if episode.flows != 1 else ''}"
        ratio = episode.sent / episode.received if episode.received else math.inf
        evidence = (
            f"sent {byte_size(episode.sent)} to {outside} and received "
            f"{byte_size(episode.received)} ({_ratio(ratio)}) in {flows} over "
            f"{episode.end - episode.start:.1f} s"
        )
        if clinical:
            evidence += f"; the sender speaks {', '.join(clinical)}"
        return Alert(
            kind=self.kind,
            severity=Severity.CRITICAL if clinical else Severity.HIGH,
            device=name(inside),
            peer=name(Endpoint(outside, 0)),
            start=episode.start,
            end=episode.end,
            evidence=evidence,
        )


def byte_size(count: int) -> str:
    """``count`` bytes in decimal units (IEC 80000-13 kB/MB/GB), one decimal."""
    if count < 1000:
        return f"{count} B"
    value = float(count)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            break
    return f"{value:.1f} {unit}"


def _ratio(ratio: float) -> str:
    return "nothing back" if math.isinf(ratio) else f"{ratio:,.0f}:1 out/in"
