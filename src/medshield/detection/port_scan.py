"""Port scans: one source probing many ports of a host or one port of many hosts.

Network Service Discovery, MITRE ATT&CK T1046. The rule is Zeek's ``policy/misc/scan.zeek``:
only *failed* TCP connection attempts count (a scanner mostly hits closed or filtered ports;
busy legitimate clients mostly succeed), and a source is a scanner when, within a sliding
window, it probed :data:`VERTICAL_PORTS` distinct ports of one host (a vertical scan) or one
port on :data:`HORIZONTAL_HOSTS` distinct hosts (a horizontal sweep). A failed attempt is
what scan.zeek counts (``connection_attempt``, ``connection_rejected``, ``is_failed_conn``):
a flow that carried no data either way and that the server

* never answered (a filtered port: a firewall dropped the probe),
* answered with a reset only (a closed port, RFC 9293 §3.10.7.1) — including the stealth
  FIN, NULL and Xmas probes a closed port resets, or
* answered SYN/ACK, after which the source reset (a SYN or connect scan finding an open
  port, the reset per RFC 9293 §3.10.7.1) or never completed the handshake (the same scan
  seen without the scanner's reset, e.g. when its host firewall swallowed it).

A source is a (client IP, client MAC) pair; one alert is raised per source and scan episode,
an episode being the source's probes with no silence longer than the window between them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import IntEnum

from medshield.core.enums import AlertKind, Severity, Transport
from medshield.core.finding import Alert
from medshield.core.flow import TCP_RST, TCP_SYN, Endpoint, FlowRecord
from medshield.detection.base import Namer, PassiveDetector
from medshield.inventory.identity import is_private

WINDOW_S = 300.0
"""The sliding window, and the silence that ends an episode: scan.zeek's
``Scan::port_scan_interval`` and ``addr_scan_interval`` (5 min). nmap at its default timing
probes hundreds of ports per second, so any real scan fills the thresholds well inside it,
while a device retrying an unreachable server spreads a few attempts over many minutes."""
VERTICAL_PORTS = 15
"""Distinct ports of one host, failed within the window: scan.zeek's
``Scan::port_scan_threshold``. A clinical device or server is reached on a handful of known
ports (HL7 MLLP, DICOM, MQTT, HTTPS…); a client that fails on fifteen different ports of
one host is searching for services, not using one."""
HORIZONTAL_HOSTS = 25
"""Distinct hosts failed on one port within the window: scan.zeek's
``Scan::addr_scan_threshold``. Kept at Zeek's value, above the size of a ward's telemetry
VLAN, because a central station can legitimately keep retrying its powered-off bedside
monitors on one port; a smaller sweep that probes several ports per host still trips the
vertical rule."""
TOP_PORTS = 5
"""Ports named in the evidence, most probed first."""

INTERNAL_SEVERITY = Severity.HIGH
"""A scan from a site address: a device inside the clinical network is probably under an
attacker's control (ATT&CK TA0007 Discovery follows initial access), and embedded medical
devices may hang under active scans (NIST SP 800-82 cautions against actively scanning
such devices)."""
EXTERNAL_SEVERITY = Severity.MEDIUM
"""A scan from the internet: scans are constant background there; this one matters because it
reached the site (the targets' internet-exposure findings say how)."""

TCP_ACK = 0x10
"""RFC 9293 §3.1 control bit."""


def located(ip: str, mac: str | None) -> Endpoint:
    """The endpoint to name a host by: a public address is beyond the router, whose MAC its
    frames carry, so only a site (non-global) address is named with its MAC as well."""
    return Endpoint(ip, 0, mac if is_private(ip) else None)


class Outcome(IntEnum):
    """How the target answered a probe; a higher value is the more telling answer."""

    UNANSWERED = 0
    REFUSED = 1
    OPEN = 2


def probe_outcome(flow: FlowRecord) -> Outcome | None:
    """The outcome of ``flow`` as a failed connection attempt, or None when it is no probe
    (UDP, data exchanged, a completed and gracefully closed handshake, or a one-sided
    fragment of a connection whose start was not seen)."""
    if flow.transport != Transport.TCP or flow.c2s.payload_bytes or flow.s2c.payload_bytes:
        return None
    sent, answer = flow.c2s.tcp_flags, flow.s2c.tcp_flags
    if flow.refused:
        if flow.s2c.packets:
            return Outcome.REFUSED
        # Silence after a segment without SYN is a connection seen mid-way, not a probe.
        return Outcome.UNANSWERED if sent & TCP_SYN else None
    opened = sent & TCP_SYN and answer & TCP_SYN
    if opened and (sent & TCP_RST or not sent & TCP_ACK):
        return Outcome.OPEN
    return None


@dataclass(slots=True)
class _Target:
    """The probes of one (host, port) in one window-long time slot."""

    host: str
    port: int
    first_seen: float
    last_seen: float
    probes: int
    outcome: Outcome

    def add(self, flow: FlowRecord, outcome: Outcome) -> None:
        self.first_seen = min(self.first_seen, flow.first_seen)
        self.last_seen = max(self.last_seen, flow.last_seen)
        self.probes += 1
        self.outcome = max(self.outcome, outcome)


_Source = tuple[str, str | None]
"""A scanner: client IP and MAC."""
_Slot = tuple[str, int, int]
"""Host, port and time slot (first seen // window) of a target."""


class PortScanDetector(PassiveDetector):
    """Vertical and horizontal TCP scans (scan.zeek thresholds, see the module docstring).

    State is one record per source and distinct (host, port, window-long time slot) probed:
    repeated probes of one target within a slot are counted, not stored.
    """

    name = "port_scan"
    kind = AlertKind.PORT_SCAN

    def __init__(
        self,
        window_s: float = WINDOW_S,
        vertical_ports: int = VERTICAL_PORTS,
        horizontal_hosts: int = HORIZONTAL_HOSTS,
    ) -> None:
        self.window_s = window_s
        self.vertical_ports = vertical_ports
        self.horizontal_hosts = horizontal_hosts
        self._targets: dict[_Source, dict[_Slot, _Target]] = {}
        self._host_macs: dict[str, str | None] = {}

    def flow(self, flow: FlowRecord, app: str) -> None:
        """Record ``flow`` when it is a failed connection attempt."""
        outcome = probe_outcome(flow)
        if outcome is None:
            return
        source = (flow.client.ip, flow.client.mac)
        host, port = flow.server.ip, flow.server.port
        slot = (host, port, int(flow.first_seen // self.window_s))
        targets = self._targets.setdefault(source, {})
        target = targets.get(slot)
        if target is None:
            targets[slot] = _Target(host, port, flow.first_seen, flow.last_seen, 1, outcome)
        else:
            target.add(flow, outcome)
        self._host_macs.setdefault(host, flow.server.mac)

    def alerts(self, name: Namer) -> list[Alert]:
        """One alert per source and episode whose probes crossed a threshold in a window."""
        found: list[Alert] = []
        for source, targets in self._targets.items():
            probes = sorted(targets.values(), key=lambda t: (t.first_seen, t.host, t.port))
            for episode in _episodes(probes, self.window_s):
                if self._crosses(episode):
                    found.append(self._alert(source, episode, name))
        return found

    def _crosses(self, episode: list[_Target]) -> bool:
        """Whether some window of the episode holds ``vertical_ports`` distinct ports of one
        host or ``horizontal_hosts`` distinct hosts on one port (two-pointer sweep)."""
        pairs: Counter[tuple[str, int]] = Counter()
        ports_of: Counter[str] = Counter()
        hosts_on: Counter[int] = Counter()
        left = 0
        for target in episode:
            while episode[left].first_seen < target.first_seen - self.window_s:
                gone = episode[left]
                pairs[(gone.host, gone.port)] -= 1
                if not pairs[(gone.host, gone.port)]:
                    ports_of[gone.host] -= 1
                    hosts_on[gone.port] -= 1
                left += 1
            pairs[(target.host, target.port)] += 1
            if pairs[(target.host, target.port)] == 1:
                ports_of[target.host] += 1
                hosts_on[target.port] += 1
            if (
                ports_of[target.host] >= self.vertical_ports
                or hosts_on[target.port] >= self.horizontal_hosts
            ):
                return True
        return False

    def _alert(self, source: _Source, episode: list[_Target], name: Namer) -> Alert:
        ip, mac = source
        outcomes: dict[tuple[str, int], Outcome] = {}
        for target in episode:
            key = (target.host, target.port)
            outcomes[key] = max(outcomes.get(key, Outcome.UNANSWERED), target.outcome)
        hosts = sorted({host for host, _ in outcomes})
        peer = None
        if len(hosts) == 1:
            peer = name(located(hosts[0], self._host_macs.get(hosts[0])))
        start = min(t.first_seen for t in episode)
        end = max(t.last_seen for t in episode)
        return Alert(
            self.kind,
            INTERNAL_SEVERITY if is_private(ip) else EXTERNAL_SEVERITY,
            name(located(ip, mac)),
            peer,
            start,
            end,
            _evidence(episode, outcomes, end - start),
        )


def _episodes(probes: list[_Target], window_s: float) -> list[list[_Target]]:
    """``probes`` (by first sighting) cut wherever the source fell silent for a window."""
    episodes: list[list[_Target]] = []
    last = float("-inf")
    for probe in probes:
        if probe.first_seen - last > window_s:
            episodes.append([])
        episodes[-1].append(probe)
        last = max(last, probe.last_seen)
    return episodes


def _evidence(
    episode: list[_Target], outcomes: dict[tuple[str, int], Outcome], duration: float
) -> str:
    """Hosts, ports, probes, answers per distinct target, the most probed and the open ports."""
    hosts = {host for host, _ in outcomes}
    answers = Counter(outcomes.values())
    hosts_on: Counter[int] = Counter(port for _, port in outcomes)
    probes_on: Counter[int] = Counter()
    for target in episode:
        probes_on[target.port] += target.probes
    ranked = sorted(hosts_on, key=lambda port: (-hosts_on[port], -probes_on[port], port))
    open_ports = sorted({port for (_, port), seen in outcomes.items() if seen is Outcome.OPEN})
    text = (
        f"TCP scan of {len(hosts)} host{'s' if len(hosts) != 1 else ''} on "
        f"{len(hosts_on)} port{'s' if len(hosts_on) != 1 else ''}: "
        f"{sum(probes_on.values())} probes of {len(outcomes)} host:port pairs in "
        f"{duration:.1f} s ({answers[Outcome.OPEN]} open, {answers[Outcome.REFUSED]} refused, "
        f"{answers[Outcome.UNANSWERED]} unanswered); most probed ports "
        f"{_ports(ranked[:TOP_PORTS])}"
    )
    if open_ports:
        more = f" and {len(open_ports) - TOP_PORTS} more" if len(open_ports) > TOP_PORTS else ""
        text += f"; open ports {_ports(open_ports[:TOP_PORTS])}{more}"
    return text


def _ports(ports: list[int]) -> str:
    return ", ".join(str(port) for port in ports)
