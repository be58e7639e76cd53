"""What every conversation shares: the hospital, the time window, seeded randomness, caches.

Each conversation draws from its own :class:`random.Random`, seeded from the run's seed and the
conversation's name. Conversations are advanced lazily and in timestamp order by the merge, so
private generators keep the output independent of that order: the same seed gives the same
bytes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from medshield.simulate.population import Hospital, SimDevice
from medshield.simulate.wire import ETH_BROADCAST, US, Item, Nic, arp_frame

EPOCH = 1_709_539_200
"""2024-03-04 08:00:00 UTC: day 0 of the simulated calendar."""

ARP_REQUEST = 1
ARP_REPLY = 2


def start_of_capture(seed: int) -> int:
    """Start time (µs) of a run: a morning within a year of :data:`EPOCH`, fixed by the seed."""
    return (EPOCH + (seed % 365) * 86_400) * US


@dataclass(frozen=True, slots=True)
class InternetHost:
    """A service beyond the default gateway, as the hospital's hosts see it."""

    name: str
    ip: bytes
    ttl: int
    """TTL its packets arrive with (initial TTL less the hops to the hospital)."""


INTERNET: tuple[InternetHost, ...] = (
    InternetHost("portal.ehr-cloud.example", bytes((52, 174, 18, 44)), 47),
    InternetHost("mail.office-suite.example", bytes((40, 99, 10, 162)), 113),
    InternetHost("cdn.clinical-reference.example", bytes((151, 101, 65, 140)), 56),
    InternetHost("updates.os-vendor.example", bytes((20, 72, 205, 209)), 114),
    InternetHost("telehealth.video.example", bytes((34, 117, 59, 81)), 57),
)
"""Public services the workstations use (names under the reserved .example domain)."""

PUBLIC_RESOLVER = InternetHost("resolver.dns.example", bytes((9, 9, 9, 9)), 57)

REMOTE_SERVICE = InternetHost("remote-service.modality-vendor.example", bytes((62, 159, 4, 37)), 49)
"""The modality vendor's remote-service endpoint: the planted internet exposure."""


@dataclass(slots=True)
class Caches:
    """Expensive artefacts built once per run (encoded pixel streams, certificates)."""

    entries: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Context:
    """The run-wide facts every conversation reads."""

    hospital: Hospital
    seed: int
    start_us: int
    end_us: int
    ready_us: dict[int, int]
    """Device index → time from which the device has an address and may talk."""
    caches: Caches = field(default_factory=Caches)

    def rng(self, *parts: object) -> random.Random:
        """A private random stream for one conversation, named by ``parts``."""
        return random.Random("/".join([str(self.seed), *map(str, parts)]))

    def ready(self, device: SimDevice) -> int:
        """When ``device`` may start talking."""
        return self.ready_us[device.index]

    def internet_nic(self, host: InternetHost) -> Nic:
        """A public host as frames on the segment carry it: behind the router's MAC."""
        return Nic(self.hospital.router.mac, host.ip, host.ttl)


def jitter(rng: random.Random, seconds: float, spread: float = 0.2) -> int:
    """``seconds`` ± ``spread`` (as a fraction), in microseconds."""
    return int(seconds * US * (1.0 + rng.uniform(-spread, spread)))


def between(rng: random.Random, low_s: float, high_s: float) -> int:
    """A uniform delay between two bounds in seconds, in microseconds."""
    return int(rng.uniform(low_s, high_s) * US)


def arp_resolve(t: int, asker: Nic, target: Nic, lag_us: int = 150) -> Iterator[Item]:
    """Who-has from ``asker`` (broadcast) and the target's is-at reply (RFC 826)."""
    yield t, arp_frame(ETH_BROADCAST, ARP_REQUEST, asker.mac, asker.ip, bytes(6), target.ip)
    yield (
        t + lag_us,
        arp_frame(asker.mac, ARP_REPLY, target.mac, target.ip, asker.mac, asker.ip),
    )


class EphemeralPorts:
    """Client ports as the device's stack picks them: sequential from a random start in
    ``[low, high)``, wrapping around within that range (RFC 6056 §3.3.4 style)."""

    __slots__ = ("_high", "_low", "_next")

    def __init__(self, rng: random.Random, low: int = 49152, high: int = 65000) -> None:
        self._low, self._high = low, high
        self._next = rng.randrange(low, high)

    def take(self) -> int:
        """The next port."""
        port = self._next
        self._next = port + 1 if port + 1 < self._high else self._low
        return port
