"""When each device is busy: packets and flows per hour of the week, learned from its flows.

A profile has 168 buckets, one per hour of the ISO week in UTC (bucket 0 is Monday
00:00–01:00 UTC, ISO 8601 §4.1.4 weeks start on Monday). A flow's packets are spread over the
clock hours it spans in proportion to the time it spent in each; the flow itself counts once in
every hour it was active. Beside the traffic, a profile counts how many seconds of capture
covered each bucket: an hour that was never observed is *unknown*, not idle, and the number of
days of evidence is the observed time divided by a day.

Profiles are plain sums, so merging two (two assessments, two sensors) adds them bucket by
bucket. A site's time zone is a display matter: :func:`local_hour` shifts a UTC bucket by the
site's offset; the buckets themselves stay in UTC so that profiles from sites in different
zones merge correctly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from medshield.core.device import device_id_for_ip, device_id_for_mac
from medshield.core.flow import Endpoint, FlowRecord

HOURS_PER_WEEK = 168
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86_400
EPOCH_HOUR_OF_WEEK = 72
"""The Unix epoch, 1970-01-01 00:00 UTC, was a Thursday: hour 72 of its ISO week."""
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

FlowActivity = tuple[str, float, float, int]
"""(device id, first seen, last seen, packets) of one flow, as profiles are built from."""


def hour_of_week(ts: float) -> int:
    """The UTC hour-of-week bucket of epoch seconds ``ts`` (0 = Monday 00:00 UTC)."""
    return (math.floor(ts / SECONDS_PER_HOUR) + EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK


def local_hour(bucket: int, utc_offset_hours: float = 0.0) -> int:
    """The site's local hour of the week of UTC ``bucket`` (whole-hour offsets; a half-hour
    offset such as India's rounds down)."""
    return (bucket + math.floor(utc_offset_hours)) % HOURS_PER_WEEK


def bucket_label(bucket: int) -> str:
    """``Mon 02:00`` for bucket 2 (in whatever clock the bucket is expressed)."""
    day, hour = divmod(bucket % HOURS_PER_WEEK, 24)
    return f"{WEEKDAYS[day]} {hour:02d}:00"


def _hours(start: float, end: float) -> Iterator[tuple[int, float]]:
    """(absolute hour number, seconds of [start, end] inside it) for every hour it touches."""
    first, last = math.floor(start / SECONDS_PER_HOUR), math.floor(end / SECONDS_PER_HOUR)
    for hour in range(first, last + 1):
        lower = max(start, hour * SECONDS_PER_HOUR)
        upper = min(end, (hour + 1) * SECONDS_PER_HOUR)
        yield hour, max(0.0, upper - lower)


def _bucket(hour: int) -> int:
    return (hour + EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK


def _zeros() -> list[float]:
    return [0.0] * HOURS_PER_WEEK


@dataclass(slots=True)
class ActivityProfile:
    """One device's traffic per UTC hour of the week, and how long each hour was observed."""

    device: str
    packets: list[float] = field(default_factory=_zeros)
    flows: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    observed: list[float] = field(default_factory=_zeros)
    """Seconds of capture that covered each bucket."""

    def __post_init__(self) -> None:
        for name in ("packets", "flows", "observed"):
            if len(getattr(self, name)) != HOURS_PER_WEEK:
                raise ValueError(f"{name} of {self.device} needs {HOURS_PER_WEEK} buckets")

    def add_flow(self, first_seen: float, last_seen: float, packets: int) -> None:
        """Count a flow: its packets spread over the hours it spans, one flow in each."""
        first_seen, last_seen = min(first_seen, last_seen), max(first_seen, last_seen)
        duration = last_seen - first_seen
        if duration <= 0:
            bucket = hour_of_week(first_seen)
            self.packets[bucket] += packets
            self.flows[bucket] += 1
            return
        for hour, seconds in _hours(first_seen, last_seen):
            bucket = _bucket(hour)
            self.packets[bucket] += packets * seconds / duration
            self.flows[bucket] += 1

    def observe(self, start: float, end: float) -> None:
        """Record that captures covered ``[start, end]`` (the device could have been seen)."""
        for hour, seconds in _hours(min(start, end), max(start, end)):
            self.observed[_bucket(hour)] += seconds

    def merge(self, other: ActivityProfile) -> None:
        """Add ``other`` (another assessment of the same device) bucket by bucket."""
        for bucket in range(HOURS_PER_WEEK):
            self.packets[bucket] += other.packets[bucket]
            self.flows[bucket] += other.flows[bucket]
            self.observed[bucket] += other.observed[bucket]

    @property
    def observed_days(self) -> float:
        """Days of observation behind the profile."""
        return sum(self.observed) / SECONDS_PER_DAY

    @property
    def total_packets(self) -> float:
        """Packets over every bucket."""
        return sum(self.packets)

    def rate(self, bucket: int) -> float | None:
        """Packets per observed hour in ``bucket``; None when the bucket was never observed."""
        seconds = self.observed[bucket]
        if seconds <= 0:
            return None
        return self.packets[bucket] * SECONDS_PER_HOUR / seconds

    def is_empty(self) -> bool:
        """Nothing recorded: no traffic and no observation."""
        return not any(self.packets) and not any(self.flows) and not any(self.observed)


def merged(profiles: Iterable[ActivityProfile]) -> dict[str, ActivityProfile]:
    """One profile per device, the sum of every profile given for it."""
    result: dict[str, ActivityProfile] = {}
    for profile in profiles:
        known = result.get(profile.device)
        if known is None:
            known = result[profile.device] = ActivityProfile(profile.device)
        known.merge(profile)
    return result


def profiles_from_flows(
    flows: Iterable[FlowActivity], observed: Iterable[tuple[float, float]] = ()
) -> dict[str, ActivityProfile]:
    """Profiles of the devices of ``flows``, each observed over the capture windows given."""
    profiles: dict[str, ActivityProfile] = {}
    for device, first_seen, last_seen, packets in flows:
        profile = profiles.get(device)
        if profile is None:
            profile = profiles[device] = ActivityProfile(device)
        profile.add_flow(first_seen, last_seen, packets)
    windows = list(observed)
    for profile in profiles.values():
        for start, end in windows:
            profile.observe(start, end)
    return profiles


EndpointKey = tuple[str | None, str]
"""(MAC, IP) of a flow endpoint."""


@dataclass(slots=True)
class ActivityRecorder:
    """Builds profiles while flows stream by, before the inventory knows its device ids.

    Flows are accumulated per endpoint (MAC and IP); :meth:`profiles` then names each endpoint
    by the inventory's resolver (``DeviceIndex.by_endpoint``) and merges endpoints of one
    device. The capture windows passed to :meth:`observe` apply to every device.
    """

    _endpoints: dict[EndpointKey, ActivityProfile] = field(default_factory=dict)
    _windows: list[tuple[float, float]] = field(default_factory=list)

    def add_flow(self, flow: FlowRecord) -> None:
        """Count ``flow`` for both its client and its server."""
        for endpoint in (flow.client, flow.server):
            key = (endpoint.mac, endpoint.ip)
            profile = self._endpoints.get(key)
            if profile is None:
                profile = self._endpoints[key] = ActivityProfile(endpoint.ip)
            profile.add_flow(flow.first_seen, flow.last_seen, flow.packets)

    def observe(self, start: float, end: float) -> None:
        """A capture covered ``[start, end]``."""
        self._windows.append((start, end))

    def profiles(
        self, device_of: Callable[[Endpoint], str | None] | None = None
    ) -> dict[str, ActivityProfile]:
        """Profiles by device id; endpoints ``device_of`` does not know are left out.

        Without a resolver, endpoints are named as the inventory names devices by default
        (``mac-…`` for a MAC, ``ip-…`` without one).
        """
        resolve = device_of or _default_device_id
        by_device: dict[str, ActivityProfile] = {}
        for (mac, ip), profile in self._endpoints.items():
            device = resolve(Endpoint(ip, 0, mac))
            if device is None:
                continue
            known = by_device.get(device)
            if known is None:
                known = by_device[device] = ActivityProfile(device)
            known.packets = [a + b for a, b in zip(known.packets, profile.packets, strict=True)]
            known.flows = [a + b for a, b in zip(known.flows, profile.flows, strict=True)]
        for profile in by_device.values():
            for start, end in self._windows:
                profile.observe(start, end)
        return by_device


def _default_device_id(endpoint: Endpoint) -> str:
    return device_id_for_mac(endpoint.mac) if endpoint.mac else device_id_for_ip(endpoint.ip)
