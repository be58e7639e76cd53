"""Lateral movement: one inside host opening remote-administration sessions on several others.

MITRE ATT&CK TA0008 (lateral movement) through T1021 remote services: .001 RDP, .002 SMB /
Windows admin shares (PsExec, ``ADMIN$``), .003 DCOM (RPC endpoint mapper), .004 SSH,
.005 VNC, .006 WinRM. What the network shows is fan-out: a compromised desktop logging on to
host after host over the services an administrator would use, seconds or minutes apart.

A session counts when an inside client opened a TCP connection to an inside server's
remote-administration port (:data:`ADMIN_SERVICES`) and both sides sent application data: a
refused connection, or the SYN/ACK-and-reset of a port scan, shows no logon. A host raises an
alert when its sessions reach at least :data:`MIN_HOSTS` distinct hosts within a sliding
:data:`WINDOW_S`; overlapping qualifying windows form one episode and one alert.

Servers of a service that :data:`SHARED_SERVICE_CLIENTS` or more distinct hosts use are
shared infrastructure — a domain controller's SMB and RPC, a file or print server, a jump
host — where such sessions are every workstation's routine at logon, and do not count as
targets.

Severity: :attr:`Severity.HIGH`; :attr:`Severity.CRITICAL` when a target is a clinical host
(it speaks DICOM, HL7 or MQTT: the PACS, the HL7 engine, a modality), one step from patient
data and care.
"""

from __future__ import annotations

from dataclasses import dataclass

from medshield.core.enums import AlertKind, Severity, Transport
from medshield.core.finding import Alert
from medshield.core.flow import Endpoint, FlowRecord
from medshield.detection.base import Namer, PassiveDetector
from medshield.detection.hosts import ClinicalHosts, is_inside

ADMIN_SERVICES: dict[int, str] = {
    22: "SSH",  # T1021.004, RFC 4253
    135: "RPC/DCOM",  # T1021.003, MS-RPCE endpoint mapper
    139: "SMB",  # T1021.002 over the NetBIOS session service, RFC 1001/1002
    445: "SMB",  # T1021.002, MS-SMB2 §2.1 direct TCP
    3389: "RDP",  # T1021.001, MS-RDPBCGR
    5900: "VNC",  # T1021.005, RFC 6143 §1 (display :0)
    5985: "WinRM",  # T1021.006, WS-Management over HTTP
    5986: "WinRM",  # T1021.006, WS-Management over HTTPS
}
"""Remote-administration services by TCP port, with the ATT&CK sub-technique each serves."""
MIN_HOSTS = 3
"""Distinct hosts a source must open admin sessions on within :data:`WINDOW_S`.

One or two such sessions are an administrator's or a deployment job's ordinary work (a
workstation to its file share and a jump host, a biomed engineer on one device); the
PsExec-style spread of ransomware operators and worms reaches a new host every few seconds.
Three is the smallest fan-out that is no longer a single task, and low enough to see an
intruder who moves carefully, host by host.
"""
WINDOW_S = 600.0
"""Sliding window for the fan-out (10 minutes): automated spreading takes seconds per host,
hands-on-keyboard RDP hops take minutes; an administrator's sessions are spread over a
shift."""
SHARED_SERVICE_CLIENTS = 5
"""Distinct clients that make a server's admin service shared infrastructure (see the module
docstring). An intruder's targets are hosts nobody else administers over that service."""
MAX_SESSIONS = 4096
"""Sessions remembered per source: admin sessions with data are rare events, the bound only
protects the assessment from a host that opens them by the thousand."""
SHOWN_HOSTS = 8
"""Targets named in the evidence line; the rest are counted."""


@dataclass(frozen=True, slots=True)
class _Session:
    start: float
    end: float
    target: Endpoint
    port: int


SourceKey = tuple[str, str | None]
"""(client IP, client MAC)."""


class LateralMovementDetector(PassiveDetector):
    """Remote-administration sessions from one inside host to several others."""

    name = "lateral_movement"
    kind = AlertKind.LATERAL_MOVEMENT

    def __init__(self, min_hosts: int = MIN_HOSTS, window_s: float = WINDOW_S) -> None:
        """Thresholds default to the module's; a site may tune them, tests probe their edges."""
        self.min_hosts = min_hosts
        self.window_s = window_s
        self.sessions: dict[SourceKey, list[_Session]] = {}
        self.clients: dict[tuple[str, int], set[str]] = {}
        self.clinical = ClinicalHosts()

    def flow(self, flow: FlowRecord, app: str) -> None:
        """Keep an admin session with data between two inside hosts."""
        self.clinical.note(flow, app)
        client, server = flow.client, flow.server
        if flow.transport != Transport.TCP or server.port not in ADMIN_SERVICES:
            return
        if not (flow.c2s.payload_bytes and flow.s2c.payload_bytes):
            return  # refused, scanned or never answered: no session took place
        if client.ip == server.ip or not (is_inside(client.ip) and is_inside(server.ip)):
            return
        self.clients.setdefault((server.ip, server.port), set()).add(client.ip)
        sessions = self.sessions.setdefault((client.ip, client.mac), [])
        if len(sessions) < MAX_SESSIONS:
            target = Endpoint(server.ip, 0, server.mac)
            sessions.append(_Session(flow.first_seen, flow.last_seen, target, server.port))

    def alerts(self, name: Namer) -> list[Alert]:
        """One alert per source and fan-out episode."""
        found: list[Alert] = []
        for (ip, mac), sessions in self.sessions.items():
            targeted = sorted(
                (s for s in sessions if not self._shared(s)), key=lambda s: (s.start, s.end)
            )
            for episode in self._episodes(targeted):
                found.append(self._alert(name, Endpoint(ip, 0, mac), episode))
        return found

    def _shared(self, session: _Session) -> bool:
        clients = self.clients.get((session.target.ip, session.port), set())
        return len(clients) >= SHARED_SERVICE_CLIENTS

    def _episodes(self, sessions: list[_Session]) -> list[list[_Session]]:
        """Sessions covered by windows that reach :attr:`min_hosts` hosts, merged."""
        runs: list[list[int]] = []
        left = 0
        for right, session in enumerate(sessions):
            while session.start - sessions[left].start > self.window_s:
                left += 1
            hosts = {s.target.ip for s in sessions[left : right + 1]}
            if len(hosts) < self.min_hosts:
                continue
            if runs and left <= runs[-1][1]:
                runs[-1][1] = right
            else:
                runs.append([left, right])
        return [sessions[start : end + 1] for start, end in runs]

    def _alert(self, name: Namer, source: Endpoint, episode: list[_Session]) -> Alert:
        services: dict[str, set[str]] = {}
        endpoints: dict[str, Endpoint] = {}
        for session in episode:
            services.setdefault(session.target.ip, set()).add(
                f"{ADMIN_SERVICES[session.port]}/{session.port}"
            )
            endpoints.setdefault(session.target.ip, session.target)
        clinical = [ip for ip in services if self.clinical.of(ip)]
        start = min(s.start for s in episode)
        end = max(s.end for s in episode)
        shown = [
            f"{name(endpoints[ip])} ({', '.join(sorted(services[ip]))})"
            for ip in list(services)[:SHOWN_HOSTS]
        ]
        more = len(services) - len(shown)
        evidence = (
            f"{_count(len(episode), 'remote-administration session')} with data to "
            f"{_count(len(services), 'internal host')} in {end - start:.0f} s: "
            f"{'; '.join(shown)}" + (f"; and {more} more" if more > 0 else "")
        )
        if clinical:
            named = ", ".join(name(endpoints[ip]) for ip in clinical)
            evidence += f"; clinical targets: {named}"
        return Alert(
            kind=self.kind,
            severity=Severity.CRITICAL if clinical else Severity.HIGH,
            device=name(source),
            peer=None,
            start=start,
            end=end,
            evidence=evidence,
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
