"""Password guessing: many failed logins from one client to one service of one server.

Brute Force: Password Guessing, MITRE ATT&CK T1110.001. The rule is Zeek's
``policy/protocols/ftp/detect-bruteforcing.zeek``: a client is guessing when
:data:`FAILED_LOGINS` of its logins fail within :data:`WINDOW_S`. Zeek counts per client;
here it is per client and service (server address, port and protocol), so that the alert
names the device under attack. Logins are those the dissectors decide:

* FTP ``USER``/``PASS`` answered 530 (RFC 959 §4.2) — :class:`~medshield.protocols.ftp.FtpLogin`;
* telnet logins the server refused ("Login incorrect") —
  :class:`~medshield.protocols.telnet.TelnetLogin`;
* MQTT CONNACK refusing the client's credentials: return code 4 or 5 (MQTT 3.1.1
  §3.2.2.3), reason code 0x86 or 0x87 (MQTT 5.0 §3.2.2.2) —
  :class:`~medshield.protocols.mqtt.MqttConnack`.

A login the same client then gets accepted on that service, during the guessing or within a
window after its last failure, means a guess probably worked: the alert says so and is
critical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medshield.core.enums import AlertKind, Severity
from medshield.core.finding import Alert
from medshield.core.flow import Endpoint
from medshield.core.observation import Observation
from medshield.detection.base import Namer, PassiveDetector
from medshield.inventory.identity import is_private
from medshield.protocols.credentials import LoginOutcome
from medshield.protocols.ftp import FtpLogin
from medshield.protocols.mqtt import MqttConnack
from medshield.protocols.telnet import TelnetLogin

WINDOW_S = 900.0
"""The sliding window, and the quiet time that ends an episode: detect-bruteforcing.zeek's
``FTP::bruteforce_measurement_interval`` (15 min)."""
FAILED_LOGINS = 20
"""Failed logins within the window: detect-bruteforcing.zeek's ``FTP::bruteforce_threshold``.
Zeek's SSH guessing policy (``SSH::password_guesses_limit``) allows 30 in 30 min, a similar
rate; the FTP value is taken because the services watched here (FTP, telnet, MQTT) are the
cleartext ones of devices. A clinician mistyping makes a handful of failures and a device
retrying a stale stored password once a minute makes 15 in the window; hydra or medusa make
dozens to hundreds per minute."""
SEVERITY = Severity.HIGH
"""Someone is trying to take over a device's management or data service (a pump's telnet
console, an analyser's result share): an attack under way, not yet a compromise."""
SUCCEEDED_SEVERITY = Severity.CRITICAL
"""A guess worked: the attacker probably holds a login to a clinical device."""
MQTT_CREDENTIALS_REFUSED_V3 = frozenset({4, 5})
"""MQTT 3.1.1 §3.2.2.3: 4 bad user name or password, 5 not authorized."""
MQTT_CREDENTIALS_REFUSED_V5 = frozenset({0x86, 0x87})
"""MQTT 5.0 §3.2.2.2: 0x86 bad user name or password, 0x87 not authorized."""
MQTT_V5_LEVEL = 5
"""The CONNECT protocol level of MQTT 5.0 (§3.1.2.2)."""


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """What the detector keeps of one login: when, the user name tried and the connection."""

    ts: float
    user: str | None
    flow_id: int | None


def login_outcome(observation: Observation) -> tuple[str, LoginOutcome, str | None] | None:
    """The protocol, outcome and user name of a login observation, or None for any other."""
    if isinstance(observation, FtpLogin):
        return "FTP", observation.outcome, observation.username
    if isinstance(observation, TelnetLogin):
        return "telnet", observation.outcome, observation.username
    if isinstance(observation, MqttConnack):
        refused = (
            MQTT_CREDENTIALS_REFUSED_V5
            if observation.protocol_level == MQTT_V5_LEVEL
            else MQTT_CREDENTIALS_REFUSED_V3
        )
        if observation.accepted:
            return "MQTT", LoginOutcome.SUCCESS, None
        if observation.return_code in refused:
            return "MQTT", LoginOutcome.FAILURE, None
        return "MQTT", LoginOutcome.UNKNOWN, None
    return None


@dataclass(slots=True)
class _Service:
    """The logins of one client to one service: failures and successes, and the server's MAC
    to name it by."""

    server_mac: str | None
    failures: list[LoginAttempt] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)


_Key = tuple[str, str | None, str, int, str]
"""Client IP and MAC, server IP and port, protocol."""


class BruteForceDetector(PassiveDetector):
    """Failed-login bursts per client and service (detect-bruteforcing.zeek; module docstring).

    State is one entry per login attempt decided (a timestamp, the user name and the flow id)
    and per success (a timestamp): login attempts are application events, far fewer than
    packets.
    """

    name = "brute_force"
    kind = AlertKind.BRUTE_FORCE

    def __init__(self, window_s: float = WINDOW_S, failed_logins: int = FAILED_LOGINS) -> None:
        self.window_s = window_s
        self.failed_logins = failed_logins
        self._services: dict[_Key, _Service] = {}

    def observation(self, observation: Observation) -> None:
        """Record a decided login attempt."""
        login = login_outcome(observation)
        client, server = observation.client, observation.server
        if login is None or client is None or server is None:
            return
        protocol, outcome, user = login
        if outcome is LoginOutcome.UNKNOWN:
            return
        key = (client.ip, client.mac, server.ip, server.port, protocol)
        service = self._services.setdefault(key, _Service(server.mac))
        if outcome is LoginOutcome.FAILURE:
            service.failures.append(LoginAttempt(observation.ts, user, observation.flow_id))
        else:
            service.successes.append(observation.ts)

    def alerts(self, name: Namer) -> list[Alert]:
        """One alert per client, service and episode reaching the threshold in a window."""
        found: list[Alert] = []
        for key, service in self._services.items():
            failures = sorted(service.failures, key=lambda a: a.ts)
            for episode in _episodes(failures, self.window_s):
                if _most_in_window(episode, self.window_s) >= self.failed_logins:
                    found.append(self._alert(key, service, episode, name))
        return found

    def _alert(
        self, key: _Key, service: _Service, episode: list[LoginAttempt], name: Namer
    ) -> Alert:
        client_ip, client_mac, server_ip, port, protocol = key
        start, last = episode[0].ts, episode[-1].ts
        success = min(
            (ts for ts in service.successes if start <= ts <= last + self.window_s),
            default=None,
        )
        end = max(last, success) if success is not None else last
        users = {attempt.user for attempt in episode if attempt.user is not None}
        connections = {attempt.flow_id for attempt in episode if attempt.flow_id is not None}
        evidence = f"{len(episode)} failed {protocol} logins on port {port} in {last - start:.1f} s"
        details = []
        if connections:
            details.append(f"{len(connections)} connection{'s' if len(connections) != 1 else ''}")
        if users:
            details.append(f"{len(users)} user name{'s' if len(users) != 1 else ''}")
        if details:
            evidence += f" ({', '.join(details)})"
        if success is not None:
            evidence += f", then succeeded {success - start:.1f} s after the first failure"
        return Alert(
            self.kind,
            SUCCEEDED_SEVERITY if success is not None else SEVERITY,
            name(located(client_ip, client_mac)),
            name(located(server_ip, service.server_mac)),
            start,
            end,
            evidence,
        )


def located(ip: str, mac: str | None) -> Endpoint:
    """The endpoint to name a host by: a public address is beyond the router, whose MAC its
    frames carry, so only a site (non-global) address is named with its MAC as well."""
    return Endpoint(ip, 0, mac if is_private(ip) else None)


def _episodes(failures: list[LoginAttempt], window_s: float) -> list[list[LoginAttempt]]:
    """Time-ordered ``failures`` cut wherever a whole window passed without one."""
    episodes: list[list[LoginAttempt]] = []
    for attempt in failures:
        if not episodes or attempt.ts - episodes[-1][-1].ts > window_s:
            episodes.append([])
        episodes[-1].append(attempt)
    return episodes


def _most_in_window(episode: list[LoginAttempt], window_s: float) -> int:
    """The most failures of ``episode`` (time-ordered) within any window (two-pointer)."""
    most = left = 0
    for right, attempt in enumerate(episode):
        while episode[left].ts < attempt.ts - window_s:
            left += 1
        most = max(most, right - left + 1)
    return most
